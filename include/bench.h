/*
 * bench.h: tiny-cache-bench's options, results and run (bench_run.c),
 * shared with its front end (bench.c: options, report).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_hist.h"
#include "bench_wire.h"
#include "client.h"

/* The calls, in --ratio order; MGET and MSET carry batch keys each. */
enum bench_op {
    BENCH_GET,
    BENCH_SET,
    BENCH_DEL,
    BENCH_MGET,
    BENCH_MSET,
    BENCH_OP_COUNT
};
enum bench_pattern { BENCH_SEQ, BENCH_RANDOM, BENCH_ZIPF };

/* gRPC status codes 0..16, then one slot for anything else. */
#define BENCH_STATUS_SLOTS 18

/* --routes at most. */
#define BENCH_MAX_ROUTES 100000

/* Keys are the prefix then the key's index as BENCH_KEY_DIGITS digits
 * (bench_wire.h). */
#define BENCH_KEYSPACE_MAX 1000000000000ull

/* What to run; immutable once the run is created. */
struct bench_opts {
    struct client_opts conn;
    unsigned connections;    /* -c */
    unsigned calls_per_conn; /* -m */
    unsigned threads;        /* -t, at most connections */
    uint64_t requests;       /* -n; 0 when duration_s is set */
    double duration_s;       /* -d; 0 when requests is set */
    unsigned ratio[BENCH_OP_COUNT];
    size_t value_size;     /* --value-size: the size, or the least of a range */
    size_t value_size_max; /* the most of the range; value_size when fixed */
    uint64_t keyspace;
    enum bench_pattern pattern;
    bool fill;
    const char *key_prefix;
    uint64_t seed;
    unsigned batch;          /* keys per MultiGet and MultiSet call */
    struct client_meta meta; /* the namespace and the route sent, if any */
    unsigned routes; /* --routes: key i routes as "r<i mod routes>"; 0: off */
};

/*
 * What a phase did, summed over the threads. hits and misses count the keys
 * of Get and MultiGet calls answered OK; item_errors the items of batch
 * calls answered OK whose own result is an error (or missing).
 */
struct bench_result {
    uint64_t calls[BENCH_OP_COUNT];
    uint64_t status[BENCH_STATUS_SLOTS];
    uint64_t hits;
    uint64_t misses;
    uint64_t item_errors;
    double elapsed_s;
    struct bench_hist hist; /* latency, ns */
};

/* Called about once a second while a phase runs, with the calls so far. */
typedef void (*bench_progress_fn)(uint64_t done, double elapsed_s, void *arg);

struct bench;

/*
 * Open the connections of opts and wait until each is up. NULL with a
 * message in err when a connection or a thread cannot be made.
 */
struct bench *bench_create(const struct bench_opts *opts, char *err,
                           size_t errlen);
void bench_destroy(struct bench *b);

/* Set every key of the keyspace once. Returns 0, or -1 with err set. */
int bench_fill(struct bench *b, struct bench_result *out,
               bench_progress_fn progress, void *arg, char *err, size_t errlen);

/* The measured run: -n calls or -d seconds. Returns 0, or -1 with err. */
int bench_measure(struct bench *b, struct bench_result *out,
                  bench_progress_fn progress, void *arg, char *err,
                  size_t errlen);

#endif
