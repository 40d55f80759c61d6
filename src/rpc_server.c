/*
 * rpc_server.c: the gRPC server on the C core: channel arguments (the
 * limits of docs/limits.md), credentials, one completion queue and thread
 * per worker, and the drain at shutdown.
 *
 * Start: grpc_init, create the server with its limits, register every
 * method and each worker's queue, bind, start, then start the workers;
 * each posts RPC_REQUESTS_PER_METHOD requests per method and one for
 * unregistered methods on its own queue and serves what comes out of it.
 *
 * Stop, in two steps, so that within the grace period every call ends OK
 * or UNAVAILABLE and none is cancelled while there is time left:
 *  1. draining: calls accepted from now on answer UNAVAILABLE at once,
 *     calls accepted before (those still uploading their message
 *     included, since gRPC hands a call over at its headers) are served
 *     to the end. The step is over when none of those is left and no new
 *     call has come for RPC_DRAIN_QUIET_MS, or when the grace period ends.
 *  2. closing: gRPC's shutdown_and_notify on a private pluck queue (it
 *     sends GOAWAY, stops listening and withdraws the posted requests);
 *     once no call is in flight, or the grace period is over, the calls
 *     left are cancelled, which also closes idle connections. Then wait
 *     until every worker has its requests back and its calls released;
 *     destroy the server; shut each worker's queue down, join, destroy;
 *     grpc_shutdown_blocking.
 * gRPC itself cancels a call whose headers arrive after shutdown_and_notify
 * and before the client has read the GOAWAY; the quiet interval of step 1
 * keeps that to clients that go on sending after an UNAVAILABLE answer.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "bufpool.h"
#include "grpc_tune.h"
#include "log.h"
#include "rpc_accept.h"
#include "rpc_call.h"
#include "rpc_guard.h"
#include "rpc_log.h"
#include "rpc_server.h"

/* Requests each worker keeps posted per registered method. gRPC queues a
 * call that finds none and hands it over at the next post, so one is
 * enough; each more is one more tag that Debian's gRPC (built without
 * NDEBUG) scans on every completion of the queue (docs/benchmarks.md). */
#define RPC_REQUESTS_PER_METHOD 1
/* How often the drain checks whether calls are still in flight. */
#define RPC_DRAIN_POLL_MS 20
/* How long no new call must come before the drain closes the server. */
#define RPC_DRAIN_QUIET_MS 100
#define RPC_ADDR_MAX       (CONFIG_HOST_MAX + 16)

/*
 * The server. Written by the thread that calls start and stop only;
 * workers read `phase` (atomic, enum rpc_phase) and their own struct
 * rpc_worker.
 */
struct rpc_server {
    grpc_server *server;
    grpc_completion_queue *shutdown_cq; /* pluck queue for the shutdown tag */
    void *methods[RPC_METHOD_COUNT];    /* handles, NULL if unregistered */
    struct rpc_worker *workers;         /* nworkers, cache-line aligned */
    pthread_t *threads;
    size_t nworkers;
    size_t nstarted; /* threads running */
    _Atomic int phase;
    sem_t posted; /* a new worker has posted */
    int port;
};

/* Posts the worker's first requests: RPC_REQUESTS_PER_METHOD per method and
 * one for unregistered methods. */
static void
rpc_worker_post_all(struct rpc_worker *w)
{
    int failed = 0;

    for (int m = 0; m < RPC_METHOD_COUNT; m++)
        for (int r = 0; w->methods[m] && r < RPC_REQUESTS_PER_METHOD; r++)
            failed |= rpc_call_post(w, (enum rpc_method)m);
    failed |= rpc_call_post(w, RPC_UNKNOWN);
    if (failed)
        log_error(NULL, "cannot post every gRPC request");
}

static gpr_timespec
rpc_after_ms(int64_t ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                        gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static void *
rpc_worker_main(void *arg)
{
    struct rpc_worker *w = arg;
    grpc_event ev;

    rpc_worker_post_all(w);
    sem_post(w->posted_sem);
    for (;;) {
        /* While budgeted replies are out, wake at least once a second to
         * cancel those not taken in time; else sleep until a call comes. */
        ev = grpc_completion_queue_next(
            w->cq,
            w->tracked ? rpc_after_ms(1000)
                       : gpr_inf_future(GPR_CLOCK_REALTIME),
            NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE)
            rpc_call_on_tag(ev.tag, ev.success != 0);
        if (w->tracked)
            rpc_call_expire(w);
    }
    rpc_call_free_list(w);
    return NULL;
}

/* Reads a whole PEM file into a NUL-terminated string (free()), or NULL. */
static char *
rpc_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n + 1))) {
        if (fread(data, 1, (size_t)n, f) == (size_t)n) {
            data[n] = '\0';
        } else {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    return data;
}

/* TLS credentials from the configured files, mTLS when client auth is on. */
static grpc_server_credentials *
rpc_tls_credentials(const struct config *cfg, char *err, size_t errlen)
{
    grpc_ssl_pem_key_cert_pair pair = {NULL, NULL};
    char *ca = NULL;
    grpc_server_credentials *creds = NULL;

    pair.private_key = rpc_read_file(cfg->tls_key_path);
    pair.cert_chain = rpc_read_file(cfg->tls_cert_path);
    if (cfg->tls_require_client_auth)
        ca = rpc_read_file(cfg->tls_client_ca_path);
    if (!pair.private_key || !pair.cert_chain ||
        (cfg->tls_require_client_auth && !ca)) {
        snprintf(err, errlen, "cannot read the TLS files: %s", strerror(errno));
    } else {
        creds = grpc_ssl_server_credentials_create_ex(
            ca, &pair, 1,
            cfg->tls_require_client_auth
                ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
            NULL);
        if (!creds)
            snprintf(err, errlen, "cannot build TLS credentials");
    }
    free((char *)pair.private_key);
    free((char *)pair.cert_chain);
    free(ca);
    return creds;
}

/* host:port, with brackets around a bare IPv6 address. */
static void
rpc_format_addr(char *out, size_t outlen, const char *host, int port)
{
    bool bare_v6 = strchr(host, ':') && host[0] != '[';

    snprintf(out, outlen, bare_v6 ? "[%s]:%d" : "%s:%d", host, port);
}

static grpc_arg
rpc_int_arg(const char *key, int value)
{
    grpc_arg a;

    a.type = GRPC_ARG_INTEGER;
    a.key = (char *)key;
    a.value.integer = value;
    return a;
}

/* The server with its limits (docs/limits.md) and every method registered. */
static grpc_server *
rpc_server_new(const struct config *cfg, void **methods)
{
    grpc_arg a[9]; /* the last one only with TLS */
    grpc_channel_args args = {TC_ARRAY_LEN(a) - 1, a};
    grpc_server *srv;

    a[0] = rpc_int_arg(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                       (int)(cfg->max_value_bytes + RPC_RECV_MARGIN_BYTES));
    a[1] = rpc_int_arg(GRPC_ARG_MAX_METADATA_SIZE, RPC_MAX_METADATA_BYTES);
    a[2] = rpc_int_arg(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                       RPC_MAX_CONCURRENT_STREAMS);
    /* Nothing reads channelz (its service is not registered): its per-call
     * counters cost a Get 0.6-0.8 % of its instructions. */
    a[3] = rpc_int_arg(GRPC_ARG_ENABLE_CHANNELZ, 0);
    /* A port in use must fail to bind, even by another tiny-cached. */
    a[4] = rpc_int_arg(GRPC_ARG_ALLOW_REUSEPORT, 0);
    /* gRPC 1.51 inflates a compressed message whole before it checks the
     * receive limit, so a small gzip request could take gigabytes: no
     * compression is accepted (such calls answer UNIMPLEMENTED). */
    a[5] = rpc_int_arg(GRPC_COMPRESSION_CHANNEL_ENABLED_ALGORITHMS_BITSET,
                       1 << GRPC_COMPRESS_NONE);
    /* So the compression filters have nothing to do: without them a Get
     * runs 2.5 % fewer instructions. Compressed requests are still
     * refused by the call itself, as the bitset above says. */
    a[6] = rpc_int_arg(GRPC_ARG_ENABLE_PER_MESSAGE_COMPRESSION, 0);
    a[7] = rpc_int_arg(GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION, 0);
    /* rpc_guard.c closes idle plaintext connections: this argument puts
     * gRPC's max-age filter on every call, 7 % of a Get's instructions,
     * and is kept for TLS, whose frames rpc_guard.c cannot read. */
    if (cfg->tls_enabled)
        a[args.num_args++] = rpc_int_arg(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                                         (int)cfg->idle_timeout_s * 1000);
    srv = grpc_server_create(&args, NULL);
    for (int m = 0; m < RPC_METHOD_COUNT; m++)
        if (rpc_call_registered((enum rpc_method)m))
            methods[m] = grpc_server_register_method(
                srv, rpc_method_path((enum rpc_method)m), NULL,
                GRPC_SRM_PAYLOAD_NONE, 0);
    return srv;
}

/* Why gRPC could not listen on host:port, found by trying the same
 * ourselves: the name does not resolve, or the bind's own error. */
static void
rpc_bind_error(const char *host, int port, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res, *ai;
    char name[CONFIG_HOST_MAX + 1], service[16];
    size_t n = strlen(host);
    int rc, e = 0;

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof name)
        snprintf(name, sizeof name, "%.*s", (int)(n - 2), host + 1);
    else
        snprintf(name, sizeof name, "%s", host);
    snprintf(service, sizeof service, "%d", port);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if ((rc = getaddrinfo(name, service, &hints, &res)) != 0) {
        snprintf(err, errlen, "gRPC cannot listen on %s port %d: %s", host,
                 port, gai_strerror(rc));
        return;
    }
    for (ai = res; ai && e == 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        int one = 1;

        if (fd < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
            e = errno;
        if (fd >= 0)
            close(fd);
    }
    freeaddrinfo(res);
    snprintf(err, errlen, "gRPC cannot listen on %s port %d: %s", host, port,
             e ? strerror(e) : "refused by gRPC");
}

/* The soft open-file limit (no descriptor is at or above it). */
static int
rpc_open_file_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur > INT_MAX)
        return INT_MAX;
    return (int)rl.rlim_cur;
}

/* Binds the configured address; the port, or 0 with err filled. */
static int
rpc_server_bind(struct rpc_server *s, const struct config *cfg, char *err,
                size_t errlen)
{
    grpc_server_credentials *creds;
    char addr[RPC_ADDR_MAX];
    int port;

    if (cfg->tls_enabled)
        creds = rpc_tls_credentials(cfg, err, errlen);
    else
        creds = grpc_insecure_server_credentials_create();
    if (!creds)
        return 0;
    rpc_format_addr(addr, sizeof addr, cfg->host, cfg->port);
    rpc_log_quiet(true); /* one line of our own instead of gRPC's dump */
    port = grpc_server_add_http2_port(s->server, addr, creds);
    rpc_log_quiet(false);
    grpc_server_credentials_release(creds);
    if (port == 0)
        rpc_bind_error(cfg->host, cfg->port, err, errlen);
    return port;
}

/* Sums one counter over the started workers. */
static int64_t
rpc_server_sum(struct rpc_server *s, size_t field)
{
    int64_t n = 0;

    for (size_t i = 0; i < s->nstarted; i++)
        n += atomic_load_explicit(
            (_Atomic int64_t *)((char *)&s->workers[i] + field),
            memory_order_acquire);
    return n;
}

#define RPC_SUM(s, field) rpc_server_sum(s, offsetof(struct rpc_worker, field))

static bool
rpc_server_idle(struct rpc_server *s)
{
    return RPC_SUM(s, posted) == 0 && RPC_SUM(s, live) == 0;
}

static bool
rpc_past(gpr_timespec end)
{
    return gpr_time_cmp(gpr_now(GPR_CLOCK_REALTIME), end) >= 0;
}

/* Step 1: new calls answer UNAVAILABLE while the calls accepted before
 * finish; returns once none is left and calls have stopped coming for
 * RPC_DRAIN_QUIET_MS, or at end. Streams (server reflection) are not
 * waited for: a client may keep one open for as long as it likes. */
static void
rpc_server_finish_calls(struct rpc_server *s, gpr_timespec end)
{
    struct timespec poll = {0, RPC_DRAIN_POLL_MS * 1000000L};
    int64_t seen = RPC_SUM(s, late_seen);
    int quiet_ms = 0;

    atomic_store_explicit(&s->phase, RPC_PHASE_DRAINING, memory_order_release);
    while (!rpc_past(end)) {
        int64_t now_seen = RPC_SUM(s, late_seen);

        quiet_ms = now_seen == seen ? quiet_ms + RPC_DRAIN_POLL_MS : 0;
        seen = now_seen;
        if (RPC_SUM(s, live) == RPC_SUM(s, late) + RPC_SUM(s, streams) &&
            quiet_ms >= RPC_DRAIN_QUIET_MS)
            return;
        nanosleep(&poll, NULL);
    }
}

/* Step 2: gRPC's shutdown; cancels the calls left once only streams are
 * in flight (closing idle connections and ending the streams) or at end,
 * and waits for the shutdown tag and for every worker to have its requests
 * back and its calls released. */
static void
rpc_server_close(struct rpc_server *s, gpr_timespec end)
{
    struct timespec poll = {0, RPC_DRAIN_POLL_MS * 1000000L};
    bool cancelled = false;
    grpc_event ev;

    atomic_store_explicit(&s->phase, RPC_PHASE_CLOSING, memory_order_release);
    grpc_server_shutdown_and_notify(s->server, s->shutdown_cq, s);
    for (;;) {
        ev = grpc_completion_queue_pluck(s->shutdown_cq, s,
                                         rpc_after_ms(RPC_DRAIN_POLL_MS), NULL);
        if (ev.type == GRPC_OP_COMPLETE)
            break;
        if (!cancelled &&
            (RPC_SUM(s, live) == RPC_SUM(s, streams) || rpc_past(end))) {
            if (RPC_SUM(s, live) != RPC_SUM(s, streams))
                log_warn(NULL, "grace period over: cancelling calls");
            grpc_server_cancel_all_calls(s->server);
            cancelled = true;
        }
    }
    while (!rpc_server_idle(s))
        nanosleep(&poll, NULL);
}

/* Destroys the server, then each worker's queue and thread, then gRPC,
 * then the frame watch: until gRPC is shut down its threads may still
 * read or write a connection whose state the watch would otherwise free. */
static void
rpc_server_teardown(struct rpc_server *s)
{
    grpc_server_destroy(s->server);
    rpc_accept_stop();
    for (size_t i = 0; i < s->nworkers; i++)
        grpc_completion_queue_shutdown(s->workers[i].cq);
    for (size_t i = 0; i < s->nstarted; i++)
        pthread_join(s->threads[i], NULL);
    for (size_t i = s->nstarted; i < s->nworkers; i++)
        while (grpc_completion_queue_next(
                   s->workers[i].cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
                   .type != GRPC_QUEUE_SHUTDOWN)
            ;
    for (size_t i = 0; i < s->nworkers; i++) {
        rpc_call_free_list(&s->workers[i]);
        grpc_completion_queue_destroy(s->workers[i].cq);
        buf_fini(&s->workers[i].scratch);
        buf_fini(&s->workers[i].out);
        free(s->workers[i].items);
    }
    sem_destroy(&s->posted);
    grpc_completion_queue_shutdown(s->shutdown_cq);
    while (grpc_completion_queue_pluck(s->shutdown_cq, NULL,
                                       gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
               .type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(s->shutdown_cq);
    free(s->threads);
    free(s->workers);
    free(s);
    grpc_shutdown_blocking();
    bufpool_drain();
    rpc_guard_stop();
}

/* Creates the workers' queues and registers them with the server. */
static int
rpc_server_workers(struct rpc_server *s, const struct rpc_server_deps *d)
{
    size_t n = d->nworkers;

    s->workers = aligned_alloc(TC_CACHELINE, n * sizeof *s->workers);
    s->threads = calloc(n, sizeof *s->threads);
    if (!s->workers || !s->threads)
        return -1;
    memset(s->workers, 0, n * sizeof *s->workers);
    for (size_t i = 0; i < n; i++) {
        struct rpc_worker *w = &s->workers[i];

        w->server = s->server;
        w->cq = grpc_completion_queue_create_for_next(NULL);
        w->methods = s->methods;
        w->cfg = d->cfg;
        w->store = d->store;
        w->stats = &d->stats[i];
        w->phase = &s->phase;
        w->posted_sem = &s->posted;
        buf_init(&w->scratch);
        buf_init(&w->out);
        grpc_server_register_completion_queue(s->server, w->cq, NULL);
        s->nworkers++;
    }
    return 0;
}

static int
rpc_server_threads(struct rpc_server *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->nworkers; i++) {
        int e = pthread_create(&s->threads[i], NULL, rpc_worker_main,
                               &s->workers[i]);

        if (e != 0) {
            snprintf(err, errlen, "cannot start a gRPC worker thread: %s",
                     strerror(e));
            return -1;
        }
        s->nstarted++;
        /* The drain counts on every started worker having posted. */
        while (sem_wait(&s->posted) != 0)
            ;
    }
    return 0;
}

struct rpc_server *
rpc_server_start(const struct rpc_server_deps *d, char *err, size_t errlen)
{
    struct rpc_server *s = calloc(1, sizeof *s);

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rpc_log_start();
    grpc_tune_libraries();
    grpc_init();
    if (sem_init(&s->posted, 0, 0) != 0) {
        snprintf(err, errlen, "cannot make a semaphore: %s", strerror(errno));
        grpc_shutdown_blocking();
        free(s);
        return NULL;
    }
    s->shutdown_cq = grpc_completion_queue_create_for_pluck(NULL);
    s->server = rpc_server_new(d->cfg, s->methods);
    if (rpc_server_workers(s, d) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->port = rpc_server_bind(s, d->cfg, err, errlen);
    if (s->port == 0)
        goto fail;
    if (rpc_accept_start(s->port) != 0) {
        snprintf(err, errlen, "cannot keep a spare file descriptor: %s",
                 strerror(errno));
        goto fail;
    }
    if (rpc_guard_start(rpc_open_file_limit(), !d->cfg->tls_enabled,
                        d->cfg->idle_timeout_s) != 0) {
        snprintf(err, errlen, "cannot start the idle-connection sweep: %s",
                 strerror(errno));
        goto fail;
    }
    grpc_server_start(s->server);
    if (rpc_server_threads(s, err, errlen) != 0)
        goto fail;
    return s;
fail:
    rpc_server_stop(s, 0);
    return NULL;
}

int
rpc_server_port(const struct rpc_server *s)
{
    return s->port;
}

void
rpc_server_stop(struct rpc_server *s, uint32_t grace_s)
{
    gpr_timespec end;

    if (!s)
        return;
    end = rpc_after_ms((int64_t)grace_s * 1000);
    rpc_server_finish_calls(s, end);
    rpc_server_close(s, end);
    rpc_server_teardown(s);
}
