/*
 * store.h: the cache: S independently locked shards under exact global limits.
 *
 * Names. Every entry is named by a key within a keyspace. A keyspace is the
 * shared one (nslen 0; ns is then not read and may be NULL) or a namespace
 * of 1..STORE_MAX_NS_BYTES bytes. The store accepts any namespace bytes
 * (NUL included); the grammar namespaces follow on the wire is the
 * caller's to check. The same key in two keyspaces names two entries, and
 * no namespace and key pair can name an entry of another keyspace: names
 * are compared part by part, never as one concatenated string. Keys are
 * (pointer, length) pairs of well-formed UTF-8 (1..256 code points, U+0000
 * allowed), counted without the namespace; values are opaque bytes.
 * Keyspaces share the limits, the global LRU and the counters.
 *
 * Validation. Every call checks its namespace length (STORE_BAD_NAMESPACE)
 * and its key (STORE_BAD_KEY) first; such a call changes nothing and is not
 * counted. Counters count calls whose name passed.
 *
 * Atomicity. Each call on one key is atomic against every other call on
 * that key: what it reads, compares and writes is decided and done under
 * one hold of the key's shard lock (a call that must evict, or allocate a
 * differently sized entry, drops the lock, then looks at the key afresh and
 * decides again). A call takes only its own shard's lock, besides a victim
 * shard's while evicting, never two at once; so a batch of calls is not
 * atomic, and other calls may see part of it.
 *
 * Allocation. store_get allocates only when out must grow; set,
 * set-if-absent and compare-and-set allocate their new entry before taking
 * the lock; increment and touch allocate only when the entry must change
 * size (a missing counter, a digit more or less, a TTL gained), then
 * outside the lock. Nothing else is allocated and no call keeps state
 * between calls, so a batch costs what its calls cost one by one.
 *
 * Writes (set, set-if-absent, compare-and-set, increment) check that the
 * new value can fit before anything else: over max_value_bytes, or over
 * max_memory_bytes on its own with its name and overhead, is
 * STORE_TOO_LARGE (counted in rejected_oversize); when no room can be made
 * it is STORE_NO_SPACE (rejected_capacity). Each counts as a set. A write
 * that does not answer STORE_OK leaves the key's entry as it was, and a
 * successful one makes the entry most recently used.
 *
 * Expiry. An entry whose TTL has passed is never returned nor compared:
 * every call treats it as missing, removes it and counts an expired
 * removal (store_set replaces it instead, uncounted).
 *
 * Thread safety: every function below may be called from any thread at any
 * time between store_create() and store_destroy().
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clock.h"
#include "stats.h"

#define STORE_MAX_KEY_CHARS 256
#define STORE_MAX_NS_BYTES  255
/* Longest canonical text of an int64 ("-9223372036854775808"). */
#define STORE_INT_CHARS 20

enum store_status {
    STORE_OK = 0,
    STORE_NOT_FOUND,     /* missing or expired; del: nothing to delete */
    STORE_BAD_KEY,       /* empty, over 256 code points, or not UTF-8 */
    STORE_TOO_LARGE,     /* value over max_value_bytes, or over the budget */
    STORE_NO_SPACE,      /* nothing left to evict */
    STORE_NO_MEMORY,     /* malloc failed */
    STORE_EXISTS,        /* set-if-absent: the key is live */
    STORE_MISMATCH,      /* compare-and-set: the live value differs */
    STORE_NOT_NUMBER,    /* increment: the value is not a canonical int64 */
    STORE_OUT_OF_RANGE,  /* increment: the sum overflows int64 */
    STORE_BAD_NAMESPACE, /* namespace over STORE_MAX_NS_BYTES bytes */
};

struct store_config {
    uint32_t shards;             /* power of two, 1..1024 */
    uint64_t max_items;          /* >= 1 */
    uint64_t max_memory_bytes;   /* >= 1 */
    uint64_t max_value_bytes;    /* 1..max_memory_bytes, at most 2^32 - 1 */
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

/* Copies the value of a live entry into out (replacing its contents) and
 * makes it most recently used. STORE_OK, STORE_NOT_FOUND, or
 * STORE_NO_MEMORY (out unchanged). Counts a get and a hit or a miss. The
 * shard lock is not held while a large value is copied. */
enum store_status store_get(struct store *st, const char *ns, size_t nslen,
                            const char *key, size_t klen, struct buf *out);
/* One key of a store_get_batch: key and klen are the caller's; the rest
 * is filled in. */
struct store_batch_get {
    const char *key;
    size_t klen;
    enum store_status status; /* STORE_OK, STORE_NOT_FOUND, STORE_BAD_KEY,
                                 STORE_BAD_NAMESPACE, STORE_NO_MEMORY or
                                 STORE_TOO_LARGE (over max_bytes) */
    size_t off, vlen; /* STORE_OK: the value is out->data[off .. off+vlen) */
    uint64_t h;       /* the store's own, during the call */
    uint32_t next;
    void *ref;
};
/* The n keys of one keyspace looked up as n store_get calls would (each
 * checked, counted, made most recently used), with one hold of each
 * shard's lock for all of that shard's keys. The values found are
 * appended to out (out->len grows; earlier contents are kept), each
 * key's status, offset and length in its element. Keys of one shard are
 * made recently used in request order; a later shard's after an earlier
 * one's. Allocates nothing but out's growth. STORE_TOO_LARGE when the
 * values found come to more than max_bytes (else STORE_OK): out then grows
 * no further than what they would have reached, about twice max_bytes at
 * most, and a key whose value was left out for it is STORE_TOO_LARGE. */
enum store_status store_get_batch(struct store *st, const char *ns,
                                  size_t nslen, struct store_batch_get *keys,
                                  size_t n, uint64_t max_bytes,
                                  struct buf *out);
/* Stores a copy of key and value; ttl_s <= 0 means no expiry. STORE_OK,
 * STORE_TOO_LARGE, STORE_NO_SPACE or STORE_NO_MEMORY; on any status but
 * STORE_OK the previous value of key, if any, is untouched. */
enum store_status store_set(struct store *st, const char *ns, size_t nslen,
                            const char *key, size_t klen, const void *val,
                            size_t vlen, int32_t ttl_s);
/* STORE_OK when an entry was removed, STORE_NOT_FOUND when there was none
 * or it had expired (both are success on the wire). Counts a delete. */
enum store_status store_del(struct store *st, const char *ns, size_t nslen,
                            const char *key, size_t klen);

/* Set-if-absent (memcached's add): stores like store_set when the key is
 * missing or expired (STORE_OK); STORE_EXISTS when it is live, the entry
 * then untouched (not even made recently used). Else as store_set. */
enum store_status store_set_if_absent(struct store *st, const char *ns,
                                      size_t nslen, const char *key,
                                      size_t klen, const void *val, size_t vlen,
                                      int32_t ttl_s);
/* Compare-and-set: STORE_NOT_FOUND when the key is missing or expired,
 * STORE_MISMATCH when the live value differs from the elen bytes at
 * expected in any byte or in length (entry untouched), else replaces value
 * and TTL as store_set does (STORE_OK). Else as store_set. A live value
 * of 4 KiB or more is compared without the lock held (on a referenced
 * entry whose bytes never change), and the write then checks under the
 * lock that the entry compared is still the key's, so no other write can
 * land in between. */
enum store_status store_compare_and_set(struct store *st, const char *ns,
                                        size_t nslen, const char *key,
                                        size_t klen, const void *expected,
                                        size_t elen, const void *val,
                                        size_t vlen, int32_t ttl_s);
/* Adds delta to the int64 stored as canonical base-10 text (an optional
 * '-', then "0" or digits without a leading zero; not "-0", no '+', no
 * spaces) and stores the sum as such text; *value is the sum on STORE_OK.
 * A missing or expired key is created holding delta, with ttl_s; a live
 * one keeps its TTL. STORE_NOT_NUMBER when the value is not such a text,
 * STORE_OUT_OF_RANGE when the sum overflows; both leave the entry
 * untouched. Else as store_set (STORE_TOO_LARGE when the text cannot fit,
 * e.g. max_value_bytes below its length). Counts a set. */
enum store_status store_increment(struct store *st, const char *ns,
                                  size_t nslen, const char *key, size_t klen,
                                  int64_t delta, int32_t ttl_s, int64_t *value);
/* Gives a live key a new TTL from now (ttl_s <= 0: no expiry) and makes it
 * most recently used, its value unchanged: STORE_OK. STORE_NOT_FOUND when
 * missing or expired. Counts a touch hit or miss (not a get nor a set).
 * When a key without TTL gets one, its entry grows by 8 bytes and is
 * copied (out of the lock for a large value): that may answer
 * STORE_NO_SPACE or STORE_NO_MEMORY, the entry then untouched; a grown
 * entry that could never fit the memory limit is STORE_NO_SPACE at once,
 * nothing evicted for it. A key with a TTL that is touched with none
 * keeps its expiry field, set to never. */
enum store_status store_touch(struct store *st, const char *ns, size_t nslen,
                              const char *key, size_t klen, int32_t ttl_s);
/* Removes every entry of one keyspace (ns, nslen; 0 is the shared one),
 * shard by shard, SHARD_SLICE_BUCKETS buckets per lock hold, so no shard
 * is stalled however large. *removed is the number of live entries
 * removed (counted as flushed, not as evictions); expired ones found are
 * removed too and counted as expired removals. Entries of other keyspaces
 * are untouched. Not atomic: an entry written meanwhile may stay or go.
 * STORE_OK, or STORE_BAD_NAMESPACE (*removed 0). */
enum store_status store_flush(struct store *st, const char *ns, size_t nslen,
                              uint64_t *removed);

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

/* The store's clock (monotonic milliseconds, the clock given to
 * store_create): the time base of store_item.expire_ms and of
 * store_load_entry's expire_ms. */
uint64_t store_now(struct store *st);

/* One live entry as a scan hands it out (store_scan_slice): every pointer
 * is valid only during the visit. expire_ms is on the store's clock, 0 for
 * no expiry; stamp is the entry's last use (larger: more recently used;
 * comparable across shards). */
struct store_item {
    const char *ns;
    size_t nslen;
    const char *key;
    size_t klen;
    const void *val;
    size_t vlen;
    uint64_t expire_ms;
    uint64_t stamp;
};

/* Where a scan is: start with {0, 0}. */
struct store_scan {
    uint32_t shard;
    size_t cursor;
};

/* Calls visit(arg, item) once for each live entry of up to
 * SHARD_SLICE_BUCKETS buckets of the shard sc is at, and advances sc.
 * Under the shard lock the slice only copies small entries out and takes
 * a reference on large ones (whose bytes never change); visit runs with no
 * lock held. Returns 1 once every shard has been covered, 0 when there is
 * more, -1 when memory ran out or visit returned nonzero (sc then stays
 * where it was). A scan is not one atomic cut: an entry that is present
 * the whole time is visited exactly once, one written, removed or used
 * meanwhile may be visited in its old state, its new one, or not at all.
 * Nothing is counted and no entry's recency changes. */
int store_scan_slice(struct store *st, struct store_scan *sc,
                     int (*visit)(void *arg, const struct store_item *it),
                     void *arg);

/* Sizes the hash tables of an empty store for n entries about to be
 * loaded (store_load_entry), so that the load starts no resize; a shard
 * that already holds entries is left as it is. Changes nothing else. */
void store_load_reserve(struct store *st, uint64_t n);

/* Inserts an entry as it comes back from a snapshot: the store's most
 * recently used from now on (load entries oldest first to keep their
 * order), expiring at expire_ms on the store's clock (0: never). Never
 * evicts: STORE_NO_SPACE when max_items or max_memory_bytes would be
 * passed. STORE_BAD_NAMESPACE, STORE_BAD_KEY, STORE_TOO_LARGE (as
 * store_set), STORE_NO_MEMORY; on any of them nothing changed. An entry
 * of the same name is replaced. Counts nothing (a load is not a call). */
enum store_status store_load_entry(struct store *st, const char *ns,
                                   size_t nslen, const char *key, size_t klen,
                                   const void *val, size_t vlen,
                                   uint64_t expire_ms);

/* A short human word for a status ("ok", "not found", ...). */
const char *store_status_str(enum store_status s);

#endif
