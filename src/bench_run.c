/*
 * bench_run.c: tiny-cache-bench's load: connections, worker threads and the
 * calls they keep in flight.
 *
 * Connection j (one channel with a connection of its own) belongs to worker
 * j % threads. A worker owns a completion queue and calls_per_conn call
 * slots per connection; every slot always has one call in flight, and when
 * its call completes the worker records it and starts the next one in the
 * same slot, until the phase's work is done. Calls are registered calls
 * on the minimal channel stack, without a deadline except in a run of -d
 * seconds, whose calls all end by BENCH_DRAIN_S after it (the worker ends
 * those still in flight then: that stack leaves deadlines to the server);
 * requests are encoded by hand (bench_wire.c) into a fresh small slice, and a
 * Set's value is a prefix of one slice per worker (as long as the largest
 * value) that every request references; with a range of sizes each Set draws
 * its size log-uniformly, so every power of two in the range is about as
 * likely. A MultiGet is one slice of batch keys; a MultiSet is, for each of its
 * items, a piece of one slice of item headers followed by a prefix of the
 * value slice again (of the range's smallest size). The keys of a batch
 * are picked one after the other by the key pattern. With --routes, key i
 * sends x-cache-route "r<i mod routes>" (one slice per route, made once),
 * and the other keys of a batch are moved to the first key's route, so the
 * whole batch belongs on the node of its route. The answer of a batch
 * call is scanned, not decoded, for its hits and failed items. A worker
 * takes every completion already queued in one go, records them, then
 * restarts their slots. Each call's clock starts just before the call is
 * created and stops when its completion is taken from the queue, so the
 * worker's time between the two calls of a slot (recording the batch's
 * other completions, starting its other slots) is on no call's clock, as
 * in redis-benchmark.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "bench.h"
#include "tc.h"

#define BENCH_CONNECT_TIMEOUT_S 5.0
#define BENCH_DRAIN_S           5 /* a timed run's calls end by then after it */
#define BENCH_ZIPF_THETA        0.99
#define BENCH_ZIPF_EXACT_TERMS  1000000u

/* YCSB's Zipfian generator (Gray et al., SIGMOD 1994); read-only. */
struct bench_zipf {
    uint64_t n;
    double zetan;
    double alpha;
    double eta;
    double half_pow_theta;
};

struct bench_worker;

/*
 * One call in flight, reused call after call. Only its worker's thread
 * touches it; ops point into the slot and are set up once.
 */
struct bench_slot {
    struct bench_worker *w;
    struct client *conn;
    grpc_call *call;
    struct client_unary u;
    enum bench_op op;
    uint64_t start_ns;
    uint64_t end_ns;
};

enum bench_phase { BENCH_PHASE_FILL, BENCH_PHASE_MEASURE };

/*
 * A worker thread and what it owns. Only the worker's thread writes any
 * field during a phase, except done, which the main thread reads (relaxed)
 * for the progress line; the main thread reads res after joining.
 */
struct bench_worker {
    struct bench *b;
    pthread_t thread;
    grpc_completion_queue *cq;
    struct bench_slot *slots;
    struct bench_slot **ready; /* completed slots, nslots of them */
    size_t nslots;
    grpc_slice value;
    uint64_t quota;    /* calls left to start, -n runs */
    uint64_t next_key; /* fill: next key; seq: next key */
    uint64_t end_key;  /* fill: end of this worker's range */
    uint64_t rng;
    _Atomic uint64_t done;
    struct bench_result res;
};

/*
 * The run. opts, conns, workers, zipf and routes are set up by
 * bench_create() and read-only afterwards; phase is written by the main thread
 * before the workers start; stop is set by the main thread when -d runs out, or
 * by a worker when a call fails with UNAVAILABLE (the server is gone or going:
 * the phase ends instead of failing every call left); running
 * (guarded by mu, signalled on cv) counts workers still in their phase.
 */
struct bench {
    struct bench_opts opts;
    struct bench_wire_keys keys;
    unsigned ratio_sum;
    struct client **conns;
    struct bench_worker *workers;
    struct bench_zipf zipf;
    grpc_slice *routes;   /* opts.routes of them: "r0", "r1"... */
    double size_log_lo;   /* log(value_size + 1) */
    double size_log_span; /* log(value_size_max + 2) - size_log_lo */
    enum bench_phase phase;
    gpr_timespec deadline; /* of the phase's calls; set before it starts */
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned running;
};

static const enum rpc_method bench_methods[BENCH_OP_COUNT] = {
    [BENCH_GET] = RPC_GET,        [BENCH_SET] = RPC_SET,
    [BENCH_DEL] = RPC_DELETE,     [BENCH_MGET] = RPC_MULTI_GET,
    [BENCH_MSET] = RPC_MULTI_SET,
};

static uint64_t
bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: a fast, well-mixed per-thread generator. */
static uint64_t
bench_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint64_t
bench_rand_below(uint64_t *state, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)bench_rand(state) * n) >> 64);
}

/*
 * zeta(n, theta): exact for the first BENCH_ZIPF_EXACT_TERMS terms, then the
 * Euler-Maclaurin estimate of the rest (integral plus end correction), so
 * setup stays fast for any keyspace.
 */
static double
bench_zeta(uint64_t n, double theta)
{
    uint64_t m = n < BENCH_ZIPF_EXACT_TERMS ? n : BENCH_ZIPF_EXACT_TERMS;
    double sum = 0, dn = (double)n, dm = (double)m;

    for (uint64_t i = 1; i <= m; i++)
        sum += pow((double)i, -theta);
    if (n > m)
        sum += (pow(dn, 1 - theta) - pow(dm, 1 - theta)) / (1 - theta) +
               (pow(dn, -theta) - pow(dm, -theta)) / 2;
    return sum;
}

static void
bench_zipf_init(struct bench_zipf *z, uint64_t n)
{
    double theta = BENCH_ZIPF_THETA, zeta2 = 1 + pow(0.5, theta);

    z->n = n;
    z->zetan = bench_zeta(n, theta);
    z->alpha = 1 / (1 - theta);
    z->eta = (1 - pow(2.0 / (double)n, 1 - theta)) / (1 - zeta2 / z->zetan);
    z->half_pow_theta = pow(0.5, theta);
}

/* Key rank 0 is the most popular, then 1, and so on. */
static uint64_t
bench_zipf_next(const struct bench_zipf *z, uint64_t *rng)
{
    double u = (double)(bench_rand(rng) >> 11) * 0x1.0p-53;
    double uz = u * z->zetan;
    uint64_t k;

    if (uz < 1 || z->n == 1)
        return 0;
    if (uz < 1 + z->half_pow_theta)
        return 1;
    k = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1, z->alpha));
    return k < z->n ? k : z->n - 1;
}

static uint64_t
bench_pick_key(struct bench_worker *w)
{
    const struct bench *b = w->b;
    uint64_t k;

    switch (b->opts.pattern) {
    case BENCH_SEQ:
        k = w->next_key;
        w->next_key = k + 1 < b->opts.keyspace ? k + 1 : 0;
        return k;
    case BENCH_ZIPF:
        return bench_zipf_next(&b->zipf, &w->rng);
    default:
        return bench_rand_below(&w->rng, b->opts.keyspace);
    }
}

static enum bench_op
bench_pick_op(struct bench_worker *w)
{
    const unsigned *r = w->b->opts.ratio;
    uint64_t x = bench_rand_below(&w->rng, w->b->ratio_sum);
    int op = 0;

    while (op < BENCH_OP_COUNT - 1 && x >= r[op])
        x -= r[op++];
    return (enum bench_op)op;
}

/* The size of the next Set's value: fixed, or log-uniform in the range. */
static size_t
bench_pick_size(struct bench_worker *w)
{
    const struct bench *b = w->b;
    double u;
    size_t n;

    if (b->opts.value_size == b->opts.value_size_max)
        return b->opts.value_size;
    u = (double)(bench_rand(&w->rng) >> 11) * 0x1.0p-53;
    n = (size_t)exp(b->size_log_lo + u * b->size_log_span) - 1;
    if (n < b->opts.value_size)
        return b->opts.value_size;
    return n < b->opts.value_size_max ? n : b->opts.value_size_max;
}

/* The next call of w's phase. Returns false when the phase has no more. */
static bool
bench_next(struct bench_worker *w, enum bench_op *op, uint64_t *key)
{
    struct bench *b = w->b;

    if (atomic_load_explicit(&b->stop, memory_order_relaxed))
        return false;
    if (b->phase == BENCH_PHASE_FILL) {
        if (w->next_key >= w->end_key)
            return false;
        *op = BENCH_SET;
        *key = w->next_key++;
        return true;
    }
    if (b->opts.requests > 0) {
        if (w->quota == 0)
            return false;
        w->quota--;
    }
    *op = bench_pick_op(w);
    *key = bench_pick_key(w);
    return true;
}

/*
 * A Get, Set or Delete of key: its key field and, for a Set, the header of
 * its value followed by a prefix of the worker's value slice.
 */
static grpc_byte_buffer *
bench_encode_one(struct bench_worker *w, enum bench_op op, uint64_t key)
{
    const struct bench *b = w->b;
    size_t vlen = 0, n = bench_wire_key_size(&b->keys);
    grpc_slice s[2];
    grpc_byte_buffer *bb;
    uint8_t *p;

    if (op == BENCH_SET) {
        vlen = bench_pick_size(w);
        n += bench_wire_value_header_size(vlen);
    }
    s[0] = grpc_slice_malloc(n);
    p = bench_wire_put_key(GRPC_SLICE_START_PTR(s[0]), &b->keys, key);
    if (op == BENCH_SET)
        bench_wire_put_value_header(p, vlen);
    if (vlen > 0)
        s[1] = grpc_slice_sub_no_ref(w->value, 0, vlen);
    bb = grpc_raw_byte_buffer_create(s, vlen > 0 ? 2 : 1);
    grpc_slice_unref(s[0]);
    return bb;
}

/*
 * The next key of a batch whose first key is first: with --routes, one of
 * the same route (the same remainder modulo routes), inside the keyspace.
 */
static uint64_t
bench_pick_batch_key(struct bench_worker *w, uint64_t first)
{
    uint64_t n = w->b->opts.routes, k = bench_pick_key(w);

    if (n == 0)
        return k;
    k = k - k % n + first % n;
    return k < w->b->opts.keyspace ? k : k - n;
}

/* A MultiGet of batch keys, the first one key: one slice. */
static grpc_byte_buffer *
bench_encode_mget(struct bench_worker *w, uint64_t key)
{
    const struct bench *b = w->b;
    grpc_slice s =
        grpc_slice_malloc(b->opts.batch * bench_wire_key_size(&b->keys));
    uint8_t *p = GRPC_SLICE_START_PTR(s);
    grpc_byte_buffer *bb;

    for (unsigned i = 0; i < b->opts.batch; i++)
        p = bench_wire_put_key(p, &b->keys,
                               i == 0 ? key : bench_pick_batch_key(w, key));
    bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/*
 * A MultiSet of batch items, the first one of key: for each, its piece of
 * one slice of headers, then the worker's value slice.
 */
static grpc_byte_buffer *
bench_encode_mset(struct bench_worker *w, uint64_t key)
{
    const struct bench *b = w->b;
    size_t vlen = b->opts.value_size;
    size_t hlen = bench_wire_item_header_size(&b->keys, vlen);
    grpc_slice h = grpc_slice_malloc(b->opts.batch * hlen);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(NULL, 0);
    grpc_slice_buffer *sb = &bb->data.raw.slice_buffer;
    uint8_t *p = GRPC_SLICE_START_PTR(h);

    for (unsigned i = 0; i < b->opts.batch; i++) {
        p = bench_wire_put_item_header(
            p, &b->keys, i == 0 ? key : bench_pick_batch_key(w, key), vlen);
        grpc_slice_buffer_add(sb, grpc_slice_sub(h, i * hlen, (i + 1) * hlen));
        if (vlen > 0)
            grpc_slice_buffer_add(sb, grpc_slice_sub(w->value, 0, vlen));
    }
    grpc_slice_unref(h);
    return bb;
}

/* The request of op, whose (first) key is key. */
static grpc_byte_buffer *
bench_encode(struct bench_worker *w, enum bench_op op, uint64_t key)
{
    if (op == BENCH_MGET)
        return bench_encode_mget(w, key);
    if (op == BENCH_MSET)
        return bench_encode_mset(w, key);
    return bench_encode_one(w, op, key);
}

/* Point the slot's operations at its own buffers; done once. */
static void
bench_slot_init(struct bench_slot *s, struct bench_worker *w,
                struct client *conn)
{
    struct client_meta meta = w->b->opts.meta;

    memset(s, 0, sizeof *s);
    s->w = w;
    s->conn = conn;
    client_unary_init(&s->u);
    if (w->b->opts.routes > 0)
        meta.route = "r0";
    client_unary_set_meta(&s->u, &meta);
}

static void
bench_count(struct bench_result *r, enum bench_op op, grpc_status_code st)
{
    unsigned slot = st >= 0 && st < BENCH_STATUS_SLOTS - 1
                        ? (unsigned)st
                        : BENCH_STATUS_SLOTS - 1;

    r->calls[op]++;
    r->status[slot]++;
}

/* Start op on key in slot s. Returns false when the call cannot start. */
static bool
bench_slot_start(struct bench_slot *s, enum bench_op op, uint64_t key)
{
    struct bench_worker *w = s->w;

    s->op = op;
    s->start_ns = bench_now_ns();
    s->u.send = bench_encode(w, op, key);
    s->u.ops[1].data.send_message.send_message = s->u.send;
    if (w->b->opts.routes > 0)
        client_unary_set_route(&s->u, w->b->routes[key % w->b->opts.routes]);
    s->call =
        client_call_create(s->conn, bench_methods[op], w->cq, w->b->deadline);
    if (grpc_call_start_batch(s->call, s->u.ops, CLIENT_UNARY_OPS, s, NULL) ==
        GRPC_CALL_OK)
        return true;
    grpc_call_unref(s->call);
    s->call = NULL;
    grpc_byte_buffer_destroy(s->u.send);
    s->u.send = NULL;
    bench_count(&w->res, op, GRPC_STATUS_INTERNAL);
    return false;
}

/* Whether a CacheValue starts with found = true (field 1, varint, != 0). */
static bool
bench_found(const grpc_byte_buffer *bb)
{
    const grpc_slice_buffer *sb;
    uint8_t first[2];
    size_t got = 0;

    if (bb == NULL || bb->type != GRPC_BB_RAW)
        return false;
    sb = &bb->data.raw.slice_buffer;
    for (size_t i = 0; i < sb->count && got < 2; i++) {
        size_t n = GRPC_SLICE_LENGTH(sb->slices[i]);
        const uint8_t *p = GRPC_SLICE_START_PTR(sb->slices[i]);

        for (size_t j = 0; j < n && got < 2; j++)
            first[got++] = p[j];
    }
    return got == 2 && first[0] == 0x08 && first[1] != 0;
}

/*
 * Count the items of a batch call's answer bb: hits and misses of a
 * MultiGet, failed items of both. An answer that does not scan, or lacks
 * results, counts its missing items as failed.
 */
static void
bench_count_batch(struct bench_result *r, enum bench_op op, unsigned batch,
                  grpc_byte_buffer *bb)
{
    enum bench_wire_answer a =
        op == BENCH_MGET ? BENCH_WIRE_LOOKUPS : BENCH_WIRE_RESULTS;
    struct bench_wire_counts n = {0, 0, 0};
    grpc_byte_buffer_reader rd;
    grpc_slice s;

    if (bb != NULL && grpc_byte_buffer_reader_init(&rd, bb)) {
        s = grpc_byte_buffer_reader_readall(&rd);
        grpc_byte_buffer_reader_destroy(&rd);
        if (bench_wire_scan(GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), a,
                            &n) != 0)
            n = (struct bench_wire_counts){0, 0, 0};
        grpc_slice_unref(s);
    }
    if (op == BENCH_MGET) {
        r->hits += n.found;
        r->misses += n.items - n.found - n.failed;
    }
    r->item_errors += n.failed + (n.items < batch ? batch - n.items : 0);
}

/* Record the completed call of slot s and release what it held. */
static void
bench_slot_finish(struct bench_slot *s)
{
    struct bench_result *r = &s->w->res;

    s->u.status = client_unary_status(&s->u);
    bench_hist_record(&r->hist, s->end_ns - s->start_ns);
    bench_count(r, s->op, s->u.status);
    if (s->u.status == GRPC_STATUS_UNAVAILABLE)
        atomic_store_explicit(&s->w->b->stop, true, memory_order_relaxed);
    if (s->op == BENCH_GET && s->u.status == GRPC_STATUS_OK) {
        if (bench_found(s->u.recv))
            r->hits++;
        else
            r->misses++;
    }
    if ((s->op == BENCH_MGET || s->op == BENCH_MSET) &&
        s->u.status == GRPC_STATUS_OK)
        bench_count_batch(r, s->op, s->w->b->opts.batch, s->u.recv);
    client_unary_reset(&s->u);
    grpc_call_unref(s->call);
    s->call = NULL;
}

static void
bench_result_init(struct bench_result *r)
{
    memset(r, 0, sizeof *r);
    bench_hist_init(&r->hist);
}

/* Ends every call of w still in flight DEADLINE_EXCEEDED, on the client's
 * side: on the minimal channel stack the deadline only travels to the
 * server as grpc-timeout, so a server that is stopped or cut off would
 * never end them. Each then completes as usual. */
static void
bench_cancel_late(struct bench_worker *w)
{
    for (size_t i = 0; i < w->nslots; i++)
        if (w->slots[i].call != NULL)
            grpc_call_cancel_with_status(w->slots[i].call,
                                         GRPC_STATUS_DEADLINE_EXCEEDED,
                                         "Deadline Exceeded", NULL);
}

/*
 * Wait for at least one completion, then take those already queued, up to
 * max: completions are handled in batches, then their slots restarted. Past
 * the phase's deadline the calls still in flight are ended. Returns how
 * many slots were put in ready (0: the queue is shutting down).
 */
static size_t
bench_collect(struct bench_worker *w, struct bench_slot **ready, size_t max)
{
    gpr_timespec wait = w->b->deadline;
    size_t n = 0;

    while (n < max) {
        grpc_event ev = grpc_completion_queue_next(w->cq, wait, NULL);

        if (ev.type == GRPC_QUEUE_TIMEOUT && n == 0) {
            bench_cancel_late(w);
            wait = gpr_inf_future(GPR_CLOCK_REALTIME);
            continue;
        }
        if (ev.type != GRPC_OP_COMPLETE)
            break;
        ready[n] = ev.tag;
        ready[n++]->end_ns = bench_now_ns();
        wait = gpr_inf_past(GPR_CLOCK_REALTIME);
    }
    return n;
}

/* Start a call in every slot, then complete and restart until done. */
static void *
bench_worker_main(void *arg)
{
    struct bench_worker *w = arg;
    uint64_t key, done = 0;
    size_t inflight = 0, n;
    enum bench_op op;

    for (size_t i = 0; i < w->nslots; i++)
        if (bench_next(w, &op, &key) && bench_slot_start(&w->slots[i], op, key))
            inflight++;
    while (inflight > 0 && (n = bench_collect(w, w->ready, inflight)) > 0) {
        for (size_t i = 0; i < n; i++)
            bench_slot_finish(w->ready[i]);
        done += n;
        atomic_store_explicit(&w->done, done, memory_order_relaxed);
        for (size_t i = 0; i < n; i++)
            if (!bench_next(w, &op, &key) ||
                !bench_slot_start(w->ready[i], op, key))
                inflight--;
    }
    pthread_mutex_lock(&w->b->mu);
    w->b->running--;
    pthread_cond_signal(&w->b->cv);
    pthread_mutex_unlock(&w->b->mu);
    return NULL;
}

/* Share of total for worker i of n, weighted by its slots. */
static uint64_t
bench_share(const struct bench *b, unsigned i, uint64_t total)
{
    size_t all = (size_t)b->opts.connections * b->opts.calls_per_conn;
    size_t before = 0;

    for (unsigned j = 0; j < i; j++)
        before += b->workers[j].nslots;
    return (uint64_t)((unsigned __int128)total *
                          (before + b->workers[i].nslots) / all -
                      (unsigned __int128)total * before / all);
}

/* Reset every worker for phase p. */
static void
bench_phase_prepare(struct bench *b, enum bench_phase p)
{
    uint64_t k = b->opts.keyspace, start = 0;

    b->phase = p;
    atomic_store(&b->stop, false);
    for (unsigned i = 0; i < b->opts.threads; i++) {
        struct bench_worker *w = &b->workers[i];
        uint64_t share = bench_share(b, i, k);

        bench_result_init(&w->res);
        atomic_store(&w->done, 0);
        w->rng = b->opts.seed * 0x100000001b3ull + i + 1;
        w->quota = bench_share(b, i, b->opts.requests);
        w->next_key = p == BENCH_PHASE_FILL ? start : start % k;
        w->end_key = start + share;
        start += share;
    }
}

static uint64_t
bench_done(const struct bench *b)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < b->opts.threads; i++)
        sum += atomic_load_explicit(&b->workers[i].done, memory_order_relaxed);
    return sum;
}

/*
 * Wait for the workers, reporting progress every second and raising stop
 * when a -d run has lasted long enough. Called with b->mu held.
 */
static void
bench_wait_workers(struct bench *b, uint64_t start_ns, bool timed,
                   bench_progress_fn progress, void *arg)
{
    uint64_t tick = start_ns + 1000000000u;
    uint64_t end = start_ns + (uint64_t)(b->opts.duration_s * 1e9);

    while (b->running > 0) {
        /* once the run has ended, only the progress ticks wake it */
        uint64_t wake = timed && end < tick ? end : tick;
        struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000u),
                              .tv_nsec = (long)(wake % 1000000000u)};
        uint64_t now;

        pthread_cond_timedwait(&b->cv, &b->mu, &ts);
        now = bench_now_ns();
        if (timed && now >= end) {
            atomic_store(&b->stop, true);
            timed = false;
        }
        if (now >= tick) {
            if (progress != NULL)
                progress(bench_done(b), (double)(now - start_ns) / 1e9, arg);
            tick += 1000000000u;
        }
    }
}

static void
bench_merge(const struct bench *b, struct bench_result *out)
{
    bench_result_init(out);
    for (unsigned i = 0; i < b->opts.threads; i++) {
        const struct bench_result *r = &b->workers[i].res;

        for (int op = 0; op < BENCH_OP_COUNT; op++)
            out->calls[op] += r->calls[op];
        for (int s = 0; s < BENCH_STATUS_SLOTS; s++)
            out->status[s] += r->status[s];
        out->hits += r->hits;
        out->misses += r->misses;
        out->item_errors += r->item_errors;
        bench_hist_merge(&out->hist, &r->hist);
    }
}

/* The deadline of a phase's calls: none, or for a timed run its end and
 * BENCH_DRAIN_S more, so a server that stops answering cannot hold the
 * run past that (its calls end DEADLINE_EXCEEDED). */
static gpr_timespec
bench_deadline(const struct bench *b, bool timed)
{
    if (!timed)
        return gpr_inf_future(GPR_CLOCK_MONOTONIC);
    return gpr_time_add(
        gpr_now(GPR_CLOCK_MONOTONIC),
        gpr_time_from_millis((int64_t)(b->opts.duration_s * 1000.0) +
                                 BENCH_DRAIN_S * 1000,
                             GPR_TIMESPAN));
}

/* Run phase p on every worker thread and sum what they did into out. */
static int
bench_phase_run(struct bench *b, enum bench_phase p, struct bench_result *out,
                bench_progress_fn progress, void *arg, char *err, size_t errlen)
{
    bool timed = p == BENCH_PHASE_MEASURE && b->opts.requests == 0;
    unsigned started = 0;
    uint64_t start_ns;
    int rc = 0;

    bench_phase_prepare(b, p);
    b->deadline = bench_deadline(b, timed);
    start_ns = bench_now_ns();
    pthread_mutex_lock(&b->mu);
    for (; started < b->opts.threads; started++) {
        rc = pthread_create(&b->workers[started].thread, NULL,
                            bench_worker_main, &b->workers[started]);
        if (rc != 0)
            break;
        b->running++;
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
        atomic_store(&b->stop, true);
    }
    bench_wait_workers(b, start_ns, timed, progress, arg);
    pthread_mutex_unlock(&b->mu);
    for (unsigned i = 0; i < started; i++)
        pthread_join(b->workers[i].thread, NULL);
    bench_merge(b, out);
    out->elapsed_s = (double)(bench_now_ns() - start_ns) / 1e9;
    return rc != 0 ? -1 : 0;
}

int
bench_fill(struct bench *b, struct bench_result *out,
           bench_progress_fn progress, void *arg, char *err, size_t errlen)
{
    return bench_phase_run(b, BENCH_PHASE_FILL, out, progress, arg, err,
                           errlen);
}

int
bench_measure(struct bench *b, struct bench_result *out,
              bench_progress_fn progress, void *arg, char *err, size_t errlen)
{
    return bench_phase_run(b, BENCH_PHASE_MEASURE, out, progress, arg, err,
                           errlen);
}

/* Open connection j and wait until it is up. Returns 0 or -1 with err. */
static int
bench_connect(struct bench *b, unsigned j, char *err, size_t errlen)
{
    struct client_opts co = b->opts.conn;

    co.own_connection = true;
    co.minimal_stack = true;
    if ((b->conns[j] = client_create(&co, err, errlen)) == NULL)
        return -1;
    if (client_wait_connected(b->conns[j], BENCH_CONNECT_TIMEOUT_S) != 0) {
        snprintf(err, errlen, "cannot connect to %s port %s", co.host, co.port);
        return -1;
    }
    return 0;
}

/* Give worker i its queue, value slice and the slots of its connections. */
static int
bench_worker_setup(struct bench *b, unsigned i)
{
    struct bench_worker *w = &b->workers[i];
    unsigned t = b->opts.threads, m = b->opts.calls_per_conn;
    size_t n = 0;

    w->b = b;
    w->cq = grpc_completion_queue_create_for_next(NULL);
    w->value = grpc_slice_malloc(b->opts.value_size_max);
    for (size_t k = 0; k < b->opts.value_size_max; k++)
        GRPC_SLICE_START_PTR(w->value)[k] = (uint8_t)('a' + k % 26);
    w->nslots = (size_t)((b->opts.connections - i + t - 1) / t) * m;
    w->slots = calloc(w->nslots, sizeof *w->slots);
    w->ready = calloc(w->nslots, sizeof *w->ready);
    if (w->slots == NULL || w->ready == NULL)
        return -1;
    for (unsigned j = i; j < b->opts.connections; j += t)
        for (unsigned k = 0; k < m; k++)
            bench_slot_init(&w->slots[n++], w, b->conns[j]);
    return 0;
}

/* The route slices of --routes. Returns 0 or -1 (out of memory). */
static int
bench_routes_init(struct bench *b)
{
    char name[16];

    if (b->opts.routes == 0)
        return 0;
    b->routes = calloc(b->opts.routes, sizeof *b->routes);
    if (b->routes == NULL)
        return -1;
    for (unsigned i = 0; i < b->opts.routes; i++) {
        snprintf(name, sizeof name, "r%u", i);
        b->routes[i] = grpc_slice_from_copied_string(name);
    }
    return 0;
}

/* The lock and the condition (on the monotonic clock) of the phase wait. */
static void
bench_sync_init(struct bench *b)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
}

struct bench *
bench_create(const struct bench_opts *opts, char *err, size_t errlen)
{
    struct bench *b = calloc(1, sizeof *b);

    if (b == NULL)
        goto nomem;
    b->opts = *opts;
    b->keys.prefix = opts->key_prefix;
    b->keys.prefix_len = strlen(opts->key_prefix);
    for (int op = 0; op < BENCH_OP_COUNT; op++)
        b->ratio_sum += opts->ratio[op];
    bench_sync_init(b);
    if (opts->pattern == BENCH_ZIPF)
        bench_zipf_init(&b->zipf, opts->keyspace);
    b->size_log_lo = log((double)opts->value_size + 1);
    b->size_log_span = log((double)opts->value_size_max + 2) - b->size_log_lo;
    b->conns = calloc(opts->connections, sizeof *b->conns);
    b->workers = calloc(opts->threads, sizeof *b->workers);
    if (b->conns == NULL || b->workers == NULL || bench_routes_init(b) != 0)
        goto nomem;
    for (unsigned j = 0; j < opts->connections; j++)
        if (bench_connect(b, j, err, errlen) != 0)
            goto fail;
    for (unsigned i = 0; i < opts->threads; i++)
        if (bench_worker_setup(b, i) != 0)
            goto nomem;
    return b;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    bench_destroy(b);
    return NULL;
}

/* Release a worker whose calls have all completed. */
static void
bench_worker_teardown(struct bench_worker *w)
{
    if (w->cq == NULL)
        return;
    for (size_t i = 0; w->slots != NULL && i < w->nslots; i++)
        client_unary_fini(&w->slots[i].u);
    free(w->slots);
    free(w->ready);
    grpc_slice_unref(w->value);
    grpc_completion_queue_shutdown(w->cq);
    while (grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                      NULL)
               .type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(w->cq);
}

void
bench_destroy(struct bench *b)
{
    if (b == NULL)
        return;
    for (unsigned j = 0; b->conns != NULL && j < b->opts.connections; j++)
        client_destroy(b->conns[j]);
    for (unsigned i = 0; b->workers != NULL && i < b->opts.threads; i++)
        bench_worker_teardown(&b->workers[i]);
    for (unsigned i = 0; b->routes != NULL && i < b->opts.routes; i++)
        grpc_slice_unref(b->routes[i]);
    free(b->routes);
    free(b->conns);
    free(b->workers);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
