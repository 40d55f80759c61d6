/*
 * http_handle.c: routing, 404/405/414/431, bodies and x-request-id for one
 * HTTP request, with no libmicrohttpd connection involved.
 *
 * The checks run in this order: the size of the head (414, 431), the path
 * (404), the method (405), then the path's own answer. Paths are compared
 * as sent, up to the first '?': never percent-decoded, so "/%68ealth" is
 * no alias of "/health". Bodies are rendered per request into malloc'd
 * buffers.
 */
#include <stdlib.h>
#include <string.h>

#include "http_handle.h"
#include "http_json.h"
#include "log.h"
#include "metrics.h"

#define HTTP_LOG_URL_MAX 128

#define HTTP_JSON_TYPE    "application/json"
#define HTTP_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum http_route {
    ROUTE_ROOT,
    ROUTE_HEALTH,
    ROUTE_LIVE,
    ROUTE_STATS,
    ROUTE_METRICS,
};

static const struct {
    const char *path;
    enum http_route route;
} http_routes[] = {
    {"/", ROUTE_ROOT},        {"/health", ROUTE_HEALTH},
    {"/ready", ROUTE_HEALTH}, {"/live", ROUTE_LIVE},
    {"/stats", ROUTE_STATS},  {"/metrics", ROUTE_METRICS},
};

/* The route of url's path (before any '?'), or -1. */
static int
http_route_find(const char *url)
{
    size_t n = strcspn(url, "?");

    for (size_t i = 0; i < TC_ARRAY_LEN(http_routes); i++)
        if (strlen(http_routes[i].path) == n &&
            memcmp(url, http_routes[i].path, n) == 0)
            return (int)http_routes[i].route;
    return -1;
}

/* The body of a route; *status and *type are set for it. NULL when memory
 * ran out. */
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
    int route = http_route_find(req->url);
    char esc[HTTP_LOG_URL_MAX * 4 + 4];

    memset(resp, 0, sizeof *resp);
    http_request_id(req, resp->request_id);
    if (req->url_bytes > HTTP_HEAD_MAX_BYTES)
        http_error(resp, 414, "URI too long");
    else if (req->head_bytes > HTTP_HEAD_MAX_BYTES)
        http_error(resp, 431, "request header fields too large");
    else if (route < 0)
        http_error(resp, 404, "not found");
    else if (strcmp(req->method, "GET") != 0)
        http_error(resp, 405, "method not allowed");
    else
        http_set_body(resp, http_render((enum http_route)route, d,
                                        &resp->status, &resp->type));
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
