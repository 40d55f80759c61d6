/*
 * check_rpc_health.c: grpc.health.v1.Health/Check follows the process phase
 * and knows only "" and "cache.CacheService".
 */
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "grpc/health/v1/health.pb-c.h"
#include "lifecycle.h"
#include "rpc_health.h"

#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING                                                            \
    GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING

static struct rpc_worker w;
static struct rpc_reply rep;

/* Checks service; returns the status in the reply, or -1 for an error. */
static int
check(const char *service)
{
    Grpc__Health__V1__HealthCheckRequest m =
        GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    Grpc__Health__V1__HealthCheckResponse *r;
    uint8_t req[300];
    size_t n;
    int status;

    m.service = (char *)service;
    n = grpc__health__v1__health_check_request__pack(&m, req);
    memset(&rep, 0, sizeof rep);
    rpc_health_check(&w, &(struct rpc_request){req, n, NULL, 0}, &rep);
    if (rep.code != GRPC_STATUS_OK) {
        ck_assert(!rep.has_body);
        return -1;
    }
    r = grpc__health__v1__health_check_response__unpack(
        NULL, GRPC_SLICE_LENGTH(rep.body), GRPC_SLICE_START_PTR(rep.body));
    ck_assert_ptr_nonnull(r);
    status = r->status;
    grpc__health__v1__health_check_response__free_unpacked(r, NULL);
    grpc_slice_unref(rep.body);
    return status;
}

START_TEST(test_rpc_health_follows_the_phase)
{
    lifecycle_set(PHASE_STARTING);
    ck_assert_int_eq(check(""), NOT_SERVING);
    lifecycle_set(PHASE_SERVING);
    ck_assert_int_eq(check(""), SERVING);
    ck_assert_int_eq(check("cache.CacheService"), SERVING);
    lifecycle_set(PHASE_STOPPING);
    ck_assert_int_eq(check(""), NOT_SERVING);
    ck_assert_int_eq(check("cache.CacheService"), NOT_SERVING);
}
END_TEST

START_TEST(test_rpc_health_unknown_service_is_not_found)
{
    lifecycle_set(PHASE_SERVING);
    ck_assert_int_eq(check("cache.Other"), -1);
    ck_assert_int_eq(rep.code, GRPC_STATUS_NOT_FOUND);
    ck_assert_int_eq(check("cache.CacheServiceX"), -1);
}
END_TEST

START_TEST(test_rpc_health_bad_body_is_invalid_argument)
{
    static const uint8_t junk[] = {0x0a, 0x09, 'x'};

    memset(&rep, 0, sizeof rep);
    rpc_health_check(&w, &(struct rpc_request){junk, sizeof junk, NULL, 0},
                     &rep);
    ck_assert_int_eq(rep.code, GRPC_STATUS_INVALID_ARGUMENT);
    ck_assert(!rep.has_body);
}
END_TEST

static Suite *
rpc_health_suite(void)
{
    Suite *s = suite_create("rpc_health");
    TCase *tc = tcase_create("check");

    tcase_add_test(tc, test_rpc_health_follows_the_phase);
    tcase_add_test(tc, test_rpc_health_unknown_service_is_not_found);
    tcase_add_test(tc, test_rpc_health_bad_body_is_invalid_argument);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return check_run(rpc_health_suite());
}
