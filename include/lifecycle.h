/*
 * lifecycle.h: the process's phase (README, Shutdown), one atomic that gRPC
 * health and HTTP /health read on every call. main.c is the only writer.
 */
#ifndef LIFECYCLE_H
#define LIFECYCLE_H

#include <stdatomic.h>

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

#endif
