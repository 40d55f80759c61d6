/*
 * rpc_guard.h: frame-level limits on every plaintext gRPC connection
 * (h2scan.h), applied where gRPC reads the socket, and their idle limit.
 */
#ifndef RPC_GUARD_H
#define RPC_GUARD_H

#include <stdbool.h>
#include <stdint.h>

/* Starts watching connections accepted from now on; max_fds is the
 * open-file limit (descriptors at or above it, or above 2^20, are never
 * watched). scan: read their frames and close those without a call for
 * idle_s seconds; with TLS they are encrypted, so the connections are only
 * kept track of (gRPC closes idle ones itself). -1 (errno set) when the
 * sweep thread cannot start. */
int rpc_guard_start(int max_fds, bool scan, uint32_t idle_s);
/* Stops the sweep and watching and frees every connection's state; call
 * after gRPC has closed its connections. */
void rpc_guard_stop(void);
/* Watches connection fd, just accepted on the gRPC port. */
void rpc_guard_open(int fd);

#endif
