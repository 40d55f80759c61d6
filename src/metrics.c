/*
 * metrics.c: /metrics in the Prometheus text format 0.0.4.
 *
 * The exposition is written with stdio into a memory stream
 * (open_memstream), so its buffer grows as needed and is handed to the
 * caller. Counts are summed over the per-worker struct reqstats at scrape
 * time; the store is read one shard at a time, so the totals and the shard
 * series of one scrape agree with each other but are not one atomic cut of
 * the cache. Latency buckets are kept per bucket by the workers and made
 * cumulative here.
 */
#include "tc_autoconf.h"

#include <dirent.h>
#include <grpc/status.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "lifecycle.h"
#include "metrics.h"
#include "stats.h"
#include "status_name.h"

#define METRICS_NS "tiny_cache_"

int64_t
metrics_active_requests(const struct http_deps *d)
{
    int64_t sum = 0;

    for (size_t i = 0; i < d->nworkers; i++)
        sum +=
            atomic_load_explicit(&d->workers[i].active, memory_order_relaxed);
    return sum < 0 ? 0 : sum;
}

/* Writes the HELP and TYPE lines of one series. */
static void
metrics_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_u64(FILE *f, const char *name, const char *type, const char *help,
            uint64_t v)
{
    metrics_head(f, name, type, help);
    fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void
metrics_f64(FILE *f, const char *name, const char *type, const char *help,
            double v)
{
    metrics_head(f, name, type, help);
    fprintf(f, "%s %.6f\n", name, v);
}

/* Each shard counter: its name in SHARD_COUNTERS, where it lives in struct
 * shard_stats, and what it counts (a counter missing from the help table
 * below still shows up, with a generic help line). */
struct metrics_counter {
    const char *name;
    size_t offset;
};

static const struct metrics_counter metrics_counters[] = {
#define METRICS_COUNTER(n) {#n, offsetof(struct shard_stats, n)},
    SHARD_COUNTERS(METRICS_COUNTER)
#undef METRICS_COUNTER
};

static const struct {
    const char *name;
    const char *help;
} metrics_helps[] = {
    {"hits", "Gets that found a live entry"},
    {"misses", "Gets of a missing or expired key"},
    {"gets", "Get calls with a valid key"},
    {"sets", "Set calls with a valid key"},
    {"deletes", "Delete calls with a valid key"},
    {"lru_evictions", "Live entries evicted to make room"},
    {"expired_removals",
     "Expired entries removed (on access, by cleanup or as victims)"},
    {"rejected_oversize", "Sets refused: value over max_value_bytes or the "
                          "memory limit on its own"},
    {"rejected_capacity", "Sets refused: no room could be made"},
    {"touch_hits", "Touch calls that found a live entry"},
    {"touch_misses", "Touch calls of a missing or expired key"},
    {"flushed", "Live entries removed by Flush"},
};

static const char *
metrics_help(const char *name)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(metrics_helps); i++)
        if (strcmp(metrics_helps[i].name, name) == 0)
            return metrics_helps[i].help;
    return "Cache events";
}

static uint64_t
metrics_field(const struct shard_stats *s, size_t offset)
{
    uint64_t v;

    memcpy(&v, (const char *)s + offset, sizeof v);
    return v;
}

static void
metrics_cache_totals(FILE *f, const struct http_deps *d,
                     const struct shard_stats *t)
{
    const struct store_config *sc = store_config(d->store);

    metrics_u64(f, METRICS_NS "entries", "gauge", "Entries in the cache.",
                t->size);
    metrics_u64(f, METRICS_NS "memory_usage_bytes", "gauge",
                "Accounted bytes of the cache's entries.",
                t->memory_usage_bytes);
    metrics_u64(f, METRICS_NS "evictions_total", "counter",
                "Live entries evicted to make room (= lru_evictions).",
                t->lru_evictions);
    for (size_t i = 0; i < TC_ARRAY_LEN(metrics_counters); i++) {
        const struct metrics_counter *c = &metrics_counters[i];

        fprintf(f, "# HELP " METRICS_NS "%s_total %s.\n", c->name,
                metrics_help(c->name));
        fprintf(f, "# TYPE " METRICS_NS "%s_total counter\n", c->name);
        fprintf(f, METRICS_NS "%s_total %" PRIu64 "\n", c->name,
                metrics_field(t, c->offset));
    }
    metrics_f64(f, METRICS_NS "hit_rate", "gauge",
                "hits / (hits + misses), 0 before any lookup.",
                stats_hit_rate(t));
    metrics_u64(f, METRICS_NS "max_memory_bytes", "gauge",
                "Configured limit of accounted bytes.", sc->max_memory_bytes);
    metrics_u64(f, METRICS_NS "max_items", "gauge",
                "Configured limit of entries.", sc->max_items);
    metrics_u64(f, METRICS_NS "max_value_bytes", "gauge",
                "Largest value accepted, in bytes.", sc->max_value_bytes);
    metrics_u64(f, METRICS_NS "shards", "gauge", "Number of shards.",
                store_shard_count(d->store));
    metrics_f64(f, METRICS_NS "capacity_item_saturation_ratio", "gauge",
                "Entries / max_items (1: eviction by count).",
                (double)t->size / (double)sc->max_items);
    metrics_f64(f, METRICS_NS "capacity_memory_saturation_ratio", "gauge",
                "memory_usage_bytes / max_memory_bytes (1: eviction by "
                "memory).",
                (double)t->memory_usage_bytes / (double)sc->max_memory_bytes);
}

/* One per-shard series: name (after "tiny_cache_shard_"), type, help, and
 * the field at offset of each shard's figures. */
static void
metrics_shard_series(FILE *f, const char *name, const char *type,
                     const char *help, const struct shard_stats *per,
                     uint32_t n, size_t offset)
{
    fprintf(f, "# HELP " METRICS_NS "shard_%s %s, per shard.\n", name, help);
    fprintf(f, "# TYPE " METRICS_NS "shard_%s %s\n", name, type);
    for (uint32_t i = 0; i < n; i++)
        fprintf(f, METRICS_NS "shard_%s{shard=\"%" PRIu32 "\"} %" PRIu64 "\n",
                name, i, metrics_field(&per[i], offset));
}

static void
metrics_shards(FILE *f, const struct shard_stats *per, uint32_t n)
{
    char name[64];

    metrics_shard_series(f, "entries", "gauge", "Entries", per, n,
                         offsetof(struct shard_stats, size));
    metrics_shard_series(f, "memory_usage_bytes", "gauge", "Accounted bytes",
                         per, n,
                         offsetof(struct shard_stats, memory_usage_bytes));
    for (size_t i = 0; i < TC_ARRAY_LEN(metrics_counters); i++) {
        const struct metrics_counter *c = &metrics_counters[i];

        snprintf(name, sizeof name, "%s_total", c->name);
        metrics_shard_series(f, name, "counter", metrics_help(c->name), per, n,
                             c->offset);
    }
}

void
metrics_sum_requests(const struct http_deps *d, struct reqstats *sum)
{
    memset(sum, 0, sizeof *sum);
    for (size_t w = 0; w < d->nworkers; w++) {
        struct reqstats *rs = &d->workers[w];

        for (unsigned m = 0; m < RPC_METHOD_COUNT; m++) {
            for (unsigned c = 0; c < REQSTATS_CODES; c++)
                reqstats_bump(&sum->calls[m][c],
                              reqstats_read(&rs->calls[m][c]));
            for (unsigned b = 0; b < REQSTATS_BUCKETS; b++)
                reqstats_bump(&sum->latency[m][b],
                              reqstats_read(&rs->latency[m][b]));
            reqstats_bump(&sum->latency_sum_us[m],
                          reqstats_read(&rs->latency_sum_us[m]));
        }
    }
}

/* Whether metrics_requests() lists code c of a method before it happened:
 * OK, and the three codes only a server fault answers, so that a rate()
 * over them sees the first one rise from 0 (a series born at 1 shows no
 * increase). The rest are many and mostly a client's doing. */
static bool
metrics_code_always(unsigned c)
{
    return c == GRPC_STATUS_OK || c == GRPC_STATUS_UNKNOWN ||
           c == GRPC_STATUS_INTERNAL || c == GRPC_STATUS_DATA_LOSS;
}

/* Request counts by method and code: OK and the server-fault codes of every
 * method always, other codes once they happened. */
static void
metrics_requests(FILE *f, struct reqstats *sum)
{
    const char *name = METRICS_NS "grpc_requests_total";

    metrics_head(f, name, "counter",
                 "gRPC calls answered, by method and status code.");
    for (unsigned m = 0; m < RPC_METHOD_COUNT; m++)
        for (unsigned c = 0; c < REQSTATS_CODES; c++) {
            uint64_t v = reqstats_read(&sum->calls[m][c]);

            if (v != 0 || metrics_code_always(c))
                fprintf(f, "%s{method=\"%s\",code=\"%s\"} %" PRIu64 "\n", name,
                        rpc_method_label(m), status_name((int)c), v);
        }
}

static void
metrics_histogram(FILE *f, struct reqstats *sum)
{
    static const uint64_t bounds[] = REQSTATS_BOUNDS_US;
    const char *name = METRICS_NS "grpc_request_duration_seconds";

    metrics_head(f, name, "histogram",
                 "gRPC call latency, by method, from arrival to answer.");
    for (unsigned m = 0; m < RPC_METHOD_COUNT; m++) {
        const char *mn = rpc_method_label(m);
        uint64_t cum = 0;

        for (unsigned b = 0; b < REQSTATS_BUCKETS; b++) {
            cum += reqstats_read(&sum->latency[m][b]);
            if (b < TC_ARRAY_LEN(bounds))
                fprintf(f, "%s_bucket{method=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                        name, mn, (double)bounds[b] / 1e6, cum);
            else
                fprintf(f, "%s_bucket{method=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
                        name, mn, cum);
        }
        fprintf(f, "%s_sum{method=\"%s\"} %.6f\n", name, mn,
                (double)reqstats_read(&sum->latency_sum_us[m]) / 1e6);
        fprintf(f, "%s_count{method=\"%s\"} %" PRIu64 "\n", name, mn, cum);
    }
}

static void
metrics_service(FILE *f, const struct http_deps *d)
{
    metrics_u64(f, METRICS_NS "active_requests", "gauge",
                "gRPC calls accepted and not yet answered.",
                (uint64_t)metrics_active_requests(d));
    metrics_f64(f, METRICS_NS "uptime_seconds", "gauge",
                "Seconds since the process started.",
                clock_mono_s() - d->start_mono_s);
    metrics_u64(f, METRICS_NS "grpc_connections_refused_total", "counter",
                "gRPC connections closed unserved for want of a file "
                "descriptor.",
                lifecycle_refused_total());
    metrics_u64(f, METRICS_NS "grpc_connections_idle_closed_total", "counter",
                "Plaintext gRPC connections closed after CACHE_IDLE_TIMEOUT "
                "without a call.",
                lifecycle_idle_closed_total());
    metrics_head(f, METRICS_NS "build_info", "gauge",
                 "Always 1; the version is in the label.");
    fprintf(f, METRICS_NS "build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
}

static void
metrics_snapshot(FILE *f, const struct http_deps *d)
{
    struct snapshot_stats s;

    snapshot_read_stats(d->snapshot, &s);
    metrics_u64(f, METRICS_NS "snapshot_enabled", "gauge",
                "1 when CACHE_SNAPSHOT_PATH is set.", s.enabled ? 1 : 0);
#define METRICS_SNAP_U64(field, name, type, help)                              \
    metrics_u64(f, METRICS_NS "snapshot_" name, type, help ".", s.field);
    SNAPSHOT_COUNTS(METRICS_SNAP_U64)
#undef METRICS_SNAP_U64
#define METRICS_SNAP_F64(field, name, help)                                    \
    metrics_f64(f, METRICS_NS "snapshot_" name, "gauge", help ".", s.field);
    SNAPSHOT_TIMES(METRICS_SNAP_F64)
#undef METRICS_SNAP_F64
}

/* Fields of /proc/self/stat used here (after the command name). */
struct metrics_proc_stat {
    unsigned long long utime, stime, vsize;
    long long rss;
};

static int
metrics_read_stat(struct metrics_proc_stat *ps)
{
    char line[1024], *p;
    FILE *f = fopen("/proc/self/stat", "re");
    size_t n;

    if (f == NULL)
        return -1;
    n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    p = strrchr(line, ')');
    if (p == NULL)
        return -1;
    /* Fields 3..24: state ... rss; see proc(5). */
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d "
               "%*d %*d %*d %*d %*u %llu %lld",
               &ps->utime, &ps->stime, &ps->vsize, &ps->rss) != 4)
        return -1;
    return 0;
}

/* Open descriptors, not counting the one used to list them. */
static uint64_t
metrics_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    uint64_t n = 0;

    if (dir == NULL)
        return 0;
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n > 0 ? n - 1 : 0;
}

/* The process series. The start time is the daemon's own reading of the
 * wall clock at start: /proc/stat's boot time, which the kernel's count
 * would need, is hidden from a unit with ProcSubset=pid. */
static void
metrics_process(FILE *f, double start_wall_s)
{
    struct metrics_proc_stat ps;
    struct rlimit rl;
    double tck = (double)sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);

    if (metrics_read_stat(&ps) == 0 && tck > 0) {
        metrics_f64(f, "process_cpu_seconds_total", "counter",
                    "User and system CPU time spent in seconds.",
                    (double)(ps.utime + ps.stime) / tck);
        metrics_u64(f, "process_resident_memory_bytes", "gauge",
                    "Resident memory size in bytes.",
                    ps.rss > 0 ? (uint64_t)ps.rss * (uint64_t)page : 0);
        metrics_u64(f, "process_virtual_memory_bytes", "gauge",
                    "Virtual memory size in bytes.", ps.vsize);
    }
    metrics_f64(f, "process_start_time_seconds", "gauge",
                "Start time of the process since the Unix epoch in seconds.",
                start_wall_s);
    metrics_u64(f, "process_open_fds", "gauge",
                "Number of open file descriptors.", metrics_open_fds());
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        metrics_u64(f, "process_max_fds", "gauge",
                    "Maximum number of open file descriptors.",
                    rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur);
}

/* Everything but the process series, which metrics_render() adds. */
static int
metrics_cache(FILE *f, const struct http_deps *d)
{
    uint32_t n = store_shard_count(d->store);
    struct shard_stats total, *per = calloc(n, sizeof *per);
    struct reqstats *sum =
        aligned_alloc(_Alignof(struct reqstats), sizeof *sum);

    if (per == NULL || sum == NULL) {
        free(per);
        free(sum);
        return -1;
    }
    store_stats(d->store, &total, per);
    metrics_cache_totals(f, d, &total);
    metrics_shards(f, per, n);
    metrics_sum_requests(d, sum);
    metrics_requests(f, sum);
    metrics_histogram(f, sum);
    metrics_service(f, d);
    metrics_snapshot(f, d);
    free(per);
    free(sum);
    return 0;
}

char *
metrics_render(const struct http_deps *d)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int rc;

    if (f == NULL)
        return NULL;
    rc = metrics_cache(f, d);
    metrics_process(f, d->start_wall_s);
    rc |= ferror(f);
    if (fclose(f) != 0 || rc != 0) {
        free(text);
        return NULL;
    }
    return text;
}
