/*
 * stats.c: aggregation of shard counters.
 */
#include "stats.h"

void
stats_add(struct shard_stats *dst, const struct shard_stats *src)
{
    dst->size += src->size;
    dst->memory_usage_bytes += src->memory_usage_bytes;
#define STATS_ADD(name) dst->name += src->name;
    SHARD_COUNTERS(STATS_ADD)
#undef STATS_ADD
}

double
stats_hit_rate(const struct shard_stats *s)
{
    uint64_t total = s->hits + s->misses;

    return total == 0 ? 0.0 : (double)s->hits / (double)total;
}
