/*
 * entry.c: entry allocation and the accounted-size formula.
 *
 * Accounted bytes of an entry = the slab object or glibc chunk that holds it
 * + 8 bytes for its slot in the hash bucket array (tables double when
 * entries outnumber buckets, so the arrays hold between 1 and 2 slots per
 * entry; the arrays themselves and the empty tables of a new store are not
 * counted):
 *
 *   n     = 32 (header) + 4 (if shared) + 8 (if ttl)
 *           + 1 + namespace (if in a namespace) + key + value
 *   chunk = round_up(n, 4)                             up to 192 (slab.h)
 *         = round_up(n + 8, 16)                        up to 32 KiB (malloc)
 *         = round_up(round_up(n + 8, 16) + 8, 4096)    from 32 KiB (mmap)
 *   accounted = chunk + 8
 *
 * which is what the slabs and malloc really take for it (Debian's glibc
 * 2.36, x86-64), so memory_usage_bytes follows the process's real use for
 * entries.
 *
 * That holds only while the mmap threshold stays fixed. By default
 * glibc raises it to the size of every mmap'd chunk freed (up to 32 MiB):
 * after the first large entry is evicted, values of that size come from
 * the heap instead, where freed pages stay resident and fragment it (about
 * 30 MiB of resident memory above a 64 MiB cache under mixed writes of up to
 * 1 MiB). entry_malloc_init() sets the threshold, which also turns that
 * adjustment off, so a large entry's memory goes back to the system when it
 * is freed. It sets it at 32 KiB rather than glibc's initial 128 KiB: mixed
 * sizes fragment the heap, which then holds about twice the bytes of the
 * entries in it, so the fewer bytes live there the closer resident memory
 * follows the accounted bytes (a 64 MiB cache under writes of 32 bytes to
 * 1 MiB: about 90 MiB resident instead of 101). A mapped chunk costs a
 * system call to map and unmap and a page fault a page, small beside
 * writing an entry, which happens once; the buffers of that size that
 * calls make and drop every time (a large Get's copy, a batch's reply) are
 * kept for reuse instead (bufpool.h).
 */
#include <assert.h>
#include <malloc.h>
#include <stdlib.h>

#include "entry.h"
#include "slab.h"

_Static_assert(SLAB_MAX_BYTES < ENTRY_SHARED_MIN,
               "shared entries, freed by entry_unref(), come from malloc");

/* Under AddressSanitizer every entry comes from malloc, so that ASan's
 * redzones and quarantine guard entries as they do any allocation (a slab
 * packs its objects with nothing between them); tests/check_slab.c tests
 * the slabs themselves. The accounted bytes do not change. */
#if defined(__SANITIZE_ADDRESS__)
#define ENTRY_SLAB_MAX 0u
#else
#define ENTRY_SLAB_MAX SLAB_MAX_BYTES
#endif

#define ENTRY_MMAP_THRESHOLD (32u * 1024u)

void
entry_malloc_init(void)
{
    mallopt(M_MMAP_THRESHOLD, ENTRY_MMAP_THRESHOLD);
}

static uint64_t
round_up(uint64_t n, uint64_t to)
{
    return (n + to - 1) / to * to;
}

uint64_t
entry_accounted(size_t name_bytes, size_t vlen, unsigned flags)
{
    uint64_t n = ENTRY_HEADER_BYTES + entry_opt_bytes(flags) +
                 (uint64_t)name_bytes + (uint64_t)vlen;
    uint64_t chunk;

    if (n <= SLAB_MAX_BYTES)
        return slab_class_bytes(n) + 8;
    chunk = round_up(n + 8, 16);
    if (chunk >= ENTRY_MMAP_THRESHOLD)
        chunk = round_up(chunk + 8, 4096);
    return chunk + 8;
}

unsigned
entry_flags_for(size_t nslen, size_t vlen, int32_t ttl_s)
{
    return (ttl_s > 0 ? ENTRY_TTL : 0u) |
           (vlen >= ENTRY_SHARED_MIN ? ENTRY_SHARED : 0u) |
           (nslen > 0 ? ENTRY_NS : 0u);
}

struct entry *
entry_create(const struct entry_name *nm, const void *val, size_t vlen,
             unsigned flags, uint64_t expire_ms, uint64_t stamp)
{
    struct entry *e;
    unsigned char *p;
    size_t n;

    assert(((flags & ENTRY_NS) != 0) == (nm->nslen > 0));
    n = ENTRY_HEADER_BYTES + entry_opt_bytes(flags) + nm->klen + nm->nslen +
        vlen;
    e = n <= ENTRY_SLAB_MAX ? slab_alloc(n) : malloc(n);
    if (e == NULL)
        return NULL;
    e->hlink = 0;
    entry_set_prev(e, NULL);
    entry_set_next(e, NULL);
    e->meta = (stamp & ENTRY_STAMP_MASK) |
              ((uint64_t)nm->klen << ENTRY_KLEN_SHIFT) |
              ((uint64_t)flags << ENTRY_FLAG_SHIFT);
    e->vlen = (uint32_t)vlen;
    p = e->data;
    if (flags & ENTRY_SHARED) {
        atomic_init((_Atomic uint32_t *)(void *)p, 1);
        p += 4;
    }
    if (flags & ENTRY_TTL) {
        memcpy(p, &expire_ms, sizeof expire_ms);
        p += 8;
    }
    if (flags & ENTRY_NS)
        *p++ = (unsigned char)nm->nslen;
    memcpy(p, nm->key, nm->klen);
    p += nm->klen;
    if (nm->nslen > 0)
        memcpy(p, nm->ns, nm->nslen);
    p += nm->nslen;
    if (vlen > 0 && val != NULL)
        memcpy(p, val, vlen);
    return e;
}

static void
entry_free(struct entry *e)
{
    size_t n = entry_alloc_bytes(e);

    if (n <= ENTRY_SLAB_MAX)
        slab_free(e, n);
    else
        free(e);
}

void
entry_unref(struct entry *e)
{
    if (atomic_fetch_sub_explicit((_Atomic uint32_t *)(void *)e->data, 1,
                                  memory_order_acq_rel) == 1)
        free(e);
}

void
entry_put(struct entry *e)
{
    if (e == NULL)
        return;
    if (entry_flags(e) & ENTRY_SHARED)
        entry_unref(e);
    else
        entry_free(e);
}
