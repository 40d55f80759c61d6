/*
 * rpc_cache.c: cache.CacheService's Get, Set, Delete and Stats, and what
 * every cache method shares: the store-outcome table, field decoding and
 * small replies.
 *
 * Requests are read in place with rpc_wire.h, so keys and values travel as
 * (pointer, length) into the request and are copied once, into the store.
 * Small replies (CacheValue, CacheResponse, one-field messages) are
 * encoded by hand straight into the reply slice; Stats goes through
 * protobuf-c.
 */
#include <stdlib.h>
#include <string.h>

#include "cache_wire.pb-c.h"
#include "rpc_cache.h"
#include "utf8.h"

/* Field 1 varint = 1 (CacheValue.found, CacheResponse.status OK). */
#define RPC_FIELD1_TRUE_0 0x08
#define RPC_FIELD1_TRUE_1 0x01
/* A Get value of this size or more is not copied into the reply: the
 * worker's scratch buffer holding it becomes the reply's tail. */
#define RPC_HANDOVER_BYTES 4096

/* The gRPC outcome of each store status, in one place. Statuses that are
 * answers (not found, exists, mismatch) are OK on the wire: the reply's
 * body says which. */
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
    [STORE_EXISTS] = {GRPC_STATUS_OK, NULL},
    [STORE_MISMATCH] = {GRPC_STATUS_OK, NULL},
    [STORE_NOT_NUMBER] = {GRPC_STATUS_FAILED_PRECONDITION,
                          "value is not a base-10 64-bit integer"},
    [STORE_OUT_OF_RANGE] = {GRPC_STATUS_OUT_OF_RANGE,
                            "the result would overflow a 64-bit integer"},
    [STORE_BAD_NAMESPACE] = {GRPC_STATUS_INVALID_ARGUMENT,
                             "namespace too long"},
};

static const int rpc_key_fields[4] = {RPC_WIRE_LEN, -1, -1, -1};
static const int rpc_item_fields[4] = {RPC_WIRE_LEN, RPC_WIRE_LEN,
                                       RPC_WIRE_VARINT, -1};
static const int rpc_no_fields[4] = {-1, -1, -1, -1};

void
rpc_cache_status(struct rpc_reply *out, enum store_status st)
{
    out->code = rpc_store_map[st].code;
    out->details = rpc_store_map[st].details;
}

void
rpc_cache_undecodable(struct rpc_reply *out)
{
    out->code = GRPC_STATUS_INVALID_ARGUMENT;
    out->details = "request body does not decode";
}

bool
rpc_cache_fields(const uint8_t *p, size_t n, const int types[4],
                 struct rpc_wire_fields *f, struct rpc_reply *out)
{
    if (!rpc_wire_read_fields(p, n, types, f)) {
        rpc_cache_undecodable(out);
        return false;
    }
    if (types[0] == RPC_WIRE_LEN)
        rpc_reply_key_log(out, f->bytes[1], f->len[1]);
    return true;
}

bool
rpc_cache_read_item(const uint8_t *p, size_t n, struct rpc_item *it)
{
    struct rpc_wire_fields f;

    if (!rpc_wire_read_fields(p, n, rpc_item_fields, &f))
        return false;
    it->key = (const char *)f.bytes[1];
    it->klen = f.len[1];
    it->val = f.bytes[2];
    it->vlen = f.len[2];
    it->ttl_s = (int32_t)(uint32_t)f.varint[3]; /* int32: the low 32 bits */
    return true;
}

void
rpc_cache_reply_varint(struct rpc_reply *out, uint64_t v)
{
    uint8_t *p;

    out->has_body = true;
    if (v == 0) { /* proto3 leaves a default out */
        out->body = grpc_empty_slice();
        return;
    }
    out->body = grpc_slice_malloc(1 + rpc_wire_varint_len(v));
    p = rpc_wire_put_tag(GRPC_SLICE_START_PTR(out->body), 1, RPC_WIRE_VARINT);
    rpc_wire_put_varint(p, v);
}

const char *
rpc_cache_item_error(enum store_status st, const char *key, size_t klen)
{
    switch (st) {
    case STORE_BAD_KEY:
        if (klen == 0)
            return "key is empty";
        if (utf8_count(key, klen, STORE_MAX_KEY_CHARS) < 0)
            return "key is not valid UTF-8";
        return "key is longer than 256 characters";
    case STORE_TOO_LARGE:
        return "value is larger than the cache accepts";
    case STORE_NO_SPACE:
        return "no room could be made for the value";
    case STORE_NO_MEMORY:
        return "out of memory";
    default:
        return store_status_str(st);
    }
}

/* CacheValue{found=true, value} of a large value: the header in body (an
 * inlined slice, no allocation), the value in tail, which takes val's
 * memory over (given to the buffer pool when gRPC lets go of it, where the
 * next large Get's scratch finds it: buf.h); val is left empty. */
static void
rpc_hand_over_value(struct buf *val, struct rpc_reply *out)
{
    uint8_t head[2 + 1 + RPC_WIRE_VARINT_MAX], *p = head;

    *p++ = RPC_FIELD1_TRUE_0;
    *p++ = RPC_FIELD1_TRUE_1;
    p = rpc_wire_put_tag(p, 2, RPC_WIRE_LEN);
    p = rpc_wire_put_varint(p, val->len);
    out->body =
        grpc_slice_from_copied_buffer((const char *)head, (size_t)(p - head));
    out->tail = rpc_slice_give(val->data, val->len);
    out->has_body = out->has_tail = true;
    buf_init(val);
}

/* CacheValue{found=true, value} into a new slice. */
static grpc_slice
rpc_encode_value(const struct buf *val)
{
    size_t n = 2 + (val->len ? rpc_wire_len_field_len(val->len) : 0);
    grpc_slice s = grpc_slice_malloc(n);
    uint8_t *p = GRPC_SLICE_START_PTR(s);

    *p++ = RPC_FIELD1_TRUE_0;
    *p++ = RPC_FIELD1_TRUE_1;
    if (val->len > 0)
        rpc_wire_put_len_field(p, 2, val->data, val->len);
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

void
rpc_cache_get(struct rpc_worker *w, const struct rpc_request *req,
              struct rpc_reply *out)
{
    struct rpc_wire_fields f;
    enum store_status st;

    if (!rpc_cache_fields(req->body, req->len, rpc_key_fields, &f, out))
        return;
    st = store_get(w->store, req->ns, req->nslen, (const char *)f.bytes[1],
                   f.len[1], &w->scratch);
    rpc_cache_status(out, st);
    if (st == STORE_OK && w->scratch.len >= RPC_HANDOVER_BYTES) {
        rpc_hand_over_value(&w->scratch, out);
    } else if (st == STORE_OK) {
        out->body = rpc_encode_value(&w->scratch);
        out->has_body = true;
    } else if (st == STORE_NOT_FOUND) {
        out->body = grpc_empty_slice();
        out->has_body = true;
    }
}

void
rpc_cache_set(struct rpc_worker *w, const struct rpc_request *req,
              struct rpc_reply *out)
{
    struct rpc_item it;
    enum store_status st;

    if (!rpc_cache_read_item(req->body, req->len, &it)) {
        rpc_cache_undecodable(out);
        return;
    }
    rpc_reply_key_log(out, it.key, it.klen);
    st = store_set(w->store, req->ns, req->nslen, it.key, it.klen, it.val,
                   it.vlen, it.ttl_s);
    rpc_cache_status(out, st);
    if (st == STORE_OK)
        rpc_reply_status_ok(out);
}

void
rpc_cache_delete(struct rpc_worker *w, const struct rpc_request *req,
                 struct rpc_reply *out)
{
    struct rpc_wire_fields f;
    enum store_status st;

    if (!rpc_cache_fields(req->body, req->len, rpc_key_fields, &f, out))
        return;
    st = store_del(w->store, req->ns, req->nslen, (const char *)f.bytes[1],
                   f.len[1]);
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
rpc_cache_stats(struct rpc_worker *w, const struct rpc_request *req,
                struct rpc_reply *out)
{
    Cache__CacheStats cs = CACHE__CACHE_STATS__INIT;
    struct rpc_wire_fields f;

    if (!rpc_cache_fields(req->body, req->len, rpc_no_fields, &f, out))
        return;
    rpc_stats_fill(w->store, &cs);
    out->body = grpc_slice_malloc(cache__cache_stats__get_packed_size(&cs));
    cache__cache_stats__pack(&cs, GRPC_SLICE_START_PTR(out->body));
    out->has_body = true;
    out->code = GRPC_STATUS_OK;
}
