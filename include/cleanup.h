/*
 * cleanup.h: a background thread that runs a sweep every interval, slice by
 * slice, and stops promptly when asked.
 */
#ifndef CLEANUP_H
#define CLEANUP_H

#include <stdbool.h>
#include <stdint.h>

struct cleanup;

/* One slice of a sweep; returns true when the sweep's pass is complete. */
typedef bool (*cleanup_slice_fn)(void *arg);

/* Starts a thread that, every interval_s seconds (monotonic), calls slice()
 * until it returns true. NULL (errno set) when the thread cannot start. */
struct cleanup *cleanup_start(uint32_t interval_s, cleanup_slice_fn slice,
                              void *arg);
/* Wakes the thread, waits for it (at most the current slice) and frees it.
 * NULL is a no-op. */
void cleanup_stop(struct cleanup *c);

#endif
