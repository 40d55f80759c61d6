/*
 * http_conn.h: a deadline for every HTTP connection, and a reaper that
 * ends the connections past theirs.
 *
 * A connection gets total_s seconds from its opening, and again from the
 * end of each answer, to send a request and take the whole answer in.
 * libmicrohttpd's own timeout counts only idle time, so a client that
 * trickles a byte now and then would otherwise keep its slot for ever.
 * The reaper shuts such a socket down (shutdown(2), never close(2)): the
 * socket stays libmicrohttpd's, which sees the end of the stream and
 * closes it itself.
 */
#ifndef HTTP_CONN_H
#define HTTP_CONN_H

#include <stddef.h>

struct http_conns;
struct http_conn;

/* An empty set whose connections get total_s seconds each. NULL when out
 * of memory. */
struct http_conns *http_conns_create(double total_s);
/* Frees the set and any connection still in it. NULL is a no-op. */
void http_conns_destroy(struct http_conns *s);
/* Starts a thread that calls http_conns_reap() every second. -1 (errno
 * set) when it cannot start. */
int http_conns_start(struct http_conns *s);
/* Stops that thread, if started. */
void http_conns_stop(struct http_conns *s);

/* Adds the connection on socket fd, opened at now_s. NULL when out of
 * memory (the connection then has no deadline). */
struct http_conn *http_conns_add(struct http_conns *s, int fd, double now_s);
/* An answer on c ended at now_s: its next request's time starts. */
void http_conns_rearm(struct http_conns *s, struct http_conn *c, double now_s);
/* Removes and frees c, before its socket is closed. NULL is a no-op. */
void http_conns_remove(struct http_conns *s, struct http_conn *c);
/* The length of the URL of c's current request, as the URL logger saw it;
 * c may be NULL (0). Only c's own libmicrohttpd thread calls these two. */
void http_conn_set_url_bytes(struct http_conn *c, size_t n);
size_t http_conn_url_bytes(const struct http_conn *c);

/* Shuts down every socket past its deadline at now_s; returns how many. */
size_t http_conns_reap(struct http_conns *s, double now_s);

#endif
