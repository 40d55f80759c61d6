/*
 * rpc_accept.h: keeps gRPC's listener accepting when the process runs out
 * of file descriptors, by shedding the connections it cannot take.
 */
#ifndef RPC_ACCEPT_H
#define RPC_ACCEPT_H

/* Opens the reserve descriptor and starts watching the listening socket of
 * port. 0, or -1 with errno when no descriptor is left for the reserve.
 * Call once the port is bound; rpc_accept_stop() undoes it. */
int rpc_accept_start(int port);
void rpc_accept_stop(void);
#endif
