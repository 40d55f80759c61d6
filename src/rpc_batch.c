/*
 * rpc_batch.c: MultiGet, MultiSet and MultiDelete.
 *
 * A batch is read in place into the worker's item array (keys and values
 * point into the request), counted against CACHE_MAX_BATCH before anything
 * is applied, then applied item by item, each taking only its own shard's
 * lock, as the single-key calls do: a batch is not atomic. Each item's
 * result is appended to the worker's reply buffer, in request order with
 * its key echoed byte for byte; an item that fails alone gets found=false
 * or status=ERROR and a short sentence, and the others are applied. The
 * reply is then copied into one slice. The item array and the reply
 * buffer belong to the worker and are reused, so a batch allocates nothing
 * per item; both are freed after a batch that made them large.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc_cache.h"

/* Larger scratch than this is freed after the batch that needed it. */
#define RPC_BATCH_KEEP_ITEMS 4096
#define RPC_BATCH_KEEP_BYTES (256 * 1024)
/* CacheStatus on the wire. */
#define RPC_CACHE_STATUS_OK    1
#define RPC_CACHE_STATUS_ERROR 2

static const char rpc_batch_too_many[] = "more items than the batch limit";

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
            if (!rpc_cache_read_item(p, n, &w->items[count]))
                break;
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

/* CacheLookup{key, found, value, error}. */
static bool
rpc_batch_lookup(struct rpc_worker *w, const struct rpc_item *it,
                 const struct buf *val, const char *error)
{
    size_t elen = error ? strlen(error) : 0;
    size_t inner = rpc_wire_len_field_len(it->klen) + (val ? 2 : 0) +
                   (val && val->len ? rpc_wire_len_field_len(val->len) : 0) +
                   (error ? rpc_wire_len_field_len(elen) : 0);
    uint8_t *p = rpc_batch_append(w, inner);

    if (!p)
        return false;
    p = rpc_wire_put_len_field(p, 1, it->key, it->klen);
    if (val) {
        p = rpc_wire_put_tag(p, 2, RPC_WIRE_VARINT);
        *p++ = 1;
        if (val->len)
            p = rpc_wire_put_len_field(p, 3, val->data, val->len);
    }
    if (error)
        rpc_wire_put_len_field(p, 4, error, elen);
    return true;
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

/* The reply from w->out (or out of memory), then the scratch trimmed. */
static void
rpc_batch_finish(struct rpc_worker *w, bool ok, struct rpc_reply *out)
{
    if (!ok) {
        rpc_cache_status(out, STORE_NO_MEMORY);
    } else {
        out->code = GRPC_STATUS_OK;
        out->body = grpc_slice_malloc(w->out.len);
        if (w->out.len)
            memcpy(GRPC_SLICE_START_PTR(out->body), w->out.data, w->out.len);
        out->has_body = true;
    }
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

void
rpc_cache_multi_get(struct rpc_worker *w, const struct rpc_request *req,
                    struct rpc_reply *out)
{
    long n = rpc_batch_read(w, req, false, out);
    bool ok = true;

    for (long i = 0; i < n && ok; i++) {
        const struct rpc_item *it = &w->items[i];
        enum store_status st = store_get(w->store, req->ns, req->nslen, it->key,
                                         it->klen, &w->scratch);

        if (st == STORE_OK)
            ok = rpc_batch_lookup(w, it, &w->scratch, NULL);
        else
            ok = rpc_batch_lookup(
                w, it, NULL,
                st == STORE_NOT_FOUND
                    ? NULL
                    : rpc_cache_item_error(st, it->key, it->klen));
    }
    if (n >= 0)
        rpc_batch_finish(w, ok, out);
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
