/*
 * clock.h: the store's source of time, replaceable by tests.
 *
 * now_ms returns monotonic milliseconds. The store reads it only when an
 * expiry is involved (a Set with a TTL, an access to an entry that has one,
 * a cleanup slice), at most once per call; twice for a Touch or an
 * Increment given a TTL, once for the new expiry before the shard is
 * locked and once to check the entry's own.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

struct clock {
    uint64_t (*now_ms)(void *ctx);
    void *ctx;
};

/* The real monotonic clock (CLOCK_MONOTONIC). */
extern const struct clock clock_monotonic;
/* The wall clock (CLOCK_REALTIME), ms since the Unix epoch: snapshot files
 * hold absolute expiries in it (snapshot.h). */
extern const struct clock clock_wall;

/* A settable clock for tests: ctx points at an _Atomic uint64_t of
 * milliseconds, so a test may move it while store threads read it. */
uint64_t clock_fake_now(void *ctx);

/* Wall time in seconds with a fraction (CLOCK_REALTIME), for timestamps. */
double clock_wall_s(void);
/* Monotonic time in seconds with a fraction, for uptimes and durations. */
double clock_mono_s(void);
/* Monotonic milliseconds from the coarse clock (a few ms of resolution,
 * no system call): for rate limits and timeouts counted in seconds. */
uint64_t clock_coarse_ms(void);

#endif
