/*
 * rpc_cond.c: SetIfAbsent, CompareAndSet, Increment, Touch and Flush.
 *
 * Each is one store call, atomic against every other write of its key
 * (store.h); the answers that are not errors (exists, not found,
 * mismatch) travel in the reply's body with status OK, the errors as gRPC
 * status codes like Set's (rpc_cache_status()).
 */
#include "rpc_cache.h"

/* ConditionalCacheStatus on the wire. */
enum rpc_cond_status {
    RPC_COND_STORED = 1,
    RPC_COND_EXISTS = 2,
    RPC_COND_NOT_FOUND = 3,
    RPC_COND_MISMATCH = 4,
};

static const int rpc_cas_fields[4] = {RPC_WIRE_LEN, RPC_WIRE_LEN, RPC_WIRE_LEN,
                                      RPC_WIRE_VARINT};
static const int rpc_incr_fields[4] = {RPC_WIRE_LEN, RPC_WIRE_VARINT,
                                       RPC_WIRE_VARINT, -1};
static const int rpc_touch_fields[4] = {RPC_WIRE_LEN, RPC_WIRE_VARINT, -1, -1};
static const int rpc_empty_fields[4] = {-1, -1, -1, -1};

/* A conditional write's outcome: its ConditionalCacheStatus, or the error
 * status of the store's outcome. */
static void
rpc_cond_reply(struct rpc_reply *out, enum store_status st)
{
    static const enum rpc_cond_status answer[] = {
        [STORE_OK] = RPC_COND_STORED,
        [STORE_EXISTS] = RPC_COND_EXISTS,
        [STORE_NOT_FOUND] = RPC_COND_NOT_FOUND,
        [STORE_MISMATCH] = RPC_COND_MISMATCH,
    };

    rpc_cache_status(out, st);
    if (out->code == GRPC_STATUS_OK)
        rpc_cache_reply_varint(out, answer[st]);
}

void
rpc_cache_set_if_absent(struct rpc_worker *w, const struct rpc_request *req,
                        struct rpc_reply *out)
{
    struct rpc_item it;

    if (!rpc_cache_read_item(req->body, req->len, &it)) {
        rpc_cache_undecodable(out);
        return;
    }
    rpc_reply_key_log(out, it.key, it.klen);
    rpc_cond_reply(out,
                   store_set_if_absent(w->store, req->ns, req->nslen, it.key,
                                       it.klen, it.val, it.vlen, it.ttl_s));
}

void
rpc_cache_compare_and_set(struct rpc_worker *w, const struct rpc_request *req,
                          struct rpc_reply *out)
{
    struct rpc_wire_fields f;

    if (!rpc_cache_fields(req->body, req->len, rpc_cas_fields, &f, out))
        return;
    rpc_cond_reply(out, store_compare_and_set(w->store, req->ns, req->nslen,
                                              (const char *)f.bytes[1],
                                              f.len[1], f.bytes[2], f.len[2],
                                              f.bytes[3], f.len[3],
                                              (int32_t)(uint32_t)f.varint[4]));
}

void
rpc_cache_increment(struct rpc_worker *w, const struct rpc_request *req,
                    struct rpc_reply *out)
{
    struct rpc_wire_fields f;
    enum store_status st;
    int64_t value = 0;

    if (!rpc_cache_fields(req->body, req->len, rpc_incr_fields, &f, out))
        return;
    st = store_increment(
        w->store, req->ns, req->nslen, (const char *)f.bytes[1], f.len[1],
        (int64_t)f.varint[2], (int32_t)(uint32_t)f.varint[3], &value);
    rpc_cache_status(out, st);
    if (st == STORE_OK)
        rpc_cache_reply_varint(out, (uint64_t)value);
}

void
rpc_cache_touch(struct rpc_worker *w, const struct rpc_request *req,
                struct rpc_reply *out)
{
    struct rpc_wire_fields f;
    enum store_status st;

    if (!rpc_cache_fields(req->body, req->len, rpc_touch_fields, &f, out))
        return;
    st = store_touch(w->store, req->ns, req->nslen, (const char *)f.bytes[1],
                     f.len[1], (int32_t)(uint32_t)f.varint[2]);
    rpc_cache_status(out, st);
    if (out->code == GRPC_STATUS_OK)
        rpc_cache_reply_varint(out, st == STORE_OK); /* TouchResponse.found */
}

void
rpc_cache_flush(struct rpc_worker *w, const struct rpc_request *req,
                struct rpc_reply *out)
{
    struct rpc_wire_fields f;
    uint64_t removed = 0;

    if (!rpc_cache_fields(req->body, req->len, rpc_empty_fields, &f, out))
        return;
    rpc_cache_status(out, store_flush(w->store, req->ns, req->nslen, &removed));
    if (out->code == GRPC_STATUS_OK)
        rpc_cache_reply_varint(out, removed);
}
