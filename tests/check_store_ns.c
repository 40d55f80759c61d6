/*
 * check_store_ns.c: namespaces as separate keyspaces: isolation for every
 * call, names that a textual prefix would confuse, NUL bytes, limits,
 * accounting and the shared LRU.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check_run.h"
#include "hash.h"
#include "store_fixture.h"

#define MIB (1024u * 1024u)

static void
setup(void)
{
    fx_create(16, 100000, 64 * MIB, MIB);
}

/* Bytes accounted for key = val in namespace ns (C strings). */
static uint64_t
ns_bytes(const char *ns, const char *key, const char *val, int32_t ttl)
{
    size_t nslen = strlen(ns), vlen = strlen(val);

    return entry_accounted(nslen + strlen(key), vlen,
                           entry_flags_for(nslen, vlen, ttl));
}

START_TEST(test_store_ns_same_key_distinct_entries)
{
    ck_assert_int_eq(fx_set("k", "shared", 0), STORE_OK);
    ck_assert_int_eq(fx_nset("a", "k", "in a", 0), STORE_OK);
    ck_assert_int_eq(fx_nset("b", "k", "in b", 0), STORE_OK);
    ck_assert_uint_eq(fx_stats().size, 3);
    ck_assert(fx_has("k", "shared"));
    ck_assert(fx_nhas("a", "k", "in a"));
    ck_assert(fx_nhas("b", "k", "in b"));
    ck_assert_int_eq(store_del(fx, "a", 1, "k", 1), STORE_OK);
    ck_assert_int_eq(fx_nget("a", "k"), STORE_NOT_FOUND);
    ck_assert(fx_has("k", "shared") && fx_nhas("b", "k", "in b"));
    ck_assert_int_eq(fx_del("k"), STORE_OK);
    ck_assert(fx_nhas("b", "k", "in b"));
    ck_assert_int_eq(fx_nget("c", "k"), STORE_NOT_FOUND);
}
END_TEST

/* Every pair names its own entry, though several spell the same text
 * once namespace and key are joined (with or without a separator, or as
 * the "len:ns:key" prefix a textual scheme would build). */
START_TEST(test_store_ns_prefixed_forms_do_not_collide)
{
    static const struct {
        const char *ns, *key;
    } names[] = {
        {"", "3:abc:k"},    {"abc", "k"},  {"", "abc:k"}, {"", "abck"},
        {"ab", "ck"},       {"a", "bck"},  {"abc:", "k"}, {"3:abc", "k"},
        {"abc", ":k"},      {"abck", "k"}, {"1", "1:k"},  {"", "1:1:k"},
        {"abc", "3:abc:k"},
    };
    char val[16];
    size_t i;

    for (i = 0; i < TC_ARRAY_LEN(names); i++) {
        snprintf(val, sizeof val, "v%zu", i);
        ck_assert_int_eq(fx_nset(names[i].ns, names[i].key, val, 0), STORE_OK);
    }
    ck_assert_uint_eq(fx_stats().size, TC_ARRAY_LEN(names));
    for (i = 0; i < TC_ARRAY_LEN(names); i++) {
        snprintf(val, sizeof val, "v%zu", i);
        ck_assert_msg(fx_nhas(names[i].ns, names[i].key, val),
                      "ns '%s' key '%s'", names[i].ns, names[i].key);
    }
}
END_TEST

START_TEST(test_store_ns_conditional_calls_isolated)
{
    fx_set("k", "1", 0);
    fx_nset("b", "k", "b", 0);
    /* absent in a, whatever the others hold */
    ck_assert_int_eq(fx_add("a", "k", "a", 0), STORE_OK);
    ck_assert_int_eq(fx_add("a", "k", "again", 0), STORE_EXISTS);
    ck_assert_int_eq(fx_cas("c", "k", "1", "x", 0), STORE_NOT_FOUND);
    ck_assert_int_eq(fx_cas("a", "k", "1", "x", 0), STORE_MISMATCH);
    ck_assert_int_eq(fx_cas("a", "k", "a", "x", 0), STORE_OK);
    ck_assert_int_eq(fx_incr("c", "k", 5, 0), STORE_OK);
    ck_assert_int_eq(fx_incr_value, 5);
    ck_assert_int_eq(fx_incr("", "k", 5, 0), STORE_OK);
    ck_assert_int_eq(fx_incr_value, 6);
    ck_assert_int_eq(fx_incr("b", "k", 1, 0), STORE_NOT_NUMBER);
    ck_assert_int_eq(fx_touch("d", "k", 1), STORE_NOT_FOUND);
    ck_assert_int_eq(fx_touch("a", "k", 1), STORE_OK);
    fx_now_ms += 1001;
    ck_assert_int_eq(fx_nget("a", "k"), STORE_NOT_FOUND);
    ck_assert(fx_has("k", "6"));
    ck_assert(fx_nhas("b", "k", "b"));
    ck_assert(fx_nhas("c", "k", "5"));
}
END_TEST

START_TEST(test_store_ns_nul_bytes_in_names)
{
    static const struct {
        const char *ns;
        size_t nslen;
        const char *key;
        size_t klen;
    } names[] = {
        {"a", 1, "k", 1},     {"a\0b", 3, "k", 1},  {"a\0c", 3, "k", 1},
        {"a\0", 2, "k", 1},   {"\0", 1, "k", 1},    {"\0\0", 2, "k", 1},
        {"a", 1, "k\0", 2},   {"a", 1, "\0k", 2},   {"a\0", 2, "\0k", 2},
        {NULL, 0, "a\0k", 3}, {"a", 1, "\0k\0", 3},
    };
    char val[16];
    size_t i, n = TC_ARRAY_LEN(names);
    int len;

    for (i = 0; i < n; i++) {
        len = snprintf(val, sizeof val, "v%zu", i);
        ck_assert_int_eq(store_set(fx, names[i].ns, names[i].nslen,
                                   names[i].key, names[i].klen, val,
                                   (size_t)len, 0),
                         STORE_OK);
    }
    ck_assert_uint_eq(fx_stats().size, n);
    for (i = 0; i < n; i++) {
        len = snprintf(val, sizeof val, "v%zu", i);
        ck_assert_int_eq(store_get(fx, names[i].ns, names[i].nslen,
                                   names[i].key, names[i].klen, &fx_out),
                         STORE_OK);
        ck_assert_uint_eq(fx_out.len, (size_t)len);
        ck_assert_mem_eq(fx_out.data, val, (size_t)len);
    }
    ck_assert_int_eq(store_del(fx, "a\0b", 3, "k", 1), STORE_OK);
    ck_assert_int_eq(store_get(fx, "a\0c", 3, "k", 1, &fx_out), STORE_OK);
    ck_assert_int_eq(store_get(fx, "a", 1, "k", 1, &fx_out), STORE_OK);
    ck_assert_uint_eq(fx_stats().size, n - 1);
}
END_TEST

START_TEST(test_store_ns_any_bytes_up_to_the_limit)
{
    char ns[STORE_MAX_NS_BYTES + 1], *big;
    struct shard_stats s;
    size_t i;

    for (i = 0; i < sizeof ns; i++)
        ns[i] = (char)(0xff - i);
    ck_assert_int_eq(store_set(fx, ns, STORE_MAX_NS_BYTES, "k", 1, "v", 1, 0),
                     STORE_OK);
    ck_assert_int_eq(store_get(fx, ns, STORE_MAX_NS_BYTES, "k", 1, &fx_out),
                     STORE_OK);
    ck_assert_int_eq(store_get(fx, ns, STORE_MAX_NS_BYTES - 1, "k", 1, &fx_out),
                     STORE_NOT_FOUND);
    ck_assert_int_eq(store_set(fx, ns, sizeof ns, "k", 1, "v", 1, 0),
                     STORE_BAD_NAMESPACE);
    ck_assert_int_eq(store_get(fx, ns, sizeof ns, "k", 1, &fx_out),
                     STORE_BAD_NAMESPACE);
    ck_assert_int_eq(store_del(fx, ns, sizeof ns, "k", 1), STORE_BAD_NAMESPACE);
    ck_assert_int_eq(store_set_if_absent(fx, ns, sizeof ns, "k", 1, "v", 1, 0),
                     STORE_BAD_NAMESPACE);
    ck_assert_int_eq(
        store_compare_and_set(fx, ns, sizeof ns, "k", 1, "v", 1, "w", 1, 0),
        STORE_BAD_NAMESPACE);
    big = malloc(1u << 20);
    ck_assert_int_eq(store_set(fx, big, 1u << 20, "k", 1, "v", 1, 0),
                     STORE_BAD_NAMESPACE);
    free(big);
    s = fx_stats();
    ck_assert_uint_eq(s.sets, 1);
    ck_assert_uint_eq(s.gets, 2);
    ck_assert_uint_eq(s.deletes, 0);
    ck_assert_uint_eq(s.size, 1);
}
END_TEST

START_TEST(test_store_ns_key_limit_counts_key_alone)
{
    char ns[65], key[4 * 257 + 1];
    size_t i;

    memset(ns, 'n', 64);
    ns[64] = '\0';
    for (i = 0; i < 257; i++)
        memcpy(key + 4 * i, "\xf0\x9f\x98\x80", 4);
    ck_assert_int_eq(store_set(fx, ns, 64, key, 4 * 256, "v", 1, 0), STORE_OK);
    ck_assert_int_eq(store_get(fx, ns, 64, key, 4 * 256, &fx_out), STORE_OK);
    ck_assert_int_eq(store_set(fx, ns, 64, key, 4 * 257, "v", 1, 0),
                     STORE_BAD_KEY);
    ck_assert_int_eq(store_set(fx, ns, 64, "\xff", 1, "v", 1, 0),
                     STORE_BAD_KEY);
    ck_assert_int_eq(store_set(fx, ns, 64, "", 0, "v", 1, 0), STORE_BAD_KEY);
    ck_assert_uint_eq(fx_stats().sets, 1);
}
END_TEST

START_TEST(test_store_ns_accounting_includes_namespace)
{
    uint64_t items, bytes, want;

    /* a namespaced entry costs its bytes and one length byte more */
    ck_assert_uint_eq(entry_accounted(16, 100, 0), 156);
    ck_assert_uint_eq(entry_accounted(16 + 8, 100, ENTRY_NS), 168);
    fx_set("k", "value", 0);
    fx_nset("tenant-1", "k", "value", 0);
    fx_nset("tenant-1", "t", "value", 9);
    want = fx_bytes("k", "value", 0) + ns_bytes("tenant-1", "k", "value", 0) +
           ns_bytes("tenant-1", "t", "value", 9);
    ck_assert_uint_eq(fx_stats().memory_usage_bytes, want);
    store_usage(fx, &items, &bytes);
    ck_assert_uint_eq(bytes, want);
    ck_assert_uint_eq(fx_flush("tenant-1"), 2);
    ck_assert_uint_eq(fx_stats().memory_usage_bytes, fx_bytes("k", "value", 0));
    ck_assert_uint_eq(fx_flush(""), 1);
    ck_assert_uint_eq(fx_stats().memory_usage_bytes, 0);
    store_usage(fx, &items, &bytes);
    ck_assert_uint_eq(items + bytes, 0);
}
END_TEST

START_TEST(test_store_ns_share_global_lru_and_limits)
{
    fx_teardown();
    fx_create(16, 3, 64 * MIB, MIB);
    fx_nset("a", "k", "1", 0);
    fx_set("k", "2", 0);
    fx_nset("b", "k", "3", 0);
    ck_assert_int_eq(fx_nget("a", "k"), STORE_OK); /* a:k most recent */
    ck_assert_int_eq(fx_nset("c", "k", "4", 0), STORE_OK);
    ck_assert_int_eq(fx_get("k"), STORE_NOT_FOUND);
    ck_assert_int_eq(fx_nset("c", "j", "5", 0), STORE_OK);
    ck_assert_int_eq(fx_nget("b", "k"), STORE_NOT_FOUND);
    ck_assert(fx_nhas("a", "k", "1"));
    ck_assert_uint_eq(fx_stats().size, 3);
    ck_assert_uint_eq(fx_stats().lru_evictions, 2);
}
END_TEST

START_TEST(test_store_ns_entries_survive_table_growth)
{
    char k[16];
    int i;

    for (i = 0; i < 20000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        fx_nset(i % 2 ? "odd" : "even", k, k, 0);
        fx_set(k, "shared", 0);
    }
    for (i = 0; i < 20000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        ck_assert(fx_nhas(i % 2 ? "odd" : "even", k, k));
        ck_assert_int_eq(fx_nget(i % 2 ? "even" : "odd", k), STORE_NOT_FOUND);
        ck_assert(fx_has(k, "shared"));
    }
}
END_TEST

START_TEST(test_store_ns_hash_of_shared_keyspace_unchanged)
{
    struct hash_key hk = {1, 2};

    ck_assert_uint_eq(hash_name(&hk, NULL, 0, "key", 3),
                      hash_sip13(&hk, "key", 3));
    ck_assert_uint_ne(hash_name(&hk, "a", 1, "key", 3),
                      hash_sip13(&hk, "key", 3));
    ck_assert_uint_ne(hash_name(&hk, "a", 1, "bc", 2),
                      hash_name(&hk, "ab", 2, "c", 1));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("store_ns");
    TCase *tc = tcase_create("namespaces");

    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_store_ns_same_key_distinct_entries);
    tcase_add_test(tc, test_store_ns_prefixed_forms_do_not_collide);
    tcase_add_test(tc, test_store_ns_conditional_calls_isolated);
    tcase_add_test(tc, test_store_ns_nul_bytes_in_names);
    tcase_add_test(tc, test_store_ns_any_bytes_up_to_the_limit);
    tcase_add_test(tc, test_store_ns_key_limit_counts_key_alone);
    tcase_add_test(tc, test_store_ns_accounting_includes_namespace);
    tcase_add_test(tc, test_store_ns_share_global_lru_and_limits);
    tcase_add_test(tc, test_store_ns_entries_survive_table_growth);
    tcase_add_test(tc, test_store_ns_hash_of_shared_keyspace_unchanged);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return check_run(s);
}
