/*
 * check_bench_wire.c: tiny-cache-bench's hand-written requests decode as
 * the messages of cache.proto (through protobuf-c's generated code), and
 * its scan counts the results of answers packed by protobuf-c.
 */
#include "check_run.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bench_wire.h"
#include "cache_wire.pb-c.h"

static const struct bench_wire_keys keys = {"p/", 2};

static bool
bytes_eq(ProtobufCBinaryData b, const char *s)
{
    return b.len == strlen(s) && memcmp(b.data, s, b.len) == 0;
}

START_TEST(test_bench_wire_key_decodes_as_cache_key)
{
    uint8_t buf[BENCH_WIRE_KEY_MAX + 2];
    uint8_t *end = bench_wire_put_key(buf, &keys, 42);
    Cache__CacheKey *m;

    ck_assert_uint_eq((size_t)(end - buf), bench_wire_key_size(&keys));
    m = cache__cache_key__unpack(NULL, (size_t)(end - buf), buf);
    ck_assert_ptr_nonnull(m);
    ck_assert(bytes_eq(m->key, "p/000000000042"));
    cache__cache_key__free_unpacked(m, NULL);
}
END_TEST

START_TEST(test_bench_wire_keys_decode_as_multi_get)
{
    uint8_t buf[3 * (BENCH_WIRE_KEY_MAX + 2)], *p = buf;
    Cache__MultiCacheKeyRequest *m;

    p = bench_wire_put_key(p, &keys, 0);
    p = bench_wire_put_key(p, &keys, 7);
    p = bench_wire_put_key(p, &keys, 999999999999ull);
    m = cache__multi_cache_key_request__unpack(NULL, (size_t)(p - buf), buf);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->n_keys, 3);
    ck_assert(bytes_eq(m->keys[0], "p/000000000000"));
    ck_assert(bytes_eq(m->keys[1], "p/000000000007"));
    ck_assert(bytes_eq(m->keys[2], "p/999999999999"));
    cache__multi_cache_key_request__free_unpacked(m, NULL);
}
END_TEST

START_TEST(test_bench_wire_set_decodes_as_cache_item)
{
    uint8_t buf[512], *p = bench_wire_put_key(buf, &keys, 5);
    Cache__CacheItem *m;

    p = bench_wire_put_value_header(p, 300);
    ck_assert_uint_eq((size_t)(p - buf), bench_wire_key_size(&keys) +
                                             bench_wire_value_header_size(300));
    memset(p, 'v', 300);
    m = cache__cache_item__unpack(NULL, (size_t)(p + 300 - buf), buf);
    ck_assert_ptr_nonnull(m);
    ck_assert(bytes_eq(m->key, "p/000000000005"));
    ck_assert_uint_eq(m->value.len, 300);
    ck_assert_int_eq(m->value.data[299], 'v');
    cache__cache_item__free_unpacked(m, NULL);
}
END_TEST

/* Values of 0, 1 and 2 varint bytes of length. */
static const size_t item_value_lens[] = {0, 5, 200};

START_TEST(test_bench_wire_items_decode_as_multi_set)
{
    size_t vlen = item_value_lens[_i];
    size_t hlen = bench_wire_item_header_size(&keys, vlen);
    uint8_t buf[3 * (BENCH_WIRE_KEY_MAX + 16 + 200)], *p = buf;
    Cache__MultiCacheItemRequest *m;

    for (uint64_t k = 0; k < 3; k++) {
        uint8_t *end = bench_wire_put_item_header(p, &keys, k, vlen);

        ck_assert_uint_eq((size_t)(end - p), hlen);
        memset(end, (int)('a' + k), vlen);
        p = end + vlen;
    }
    m = cache__multi_cache_item_request__unpack(NULL, (size_t)(p - buf), buf);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->n_items, 3);
    ck_assert(bytes_eq(m->items[2]->key, "p/000000000002"));
    for (size_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(m->items[i]->value.len, vlen);
        ck_assert_int_eq(m->items[i]->ttl, 0);
        if (vlen > 0)
            ck_assert_int_eq(m->items[i]->value.data[vlen - 1], 'a' + (int)i);
    }
    cache__multi_cache_item_request__free_unpacked(m, NULL);
}
END_TEST

/* Pack a MultiCacheValueResponse: a hit, a miss, a failed lookup. */
static size_t
pack_lookups(uint8_t *buf)
{
    Cache__CacheLookup l[3] = {CACHE__CACHE_LOOKUP__INIT,
                               CACHE__CACHE_LOOKUP__INIT,
                               CACHE__CACHE_LOOKUP__INIT};
    Cache__CacheLookup *items[3] = {&l[0], &l[1], &l[2]};
    Cache__MultiCacheValueResponse m = CACHE__MULTI_CACHE_VALUE_RESPONSE__INIT;

    l[0].key = (ProtobufCBinaryData){1, (uint8_t *)"a"};
    l[0].found = true;
    l[0].value = (ProtobufCBinaryData){3, (uint8_t *)"xyz"};
    l[1].key = (ProtobufCBinaryData){1, (uint8_t *)"b"};
    l[2].error = "the key is empty";
    m.n_items = 3;
    m.items = items;
    return cache__multi_cache_value_response__pack(&m, buf);
}

START_TEST(test_bench_wire_scan_counts_lookups)
{
    uint8_t buf[256];
    size_t n = pack_lookups(buf);
    struct bench_wire_counts c;

    ck_assert_int_eq(bench_wire_scan(buf, n, BENCH_WIRE_LOOKUPS, &c), 0);
    ck_assert_uint_eq(c.items, 3);
    ck_assert_uint_eq(c.found, 1);
    ck_assert_uint_eq(c.failed, 1);
}
END_TEST

START_TEST(test_bench_wire_scan_counts_failed_results)
{
    Cache__CacheOperationResult r[3] = {CACHE__CACHE_OPERATION_RESULT__INIT,
                                        CACHE__CACHE_OPERATION_RESULT__INIT,
                                        CACHE__CACHE_OPERATION_RESULT__INIT};
    Cache__CacheOperationResult *items[3] = {&r[0], &r[1], &r[2]};
    Cache__MultiCacheResponse m = CACHE__MULTI_CACHE_RESPONSE__INIT;
    struct bench_wire_counts c;
    uint8_t buf[256];
    size_t n;

    r[0].status = CACHE__CACHE_STATUS__OK;
    r[1].status = CACHE__CACHE_STATUS__ERROR;
    r[1].error = "the value is over the limit";
    m.n_items = 3;
    m.items = items;
    n = cache__multi_cache_response__pack(&m, buf);
    ck_assert_int_eq(bench_wire_scan(buf, n, BENCH_WIRE_RESULTS, &c), 0);
    ck_assert_uint_eq(c.items, 3);
    ck_assert_uint_eq(c.failed, 2);
    ck_assert_uint_eq(c.found, 0);
}
END_TEST

START_TEST(test_bench_wire_scan_skips_unknown_fields)
{
    /* An item with fixed64 field 9, fixed32 field 10 and found = true. */
    static const uint8_t answer[] = {0x0a, 0x12, 0x49, 1, 2,    3,   4,
                                     5,    6,    7,    8, 0x55, 1,   2,
                                     3,    4,    0x10, 1, 0x18, 0x05};
    struct bench_wire_counts c;

    ck_assert_int_eq(
        bench_wire_scan(answer, sizeof answer, BENCH_WIRE_LOOKUPS, &c), 0);
    ck_assert_uint_eq(c.items, 1);
    ck_assert_uint_eq(c.found, 1);
    ck_assert_int_eq(bench_wire_scan(answer, 0, BENCH_WIRE_LOOKUPS, &c), 0);
    ck_assert_uint_eq(c.items, 0);
}
END_TEST

START_TEST(test_bench_wire_scan_rejects_broken_answers)
{
    static const uint8_t bad_type[] = {0x0f, 0x00};
    static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    uint8_t buf[256];
    size_t n = pack_lookups(buf);
    struct bench_wire_counts c;

    ck_assert_int_eq(bench_wire_scan(buf, n - 1, BENCH_WIRE_LOOKUPS, &c), -1);
    ck_assert_int_eq(
        bench_wire_scan(bad_type, sizeof bad_type, BENCH_WIRE_LOOKUPS, &c), -1);
    ck_assert_int_eq(bench_wire_scan(long_varint, sizeof long_varint,
                                     BENCH_WIRE_RESULTS, &c),
                     -1);
}
END_TEST

static Suite *
bench_wire_suite(void)
{
    Suite *s = suite_create("bench_wire");
    TCase *enc = tcase_create("encode");
    TCase *scan = tcase_create("scan");

    tcase_add_test(enc, test_bench_wire_key_decodes_as_cache_key);
    tcase_add_test(enc, test_bench_wire_keys_decode_as_multi_get);
    tcase_add_test(enc, test_bench_wire_set_decodes_as_cache_item);
    tcase_add_loop_test(
        enc, test_bench_wire_items_decode_as_multi_set, 0,
        (int)(sizeof item_value_lens / sizeof *item_value_lens));
    tcase_add_test(scan, test_bench_wire_scan_counts_lookups);
    tcase_add_test(scan, test_bench_wire_scan_counts_failed_results);
    tcase_add_test(scan, test_bench_wire_scan_skips_unknown_fields);
    tcase_add_test(scan, test_bench_wire_scan_rejects_broken_answers);
    suite_add_tcase(s, enc);
    suite_add_tcase(s, scan);
    return s;
}

int
main(void)
{
    return check_run(bench_wire_suite());
}
