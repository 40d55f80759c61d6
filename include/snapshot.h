/*
 * snapshot.h: warm restarts (docs/snapshots.md). The cache is saved to a
 * file at shutdown and every CACHE_SNAPSHOT_INTERVAL seconds, and loaded
 * from it at startup, before the server is ready. The module knows files
 * and store entries, never the wire.
 *
 * Saving writes PATH.tmp in the same directory, fsyncs it, renames it over
 * PATH and fsyncs the directory: a crash at any moment leaves the previous
 * complete snapshot or the new one. It reads the store shard by shard in
 * bounded slices (store_scan_slice), so no shard is stalled, and it is not
 * one atomic cut across shards. A failed save leaves PATH as it was and
 * removes PATH.tmp. Loading refuses a damaged file whole (nothing is
 * inserted), then renames it PATH.bad.
 *
 * Thread safety: snapshot_read_stats() may be called from any thread at
 * any time between snapshot_create() and snapshot_destroy(); the other
 * calls come from the one thread that runs the daemon's life cycle.
 */
#ifndef SNAPSHOT_H
#define SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "store.h"

/* What /stats and /metrics show (docs/http.md), declared once: field,
 * the Prometheus name after "tiny_cache_snapshot_", its type and help.
 * The /stats name is the field's. */
#define SNAPSHOT_COUNTS(X)                                                     \
    X(saves, "saves_total", "counter", "Snapshots saved")                      \
    X(save_failures, "save_failures_total", "counter",                         \
      "Snapshot saves that failed (the previous file kept)")                   \
    X(saved_entries, "saved_entries", "gauge",                                 \
      "Entries in the last snapshot saved")                                    \
    X(saved_bytes, "saved_bytes", "gauge",                                     \
      "Size in bytes of the last snapshot saved")                              \
    X(loads, "loads_total", "counter", "Snapshot files loaded at startup")     \
    X(load_failures, "load_failures_total", "counter",                         \
      "Snapshot files refused at startup (moved aside as .bad)")               \
    X(loaded_entries, "loaded_entries", "gauge",                               \
      "Entries loaded from the snapshot at startup")                           \
    X(loaded_bytes, "loaded_bytes", "gauge",                                   \
      "Size in bytes of the snapshot loaded at startup")                       \
    X(load_expired, "load_expired_entries", "gauge",                           \
      "Entries of the snapshot already expired at load")                       \
    X(load_dropped, "load_dropped_entries", "gauge",                           \
      "Entries of the snapshot dropped at load, over the current limits")
#define SNAPSHOT_TIMES(X)                                                      \
    X(save_duration_s, "save_duration_seconds",                                \
      "Duration of the last successful snapshot save")                         \
    X(last_save_unix_s, "last_save_timestamp_seconds",                         \
      "Unix time of the last successful snapshot save (0: none)")              \
    X(load_duration_s, "load_duration_seconds",                                \
      "Duration of the snapshot load at startup")                              \
    X(last_load_unix_s, "last_load_timestamp_seconds",                         \
      "Unix time of the snapshot load (0: none)")

struct snapshot_stats {
    bool enabled;
#define SNAPSHOT_U64_FIELD(f, name, type, help) uint64_t f;
    SNAPSHOT_COUNTS(SNAPSHOT_U64_FIELD)
#undef SNAPSHOT_U64_FIELD
#define SNAPSHOT_F64_FIELD(f, name, help) double f;
    SNAPSHOT_TIMES(SNAPSHOT_F64_FIELD)
#undef SNAPSHOT_F64_FIELD
};

/* The outcome of one load. */
struct snapshot_load_result {
    uint64_t entries; /* inserted */
    uint64_t expired; /* already expired: skipped */
    uint64_t dropped; /* beyond max_items, max_memory_bytes, max_value_bytes */
};

/* How far a load is, told now and then from the thread that loads: phase
 * is "checking" (done of total bytes), "reading" (bytes), "sorting"
 * (passes), "choosing" or "inserting" (entries). Called between pieces of
 * work of at most a few tens of MiB, so a caller can tell a slow load
 * from a stuck one. */
struct snapshot_progress {
    void (*report)(void *ctx, const char *phase, uint64_t done, uint64_t total);
    void *ctx;
};

/* Checks the len bytes at buf as a whole snapshot file and, only when all
 * of it is good, inserts its entries into st: oldest first, each the most
 * recently used so far (store_load_entry), so the store's LRU order is the
 * file's; remaining TTLs are the file's expiry minus wall_now_ms, on the
 * store's clock; entries that do not fit the store's limits are dropped,
 * oldest first. prog (NULL: none) hears how far it is. 0, or -1 with a
 * reason in why and st untouched. */
int snapshot_load_buf(struct store *st, const void *buf, size_t len,
                      uint64_t wall_now_ms,
                      const struct snapshot_progress *prog,
                      struct snapshot_load_result *res, char *why,
                      size_t whylen);

/* A save in progress. */
struct snapshot_writer;

/* Creates path.tmp and writes the header (wall_now_ms is the write time).
 * NULL with a reason in why (nothing left behind). */
struct snapshot_writer *snapshot_writer_open(struct store *st, const char *path,
                                             uint64_t wall_now_ms, char *why,
                                             size_t whylen);
/* Writes one slice of the store: 1 when every shard is written, 0 when
 * there is more, -1 on failure (reason in why; call snapshot_writer_abort). */
int snapshot_writer_step(struct snapshot_writer *w, char *why, size_t whylen);
/* Entry records written so far. */
uint64_t snapshot_writer_entries(const struct snapshot_writer *w);
/* Ends the file, fsyncs it, renames it over path, fsyncs the directory,
 * frees w. 0 with the entries and file bytes written, or -1 with a reason
 * in why, path.tmp removed and path untouched. */
int snapshot_writer_commit(struct snapshot_writer *w, uint64_t *entries,
                           uint64_t *bytes, char *why, size_t whylen);
/* Closes and removes path.tmp, frees w. NULL is a no-op. */
void snapshot_writer_abort(struct snapshot_writer *w);

struct snapshot;

/* Asks the service manager for seconds more time, status saying why
 * (notify_extend). */
typedef void (*snapshot_extend_fn)(unsigned seconds, const char *status);

/* The daemon's snapshots of st at path (copied), every interval_s seconds
 * in the background once started (0: only on snapshot_save). wall is the
 * wall clock (ms since the Unix epoch; copied); extend (NULL: none) hears
 * a long load's and a shutdown save's progress. NULL on ENOMEM. */
struct snapshot *snapshot_create(struct store *st, const char *path,
                                 uint32_t interval_s, const struct clock *wall,
                                 snapshot_extend_fn extend);
/* Loads path into st (call before serving): no file is not an error; a
 * damaged one is refused, renamed path.bad, logged and counted (what is
 * not a regular file is refused and left where it is). Logs one
 * line either way. While it reads a file it asks the service manager for
 * more time at most once a second, each time progress is made
 * (extend). 0 when loaded or absent, -1 when refused. */
int snapshot_load(struct snapshot *s);
/* Starts the background saves (none when interval_s is 0). 0, or -1 when
 * the thread cannot start (errno set). */
int snapshot_start(struct snapshot *s);
/* Stops the background saves; a save in progress is abandoned (its
 * temporary file removed). */
void snapshot_stop(struct snapshot *s);
/* Saves now, whole, as at shutdown: asks the service manager for more
 * time as the load does; logs and counts the outcome. 0 or -1. */
int snapshot_save(struct snapshot *s);
/* Stops and frees; NULL is a no-op. */
void snapshot_destroy(struct snapshot *s);
/* The figures so far; all zero (enabled false) when s is NULL. */
void snapshot_read_stats(struct snapshot *s, struct snapshot_stats *out);

#endif
