/*
 * main.c: tiny-cached's life cycle (README, Shutdown).
 *
 * config -> log -> store, the snapshot loaded into it (CACHE_SNAPSHOT_PATH),
 * its cleanup threads and background saves -> gRPC -> HTTP -> ready; then
 * main waits for SIGTERM or SIGINT (blocked in every thread, so only
 * sigwait sees them) and tears down in reverse: health NOT_SERVING,
 * CACHE_SHUTDOWN_DELAY seconds of service, the gRPC drain (at most
 * CACHE_SHUTDOWN_GRACE seconds), the snapshot save (no write in flight any
 * more), HTTP, store, memory. A start that failed saves nothing, so it
 * never replaces a good snapshot with a partial cache.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "http.h"
#include "lifecycle.h"
#include "log.h"
#include "notify.h"
#include "reqstats.h"
#include "rpc_server.h"
#include "snapshot.h"
#include "store.h"

#define MAIN_ERR_MAX 512

/* Everything main starts, in order; stopped in reverse by main_teardown. */
struct daemon {
    struct config cfg;
    struct store *store;
    struct snapshot *snapshot; /* NULL: snapshots off */
    bool ready;                /* the start went through */
    bool stop_early;           /* SIGTERM or SIGINT came during the start */
    struct reqstats *stats;
    size_t nworkers;
    struct rpc_server *rpc;
    struct http *http;
    double start_mono_s;
    double start_wall_s;
};

static void
main_log_limits(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        log_info(NULL,
                 "open-file limit %llu (bounds gRPC and HTTP connections)",
                 (unsigned long long)rl.rlim_cur);
}

/* Loopback addresses and names: no warning for plaintext there. */
static bool
main_is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "[::1]") == 0 || strcmp(host, "localhost") == 0;
}

/* open (or close) when host is a bare IPv6 address, else "". */
static const char *
main_bracket(const char *host, const char *bracket)
{
    return strchr(host, ':') && host[0] != '[' ? bracket : "";
}

/* Loads the snapshot, if one is configured, into the new store. A file
 * that is refused is logged and moved aside; the start goes on, empty. */
static int
main_snapshot(struct daemon *d, char *err, size_t errlen)
{
    if (d->cfg.snapshot_path == NULL)
        return 0;
    d->snapshot =
        snapshot_create(d->store, d->cfg.snapshot_path,
                        d->cfg.snapshot_interval_s, &clock_wall, notify_extend);
    if (d->snapshot == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snapshot_load(d->snapshot);
    return 0;
}

static int
main_store(struct daemon *d, char *err, size_t errlen)
{
    struct store_config sc = {
        .shards = d->cfg.shards,
        .max_items = d->cfg.max_items,
        .max_memory_bytes = d->cfg.max_memory_bytes,
        .max_value_bytes = d->cfg.max_value_bytes,
        .cleanup_interval_s = d->cfg.cleanup_interval_s,
    };

    d->store = store_create(&sc, &clock_monotonic);
    if (!d->store) {
        snprintf(err, errlen, "cannot create the store: %s", strerror(errno));
        return -1;
    }
    if (main_snapshot(d, err, errlen) != 0)
        return -1;
    if (store_start_cleanup(d->store) != 0) {
        snprintf(err, errlen, "cannot start the cleanup threads: %s",
                 strerror(errno));
        return -1;
    }
    if (d->snapshot != NULL && snapshot_start(d->snapshot) != 0) {
        snprintf(err, errlen, "cannot start the snapshot thread: %s",
                 strerror(errno));
        return -1;
    }
    return 0;
}

static int
main_grpc(struct daemon *d, char *err, size_t errlen)
{
    struct rpc_server_deps deps = {&d->cfg, d->store, NULL, 0};

    d->nworkers = d->cfg.workers;
    d->stats = aligned_alloc(TC_CACHELINE, d->nworkers * sizeof *d->stats);
    if (!d->stats) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(d->stats, 0, d->nworkers * sizeof *d->stats);
    deps.stats = d->stats;
    deps.nworkers = d->nworkers;
    d->rpc = rpc_server_start(&deps, err, errlen);
    if (!d->rpc)
        return -1;
    log_info(NULL, "gRPC listening on %s%s%s:%d",
             main_bracket(d->cfg.host, "["), d->cfg.host,
             main_bracket(d->cfg.host, "]"), rpc_server_port(d->rpc));
    log_info(NULL, "gRPC: %zu workers, TLS %s%s", d->nworkers,
             d->cfg.tls_enabled ? "on" : "off",
             d->cfg.tls_require_client_auth ? ", client certificates required"
                                            : "");
    if (!d->cfg.tls_enabled && !main_is_loopback(d->cfg.host))
        log_warn(NULL,
                 "gRPC listens on %s without TLS: anyone who can reach it "
                 "can read and write the cache",
                 d->cfg.host);
    return 0;
}

static int
main_http(struct daemon *d, char *err, size_t errlen)
{
    struct http_deps deps = {
        .cfg = &d->cfg,
        .store = d->store,
        .workers = d->stats,
        .nworkers = d->nworkers,
        .snapshot = d->snapshot,
        .grpc_port = rpc_server_port(d->rpc),
        .start_mono_s = d->start_mono_s,
        .start_wall_s = d->start_wall_s,
    };

    /* http_start logs "HTTP listening on HOST:PORT" itself. */
    d->http = http_start(&deps, err, errlen);
    return d->http ? 0 : -1;
}

/* Stops what was started, in reverse order. */
static void
main_teardown(struct daemon *d)
{
    if (d->rpc)
        log_info(NULL, "gRPC: refusing new calls, draining (grace %us)",
                 d->cfg.shutdown_grace_s);
    rpc_server_stop(d->rpc, d->cfg.shutdown_grace_s);
    if (d->rpc)
        log_info(NULL, "gRPC stopped");
    if (d->snapshot != NULL && d->ready) {
        snapshot_stop(d->snapshot);
        log_info(NULL, "saving the snapshot");
        snapshot_save(d->snapshot);
    }
    http_stop(d->http);
    if (d->http)
        log_info(NULL, "HTTP stopped");
    snapshot_destroy(d->snapshot);
    store_destroy(d->store);
    free(d->stats);
    config_fini(&d->cfg);
}

/* Waits delay_s seconds of the monotonic clock for one of sigs; true when
 * one came. A stop and continue of the process (SIGSTOP, a debugger)
 * interrupts the wait, which then goes on for what is left. */
static bool
main_second_signal(const sigset_t *sigs, unsigned delay_s)
{
    double end = clock_mono_s() + delay_s, left;
    struct timespec t;

    while ((left = end - clock_mono_s()) > 0) {
        t.tv_sec = (time_t)left;
        t.tv_nsec = (long)((left - (double)t.tv_sec) * 1e9);
        if (sigtimedwait(sigs, NULL, &t) > 0)
            return true;
        if (errno != EINTR)
            return false;
    }
    return false;
}

/* Serves until SIGTERM or SIGINT, then CACHE_SHUTDOWN_DELAY seconds more
 * (a second signal ends the delay early). A signal that came during the
 * start skips the delay: no balancer was told the node was ready. */
static void
main_wait(const struct daemon *d, const sigset_t *sigs)
{
    unsigned delay_s = d->stop_early ? 0 : d->cfg.shutdown_delay_s;
    int sig = 0;

    while (sigwait(sigs, &sig) != 0)
        ;
    lifecycle_set(PHASE_STOPPING);
    notify_stopping();
    log_info(NULL, "%s received%s: shutting down (delay %us, grace %us)",
             sig == SIGINT ? "SIGINT" : "SIGTERM",
             d->stop_early ? " during the start" : "", delay_s,
             d->cfg.shutdown_grace_s);
    if (main_second_signal(sigs, delay_s))
        log_info(NULL, "second signal: delay cut short");
}

/* Whether SIGTERM or SIGINT is waiting (both are blocked from the start). */
static bool
main_stop_pending(void)
{
    sigset_t p;

    return sigpending(&p) == 0 &&
           (sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1);
}

static int
main_start(struct daemon *d)
{
    char err[MAIN_ERR_MAX] = "";

    config_log(&d->cfg);
    main_log_limits();
    if (main_store(d, err, sizeof err) != 0 ||
        main_grpc(d, err, sizeof err) != 0 ||
        main_http(d, err, sizeof err) != 0) {
        log_error(NULL, "%s", err);
        return -1;
    }
    d->ready = true;
    if ((d->stop_early = main_stop_pending()))
        return 0; /* never announced ready: main_wait stops at once */
    lifecycle_set(PHASE_SERVING);
    notify_ready();
    log_info(NULL, "ready");
    return 0;
}

int
main(int argc, char **argv)
{
    struct daemon d = {.start_mono_s = clock_mono_s(),
                       .start_wall_s = clock_wall_s()};
    char err[MAIN_ERR_MAX];
    sigset_t sigs;

    /* A closed stderr or peer must give EPIPE, not end the daemon. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    switch (config_load(&d.cfg, argc, argv, err, sizeof err)) {
    case CONFIG_EXIT:
        return 0;
    case CONFIG_INVALID:
        fprintf(stderr, "%s\n", err);
        return 2;
    case CONFIG_OK:
        break;
    }
    log_init(d.cfg.log_level, d.cfg.log_format);
    if (main_start(&d) != 0) {
        main_teardown(&d);
        return 1;
    }
    main_wait(&d, &sigs);
    main_teardown(&d);
    log_info(NULL, "stopped");
    return 0;
}
