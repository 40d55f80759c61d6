/*
 * rpc_server.h: the gRPC server: listener, TLS/mTLS
 * credentials, one completion queue per worker thread, and the ordered
 * drain at shutdown.
 *
 * Each worker owns its completion queue and posts its own requests for
 * every method on it, so a call never changes threads between its arrival
 * and its reply, and the request path takes no lock shared by workers.
 */
#ifndef RPC_SERVER_H
#define RPC_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "reqstats.h"
#include "store.h"

/* Receive limit over max_value_bytes: room for the key and the framing.
 * gRPC 1.51 enforces it only once a whole message has arrived (upstream
 * grpc/grpc#43012): a larger body is buffered, then refused with
 * RESOURCE_EXHAUSTED before any decoding, so it bounds what a call keeps,
 * not what a client can make the transport buffer for a moment. A gRPC
 * resource quota (GRPC_ARG_RESOURCE_QUOTA) would bound that too, but made
 * this version crash under memory pressure when tried. */
#define RPC_RECV_MARGIN_BYTES 4096
/* Limits on every connection (docs/limits.md). */
#define RPC_MAX_METADATA_BYTES     8192
#define RPC_MAX_CONCURRENT_STREAMS 100

/* What the server uses; all borrowed, and must outlive rpc_server_stop(). */
struct rpc_server_deps {
    const struct config *cfg;
    struct store *store;
    struct reqstats *stats; /* array of nworkers: worker i writes stats[i] */
    size_t nworkers;        /* >= 1 */
};

struct rpc_server;

/* Initialises gRPC, binds cfg->host:port (with TLS when configured) and
 * starts the workers. NULL on failure, with one line for people in err;
 * gRPC is then shut down again and nothing is left running. */
struct rpc_server *rpc_server_start(const struct rpc_server_deps *deps,
                                    char *err, size_t errlen);
/* The port really bound (useful with port 0). */
int rpc_server_port(const struct rpc_server *srv);
/* Stops accepting calls, lets calls in flight finish for up to grace_s
 * seconds (less as soon as none is left), cancels the rest, joins the
 * workers, shuts gRPC down and frees everything. NULL is a no-op. */
void rpc_server_stop(struct rpc_server *srv, uint32_t grace_s);

#endif
