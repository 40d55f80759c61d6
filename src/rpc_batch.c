/*
 * rpc_batch.c: MultiGet, MultiSet and MultiDelete.
 *
 * A batch is read in place into the worker's item array (keys and values
 * point into the request), counted against CACHE_MAX_BATCH before anything
 * is applied, then applied item by item, each taking only its own shard's
 * lock, as the single-key calls do: a batch is not atomic. Each item's
 * result goes into the reply in request order with its key echoed byte for
 * byte; an item that fails alone gets found=false or status=ERROR and a
 * short sentence, and the others are applied.
 *
 * MultiSet and MultiDelete append each result to the worker's reply
 * buffer, then copy it into one slice, or, from BUFPOOL_MIN bytes, hand
 * the buffer itself to gRPC, which gives it to the buffer pool when done
 * (bufpool.h; the next batch's reply buffer comes from there). MultiGet
 * hands its keys to store_get_batch (one lock hold per shard for all of
 * that shard's keys; its key array lives in the worker's scratch buffer,
 * the values land in the reply buffer, at most rpc_batch_max_reply bytes
 * of them, else the call is RESOURCE_EXHAUSTED: a key repeated 10,000
 * times must not build a reply of 10,000 values), then sizes the reply
 * exactly, each item's message once (its size kept beside the keys in the
 * scratch buffer; a found key whose message is under 128 bytes the short
 * way, all its lengths one byte), and encodes it straight into one slice. The
 * item array and both buffers belong to the worker and are reused, so a
 * batch allocates nothing per item; they are freed after a batch that
 * made them large.
 */
#include <stdlib.h>
#include <string.h>

#include "bufpool.h"
#include "rpc_budget.h"
#include "rpc_cache.h"

/* Larger scratch than this is freed after the batch that needed it. */
#define RPC_BATCH_KEEP_ITEMS 4096
#define RPC_BATCH_KEEP_BYTES (256 * 1024)
/* CacheStatus on the wire. */
#define RPC_CACHE_STATUS_OK    1
#define RPC_CACHE_STATUS_ERROR 2

static const char rpc_batch_too_many[] = "more items than the batch limit";
static const char rpc_batch_too_big[] =
    "the values found are more than one reply may hold; ask for fewer keys";

/* Room for one more item; false when out of memory. */
static bool
rpc_batch_grow(struct rpc_worker *w, size_t n)
{
    struct rpc_item *a;
    size_t cap;

    if (n < w->items_cap)
        return true;
    cap = w->items_cap ? w->items_cap * 2 : 64;
    if (!(a = realloc(w->items, cap * sizeof *a)))
        return false;
    w->items = a;
    w->items_cap = cap;
    return true;
}

/* Reads the repeated field 1 of req into w->items: keys alone (as_items
 * false) or whole CacheItems. The count, or -1 with out answered. */
static long
rpc_batch_read(struct rpc_worker *w, const struct rpc_request *req,
               bool as_items, struct rpc_reply *out)
{
    struct rpc_wire_in in;
    uint32_t field, type;
    const uint8_t *p;
    size_t n, count = 0;

    rpc_wire_in_init(&in, req->body, req->len);
    while (rpc_wire_next(&in, &field, &type)) {
        if (field != 1) {
            if (!rpc_wire_skip(&in, type))
                break;
            continue;
        }
        if (!rpc_wire_bytes(&in, type, &p, &n))
            break;
        if (count >= w->cfg->max_batch) {
            out->code = GRPC_STATUS_INVALID_ARGUMENT;
            out->details = rpc_batch_too_many;
            return -1;
        }
        if (!rpc_batch_grow(w, count)) {
            rpc_cache_status(out, STORE_NO_MEMORY);
            return -1;
        }
        if (as_items) {
            if (!rpc_cache_read_item(p, n, &w->items[count])) {
                in.error = true; /* the whole body, not just this item */
                break;
            }
        } else {
            w->items[count].key = (const char *)p;
            w->items[count].klen = n;
        }
        count++;
    }
    if (in.error) {
        rpc_cache_undecodable(out);
        return -1;
    }
    return (long)count;
}

/* Appends one length-delimited field 1 of inner bytes to w->out, leaving
 * room for them; returns where they go, or NULL when out of memory. */
static uint8_t *
rpc_batch_append(struct rpc_worker *w, size_t inner)
{
    size_t need = rpc_wire_len_field_len(inner);
    uint8_t *p;

    if (buf_reserve(&w->out, w->out.len + need) != 0)
        return NULL;
    p = (uint8_t *)w->out.data + w->out.len;
    p = rpc_wire_put_tag(p, 1, RPC_WIRE_LEN);
    p = rpc_wire_put_varint(p, inner);
    w->out.len += need;
    return p;
}

/* The error sentence of a MultiGet key's status, or NULL. */
static const char *
rpc_batch_get_error(const struct store_batch_get *g)
{
    if (g->status == STORE_OK || g->status == STORE_NOT_FOUND)
        return NULL;
    return rpc_cache_item_error(g->status, g->key, g->klen);
}

/* Bytes of CacheLookup{key, found, value} for g, found, when its key and
 * value are under 128 bytes each (their lengths one byte): so whenever
 * the result is under 128. */
static inline size_t
rpc_batch_found_inner(const struct store_batch_get *g)
{
    return 4 + g->klen + (g->vlen ? 2 + g->vlen : 0);
}

/* Whether g, its message inner bytes long, is a found key whose
 * CacheLookup is under 128 bytes: every length in it takes one byte, so
 * it is sized and written the short way. */
static inline bool
rpc_batch_lookup_small(const struct store_batch_get *g, size_t inner)
{
    return g->status == STORE_OK && inner < 0x80;
}

/* Writes small g's CacheLookup, inner bytes long, as a field 1 at p, its
 * value at vals + g->off; returns the end. */
static inline uint8_t *
rpc_batch_put_small(uint8_t *p, const struct store_batch_get *g, size_t inner,
                    const char *vals)
{
    p[0] = 1 << 3 | RPC_WIRE_LEN;
    p[1] = (uint8_t)inner;
    p[2] = 1 << 3 | RPC_WIRE_LEN;
    p[3] = (uint8_t)g->klen;
    memcpy(p + 4, g->key, g->klen);
    p += 4 + g->klen;
    p[0] = 2 << 3 | RPC_WIRE_VARINT;
    p[1] = 1;
    if (g->vlen == 0)
        return p + 2;
    p[2] = 3 << 3 | RPC_WIRE_LEN;
    p[3] = (uint8_t)g->vlen;
    memcpy(p + 4, vals + g->off, g->vlen);
    return p + 4 + g->vlen;
}

/* Bytes of CacheLookup{key, found, value, error} for g, error its
 * sentence (NULL: none): the message alone. */
static size_t
rpc_batch_lookup_inner(const struct store_batch_get *g, const char *error)
{
    size_t n = rpc_wire_len_field_len(g->klen);

    if (g->status == STORE_OK)
        n += 2 + (g->vlen ? rpc_wire_len_field_len(g->vlen) : 0);
    if (error)
        n += rpc_wire_len_field_len(strlen(error));
    return n;
}

/* Writes g's CacheLookup as a field 1, its message inner bytes long, at
 * p, its value at vals + g->off; returns the end. */
static uint8_t *
rpc_batch_put_lookup(uint8_t *p, const struct store_batch_get *g, size_t inner,
                     const char *vals)
{
    const char *error = rpc_batch_get_error(g);

    p = rpc_wire_put_tag(p, 1, RPC_WIRE_LEN);
    p = rpc_wire_put_varint(p, inner);
    p = rpc_wire_put_len_field(p, 1, g->key, g->klen);
    if (g->status == STORE_OK) {
        p = rpc_wire_put_tag(p, 2, RPC_WIRE_VARINT);
        *p++ = 1;
        if (g->vlen)
            p = rpc_wire_put_len_field(p, 3, vals + g->off, g->vlen);
    }
    if (error)
        p = rpc_wire_put_len_field(p, 4, error, strlen(error));
    return p;
}

/* CacheOperationResult{key, status, error}. */
static bool
rpc_batch_result(struct rpc_worker *w, const struct rpc_item *it,
                 const char *error)
{
    size_t elen = error ? strlen(error) : 0;
    size_t inner = rpc_wire_len_field_len(it->klen) + 2 +
                   (error ? rpc_wire_len_field_len(elen) : 0);
    uint8_t *p = rpc_batch_append(w, inner);

    if (!p)
        return false;
    p = rpc_wire_put_len_field(p, 1, it->key, it->klen);
    p = rpc_wire_put_tag(p, 2, RPC_WIRE_VARINT);
    *p++ = error ? RPC_CACHE_STATUS_ERROR : RPC_CACHE_STATUS_OK;
    if (error)
        rpc_wire_put_len_field(p, 3, error, elen);
    return true;
}

/* Frees the worker's scratch after a batch that made it large. */
static void
rpc_batch_trim(struct rpc_worker *w)
{
    w->out.len = 0;
    if (w->out.cap > RPC_BATCH_KEEP_BYTES)
        buf_fini(&w->out);
    if (w->scratch.cap > RPC_BATCH_KEEP_BYTES)
        buf_fini(&w->scratch);
    if (w->items_cap > RPC_BATCH_KEEP_ITEMS) {
        free(w->items);
        w->items = NULL;
        w->items_cap = 0;
    }
}

/* The reply from w->out (or out of memory), then the scratch trimmed. */
static void
rpc_batch_finish(struct rpc_worker *w, bool ok, struct rpc_reply *out)
{
    if (!ok) {
        rpc_cache_status(out, STORE_NO_MEMORY);
        rpc_batch_trim(w);
        return;
    }
    out->code = GRPC_STATUS_OK;
    out->has_body = true;
    if (w->out.len >= BUFPOOL_MIN) {
        out->body = rpc_slice_give(w->out.data, w->out.len);
        buf_init(&w->out);
    } else {
        out->body = grpc_slice_malloc(w->out.len);
        if (w->out.len)
            memcpy(GRPC_SLICE_START_PTR(out->body), w->out.data, w->out.len);
    }
    rpc_batch_trim(w);
}

/* The MultiGet reply of gets[0..n), values in w->out, into one slice;
 * inner[i] is room for the size of gets[i]'s message (a value is under
 * 2 GiB, so it fits). */
static void
rpc_batch_lookups(struct rpc_worker *w, const struct store_batch_get *gets,
                  uint32_t *inner, size_t n, struct rpc_reply *out)
{
    size_t len = 0, i;
    uint8_t *p;

    for (i = 0; i < n; i++) {
        size_t found = gets[i].status == STORE_OK
                           ? rpc_batch_found_inner(&gets[i])
                           : 0; /* vlen is set only when found */

        inner[i] = rpc_batch_lookup_small(&gets[i], found)
                       ? (uint32_t)found
                       : (uint32_t)rpc_batch_lookup_inner(
                             &gets[i], rpc_batch_get_error(&gets[i]));
        len += rpc_wire_len_field_len(inner[i]);
    }
    if (!rpc_slice_alloc(len, &out->body)) {
        rpc_cache_status(out, STORE_NO_MEMORY);
        return;
    }
    out->code = GRPC_STATUS_OK;
    out->has_body = true;
    p = GRPC_SLICE_START_PTR(out->body);
    for (i = 0; i < n; i++)
        p = rpc_batch_lookup_small(&gets[i], inner[i])
                ? rpc_batch_put_small(p, &gets[i], inner[i], w->out.data)
                : rpc_batch_put_lookup(p, &gets[i], inner[i], w->out.data);
}

/* The value bytes one MultiGet reply may hold: what the reply budget
 * holds in all, or one value of the largest size accepted, whichever is
 * more (rpc_budget.h); so a MultiGet pins no more than a Get can. */
static uint64_t
rpc_batch_max_reply(const struct rpc_worker *w)
{
    uint64_t v = w->cfg->max_value_bytes;

    return v > RPC_BUDGET_TOTAL_BYTES ? v : RPC_BUDGET_TOTAL_BYTES;
}

void
rpc_cache_multi_get(struct rpc_worker *w, const struct rpc_request *req,
                    struct rpc_reply *out)
{
    long n = rpc_batch_read(w, req, false, out);
    struct store_batch_get *gets;
    uint32_t *inner;

    if (n < 0)
        return;
    if (buf_reserve(&w->scratch, (size_t)n * (sizeof *gets + sizeof *inner)) !=
        0) {
        rpc_batch_finish(w, false, out);
        return;
    }
    gets = (struct store_batch_get *)(void *)w->scratch.data;
    inner = (uint32_t *)(void *)(gets + n);
    for (long i = 0; i < n; i++) {
        gets[i].key = w->items[i].key;
        gets[i].klen = w->items[i].klen;
    }
    w->out.len = 0;
    if (store_get_batch(w->store, req->ns, req->nslen, gets, (size_t)n,
                        rpc_batch_max_reply(w), &w->out) != STORE_OK) {
        out->code = GRPC_STATUS_RESOURCE_EXHAUSTED;
        out->details = rpc_batch_too_big;
    } else {
        rpc_batch_lookups(w, gets, inner, (size_t)n, out);
    }
    rpc_batch_trim(w);
}

void
rpc_cache_multi_set(struct rpc_worker *w, const struct rpc_request *req,
                    struct rpc_reply *out)
{
    long n = rpc_batch_read(w, req, true, out);
    bool ok = true;

    for (long i = 0; i < n && ok; i++) {
        const struct rpc_item *it = &w->items[i];
        enum store_status st =
            store_set(w->store, req->ns, req->nslen, it->key, it->klen, it->val,
                      it->vlen, it->ttl_s);

        ok = rpc_batch_result(
            w, it,
            st == STORE_OK ? NULL
                           : rpc_cache_item_error(st, it->key, it->klen));
    }
    if (n >= 0)
        rpc_batch_finish(w, ok, out);
}

void
rpc_cache_multi_delete(struct rpc_worker *w, const struct rpc_request *req,
                       struct rpc_reply *out)
{
    long n = rpc_batch_read(w, req, false, out);
    bool ok = true;

    for (long i = 0; i < n && ok; i++) {
        const struct rpc_item *it = &w->items[i];
        enum store_status st =
            store_del(w->store, req->ns, req->nslen, it->key, it->klen);

        ok =
            rpc_batch_result(w, it,
                             st == STORE_OK || st == STORE_NOT_FOUND
                                 ? NULL
                                 : rpc_cache_item_error(st, it->key, it->klen));
    }
    if (n >= 0)
        rpc_batch_finish(w, ok, out);
}
