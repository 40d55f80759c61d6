/*
 * http_status.h: the status page of GET /status (and of GET / for a
 * browser): one self-contained HTML document, its CSS and JavaScript
 * inline, that reads /stats every 2 seconds (docs/http.md, "/status").
 *
 * The page lives in src/http_status.html; the build turns it into the C
 * string below (Makefile.am), served as is from static memory.
 */
#ifndef HTTP_STATUS_H
#define HTTP_STATUS_H

#include <stddef.h>

/* Sent with the page: nothing may load but the page itself, its inline
 * style and script, and the endpoint's own JSON (connect-src 'self'); no
 * frames, forms, plugins or base URL. */
#define HTTP_STATUS_CSP                                                        \
    "default-src 'none'; script-src 'unsafe-inline'; "                         \
    "style-src 'unsafe-inline'; img-src data:; connect-src 'self'; "           \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* The page, NUL-terminated, and its length without the NUL. */
extern const char http_status_html[];
extern const size_t http_status_html_len;

#endif
