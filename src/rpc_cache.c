/*
 * rpc_cache.c: cache.CacheService's Get, Set, Delete and Stats.
 *
 * Requests are decoded with the wire copy of cache.proto (cache_wire.proto,
 * whose key fields are bytes), so keys travel as (pointer, length) and a
 * key with U+0000 inside is not cut short; the store validates them. The
 * small replies (CacheValue, CacheResponse) are encoded by hand straight
 * into the reply slice; Stats goes through protobuf-c.
 */
#include <string.h>

#include "cache_wire.pb-c.h"
#include "rpc_cache.h"

/* Wire bytes: field 1 varint = 1 (CacheValue.found, CacheResponse.status
 * OK), and the tag of CacheValue.value (field 2, length-delimited). */
#define RPC_FIELD1_TRUE_0 0x08
#define RPC_FIELD1_TRUE_1 0x01
#define RPC_FIELD2_BYTES  0x12
#define RPC_VARINT_MAX    10
/* A worker's Get scratch buffer larger than this is freed after use, so one
 * large value does not pin its size in every worker. */
#define RPC_SCRATCH_KEEP_BYTES (64 * 1024)

/* The gRPC outcome of each store status, in one place. */
static const struct {
    grpc_status_code code;
    const char *details;
} rpc_store_map[] = {
    [STORE_OK] = {GRPC_STATUS_OK, NULL},
    [STORE_NOT_FOUND] = {GRPC_STATUS_OK, NULL},
    [STORE_BAD_KEY] = {GRPC_STATUS_INVALID_ARGUMENT,
                       "key must be 1 to 256 characters of valid UTF-8"},
    [STORE_TOO_LARGE] = {GRPC_STATUS_RESOURCE_EXHAUSTED,
                         "value larger than the cache accepts"},
    [STORE_NO_SPACE] = {GRPC_STATUS_RESOURCE_EXHAUSTED,
                        "no room left in the cache"},
    [STORE_NO_MEMORY] = {GRPC_STATUS_INTERNAL, "out of memory"},
};

static const char rpc_bad_body[] = "request body does not decode";
static const uint8_t rpc_no_bytes[1];

static void
rpc_cache_status(struct rpc_reply *out, enum store_status st)
{
    out->code = rpc_store_map[st].code;
    out->details = rpc_store_map[st].details;
}

static void
rpc_cache_undecodable(struct rpc_reply *out)
{
    out->code = GRPC_STATUS_INVALID_ARGUMENT;
    out->details = rpc_bad_body;
}

static size_t
rpc_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* CacheValue{found=true, value} into a new slice. */
static grpc_slice
rpc_encode_value(const struct buf *val)
{
    uint8_t head[2 + 1 + RPC_VARINT_MAX];
    size_t n = 0;
    grpc_slice s;

    head[n++] = RPC_FIELD1_TRUE_0;
    head[n++] = RPC_FIELD1_TRUE_1;
    if (val->len > 0) {
        head[n++] = RPC_FIELD2_BYTES;
        n += rpc_put_varint(head + n, val->len);
    }
    s = grpc_slice_malloc(n + val->len);
    memcpy(GRPC_SLICE_START_PTR(s), head, n);
    if (val->len > 0)
        memcpy(GRPC_SLICE_START_PTR(s) + n, val->data, val->len);
    return s;
}

/* CacheResponse{status=OK}. */
static void
rpc_reply_status_ok(struct rpc_reply *out)
{
    static const uint8_t ok[] = {RPC_FIELD1_TRUE_0, RPC_FIELD1_TRUE_1};

    out->body = grpc_slice_from_static_buffer(ok, sizeof ok);
    out->has_body = true;
}

/* Decodes a CacheKey request and notes its key for the log; on failure
 * answers INVALID_ARGUMENT and returns NULL. The caller frees the message. */
static Cache__CacheKey *
rpc_cache_decode_key(const uint8_t *req, size_t len, struct rpc_reply *out)
{
    Cache__CacheKey *m =
        cache__cache_key__unpack(NULL, len, req ? req : rpc_no_bytes);

    if (!m)
        rpc_cache_undecodable(out);
    else
        rpc_reply_key_log(out, m->key.data, m->key.len);
    return m;
}

void
rpc_cache_get(struct rpc_worker *w, const uint8_t *req, size_t len,
              struct rpc_reply *out)
{
    Cache__CacheKey *m = rpc_cache_decode_key(req, len, out);
    enum store_status st;

    if (!m)
        return;
    st = store_get(w->store, NULL, 0, (const char *)m->key.data, m->key.len,
                   &w->scratch);
    cache__cache_key__free_unpacked(m, NULL);
    rpc_cache_status(out, st);
    if (st == STORE_OK) {
        out->body = rpc_encode_value(&w->scratch);
        out->has_body = true;
        if (w->scratch.cap > RPC_SCRATCH_KEEP_BYTES)
            buf_fini(&w->scratch); /* leaves it empty and usable */
    } else if (st == STORE_NOT_FOUND) {
        out->body = grpc_empty_slice();
        out->has_body = true;
    }
}

void
rpc_cache_set(struct rpc_worker *w, const uint8_t *req, size_t len,
              struct rpc_reply *out)
{
    Cache__CacheItem *m =
        cache__cache_item__unpack(NULL, len, req ? req : rpc_no_bytes);
    enum store_status st;

    if (!m) {
        rpc_cache_undecodable(out);
        return;
    }
    rpc_reply_key_log(out, m->key.data, m->key.len);
    st = store_set(w->store, NULL, 0, (const char *)m->key.data, m->key.len,
                   m->value.data, m->value.len, m->ttl);
    cache__cache_item__free_unpacked(m, NULL);
    rpc_cache_status(out, st);
    if (st == STORE_OK)
        rpc_reply_status_ok(out);
}

void
rpc_cache_delete(struct rpc_worker *w, const uint8_t *req, size_t len,
                 struct rpc_reply *out)
{
    Cache__CacheKey *m = rpc_cache_decode_key(req, len, out);
    enum store_status st;

    if (!m)
        return;
    st = store_del(w->store, NULL, 0, (const char *)m->key.data, m->key.len);
    cache__cache_key__free_unpacked(m, NULL);
    rpc_cache_status(out, st);
    if (st == STORE_OK || st == STORE_NOT_FOUND)
        rpc_reply_status_ok(out);
}

/* The store's totals and the configured limits as CacheStats. */
static void
rpc_stats_fill(struct store *store, Cache__CacheStats *cs)
{
    const struct store_config *sc = store_config(store);
    struct shard_stats t;

    store_stats(store, &t, NULL);
    cs->size = (int64_t)t.size;
    cs->hits = (int64_t)t.hits;
    cs->misses = (int64_t)t.misses;
    cs->evictions = (int64_t)t.lru_evictions;
    cs->hit_rate = stats_hit_rate(&t);
    cs->memory_usage_bytes = (int64_t)t.memory_usage_bytes;
    cs->max_memory_bytes = (int64_t)sc->max_memory_bytes;
    cs->max_items = (int64_t)sc->max_items;
    cs->max_value_bytes = (int64_t)sc->max_value_bytes;
    cs->lru_evictions = (int64_t)t.lru_evictions;
    cs->expired_removals = (int64_t)t.expired_removals;
    cs->rejected_oversize = (int64_t)t.rejected_oversize;
    cs->rejected_capacity = (int64_t)t.rejected_capacity;
    cs->gets = (int64_t)t.gets;
    cs->sets = (int64_t)t.sets;
    cs->deletes = (int64_t)t.deletes;
}

void
rpc_cache_stats(struct rpc_worker *w, const uint8_t *req, size_t len,
                struct rpc_reply *out)
{
    Cache__Empty *m = cache__empty__unpack(NULL, len, req ? req : rpc_no_bytes);
    Cache__CacheStats cs = CACHE__CACHE_STATS__INIT;

    if (!m) {
        rpc_cache_undecodable(out);
        return;
    }
    cache__empty__free_unpacked(m, NULL);
    rpc_stats_fill(w->store, &cs);
    out->body = grpc_slice_malloc(cache__cache_stats__get_packed_size(&cs));
    cache__cache_stats__pack(&cs, GRPC_SLICE_START_PTR(out->body));
    out->has_body = true;
    out->code = GRPC_STATUS_OK;
}
