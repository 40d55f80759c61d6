/*
 * shard.c: table + LRU + counters of one shard, under its lock.
 */
#include <string.h>

#include "shard.h"

/* An adaptive mutex spins briefly before sleeping: shard critical sections
 * last a few hundred nanoseconds, far less than a futex sleep and wake. */
static int
lock_init(pthread_mutex_t *mu)
{
    pthread_mutexattr_t attr;
    int rc;

    if (pthread_mutexattr_init(&attr) != 0)
        return -1;
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    rc = pthread_mutex_init(mu, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}

int
shard_init(struct shard *sh, const struct hash_key *key)
{
    memset(sh, 0, sizeof *sh);
    if (htable_init(&sh->table, key) != 0)
        return -1;
    if (lock_init(&sh->lock) != 0) {
        htable_fini(&sh->table);
        return -1;
    }
    lru_init(&sh->lru);
    atomic_init(&sh->tail_stamp, SHARD_EMPTY_STAMP);
    return 0;
}

void
shard_fini(struct shard *sh)
{
    struct entry *e, *next;

    for (e = sh->lru.head; e != NULL; e = next) {
        next = entry_next(e);
        entry_put(e);
    }
    lru_init(&sh->lru);
    htable_fini(&sh->table);
    pthread_mutex_destroy(&sh->lock);
}

uint64_t
shard_entry_bytes(const struct entry *e)
{
    return entry_accounted(entry_name_bytes(e), e->vlen, entry_flags(e));
}

static void
publish_tail_locked(struct shard *sh)
{
    uint64_t stamp =
        sh->lru.tail != NULL ? entry_stamp(sh->lru.tail) : SHARD_EMPTY_STAMP;

    atomic_store_explicit(&sh->tail_stamp, stamp, memory_order_relaxed);
}

void
shard_link_locked(struct shard *sh, struct entry *e, uint64_t h)
{
    htable_insert(&sh->table, e, h);
    lru_push_head(&sh->lru, e);
    sh->st.size++;
    sh->st.memory_usage_bytes += shard_entry_bytes(e);
    if (sh->lru.tail == e)
        publish_tail_locked(sh);
}

void
shard_unlink_locked(struct shard *sh, struct entry *e, uint64_t h)
{
    bool was_tail = sh->lru.tail == e;

    htable_remove(&sh->table, e, h);
    lru_unlink(&sh->lru, e);
    sh->st.size--;
    sh->st.memory_usage_bytes -= shard_entry_bytes(e);
    if (was_tail)
        publish_tail_locked(sh);
}

void
shard_touch_locked(struct shard *sh, struct entry *e, uint64_t stamp)
{
    bool was_tail = sh->lru.tail == e;

    entry_set_stamp(e, stamp);
    lru_move_head(&sh->lru, e);
    if (was_tail)
        publish_tail_locked(sh);
}

struct entry *
shard_lru_victim_locked(struct shard *sh, const struct entry_name *skip)
{
    struct entry *e = sh->lru.tail;

    if (e != NULL && skip != NULL && entry_name_eq(e, skip))
        e = entry_prev(e);
    return e;
}

struct sweep_ctx {
    struct shard *sh;
    uint64_t now_ms;
    const char *ns; /* flush: the keyspace emptied */
    size_t nslen;
    struct shard_sweep *out;
};

/* Moves e, just taken out of the table, from the shard to the victims. */
static void
sweep_take(struct sweep_ctx *c, struct entry *e)
{
    uint64_t bytes = shard_entry_bytes(e);

    lru_unlink(&c->sh->lru, e);
    c->sh->st.size--;
    c->sh->st.memory_usage_bytes -= bytes;
    entry_set_next(e, c->out->victims);
    c->out->victims = e;
    c->out->removed++;
    c->out->bytes += bytes;
}

static bool
expire_drop(struct entry *e, void *arg)
{
    struct sweep_ctx *c = arg;

    if (!entry_expired(e, c->now_ms))
        return false;
    c->sh->st.expired_removals++;
    sweep_take(c, e);
    return true;
}

static bool
flush_drop(struct entry *e, void *arg)
{
    struct sweep_ctx *c = arg;

    if (!entry_in_keyspace(e, c->ns, c->nslen))
        return false;
    if (entry_expired(e, c->now_ms)) {
        c->sh->st.expired_removals++;
    } else {
        c->sh->st.flushed++;
        c->out->live++;
    }
    sweep_take(c, e);
    return true;
}

static void
sweep_slice(struct sweep_ctx *c, size_t *cursor,
            bool (*drop)(struct entry *e, void *ctx))
{
    struct shard_sweep *out = c->out;

    out->victims = NULL;
    out->removed = out->live = out->bytes = 0;
    shard_lock(c->sh);
    out->pass_done =
        htable_sweep(&c->sh->table, cursor, SHARD_SLICE_BUCKETS, drop, c);
    if (out->removed > 0)
        publish_tail_locked(c->sh);
    shard_unlock(c->sh);
}

void
shard_expire_slice(struct shard *sh, uint64_t now_ms, struct shard_sweep *out)
{
    struct sweep_ctx c = {sh, now_ms, NULL, 0, out};

    sweep_slice(&c, &sh->sweep_cursor, expire_drop);
}

void
shard_flush_slice(struct shard *sh, const char *ns, size_t nslen,
                  uint64_t now_ms, size_t *cursor, struct shard_sweep *out)
{
    struct sweep_ctx c = {sh, now_ms, ns, nslen, out};

    sweep_slice(&c, cursor, flush_drop);
}
