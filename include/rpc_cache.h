/*
 * rpc_cache.h: cache.CacheService's methods (README, "API"): decode the
 * request in place (keys with their length, so a key with U+0000 inside is
 * not cut short), call the store in the call's keyspace, encode the reply,
 * and map the store's outcome to a gRPC status in one table.
 *
 * rpc_cache.c: Get, Set, Delete, Stats and what the others share;
 * rpc_batch.c: MultiGet, MultiSet, MultiDelete;
 * rpc_cond.c: SetIfAbsent, CompareAndSet, Increment, Touch, Flush.
 */
#ifndef RPC_CACHE_H
#define RPC_CACHE_H

#include "rpc_call.h"
#include "rpc_wire.h"

#define RPC_CACHE_HANDLER(fn)                                                  \
    void fn(struct rpc_worker *w, const struct rpc_request *req,               \
            struct rpc_reply *out)

RPC_CACHE_HANDLER(rpc_cache_get);
RPC_CACHE_HANDLER(rpc_cache_set);
RPC_CACHE_HANDLER(rpc_cache_delete);
RPC_CACHE_HANDLER(rpc_cache_stats);
RPC_CACHE_HANDLER(rpc_cache_multi_get);
RPC_CACHE_HANDLER(rpc_cache_multi_set);
RPC_CACHE_HANDLER(rpc_cache_multi_delete);
RPC_CACHE_HANDLER(rpc_cache_set_if_absent);
RPC_CACHE_HANDLER(rpc_cache_compare_and_set);
RPC_CACHE_HANDLER(rpc_cache_increment);
RPC_CACHE_HANDLER(rpc_cache_touch);
RPC_CACHE_HANDLER(rpc_cache_flush);

/* Shared by the method files. */
/* The gRPC status (and details) of a store outcome. */
void rpc_cache_status(struct rpc_reply *out, enum store_status st);
/* INVALID_ARGUMENT: the request body does not decode. */
void rpc_cache_undecodable(struct rpc_reply *out);
/* Reads a message of the given field types (rpc_wire_read_fields); on
 * failure answers INVALID_ARGUMENT and returns false. Notes field 1 (the
 * key of every single-key request) for the DEBUG line. */
bool rpc_cache_fields(const uint8_t *p, size_t n, const int types[4],
                      struct rpc_wire_fields *f, struct rpc_reply *out);
/* Reads a CacheItem; false when it does not decode. */
bool rpc_cache_read_item(const uint8_t *p, size_t n, struct rpc_item *it);
/* A reply of one varint field (field 1), e.g. a conditional status. */
void rpc_cache_reply_varint(struct rpc_reply *out, uint64_t v);
/* Why one item of a batch failed, in a short sentence. */
const char *rpc_cache_item_error(enum store_status st, const char *key,
                                 size_t klen);

#endif
