/*
 * bufpool.h: large buffers kept for reuse from one call to the next.
 *
 * glibc maps every block of 32 KiB and more that its free heap memory
 * cannot hold on its own (entry.c fixes that threshold), so a buffer of
 * that size made and freed every call costs the call an mmap, a page fault
 * a page and an munmap, unless earlier frees happen to have left a free
 * chunk that large in the heap. The daemon's large transient buffers (a
 * Get's copy of a large value, a batch's reply, a request flattened) are
 * taken here instead and given back when gRPC lets go of them; the pool
 * keeps a bounded number of bytes of them and frees the rest.
 *
 * Every buffer is a malloc block, so code that does not know where one came
 * from may realloc or free it. Thread-safe: gRPC drops a slice's last
 * reference on whichever thread it is on.
 */
#ifndef BUFPOOL_H
#define BUFPOOL_H

#include <stddef.h>

/* Buffers below this many bytes gain nothing from the pool. */
#define BUFPOOL_MIN ((size_t)32 * 1024)

/* The smallest kept buffer of at least n bytes, its usable size in *cap
 * (malloc_usable_size()), or NULL when none is kept. The caller owns it
 * until bufpool_give(). */
void *bufpool_take(size_t n, size_t *cap);
/* Gives p back: kept for a later bufpool_take(), or freed. NULL is a
 * no-op. Fits grpc_slice_new()'s destroy callback. */
void bufpool_give(void *p);
/* Frees every kept buffer (at exit; later gives are kept or freed again). */
void bufpool_drain(void);
/* Bytes kept now (for tests). */
size_t bufpool_kept_bytes(void);

#endif
