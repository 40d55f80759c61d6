/*
 * clock.c: the monotonic clock the store uses, the wall clock snapshots
 * use, a fake one for tests, and
 * the wall/monotonic second readings for uptimes and timestamps.
 */
#include <time.h>

#include "clock.h"
#include "tc.h"

static uint64_t
clock_monotonic_now(void *ctx TC_UNUSED)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const struct clock clock_monotonic = {clock_monotonic_now, NULL};

static uint64_t
clock_wall_now(void *ctx TC_UNUSED)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const struct clock clock_wall = {clock_wall_now, NULL};

uint64_t
clock_fake_now(void *ctx)
{
    return atomic_load((_Atomic uint64_t *)ctx);
}

double
clock_wall_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t
clock_coarse_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double
clock_mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
