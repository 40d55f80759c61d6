/*
 * slab.h: the allocator of small entries: size classes 4 bytes apart, no
 * per-object header, process-wide like malloc.
 *
 * An object of n bytes (1 <= n <= SLAB_MAX_BYTES) takes slab_class_bytes(n)
 * = n rounded up to 4 bytes, in a slab of SLAB_BYTES that holds objects of
 * that one size only. Slabs are mapped from the system aligned to their
 * size, 16 at a time side by side, so an object finds its slab by masking
 * its address, and every object is 4-byte aligned. What a slab costs
 * beyond its objects: a 64-byte header and the tail too short for another
 * object (under 0.1 % of it); pages of a slab that no object has used yet
 * are never touched, so they are not resident.
 *
 * Memory goes back to the system when a slab's last object is freed: the
 * slab is unmapped, except that up to SLAB_SPARE empty slabs are kept (with
 * their pages) for the next class that needs one. A slab with a single
 * live object keeps its whole used part resident: freed objects are reused
 * by their class only.
 *
 * Thread safety: any thread may allocate and free; each class has its own
 * lock, the spare slabs another one. Freeing reads the slab's class
 * without a lock: it is fixed while the slab holds any object.
 */
#ifndef SLAB_H
#define SLAB_H

#include <stddef.h>
#include <stdint.h>

#define SLAB_BYTES     (1u << 20)
#define SLAB_MAX_BYTES 192u
#define SLAB_GRAIN     4u
#define SLAB_SPARE     2u

/* Bytes an object of n bytes (1..SLAB_MAX_BYTES) really takes. */
static inline size_t
slab_class_bytes(size_t n)
{
    return (n + SLAB_GRAIN - 1) & ~(size_t)(SLAB_GRAIN - 1);
}

/* An object of n bytes (1..SLAB_MAX_BYTES), 4-byte aligned; NULL with
 * errno ENOMEM when no slab can be mapped. */
void *slab_alloc(size_t n);
/* Frees p, from slab_alloc(n) with the same n. NULL is a no-op. */
void slab_free(void *p, size_t n);

/* What the allocator holds, for tests: slabs mapped (spares included) and
 * objects live. Each figure is read under its own lock, so the pair is not
 * one atomic cut while other threads allocate. */
struct slab_usage {
    uint64_t slabs;
    uint64_t spare;
    uint64_t objects;
};
void slab_usage(struct slab_usage *u);

#endif
