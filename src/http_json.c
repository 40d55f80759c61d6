/*
 * http_json.c: the JSON bodies of /, /health, /ready, /live and /stats
 * (docs/http.md), built with jansson and serialised compactly.
 *
 * Ownership: every builder returns a document from json_dumps() (jansson's
 * default allocator is malloc), which the caller frees with free().
 */
#include "tc_autoconf.h"

#include <jansson.h>
#include <stdlib.h>

#include "clock.h"
#include "http_json.h"
#include "lifecycle.h"
#include "metrics.h"
#include "stats.h"
#include "status_name.h"

/* Serialises and releases root; NULL when root is NULL or out of memory. */
static char *
http_json_finish(json_t *root)
{
    char *s;

    if (root == NULL)
        return NULL;
    s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static json_t *
http_json_u64(uint64_t v)
{
    return json_integer((json_int_t)v);
}

/* Adds "uptime_seconds" and "timestamp"; -1 when out of memory. */
static int
http_json_times(json_t *o, const struct http_deps *d)
{
    double up = clock_mono_s() - d->start_mono_s;

    return json_object_set_new(o, "uptime_seconds", json_real(up)) |
           json_object_set_new(o, "timestamp", json_real(clock_wall_s()));
}

static const char *
http_json_phase_word(enum lifecycle_phase p)
{
    switch (p) {
    case PHASE_SERVING:
        return lifecycle_refusing() ? "overloaded" : "healthy";
    case PHASE_STOPPING:
        return "shutting_down";
    case PHASE_STARTING:
        break;
    }
    return "starting";
}

char *
http_json_health(const struct http_deps *d, int *status)
{
    enum lifecycle_phase phase = lifecycle_get();
    struct shard_stats t;
    json_t *o = json_object();
    int rc;

    *status = phase == PHASE_SERVING && !lifecycle_refusing() ? 200 : 503;
    if (o == NULL)
        return NULL;
    store_stats(d->store, &t, NULL);
    rc = json_object_set_new(o, "status",
                             json_string(http_json_phase_word(phase)));
    rc |= json_object_set_new(o, "cache_size", http_json_u64(t.size));
    rc |= json_object_set_new(o, "cache_hits", http_json_u64(t.hits));
    rc |= json_object_set_new(o, "cache_misses", http_json_u64(t.misses));
    rc |= json_object_set_new(o, "active_requests",
                              json_integer(metrics_active_requests(d)));
    rc |= http_json_times(o, d);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return http_json_finish(o);
}

char *
http_json_live(const struct http_deps *d)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    if ((json_object_set_new(o, "status", json_string("alive")) |
         http_json_times(o, d)) != 0) {
        json_decref(o);
        return NULL;
    }
    return http_json_finish(o);
}

/* The figures every shard object and the totals share: size, memory and
 * each counter of SHARD_COUNTERS. 0, or -1 when out of memory. */
static int
http_json_shard_fields(json_t *o, const struct shard_stats *s)
{
    int rc = json_object_set_new(o, "size", http_json_u64(s->size));

    rc |= json_object_set_new(o, "memory_usage_bytes",
                              http_json_u64(s->memory_usage_bytes));
#define HTTP_JSON_COUNTER(name)                                                \
    rc |= json_object_set_new(o, #name, http_json_u64(s->name));
    SHARD_COUNTERS(HTTP_JSON_COUNTER)
#undef HTTP_JSON_COUNTER
    return rc;
}

/* Every CacheStats field by its proto name. */
static json_t *
http_json_totals(const struct store *st, const struct shard_stats *t)
{
    const struct store_config *sc = store_config(st);
    json_t *o = json_object();
    int rc;

    if (o == NULL)
        return NULL;
    rc = http_json_shard_fields(o, t);
    rc |= json_object_set_new(o, "evictions", http_json_u64(t->lru_evictions));
    rc |= json_object_set_new(o, "hit_rate", json_real(stats_hit_rate(t)));
    rc |= json_object_set_new(o, "max_memory_bytes",
                              http_json_u64(sc->max_memory_bytes));
    rc |= json_object_set_new(o, "max_items", http_json_u64(sc->max_items));
    rc |= json_object_set_new(o, "max_value_bytes",
                              http_json_u64(sc->max_value_bytes));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *
http_json_shards(const struct shard_stats *per, uint32_t n)
{
    json_t *a = json_array();

    for (uint32_t i = 0; a != NULL && i < n; i++) {
        json_t *o = json_object();

        if (o == NULL || (json_object_set_new(o, "shard", json_integer(i)) |
                          http_json_shard_fields(o, &per[i]) |
                          json_array_append_new(a, o))) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

/* The snapshot figures (docs/http.md): every field of struct
 * snapshot_stats by its name. */
static json_t *
http_json_snapshot(const struct http_deps *d)
{
    struct snapshot_stats s;
    json_t *o = json_object();
    int rc;

    if (o == NULL)
        return NULL;
    snapshot_read_stats(d->snapshot, &s);
    rc = json_object_set_new(o, "enabled", json_boolean(s.enabled));
#define HTTP_JSON_SNAP_U64(field, name, type, help)                            \
    rc |= json_object_set_new(o, #field, http_json_u64(s.field));
    SNAPSHOT_COUNTS(HTTP_JSON_SNAP_U64)
#undef HTTP_JSON_SNAP_U64
#define HTTP_JSON_SNAP_F64(field, name, help)                                  \
    rc |= json_object_set_new(o, #field, json_real(s.field));
    SNAPSHOT_TIMES(HTTP_JSON_SNAP_F64)
#undef HTTP_JSON_SNAP_F64
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* One method's calls by status code name: "OK" always, other codes once
 * they happened (/metrics also lists the server-fault codes at 0, for
 * rate()). */
static json_t *
http_json_method_calls(struct reqstats *sum, unsigned m)
{
    json_t *o = json_object();

    for (unsigned c = 0; o != NULL && c < REQSTATS_CODES; c++) {
        uint64_t v = reqstats_read(&sum->calls[m][c]);

        if ((v != 0 || c == 0) &&
            json_object_set_new(o, status_name((int)c), http_json_u64(v))) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

/* "requests": the gRPC calls answered, by method label, then code. */
static json_t *
http_json_requests(const struct http_deps *d)
{
    struct reqstats *sum =
        aligned_alloc(_Alignof(struct reqstats), sizeof *sum);
    json_t *o = sum == NULL ? NULL : json_object();

    if (o != NULL)
        metrics_sum_requests(d, sum);
    for (unsigned m = 0; o != NULL && m < RPC_METHOD_COUNT; m++)
        if (json_object_set_new(o, rpc_method_label((enum rpc_method)m),
                                http_json_method_calls(sum, m)) != 0) {
            json_decref(o);
            o = NULL;
        }
    free(sum);
    return o;
}

char *
http_json_stats(const struct http_deps *d)
{
    uint32_t n = store_shard_count(d->store);
    struct shard_stats total, *per = calloc(n, sizeof *per);
    json_t *o = NULL;
    int rc;

    if (per == NULL)
        return NULL;
    store_stats(d->store, &total, per);
    o = json_object();
    if (o != NULL) {
        rc = json_object_set_new(o, "totals",
                                 http_json_totals(d->store, &total));
        rc |= json_object_set_new(o, "shards", http_json_shards(per, n));
        rc |= json_object_set_new(o, "snapshot", http_json_snapshot(d));
        rc |= json_object_set_new(o, "requests", http_json_requests(d));
        rc |= json_object_set_new(o, "active_requests",
                                  json_integer(metrics_active_requests(d)));
        rc |= http_json_times(o, d);
        if (rc != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    free(per);
    return http_json_finish(o);
}

char *
http_json_root(const struct http_deps *d)
{
    static const char *const paths[] = {"/",      "/health",  "/ready", "/live",
                                        "/stats", "/metrics", "/status"};
    json_t *o = json_object(), *a = json_array();
    int rc = o == NULL || a == NULL;

    for (size_t i = 0; rc == 0 && i < TC_ARRAY_LEN(paths); i++)
        rc = json_array_append_new(a, json_string(paths[i]));
    if (rc == 0) {
        rc = json_object_set_new(o, "service", json_string("tiny-cache"));
        rc |= json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
        rc |= json_object_set_new(o, "grpc_port", json_integer(d->grpc_port));
        rc |= json_object_set(o, "endpoints", a);
    }
    json_decref(a);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return http_json_finish(o);
}

char *
http_json_error(int status, const char *message)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    if ((json_object_set_new(o, "error", json_string(message)) |
         json_object_set_new(o, "status", json_integer(status))) != 0) {
        json_decref(o);
        return NULL;
    }
    return http_json_finish(o);
}
