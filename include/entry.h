/*
 * entry.h: one cache entry = one allocation.
 *
 *   offset 0   hlink    next entry in the hash bucket chain (tagged, htable.c)
 *          8   prev     LRU neighbour, more recently used
 *         16   next     LRU neighbour, less recently used
 *         24   meta     use stamp (bits 0-47) | key length (48-58) | flags
 *         32   vlen     value length
 *         36   [refcnt] u32, only when ENTRY_SHARED
 *              [expire] u64 ms, only when ENTRY_TTL (unaligned, memcpy)
 *              key bytes, then value bytes
 *
 * The header is 36 bytes so that a 16-byte key with a 100-byte value fits a
 * 160-byte glibc chunk; the optional fields cost only the entries that use
 * them. The 48-bit use stamp is the global use counter at the entry's last
 * Get hit or Set (2^48 uses: 89 years at 100 million per second).
 *
 * Locking: every field of a linked entry is protected by its shard's lock;
 * an unlinked entry belongs to the one thread holding the pointer. ENTRY_SHARED
 * entries (values of ENTRY_SHARED_MIN bytes or more) carry a reference count
 * so that a Get can copy the value after dropping the shard lock: the table
 * holds one reference, each such reader one more; entry_put() frees on the
 * last.
 */
#ifndef ENTRY_H
#define ENTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ENTRY_TTL        1u /* has an expiry time */
#define ENTRY_SHARED     2u /* has a reference count */
#define ENTRY_SHARED_MIN 4096
#define ENTRY_STAMP_BITS 48
#define ENTRY_STAMP_MASK ((UINT64_C(1) << ENTRY_STAMP_BITS) - 1)
#define ENTRY_KLEN_SHIFT 48
#define ENTRY_KLEN_MAX   2047
#define ENTRY_FLAG_SHIFT 59

struct entry {
    uintptr_t hlink;
    struct entry *prev;
    struct entry *next;
    uint64_t meta;
    uint32_t vlen;
    unsigned char data[];
};

#define ENTRY_HEADER_BYTES 36u

/* Fixes glibc's mmap threshold at the 32 KiB the formula assumes (see
 * entry.c); store_create() calls it. Process-wide and idempotent. */
void entry_malloc_init(void);
/* Bytes accounted for an entry (see the formula in entry.c). */
uint64_t entry_accounted(size_t klen, size_t vlen, unsigned flags);
/* Flags an entry of this value length and ttl would carry. */
unsigned entry_flags_for(size_t vlen, int32_t ttl_s);
/* Allocates and fills an unlinked entry holding one reference. NULL on
 * ENOMEM. klen <= ENTRY_KLEN_MAX. */
struct entry *entry_create(const char *key, size_t klen, const void *val,
                           size_t vlen, unsigned flags, uint64_t expire_ms,
                           uint64_t stamp);
/* Drops one reference (the only one, for unshared entries); frees on the
 * last. NULL is a no-op. Reads the flags: only for unlinked entries. */
void entry_put(struct entry *e);
/* Drops a reference taken with entry_get_ref(); frees on the last. Touches
 * only the count, so a reader may call it while the entry is still linked
 * and its stamp changes under the shard lock. */
void entry_unref(struct entry *e);

static inline unsigned
entry_flags(const struct entry *e)
{
    return (unsigned)(e->meta >> ENTRY_FLAG_SHIFT);
}

static inline size_t
entry_klen(const struct entry *e)
{
    return (size_t)(e->meta >> ENTRY_KLEN_SHIFT) & ENTRY_KLEN_MAX;
}

static inline uint64_t
entry_stamp(const struct entry *e)
{
    return e->meta & ENTRY_STAMP_MASK;
}

static inline void
entry_set_stamp(struct entry *e, uint64_t stamp)
{
    e->meta = (e->meta & ~ENTRY_STAMP_MASK) | (stamp & ENTRY_STAMP_MASK);
}

static inline size_t
entry_opt_bytes(unsigned flags)
{
    return (flags & ENTRY_SHARED ? 4u : 0u) + (flags & ENTRY_TTL ? 8u : 0u);
}

static inline const char *
entry_key(const struct entry *e)
{
    return (const char *)e->data + entry_opt_bytes(entry_flags(e));
}

static inline const unsigned char *
entry_value(const struct entry *e)
{
    return (const unsigned char *)entry_key(e) + entry_klen(e);
}

static inline bool
entry_has_ttl(const struct entry *e)
{
    return (entry_flags(e) & ENTRY_TTL) != 0;
}

static inline uint64_t
entry_expire_ms(const struct entry *e)
{
    uint64_t v;

    memcpy(&v, e->data + (entry_flags(e) & ENTRY_SHARED ? 4 : 0), sizeof v);
    return v;
}

/* True when the entry has a TTL and more than its TTL has passed. */
static inline bool
entry_expired(const struct entry *e, uint64_t now_ms)
{
    return entry_has_ttl(e) && now_ms > entry_expire_ms(e);
}

static inline bool
entry_key_eq(const struct entry *e, const char *key, size_t klen)
{
    return entry_klen(e) == klen && memcmp(entry_key(e), key, klen) == 0;
}

/* Takes one more reference on an ENTRY_SHARED entry (caller holds the shard
 * lock, so the table's reference keeps it alive meanwhile). */
static inline void
entry_get_ref(struct entry *e)
{
    atomic_fetch_add_explicit((_Atomic uint32_t *)(void *)e->data, 1,
                              memory_order_relaxed);
}

#endif
