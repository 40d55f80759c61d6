/*
 * cleanup.c: the per-shard cleanup thread.
 *
 * The thread sleeps on a condition variable bound to CLOCK_MONOTONIC, so a
 * wall-clock jump neither wakes it early nor stalls it, and cleanup_stop()
 * can wake it at once. mu guards only stop, woken and the wait; it is
 * never held while a slice or idle() runs, so no lock of the caller's is
 * ever taken under it, and cleanup_wake() may be called under any of them.
 *
 * With an idle() predicate the thread asks it before each interval: woken
 * is cleared under mu, idle() runs without mu, and the thread sleeps only
 * if woken is still clear. A cleanup_wake() after the clearing is seen
 * there; the caller changes what idle() reads before it wakes, so an
 * earlier one is seen by idle() itself: no wake is lost.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "cleanup.h"

#define CLEANUP_STACK_BYTES (256 * 1024)

struct cleanup {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;  /* mu */
    bool woken; /* mu: cleanup_wake() since the last idle() */
    uint32_t interval_s;
    cleanup_slice_fn slice;
    cleanup_idle_fn idle; /* NULL: never idle */
    void *arg;
};

static bool
stopped(struct cleanup *c)
{
    bool s;

    pthread_mutex_lock(&c->mu);
    s = c->stop;
    pthread_mutex_unlock(&c->mu);
    return s;
}

/* While idle() says there is nothing to watch, sleeps until woken or
 * stopped; true when it slept (then idle() is asked again). */
static bool
park_if_idle(struct cleanup *c)
{
    bool idle, slept = false;

    pthread_mutex_lock(&c->mu);
    c->woken = false;
    pthread_mutex_unlock(&c->mu);
    idle = c->idle(c->arg);
    pthread_mutex_lock(&c->mu);
    if (idle && !c->woken && !c->stop) {
        pthread_cond_wait(&c->cv, &c->mu);
        slept = true;
    }
    pthread_mutex_unlock(&c->mu);
    return slept;
}

/* Waits one interval (after any idle stretch); returns true when asked to
 * stop. */
static bool
wait_interval(struct cleanup *c)
{
    struct timespec until;
    bool s;

    while (c->idle != NULL && park_if_idle(c))
        ;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += c->interval_s;
    pthread_mutex_lock(&c->mu);
    while (!c->stop &&
           pthread_cond_timedwait(&c->cv, &c->mu, &until) != ETIMEDOUT)
        ;
    s = c->stop;
    pthread_mutex_unlock(&c->mu);
    return s;
}

static void *
cleanup_main(void *arg)
{
    struct cleanup *c = arg;

    while (!wait_interval(c))
        while (!c->slice(c->arg) && !stopped(c))
            ;
    return NULL;
}

static int
cleanup_init_sync(struct cleanup *c)
{
    pthread_condattr_t ca;
    int rc;

    if (pthread_condattr_init(&ca) != 0)
        return -1;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        pthread_cond_destroy(&c->cv);
        return -1;
    }
    return 0;
}

struct cleanup *
cleanup_start(uint32_t interval_s, cleanup_slice_fn slice, void *arg)
{
    return cleanup_start_idle(interval_s, slice, NULL, arg);
}

struct cleanup *
cleanup_start_idle(uint32_t interval_s, cleanup_slice_fn slice,
                   cleanup_idle_fn idle, void *arg)
{
    struct cleanup *c = calloc(1, sizeof *c);
    pthread_attr_t attr;
    int rc;

    if (c == NULL)
        return NULL;
    c->interval_s = interval_s;
    c->slice = slice;
    c->idle = idle;
    c->arg = arg;
    if (cleanup_init_sync(c) != 0) {
        free(c);
        return NULL;
    }
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, CLEANUP_STACK_BYTES);
    rc = pthread_create(&c->thread, &attr, cleanup_main, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        errno = rc;
        return NULL;
    }
    return c;
}

/* Sets *flag (stop or woken) under mu and wakes the thread. */
static void
raise_flag(struct cleanup *c, bool *flag)
{
    pthread_mutex_lock(&c->mu);
    *flag = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void
cleanup_wake(struct cleanup *c)
{
    if (c != NULL)
        raise_flag(c, &c->woken);
}

void
cleanup_stop(struct cleanup *c)
{
    if (c == NULL)
        return;
    raise_flag(c, &c->stop);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
