/*
 * http_handle.h: the HTTP endpoint's handling of one request, apart from
 * libmicrohttpd: method, path, the size of the request's head and the
 * headers it reads (x-request-id) in; status, headers and body out.
 *
 * http.c feeds it from a libmicrohttpd connection; the fuzz target
 * (tests/fuzz/fuzz_http.c) feeds it from bytes. Any thread may call it.
 */
#ifndef HTTP_HANDLE_H
#define HTTP_HANDLE_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "reqid.h"

/* The request line plus the header lines, line ends and the empty line
 * that ends them included, may take this many bytes; beyond it the answer
 * is 414 (when the URL alone is longer) or 431. */
#define HTTP_HEAD_MAX_BYTES 8192u

/* Looks up the header called name (any case) of the request behind ctx:
 * its value and length, or NULL when it was not sent. */
typedef const char *(*http_header_fn)(void *ctx, const char *name, size_t *len);

/* One request, all borrowed for the call. */
struct http_request {
    const char *method; /* as sent, NUL-terminated */
    const char *url;    /* as sent, never decoded; anything from '?' is
                           ignored */
    size_t url_bytes;   /* the URL's length as sent, query included */
    size_t head_bytes;  /* request line and headers as received */
    http_header_fn header;
    void *header_ctx;
};

/* One answer. body points at body_len bytes: at owned, a malloc'd buffer
 * the caller must release (http_response_fini() or hand it on), or, when
 * owned is NULL, at static text. */
struct http_response {
    int status;
    const char *type; /* Content-Type */
    bool allow_get;   /* send "Allow: GET" (405) */
    bool vary_accept; /* send "Vary: Accept" (/, whose answer depends on it) */
    const char *csp;  /* Content-Security-Policy to send, or NULL */
    const char *body;
    size_t body_len;
    char *owned;
    char request_id[REQID_MAX + 1]; /* to send as x-request-id */
};

/* Answers req into *resp, which needs no setting up. Never fails: when
 * memory runs out, the answer is a 500 with a static body. */
void http_handle(const struct http_deps *d, const struct http_request *req,
                 struct http_response *resp);
/* Releases resp's body if it still owns it. */
void http_response_fini(struct http_response *resp);

#endif
