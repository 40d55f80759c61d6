/*
 * check_store.c: the store's rules (README, The store) on a fake clock: keys,
 * values, limits, eviction order and counters.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_run.h"
#include "store_fixture.h"

#define MIB (1024u * 1024u)

static void
big_store(void)
{
    fx_create(16, 1000, 100 * MIB, 100 * MIB);
}

/* A key of n copies of the UTF-8 sequence ch. */
static char *
repeat(const char *ch, size_t n)
{
    size_t w = strlen(ch), i;
    char *s = malloc(w * n + 1);

    for (i = 0; i < n; i++)
        memcpy(s + i * w, ch, w);
    s[w * n] = '\0';
    return s;
}

START_TEST(test_store_set_get_roundtrip_binary)
{
    static const char val[] = {'a', 0, (char)0xff, 'b'};

    ck_assert_int_eq(store_set(fx, NULL, 0, "k", 1, val, sizeof val, 0),
                     STORE_OK);
    ck_assert_int_eq(fx_get("k"), STORE_OK);
    ck_assert_uint_eq(fx_out.len, sizeof val);
    ck_assert_mem_eq(fx_out.data, val, sizeof val);
    ck_assert_int_eq(fx_set("empty", "", 0), STORE_OK);
    ck_assert(fx_has("empty", ""));
    ck_assert_int_eq(fx_get("missing"), STORE_NOT_FOUND);
}
END_TEST

START_TEST(test_store_keys_differ_after_nul)
{
    ck_assert_int_eq(store_set(fx, NULL, 0, "a", 1, "1", 1, 0), STORE_OK);
    ck_assert_int_eq(store_set(fx, NULL, 0, "a\0b", 3, "2", 1, 0), STORE_OK);
    ck_assert_int_eq(store_get(fx, NULL, 0, "a", 1, &fx_out), STORE_OK);
    ck_assert_mem_eq(fx_out.data, "1", 1);
    ck_assert_int_eq(store_get(fx, NULL, 0, "a\0b", 3, &fx_out), STORE_OK);
    ck_assert_mem_eq(fx_out.data, "2", 1);
    ck_assert_uint_eq(fx_stats().size, 2);
}
END_TEST

START_TEST(test_store_key_length_in_code_points)
{
    static const char *chars[] = {"x", "\xc3\xa9", "\xe2\x82\xac",
                                  "\xf0\x9f\x98\x80"};
    size_t i;
    char *k;

    for (i = 0; i < 4; i++) {
        k = repeat(chars[i], 256);
        ck_assert_int_eq(fx_set(k, "v", 0), STORE_OK);
        ck_assert(fx_has(k, "v"));
        free(k);
        k = repeat(chars[i], 257);
        ck_assert_int_eq(fx_set(k, "v", 0), STORE_BAD_KEY);
        ck_assert_int_eq(fx_get(k), STORE_BAD_KEY);
        ck_assert_int_eq(fx_del(k), STORE_BAD_KEY);
        free(k);
    }
    ck_assert_uint_eq(fx_stats().size, 4);
}
END_TEST

START_TEST(test_store_bad_keys_not_counted)
{
    struct shard_stats s;

    ck_assert_int_eq(fx_set("", "v", 0), STORE_BAD_KEY);
    ck_assert_int_eq(fx_get(""), STORE_BAD_KEY);
    ck_assert_int_eq(fx_set("\xc0\x80", "v", 0), STORE_BAD_KEY);
    ck_assert_int_eq(fx_get("\xed\xa0\x80"), STORE_BAD_KEY);
    ck_assert_int_eq(fx_del("\xff"), STORE_BAD_KEY);
    s = fx_stats();
    ck_assert_uint_eq(s.gets + s.sets + s.deletes + s.misses, 0);
    ck_assert_uint_eq(s.size, 0);
}
END_TEST

START_TEST(test_store_counters_follow_calls)
{
    struct shard_stats s;

    fx_set("a", "1", 0);
    fx_set("b", "2", 0);
    fx_set("a", "3", 0);
    ck_assert(fx_has("a", "3"));
    fx_get("b");
    fx_get("nope");
    ck_assert_int_eq(fx_del("b"), STORE_OK);
    ck_assert_int_eq(fx_del("b"), STORE_NOT_FOUND);
    s = fx_stats();
    ck_assert_uint_eq(s.sets, 3);
    ck_assert_uint_eq(s.gets, 3);
    ck_assert_uint_eq(s.hits, 2);
    ck_assert_uint_eq(s.misses, 1);
    ck_assert_uint_eq(s.deletes, 2);
    ck_assert_uint_eq(s.size, 1);
    ck_assert_uint_eq(s.lru_evictions + s.expired_removals, 0);
    ck_assert_double_eq_tol(stats_hit_rate(&s), 2.0 / 3.0, 1e-9);
}
END_TEST

START_TEST(test_store_hit_rate_zero_without_gets)
{
    struct shard_stats s = fx_stats();

    ck_assert_double_eq(stats_hit_rate(&s), 0.0);
}
END_TEST

START_TEST(test_store_memory_accounting_exact_and_back_to_zero)
{
    struct shard_stats s, sh[16];
    uint64_t items, bytes, sum = 0;
    uint32_t i;

    fx_set("alpha", "12345", 0);
    fx_set("beta", "", 7);
    s = fx_stats();
    ck_assert_uint_eq(s.memory_usage_bytes,
                      fx_bytes("alpha", "12345", 0) + fx_bytes("beta", "", 7));
    store_stats(fx, &s, sh);
    for (i = 0; i < 16; i++)
        sum += sh[i].memory_usage_bytes;
    ck_assert_uint_eq(sum, s.memory_usage_bytes);
    store_usage(fx, &items, &bytes);
    ck_assert_uint_eq(items, 2);
    ck_assert_uint_eq(bytes, s.memory_usage_bytes);
    fx_set("alpha", "1234567890123456789012345", 0);
    ck_assert_uint_eq(fx_stats().memory_usage_bytes,
                      fx_bytes("alpha", "1234567890123456789012345", 0) +
                          fx_bytes("beta", "", 7));
    fx_del("alpha");
    fx_del("beta");
    s = fx_stats();
    ck_assert_uint_eq(s.memory_usage_bytes, 0);
    store_usage(fx, &items, &bytes);
    ck_assert_uint_eq(items + bytes, 0);
}
END_TEST

START_TEST(test_store_value_of_max_value_bytes_and_one_more)
{
    char *v = calloc(1, 1001);

    fx_teardown();
    fx_create(4, 100, MIB, 1000);
    memset(v, 'v', 1000);
    ck_assert_int_eq(store_set(fx, NULL, 0, "k", 1, v, 1000, 0), STORE_OK);
    ck_assert_int_eq(store_set(fx, NULL, 0, "k", 1, v, 1001, 0),
                     STORE_TOO_LARGE);
    ck_assert_int_eq(fx_get("k"), STORE_OK);
    ck_assert_uint_eq(fx_out.len, 1000);
    ck_assert_uint_eq(fx_stats().rejected_oversize, 1);
    ck_assert_uint_eq(fx_stats().sets, 2);
    free(v);
}
END_TEST

START_TEST(test_store_value_bigger_than_budget_evicts_nothing)
{
    uint64_t budget = entry_accounted(1, 500, 0);
    char *v = calloc(1, 600);
    struct shard_stats s;

    fx_teardown();
    fx_create(4, 100, budget, budget);
    ck_assert_int_eq(store_set(fx, NULL, 0, "k", 1, v, 500, 0), STORE_OK);
    ck_assert_int_eq(store_set(fx, NULL, 0, "j", 1, v, 517, 0),
                     STORE_TOO_LARGE);
    ck_assert_int_eq(store_set(fx, NULL, 0, "k", 1, v, 517, 0),
                     STORE_TOO_LARGE);
    ck_assert_int_eq(fx_get("k"), STORE_OK);
    ck_assert_uint_eq(fx_out.len, 500);
    s = fx_stats();
    ck_assert_uint_eq(s.rejected_oversize, 2);
    ck_assert_uint_eq(s.lru_evictions, 0);
    ck_assert_uint_eq(s.memory_usage_bytes, budget);
    free(v);
}
END_TEST

START_TEST(test_store_item_limit_evicts_lru)
{
    fx_teardown();
    fx_create(16, 3, 100 * MIB, MIB);
    fx_set("a", "1", 0);
    fx_set("b", "2", 0);
    fx_set("c", "3", 0);
    ck_assert(fx_has("a", "1")); /* a is now most recent: b is the LRU */
    ck_assert_int_eq(fx_set("d", "4", 0), STORE_OK);
    ck_assert_int_eq(fx_get("b"), STORE_NOT_FOUND);
    ck_assert(fx_has("a", "1") && fx_has("c", "3") && fx_has("d", "4"));
    ck_assert_uint_eq(fx_stats().size, 3);
    ck_assert_uint_eq(fx_stats().lru_evictions, 1);
}
END_TEST

START_TEST(test_store_overwrite_at_item_limit_evicts_nothing)
{
    fx_teardown();
    fx_create(16, 2, 100 * MIB, MIB);
    fx_set("a", "1", 0);
    fx_set("b", "2", 0);
    ck_assert_int_eq(fx_set("a", "longer value", 0), STORE_OK);
    ck_assert_int_eq(fx_set("b", "x", 0), STORE_OK);
    ck_assert(fx_has("a", "longer value") && fx_has("b", "x"));
    ck_assert_uint_eq(fx_stats().lru_evictions, 0);
}
END_TEST

START_TEST(test_store_memory_limit_evicts_until_fit)
{
    uint64_t one = fx_bytes("k0", "0123456789", 0);
    struct shard_stats s;
    char k[8];
    int i;

    fx_teardown();
    fx_create(8, 1000, one * 5, one);
    for (i = 0; i < 5; i++) {
        snprintf(k, sizeof k, "k%d", i);
        ck_assert_int_eq(fx_set(k, "0123456789", 0), STORE_OK);
    }
    ck_assert_uint_eq(fx_stats().memory_usage_bytes, one * 5);
    ck_assert_int_eq(fx_set("k5", "0123456789", 0), STORE_OK);
    s = fx_stats();
    ck_assert_uint_eq(s.memory_usage_bytes, one * 5);
    ck_assert_uint_eq(s.lru_evictions, 1);
    ck_assert_int_eq(fx_get("k0"), STORE_NOT_FOUND);
    /* a value twice the size needs two victims: k1 and k2 */
    ck_assert_int_eq(fx_set("k6", "01234567890123456789", 0), STORE_OK);
    ck_assert_int_eq(fx_get("k1"), STORE_NOT_FOUND);
    ck_assert_uint_le(fx_stats().memory_usage_bytes, one * 5);
    ck_assert(fx_has("k5", "0123456789"));
}
END_TEST

START_TEST(test_store_same_size_overwrite_at_full_memory)
{
    uint64_t one = fx_bytes("a", "xxxx", 0);

    fx_teardown();
    fx_create(8, 1000, one * 2, one);
    fx_set("a", "xxxx", 0);
    fx_set("b", "yyyy", 0);
    ck_assert_int_eq(fx_set("a", "zzzz", 0), STORE_OK);
    ck_assert(fx_has("a", "zzzz") && fx_has("b", "yyyy"));
    ck_assert_uint_eq(fx_stats().lru_evictions, 0);
}
END_TEST

START_TEST(test_store_overwrite_never_evicts_own_key)
{
    uint64_t small = fx_bytes("a", "x", 0);
    uint64_t big = fx_bytes("a", "01234567890123456789012345678901", 0);

    fx_teardown();
    fx_create(1, 1000, big + small / 2, big);
    fx_set("a", "x", 0);
    fx_set("b", "y", 0);
    /* a is the LRU tail; growing it must evict b, not a */
    ck_assert_int_eq(fx_set("a", "01234567890123456789012345678901", 0),
                     STORE_OK);
    ck_assert_int_eq(fx_get("b"), STORE_NOT_FOUND);
    ck_assert(fx_has("a", "01234567890123456789012345678901"));
    ck_assert_uint_eq(fx_stats().lru_evictions, 1);
}
END_TEST

START_TEST(test_store_global_lru_order_across_shards)
{
    enum { KEYS = 200 };
    char k[16];
    int i;

    fx_teardown();
    fx_create(64, KEYS, 100 * MIB, MIB);
    for (i = 0; i < KEYS; i++) {
        snprintf(k, sizeof k, "key%d", i);
        fx_set(k, "v", 0);
    }
    for (i = 0; i < KEYS; i += 2) { /* touch the even keys */
        snprintf(k, sizeof k, "key%d", i);
        ck_assert_int_eq(fx_get(k), STORE_OK);
    }
    /* the next KEYS/2 writes evict exactly the odd keys, oldest first;
     * a miss does not change recency, so checking does not disturb it */
    for (i = 0; i < KEYS / 2; i++) {
        snprintf(k, sizeof k, "new%d", i);
        ck_assert_int_eq(fx_set(k, "v", 0), STORE_OK);
        ck_assert_uint_eq(fx_stats().lru_evictions, (uint64_t)i + 1);
        snprintf(k, sizeof k, "key%d", 2 * i + 1);
        ck_assert_msg(fx_get(k) == STORE_NOT_FOUND, "%s survived", k);
    }
    for (i = 0; i < KEYS; i += 2) {
        snprintf(k, sizeof k, "key%d", i);
        ck_assert_msg(fx_get(k) == STORE_OK, "%s evicted", k);
    }
}
END_TEST

START_TEST(test_store_eviction_when_writing_shard_is_empty)
{
    char k[16];
    int i;

    fx_teardown();
    fx_create(64, 1, 100 * MIB, MIB);
    fx_set("first", "v", 0);
    for (i = 0; i < 50; i++) {
        snprintf(k, sizeof k, "other%d", i);
        ck_assert_int_eq(fx_set(k, "v", 0), STORE_OK);
        ck_assert_uint_eq(fx_stats().size, 1);
        ck_assert(fx_has(k, "v"));
    }
    ck_assert_uint_eq(fx_stats().lru_evictions, 50);
}
END_TEST

START_TEST(test_store_large_value_roundtrip)
{
    size_t n = 3 * MIB + 7, i;
    unsigned char *v = malloc(n);

    for (i = 0; i < n; i++)
        v[i] = (unsigned char)(i * 31);
    ck_assert_int_eq(store_set(fx, NULL, 0, "big", 3, v, n, 0), STORE_OK);
    ck_assert_int_eq(fx_get("big"), STORE_OK);
    ck_assert_uint_eq(fx_out.len, n);
    ck_assert_mem_eq(fx_out.data, v, n);
    ck_assert_int_eq(fx_del("big"), STORE_OK);
    ck_assert_uint_eq(fx_stats().memory_usage_bytes, 0);
    free(v);
}
END_TEST

/* A large entry is an mmap'd chunk even after one was freed: glibc's
 * threshold stays at 32 KiB (entry.c), so the chunk goes back to the
 * system on eviction. mallinfo2 sees glibc's own allocator only, not a
 * sanitizer's. */
START_TEST(test_store_large_entries_stay_mmapped)
{
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    size_t n = MIB, before;
    char *v = calloc(1, n);

    ck_assert_int_eq(store_set(fx, NULL, 0, "a", 1, v, n, 0), STORE_OK);
    ck_assert_int_eq(fx_del("a"), STORE_OK);
    before = mallinfo2().hblkhd;
    ck_assert_int_eq(store_set(fx, NULL, 0, "b", 1, v, n, 0), STORE_OK);
    ck_assert_uint_ge(mallinfo2().hblkhd - before, n);
    ck_assert_int_eq(fx_del("b"), STORE_OK);
    free(v);
#endif
}
END_TEST

START_TEST(test_store_rejects_invalid_config)
{
    struct store_config bad[] = {
        {3, 10, 100, 100, 1},
        {0, 10, 100, 100, 1},
        {2048, 10, 100, 100, 1},
        {4, 0, 100, 100, 1},
        {4, 10, 100, 101, 1},
        {4, 10, 100, 100, 0},
        {4, 10, 1ull << 33, 1ull << 32, 1}, /* over what an entry records */
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_ptr_null(store_create(&bad[i], &clock_monotonic));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");

    tcase_add_checked_fixture(tc, big_store, fx_teardown);
    tcase_add_test(tc, test_store_set_get_roundtrip_binary);
    tcase_add_test(tc, test_store_keys_differ_after_nul);
    tcase_add_test(tc, test_store_key_length_in_code_points);
    tcase_add_test(tc, test_store_bad_keys_not_counted);
    tcase_add_test(tc, test_store_counters_follow_calls);
    tcase_add_test(tc, test_store_hit_rate_zero_without_gets);
    tcase_add_test(tc, test_store_memory_accounting_exact_and_back_to_zero);
    tcase_add_test(tc, test_store_value_of_max_value_bytes_and_one_more);
    tcase_add_test(tc, test_store_value_bigger_than_budget_evicts_nothing);
    tcase_add_test(tc, test_store_item_limit_evicts_lru);
    tcase_add_test(tc, test_store_overwrite_at_item_limit_evicts_nothing);
    tcase_add_test(tc, test_store_memory_limit_evicts_until_fit);
    tcase_add_test(tc, test_store_same_size_overwrite_at_full_memory);
    tcase_add_test(tc, test_store_overwrite_never_evicts_own_key);
    tcase_add_test(tc, test_store_global_lru_order_across_shards);
    tcase_add_test(tc, test_store_eviction_when_writing_shard_is_empty);
    tcase_add_test(tc, test_store_large_value_roundtrip);
    tcase_add_test(tc, test_store_large_entries_stay_mmapped);
    tcase_add_test(tc, test_store_rejects_invalid_config);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return check_run(s);
}
