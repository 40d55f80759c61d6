/*
 * grpc_tune.h: settings of the libraries under gRPC (src/grpc_tune.cc).
 */
#ifndef GRPC_TUNE_H
#define GRPC_TUNE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Turns off Abseil's lock-order graph (deadlock detection), which
 * Debian's Abseil runs on every mutex lock. Call before grpc_init(), from
 * one thread. */
void grpc_tune_libraries(void);

#ifdef __cplusplus
}
#endif

#endif
