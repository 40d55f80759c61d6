/*
 * http_accept.h: what an HTTP Accept header asks for, as far as the
 * endpoint cares: whether it names text/html, which is how a browser's
 * navigation differs from curl (no Accept, or the wildcard of any type)
 * and from a script asking for application/json (docs/http.md, "/status").
 */
#ifndef HTTP_ACCEPT_H
#define HTTP_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the len bytes at v (an Accept header's value, not necessarily
 * NUL-terminated; NULL when none was sent) list the media range
 * text/html, in any case, with a quality other than q=0. Wildcard
 * ranges do not count: they ask for nothing in particular. */
bool http_accept_html(const char *v, size_t len);

#endif
