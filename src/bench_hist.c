/*
 * bench_hist.c: the latency histogram of tiny-cache-bench (layout in
 * bench_hist.h).
 *
 * For v >= 32, with e = floor(log2 v) and shift = e - 5, the bucket is
 * shift * 32 + (v >> shift): v >> shift lies in [32, 64), so each power of
 * two gets 32 buckets and below 64 every value has a bucket of its own.
 */
#include <math.h>
#include <string.h>

#include "bench_hist.h"

void
bench_hist_init(struct bench_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

unsigned
bench_hist_index(uint64_t v)
{
    unsigned shift;

    if (v < BENCH_HIST_SUB)
        return (unsigned)v;
    shift = 63u - (unsigned)__builtin_clzll(v) - BENCH_HIST_SUB_BITS;
    return shift * BENCH_HIST_SUB + (unsigned)(v >> shift);
}

uint64_t
bench_hist_bucket_high(unsigned idx)
{
    unsigned shift;
    uint64_t mantissa;

    if (idx < 2 * BENCH_HIST_SUB)
        return idx;
    shift = idx / BENCH_HIST_SUB - 1;
    mantissa = idx - (uint64_t)shift * BENCH_HIST_SUB;
    return (mantissa << shift) + ((uint64_t)1 << shift) - 1;
}

void
bench_hist_record(struct bench_hist *h, uint64_t v)
{
    h->buckets[bench_hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void
bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t
bench_hist_percentile(const struct bench_hist *h, double p)
{
    uint64_t rank, seen = 0;

    if (h->count == 0)
        return 0;
    if (p >= 100.0)
        return h->max;
    rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
    if (rank == 0)
        rank = 1;
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t high = bench_hist_bucket_high(i);
            return high < h->max ? high : h->max;
        }
    }
    return h->max;
}

double
bench_hist_mean(const struct bench_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}
