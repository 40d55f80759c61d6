/*
 * store.h: the cache: S independently locked shards under exact global limits.
 *
 * Keys are (pointer, length) pairs of well-formed UTF-8 (1..256 code points,
 * U+0000 allowed); values are opaque bytes. Every call validates its key
 * first; counters count only calls whose key passed.
 *
 * Thread safety: every function below may be called from any thread at any
 * time between store_create() and store_destroy(). No call holds more than
 * one shard lock at once.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clock.h"
#include "stats.h"

#define STORE_MAX_KEY_CHARS 256

enum store_status {
    STORE_OK = 0,
    STORE_NOT_FOUND, /* get: missing or expired; del: nothing to delete */
    STORE_BAD_KEY,   /* empty, over 256 code points, or not UTF-8 */
    STORE_TOO_LARGE, /* value over max_value_bytes, or over the budget */
    STORE_NO_SPACE,  /* nothing left to evict */
    STORE_NO_MEMORY, /* malloc failed */
};

struct store_config {
    uint32_t shards;             /* power of two, 1..1024 */
    uint64_t max_items;          /* >= 1 */
    uint64_t max_memory_bytes;   /* >= 1 */
    uint64_t max_value_bytes;    /* 1..max_memory_bytes */
    uint32_t cleanup_interval_s; /* >= 1 */
};

struct store;

/* Builds an empty store; no thread runs until store_start_cleanup(). clk is
 * copied. Returns NULL (errno set) on failure or on an invalid config. */
struct store *store_create(const struct store_config *cfg,
                           const struct clock *clk);
/* Starts one cleanup thread per shard. 0, or -1 with no thread left running. */
int store_start_cleanup(struct store *st);
/* Stops the cleanup threads (promptly), frees every entry. NULL is a no-op. */
void store_destroy(struct store *st);

/* Copies the value of a live entry into out (replacing its contents).
 * STORE_OK, STORE_NOT_FOUND, STORE_BAD_KEY or STORE_NO_MEMORY (out
 * unchanged). The shard lock is not held while a large value is copied. */
enum store_status store_get(struct store *st, const char *key, size_t klen,
                            struct buf *out);
/* Stores a copy of key and value; ttl_s <= 0 means no expiry. On any status
 * but STORE_OK the previous value of key, if any, is untouched. */
enum store_status store_set(struct store *st, const char *key, size_t klen,
                            const void *val, size_t vlen, int32_t ttl_s);
/* STORE_OK when an entry was removed, STORE_NOT_FOUND when there was none
 * (both are success on the wire), or STORE_BAD_KEY. */
enum store_status store_del(struct store *st, const char *key, size_t klen);

/* Totals into *total; when per_shard is not NULL, each shard's figures into
 * per_shard[0..store_shard_count()-1]. Shards are read one at a time, so
 * totals are not one atomic cut. */
void store_stats(struct store *st, struct shard_stats *total,
                 struct shard_stats *per_shard);
uint32_t store_shard_count(const struct store *st);
/* The global reservation counters: entries and accounted bytes held or
 * reserved. Equal to the shards' totals whenever no call is in flight. */
void store_usage(struct store *st, uint64_t *items, uint64_t *bytes);
const struct store_config *store_config(const struct store *st);

/* Runs one full cleanup pass over every shard now, slice by slice, as the
 * cleanup threads do; returns the number of expired entries removed. */
uint64_t store_cleanup_pass(struct store *st);

/* A short human word for a status ("ok", "not found", ...). */
const char *store_status_str(enum store_status s);

#endif
