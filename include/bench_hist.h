/*
 * bench_hist.h: log-bucketed latency histogram for tiny-cache-bench.
 *
 * HdrHistogram's layout with 32 sub-buckets per power of two: values below
 * 64 are counted exactly, larger ones in buckets 1/32 of their power of two
 * wide, so a reported percentile is at most 3.2 % above the true value
 * (never above the recorded maximum). The whole uint64_t range fits.
 * One histogram per thread, merged when the run ends: no locks.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 5
#define BENCH_HIST_SUB      (1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_BUCKETS  ((64 - BENCH_HIST_SUB_BITS + 1) * BENCH_HIST_SUB)

struct bench_hist {
    uint64_t count;
    uint64_t sum; /* of the values recorded, for the mean */
    uint64_t min;
    uint64_t max;
    uint64_t buckets[BENCH_HIST_BUCKETS];
};

void bench_hist_init(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t v);

/* Add src's counts to dst. */
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);

/*
 * The value at percentile p (0..100): the highest value of the bucket
 * holding the ceil(p% of count)-th smallest value, capped at max; 0 when the
 * histogram is empty.
 */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p);

/* The mean of the values recorded (exact, not bucketed); 0 when empty. */
double bench_hist_mean(const struct bench_hist *h);

/* Bucket of v, and the highest value that bucket holds (for tests). */
unsigned bench_hist_index(uint64_t v);
uint64_t bench_hist_bucket_high(unsigned idx);

#endif
