/*
 * reqstats.h: per-worker request counters and latency histograms.
 *
 * Each gRPC worker owns one struct reqstats and is its only writer; the HTTP
 * thread reads all of them at scrape time and sums. Fields are atomics written
 * with relaxed load + store (no read-modify-write, no lock prefix), so the
 * request path adds no shared cache-line write; a reader may see a value one
 * update old.
 */
#ifndef REQSTATS_H
#define REQSTATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "rpc_methods.h"
#include "tc.h"

#define REQSTATS_CODES 17 /* gRPC status codes 0..16 */

/* Upper bounds of the latency buckets in microseconds; a last +Inf bucket
 * follows. Counts are per bucket (not cumulative); metrics.c accumulates. */
#define REQSTATS_BOUNDS_US                                                     \
    {                                                                          \
        50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,      \
            250000, 500000, 1000000                                            \
    }
#define REQSTATS_BUCKETS 15

struct reqstats {
    _Atomic uint64_t calls[RPC_METHOD_COUNT][REQSTATS_CODES];
    _Atomic uint64_t latency[RPC_METHOD_COUNT][REQSTATS_BUCKETS];
    _Atomic uint64_t latency_sum_us[RPC_METHOD_COUNT];
    _Atomic int64_t active; /* calls accepted and not yet answered */
} __attribute__((aligned(TC_CACHELINE)));

static inline void
reqstats_bump(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void
reqstats_active(struct reqstats *rs, int64_t delta)
{
    atomic_store_explicit(
        &rs->active,
        atomic_load_explicit(&rs->active, memory_order_relaxed) + delta,
        memory_order_relaxed);
}

/* Records one finished call: its method, gRPC status code and duration. */
static inline void
reqstats_record(struct reqstats *rs, enum rpc_method m, unsigned code,
                uint64_t us)
{
    static const uint64_t bounds[] = REQSTATS_BOUNDS_US;
    unsigned b = 0;

    while (b < TC_ARRAY_LEN(bounds) && us > bounds[b])
        b++;
    reqstats_bump(&rs->calls[m][code < REQSTATS_CODES ? code : 2], 1);
    reqstats_bump(&rs->latency[m][b], 1);
    reqstats_bump(&rs->latency_sum_us[m], us);
}

static inline uint64_t
reqstats_read(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

#endif
