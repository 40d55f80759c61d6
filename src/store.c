/*
 * store.c: S shards under exact global limits, with global LRU eviction.
 *
 * Limits. items and bytes count what the shards hold plus what writers have
 * reserved; they move only by reservation, a compare-exchange that refuses
 * to pass max_items / max_memory_bytes, taken before an entry is linked and
 * given back after one is unlinked. So neither limit is ever exceeded, and
 * no global lock is needed.
 *
 * Eviction. Every Get hit and Set takes a stamp from the global use counter;
 * each shard publishes the stamp of its LRU tail (shard.h). A Set that cannot
 * reserve drops its own shard lock, picks the shard whose tail stamp is the
 * oldest, locks only that shard, unlinks its tail, gives back its share,
 * unlocks, frees it, then relocks its own shard, looks its key up again and
 * retries. At most one shard lock is ever held, so there is no lock order.
 * Sequential calls get exact global LRU; concurrent ones best effort.
 *
 * Fields: cfg, clock, key and shards are immutable after store_create()
 * (the shards' contents follow shard.h's locking). items, bytes and use are
 * atomics, each on its own cache line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "shard.h"
#include "store.h"
#include "utf8.h"

struct store_sweep_arg {
    struct store *st;
    struct shard *sh;
};

struct store {
    struct store_config cfg;
    struct clock clock;
    struct hash_key key;
    uint32_t shard_shift; /* hash >> shard_shift = shard index */
    struct shard *shards;
    struct cleanup **cleanups;
    struct store_sweep_arg *sweep_args;
    _Atomic uint64_t items __attribute__((aligned(TC_CACHELINE)));
    _Atomic uint64_t bytes __attribute__((aligned(TC_CACHELINE)));
    _Atomic uint64_t use __attribute__((aligned(TC_CACHELINE)));
};

static bool
config_ok(const struct store_config *c)
{
    return c->shards >= 1 && c->shards <= 1024 &&
           (c->shards & (c->shards - 1)) == 0 && c->max_items >= 1 &&
           c->max_memory_bytes >= 1 && c->max_value_bytes >= 1 &&
           c->max_value_bytes <= c->max_memory_bytes &&
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

static uint64_t
store_now(struct store *st)
{
    return st->clock.now_ms(st->clock.ctx);
}

static struct shard *
shard_of(struct store *st, uint64_t h)
{
    return &st->shards[st->shard_shift >= 64 ? 0 : h >> st->shard_shift];
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

static void
release(struct store *st, uint64_t items, uint64_t bytes)
{
    atomic_fetch_sub_explicit(&st->items, items, memory_order_relaxed);
    atomic_fetch_sub_explicit(&st->bytes, bytes, memory_order_relaxed);
}

static uint64_t
next_stamp(struct store *st)
{
    return atomic_fetch_add_explicit(&st->use, 1, memory_order_relaxed);
}

/* Unlinks e, found under h in sh (lock held), and gives back its share. */
static void
remove_locked(struct store *st, struct shard *sh, struct entry *e, uint64_t h)
{
    shard_unlink_locked(sh, e, h);
    release(st, 1, shard_entry_bytes(e));
}

static bool
expired_now(struct store *st, const struct entry *e)
{
    return entry_has_ttl(e) && entry_expired(e, store_now(st));
}

enum store_status
store_get(struct store *st, const char *key, size_t klen, struct buf *out)
{
    const unsigned char *val;
    struct entry *e, *dead = NULL;
    struct shard *sh;
    uint64_t h;
    int rc;

    if (!key_ok(key, klen))
        return STORE_BAD_KEY;
    if (buf_reserve(out, ENTRY_SHARED_MIN) != 0)
        return STORE_NO_MEMORY;
    h = hash_sip13(&st->key, key, klen);
    sh = shard_of(st, h);
    shard_lock(sh);
    sh->st.gets++;
    e = htable_find(&sh->table, h, key, klen);
    if (e != NULL && expired_now(st, e)) {
        remove_locked(st, sh, e, h);
        sh->st.expired_removals++;
        dead = e;
        e = NULL;
    }
    if (e == NULL) {
        sh->st.misses++;
        shard_unlock(sh);
        entry_put(dead);
        return STORE_NOT_FOUND;
    }
    sh->st.hits++;
    shard_touch_locked(sh, e, next_stamp(st));
    if (!(entry_flags(e) & ENTRY_SHARED)) {
        memcpy(out->data, entry_value(e), e->vlen);
        out->len = e->vlen;
        shard_unlock(sh);
        return STORE_OK;
    }
    /* meta (the use stamp) changes under the lock: locate the value now */
    val = entry_value(e);
    entry_get_ref(e);
    shard_unlock(sh);
    rc = buf_set(out, val, e->vlen);
    entry_unref(e);
    return rc == 0 ? STORE_OK : STORE_NO_MEMORY;
}

/* Reserves what replacing old (NULL: none) by e adds; true when it fits. */
static bool
reserve_for(struct store *st, const struct entry *e, const struct entry *old)
{
    uint64_t need = shard_entry_bytes(e);
    uint64_t have = old != NULL ? shard_entry_bytes(old) : 0;

    if (old == NULL && !reserve(&st->items, 1, st->cfg.max_items))
        return false;
    if (need > have &&
        !reserve(&st->bytes, need - have, st->cfg.max_memory_bytes)) {
        if (old == NULL)
            release(st, 1, 0);
        return false;
    }
    if (need < have)
        release(st, 0, have - need);
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

/* Evicts the least recently used entry of the whole store other than key's
 * own. No lock held on entry or exit. false when there was nothing to evict. */
static bool
evict_oldest(struct store *st, struct shard *own, uint64_t own_stamp,
             const char *key, size_t klen)
{
    uint32_t tries = st->cfg.shards * 2 + 8;
    struct shard *vs;
    struct entry *v;

    while (tries-- > 0 && (vs = oldest_shard(st, own, own_stamp)) != NULL) {
        shard_lock(vs);
        v = shard_lru_victim_locked(vs, vs == own ? key : NULL, klen);
        if (v == NULL) {
            shard_unlock(vs);
            if (vs == own)
                own_stamp = SHARD_EMPTY_STAMP;
            continue;
        }
        if (expired_now(st, v))
            vs->st.expired_removals++;
        else
            vs->st.lru_evictions++;
        remove_locked(st, vs, v,
                      htable_hash(&vs->table, entry_key(v), entry_klen(v)));
        shard_unlock(vs);
        entry_put(v);
        return true;
    }
    return false;
}

/* Called with own's lock held; drops it while evicting, holds it again on
 * return. */
static bool
evict_one(struct store *st, struct shard *own, const char *key, size_t klen)
{
    struct entry *v = shard_lru_victim_locked(own, key, klen);
    uint64_t own_stamp = v != NULL ? entry_stamp(v) : SHARD_EMPTY_STAMP;
    bool ok;

    shard_unlock(own);
    ok = evict_oldest(st, own, own_stamp, key, klen);
    shard_lock(own);
    return ok;
}

/* Links e in place of key's current entry, evicting others until it fits.
 * sh's lock is held throughout (but dropped while evicting); on STORE_OK
 * *old is the replaced entry (or NULL), for the caller to put. */
static enum store_status
set_locked(struct store *st, struct shard *sh, struct entry *e, uint64_t h,
           struct entry **old)
{
    const char *key = entry_key(e);
    size_t klen = entry_klen(e);

    for (;;) {
        *old = htable_find(&sh->table, h, key, klen);
        if (reserve_for(st, e, *old))
            break;
        if (!evict_one(st, sh, key, klen))
            return STORE_NO_SPACE;
    }
    if (*old != NULL)
        shard_unlink_locked(sh, *old, h);
    entry_set_stamp(e, next_stamp(st));
    shard_link_locked(sh, e, h);
    return STORE_OK;
}

static void
count_set(struct shard *sh, uint64_t *counter)
{
    shard_lock(sh);
    sh->st.sets++;
    if (counter != NULL)
        (*counter)++;
    shard_unlock(sh);
}

enum store_status
store_set(struct store *st, const char *key, size_t klen, const void *val,
          size_t vlen, int32_t ttl_s)
{
    unsigned flags = entry_flags_for(vlen, ttl_s);
    struct entry *e, *old = NULL;
    enum store_status rc;
    struct shard *sh;
    uint64_t h, expire = 0;

    if (!key_ok(key, klen))
        return STORE_BAD_KEY;
    h = hash_sip13(&st->key, key, klen);
    sh = shard_of(st, h);
    if (vlen > st->cfg.max_value_bytes ||
        entry_accounted(klen, vlen, flags) > st->cfg.max_memory_bytes) {
        count_set(sh, &sh->st.rejected_oversize);
        return STORE_TOO_LARGE;
    }
    if (ttl_s > 0)
        expire = store_now(st) + (uint64_t)ttl_s * 1000;
    e = entry_create(key, klen, val, vlen, flags, expire, 0);
    if (e == NULL) {
        count_set(sh, NULL);
        return STORE_NO_MEMORY;
    }
    shard_lock(sh);
    sh->st.sets++;
    rc = set_locked(st, sh, e, h, &old);
    if (rc != STORE_OK)
        sh->st.rejected_capacity++;
    shard_unlock(sh);
    entry_put(rc == STORE_OK ? old : e);
    return rc;
}

enum store_status
store_del(struct store *st, const char *key, size_t klen)
{
    enum store_status rc = STORE_NOT_FOUND;
    struct entry *e;
    struct shard *sh;
    uint64_t h;

    if (!key_ok(key, klen))
        return STORE_BAD_KEY;
    h = hash_sip13(&st->key, key, klen);
    sh = shard_of(st, h);
    shard_lock(sh);
    sh->st.deletes++;
    e = htable_find(&sh->table, h, key, klen);
    if (e != NULL) {
        if (expired_now(st, e))
            sh->st.expired_removals++;
        else
            rc = STORE_OK;
        remove_locked(st, sh, e, h);
    }
    shard_unlock(sh);
    entry_put(e);
    return rc;
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

/* One cleanup slice of a's shard; adds the removed count to *removed. */
static bool
sweep_slice(struct store_sweep_arg *a, uint64_t *removed)
{
    struct shard_sweep sw;
    struct entry *e, *next;

    shard_expire_slice(a->sh, store_now(a->st), &sw);
    release(a->st, sw.removed, sw.bytes);
    for (e = sw.victims; e != NULL; e = next) {
        next = e->next;
        entry_put(e);
    }
    *removed += sw.removed;
    return sw.pass_done;
}

static bool
cleanup_slice(void *arg)
{
    uint64_t removed = 0;

    return sweep_slice(arg, &removed);
}

uint64_t
store_cleanup_pass(struct store *st)
{
    struct store_sweep_arg a = {st, NULL};
    uint64_t removed = 0;
    uint32_t i;

    for (i = 0; i < st->cfg.shards; i++) {
        a.sh = &st->shards[i];
        while (!sweep_slice(&a, &removed))
            ;
    }
    return removed;
}

int
store_start_cleanup(struct store *st)
{
    uint32_t i, n = st->cfg.shards;

    st->sweep_args = calloc(n, sizeof *st->sweep_args);
    st->cleanups = calloc(n, sizeof *st->cleanups);
    if (st->sweep_args == NULL || st->cleanups == NULL)
        goto fail;
    for (i = 0; i < n; i++) {
        st->sweep_args[i].st = st;
        st->sweep_args[i].sh = &st->shards[i];
        st->cleanups[i] = cleanup_start(st->cfg.cleanup_interval_s,
                                        cleanup_slice, &st->sweep_args[i]);
        if (st->cleanups[i] == NULL)
            goto fail;
    }
    return 0;
fail:
    if (st->cleanups != NULL)
        for (i = 0; i < n; i++)
            cleanup_stop(st->cleanups[i]);
    free(st->cleanups);
    free(st->sweep_args);
    st->cleanups = NULL;
    st->sweep_args = NULL;
    return -1;
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
    };

    return (unsigned)s < TC_ARRAY_LEN(names) ? names[s] : "unknown";
}
