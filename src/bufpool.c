/*
 * bufpool.c: large buffers kept for reuse (bufpool.h).
 *
 * The pool holds at most BUFPOOL_SLOTS buffers of at most BUFPOOL_ONE_MAX
 * bytes each and BUFPOOL_KEEP_MAX bytes in all. A buffer given back when
 * the pool is full takes the place of smaller ones if that makes room,
 * else it is freed. So one worker's reply buffer is reused call after
 * call, and when many replies held by slow readers are let go at once all
 * but a few megabytes of them go back to the system.
 *
 * Locking: bufpool_mu protects kept[], nkept and kept_bytes; free() and
 * malloc_usable_size() are called outside it.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>

#include "bufpool.h"

#define BUFPOOL_SLOTS    8
#define BUFPOOL_ONE_MAX  ((size_t)4 * 1024 * 1024)
#define BUFPOOL_KEEP_MAX ((size_t)8 * 1024 * 1024)

struct bufpool_slot {
    void *p;
    size_t cap; /* malloc_usable_size(p) */
};

static pthread_mutex_t bufpool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct bufpool_slot kept[BUFPOOL_SLOTS]; /* [0, nkept) in use */
static size_t nkept, kept_bytes;

/* Removes kept[i] (bufpool_mu held). */
static void *
bufpool_remove(size_t i)
{
    void *p = kept[i].p;

    kept_bytes -= kept[i].cap;
    kept[i] = kept[--nkept];
    return p;
}

void *
bufpool_take(size_t n, size_t *cap)
{
    size_t best = BUFPOOL_SLOTS;
    void *p = NULL;

    pthread_mutex_lock(&bufpool_mu);
    for (size_t i = 0; i < nkept; i++)
        if (kept[i].cap >= n &&
            (best == BUFPOOL_SLOTS || kept[i].cap < kept[best].cap))
            best = i;
    if (best != BUFPOOL_SLOTS) {
        *cap = kept[best].cap;
        p = bufpool_remove(best);
    }
    pthread_mutex_unlock(&bufpool_mu);
    return p;
}

/* The index of the smallest kept buffer, nkept > 0 (bufpool_mu held). */
static size_t
bufpool_smallest(void)
{
    size_t s = 0;

    for (size_t i = 1; i < nkept; i++)
        if (kept[i].cap < kept[s].cap)
            s = i;
    return s;
}

void
bufpool_give(void *p)
{
    void *evicted[BUFPOOL_SLOTS];
    size_t cap, nev = 0;

    if (p == NULL)
        return;
    cap = malloc_usable_size(p);
    if (cap < BUFPOOL_MIN || cap > BUFPOOL_ONE_MAX) {
        free(p);
        return;
    }
    pthread_mutex_lock(&bufpool_mu);
    while (nkept > 0 &&
           (nkept == BUFPOOL_SLOTS || kept_bytes + cap > BUFPOOL_KEEP_MAX)) {
        size_t s = bufpool_smallest();

        if (kept[s].cap >= cap)
            break;
        evicted[nev++] = bufpool_remove(s);
    }
    if (nkept < BUFPOOL_SLOTS && kept_bytes + cap <= BUFPOOL_KEEP_MAX) {
        kept[nkept].p = p;
        kept[nkept++].cap = cap;
        kept_bytes += cap;
        p = NULL;
    }
    pthread_mutex_unlock(&bufpool_mu);
    free(p);
    while (nev > 0)
        free(evicted[--nev]);
}

void
bufpool_drain(void)
{
    void *all[BUFPOOL_SLOTS];
    size_t n = 0;

    pthread_mutex_lock(&bufpool_mu);
    while (nkept > 0)
        all[n++] = bufpool_remove(nkept - 1);
    pthread_mutex_unlock(&bufpool_mu);
    while (n > 0)
        free(all[--n]);
}

size_t
bufpool_kept_bytes(void)
{
    size_t n;

    pthread_mutex_lock(&bufpool_mu);
    n = kept_bytes;
    pthread_mutex_unlock(&bufpool_mu);
    return n;
}
