/*
 * store.c: S shards under exact global limits, with global LRU eviction;
 * Get, Set, Delete and stats. The conditional writes and Touch are in
 * store_cond.c, Increment in store_incr.c, cleanup and Flush in
 * store_sweep.c, all on the helpers declared in store_impl.h.
 *
 * Limits. items and bytes count what the shards hold plus what writers have
 * reserved; they move only by reservation, a compare-exchange that refuses
 * to pass max_items / max_memory_bytes, taken before an entry is linked and
 * given back after one is unlinked. So neither limit is ever exceeded, and
 * no global lock is needed.
 *
 * Eviction. Every Get hit and write takes a stamp from the global use
 * counter; each shard publishes the stamp of its LRU tail (shard.h). A
 * write that cannot reserve drops its own shard lock, picks the shard whose
 * tail stamp is the oldest, locks only that shard, unlinks its tail, gives
 * back its share, unlocks, frees it, then relocks its own shard, looks its
 * key up again and retries. At most one shard lock is ever held, so there
 * is no lock order. Sequential calls get exact global LRU; concurrent ones
 * best effort.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "utf8.h"

static bool
config_ok(const struct store_config *c)
{
    return c->shards >= 1 && c->shards <= 1024 &&
           (c->shards & (c->shards - 1)) == 0 && c->max_items >= 1 &&
           c->max_memory_bytes >= 1 && c->max_value_bytes >= 1 &&
           c->max_value_bytes <= c->max_memory_bytes &&
           c->max_value_bytes <= UINT32_MAX && /* an entry's vlen */
           c->cleanup_interval_s >= 1;
}

struct store *
store_create(const struct store_config *cfg, const struct clock *clk)
{
    struct store *st;
    uint32_t i;

    if (!config_ok(cfg)) {
        errno = EINVAL;
        return NULL;
    }
    entry_malloc_init();
    st = aligned_alloc(TC_CACHELINE, sizeof *st);
    if (st == NULL)
        return NULL;
    memset(st, 0, sizeof *st);
    st->cfg = *cfg;
    st->clock = *clk;
    hash_key_random(&st->key);
    st->shard_shift = 64;
    for (i = cfg->shards; i > 1; i >>= 1)
        st->shard_shift--;
    atomic_init(&st->use, 1);
    st->shards = aligned_alloc(TC_CACHELINE, cfg->shards * sizeof *st->shards);
    if (st->shards == NULL)
        goto fail;
    for (i = 0; i < cfg->shards; i++) {
        if (shard_init(&st->shards[i], &st->key) != 0) {
            while (i-- > 0)
                shard_fini(&st->shards[i]);
            free(st->shards);
            goto fail;
        }
    }
    return st;
fail:
    free(st);
    errno = ENOMEM;
    return NULL;
}

void
store_destroy(struct store *st)
{
    uint32_t i;

    if (st == NULL)
        return;
    if (st->cleanups != NULL)
        for (i = 0; i < st->cfg.shards; i++)
            cleanup_stop(st->cleanups[i]);
    free(st->cleanups);
    free(st->sweep_args);
    for (i = 0; i < st->cfg.shards; i++)
        shard_fini(&st->shards[i]);
    free(st->shards);
    free(st);
}

uint32_t
store_shard_count(const struct store *st)
{
    return st->cfg.shards;
}

void
store_usage(struct store *st, uint64_t *items, uint64_t *bytes)
{
    *items = atomic_load_explicit(&st->items, memory_order_relaxed);
    *bytes = atomic_load_explicit(&st->bytes, memory_order_relaxed);
}

const struct store_config *
store_config(const struct store *st)
{
    return &st->cfg;
}

uint64_t
store_now(struct store *st)
{
    return st->clock.now_ms(st->clock.ctx);
}

static bool
key_ok(const char *key, size_t klen)
{
    long n;

    if (klen == 0 || klen > ENTRY_KLEN_MAX)
        return false;
    n = utf8_count(key, klen, STORE_MAX_KEY_CHARS);
    return n >= 1 && n <= STORE_MAX_KEY_CHARS;
}

static inline enum store_status
ref_init(struct store *st, struct store_ref *r, const char *ns, size_t nslen,
         const char *key, size_t klen)
{
    if (nslen > STORE_MAX_NS_BYTES)
        return STORE_BAD_NAMESPACE;
    if (!key_ok(key, klen))
        return STORE_BAD_KEY;
    r->name = (struct entry_name){ns, nslen, key, klen};
    r->h = hash_name(&st->key, ns, nslen, key, klen);
    r->sh = &st->shards[st->shard_shift >= 64 ? 0 : r->h >> st->shard_shift];
    return STORE_OK;
}

enum store_status
store_ref_init(struct store *st, struct store_ref *r, const char *ns,
               size_t nslen, const char *key, size_t klen)
{
    return ref_init(st, r, ns, nslen, key, klen);
}

/* Adds n to *v unless that would pass max; true when added. */
static bool
reserve(_Atomic uint64_t *v, uint64_t n, uint64_t max)
{
    uint64_t cur = atomic_load_explicit(v, memory_order_relaxed);

    do {
        if (n > max || cur > max - n)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(
        v, &cur, cur + n, memory_order_relaxed, memory_order_relaxed));
    return true;
}

void
store_release(struct store *st, uint64_t items, uint64_t bytes)
{
    atomic_fetch_sub_explicit(&st->items, items, memory_order_relaxed);
    atomic_fetch_sub_explicit(&st->bytes, bytes, memory_order_relaxed);
}

uint64_t
store_next_stamp(struct store *st)
{
    return atomic_fetch_add_explicit(&st->use, 1, memory_order_relaxed);
}

uint64_t
store_next_stamps(struct store *st, uint64_t n)
{
    return atomic_fetch_add_explicit(&st->use, n, memory_order_relaxed);
}

/* Unlinks e, found under h in sh (lock held), and gives back its share. */
static void
remove_locked(struct store *st, struct shard *sh, struct entry *e, uint64_t h)
{
    shard_unlink_locked(sh, e, h);
    store_release(st, 1, shard_entry_bytes(e));
}

void
store_remove_locked(struct store *st, const struct store_ref *r,
                    struct entry *e)
{
    remove_locked(st, r->sh, e, r->h);
}

static bool
expired_now(struct store *st, const struct entry *e)
{
    return entry_has_ttl(e) && entry_expired(e, store_now(st));
}

static inline struct entry *
find_live_locked(struct store *st, const struct store_ref *r,
                 struct entry **dead)
{
    struct entry *e = htable_find(&r->sh->table, r->h, &r->name);

    if (e == NULL || !expired_now(st, e))
        return e;
    remove_locked(st, r->sh, e, r->h);
    r->sh->st.expired_removals++;
    entry_set_next(e, *dead);
    *dead = e;
    return NULL;
}

struct entry *
store_find_live_locked(struct store *st, const struct store_ref *r,
                       struct entry **dead)
{
    return find_live_locked(st, r, dead);
}

void
store_put_all(struct entry *list)
{
    struct entry *e, *next;

    for (e = list; e != NULL; e = next) {
        next = entry_next(e);
        entry_put(e);
    }
}

enum store_status
store_get(struct store *st, const char *ns, size_t nslen, const char *key,
          size_t klen, struct buf *out)
{
    const unsigned char *val;
    struct entry *e, *dead = NULL;
    struct store_ref r;
    enum store_status rc;

    rc = ref_init(st, &r, ns, nslen, key, klen);
    if (rc != STORE_OK)
        return rc;
    if (buf_reserve(out, ENTRY_SHARED_MIN) != 0)
        return STORE_NO_MEMORY;
    shard_lock(r.sh);
    r.sh->st.gets++;
    e = find_live_locked(st, &r, &dead);
    if (e == NULL) {
        r.sh->st.misses++;
        shard_unlock(r.sh);
        entry_put(dead);
        return STORE_NOT_FOUND;
    }
    r.sh->st.hits++;
    shard_touch_locked(r.sh, e, store_next_stamp(st));
    if (!(entry_flags(e) & ENTRY_SHARED)) {
        memcpy(out->data, entry_value(e), e->vlen);
        out->len = e->vlen;
        shard_unlock(r.sh);
        return STORE_OK;
    }
    /* meta (the use stamp) changes under the lock: locate the value now */
    val = entry_value(e);
    entry_get_ref(e);
    shard_unlock(r.sh);
    rc = buf_set(out, val, e->vlen) == 0 ? STORE_OK : STORE_NO_MEMORY;
    entry_unref(e);
    return rc;
}

bool
store_reserve_for(struct store *st, const struct entry *e,
                  const struct entry *old)
{
    uint64_t need = shard_entry_bytes(e);
    uint64_t have = old != NULL ? shard_entry_bytes(old) : 0;

    if (old == NULL && !reserve(&st->items, 1, st->cfg.max_items))
        return false;
    if (need > have &&
        !reserve(&st->bytes, need - have, st->cfg.max_memory_bytes)) {
        if (old == NULL)
            store_release(st, 1, 0);
        return false;
    }
    if (need < have)
        store_release(st, 0, have - need);
    return true;
}

/* The shard whose LRU tail is the oldest, own's candidate being own_stamp;
 * NULL when every shard is empty. */
static struct shard *
oldest_shard(struct store *st, struct shard *own, uint64_t own_stamp)
{
    uint64_t best = SHARD_EMPTY_STAMP, s;
    struct shard *victim = NULL;
    uint32_t i;

    for (i = 0; i < st->cfg.shards; i++) {
        s = &st->shards[i] == own ? own_stamp
                                  : shard_tail_stamp(&st->shards[i]);
        if (s < best) {
            best = s;
            victim = &st->shards[i];
        }
    }
    return victim;
}

/* Evicts the least recently used entry of the whole store other than r's
 * own. No lock held on entry or exit. false when there was nothing to evict. */
static bool
evict_oldest(struct store *st, const struct store_ref *r, uint64_t own_stamp)
{
    uint32_t tries = st->cfg.shards * 2 + 8;
    struct shard *vs;
    struct entry *v;

    while (tries-- > 0 && (vs = oldest_shard(st, r->sh, own_stamp)) != NULL) {
        shard_lock(vs);
        v = shard_lru_victim_locked(vs, vs == r->sh ? &r->name : NULL);
        if (v == NULL) {
            shard_unlock(vs);
            if (vs == r->sh)
                own_stamp = SHARD_EMPTY_STAMP;
            continue;
        }
        if (expired_now(st, v))
            vs->st.expired_removals++;
        else
            vs->st.lru_evictions++;
        remove_locked(st, vs, v, htable_entry_hash(&vs->table, v));
        shard_unlock(vs);
        entry_put(v);
        return true;
    }
    return false;
}

bool
store_evict_one_locked(struct store *st, const struct store_ref *r)
{
    struct entry *v = shard_lru_victim_locked(r->sh, &r->name);
    uint64_t own_stamp = v != NULL ? entry_stamp(v) : SHARD_EMPTY_STAMP;
    bool ok;

    shard_unlock(r->sh);
    ok = evict_oldest(st, r, own_stamp);
    shard_lock(r->sh);
    return ok;
}

void
store_replace_locked(struct store *st, const struct store_ref *r,
                     struct entry *e, struct entry *old)
{
    if (old != NULL)
        shard_unlink_locked(r->sh, old, r->h);
    entry_set_stamp(e, store_next_stamp(st));
    shard_link_locked(r->sh, e, r->h);
}

/* Links e in place of r's current entry, evicting others until it fits;
 * on STORE_OK *old is the replaced entry (or NULL), for the caller to put. */
static enum store_status
set_locked(struct store *st, const struct store_ref *r, struct entry *e,
           struct entry **old)
{
    for (;;) {
        *old = htable_find(&r->sh->table, r->h, &r->name);
        if (store_reserve_for(st, e, *old))
            break;
        if (!store_evict_one_locked(st, r))
            return STORE_NO_SPACE;
    }
    store_replace_locked(st, r, e, *old);
    return STORE_OK;
}

void
store_count_set(struct shard *sh, uint64_t *counter)
{
    shard_lock(sh);
    sh->st.sets++;
    if (counter != NULL)
        (*counter)++;
    shard_unlock(sh);
}

bool
store_fits(const struct store *st, const struct store_ref *r, size_t vlen,
           unsigned flags)
{
    return vlen <= st->cfg.max_value_bytes &&
           entry_accounted(r->name.klen + r->name.nslen, vlen, flags) <=
               st->cfg.max_memory_bytes;
}

enum store_status
store_new_entry(struct store *st, const struct store_ref *r, const void *val,
                size_t vlen, int32_t ttl_s, struct entry **e)
{
    unsigned flags = entry_flags_for(r->name.nslen, vlen, ttl_s);
    uint64_t expire = 0;

    if (!store_fits(st, r, vlen, flags)) {
        store_count_set(r->sh, &r->sh->st.rejected_oversize);
        return STORE_TOO_LARGE;
    }
    if (ttl_s > 0)
        expire = store_now(st) + (uint64_t)ttl_s * 1000;
    *e = entry_create(&r->name, val, vlen, flags, expire, 0);
    if (*e == NULL) {
        store_count_set(r->sh, NULL);
        return STORE_NO_MEMORY;
    }
    return STORE_OK;
}

enum store_status
store_write_begin(struct store *st, struct store_ref *r, const char *ns,
                  size_t nslen, const char *key, size_t klen, const void *val,
                  size_t vlen, int32_t ttl_s, struct entry **e)
{
    enum store_status rc = ref_init(st, r, ns, nslen, key, klen);

    if (rc == STORE_OK)
        rc = store_new_entry(st, r, val, vlen, ttl_s, e);
    if (rc != STORE_OK)
        return rc;
    shard_lock(r->sh);
    r->sh->st.sets++;
    return STORE_OK;
}

enum store_status
store_set(struct store *st, const char *ns, size_t nslen, const char *key,
          size_t klen, const void *val, size_t vlen, int32_t ttl_s)
{
    struct entry *e, *old = NULL;
    enum store_status rc;
    struct store_ref r;

    rc = store_write_begin(st, &r, ns, nslen, key, klen, val, vlen, ttl_s, &e);
    if (rc != STORE_OK)
        return rc;
    rc = set_locked(st, &r, e, &old);
    if (rc != STORE_OK)
        r.sh->st.rejected_capacity++;
    shard_unlock(r.sh);
    entry_put(rc == STORE_OK ? old : e);
    return rc;
}

enum store_status
store_del(struct store *st, const char *ns, size_t nslen, const char *key,
          size_t klen)
{
    struct entry *e, *dead = NULL;
    enum store_status rc;
    struct store_ref r;

    rc = ref_init(st, &r, ns, nslen, key, klen);
    if (rc != STORE_OK)
        return rc;
    shard_lock(r.sh);
    r.sh->st.deletes++;
    e = find_live_locked(st, &r, &dead);
    if (e != NULL)
        remove_locked(st, r.sh, e, r.h);
    shard_unlock(r.sh);
    entry_put(e);
    entry_put(dead);
    return e != NULL ? STORE_OK : STORE_NOT_FOUND;
}

void
store_stats(struct store *st, struct shard_stats *total,
            struct shard_stats *per_shard)
{
    struct shard_stats one;
    uint32_t i;

    memset(total, 0, sizeof *total);
    for (i = 0; i < st->cfg.shards; i++) {
        shard_lock(&st->shards[i]);
        one = st->shards[i].st;
        shard_unlock(&st->shards[i]);
        if (per_shard != NULL)
            per_shard[i] = one;
        stats_add(total, &one);
    }
}

const char *
store_status_str(enum store_status s)
{
    static const char *const names[] = {
        [STORE_OK] = "ok",
        [STORE_NOT_FOUND] = "not found",
        [STORE_BAD_KEY] = "invalid key",
        [STORE_TOO_LARGE] = "value too large",
        [STORE_NO_SPACE] = "no space left",
        [STORE_NO_MEMORY] = "out of memory",
        [STORE_EXISTS] = "exists",
        [STORE_MISMATCH] = "value mismatch",
        [STORE_NOT_NUMBER] = "not a number",
        [STORE_OUT_OF_RANGE] = "out of range",
        [STORE_BAD_NAMESPACE] = "invalid namespace",
    };

    return (unsigned)s < TC_ARRAY_LEN(names) ? names[s] : "unknown";
}
