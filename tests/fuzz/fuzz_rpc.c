/*
 * fuzz_rpc.c: libFuzzer target for the request decode and validation of
 * every gRPC method: cache.CacheService's (rpc_cache.c, rpc_batch.c,
 * rpc_cond.c) and grpc.health.v1.Health/Check (rpc_health.c), called as
 * rpc_call.c calls them: the worker, the request (body NULL when empty,
 * and a keyspace) and a zeroed reply.
 *
 * Input: the first byte b picks the method (b % M_COUNT); b / M_COUNT
 * moves the fake clock forward by that many quarter seconds before the
 * call (so TTLs run out), picks the phase Check answers for, and when odd
 * the namespace "fz" instead of the shared keyspace. The rest is the
 * request body.
 *
 * The store is a real one with small limits, kept across inputs so Get,
 * Delete and eviction meet what earlier Sets left; its limits bound the
 * memory it holds. A crash may thus depend on earlier inputs as well.
 * With values of at most 2 KiB, the server's receive limit (value limit
 * plus 4 KiB) is above libFuzzer's default -max_len of 4096: every input is
 * a body the server would hand to a handler.
 *
 * Checked after every call: OK comes with a body that decodes as the
 * method's response, anything else with details and no body; a Set that
 * succeeds is followed by a Get of its key returning its value, a Delete
 * that succeeds by a Get that finds nothing; the store stays within its
 * limits. Reply slices are released, so LeakSanitizer sees every leak.
 */
#include <string.h>

#include "cache_wire.pb-c.h"
#include "fuzz.h"
#include "grpc/health/v1/health.pb-c.h"
#include "lifecycle.h"
#include "log.h"
#include "rpc_cache.h"
#include "rpc_health.h"

#define FUZZ_MAX_ITEMS       32
#define FUZZ_MAX_MEMORY      (16 * 1024)
#define FUZZ_MAX_VALUE       2048
#define FUZZ_CLOCK_STEP_MS   250
#define FUZZ_HEALTH_SERVING  1 /* HealthCheckResponse.SERVING */
#define FUZZ_HEALTH_NOT_SERV 2 /* HealthCheckResponse.NOT_SERVING */

enum fuzz_method {
    M_GET,
    M_SET,
    M_DELETE,
    M_STATS,
    M_CHECK,
    M_MULTI_GET,
    M_MULTI_SET,
    M_MULTI_DELETE,
    M_SET_IF_ABSENT,
    M_CAS,
    M_INCREMENT,
    M_TOUCH,
    M_FLUSH,
    M_COUNT
};

static const rpc_handler fuzz_handlers[M_COUNT] = {
    [M_GET] = rpc_cache_get,
    [M_SET] = rpc_cache_set,
    [M_DELETE] = rpc_cache_delete,
    [M_STATS] = rpc_cache_stats,
    [M_CHECK] = rpc_health_check,
    [M_MULTI_GET] = rpc_cache_multi_get,
    [M_MULTI_SET] = rpc_cache_multi_set,
    [M_MULTI_DELETE] = rpc_cache_multi_delete,
    [M_SET_IF_ABSENT] = rpc_cache_set_if_absent,
    [M_CAS] = rpc_cache_compare_and_set,
    [M_INCREMENT] = rpc_cache_increment,
    [M_TOUCH] = rpc_cache_touch,
    [M_FLUSH] = rpc_cache_flush,
};

/* Each method's response, for checking an OK reply's body. */
static const ProtobufCMessageDescriptor *const fuzz_replies[M_COUNT] = {
    [M_MULTI_GET] = &cache__multi_cache_value_response__descriptor,
    [M_MULTI_SET] = &cache__multi_cache_response__descriptor,
    [M_MULTI_DELETE] = &cache__multi_cache_response__descriptor,
    [M_SET_IF_ABSENT] = &cache__conditional_cache_response__descriptor,
    [M_CAS] = &cache__conditional_cache_response__descriptor,
    [M_INCREMENT] = &cache__increment_response__descriptor,
    [M_TOUCH] = &cache__touch_response__descriptor,
    [M_FLUSH] = &cache__flush_response__descriptor,
};

static uint64_t fuzz_now_ms = 1000000;
static struct rpc_worker fuzz_w;
static struct config fuzz_cfg = {.max_batch = 64};
static const char *fuzz_ns;
static size_t fuzz_nslen;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const struct store_config sc = {4, FUZZ_MAX_ITEMS, FUZZ_MAX_MEMORY,
                                           FUZZ_MAX_VALUE, 1};
    const struct clock clk = {clock_fake_now, &fuzz_now_ms};

    (void)argc, (void)argv;
    grpc_init();
    log_init(LOG_DEBUG, LOG_FORMAT_TEXT); /* so replies escape their key */
    fuzz_w.store = store_create(&sc, &clk);
    FUZZ_CHECK(fuzz_w.store != NULL);
    buf_init(&fuzz_w.scratch);
    buf_init(&fuzz_w.out);
    fuzz_w.cfg = &fuzz_cfg;
    return 0;
}

/* Runs handler m on body [req, req + len) into a zeroed *out, as
 * rpc_call.c does, and checks the shape every reply must have. */
static void
fuzz_call(enum fuzz_method m, const uint8_t *req, size_t len,
          struct rpc_reply *out)
{
    struct rpc_request r = {len > 0 ? req : NULL, len, fuzz_ns, fuzz_nslen};

    memset(out, 0, sizeof *out);
    fuzz_handlers[m](&fuzz_w, &r, out);
    FUZZ_CHECK(memchr(out->key_log, '\0', sizeof out->key_log) != NULL);
    if (out->code == GRPC_STATUS_OK) {
        FUZZ_CHECK(out->has_body);
        return;
    }
    FUZZ_CHECK(!out->has_body);
    FUZZ_CHECK(out->details != NULL);
    FUZZ_CHECK(
        out->code == GRPC_STATUS_INVALID_ARGUMENT ||
        out->code == GRPC_STATUS_RESOURCE_EXHAUSTED ||
        (m == M_CHECK && out->code == GRPC_STATUS_NOT_FOUND) ||
        (m == M_INCREMENT && (out->code == GRPC_STATUS_FAILED_PRECONDITION ||
                              out->code == GRPC_STATUS_OUT_OF_RANGE)));
}

static void
fuzz_release(struct rpc_reply *out)
{
    if (out->has_body)
        grpc_slice_unref(out->body);
    if (out->has_tail)
        grpc_slice_unref(out->tail);
    out->has_body = out->has_tail = false;
}

/* Gets key through the handler; returns the decoded CacheValue (the caller
 * frees it). */
static Cache__CacheValue *
fuzz_get(const ProtobufCBinaryData *key)
{
    Cache__CacheKey k = CACHE__CACHE_KEY__INIT;
    struct rpc_reply rep;
    uint8_t *req;
    size_t n;
    Cache__CacheValue *v;

    k.key = *key;
    n = cache__cache_key__get_packed_size(&k);
    req = malloc(n + 1);
    FUZZ_CHECK(req != NULL);
    cache__cache_key__pack(&k, req);
    fuzz_call(M_GET, req, n, &rep);
    free(req);
    FUZZ_CHECK(rep.code == GRPC_STATUS_OK);
    v = cache__cache_value__unpack(NULL, GRPC_SLICE_LENGTH(rep.body),
                                   GRPC_SLICE_START_PTR(rep.body));
    fuzz_release(&rep);
    FUZZ_CHECK(v != NULL);
    return v;
}

/* A Set that succeeded: its key now holds its value. */
static void
fuzz_after_set(const uint8_t *req, size_t len)
{
    Cache__CacheItem *item = cache__cache_item__unpack(NULL, len, req);
    Cache__CacheValue *v;

    FUZZ_CHECK(item != NULL);
    v = fuzz_get(&item->key);
    FUZZ_CHECK(v->found);
    FUZZ_CHECK(v->value.len == item->value.len);
    FUZZ_CHECK(v->value.len == 0 ||
               memcmp(v->value.data, item->value.data, v->value.len) == 0);
    cache__cache_value__free_unpacked(v, NULL);
    cache__cache_item__free_unpacked(item, NULL);
}

/* A Delete that succeeded: its key is gone. */
static void
fuzz_after_delete(const uint8_t *req, size_t len)
{
    Cache__CacheKey *key = cache__cache_key__unpack(NULL, len, req);
    Cache__CacheValue *v;

    FUZZ_CHECK(key != NULL);
    v = fuzz_get(&key->key);
    FUZZ_CHECK(!v->found);
    cache__cache_value__free_unpacked(v, NULL);
    cache__cache_key__free_unpacked(key, NULL);
}

/* An OK reply's body decodes as the method's response and agrees with it. */
static void
fuzz_check_body(enum fuzz_method m, const struct rpc_reply *rep)
{
    size_t n = GRPC_SLICE_LENGTH(rep->body);
    const uint8_t *p = GRPC_SLICE_START_PTR(rep->body);
    Cache__CacheValue *v;
    Cache__CacheResponse *r;
    Cache__CacheStats *s;
    Grpc__Health__V1__HealthCheckResponse *h;

    switch (m) {
    case M_GET:
        v = cache__cache_value__unpack(NULL, n, p);
        FUZZ_CHECK(v != NULL && (v->found || v->value.len == 0));
        cache__cache_value__free_unpacked(v, NULL);
        break;
    case M_SET:
    case M_DELETE:
        r = cache__cache_response__unpack(NULL, n, p);
        FUZZ_CHECK(r != NULL && r->status == CACHE__CACHE_STATUS__OK);
        cache__cache_response__free_unpacked(r, NULL);
        break;
    case M_STATS:
        s = cache__cache_stats__unpack(NULL, n, p);
        FUZZ_CHECK(s != NULL && s->size >= 0 && s->size <= FUZZ_MAX_ITEMS);
        FUZZ_CHECK(s->memory_usage_bytes >= 0 &&
                   s->memory_usage_bytes <= FUZZ_MAX_MEMORY);
        cache__cache_stats__free_unpacked(s, NULL);
        break;
    case M_CHECK:
        h = grpc__health__v1__health_check_response__unpack(NULL, n, p);
        FUZZ_CHECK(h != NULL);
        FUZZ_CHECK(h->status == (lifecycle_get() == PHASE_SERVING
                                     ? FUZZ_HEALTH_SERVING
                                     : FUZZ_HEALTH_NOT_SERV));
        grpc__health__v1__health_check_response__free_unpacked(h, NULL);
        break;
    default: {
        ProtobufCMessage *msg =
            protobuf_c_message_unpack(fuzz_replies[m], NULL, n, p);

        FUZZ_CHECK(msg != NULL);
        protobuf_c_message_free_unpacked(msg, NULL);
        break;
    }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rpc_reply rep;
    enum fuzz_method m;
    uint64_t items, bytes;

    if (size == 0)
        return 0;
    m = (enum fuzz_method)(data[0] % M_COUNT);
    fuzz_now_ms += (uint64_t)(data[0] / M_COUNT) * FUZZ_CLOCK_STEP_MS;
    lifecycle_set((enum lifecycle_phase)(data[0] / M_COUNT % 3));
    fuzz_ns = data[0] / M_COUNT % 2 ? "fz" : NULL;
    fuzz_nslen = fuzz_ns ? 2 : 0;
    fuzz_call(m, data + 1, size - 1, &rep);
    if (rep.code == GRPC_STATUS_OK)
        fuzz_check_body(m, &rep);
    fuzz_release(&rep);
    if (rep.code == GRPC_STATUS_OK && m == M_SET)
        fuzz_after_set(data + 1, size - 1);
    if (rep.code == GRPC_STATUS_OK && m == M_DELETE)
        fuzz_after_delete(data + 1, size - 1);
    store_usage(fuzz_w.store, &items, &bytes);
    FUZZ_CHECK(items <= FUZZ_MAX_ITEMS && bytes <= FUZZ_MAX_MEMORY);
    return 0;
}
