/*
 * rpc_health.h: grpc.health.v1.Health/Check: SERVING for "" and
 * "cache.CacheService" while the process phase is PHASE_SERVING,
 * NOT_SERVING before and from the moment shutdown begins, NOT_FOUND for
 * any other name. Watch is not registered and answers UNIMPLEMENTED.
 */
#ifndef RPC_HEALTH_H
#define RPC_HEALTH_H

#include "rpc_call.h"

void rpc_health_check(struct rpc_worker *w, const struct rpc_request *req,
                      struct rpc_reply *out);

#endif
