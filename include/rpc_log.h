/*
 * rpc_log.h: gRPC core's own log lines, through the server's logger.
 */
#ifndef RPC_LOG_H
#define RPC_LOG_H

#include <stdbool.h>

/* At most this many gRPC core lines a second reach the log; the rest are
 * counted and reported in one line when the next second's first passes. */
#define RPC_LOG_LINES_PER_S 5

/* Routes gRPC's log lines to log.c. Call before grpc_init(). */
void rpc_log_start(void);
/* While quiet, gRPC's lines are logged at DEBUG only: the caller reports
 * the failure itself, in one line (binding the port). */
void rpc_log_quiet(bool quiet);

#endif
