/*
 * rpc_cache.h: cache.CacheService's methods (README, "API"): decode the request
 * (keys with their length, from the wire copy of cache.proto whose key
 * fields are bytes), call the store, encode the reply, and map the store's
 * outcome to a gRPC status in one table.
 */
#ifndef RPC_CACHE_H
#define RPC_CACHE_H

#include "rpc_call.h"

void rpc_cache_get(struct rpc_worker *w, const uint8_t *req, size_t len,
                   struct rpc_reply *out);
void rpc_cache_set(struct rpc_worker *w, const uint8_t *req, size_t len,
                   struct rpc_reply *out);
void rpc_cache_delete(struct rpc_worker *w, const uint8_t *req, size_t len,
                      struct rpc_reply *out);
void rpc_cache_stats(struct rpc_worker *w, const uint8_t *req, size_t len,
                     struct rpc_reply *out);

#endif
