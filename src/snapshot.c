/*
 * snapshot.c: the daemon's snapshots (snapshot.h, docs/snapshots.md): load
 * at startup, background saves every interval, a save at shutdown, the
 * log lines and the figures /stats and /metrics show.
 *
 * The background saves run on a cleanup thread (cleanup.h): every
 * interval it calls bg_slice() until a save is complete; each call writes
 * one store slice (snapshot_writer_step), so a stop request waits for at
 * most one slice. Only that thread touches s->bg_writer while it runs;
 * snapshot_stop() joins it before looking. mu guards stats alone, which
 * HTTP threads read, and is never held during I/O.
 *
 * The load at startup and the save at shutdown may outlast the service
 * manager's start and stop timeouts (here about 1.5 s and 1 s a million
 * entries). Each asks for SNAPSHOT_EXTEND_S seconds more when it begins,
 * then again at most once a second as it makes progress: a slow load goes
 * on, a stuck one (a hung disk) runs out of time. The save's last fsync,
 * one call that cannot report, is given SNAPSHOT_SYNC_S.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "snapshot.h"

#define SNAPSHOT_WHY_MAX    256
#define SNAPSHOT_PATH_LOG   200
#define SNAPSHOT_STATUS_MAX 128
#define SNAPSHOT_EXTEND_S   10  /* more time asked at each report */
#define SNAPSHOT_REPORT_S   1.0 /* least time between two reports */
#define SNAPSHOT_SYNC_S     60  /* asked for the save's last fsync */

struct snapshot {
    struct store *st;
    char *path;
    char path_log[SNAPSHOT_PATH_LOG * 4 + 4]; /* escaped, for log lines */
    uint32_t interval_s;
    struct clock wall;
    snapshot_extend_fn extend; /* NULL: none */
    struct cleanup *bg;
    struct snapshot_writer *bg_writer; /* the background save under way */
    double bg_start_s;
    pthread_mutex_t mu;
    struct snapshot_stats stats; /* mu */
};

struct snapshot *
snapshot_create(struct store *st, const char *path, uint32_t interval_s,
                const struct clock *wall, snapshot_extend_fn extend)
{
    struct snapshot *s = calloc(1, sizeof *s);

    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    s->st = st;
    s->interval_s = interval_s;
    s->wall = *wall;
    s->extend = extend;
    log_escape(path, strlen(path), SNAPSHOT_PATH_LOG, s->path_log,
               sizeof s->path_log);
    pthread_mutex_init(&s->mu, NULL);
    s->stats.enabled = true;
    return s;
}

static uint64_t
wall_ms(const struct snapshot *s)
{
    return s->wall.now_ms(s->wall.ctx);
}

/* The reports of one load or save to the service manager. */
struct ticker {
    snapshot_extend_fn extend; /* NULL: none */
    const char *what;          /* "loading the snapshot" */
    double last_s;             /* clock_mono_s of the last report, or 0 */
};

/* Asks for more time, saying how far the work is, unless the last report
 * was under SNAPSHOT_REPORT_S ago (a snapshot_progress report). */
static void
tick(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    struct ticker *t = ctx;
    char status[SNAPSHOT_STATUS_MAX];
    double now = clock_mono_s();

    if (t->extend == NULL ||
        (t->last_s != 0 && now - t->last_s < SNAPSHOT_REPORT_S))
        return;
    t->last_s = now;
    snprintf(status, sizeof status, "%s: %s, %.0f%%", t->what, phase,
             total > 0 ? 100.0 * (double)done / (double)total : 100.0);
    t->extend(SNAPSHOT_EXTEND_S, status);
}

static void
save_failed(struct snapshot *s, const char *why)
{
    pthread_mutex_lock(&s->mu);
    s->stats.save_failures++;
    pthread_mutex_unlock(&s->mu);
    log_warn(NULL,
             "snapshot: save to %s failed: %s; the previous snapshot "
             "is kept",
             s->path_log, why);
}

/* Commits w, begun at start_s (clock_mono_s), then logs and counts. */
static int
save_commit(struct snapshot *s, struct snapshot_writer *w, double start_s)
{
    char why[SNAPSHOT_WHY_MAX];
    uint64_t entries, bytes;
    double took;

    if (snapshot_writer_commit(w, &entries, &bytes, why, sizeof why) != 0) {
        save_failed(s, why);
        return -1;
    }
    took = clock_mono_s() - start_s;
    pthread_mutex_lock(&s->mu);
    s->stats.saves++;
    s->stats.saved_entries = entries;
    s->stats.saved_bytes = bytes;
    s->stats.save_duration_s = took;
    s->stats.last_save_unix_s = (double)wall_ms(s) / 1000.0;
    pthread_mutex_unlock(&s->mu);
    log_info(NULL,
             "snapshot: saved %" PRIu64 " entries, %" PRIu64
             " bytes to %s in %.3f s",
             entries, bytes, s->path_log, took);
    return 0;
}

int
snapshot_save(struct snapshot *s)
{
    struct ticker t = {s->extend, "saving the snapshot", 0};
    char why[SNAPSHOT_WHY_MAX];
    double start = clock_mono_s();
    struct snapshot_writer *w;
    uint64_t items, bytes;
    int rc;

    store_usage(s->st, &items, &bytes);
    tick(&t, "writing", 0, items);
    w = snapshot_writer_open(s->st, s->path, wall_ms(s), why, sizeof why);
    if (w == NULL) {
        save_failed(s, why);
        return -1;
    }
    while ((rc = snapshot_writer_step(w, why, sizeof why)) == 0)
        tick(&t, "writing", snapshot_writer_entries(w), items);
    if (rc < 0) {
        snapshot_writer_abort(w);
        save_failed(s, why);
        return -1;
    }
    if (s->extend != NULL)
        s->extend(SNAPSHOT_SYNC_S, "saving the snapshot: syncing to disk");
    return save_commit(s, w, start);
}

/* One slice of a background save; true when the save is over. */
static bool
bg_slice(void *arg)
{
    struct snapshot *s = arg;
    char why[SNAPSHOT_WHY_MAX];
    int rc;

    if (s->bg_writer == NULL) {
        s->bg_start_s = clock_mono_s();
        s->bg_writer =
            snapshot_writer_open(s->st, s->path, wall_ms(s), why, sizeof why);
        if (s->bg_writer == NULL)
            save_failed(s, why);
        return s->bg_writer == NULL;
    }
    rc = snapshot_writer_step(s->bg_writer, why, sizeof why);
    if (rc == 0)
        return false;
    if (rc < 0) {
        snapshot_writer_abort(s->bg_writer);
        save_failed(s, why);
    } else {
        save_commit(s, s->bg_writer, s->bg_start_s);
    }
    s->bg_writer = NULL;
    return true;
}

int
snapshot_start(struct snapshot *s)
{
    if (s->interval_s == 0)
        return 0;
    s->bg = cleanup_start(s->interval_s, bg_slice, s);
    return s->bg != NULL ? 0 : -1;
}

void
snapshot_stop(struct snapshot *s)
{
    cleanup_stop(s->bg);
    s->bg = NULL;
    if (s->bg_writer != NULL) {
        snapshot_writer_abort(s->bg_writer);
        s->bg_writer = NULL;
        log_info(NULL, "snapshot: background save abandoned at shutdown");
    }
}

void
snapshot_destroy(struct snapshot *s)
{
    if (s == NULL)
        return;
    snapshot_stop(s);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

void
snapshot_read_stats(struct snapshot *s, struct snapshot_stats *out)
{
    if (s == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

/* Logs and counts the refusal of what is at the path; a refused file (move
 * true) is renamed path.bad, anything else (a folder, a FIFO: start-up
 * refuses them, one could still appear after) is left where it is. */
static void
refuse(struct snapshot *s, const char *why, bool move)
{
    size_t n = strlen(s->path);
    char *bad = move ? malloc(n + 5) : NULL;
    bool moved = false;

    if (bad != NULL) {
        memcpy(bad, s->path, n);
        memcpy(bad + n, ".bad", 5);
        moved = rename(s->path, bad) == 0;
        free(bad);
    }
    pthread_mutex_lock(&s->mu);
    s->stats.load_failures++;
    pthread_mutex_unlock(&s->mu);
    log_warn(NULL, "snapshot: %s refused: %s; %s; starting empty", s->path_log,
             why,
             moved  ? "moved aside with a .bad suffix"
             : move ? "it could not be moved aside"
                    : "left where it is");
}

static void
loaded(struct snapshot *s, const struct snapshot_load_result *r, uint64_t bytes,
       double start_s)
{
    double took = clock_mono_s() - start_s;

    pthread_mutex_lock(&s->mu);
    s->stats.loads = 1;
    s->stats.loaded_entries = r->entries;
    s->stats.loaded_bytes = bytes;
    s->stats.load_expired = r->expired;
    s->stats.load_dropped = r->dropped;
    s->stats.load_duration_s = took;
    s->stats.last_load_unix_s = (double)wall_ms(s) / 1000.0;
    pthread_mutex_unlock(&s->mu);
    log_info(NULL,
             "snapshot: loaded %" PRIu64 " entries from %s (%" PRIu64
             " bytes; %" PRIu64 " expired, %" PRIu64
             " dropped over the limits) in %.3f s",
             r->entries, s->path_log, bytes, r->expired, r->dropped, took);
}

/* Maps fd (size bytes, a regular file) and loads it; 0 or -1 with why. */
static int
load_fd(struct snapshot *s, int fd, size_t size, struct snapshot_load_result *r,
        char *why, size_t whylen)
{
    struct ticker t = {s->extend, "loading the snapshot", 0};
    struct snapshot_progress prog = {tick, &t};
    void *p = NULL;
    int rc;

    tick(&t, "opening", 0, size);

    if (size > 0) {
        p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            return snprintf(why, whylen, "cannot map: %s", strerror(errno)), -1;
        madvise(p, size, MADV_SEQUENTIAL);
    }
    rc = snapshot_load_buf(s->st, size > 0 ? p : "", size, wall_ms(s), &prog, r,
                           why, whylen);
    if (size > 0)
        munmap(p, size);
    return rc;
}

int
snapshot_load(struct snapshot *s)
{
    struct snapshot_load_result r;
    char why[SNAPSHOT_WHY_MAX];
    double start = clock_mono_s();
    struct stat sb;
    int fd, rc;

    /* O_NONBLOCK: a FIFO at the path must not stall the start; it makes
     * no difference to a regular file's reads */
    fd = open(s->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        log_info(NULL, "snapshot: no file at %s: starting empty", s->path_log);
        return 0;
    }
    if (fd < 0) {
        snprintf(why, sizeof why, "cannot open: %s", strerror(errno));
        refuse(s, why, lstat(s->path, &sb) == 0 && S_ISREG(sb.st_mode));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        refuse(s, "not a regular file", false);
        return -1;
    }
    rc = load_fd(s, fd, (size_t)sb.st_size, &r, why, sizeof why);
    close(fd);
    if (rc != 0) {
        refuse(s, why, true);
        return -1;
    }
    loaded(s, &r, (uint64_t)sb.st_size, start);
    return 0;
}
