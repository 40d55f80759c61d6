/*
 * http.h: the HTTP endpoint (docs/http.md): /health, /ready, /live, /stats,
 * /metrics and /, served by libmicrohttpd on its own threads.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

#include "config.h"
#include "reqstats.h"
#include "snapshot.h"
#include "store.h"

/* What the endpoint reads; all borrowed, and must outlive http_stop(). */
struct http_deps {
    const struct config *cfg;
    struct store *store;
    struct snapshot *snapshot; /* NULL when snapshots are off */
    struct reqstats *workers;  /* array of nworkers, written by gRPC workers */
    size_t nworkers;
    int grpc_port;       /* the port gRPC really bound */
    double start_mono_s; /* clock_mono_s() at process start */
    double start_wall_s; /* clock_wall_s() at process start */
};

struct http;

/* Binds cfg->health_host:health_port and starts serving. NULL on failure,
 * with one line for people in err (a port in use, say). */
struct http *http_start(const struct http_deps *deps, char *err, size_t errlen);
/* The port really bound (useful with port 0). */
int http_port(const struct http *h);
/* Stops serving and frees everything. NULL is a no-op. */
void http_stop(struct http *h);

#endif
