/*
 * store_snap.c: what a snapshot needs from the store: a scan that hands out
 * every live entry slice by slice, and the insertion of a loaded entry
 * (store.h, store_scan_slice, store_load_reserve and store_load_entry;
 * docs/snapshots.md).
 *
 * A scan slice holds one shard's lock for SHARD_SLICE_BUCKETS buckets
 * (htable_scan), as a cleanup slice does. Under it, an entry below
 * ENTRY_SHARED_MIN is copied whole into the slice's buffer; a larger one
 * gets a reference, its use stamp and expiry noted (they may change under
 * the lock, its name and value bytes never do). Nothing is allocated under
 * the lock: when the buffers turn out too small, the slice drops the lock,
 * grows them, and does the same buckets again. The visits run afterwards,
 * with no lock held, so writing a slice to disk stalls no shard.
 */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

#define SCAN_COPY_BYTES (64u * 1024u) /* initial copy buffer of a slice */
#define SCAN_REFS       64u           /* initial references of a slice */

/* A large entry seen under the lock: the fields that may change there. */
struct scan_ref {
    struct entry *e;
    uint64_t meta;
    uint64_t expire_ms;
};

/* One slice's buffers: copies (8-byte aligned entry images) and refs. */
struct scan_slice {
    uint64_t now_ms;
    unsigned char *copies;
    size_t used, cap;
    struct scan_ref *refs;
    size_t nrefs, refcap;
    size_t need_bytes, need_refs; /* what the last attempt needed */
};

/* Bytes of e's allocation (entry_create). */
static size_t
entry_bytes(const struct entry *e)
{
    return ENTRY_HEADER_BYTES + entry_opt_bytes(entry_flags(e)) +
           entry_name_bytes(e) + e->vlen;
}

static size_t
align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static void
visit_locked(struct entry *e, void *ctx)
{
    struct scan_slice *s = ctx;
    size_t n;

    if (entry_expired(e, s->now_ms))
        return;
    if (entry_flags(e) & ENTRY_SHARED) {
        if (s->need_refs++ < s->refcap) {
            entry_get_ref(e);
            s->refs[s->nrefs++] = (struct scan_ref){
                e, e->meta, entry_has_ttl(e) ? entry_expire_ms(e) : 0};
        }
        return;
    }
    n = align8(entry_bytes(e));
    s->need_bytes += n;
    if (s->used + n <= s->cap) {
        memcpy(s->copies + s->used, e, entry_bytes(e));
        s->used += n;
    }
}

static void
release_refs(struct scan_slice *s)
{
    while (s->nrefs > 0)
        entry_unref(s->refs[--s->nrefs].e);
}

/* Grows the buffers to what the last attempt needed; 0 or -1. */
static int
grow(struct scan_slice *s)
{
    void *p;

    if (s->need_bytes > s->cap) {
        p = realloc(s->copies, s->need_bytes * 2);
        if (p == NULL)
            return -1;
        s->copies = p;
        s->cap = s->need_bytes * 2;
    }
    if (s->need_refs > s->refcap) {
        p = realloc(s->refs, s->need_refs * 2 * sizeof *s->refs);
        if (p == NULL)
            return -1;
        s->refs = p;
        s->refcap = s->need_refs * 2;
    }
    return 0;
}

/* An item from e, whose meta and expiry are given (they were read under
 * the lock): TTL entries made permanent (ENTRY_NEVER) have no expiry. */
static void
item_of(const struct entry *e, uint64_t meta, uint64_t expire_ms,
        struct store_item *it)
{
    unsigned flags = (unsigned)(meta >> ENTRY_FLAG_SHIFT);
    const char *key = (const char *)e->data + entry_opt_bytes(flags);
    size_t klen = (size_t)(meta >> ENTRY_KLEN_SHIFT) & ENTRY_KLEN_MAX;
    size_t nslen =
        (flags & ENTRY_NS) ? e->data[entry_opt_bytes(flags & ~ENTRY_NS)] : 0;

    it->key = key;
    it->klen = klen;
    it->ns = key + klen;
    it->nslen = nslen;
    it->val = key + klen + nslen;
    it->vlen = e->vlen;
    it->expire_ms =
        (flags & ENTRY_TTL) && expire_ms != ENTRY_NEVER ? expire_ms : 0;
    it->stamp = meta & ENTRY_STAMP_MASK;
}

static int
hand_out(const struct scan_slice *s,
         int (*visit)(void *arg, const struct store_item *it), void *arg)
{
    const struct entry *e;
    struct store_item it;
    size_t off, i;

    for (off = 0; off < s->used; off += align8(entry_bytes(e))) {
        e = (const struct entry *)(const void *)(s->copies + off);
        item_of(e, e->meta, entry_has_ttl(e) ? entry_expire_ms(e) : 0, &it);
        if (visit(arg, &it) != 0)
            return -1;
    }
    for (i = 0; i < s->nrefs; i++) {
        item_of(s->refs[i].e, s->refs[i].meta, s->refs[i].expire_ms, &it);
        if (visit(arg, &it) != 0)
            return -1;
    }
    return 0;
}

/* Fills s from up to SHARD_SLICE_BUCKETS buckets of sh from *cursor,
 * growing its buffers until they hold the whole slice; true when the
 * shard's scan is complete. -1 in *rc when memory ran out. */
static bool
collect(struct shard *sh, struct scan_slice *s, size_t *cursor, int *rc)
{
    size_t start = *cursor;
    bool done;

    for (;;) {
        *cursor = start;
        s->used = s->need_bytes = s->need_refs = 0;
        shard_lock(sh);
        done = htable_scan(&sh->table, cursor, SHARD_SLICE_BUCKETS,
                           visit_locked, s);
        shard_unlock(sh);
        if (s->need_bytes <= s->cap && s->need_refs <= s->refcap)
            return done;
        release_refs(s);
        if (grow(s) != 0) {
            *rc = -1;
            return false;
        }
    }
}

int
store_scan_slice(struct store *st, struct store_scan *sc,
                 int (*visit)(void *arg, const struct store_item *it),
                 void *arg)
{
    struct scan_slice s = {0};
    size_t cursor = sc->cursor;
    bool done = false;
    int rc = 0;

    if (sc->shard >= st->cfg.shards)
        return 1;
    s.now_ms = store_now(st);
    s.copies = malloc(SCAN_COPY_BYTES);
    s.refs = malloc(SCAN_REFS * sizeof *s.refs);
    if (s.copies == NULL || s.refs == NULL)
        rc = -1;
    s.cap = s.copies != NULL ? SCAN_COPY_BYTES : 0;
    s.refcap = s.refs != NULL ? SCAN_REFS : 0;
    if (rc == 0)
        done = collect(&st->shards[sc->shard], &s, &cursor, &rc);
    if (rc == 0)
        rc = hand_out(&s, visit, arg);
    release_refs(&s);
    free(s.copies);
    free(s.refs);
    if (rc != 0)
        return -1;
    sc->cursor = cursor;
    if (done) {
        sc->shard++;
        sc->cursor = 0;
    }
    return sc->shard >= st->cfg.shards ? 1 : 0;
}

void
store_load_reserve(struct store *st, uint64_t n)
{
    uint64_t per = (n + st->cfg.shards - 1) / st->cfg.shards;
    uint32_t i;

    for (i = 0; i < st->cfg.shards; i++) {
        shard_lock(&st->shards[i]);
        htable_reserve(&st->shards[i].table,
                       per < SIZE_MAX ? (size_t)per : SIZE_MAX);
        shard_unlock(&st->shards[i]);
    }
}

enum store_status
store_load_entry(struct store *st, const char *ns, size_t nslen,
                 const char *key, size_t klen, const void *val, size_t vlen,
                 uint64_t expire_ms)
{
    unsigned flags = entry_flags_for(nslen, vlen, expire_ms != 0 ? 1 : 0);
    struct entry *e, *old;
    struct store_ref r;
    enum store_status rc;

    rc = store_ref_init(st, &r, ns, nslen, key, klen);
    if (rc != STORE_OK)
        return rc;
    if (!store_fits(st, &r, vlen, flags))
        return STORE_TOO_LARGE;
    e = entry_create(&r.name, val, vlen, flags, expire_ms, 0);
    if (e == NULL)
        return STORE_NO_MEMORY;
    shard_lock(r.sh);
    old = htable_find(&r.sh->table, r.h, &r.name);
    if (!store_reserve_for(st, e, old)) {
        shard_unlock(r.sh);
        entry_put(e);
        return STORE_NO_SPACE;
    }
    store_replace_locked(st, &r, e, old);
    shard_unlock(r.sh);
    entry_put(old);
    return STORE_OK;
}
