/*
 * check_rpc_cache.c: cache.CacheService's handlers without a network:
 * requests packed with protobuf-c, replies checked byte for byte against
 * protobuf-c's own encoding, and the store-status-to-gRPC-code table.
 */
#include <stdlib.h>
#include <string.h>

#include "cache_wire.pb-c.h"
#include "check_run.h"
#include "rpc_cache.h"
#include "rpc_wire.h"

#define MIB (1024u * 1024u)

static struct rpc_worker w;
static struct rpc_reply rep;
static struct config cfg;
static const char *ns; /* the keyspace of the calls: NULL, the shared one */
static size_t nslen;

/* Runs handler h on n bytes of request. */
static void
invoke(rpc_handler h, const uint8_t *req, size_t n)
{
    struct rpc_request r = {req, n, ns, nslen};

    h(&w, &r, &rep);
}

/* Drops the last reply's slices and zeroes it. */
static void
release_reply(void)
{
    if (rep.has_body)
        grpc_slice_unref(rep.body);
    if (rep.has_tail)
        grpc_slice_unref(rep.tail);
    memset(&rep, 0, sizeof rep);
}

static void
setup(void)
{
    struct store_config sc = {4, 10, 4 * MIB, 2 * MIB, 60};

    memset(&w, 0, sizeof w);
    memset(&rep, 0, sizeof rep);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_batch = 4;
    w.cfg = &cfg;
    ns = NULL;
    nslen = 0;
    w.store = store_create(&sc, &clock_monotonic);
    ck_assert_ptr_nonnull(w.store);
    buf_init(&w.scratch);
}

static void
teardown(void)
{
    release_reply();
    store_destroy(w.store);
    buf_fini(&w.scratch);
    buf_fini(&w.out);
    free(w.items);
}

/* Runs handler h on a packed message; rep holds the reply. */
static void
call(rpc_handler h, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *req = malloc(n + 1);

    protobuf_c_message_pack(m, req);
    release_reply();
    invoke(h, req, n);
    free(req);
}

static void
do_set(const char *key, size_t klen, const void *val, size_t vlen)
{
    Cache__CacheItem m = CACHE__CACHE_ITEM__INIT;

    m.key.data = (uint8_t *)key;
    m.key.len = klen;
    m.value.data = (uint8_t *)val;
    m.value.len = vlen;
    call(rpc_cache_set, &m.base);
}

static void
do_key(rpc_handler h, const char *key, size_t klen)
{
    Cache__CacheKey m = CACHE__CACHE_KEY__INIT;

    m.key.data = (uint8_t *)key;
    m.key.len = klen;
    call(h, &m.base);
}

/* The reply's message (body, then tail if any) equals protobuf-c's
 * encoding of m. */
static void
assert_body_is(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *want = malloc(n + 1);
    size_t hl = GRPC_SLICE_LENGTH(rep.body);

    protobuf_c_message_pack(m, want);
    ck_assert(rep.has_body);
    ck_assert_uint_eq(hl + (rep.has_tail ? GRPC_SLICE_LENGTH(rep.tail) : 0), n);
    ck_assert_mem_eq(GRPC_SLICE_START_PTR(rep.body), want, hl);
    if (rep.has_tail)
        ck_assert_mem_eq(GRPC_SLICE_START_PTR(rep.tail), want + hl, n - hl);
    free(want);
}

START_TEST(test_rpc_cache_get_encodes_like_protobuf_c)
{
    static const size_t lens[] = {0, 1, 127, 128, 300, 16383, 16384, 100000};
    Cache__CacheValue v = CACHE__CACHE_VALUE__INIT;
    char *val = malloc(100000);

    for (size_t i = 0; i < 100000; i++)
        val[i] = (char)(i * 7);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        do_set("k", 1, val, lens[i]);
        ck_assert_int_eq(rep.code, GRPC_STATUS_OK);
        do_key(rpc_cache_get, "k", 1);
        ck_assert_int_eq(rep.code, GRPC_STATUS_OK);
        v.found = 1;
        v.value.data = (uint8_t *)val;
        v.value.len = lens[i];
        assert_body_is(&v.base);
    }
    free(val);
}
END_TEST

START_TEST(test_rpc_cache_get_missing_is_ok_and_empty)
{
    Cache__CacheValue v = CACHE__CACHE_VALUE__INIT;

    do_key(rpc_cache_get, "nope", 4);
    ck_assert_int_eq(rep.code, GRPC_STATUS_OK);
    assert_body_is(&v.base);
    ck_assert_uint_eq(GRPC_SLICE_LENGTH(rep.body), 0);
}
END_TEST

START_TEST(test_rpc_cache_set_and_delete_answer_status_ok)
{
    Cache__CacheResponse ok = CACHE__CACHE_RESPONSE__INIT;

    ok.status = CACHE__CACHE_STATUS__OK;
    do_set("d", 1, "v", 1);
    assert_body_is(&ok.base);
    do_key(rpc_cache_delete, "d", 1);
    ck_assert_int_eq(rep.code, GRPC_STATUS_OK);
    assert_body_is(&ok.base);
    do_key(rpc_cache_delete, "d", 1); /* idempotent */
    ck_assert_int_eq(rep.code, GRPC_STATUS_OK);
    assert_body_is(&ok.base);
}
END_TEST

START_TEST(test_rpc_cache_bad_keys_are_invalid_argument)
{
    static const struct {
        const char *key;
        size_t len;
    } bad[] = {{"", 0}, {"\xff", 1}, {"\xc0\x80", 2}, {"\xed\xa0\x80", 3}};
    char longkey[258];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        do_key(rpc_cache_get, bad[i].key, bad[i].len);
        ck_assert_int_eq(rep.code, GRPC_STATUS_INVALID_ARGUMENT);
        ck_assert(!rep.has_body);
        do_set(bad[i].key, bad[i].len, "v", 1);
        ck_assert_int_eq(rep.code, GRPC_STATUS_INVALID_ARGUMENT);
        do_key(rpc_cache_delete, bad[i].key, bad[i].len);
        ck_assert_int_eq(rep.code, GRPC_STATUS_INVALID_ARGUMENT);
    }
    memset(longkey, 'x', sizeof longkey);
    do_set(longkey, 256, "v", 1);
    ck_assert_int_eq(rep.code, GRPC_STATUS_OK);
    do_set(longkey, 257, "v", 1);
    ck_assert_int_eq(rep.code, GRPC_STATUS_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_rpc_cache_key_with_nul_keeps_its_length)
{
    do_set("a\0b", 3, "1", 1);
    do_key(rpc_cache_get, "a", 1);
    ck_assert_int_eq(rep.code, GRPC_STATUS_OK);
    ck_assert_uint_eq(GRPC_SLICE_LENGTH(rep.body), 0);
    do_key(rpc_cache_get, "a\0b", 3);
    ck_assert_uint_gt(GRPC_SLICE_LENGTH(rep.body), 0);
}
END_TEST

START_TEST(test_rpc_cache_too_large_is_resource_exhausted)
{
    char *big = calloc(1, 2 * MIB + 1);

    do_set("v", 1, "old", 3);
    do_set("v", 1, big, 2 * MIB + 1);
    ck_assert_int_eq(rep.code, GRPC_STATUS_RESOURCE_EXHAUSTED);
    ck_assert(!rep.has_body);
    do_key(rpc_cache_get, "v", 1);
    ck_assert_uint_eq(GRPC_SLICE_LENGTH(rep.body), 2 + 2 + 3);
    free(big);
}
END_TEST

START_TEST(test_rpc_cache_undecodable_body_is_invalid_argument)
{
    static const uint8_t junk[] = {0x0a, 0x05, 'a', 'b'};
    static const rpc_handler hs[] = {rpc_cache_get, rpc_cache_set,
                                     rpc_cache_delete, rpc_cache_stats};

    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        memset(&rep, 0, sizeof rep);
        invoke(hs[i], junk, sizeof junk);
        ck_assert_int_eq(rep.code, GRPC_STATUS_INVALID_ARGUMENT);
        ck_assert_str_eq(rep.details, "request body does not decode");
        ck_assert(!rep.has_body);
    }
}
END_TEST

START_TEST(test_rpc_cache_empty_body_means_empty_key)
{
    memset(&rep, 0, sizeof rep);
    invoke(rpc_cache_get, NULL, 0);
    ck_assert_int_eq(rep.code, GRPC_STATUS_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_rpc_cache_stats_totals_and_limits)
{
    Cache__Empty e = CACHE__EMPTY__INIT;
    Cache__CacheStats *st;

    do_set("s1", 2, "v", 1);
    do_key(rpc_cache_get, "s1", 2);
    do_key(rpc_cache_get, "s2", 2);
    do_key(rpc_cache_delete, "s9", 2);
    call(rpc_cache_stats, &e.base);
    ck_assert_int_eq(rep.code, GRPC_STATUS_OK);
    st = cache__cache_stats__unpack(NULL, GRPC_SLICE_LENGTH(rep.body),
                                    GRPC_SLICE_START_PTR(rep.body));
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(st->size, 1);
    ck_assert_int_eq(st->hits, 1);
    ck_assert_int_eq(st->misses, 1);
    ck_assert_int_eq(st->gets, 2);
    ck_assert_int_eq(st->sets, 1);
    ck_assert_int_eq(st->deletes, 1);
    ck_assert_double_eq(st->hit_rate, 0.5);
    ck_assert_int_eq(st->max_items, 10);
    ck_assert_int_eq(st->max_memory_bytes, 4 * MIB);
    ck_assert_int_eq(st->max_value_bytes, 2 * MIB);
    ck_assert_int_eq(st->evictions, st->lru_evictions);
    ck_assert_int_gt(st->memory_usage_bytes, 0);
    cache__cache_stats__free_unpacked(st, NULL);
}
END_TEST

/* A large value is handed over in the scratch buffer (the reply's tail),
 * not copied: body and tail together decode as its CacheValue, and the
 * worker's scratch is then a fresh one. */
START_TEST(test_rpc_cache_large_get_hands_the_value_over)
{
    size_t n = MIB + 1;
    char *val = malloc(n), *msg;
    Cache__CacheValue *v;
    size_t hl, tl;

    for (size_t i = 0; i < n; i++)
        val[i] = (char)(i * 7);
    do_set("big", 3, val, n);
    do_key(rpc_cache_get, "big", 3);
    ck_assert(rep.has_body && rep.has_tail);
    hl = GRPC_SLICE_LENGTH(rep.body);
    tl = GRPC_SLICE_LENGTH(rep.tail);
    ck_assert_uint_eq(tl, n);
    ck_assert_uint_eq(w.scratch.cap, 0);
    msg = malloc(hl + tl);
    memcpy(msg, GRPC_SLICE_START_PTR(rep.body), hl);
    memcpy(msg + hl, GRPC_SLICE_START_PTR(rep.tail), tl);
    v = cache__cache_value__unpack(NULL, hl + tl, (uint8_t *)msg);
    ck_assert_ptr_nonnull(v);
    ck_assert(v->found);
    ck_assert_uint_eq(v->value.len, n);
    ck_assert_mem_eq(v->value.data, val, n);
    cache__cache_value__free_unpacked(v, NULL);
    do_set("small", 5, "v", 1);
    do_key(rpc_cache_get, "small", 5);
    ck_assert(!rep.has_tail);
    ck_assert_uint_gt(w.scratch.cap, 0);
    free(msg);
    free(val);
}
END_TEST

/* An empty body (no fields at all) reaches every handler as NULL: each
 * answers without reading through the pointer (missing bytes fields read
 * as empty, never NULL). */
START_TEST(test_rpc_cache_every_method_takes_an_empty_body)
{
    static const rpc_handler hs[] = {
        rpc_cache_get,
        rpc_cache_set,
        rpc_cache_delete,
        rpc_cache_stats,
        rpc_cache_multi_get,
        rpc_cache_multi_set,
        rpc_cache_multi_delete,
        rpc_cache_set_if_absent,
        rpc_cache_compare_and_set,
        rpc_cache_increment,
        rpc_cache_touch,
        rpc_cache_flush,
    };

    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        if (rep.has_body)
            grpc_slice_unref(rep.body);
        memset(&rep, 0, sizeof rep);
        invoke(hs[i], NULL, 0);
        ck_assert(rep.code == GRPC_STATUS_OK ||
                  rep.code == GRPC_STATUS_INVALID_ARGUMENT);
    }
}
END_TEST

/* A MultiGet of the keys of want[0..n) answers OK with want[0..n), byte
 * for byte protobuf-c's encoding. */
static void
assert_multi_get_answers(Cache__CacheLookup *want, size_t n)
{
    ProtobufCBinaryData *ks = calloc(n, sizeof *ks);
    Cache__CacheLookup **lp = calloc(n, sizeof *lp);
    Cache__MultiCacheKeyRequest req = CACHE__MULTI_CACHE_KEY_REQUEST__INIT;
    Cache__MultiCacheValueResponse res =
        CACHE__MULTI_CACHE_VALUE_RESPONSE__INIT;

    ck_assert(ks != NULL && lp != NULL);
    for (size_t i = 0; i < n; i++) {
        ks[i] = want[i].key;
        lp[i] = &want[i];
    }
    req.n_keys = n;
    req.keys = ks;
    call(rpc_cache_multi_get, &req.base);
    ck_assert_int_eq(rep.code, GRPC_STATUS_OK);
    res.n_items = n;
    res.items = lp;
    assert_body_is(&res.base);
    free(ks);
    free(lp);
}

/* Lookups whose size crosses the one-byte length (127 and 128 bytes and
 * around), found with a value, missing, or refused with a sentence:
 * MultiGet's reply is byte for byte protobuf-c's encoding. */
START_TEST(test_rpc_cache_multi_get_encodes_like_protobuf_c)
{
    enum { FIRST = 96, LAST = 136, N = LAST - FIRST };
    static char keys[N][LAST];
    static char vals[40];
    Cache__CacheLookup look[N];

    cfg.max_batch = N;
    memset(vals, 'v', sizeof vals);
    for (size_t i = 0; i < N; i++) {
        size_t klen = FIRST + i;

        memset(keys[i], 'a' + (int)(i % 26), klen);
        keys[i][klen - 1] = (char)('0' + i % 10);
        look[i] = (Cache__CacheLookup)CACHE__CACHE_LOOKUP__INIT;
        look[i].key = (ProtobufCBinaryData){klen, (uint8_t *)keys[i]};
        if (i % 4 == 0) { /* refused: not UTF-8 */
            keys[i][0] = (char)0xff;
            look[i].error = "key is not valid UTF-8";
        } else if (i % 4 == 1) { /* found (10 of them, the item limit) */
            do_set(keys[i], klen, vals, i % 40);
            ck_assert_int_eq(rep.code, GRPC_STATUS_OK);
            look[i].found = 1;
            look[i].value = (ProtobufCBinaryData){i % 40, (uint8_t *)vals};
        }
    }
    assert_multi_get_answers(look, N);
}
END_TEST

/* Found lookups on either side of the short way small ones are written
 * (a CacheLookup under 128 bytes: key and value under 122 bytes together,
 * or a key under 124 with an empty value), and a missing key: MultiGet's
 * reply is byte for byte protobuf-c's encoding. */
START_TEST(test_rpc_cache_multi_get_small_lookups_encode_like_protobuf_c)
{
    static const size_t kv[][2] = {{1, 0},   {7, 100},  {60, 61},
                                   {61, 61}, {100, 22}, {123, 0},
                                   {124, 0}, {1, 120},  {1, 121}};
    enum { N = sizeof kv / sizeof kv[0] + 1 };
    static char keys[N][124], vals[121];
    Cache__CacheLookup look[N];

    cfg.max_batch = N;
    memset(vals, 'v', sizeof vals);
    for (size_t i = 0; i < N; i++) {
        size_t klen = i < N - 1 ? kv[i][0] : 7;

        memset(keys[i], 'a' + (int)i, klen);
        look[i] = (Cache__CacheLookup)CACHE__CACHE_LOOKUP__INIT;
        look[i].key = (ProtobufCBinaryData){klen, (uint8_t *)keys[i]};
        if (i < N - 1) { /* the last is missing */
            do_set(keys[i], klen, vals, kv[i][1]);
            ck_assert_int_eq(rep.code, GRPC_STATUS_OK);
            look[i].found = 1;
            look[i].value = (ProtobufCBinaryData){kv[i][1], (uint8_t *)vals};
        }
    }
    assert_multi_get_answers(look, N);
}
END_TEST

/* Around every place a varint gains a byte (2^7k - 1 and 2^7k), and at
 * 0 and UINT64_MAX: the size the reply's sizing counts is what the
 * writer writes, and the reader reads the value back. */
START_TEST(test_rpc_wire_varint_sizes_match_what_is_written)
{
    uint64_t vs[2 + 2 * 9];
    size_t nv = 0;

    vs[nv++] = 0;
    vs[nv++] = UINT64_MAX;
    for (unsigned k = 1; k <= 9; k++) {
        vs[nv++] = (UINT64_C(1) << (7 * k)) - 1;
        vs[nv++] = UINT64_C(1) << (7 * k);
    }
    for (size_t i = 0; i < nv; i++) {
        uint8_t b[RPC_WIRE_VARINT_MAX + 1] = {0x08}; /* field 1, varint */
        size_t n = (size_t)(rpc_wire_put_varint(b + 1, vs[i]) - (b + 1));
        struct rpc_wire_in in;
        uint32_t field, type;
        uint64_t got;

        ck_assert_uint_eq(rpc_wire_varint_len(vs[i]), n);
        rpc_wire_in_init(&in, b, 1 + n);
        ck_assert(rpc_wire_next(&in, &field, &type));
        ck_assert(rpc_wire_varint(&in, type, &got));
        ck_assert_uint_eq(got, vs[i]);
        ck_assert_ptr_eq(in.p, in.end);
    }
    /* a varint's size is 7 bits a byte, rounded up */
    ck_assert_uint_eq(rpc_wire_varint_len(127), 1);
    ck_assert_uint_eq(rpc_wire_varint_len(128), 2);
    ck_assert_uint_eq(rpc_wire_varint_len(UINT64_C(1) << 63), 10);
}
END_TEST

static Suite *
rpc_cache_suite(void)
{
    Suite *s = suite_create("rpc_cache");
    TCase *tc = tcase_create("handlers");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_rpc_cache_get_encodes_like_protobuf_c);
    tcase_add_test(tc, test_rpc_cache_get_missing_is_ok_and_empty);
    tcase_add_test(tc, test_rpc_cache_set_and_delete_answer_status_ok);
    tcase_add_test(tc, test_rpc_cache_bad_keys_are_invalid_argument);
    tcase_add_test(tc, test_rpc_cache_key_with_nul_keeps_its_length);
    tcase_add_test(tc, test_rpc_cache_too_large_is_resource_exhausted);
    tcase_add_test(tc, test_rpc_cache_undecodable_body_is_invalid_argument);
    tcase_add_test(tc, test_rpc_cache_empty_body_means_empty_key);
    tcase_add_test(tc, test_rpc_cache_every_method_takes_an_empty_body);
    tcase_add_test(tc, test_rpc_cache_stats_totals_and_limits);
    tcase_add_test(tc, test_rpc_cache_large_get_hands_the_value_over);
    tcase_add_test(tc, test_rpc_cache_multi_get_encodes_like_protobuf_c);
    tcase_add_test(
        tc, test_rpc_cache_multi_get_small_lookups_encode_like_protobuf_c);
    tcase_add_test(tc, test_rpc_wire_varint_sizes_match_what_is_written);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return check_run(rpc_cache_suite());
}
