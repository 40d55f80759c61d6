/*
 * store_impl.h: what the store's own files share (store.c: limits,
 * eviction, get/set/del; store_batch.c: the Get of many keys;
 * store_cond.c: set-if-absent, compare-and-set,
 * touch; store_incr.c: increment; store_sweep.c: cleanup and flush;
 * store_snap.c: the scan and load a snapshot uses). Not
 * for other modules: they use store.h.
 *
 * Fields of struct store: cfg, clock, key and shards are immutable after
 * store_create() (the shards' contents follow shard.h's locking). items,
 * bytes and use are atomics, each on its own cache line.
 *
 * Functions named _locked expect the lock of the shard sh they are given to
 * be held, and hold it again on return; store_evict_one_locked() drops it
 * meanwhile, so whatever the caller looked up under it must be looked up
 * again.
 */
#ifndef STORE_IMPL_H
#define STORE_IMPL_H

#include "cleanup.h"
#include "shard.h"
#include "store.h"

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

/* A call's checked name, its hash and its shard. */
struct store_ref {
    struct entry_name name;
    uint64_t h;
    struct shard *sh;
};

/* Checks ns and key (STORE_BAD_NAMESPACE, STORE_BAD_KEY) and fills r. */
enum store_status store_ref_init(struct store *st, struct store_ref *r,
                                 const char *ns, size_t nslen, const char *key,
                                 size_t klen);

uint64_t store_next_stamp(struct store *st);
/* The first of n consecutive stamps, taken at once. */
uint64_t store_next_stamps(struct store *st, uint64_t n);
/* True when a value of vlen bytes under r's name, with these entry flags,
 * could ever be stored (max_value_bytes, and max_memory_bytes alone). */
bool store_fits(const struct store *st, const struct store_ref *r, size_t vlen,
                unsigned flags);
/* The first steps of a write of vlen bytes at val with ttl_s: checks that
 * it can ever fit and allocates its entry into *e (val NULL: value bytes
 * left to fill). STORE_OK (nothing counted: the caller counts the set
 * under its lock), or STORE_TOO_LARGE / STORE_NO_MEMORY, set counted. */
enum store_status store_new_entry(struct store *st, const struct store_ref *r,
                                  const void *val, size_t vlen, int32_t ttl_s,
                                  struct entry **e);
/* The first steps of every write of a new value: the name checked into
 * *r, the entry allocated into *e (store_new_entry), then r's shard locked
 * and a set counted. STORE_OK with the shard locked, or the status of the
 * check or the allocation with nothing locked and nothing allocated. */
enum store_status store_write_begin(struct store *st, struct store_ref *r,
                                    const char *ns, size_t nslen,
                                    const char *key, size_t klen,
                                    const void *val, size_t vlen, int32_t ttl_s,
                                    struct entry **e);
/* Counts a set on sh and, when counter is not NULL, that counter too;
 * takes and drops sh's lock. */
void store_count_set(struct shard *sh, uint64_t *counter);

/* Gives back items and bytes of the global reservation. */
void store_release(struct store *st, uint64_t items, uint64_t bytes);
/* Reserves what replacing old (NULL: none) by e adds; true when it fits,
 * false with nothing reserved. */
bool store_reserve_for(struct store *st, const struct entry *e,
                       const struct entry *old);
/* Evicts the least recently used entry of the whole store other than r's
 * own; drops r->sh's lock meanwhile. false when nothing could be evicted. */
bool store_evict_one_locked(struct store *st, const struct store_ref *r);
/* Unlinks e from r->sh and gives back its share; the caller puts it after
 * unlocking. */
void store_remove_locked(struct store *st, const struct store_ref *r,
                         struct entry *e);
/* Links e, for which store_reserve_for(e, old) succeeded, in place of old
 * (NULL: none), as the most recently used entry. The caller puts old. */
void store_replace_locked(struct store *st, const struct store_ref *r,
                          struct entry *e, struct entry *old);
/* r's live entry, or NULL. An expired one is removed, counted as an
 * expired removal and pushed on *dead (linked by next) for the caller to
 * put once unlocked (store_put_all). */
struct entry *store_find_live_locked(struct store *st,
                                     const struct store_ref *r,
                                     struct entry **dead);
/* Puts every entry of a list linked by next. */
void store_put_all(struct entry *list);

#endif
