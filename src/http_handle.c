/*
 * http_handle.c: routing, 404/405/414/431, bodies and x-request-id for one
 * HTTP request, with no libmicrohttpd connection involved.
 *
 * The checks run in this order: the size of the head (414, 431), the path
 * (404), the method (405), then the path's own answer. Paths are compared
 * as sent, up to the first '?': never percent-decoded, so "/%68ealth" is
 * no alias of "/health". Bodies are rendered per request into malloc'd
 * buffers, except the status page, which is static. "/" answers the status
 * page to a request whose Accept names text/html (a browser) and JSON to
 * any other, so it says "Vary: Accept".
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_accept.h"
#include "http_handle.h"
#include "http_json.h"
#include "http_status.h"
#include "log.h"
#include "metrics.h"

#define HTTP_LOG_URL_MAX 128

#define HTTP_JSON_TYPE    "application/json"
#define HTTP_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define HTTP_HTML_TYPE    "text/html; charset=utf-8"

enum http_route {
    ROUTE_ROOT,
    ROUTE_HEALTH,
    ROUTE_LIVE,
    ROUTE_STATS,
    ROUTE_METRICS,
    ROUTE_STATUS,
};

static const struct {
    const char *path;
    enum http_route route;
} http_routes[] = {
    {"/", ROUTE_ROOT},         {"/health", ROUTE_HEALTH},
    {"/ready", ROUTE_HEALTH},  {"/live", ROUTE_LIVE},
    {"/stats", ROUTE_STATS},   {"/metrics", ROUTE_METRICS},
    {"/status", ROUTE_STATUS},
};

/* The path of url: url itself, or for a request in absolute form
 * ("http://host:port/path?q", which HTTP/1.1 servers must take as well as
 * "/path?q") what follows the authority, "/" when nothing does; NULL when
 * that authority is empty ("http:///path"), which must be refused. */
static const char *
http_url_path(const char *url)
{
    size_t skip, host;

    if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else
        return url;
    host = strcspn(url + skip, "/?#");
    if (host == 0)
        return NULL;
    url += skip + host;
    return *url == '/' ? url : "/";
}

/* The route of path (before any '?'), or -1. */
static int
http_route_find(const char *path)
{
    size_t n = strcspn(path, "?");

    for (size_t i = 0; i < TC_ARRAY_LEN(http_routes); i++)
        if (strlen(http_routes[i].path) == n &&
            memcmp(path, http_routes[i].path, n) == 0)
            return (int)http_routes[i].route;
    return -1;
}

/* The body of a route other than ROUTE_STATUS (static: http_get()); *status
 * and *type are set for it. NULL when memory ran out. */
static char *
http_render(enum http_route route, const struct http_deps *d, int *status,
            const char **type)
{
    *status = 200;
    *type = HTTP_JSON_TYPE;
    switch (route) {
    case ROUTE_ROOT:
        return http_json_root(d);
    case ROUTE_HEALTH:
        return http_json_health(d, status);
    case ROUTE_LIVE:
        return http_json_live(d);
    case ROUTE_STATS:
        return http_json_stats(d);
    case ROUTE_METRICS:
        *type = HTTP_METRICS_TYPE;
        return metrics_render(d);
    case ROUTE_STATUS:
        break;
    }
    return NULL;
}

/* Takes body (malloc'd, or NULL when memory ran out) as resp's body. */
static void
http_set_body(struct http_response *resp, char *body)
{
    static const char oom[] = "{\"error\":\"out of memory\",\"status\":500}";

    resp->owned = body;
    if (body != NULL) {
        resp->body = body;
        resp->body_len = strlen(body);
        return;
    }
    resp->status = 500;
    resp->type = HTTP_JSON_TYPE;
    resp->allow_get = false;
    resp->body = oom;
    resp->body_len = sizeof oom - 1;
}

static void
http_error(struct http_response *resp, int status, const char *message)
{
    resp->status = status;
    resp->type = HTTP_JSON_TYPE;
    resp->allow_get = status == 405;
    http_set_body(resp, http_json_error(status, message));
}

/* Whether req's Accept header names text/html (a browser). */
static bool
http_wants_html(const struct http_request *req)
{
    size_t len = 0;
    const char *accept = req->header(req->header_ctx, "Accept", &len);

    return http_accept_html(accept, len);
}

/* The answer of a GET of route: the status page from static memory, any
 * other route rendered. */
static void
http_get(const struct http_deps *d, const struct http_request *req,
         enum http_route route, struct http_response *resp)
{
    resp->vary_accept = route == ROUTE_ROOT;
    if (route == ROUTE_ROOT && http_wants_html(req))
        route = ROUTE_STATUS;
    if (route != ROUTE_STATUS) {
        http_set_body(resp, http_render(route, d, &resp->status, &resp->type));
        return;
    }
    resp->status = 200;
    resp->type = HTTP_HTML_TYPE;
    resp->csp = HTTP_STATUS_CSP;
    resp->body = http_status_html;
    resp->body_len = http_status_html_len;
}

static void
http_request_id(const struct http_request *req, char out[REQID_MAX + 1])
{
    size_t len = 0;
    const char *sent = req->header(req->header_ctx, "x-request-id", &len);

    reqid_accept_or_make(sent, sent == NULL ? 0 : len, out);
}

void
http_handle(const struct http_deps *d, const struct http_request *req,
            struct http_response *resp)
{
    const char *path = http_url_path(req->url);
    int route = path != NULL ? http_route_find(path) : -1;
    char esc[HTTP_LOG_URL_MAX * 4 + 4];

    memset(resp, 0, sizeof *resp);
    http_request_id(req, resp->request_id);
    if (req->url_bytes > HTTP_HEAD_MAX_BYTES)
        http_error(resp, 414, "URI too long");
    else if (req->head_bytes > HTTP_HEAD_MAX_BYTES)
        http_error(resp, 431, "request header fields too large");
    else if (path == NULL)
        http_error(resp, 400, "no host in the request target");
    else if (route < 0)
        http_error(resp, 404, "not found");
    else if (strcmp(req->method, "GET") != 0)
        http_error(resp, 405, "method not allowed");
    else
        http_get(d, req, (enum http_route)route, resp);
    log_debug(resp->request_id, "HTTP %.16s %s -> %d", req->method,
              log_escape(req->url, strlen(req->url), HTTP_LOG_URL_MAX, esc,
                         sizeof esc),
              resp->status);
}

void
http_response_fini(struct http_response *resp)
{
    free(resp->owned);
    resp->owned = NULL;
}
