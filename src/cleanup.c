/*
 * cleanup.c: the per-shard cleanup thread.
 *
 * The thread sleeps on a condition variable bound to CLOCK_MONOTONIC, so a
 * wall-clock jump neither wakes it early nor stalls it, and cleanup_stop()
 * can wake it at once. mu guards only stop and the wait; it is never held
 * while a slice runs, so the shard lock is never taken under it.
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
    bool stop; /* mu */
    uint32_t interval_s;
    cleanup_slice_fn slice;
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

/* Waits one interval; returns true when asked to stop. */
static bool
wait_interval(struct cleanup *c)
{
    struct timespec until;
    bool s;

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
    struct cleanup *c = calloc(1, sizeof *c);
    pthread_attr_t attr;
    int rc;

    if (c == NULL)
        return NULL;
    c->interval_s = interval_s;
    c->slice = slice;
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

void
cleanup_stop(struct cleanup *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
