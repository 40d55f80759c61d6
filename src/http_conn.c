/*
 * http_conn.c: HTTP connection deadlines and their reaper.
 *
 * libmicrohttpd's threads add a connection when it opens, re-arm it when
 * an answer ends and remove it when it closes, always before they close
 * the socket; the reaper thread walks the list once a second while it
 * holds a connection, and sleeps while it is empty until the first one is
 * added (cleanup_start_idle). All of it is under one mutex, so the reaper
 * can only ever shut down a socket that libmicrohttpd still holds open:
 * the descriptor cannot have been closed and reused under it. A walk is
 * at most one connection limit's worth of comparisons and shutdown(2)
 * calls. The reaper is woken under the mutex, and set and cleared under
 * it, so a wake never reaches a reaper being stopped.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "clock.h"
#include "http_conn.h"
#include "log.h"

#define HTTP_REAP_INTERVAL_S 1u

/* One open connection. prev, next, deadline_s and shut belong to the
 * set's mu; fd never changes; url_bytes belongs to the connection's own
 * libmicrohttpd thread. */
struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    double deadline_s;
    bool shut; /* the reaper has shut the socket down */
    size_t url_bytes;
};

/* Every open connection, on a doubly linked list under mu. */
struct http_conns {
    pthread_mutex_t mu;
    struct http_conn *head; /* mu */
    double total_s;
    struct cleanup *reaper; /* mu */
};

struct http_conns *
http_conns_create(double total_s)
{
    struct http_conns *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return NULL;
    }
    s->total_s = total_s;
    return s;
}

void
http_conns_destroy(struct http_conns *s)
{
    struct http_conn *c, *next;

    if (s == NULL)
        return;
    http_conns_stop(s);
    for (c = s->head; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static bool
http_conns_sweep(void *arg)
{
    http_conns_reap(arg, clock_mono_s());
    return true;
}

static bool
http_conns_empty(void *arg)
{
    struct http_conns *s = arg;
    bool empty;

    pthread_mutex_lock(&s->mu);
    empty = s->head == NULL;
    pthread_mutex_unlock(&s->mu);
    return empty;
}

int
http_conns_start(struct http_conns *s)
{
    struct cleanup *r = cleanup_start_idle(
        HTTP_REAP_INTERVAL_S, http_conns_sweep, http_conns_empty, s);

    pthread_mutex_lock(&s->mu);
    s->reaper = r;
    pthread_mutex_unlock(&s->mu);
    return r == NULL ? -1 : 0;
}

void
http_conns_stop(struct http_conns *s)
{
    struct cleanup *r;

    pthread_mutex_lock(&s->mu);
    r = s->reaper;
    s->reaper = NULL;
    pthread_mutex_unlock(&s->mu);
    cleanup_stop(r);
}

struct http_conn *
http_conns_add(struct http_conns *s, int fd, double now_s)
{
    struct http_conn *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    c->fd = fd;
    c->deadline_s = now_s + s->total_s;
    pthread_mutex_lock(&s->mu);
    c->next = s->head;
    if (s->head != NULL)
        s->head->prev = c;
    else
        cleanup_wake(s->reaper); /* the first: the reaper may be asleep */
    s->head = c;
    pthread_mutex_unlock(&s->mu);
    return c;
}

void
http_conns_rearm(struct http_conns *s, struct http_conn *c, double now_s)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    c->deadline_s = now_s + s->total_s;
    pthread_mutex_unlock(&s->mu);
}

void
http_conns_remove(struct http_conns *s, struct http_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&s->mu);
    free(c);
}

void
http_conn_set_url_bytes(struct http_conn *c, size_t n)
{
    if (c != NULL)
        c->url_bytes = n;
}

size_t
http_conn_url_bytes(const struct http_conn *c)
{
    return c == NULL ? 0 : c->url_bytes;
}

size_t
http_conns_reap(struct http_conns *s, double now_s)
{
    size_t n = 0;

    pthread_mutex_lock(&s->mu);
    for (struct http_conn *c = s->head; c != NULL; c = c->next) {
        if (c->shut || now_s < c->deadline_s)
            continue;
        shutdown(c->fd, SHUT_RDWR);
        c->shut = true;
        n++;
    }
    pthread_mutex_unlock(&s->mu);
    if (n > 0)
        log_debug(NULL, "HTTP: shut down %zu connection(s) past %.0f s", n,
                  s->total_s);
    return n;
}
