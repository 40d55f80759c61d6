/*
 * entry.h: one cache entry = one allocation.
 *
 *   offset 0   hlink    next entry in the hash bucket chain (tagged, htable.c)
 *          8   meta     use stamp (bits 0-47) | key length (48-58) | flags
 *         16   prev     LRU neighbour, more recently used (48 bits: the low
 *                       32 at 16, the high 16 at 24)
 *         20   next     LRU neighbour, less recently used (low 32 at 20, high
 *                       16 at 26)
 *         28   vlen     value length
 *         32   [refcnt] u32, only when ENTRY_SHARED
 *              [expire] u64 ms, only when ENTRY_TTL (unaligned, memcpy)
 *              [nslen]  u8 namespace length, only when ENTRY_NS
 *              key bytes, [namespace bytes], value bytes
 *
 * The header is 32 bytes and entries are only 4-byte aligned (the struct
 * is packed to 4), so that a 16-byte key with a 100-byte value takes 148
 * bytes of a slab (slab.h) where malloc would take a 160-byte chunk. The LRU
 * links keep 48 bits of a pointer, as the chain links do (user-space
 * addresses on x86-64 and arm64 fit). The optional fields cost only the
 * entries that use them. The 48-bit use stamp is the global use counter at
 * the entry's last Get hit or write (2^48 uses: 89 years at 100 million per
 * second).
 *
 * Entries of up to SLAB_MAX_BYTES come from the slab allocator, larger ones
 * from malloc; entry_put() tells them apart by size (entry_alloc_bytes()).
 *
 * Names. An entry is named by a key within a keyspace: the shared keyspace
 * (no ENTRY_NS, no namespace bytes) or a namespace of 1..ENTRY_NS_MAX bytes
 * of any value. Two names are equal when both the keys and the namespaces
 * are equal byte for byte and of equal lengths, compared separately, so no
 * choice of namespace and key names an entry of another keyspace. The key
 * sits at the same offset whatever the namespace, so a lookup in the shared
 * keyspace reads no namespace byte.
 *
 * Locking: every field of a linked entry is protected by its shard's lock;
 * an unlinked entry belongs to the one thread holding the pointer. ENTRY_SHARED
 * entries (values of ENTRY_SHARED_MIN bytes or more) carry a reference count
 * so that a Get can copy the value after dropping the shard lock: the table
 * holds one reference, each such reader one more; entry_put() frees on the
 * last. The value bytes of an ENTRY_SHARED entry never change after
 * entry_create(), so such a reader, or a writer that checks identity under
 * the lock, may read them unlocked. Small values may be rewritten in place
 * under the lock (a same-length Increment).
 */
#ifndef ENTRY_H
#define ENTRY_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ENTRY_TTL    1u /* has an expiry time */
#define ENTRY_SHARED 2u /* has a reference count */
#define ENTRY_NS     4u /* belongs to a namespace */
_Static_assert(ENTRY_TTL == 1 && ENTRY_SHARED == 2 && ENTRY_NS == 4,
               "entry_opt_bytes() indexes its table by these bits");
#define ENTRY_SHARED_MIN 4096
#define ENTRY_STAMP_BITS 48
#define ENTRY_STAMP_MASK ((UINT64_C(1) << ENTRY_STAMP_BITS) - 1)
#define ENTRY_KLEN_SHIFT 48
#define ENTRY_KLEN_MAX   2047
#define ENTRY_FLAG_SHIFT 59
#define ENTRY_NS_MAX     255
#define ENTRY_NEVER      UINT64_MAX /* expiry of a TTL entry made permanent */

struct entry {
    uintptr_t hlink;
    uint64_t meta;
    uint32_t prev_lo, next_lo;
    uint16_t prev_hi, next_hi;
    uint32_t vlen;
    unsigned char data[];
} __attribute__((packed, aligned(4)));

#define ENTRY_HEADER_BYTES 32u
_Static_assert(sizeof(struct entry) == ENTRY_HEADER_BYTES, "entry header");
_Static_assert(sizeof(uintptr_t) == 8, "48-bit LRU links need 64-bit pointers");

/* Fixes glibc's mmap threshold at the 32 KiB the formula assumes (see
 * entry.c); store_create() calls it. Process-wide and idempotent. */
void entry_malloc_init(void);
/* An entry's name, borrowed: klen key bytes (klen <= ENTRY_KLEN_MAX) and
 * nslen namespace bytes (nslen <= ENTRY_NS_MAX; 0 is the shared keyspace
 * and ns is then not read). */
struct entry_name {
    const char *ns;
    size_t nslen;
    const char *key;
    size_t klen;
};

/* Bytes accounted for an entry whose key and namespace together are
 * name_bytes long (see the formula in entry.c). */
uint64_t entry_accounted(size_t name_bytes, size_t vlen, unsigned flags);
/* Flags an entry of this namespace length, value length and ttl carries. */
unsigned entry_flags_for(size_t nslen, size_t vlen, int32_t ttl_s);
/* Allocates and fills an unlinked entry holding one reference; flags come
 * from entry_flags_for(n->nslen, ...). val may be NULL, leaving the value
 * bytes for the caller to fill. NULL on ENOMEM. */
struct entry *entry_create(const struct entry_name *n, const void *val,
                           size_t vlen, unsigned flags, uint64_t expire_ms,
                           uint64_t stamp);
/* Drops one reference (the only one, for unshared entries); frees on the
 * last. NULL is a no-op. Reads the flags: only for unlinked entries. */
void entry_put(struct entry *e);
/* Drops a reference taken with entry_get_ref(); frees on the last. Touches
 * only the count, so a reader may call it while the entry is still linked
 * and its stamp changes under the shard lock. */
void entry_unref(struct entry *e);

static inline struct entry *
entry_link_get(uint32_t lo, uint16_t hi)
{
    return (struct entry *)(((uintptr_t)hi << 32) | lo);
}

/* The LRU neighbours; an unlinked entry's next also chains the lists of
 * victims a caller frees once unlocked. */
static inline struct entry *
entry_prev(const struct entry *e)
{
    return entry_link_get(e->prev_lo, e->prev_hi);
}

static inline struct entry *
entry_next(const struct entry *e)
{
    return entry_link_get(e->next_lo, e->next_hi);
}

static inline void
entry_set_prev(struct entry *e, const struct entry *p)
{
    assert((uintptr_t)p >> 48 == 0);
    e->prev_lo = (uint32_t)(uintptr_t)p;
    e->prev_hi = (uint16_t)((uintptr_t)p >> 32);
}

static inline void
entry_set_next(struct entry *e, const struct entry *p)
{
    assert((uintptr_t)p >> 48 == 0);
    e->next_lo = (uint32_t)(uintptr_t)p;
    e->next_hi = (uint16_t)((uintptr_t)p >> 32);
}

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

/* Bytes of the optional fields: 8 (ENTRY_TTL) + 4 (ENTRY_SHARED) + 1
 * (ENTRY_NS), by table: every lookup computes it to find the key. */
static inline size_t
entry_opt_bytes(unsigned flags)
{
    static const unsigned char bytes[8] = {0, 8, 4, 12, 1, 9, 5, 13};

    return bytes[flags & 7u];
}

static inline const char *
entry_key(const struct entry *e)
{
    return (const char *)e->data + entry_opt_bytes(entry_flags(e));
}

static inline size_t
entry_nslen(const struct entry *e)
{
    unsigned f = entry_flags(e);

    if (!(f & ENTRY_NS))
        return 0;
    return e->data[entry_opt_bytes(f & ~ENTRY_NS)];
}

/* The namespace bytes (entry_nslen() of them) follow the key. */
static inline const char *
entry_ns(const struct entry *e)
{
    return entry_key(e) + entry_klen(e);
}

/* Key and namespace bytes together, as entry_accounted() counts them. */
static inline size_t
entry_name_bytes(const struct entry *e)
{
    return entry_klen(e) + entry_nslen(e);
}

static inline void
entry_name_of(const struct entry *e, struct entry_name *n)
{
    n->key = entry_key(e);
    n->klen = entry_klen(e);
    n->ns = n->key + n->klen;
    n->nslen = entry_nslen(e);
}

static inline const unsigned char *
entry_value(const struct entry *e)
{
    return (const unsigned char *)entry_key(e) + entry_name_bytes(e);
}

/* The value, writable: for filling a new entry, or rewriting a small one
 * in place under its shard's lock. */
static inline unsigned char *
entry_value_mut(struct entry *e)
{
    return e->data + entry_opt_bytes(entry_flags(e)) + entry_name_bytes(e);
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

/* Rewrites the expiry of an ENTRY_TTL entry (ENTRY_NEVER: none). */
static inline void
entry_set_expire(struct entry *e, uint64_t expire_ms)
{
    memcpy(e->data + (entry_flags(e) & ENTRY_SHARED ? 4 : 0), &expire_ms,
           sizeof expire_ms);
}

/* True when the entry has a TTL and more than its TTL has passed. */
static inline bool
entry_expired(const struct entry *e, uint64_t now_ms)
{
    return entry_has_ttl(e) && now_ms > entry_expire_ms(e);
}

/* Bits 48-63 of meta a name compare reads: the key length and ENTRY_NS. */
#define ENTRY_NAME_TAG_MASK                                                    \
    (ENTRY_KLEN_MAX |                                                          \
     ((uint64_t)ENTRY_NS << (ENTRY_FLAG_SHIFT - ENTRY_KLEN_SHIFT)))

/* What (meta >> ENTRY_KLEN_SHIFT) & ENTRY_NAME_TAG_MASK is for an entry
 * named n, so one compare checks the key length and whether a namespace
 * is set. */
static inline uint64_t
entry_name_tag(const struct entry_name *n)
{
    return (uint64_t)n->klen |
           (n->nslen != 0 ? (ENTRY_NAME_TAG_MASK & ~(uint64_t)ENTRY_KLEN_MAX)
                          : 0);
}

/* True when e is named key in the shared keyspace. */
static inline bool
entry_shared_key_eq(const struct entry *e, const char *key, size_t klen)
{
    return ((e->meta >> ENTRY_KLEN_SHIFT) & ENTRY_NAME_TAG_MASK) == klen &&
           memcmp(entry_key(e), key, klen) == 0;
}

/* True when e is named n, in any keyspace. */
static inline bool
entry_name_eq(const struct entry *e, const struct entry_name *n)
{
    const char *k;

    if (((e->meta >> ENTRY_KLEN_SHIFT) & ENTRY_NAME_TAG_MASK) !=
        entry_name_tag(n))
        return false;
    k = entry_key(e);
    if (memcmp(k, n->key, n->klen) != 0)
        return false;
    return n->nslen == 0 || (entry_nslen(e) == n->nslen &&
                             memcmp(k + n->klen, n->ns, n->nslen) == 0);
}

/* True when e belongs to the keyspace of nslen bytes at ns (0: shared). */
static inline bool
entry_in_keyspace(const struct entry *e, const char *ns, size_t nslen)
{
    return entry_nslen(e) == nslen &&
           (nslen == 0 || memcmp(entry_ns(e), ns, nslen) == 0);
}

/* Bytes of e's allocation: header, optional fields, name and value. */
static inline size_t
entry_alloc_bytes(const struct entry *e)
{
    return ENTRY_HEADER_BYTES + entry_opt_bytes(entry_flags(e)) +
           entry_name_bytes(e) + e->vlen;
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
