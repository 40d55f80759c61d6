/*
 * metrics.h: the Prometheus text exposition (format 0.0.4) of /metrics.
 *
 * Cache totals and per-shard series from the store (read one shard at a
 * time), per-method gRPC request counts and latency histograms summed over
 * the workers' struct reqstats, and the standard process series read from
 * /proc. Every series has HELP and TYPE lines.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>

#include "http.h"

/* The whole exposition as a malloc'd NUL-terminated string the caller
 * frees, or NULL when memory ran out. */
char *metrics_render(const struct http_deps *d);
/* Calls accepted and not yet answered, summed over the workers (never
 * negative). */
int64_t metrics_active_requests(const struct http_deps *d);
/* The workers' request counts and latencies summed into *sum, in the same
 * layout (sum needs no setting up; /metrics and /stats both read it). */
void metrics_sum_requests(const struct http_deps *d, struct reqstats *sum);

#endif
