/*
 * rpc_budget.h: bounds the bytes of large replies that gRPC holds for
 * clients that have not read them yet, in total and per connection.
 *
 * gRPC keeps a reply until the client's flow-control window lets it out,
 * so a client that never reads could pin any amount: each connection may
 * have 100 calls in flight, each with a value of up to max_value_bytes.
 * A reply of RPC_BUDGET_TRACK_BYTES or more takes its size from the budget
 * before it is sent and gives it back when its batch completes. One is
 * refused (RESOURCE_EXHAUSTED) when it would take the process past
 * RPC_BUDGET_TOTAL_BYTES, or its connection past RPC_BUDGET_CONN_BYTES,
 * unless nothing is in flight there: a single reply is always sent, so a
 * value of any accepted size can be read. Large replies in flight thus
 * hold at most max(RPC_BUDGET_TOTAL_BYTES, max_value_bytes) in all.
 */
#ifndef RPC_BUDGET_H
#define RPC_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

#define RPC_BUDGET_TRACK_BYTES ((size_t)16 * 1024)
#define RPC_BUDGET_TOTAL_BYTES ((size_t)64 * 1024 * 1024)
#define RPC_BUDGET_CONN_BYTES  ((size_t)16 * 1024 * 1024)
/* A tracked reply not taken by its client within RPC_BUDGET_BASE_S plus
 * one second per MiB is cancelled (DEADLINE_EXCEEDED). */
#define RPC_BUDGET_BASE_S 10

/* Takes n bytes for connection peer (gRPC's peer string, borrowed);
 * false, leaving the budget unchanged, when they do not fit. */
bool rpc_budget_take(const char *peer, size_t n);
/* Gives back n bytes taken for peer. */
void rpc_budget_give(const char *peer, size_t n);
/* Bytes in flight now, in all (for tests and metrics). */
size_t rpc_budget_in_flight(void);
/* Seconds a tracked reply of n bytes may take. */
unsigned rpc_budget_timeout_s(size_t n);

#endif
