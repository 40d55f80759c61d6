/*
 * check_store_expiry.c: TTLs and cleanup (README, The store) on a fake
 * clock.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "store_fixture.h"

static void
setup(void)
{
    fx_create(8, 100000, 1u << 26, 1u << 20);
}

START_TEST(test_store_ttl_boundary)
{
    struct shard_stats s;

    ck_assert_int_eq(fx_set("k", "v", 2), STORE_OK);
    fx_advance_ms(2000); /* exactly 2 s later: not more than the TTL */
    ck_assert(fx_has("k", "v"));
    fx_advance_ms(1); /* more than 2 s */
    ck_assert_int_eq(fx_get("k"), STORE_NOT_FOUND);
    s = fx_stats();
    ck_assert_uint_eq(s.hits, 1);
    ck_assert_uint_eq(s.misses, 1);
    ck_assert_uint_eq(s.expired_removals, 1);
    ck_assert_uint_eq(s.size, 0);
    ck_assert_uint_eq(s.memory_usage_bytes, 0);
}
END_TEST

START_TEST(test_store_ttl_zero_and_negative_never_expire)
{
    fx_set("zero", "v", 0);
    fx_set("neg", "v", -5);
    fx_advance_ms(100ULL * 365 * 24 * 3600 * 1000);
    ck_assert(fx_has("zero", "v"));
    ck_assert(fx_has("neg", "v"));
}
END_TEST

START_TEST(test_store_rewrite_replaces_ttl)
{
    fx_set("a", "1", 1);
    fx_set("a", "2", 0);
    fx_set("b", "1", 0);
    fx_set("b", "2", 1);
    fx_advance_ms(5000);
    ck_assert(fx_has("a", "2"));
    ck_assert_int_eq(fx_get("b"), STORE_NOT_FOUND);
}
END_TEST

START_TEST(test_store_delete_of_expired_is_not_found)
{
    fx_set("a", "1", 1);
    fx_advance_ms(1001);
    ck_assert_int_eq(fx_del("a"), STORE_NOT_FOUND);
    ck_assert_uint_eq(fx_stats().expired_removals, 1);
    ck_assert_uint_eq(fx_stats().deletes, 1);
}
END_TEST

START_TEST(test_store_cleanup_removes_unread_expired)
{
    struct shard_stats s;
    uint64_t items, bytes, kept = 0;
    char k[16];
    int i;

    for (i = 0; i < 3000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        fx_set(k, "value", i % 2 ? 1 : 0);
        if (i % 2 == 0)
            kept += fx_bytes(k, "value", 0);
    }
    ck_assert_uint_eq(store_cleanup_pass(fx), 0);
    fx_advance_ms(1001);
    ck_assert_uint_eq(store_cleanup_pass(fx), 1500);
    s = fx_stats();
    ck_assert_uint_eq(s.size, 1500);
    ck_assert_uint_eq(s.expired_removals, 1500);
    ck_assert_uint_eq(s.gets, 0);
    ck_assert_uint_eq(s.memory_usage_bytes, kept);
    store_usage(fx, &items, &bytes);
    ck_assert_uint_eq(items, 1500);
    ck_assert_uint_eq(bytes, s.memory_usage_bytes);
}
END_TEST

START_TEST(test_store_expired_victim_counts_as_expired)
{
    fx_teardown();
    fx_create(4, 2, 1u << 26, 1u << 20);
    fx_set("old", "v", 1);
    fx_set("b", "v", 0);
    fx_advance_ms(1001);
    ck_assert_int_eq(fx_set("c", "v", 0), STORE_OK);
    ck_assert_uint_eq(fx_stats().expired_removals, 1);
    ck_assert_uint_eq(fx_stats().lru_evictions, 0);
}
END_TEST

START_TEST(test_store_cleanup_thread_sweeps)
{
    struct timespec tick = {0, 20 * 1000 * 1000};
    int i;

    fx_set("a", "v", 1);
    fx_set("b", "v", 0);
    ck_assert_int_eq(store_start_cleanup(fx), 0);
    fx_advance_ms(1001);
    /* the thread wakes every second; allow it up to 10 s */
    for (i = 0; i < 500 && fx_stats().expired_removals == 0; i++)
        nanosleep(&tick, NULL);
    ck_assert_uint_eq(fx_stats().expired_removals, 1);
    ck_assert_uint_eq(fx_stats().size, 1);
}
END_TEST

START_TEST(test_store_destroy_stops_idle_threads_promptly)
{
    struct store_config cfg = {64, 10, 1u << 20, 1u << 10, 86400};
    struct store *st = store_create(&cfg, &clock_monotonic);

    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(store_start_cleanup(st), 0);
    /* would block for a day if the threads did not wake on stop; the
     * tcase's timeout catches that */
    store_destroy(st);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("store_expiry");
    TCase *tc = tcase_create("expiry");
    TCase *th = tcase_create("cleanup_thread");

    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, test_store_ttl_boundary);
    tcase_add_test(tc, test_store_ttl_zero_and_negative_never_expire);
    tcase_add_test(tc, test_store_rewrite_replaces_ttl);
    tcase_add_test(tc, test_store_delete_of_expired_is_not_found);
    tcase_add_test(tc, test_store_cleanup_removes_unread_expired);
    tcase_add_test(tc, test_store_expired_victim_counts_as_expired);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(th, setup, fx_teardown);
    tcase_add_test(th, test_store_cleanup_thread_sweeps);
    tcase_add_test(th, test_store_destroy_stops_idle_threads_promptly);
    tcase_set_timeout(th, 20);
    suite_add_tcase(s, th);
    return check_run(s);
}
