/*
 * check_store_cond.c: the writes that depend on what a key holds
 * (set-if-absent, compare-and-set, increment, touch) and the flush of a
 * keyspace, on a fake clock.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_run.h"
#include "shard.h"
#include "store_fixture.h"

#define MIB (1024u * 1024u)

static void
setup(void)
{
    fx_create(8, 100000, 64 * MIB, MIB);
}

/* A store whose item limit is n, for LRU order checks. */
static void
small_store(uint64_t n)
{
    fx_teardown();
    fx_create(16, n, 64 * MIB, MIB);
}

START_TEST(test_store_add_stores_when_missing)
{
    ck_assert_int_eq(fx_add("", "k", "v1", 0), STORE_OK);
    ck_assert(fx_has("k", "v1"));
    ck_assert_uint_eq(fx_stats().sets, 1);
    ck_assert_uint_eq(fx_stats().size, 1);
}
END_TEST

START_TEST(test_store_add_exists_leaves_entry_untouched)
{
    small_store(2);
    ck_assert_int_eq(fx_set("a", "old", 2), STORE_OK);
    ck_assert_int_eq(fx_set("b", "v", 0), STORE_OK);
    ck_assert_int_eq(fx_add("", "a", "new", 0), STORE_EXISTS);
    ck_assert_uint_eq(fx_stats().sets, 3);
    /* a stays the LRU entry: the next new key evicts it, not b */
    ck_assert_int_eq(fx_set("c", "v", 0), STORE_OK);
    ck_assert_int_eq(fx_get("a"), STORE_NOT_FOUND);
    ck_assert(fx_has("b", "v"));
}
END_TEST

START_TEST(test_store_add_exists_keeps_value_and_ttl)
{
    ck_assert_int_eq(fx_set("a", "old", 2), STORE_OK);
    ck_assert_int_eq(fx_add("", "a", "new", 0), STORE_EXISTS);
    ck_assert(fx_has("a", "old"));
    fx_now_ms += 2001;
    ck_assert_int_eq(fx_get("a"), STORE_NOT_FOUND);
}
END_TEST

START_TEST(test_store_add_after_expiry_stores)
{
    ck_assert_int_eq(fx_set("a", "old", 1), STORE_OK);
    fx_now_ms += 1001;
    ck_assert_int_eq(fx_add("", "a", "new", 0), STORE_OK);
    ck_assert(fx_has("a", "new"));
    ck_assert_uint_eq(fx_stats().expired_removals, 1);
    ck_assert_uint_eq(fx_stats().size, 1);
    ck_assert_uint_eq(fx_stats().memory_usage_bytes, fx_bytes("a", "new", 0));
}
END_TEST

START_TEST(test_store_add_at_item_limit_evicts_lru)
{
    small_store(2);
    fx_set("a", "1", 0);
    fx_set("b", "2", 0);
    ck_assert_int_eq(fx_add("", "c", "3", 0), STORE_OK);
    ck_assert_int_eq(fx_get("a"), STORE_NOT_FOUND);
    ck_assert(fx_has("b", "2") && fx_has("c", "3"));
    ck_assert_uint_eq(fx_stats().lru_evictions, 1);
}
END_TEST

START_TEST(test_store_add_too_large_counts_oversize)
{
    char *v = calloc(1, MIB + 1);

    ck_assert_int_eq(store_set_if_absent(fx, NULL, 0, "k", 1, v, MIB + 1, 0),
                     STORE_TOO_LARGE);
    ck_assert_int_eq(fx_get("k"), STORE_NOT_FOUND);
    ck_assert_uint_eq(fx_stats().rejected_oversize, 1);
    ck_assert_uint_eq(fx_stats().sets, 1);
    free(v);
}
END_TEST

START_TEST(test_store_cas_missing_is_not_found)
{
    ck_assert_int_eq(fx_cas("", "k", "x", "y", 0), STORE_NOT_FOUND);
    ck_assert_int_eq(fx_get("k"), STORE_NOT_FOUND);
    ck_assert_uint_eq(fx_stats().sets, 1);
    ck_assert_uint_eq(fx_stats().size, 0);
}
END_TEST

START_TEST(test_store_cas_expired_is_not_found)
{
    fx_set("k", "x", 1);
    fx_now_ms += 1001;
    ck_assert_int_eq(fx_cas("", "k", "x", "y", 0), STORE_NOT_FOUND);
    ck_assert_uint_eq(fx_stats().expired_removals, 1);
    ck_assert_uint_eq(fx_stats().size, 0);
}
END_TEST

START_TEST(test_store_cas_mismatch_leaves_value)
{
    static const char *wrong[] = {"abd", "ab", "abcd", "", "ABC"};
    size_t i;

    fx_set("k", "abc", 0);
    for (i = 0; i < TC_ARRAY_LEN(wrong); i++)
        ck_assert_msg(fx_cas("", "k", wrong[i], "new", 0) == STORE_MISMATCH,
                      "expected '%s' matched", wrong[i]);
    ck_assert(fx_has("k", "abc"));
    ck_assert_uint_eq(fx_stats().sets, 1 + TC_ARRAY_LEN(wrong));
}
END_TEST

START_TEST(test_store_cas_match_replaces_value_and_ttl)
{
    static const char bin[] = {'a', 0, 'b'};

    fx_set("k", "abc", 0);
    ck_assert_int_eq(fx_cas("", "k", "abc", "new", 1), STORE_OK);
    ck_assert(fx_has("k", "new"));
    ck_assert_uint_eq(fx_stats().memory_usage_bytes, fx_bytes("k", "new", 1));
    fx_now_ms += 1001;
    ck_assert_int_eq(fx_get("k"), STORE_NOT_FOUND);
    /* values with NUL bytes compare in full */
    store_set(fx, NULL, 0, "b", 1, bin, sizeof bin, 0);
    ck_assert_int_eq(
        store_compare_and_set(fx, NULL, 0, "b", 1, "a", 1, "x", 1, 0),
        STORE_MISMATCH);
    ck_assert_int_eq(
        store_compare_and_set(fx, NULL, 0, "b", 1, bin, sizeof bin, "x", 1, 0),
        STORE_OK);
    ck_assert(fx_has("b", "x"));
    /* an empty value matches an empty expected value, passed as NULL */
    fx_set("e", "", 0);
    ck_assert_int_eq(
        store_compare_and_set(fx, NULL, 0, "e", 1, NULL, 0, "y", 1, 0),
        STORE_OK);
    ck_assert(fx_has("e", "y"));
    ck_assert_int_eq(
        store_compare_and_set(fx, NULL, 0, "e", 1, NULL, 0, NULL, 0, 0),
        STORE_MISMATCH);
}
END_TEST

START_TEST(test_store_cas_large_values_compare_every_byte)
{
    size_t n = 64 * 1024;
    char *a = malloc(n), *b = malloc(n);

    memset(a, 'a', n);
    memcpy(b, a, n);
    b[n - 1] = 'b';
    ck_assert_int_eq(store_set(fx, NULL, 0, "k", 1, a, n, 0), STORE_OK);
    ck_assert_int_eq(
        store_compare_and_set(fx, NULL, 0, "k", 1, b, n, "x", 1, 0),
        STORE_MISMATCH);
    ck_assert_int_eq(fx_get("k"), STORE_OK);
    ck_assert_uint_eq(fx_out.len, n);
    ck_assert_int_eq(store_compare_and_set(fx, NULL, 0, "k", 1, a, n, b, n, 0),
                     STORE_OK);
    ck_assert_int_eq(fx_get("k"), STORE_OK);
    ck_assert_mem_eq(fx_out.data, b, n);
    ck_assert_uint_eq(fx_stats().memory_usage_bytes,
                      entry_accounted(1, n, entry_flags_for(0, n, 0)));
    free(a);
    free(b);
}
END_TEST

START_TEST(test_store_cas_too_large_keeps_old_value)
{
    char *v = calloc(1, MIB + 1);

    fx_set("k", "abc", 0);
    ck_assert_int_eq(
        store_compare_and_set(fx, NULL, 0, "k", 1, "abc", 3, v, MIB + 1, 0),
        STORE_TOO_LARGE);
    ck_assert(fx_has("k", "abc"));
    ck_assert_uint_eq(fx_stats().rejected_oversize, 1);
    free(v);
}
END_TEST

START_TEST(test_store_cas_makes_entry_most_recent)
{
    small_store(2);
    fx_set("a", "1", 0);
    fx_set("b", "2", 0);
    ck_assert_int_eq(fx_cas("", "a", "1", "3", 0), STORE_OK);
    fx_set("c", "4", 0);
    ck_assert_int_eq(fx_get("b"), STORE_NOT_FOUND);
    ck_assert(fx_has("a", "3"));
}
END_TEST

START_TEST(test_store_incr_creates_missing_key)
{
    ck_assert_int_eq(fx_incr("", "n", -42, 0), STORE_OK);
    ck_assert_int_eq(fx_incr_value, -42);
    ck_assert(fx_has("n", "-42"));
    ck_assert_int_eq(fx_incr("", "z", 0, 0), STORE_OK);
    ck_assert(fx_has("z", "0"));
    ck_assert_int_eq(fx_incr("", "min", INT64_MIN, 0), STORE_OK);
    ck_assert(fx_has("min", "-9223372036854775808"));
    ck_assert_uint_eq(fx_stats().sets, 3);
    ck_assert_uint_eq(fx_stats().memory_usage_bytes,
                      fx_bytes("n", "-42", 0) + fx_bytes("z", "0", 0) +
                          fx_bytes("min", "-9223372036854775808", 0));
}
END_TEST

START_TEST(test_store_incr_adds_and_rewrites_text)
{
    static const struct {
        const char *from;
        int64_t delta;
        const char *to;
    } steps[] = {
        {"10", 5, "15"},
        {"99", 1, "100"},
        {"100", -1, "99"},
        {"5", -7, "-2"},
        {"-1", 1, "0"},
        {"0", -1, "-1"},
        {"-10", 10, "0"},
        {"7", 0, "7"},
        {"-99", -1, "-100"},
        {"9223372036854775806", 1, "9223372036854775807"},
        {"-9223372036854775807", -1, "-9223372036854775808"},
    };
    size_t i;

    for (i = 0; i < TC_ARRAY_LEN(steps); i++) {
        fx_set("n", steps[i].from, 0);
        ck_assert_int_eq(fx_incr("", "n", steps[i].delta, 0), STORE_OK);
        ck_assert_msg(fx_has("n", steps[i].to), "%s %+lld", steps[i].from,
                      (long long)steps[i].delta);
        ck_assert_uint_eq(fx_stats().memory_usage_bytes,
                          fx_bytes("n", steps[i].to, 0));
    }
}
END_TEST

START_TEST(test_store_incr_rejects_non_numbers)
{
    static const char *bad[] = {
        "",
        " 1",
        "1 ",
        "+1",
        "01",
        "-0",
        "-01",
        "1a",
        "a",
        "-",
        "--1",
        "0x1",
        "1.0",
        "1e3",
        "12345678901234567890",
        "9223372036854775808",
        "-9223372036854775809",
        "00000000000000000001",
    };
    size_t i;

    for (i = 0; i < TC_ARRAY_LEN(bad); i++) {
        fx_set("n", bad[i], 0);
        ck_assert_msg(fx_incr("", "n", 1, 0) == STORE_NOT_NUMBER,
                      "'%s' taken for a number", bad[i]);
        ck_assert(fx_has("n", bad[i]));
    }
    store_set(fx, NULL, 0, "nul", 3, "1\0", 2, 0);
    ck_assert_int_eq(
        store_increment(fx, NULL, 0, "nul", 3, 1, 0, &fx_incr_value),
        STORE_NOT_NUMBER);
}
END_TEST

START_TEST(test_store_incr_overflow_both_ways)
{
    fx_set("max", "9223372036854775807", 0);
    ck_assert_int_eq(fx_incr("", "max", 1, 0), STORE_OUT_OF_RANGE);
    ck_assert(fx_has("max", "9223372036854775807"));
    ck_assert_int_eq(fx_incr("", "max", INT64_MIN, 0), STORE_OK);
    ck_assert(fx_has("max", "-1"));
    fx_set("min", "-9223372036854775808", 0);
    ck_assert_int_eq(fx_incr("", "min", -1, 0), STORE_OUT_OF_RANGE);
    ck_assert(fx_has("min", "-9223372036854775808"));
    ck_assert_int_eq(fx_incr("", "min", INT64_MAX, 0), STORE_OK);
    ck_assert(fx_has("min", "-1"));
}
END_TEST

START_TEST(test_store_incr_ttl_only_on_create)
{
    ck_assert_int_eq(fx_incr("", "c", 1, 2), STORE_OK);
    ck_assert_int_eq(fx_incr("", "c", 1, 100), STORE_OK); /* same length */
    ck_assert_int_eq(fx_incr("", "c", 98, 0), STORE_OK);  /* "100": grows */
    ck_assert(fx_has("c", "100"));
    ck_assert_uint_eq(fx_stats().memory_usage_bytes, fx_bytes("c", "100", 2));
    fx_now_ms += 2001;
    ck_assert_int_eq(fx_get("c"), STORE_NOT_FOUND);
    /* a key without TTL keeps none */
    fx_set("p", "9", 0);
    ck_assert_int_eq(fx_incr("", "p", 1, 1), STORE_OK);
    fx_now_ms += 5000;
    ck_assert(fx_has("p", "10"));
    /* an expired counter starts again from delta, with the new ttl */
    ck_assert_int_eq(fx_incr("", "c", 5, 0), STORE_OK);
    ck_assert_int_eq(fx_incr_value, 5);
    fx_now_ms += 100000;
    ck_assert(fx_has("c", "5"));
}
END_TEST

START_TEST(test_store_incr_too_large_keeps_value)
{
    fx_teardown();
    fx_create(4, 100, MIB, 2);
    ck_assert_int_eq(fx_incr("", "n", 100, 0), STORE_TOO_LARGE);
    ck_assert_int_eq(fx_get("n"), STORE_NOT_FOUND);
    ck_assert_int_eq(fx_incr("", "n", 98, 0), STORE_OK);
    ck_assert_int_eq(fx_incr("", "n", 1, 0), STORE_OK);
    ck_assert_int_eq(fx_incr("", "n", 1, 0), STORE_TOO_LARGE);
    ck_assert(fx_has("n", "99"));
    ck_assert_uint_eq(fx_stats().rejected_oversize, 2);
    ck_assert_uint_eq(fx_stats().sets, 4);
}
END_TEST

START_TEST(test_store_touch_missing_and_expired_not_found)
{
    struct shard_stats s;

    ck_assert_int_eq(fx_touch("", "k", 10), STORE_NOT_FOUND);
    fx_set("e", "v", 1);
    fx_now_ms += 1001;
    ck_assert_int_eq(fx_touch("", "e", 10), STORE_NOT_FOUND);
    ck_assert_int_eq(fx_get("e"), STORE_NOT_FOUND);
    s = fx_stats();
    ck_assert_uint_eq(s.touch_misses, 2);
    ck_assert_uint_eq(s.touch_hits, 0);
    ck_assert_uint_eq(s.expired_removals, 1);
    ck_assert_uint_eq(s.gets, 1);
    ck_assert_uint_eq(s.sets, 1);
}
END_TEST

START_TEST(test_store_touch_sets_new_ttl_keeps_value)
{
    fx_set("longer", "v1", 1);
    fx_set("forever", "v2", 1);
    fx_set("gains", "v3", 0);
    ck_assert_int_eq(fx_touch("", "longer", 10), STORE_OK);
    ck_assert_int_eq(fx_touch("", "forever", 0), STORE_OK);
    ck_assert_int_eq(fx_touch("", "gains", 2), STORE_OK);
    ck_assert_uint_eq(fx_stats().touch_hits, 3);
    /* a key that gains a TTL grows by the expiry field */
    ck_assert_uint_eq(fx_stats().memory_usage_bytes,
                      fx_bytes("longer", "v1", 1) +
                          fx_bytes("forever", "v2", 1) +
                          fx_bytes("gains", "v3", 1));
    fx_now_ms += 1001;
    ck_assert(fx_has("longer", "v1") && fx_has("forever", "v2") &&
              fx_has("gains", "v3"));
    fx_now_ms += 1000;
    ck_assert_int_eq(fx_get("gains"), STORE_NOT_FOUND);
    fx_now_ms += 8000;
    ck_assert_int_eq(fx_get("longer"), STORE_NOT_FOUND);
    fx_now_ms += 1000ULL * 3600 * 24 * 365;
    ck_assert(fx_has("forever", "v2"));
}
END_TEST

START_TEST(test_store_touch_large_value_gains_ttl)
{
    size_t n = 100 * 1024, i;
    unsigned char *v = malloc(n);

    for (i = 0; i < n; i++)
        v[i] = (unsigned char)(i * 7);
    ck_assert_int_eq(store_set(fx, "ns", 2, "big", 3, v, n, 0), STORE_OK);
    ck_assert_int_eq(store_touch(fx, "ns", 2, "big", 3, 1), STORE_OK);
    ck_assert_int_eq(store_get(fx, "ns", 2, "big", 3, &fx_out), STORE_OK);
    ck_assert_uint_eq(fx_out.len, n);
    ck_assert_mem_eq(fx_out.data, v, n);
    ck_assert_uint_eq(fx_stats().memory_usage_bytes,
                      entry_accounted(5, n, entry_flags_for(2, n, 1)));
    fx_now_ms += 1001;
    ck_assert_int_eq(store_get(fx, "ns", 2, "big", 3, &fx_out),
                     STORE_NOT_FOUND);
    free(v);
}
END_TEST

/* A value that fits the memory limit only without an expiry field: a
 * Touch giving it a TTL could never be stored, so it is refused before
 * anything is evicted for it, as a Set of that size would be. */
START_TEST(test_store_touch_that_never_fits_evicts_nothing)
{
    uint64_t limit = MIB, without, with;
    size_t n;
    unsigned char *v;
    char k[8];
    int i;

    fx_teardown();
    fx_create(1, 1000, limit, limit);
    for (n = limit - 8192;; n++) {
        without = entry_accounted(3, n, entry_flags_for(0, n, 0));
        with = entry_accounted(3, n, entry_flags_for(0, n, 60));
        if (without + 1024 <= limit && with > limit)
            break;
    }
    v = calloc(1, n);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(store_set(fx, NULL, 0, "big", 3, v, n, 0), STORE_OK);
    for (i = 0; i < 4; i++) {
        snprintf(k, sizeof k, "s%d", i);
        ck_assert_int_eq(fx_set(k, "x", 0), STORE_OK);
    }
    ck_assert_int_eq(fx_touch("", "big", 60), STORE_NO_SPACE);
    ck_assert_uint_eq(fx_stats().size, 5);
    ck_assert_uint_eq(fx_stats().lru_evictions, 0);
    for (i = 0; i < 4; i++) {
        snprintf(k, sizeof k, "s%d", i);
        ck_assert(fx_has(k, "x"));
    }
    ck_assert_int_eq(store_get(fx, NULL, 0, "big", 3, &fx_out), STORE_OK);
    ck_assert_uint_eq(fx_out.len, n);
    fx_now_ms += 3600 * 1000; /* the TTL was not applied */
    ck_assert_int_eq(store_get(fx, NULL, 0, "big", 3, &fx_out), STORE_OK);
    free(v);
}
END_TEST

START_TEST(test_store_touch_makes_key_most_recent)
{
    small_store(3);
    fx_set("a", "1", 0);
    fx_set("b", "2", 1);
    fx_set("c", "3", 0);
    ck_assert_int_eq(fx_touch("", "a", 0), STORE_OK); /* in place */
    ck_assert_int_eq(fx_touch("", "b", 50), STORE_OK);
    /* c is now the oldest, then a, then b */
    fx_set("d", "4", 0);
    ck_assert_int_eq(fx_get("c"), STORE_NOT_FOUND);
    fx_set("e", "5", 0);
    ck_assert_int_eq(fx_get("a"), STORE_NOT_FOUND);
    ck_assert(fx_has("b", "2"));
    ck_assert_uint_eq(fx_stats().lru_evictions, 2);
}
END_TEST

START_TEST(test_store_touch_gaining_ttl_moves_to_head)
{
    small_store(2);
    fx_set("a", "1", 0);
    fx_set("b", "2", 0);
    ck_assert_int_eq(fx_touch("", "a", 100), STORE_OK); /* copied */
    fx_set("c", "3", 0);
    ck_assert_int_eq(fx_get("b"), STORE_NOT_FOUND);
    ck_assert(fx_has("a", "1"));
}
END_TEST

START_TEST(test_store_flush_one_namespace_only)
{
    struct shard_stats s;

    fx_set("k", "shared", 0);
    fx_nset("a", "k", "in a", 0);
    fx_nset("a", "j", "in a", 0);
    fx_nset("b", "k", "in b", 0);
    ck_assert_uint_eq(fx_flush("a"), 2);
    ck_assert_int_eq(fx_nget("a", "k"), STORE_NOT_FOUND);
    ck_assert_int_eq(fx_nget("a", "j"), STORE_NOT_FOUND);
    ck_assert(fx_has("k", "shared"));
    ck_assert(fx_nhas("b", "k", "in b"));
    ck_assert_uint_eq(fx_flush("a"), 0);
    ck_assert_uint_eq(fx_flush(""), 1);
    ck_assert_int_eq(fx_get("k"), STORE_NOT_FOUND);
    ck_assert(fx_nhas("b", "k", "in b"));
    s = fx_stats();
    ck_assert_uint_eq(s.flushed, 3);
    ck_assert_uint_eq(s.lru_evictions + s.expired_removals, 0);
    ck_assert_uint_eq(s.size, 1);
    ck_assert_uint_eq(s.memory_usage_bytes,
                      entry_accounted(2, 4, entry_flags_for(1, 4, 0)));
}
END_TEST

START_TEST(test_store_flush_counts_expired_apart)
{
    fx_nset("a", "live", "v", 0);
    fx_nset("a", "dead", "v", 1);
    fx_now_ms += 1001;
    ck_assert_uint_eq(fx_flush("a"), 1);
    ck_assert_uint_eq(fx_stats().flushed, 1);
    ck_assert_uint_eq(fx_stats().expired_removals, 1);
    ck_assert_uint_eq(fx_stats().size, 0);
}
END_TEST

START_TEST(test_store_flush_returns_memory_to_zero)
{
    uint64_t items, bytes;
    char k[16];
    int i;

    for (i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        fx_set(k, "value", i % 3 == 0 ? 5 : 0);
        fx_nset("ns", k, "value", 0);
        store_set(fx, "n\0s", 3, k, strlen(k), "value", 5, 0);
    }
    ck_assert_uint_eq(fx_flush(""), 1000);
    ck_assert_uint_eq(fx_flush("ns"), 1000);
    ck_assert_uint_eq(fx_stats().size, 1000);
    ck_assert_uint_eq(store_flush(fx, "n\0s", 3, &items), STORE_OK);
    ck_assert_uint_eq(items, 1000);
    ck_assert_uint_eq(fx_stats().memory_usage_bytes, 0);
    store_usage(fx, &items, &bytes);
    ck_assert_uint_eq(items + bytes, 0);
}
END_TEST

START_TEST(test_store_flush_big_store)
{
    enum { N = 100000 };
    char k[16];
    int i;

    fx_teardown();
    fx_create(1, N + 1, 1ULL << 30, MIB);
    for (i = 0; i < N; i++) {
        snprintf(k, sizeof k, "k%d", i);
        ck_assert_int_eq(fx_nset("big", k, "v", 0), STORE_OK);
    }
    fx_set("other", "v", 0);
    ck_assert_uint_eq(fx_flush("big"), N);
    ck_assert_uint_eq(fx_stats().size, 1);
    ck_assert(fx_has("other", "v"));
}
END_TEST

static void
put_all(struct entry *list)
{
    struct entry *next;

    for (; list != NULL; list = next) {
        next = entry_next(list);
        entry_put(list);
    }
}

/* One shard of 100k entries, flushed slice by slice: every slice covers
 * SHARD_SLICE_BUCKETS buckets, removes a bounded share, and returns with
 * the lock free, so other calls on the shard wait for one slice at most. */
START_TEST(test_store_flush_slices_are_bounded)
{
    enum { N = 100000 };
    struct entry_name n = {"ns", 2, NULL, 0};
    struct shard_sweep sw;
    struct hash_key hk;
    struct shard sh;
    uint64_t total = 0, slices = 0, most = 0;
    size_t cursor = 0, buckets;
    struct entry *e;
    char k[16];
    int i;

    hash_key_random(&hk);
    ck_assert_int_eq(shard_init(&sh, &hk), 0);
    for (i = 0; i < N; i++) {
        n.key = k;
        n.klen = (size_t)snprintf(k, sizeof k, "k%d", i);
        e = entry_create(&n, "v", 1, entry_flags_for(2, 1, 0), 0, 0);
        shard_link_locked(&sh, e, htable_hash(&sh.table, &n));
    }
    ck_assert(!htable_rehashing(&sh.table));
    buckets = sh.table.mask[0] + 1;
    do {
        shard_flush_slice(&sh, "ns", 2, 0, &cursor, &sw);
        ck_assert_int_eq(pthread_mutex_trylock(&sh.lock), 0);
        shard_unlock(&sh);
        put_all(sw.victims);
        total += sw.live;
        most = sw.live > most ? sw.live : most;
        slices++;
    } while (!sw.pass_done);
    ck_assert_uint_eq(total, N);
    ck_assert_uint_eq(slices, buckets / SHARD_SLICE_BUCKETS);
    ck_assert_uint_le(most, 4 * SHARD_SLICE_BUCKETS);
    ck_assert_uint_eq(sh.st.size, 0);
    ck_assert_uint_eq(sh.st.memory_usage_bytes, 0);
    ck_assert_uint_eq(sh.st.flushed, N);
    shard_fini(&sh);
}
END_TEST

START_TEST(test_store_new_calls_reject_bad_names)
{
    char ns[STORE_MAX_NS_BYTES + 1];
    uint64_t removed = 7;
    int64_t v;

    memset(ns, 'n', sizeof ns);
    ck_assert_int_eq(fx_add("", "", "v", 0), STORE_BAD_KEY);
    ck_assert_int_eq(fx_cas("", "\xff", "v", "w", 0), STORE_BAD_KEY);
    ck_assert_int_eq(fx_incr("", "", 1, 0), STORE_BAD_KEY);
    ck_assert_int_eq(fx_touch("", "\xc0\x80", 1), STORE_BAD_KEY);
    ck_assert_int_eq(store_increment(fx, ns, sizeof ns, "k", 1, 1, 0, &v),
                     STORE_BAD_NAMESPACE);
    ck_assert_int_eq(store_touch(fx, ns, sizeof ns, "k", 1, 1),
                     STORE_BAD_NAMESPACE);
    ck_assert_int_eq(store_flush(fx, ns, sizeof ns, &removed),
                     STORE_BAD_NAMESPACE);
    ck_assert_uint_eq(removed, 0);
    ck_assert_uint_eq(fx_stats().sets + fx_stats().touch_misses, 0);
}
END_TEST

START_TEST(test_store_status_words)
{
    ck_assert_str_eq(store_status_str(STORE_EXISTS), "exists");
    ck_assert_str_eq(store_status_str(STORE_MISMATCH), "value mismatch");
    ck_assert_str_eq(store_status_str(STORE_NOT_NUMBER), "not a number");
    ck_assert_str_eq(store_status_str(STORE_OUT_OF_RANGE), "out of range");
    ck_assert_str_eq(store_status_str(STORE_BAD_NAMESPACE),
                     "invalid namespace");
}
END_TEST

static TCase *
tcase(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return tc;
}

int
main(void)
{
    Suite *s = suite_create("store_cond");
    TCase *tc;

    tc = tcase(s, "set_if_absent");
    tcase_add_test(tc, test_store_add_stores_when_missing);
    tcase_add_test(tc, test_store_add_exists_leaves_entry_untouched);
    tcase_add_test(tc, test_store_add_exists_keeps_value_and_ttl);
    tcase_add_test(tc, test_store_add_after_expiry_stores);
    tcase_add_test(tc, test_store_add_at_item_limit_evicts_lru);
    tcase_add_test(tc, test_store_add_too_large_counts_oversize);
    tc = tcase(s, "compare_and_set");
    tcase_add_test(tc, test_store_cas_missing_is_not_found);
    tcase_add_test(tc, test_store_cas_expired_is_not_found);
    tcase_add_test(tc, test_store_cas_mismatch_leaves_value);
    tcase_add_test(tc, test_store_cas_match_replaces_value_and_ttl);
    tcase_add_test(tc, test_store_cas_large_values_compare_every_byte);
    tcase_add_test(tc, test_store_cas_too_large_keeps_old_value);
    tcase_add_test(tc, test_store_cas_makes_entry_most_recent);
    tc = tcase(s, "increment");
    tcase_add_test(tc, test_store_incr_creates_missing_key);
    tcase_add_test(tc, test_store_incr_adds_and_rewrites_text);
    tcase_add_test(tc, test_store_incr_rejects_non_numbers);
    tcase_add_test(tc, test_store_incr_overflow_both_ways);
    tcase_add_test(tc, test_store_incr_ttl_only_on_create);
    tcase_add_test(tc, test_store_incr_too_large_keeps_value);
    tc = tcase(s, "touch");
    tcase_add_test(tc, test_store_touch_missing_and_expired_not_found);
    tcase_add_test(tc, test_store_touch_sets_new_ttl_keeps_value);
    tcase_add_test(tc, test_store_touch_large_value_gains_ttl);
    tcase_add_test(tc, test_store_touch_that_never_fits_evicts_nothing);
    tcase_add_test(tc, test_store_touch_makes_key_most_recent);
    tcase_add_test(tc, test_store_touch_gaining_ttl_moves_to_head);
    tc = tcase(s, "flush");
    tcase_add_test(tc, test_store_flush_one_namespace_only);
    tcase_add_test(tc, test_store_flush_counts_expired_apart);
    tcase_add_test(tc, test_store_flush_returns_memory_to_zero);
    tcase_add_test(tc, test_store_flush_big_store);
    tcase_add_test(tc, test_store_flush_slices_are_bounded);
    tc = tcase(s, "names");
    tcase_add_test(tc, test_store_new_calls_reject_bad_names);
    tcase_add_test(tc, test_store_status_words);
    return check_run(s);
}
