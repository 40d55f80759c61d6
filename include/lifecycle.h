/*
 * lifecycle.h: the process's phase, one atomic that gRPC health and HTTP
 * /health read on every call (main.c is the only writer), and whether gRPC
 * is turning connections away for want of file descriptors (rpc_accept.c
 * writes it; /health, /ready and the metrics read it).
 */
#ifndef LIFECYCLE_H
#define LIFECYCLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum lifecycle_phase {
    PHASE_STARTING =
        0,          /* store and gRPC not yet up: health 503 / NOT_SERVING */
    PHASE_SERVING,  /* ready */
    PHASE_STOPPING, /* shutdown began: 503 / NOT_SERVING, calls still run */
};

extern _Atomic int lifecycle_phase_now;

static inline enum lifecycle_phase
lifecycle_get(void)
{
    return (enum lifecycle_phase)atomic_load_explicit(&lifecycle_phase_now,
                                                      memory_order_acquire);
}

static inline void
lifecycle_set(enum lifecycle_phase p)
{
    atomic_store_explicit(&lifecycle_phase_now, (int)p, memory_order_release);
}

/* While connections were refused within the last LIFECYCLE_REFUSING_S
 * seconds, /health and /ready answer 503 "overloaded". */
#define LIFECYCLE_REFUSING_S 5

/* Counts one gRPC connection refused at monotonic second now_s; returns
 * the count so far. */
uint64_t lifecycle_note_refused(int64_t now_s);
uint64_t lifecycle_refused_total(void);
/* True while connections have been refused within LIFECYCLE_REFUSING_S. */
bool lifecycle_refusing(void);
/* Counts one gRPC connection closed for having had no call for the idle
 * limit (memcached's idle_kicks). */
void lifecycle_note_idle_closed(void);
uint64_t lifecycle_idle_closed_total(void);

#endif
