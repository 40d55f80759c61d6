/*
 * rpc_health.c: grpc.health.v1.Health/Check.
 *
 * The answer follows the process phase (lifecycle.h): SERVING only while
 * the phase is PHASE_SERVING, so load balancers see NOT_SERVING from the
 * moment shutdown begins while calls are still served.
 */
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "lifecycle.h"
#include "rpc_health.h"

static const uint8_t rpc_health_no_bytes[1];

/* True for the names this server answers for: "" (the whole server) and
 * the cache service. */
static bool
rpc_health_known(const char *service)
{
    return service[0] == '\0' || strcmp(service, "cache.CacheService") == 0;
}

void
rpc_health_check(struct rpc_worker *w, const struct rpc_request *req,
                 struct rpc_reply *out)
{
    Grpc__Health__V1__HealthCheckRequest *m =
        grpc__health__v1__health_check_request__unpack(
            NULL, req->len, req->body ? req->body : rpc_health_no_bytes);
    Grpc__Health__V1__HealthCheckResponse resp =
        GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    bool known;

    (void)w;
    if (!m) {
        out->code = GRPC_STATUS_INVALID_ARGUMENT;
        out->details = "request body does not decode";
        return;
    }
    known = rpc_health_known(m->service);
    rpc_reply_key_log(out, m->service, strlen(m->service));
    grpc__health__v1__health_check_request__free_unpacked(m, NULL);
    if (!known) {
        out->code = GRPC_STATUS_NOT_FOUND;
        out->details = "unknown service";
        return;
    }
    resp.status =
        lifecycle_get() == PHASE_SERVING
            ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
            : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    out->body = grpc_slice_malloc(
        grpc__health__v1__health_check_response__get_packed_size(&resp));
    grpc__health__v1__health_check_response__pack(
        &resp, GRPC_SLICE_START_PTR(out->body));
    out->has_body = true;
    out->code = GRPC_STATUS_OK;
}
