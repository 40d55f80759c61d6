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
        next = e->next;
        entry_put(e);
    }
    lru_init(&sh->lru);
    htable_fini(&sh->table);
    pthread_mutex_destroy(&sh->lock);
}

uint64_t
shard_entry_bytes(const struct entry *e)
{
    return entry_accounted(entry_klen(e), e->vlen, entry_flags(e));
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
shard_lru_victim_locked(struct shard *sh, const char *skip_key,
                        size_t skip_klen)
{
    struct entry *e = sh->lru.tail;

    if (e != NULL && skip_key != NULL && entry_key_eq(e, skip_key, skip_klen))
        e = e->prev;
    return e;
}

struct sweep_ctx {
    struct shard *sh;
    uint64_t now_ms;
    struct shard_sweep *out;
};

static bool
sweep_drop(struct entry *e, void *arg)
{
    struct sweep_ctx *c = arg;
    uint64_t bytes;

    if (!entry_expired(e, c->now_ms))
        return false;
    bytes = shard_entry_bytes(e);
    lru_unlink(&c->sh->lru, e);
    c->sh->st.size--;
    c->sh->st.memory_usage_bytes -= bytes;
    c->sh->st.expired_removals++;
    e->next = c->out->victims;
    c->out->victims = e;
    c->out->removed++;
    c->out->bytes += bytes;
    return true;
}

void
shard_expire_slice(struct shard *sh, uint64_t now_ms, struct shard_sweep *out)
{
    struct sweep_ctx c = {sh, now_ms, out};

    out->victims = NULL;
    out->removed = out->bytes = 0;
    shard_lock(sh);
    out->pass_done = htable_sweep(&sh->table, &sh->sweep_cursor,
                                  SHARD_SLICE_BUCKETS, sweep_drop, &c);
    if (out->removed > 0)
        publish_tail_locked(sh);
    shard_unlock(sh);
}
