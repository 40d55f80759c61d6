/*
 * shard.h: one independently locked part of the store: a hash table, an LRU
 * list and the counters of the keys that hash to it.
 *
 * Invariants (with lock held): every entry is in both table and lru;
 * table.count == lru.len == st.size; st.memory_usage_bytes is the sum of
 * entry_accounted() over them; tail_stamp is the use stamp of lru.tail, or
 * SHARD_EMPTY_STAMP when the shard is empty.
 *
 * Locking: lock protects every field but tail_stamp, and every field of
 * every linked entry. tail_stamp is written under lock and read without it
 * by evictors choosing a victim shard. Functions named _locked expect the
 * caller to hold lock; nothing here takes another shard's lock.
 */
#ifndef SHARD_H
#define SHARD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "htable.h"
#include "lru.h"
#include "stats.h"
#include "tc.h"

#define SHARD_EMPTY_STAMP   UINT64_MAX
#define SHARD_SLICE_BUCKETS 256 /* buckets swept per lock hold */

struct shard {
    pthread_mutex_t lock;
    struct htable table;
    struct lru lru;
    struct shard_stats st;
    size_t sweep_cursor; /* next bucket the cleanup sweep visits */
    _Atomic uint64_t tail_stamp;
} __attribute__((aligned(TC_CACHELINE)));

/* 0, or -1 with nothing allocated. key is borrowed for the shard's life. */
int shard_init(struct shard *sh, const struct hash_key *key);
/* Frees every entry and the table (no other thread may use the shard). */
void shard_fini(struct shard *sh);

static inline void
shard_lock(struct shard *sh)
{
    pthread_mutex_lock(&sh->lock);
}

static inline void
shard_unlock(struct shard *sh)
{
    pthread_mutex_unlock(&sh->lock);
}

static inline uint64_t
shard_tail_stamp(struct shard *sh)
{
    return atomic_load_explicit(&sh->tail_stamp, memory_order_relaxed);
}

uint64_t shard_entry_bytes(const struct entry *e);
/* Links e (most recently used) under hash h. */
void shard_link_locked(struct shard *sh, struct entry *e, uint64_t h);
/* Unlinks e, found under hash h; the caller then owns its reference. */
void shard_unlink_locked(struct shard *sh, struct entry *e, uint64_t h);
/* Marks e used now: stamp it and move it to the head of the LRU. */
void shard_touch_locked(struct shard *sh, struct entry *e, uint64_t stamp);
/* The least recently used entry not named skip (NULL: none skipped), or
 * NULL. */
struct entry *shard_lru_victim_locked(struct shard *sh,
                                      const struct entry_name *skip);

/* Result of one cleanup or flush slice. */
struct shard_sweep {
    struct entry *victims; /* removed entries, linked by next; caller puts */
    uint64_t removed;      /* entries unlinked (victims) */
    uint64_t live;         /* of which not expired (flush only) */
    uint64_t bytes;        /* accounted bytes of the victims */
    bool pass_done;        /* the sweep wrapped around the table */
};

/* Takes the lock, sweeps up to SHARD_SLICE_BUCKETS buckets for entries
 * expired at now_ms, counts them as expired removals, drops the lock. */
void shard_expire_slice(struct shard *sh, uint64_t now_ms,
                        struct shard_sweep *out);
/* Takes the lock, removes every entry of the keyspace of nslen bytes at ns
 * (0: the shared keyspace) in up to SHARD_SLICE_BUCKETS buckets from
 * *cursor, drops the lock. Live entries count as flushed, expired ones (at
 * now_ms) as expired removals. Start with *cursor = 0 and call until
 * out->pass_done; a resize in between moves entries only to buckets the
 * cursor has still to visit, so every entry present at the start and not
 * removed meanwhile by another call is removed. */
void shard_flush_slice(struct shard *sh, const char *ns, size_t nslen,
                       uint64_t now_ms, size_t *cursor,
                       struct shard_sweep *out);

#endif
