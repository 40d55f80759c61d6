/*
 * lifecycle.c: storage for the process phase, the refused-connection
 * record and the idle-closed count declared in lifecycle.h.
 */
#include "lifecycle.h"
#include "clock.h"

_Atomic int lifecycle_phase_now = PHASE_STARTING;

static _Atomic uint64_t lifecycle_refused;
static _Atomic int64_t lifecycle_refused_at_s = -1; /* monotonic seconds */
static _Atomic uint64_t lifecycle_idle_closed;

uint64_t
lifecycle_note_refused(int64_t now_s)
{
    atomic_store_explicit(&lifecycle_refused_at_s, now_s, memory_order_relaxed);
    return atomic_fetch_add_explicit(&lifecycle_refused, 1,
                                     memory_order_relaxed) +
           1;
}

uint64_t
lifecycle_refused_total(void)
{
    return atomic_load_explicit(&lifecycle_refused, memory_order_relaxed);
}

bool
lifecycle_refusing(void)
{
    int64_t at =
        atomic_load_explicit(&lifecycle_refused_at_s, memory_order_relaxed);
    if (at < 0)
        return false;
    return (int64_t)(clock_coarse_ms() / 1000) - at < LIFECYCLE_REFUSING_S;
}

void
lifecycle_note_idle_closed(void)
{
    atomic_fetch_add_explicit(&lifecycle_idle_closed, 1, memory_order_relaxed);
}

uint64_t
lifecycle_idle_closed_total(void)
{
    return atomic_load_explicit(&lifecycle_idle_closed, memory_order_relaxed);
}
