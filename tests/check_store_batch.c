/*
 * check_store_batch.c: store_get_batch (store.h) on a fake clock: results
 * in request order, duplicates, misses, bad keys and namespaces beside
 * good keys, expiry, large values, counters, and the recency it leaves.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check_run.h"
#include "store_fixture.h"

#define MIB (1024u * 1024u)

static void
small_store(void)
{
    fx_create(16, 1000, 100 * MIB, 100 * MIB);
}

/* Fills keys[0..n) from the C strings names[0..n). */
static void
fill(struct store_batch_get *keys, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        keys[i].key = names[i];
        keys[i].klen = strlen(names[i]);
    }
}

/* True when keys[i] was found holding the C string val. */
static bool
got(const struct store_batch_get *k, const char *val)
{
    return k->status == STORE_OK && k->vlen == strlen(val) &&
           memcmp(fx_out.data + k->off, val, k->vlen) == 0;
}

START_TEST(test_batch_order_duplicates_misses)
{
    static const char *const names[] = {"b", "a", "zz", "b", "c", "a"};
    struct store_batch_get keys[6];
    struct shard_stats s;

    fx_set("a", "1", 0);
    fx_set("b", "22", 0);
    fx_set("c", "", 0);
    fill(keys, names, 6);
    store_get_batch(fx, NULL, 0, keys, 6, UINT64_MAX, &fx_out);
    ck_assert(got(&keys[0], "22"));
    ck_assert(got(&keys[1], "1"));
    ck_assert_int_eq(keys[2].status, STORE_NOT_FOUND);
    ck_assert(got(&keys[3], "22"));
    ck_assert(got(&keys[4], ""));
    ck_assert(got(&keys[5], "1"));
    s = fx_stats();
    ck_assert_uint_eq(s.gets, 6);
    ck_assert_uint_eq(s.hits, 5);
    ck_assert_uint_eq(s.misses, 1);
}
END_TEST

START_TEST(test_batch_keeps_earlier_contents_of_out)
{
    static const char *const names[] = {"k"};
    struct store_batch_get keys[1];

    fx_set("k", "value", 0);
    buf_set(&fx_out, "prefix", 6);
    fill(keys, names, 1);
    store_get_batch(fx, NULL, 0, keys, 1, UINT64_MAX, &fx_out);
    ck_assert_uint_eq(keys[0].off, 6);
    ck_assert(memcmp(fx_out.data, "prefix", 6) == 0);
    ck_assert(got(&keys[0], "value"));
}
END_TEST

START_TEST(test_batch_bad_keys_beside_good_ones_not_counted)
{
    struct store_batch_get keys[4] = {
        {.key = "ok", .klen = 2},
        {.key = "", .klen = 0},
        {.key = "\xff", .klen = 1},
        {.key = "a\0b", .klen = 3},
    };

    fx_set("ok", "v", 0);
    store_set(fx, NULL, 0, "a\0b", 3, "nul", 3, 0);
    store_get_batch(fx, NULL, 0, keys, 4, UINT64_MAX, &fx_out);
    ck_assert(got(&keys[0], "v"));
    ck_assert_int_eq(keys[1].status, STORE_BAD_KEY);
    ck_assert_int_eq(keys[2].status, STORE_BAD_KEY);
    ck_assert(got(&keys[3], "nul"));
    ck_assert_uint_eq(fx_stats().gets, 2);
}
END_TEST

START_TEST(test_batch_namespace_is_its_own_keyspace)
{
    static const char *const names[] = {"k", "only"};
    struct store_batch_get keys[2];
    char ns[STORE_MAX_NS_BYTES + 1];

    fx_set("k", "shared", 0);
    fx_nset("ns", "k", "in ns", 0);
    fx_set("only", "shared only", 0);
    fill(keys, names, 2);
    store_get_batch(fx, "ns", 2, keys, 2, UINT64_MAX, &fx_out);
    ck_assert(got(&keys[0], "in ns"));
    ck_assert_int_eq(keys[1].status, STORE_NOT_FOUND);
    memset(ns, 'n', sizeof ns);
    store_get_batch(fx, ns, sizeof ns, keys, 2, UINT64_MAX, &fx_out);
    ck_assert_int_eq(keys[0].status, STORE_BAD_NAMESPACE);
    ck_assert_int_eq(keys[1].status, STORE_BAD_NAMESPACE);
}
END_TEST

START_TEST(test_batch_expired_is_missing_and_removed)
{
    static const char *const names[] = {"t", "p"};
    struct store_batch_get keys[2];
    struct shard_stats s;

    fx_set("t", "ttl", 1);
    fx_set("p", "kept", 0);
    fx_advance_ms(1001);
    fill(keys, names, 2);
    store_get_batch(fx, NULL, 0, keys, 2, UINT64_MAX, &fx_out);
    ck_assert_int_eq(keys[0].status, STORE_NOT_FOUND);
    ck_assert(got(&keys[1], "kept"));
    s = fx_stats();
    ck_assert_uint_eq(s.expired_removals, 1);
    ck_assert_uint_eq(s.size, 1);
}
END_TEST

/* Every tenth value of the next test is large (ENTRY_SHARED). */
static size_t
value_len(int i)
{
    return i % 10 == 0 ? 2 * ENTRY_SHARED_MIN + (size_t)i
                       : 100 + (size_t)(i % 7);
}

/* Many values, small and large, into an out that starts empty: it grows
 * between lock holds and every value comes back whole. */
START_TEST(test_batch_grows_out_for_small_and_large_values)
{
    enum { N = 300 };
    static struct store_batch_get keys[N];
    static char names[N][16];
    char *val = malloc(3 * ENTRY_SHARED_MIN);
    size_t len;
    int i;

    for (i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "key%d", i);
        len = value_len(i);
        memset(val, 'a' + i % 26, len);
        ck_assert_int_eq(
            store_set(fx, NULL, 0, names[i], strlen(names[i]), val, len, 0),
            STORE_OK);
        keys[i].key = names[i];
        keys[i].klen = strlen(names[i]);
    }
    buf_fini(&fx_out);
    store_get_batch(fx, NULL, 0, keys, N, UINT64_MAX, &fx_out);
    for (i = 0; i < N; i++) {
        len = value_len(i);
        ck_assert_int_eq(keys[i].status, STORE_OK);
        ck_assert_uint_eq(keys[i].vlen, len);
        memset(val, 'a' + i % 26, len);
        ck_assert_msg(memcmp(fx_out.data + keys[i].off, val, len) == 0,
                      "%s differs", names[i]);
    }
    free(val);
}
END_TEST

/* A hit makes the key most recently used, as a Get does: at the item
 * limit, the next writes evict the keys the batch did not name. */
START_TEST(test_batch_hits_are_made_recently_used)
{
    enum { KEYS = 40 };
    struct store_batch_get keys[KEYS / 2];
    char names[KEYS][16], k[16];
    int i;

    fx_teardown();
    fx_create(16, KEYS, 100 * MIB, MIB);
    for (i = 0; i < KEYS; i++) {
        snprintf(names[i], sizeof names[i], "key%d", i);
        fx_set(names[i], "v", 0);
    }
    for (i = 0; i < KEYS / 2; i++) { /* the even keys */
        keys[i].key = names[2 * i];
        keys[i].klen = strlen(names[2 * i]);
    }
    store_get_batch(fx, NULL, 0, keys, KEYS / 2, UINT64_MAX, &fx_out);
    for (i = 0; i < KEYS / 2; i++) {
        snprintf(k, sizeof k, "new%d", i);
        ck_assert_int_eq(fx_set(k, "v", 0), STORE_OK);
        ck_assert_msg(fx_get(names[2 * i + 1]) == STORE_NOT_FOUND,
                      "%s survived", names[2 * i + 1]);
    }
    for (i = 0; i < KEYS; i += 2)
        ck_assert_msg(fx_get(names[i]) == STORE_OK, "%s evicted", names[i]);
}
END_TEST

/* Looks up key n times with room for max_bytes of values; returns the
 * call's status, *ok the keys found, checking that the others were left
 * out whole and that out holds just the values found. */
static enum store_status
repeat_within(const char *key, size_t n, uint64_t max_bytes, size_t vlen,
              size_t *ok)
{
    static struct store_batch_get keys[256];
    enum store_status rc;
    size_t i;

    for (i = 0; i < n; i++) {
        keys[i].key = key;
        keys[i].klen = strlen(key);
    }
    buf_fini(&fx_out);
    rc = store_get_batch(fx, NULL, 0, keys, n, max_bytes, &fx_out);
    for (*ok = 0, i = 0; i < n; i++) {
        ck_assert(keys[i].status == STORE_OK ||
                  keys[i].status == STORE_TOO_LARGE);
        ck_assert_ptr_null(keys[i].ref);
        *ok += keys[i].status == STORE_OK;
    }
    ck_assert_uint_eq(fx_out.len, *ok * vlen);
    return rc;
}

/* The values of a batch stop at max_bytes: large values exactly (a key
 * repeated past it is STORE_TOO_LARGE with nothing appended), small ones
 * where out would have to grow past it, and the call is STORE_TOO_LARGE
 * whenever the values found come to more. */
START_TEST(test_batch_values_stop_at_max_bytes)
{
    size_t big = 2 * ENTRY_SHARED_MIN, mid = 1000, ok;
    char *val = calloc(1, big);

    ck_assert_int_eq(store_set(fx, NULL, 0, "big", 3, val, big, 0), STORE_OK);
    ck_assert_int_eq(store_set(fx, NULL, 0, "mid", 3, val, mid, 0), STORE_OK);
    fx_set("s", "12345", 0);
    ck_assert_int_eq(repeat_within("big", 40, 4 * big - 1, big, &ok),
                     STORE_TOO_LARGE);
    ck_assert_uint_eq(ok, 3);
    ck_assert_int_eq(repeat_within("big", 4, 4 * big, big, &ok), STORE_OK);
    ck_assert_uint_eq(ok, 4);
    ck_assert_int_eq(repeat_within("mid", 200, 20 * mid, mid, &ok),
                     STORE_TOO_LARGE);
    ck_assert_uint_ge(ok, 20);
    ck_assert_uint_lt(ok, 200);
    ck_assert_uint_le(fx_out.cap, 2 * 20 * mid + ENTRY_SHARED_MIN);
    ck_assert_int_eq(repeat_within("mid", 20, 20 * mid, mid, &ok), STORE_OK);
    ck_assert_int_eq(repeat_within("s", 40, 199, 5, &ok), STORE_TOO_LARGE);
    ck_assert_int_eq(repeat_within("s", 40, 200, 5, &ok), STORE_OK);
    ck_assert_uint_eq(fx_stats().hits, 40 + 4 + 200 + 20 + 40 + 40);
    free(val);
}
END_TEST

START_TEST(test_batch_of_none)
{
    store_get_batch(fx, NULL, 0, NULL, 0, UINT64_MAX, &fx_out);
    ck_assert_uint_eq(fx_out.len, 0);
    ck_assert_uint_eq(fx_stats().gets, 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("store_batch");
    TCase *tc = tcase_create("store_batch");

    tcase_add_checked_fixture(tc, small_store, fx_teardown);
    tcase_add_test(tc, test_batch_order_duplicates_misses);
    tcase_add_test(tc, test_batch_keeps_earlier_contents_of_out);
    tcase_add_test(tc, test_batch_bad_keys_beside_good_ones_not_counted);
    tcase_add_test(tc, test_batch_namespace_is_its_own_keyspace);
    tcase_add_test(tc, test_batch_expired_is_missing_and_removed);
    tcase_add_test(tc, test_batch_grows_out_for_small_and_large_values);
    tcase_add_test(tc, test_batch_values_stop_at_max_bytes);
    tcase_add_test(tc, test_batch_hits_are_made_recently_used);
    tcase_add_test(tc, test_batch_of_none);
    suite_add_tcase(s, tc);
    return check_run(s);
}
