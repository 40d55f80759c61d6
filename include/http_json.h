/*
 * http_json.h: the JSON documents of the HTTP endpoint (docs/http.md),
 * built with jansson.
 *
 * Each function returns a malloc'd NUL-terminated document that the caller
 * releases with free(), or NULL when memory ran out. They read the store (one
 * shard at a time), the per-worker request counters and the process phase;
 * any thread may call them.
 */
#ifndef HTTP_JSON_H
#define HTTP_JSON_H

#include "http.h"

/* /health and /ready: *status is set to 200 when serving, else 503 (with
 * "status" "starting" or "shutting_down"). */
char *http_json_health(const struct http_deps *d, int *status);
/* /live: always "alive". */
char *http_json_live(const struct http_deps *d);
/* /stats: totals, one object per shard, the gRPC calls answered by method
 * and status code, uptime, active requests. */
char *http_json_stats(const struct http_deps *d);
/* /: service name, version, gRPC port, the list of endpoints. */
char *http_json_root(const struct http_deps *d);
/* A small error body: {"error": message, "status": status}. */
char *http_json_error(int status, const char *message);

#endif
