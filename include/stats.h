/*
 * stats.h: the cache's counters, declared once.
 *
 * SHARD_COUNTERS lists the per-shard event counters (docs/http.md, /stats);
 * the X-macro is expanded into struct fields, aggregation, the JSON document
 * and the Prometheus output, so a counter added here shows up everywhere.
 */
#ifndef STATS_H
#define STATS_H

#include <stdint.h>

#define SHARD_COUNTERS(X)                                                      \
    X(hits)                                                                    \
    X(misses)                                                                  \
    X(gets)                                                                    \
    X(sets)                                                                    \
    X(deletes)                                                                 \
    X(lru_evictions)                                                           \
    X(expired_removals)                                                        \
    X(rejected_oversize)                                                       \
    X(rejected_capacity)                                                       \
    X(touch_hits)                                                              \
    X(touch_misses)                                                            \
    X(flushed)

/* One shard's figures, or the sum over all shards. */
struct shard_stats {
    uint64_t size;               /* live + not yet removed entries */
    uint64_t memory_usage_bytes; /* accounted bytes (see entry.h) */
#define STATS_FIELD(name) uint64_t name;
    SHARD_COUNTERS(STATS_FIELD)
#undef STATS_FIELD
};

/* Adds every field of src to dst. */
void stats_add(struct shard_stats *dst, const struct shard_stats *src);
/* hits / (hits + misses), 0 when both are 0. */
double stats_hit_rate(const struct shard_stats *s);

#endif
