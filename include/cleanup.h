/*
 * cleanup.h: a background thread that runs a sweep every interval, slice by
 * slice, sleeps while there is nothing to sweep (if asked to), and stops
 * promptly when asked.
 */
#ifndef CLEANUP_H
#define CLEANUP_H

#include <stdbool.h>
#include <stdint.h>

struct cleanup;

/* One slice of a sweep; returns true when the sweep's pass is complete. */
typedef bool (*cleanup_slice_fn)(void *arg);

/* Whether there is nothing for the sweep to watch. Called on the
 * cleanup thread without its own lock held; it may take the caller's. */
typedef bool (*cleanup_idle_fn)(void *arg);

/* Starts a thread that, every interval_s seconds (monotonic), calls slice()
 * until it returns true. NULL (errno set) when the thread cannot start. */
struct cleanup *cleanup_start(uint32_t interval_s, cleanup_slice_fn slice,
                              void *arg);
/* The same, but while idle(arg) is true the thread sleeps with no deadline
 * until cleanup_wake(), then waits a whole interval before its next sweep:
 * with nothing to watch it is never woken. */
struct cleanup *cleanup_start_idle(uint32_t interval_s, cleanup_slice_fn slice,
                                   cleanup_idle_fn idle, void *arg);
/* Tells a sleeping thread that idle() may have turned false. Safe from any
 * thread, under the caller's locks (the thread never calls idle() with its
 * own lock held). NULL is a no-op. */
void cleanup_wake(struct cleanup *c);
/* Wakes the thread, waits for it (at most the current slice) and frees it.
 * NULL is a no-op. */
void cleanup_stop(struct cleanup *c);

#endif
