/*
 * check_bench_hist.c: tiny-cache-bench's latency histogram (bench_hist.c).
 */
#include "check_run.h"
#include <stdint.h>

#include "bench_hist.h"

START_TEST(test_bench_hist_small_values_exact)
{
    for (uint64_t v = 0; v < 2 * BENCH_HIST_SUB; v++) {
        ck_assert_uint_eq(bench_hist_index(v), v);
        ck_assert_uint_eq(bench_hist_bucket_high(bench_hist_index(v)), v);
    }
}
END_TEST

START_TEST(test_bench_hist_bucket_holds_value_within_1_32)
{
    for (uint64_t v = 1; v < UINT64_MAX / 2; v += v / 36 + 1) {
        unsigned idx = bench_hist_index(v);
        uint64_t high = bench_hist_bucket_high(idx);

        ck_assert_uint_lt(idx, BENCH_HIST_BUCKETS);
        ck_assert_uint_ge(high, v);
        ck_assert_msg(high - v <= v / BENCH_HIST_SUB, "v=%llu high=%llu",
                      (unsigned long long)v, (unsigned long long)high);
        if (idx > 0)
            ck_assert_uint_lt(bench_hist_bucket_high(idx - 1), v);
    }
    ck_assert_uint_eq(bench_hist_index(UINT64_MAX), BENCH_HIST_BUCKETS - 1);
    ck_assert_uint_eq(bench_hist_bucket_high(BENCH_HIST_BUCKETS - 1),
                      UINT64_MAX);
}
END_TEST

START_TEST(test_bench_hist_percentiles_of_1_to_1000)
{
    struct bench_hist h;

    bench_hist_init(&h);
    ck_assert_uint_eq(bench_hist_percentile(&h, 50), 0);
    ck_assert_double_eq(bench_hist_mean(&h), 0);
    for (uint64_t v = 1000; v >= 1; v--)
        bench_hist_record(&h, v);
    ck_assert_uint_eq(h.count, 1000);
    ck_assert_uint_eq(h.min, 1);
    ck_assert_uint_eq(h.max, 1000);
    ck_assert_uint_ge(bench_hist_percentile(&h, 50), 500);
    ck_assert_uint_le(bench_hist_percentile(&h, 50), 500 + 500 / 32);
    ck_assert_uint_ge(bench_hist_percentile(&h, 99), 990);
    ck_assert_uint_le(bench_hist_percentile(&h, 99), 1000);
    ck_assert_uint_eq(bench_hist_percentile(&h, 99.9), 1000);
    ck_assert_uint_eq(bench_hist_percentile(&h, 100), 1000);
    ck_assert_uint_eq(bench_hist_percentile(&h, 0), 1);
    /* the mean is exact, not a bucket's bound: 500500 / 1000 */
    ck_assert_double_eq(bench_hist_mean(&h), 500.5);
}
END_TEST

START_TEST(test_bench_hist_merge_sums_counts)
{
    struct bench_hist a, b;

    bench_hist_init(&a);
    bench_hist_init(&b);
    for (int i = 0; i < 99; i++)
        bench_hist_record(&a, 10);
    bench_hist_record(&b, 1000000);
    bench_hist_merge(&a, &b);
    ck_assert_uint_eq(a.count, 100);
    ck_assert_uint_eq(a.min, 10);
    ck_assert_uint_eq(a.max, 1000000);
    ck_assert_uint_eq(bench_hist_percentile(&a, 99), 10);
    ck_assert_uint_eq(bench_hist_percentile(&a, 99.9), 1000000);
    ck_assert_double_eq(bench_hist_mean(&a), (99.0 * 10 + 1000000) / 100);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("bench_hist");
    TCase *tc = tcase_create("bench_hist");

    tcase_add_test(tc, test_bench_hist_small_values_exact);
    tcase_add_test(tc, test_bench_hist_bucket_holds_value_within_1_32);
    tcase_add_test(tc, test_bench_hist_percentiles_of_1_to_1000);
    tcase_add_test(tc, test_bench_hist_merge_sums_counts);
    suite_add_tcase(s, tc);
    return check_run(s);
}
