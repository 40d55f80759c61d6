/*
 * http.c: the HTTP endpoint's daemon (SPEC 7, 11): the listening socket,
 * libmicrohttpd's threads and limits, routing, 404/405, x-request-id.
 *
 * libmicrohttpd runs a pool of HTTP_THREADS threads, each with its own epoll
 * loop, so nothing here ever runs on a gRPC worker. Bodies are rendered per
 * request into malloc'd buffers that libmicrohttpd frees once sent.
 *
 * Limits against slow or hostile clients (SPEC 11): at most
 * HTTP_MAX_CONNECTIONS connections, HTTP_TIMEOUT_S of inactivity closes a
 * connection, and a connection's memory pool (HTTP_POOL_BYTES) holds the
 * request line, the headers and the response's headers. A request whose URL
 * plus headers take up to 8 KiB (measured: up to about 8.7 KB) is served;
 * from about 9 KB on, libmicrohttpd answers 414 or 431 itself (those answers
 * carry no x-request-id); in the narrow band between, the request fits but
 * the response headers do not, and the connection is closed unanswered.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http.h"
#include "http_json.h"
#include "log.h"
#include "metrics.h"
#include "reqid.h"

#define HTTP_THREADS         2u
#define HTTP_MAX_CONNECTIONS 1024u
#define HTTP_TIMEOUT_S       10u
#define HTTP_POOL_BYTES      ((size_t)9 * 1024)
#define HTTP_BACKLOG         128
#define HTTP_LOG_URL_MAX     128

#define HTTP_JSON_TYPE    "application/json"
#define HTTP_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * The endpoint. deps and port are written once in http_start() before any
 * libmicrohttpd thread starts, and only read afterwards. running tells the
 * libmicrohttpd logger whether a message is about startup (logged as an
 * error) or about one connection (logged at debug, so that hostile clients
 * cannot flood the log).
 */
struct http {
    struct MHD_Daemon *daemon;
    struct http_deps deps;
    int port;
    _Atomic bool running;
};

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

/* A response under construction; body is malloc'd and handed to
 * libmicrohttpd, which frees it. */
struct http_reply {
    int status;
    char *body;
    const char *type;
};

static int
http_route_find(const char *url)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(http_routes); i++)
        if (strcmp(url, http_routes[i].path) == 0)
            return (int)http_routes[i].route;
    return -1;
}

static void
http_render(enum http_route route, const struct http_deps *d,
            struct http_reply *r)
{
    r->status = MHD_HTTP_OK;
    r->type = HTTP_JSON_TYPE;
    switch (route) {
    case ROUTE_ROOT:
        r->body = http_json_root(d);
        break;
    case ROUTE_HEALTH:
        r->body = http_json_health(d, &r->status);
        break;
    case ROUTE_LIVE:
        r->body = http_json_live(d);
        break;
    case ROUTE_STATS:
        r->body = http_json_stats(d);
        break;
    case ROUTE_METRICS:
        r->body = metrics_render(d);
        r->type = HTTP_METRICS_TYPE;
        break;
    }
}

static void
http_error(struct http_reply *r, int status, const char *message)
{
    r->status = status;
    r->type = HTTP_JSON_TYPE;
    r->body = http_json_error(status, message);
}

/* Queues r on c; takes ownership of r->body. Falls back to a static 500 body
 * when rendering or allocation failed. */
static enum MHD_Result
http_queue(struct MHD_Connection *c, struct http_reply *r, const char *reqid)
{
    static const char oom[] = "{\"error\":\"out of memory\",\"status\":500}";
    struct MHD_Response *resp = NULL;
    enum MHD_Result ret;

    if (r->body != NULL)
        resp = MHD_create_response_from_buffer(strlen(r->body), r->body,
                                               MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(r->body);
        r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        r->type = HTTP_JSON_TYPE;
        resp = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom,
                                               MHD_RESPMEM_PERSISTENT);
        if (resp == NULL)
            return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "x-request-id", reqid);
    if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET");
    ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void
http_request_id(struct MHD_Connection *c, char out[REQID_MAX + 1])
{
    const char *sent = NULL;
    size_t len = 0;

    if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, "x-request-id",
                                      strlen("x-request-id"), &sent,
                                      &len) != MHD_YES)
        sent = NULL;
    reqid_accept_or_make(sent, sent == NULL ? 0 : len, out);
}

/* libmicrohttpd's access handler. A GET is answered on the second call,
 * once the request is complete, so that the connection may be kept alive;
 * anything else is answered on the first call, before any body is read
 * (libmicrohttpd then closes the connection instead of reading it). */
static enum MHD_Result
http_answer(void *cls, struct MHD_Connection *c, const char *url,
            const char *method, const char *version, const char *upload,
            size_t *upload_size, void **con_cls)
{
    static char seen;
    struct http *h = cls;
    struct http_reply r = {0};
    char reqid[REQID_MAX + 1];
    char esc[HTTP_LOG_URL_MAX * 4 + 4];
    int route = http_route_find(url);
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;

    (void)version, (void)upload, (void)upload_size;
    if (get && *con_cls == NULL) {
        *con_cls = &seen;
        return MHD_YES;
    }
    http_request_id(c, reqid);
    if (route < 0)
        http_error(&r, MHD_HTTP_NOT_FOUND, "not found");
    else if (!get)
        http_error(&r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    else
        http_render((enum http_route)route, &h->deps, &r);
    log_debug(reqid, "HTTP %.16s %s -> %d", method,
              log_escape(url, strlen(url), HTTP_LOG_URL_MAX, esc, sizeof esc),
              r.status);
    return http_queue(c, &r, reqid);
}

/* URLs are matched as sent, never percent-decoded: "/%00" or "/%68ealth"
 * is no alias of a real path. */
static size_t
http_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    return strlen(s);
}

/* libmicrohttpd's own messages, routed into log.c. */
static void http_log(void *cls, const char *fmt, va_list ap) TC_PRINTF(2, 0);

static void
http_log(void *cls, const char *fmt, va_list ap)
{
    struct http *h = cls;
    char line[512];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    enum log_level level = atomic_load(&h->running) ? LOG_DEBUG : LOG_ERROR;

    if (n < 0 || !log_enabled(level))
        return;
    n = (size_t)n >= sizeof line ? (int)sizeof line - 1 : n;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_write(level, NULL, "HTTP: %s", line);
}

/* host without the brackets of "[::1]", into out. */
static void
http_unbracket(const char *host, char *out, size_t outlen)
{
    size_t n = strlen(host);

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
        snprintf(out, outlen, "%.*s", (int)(n - 2), host + 1);
    else
        snprintf(out, outlen, "%s", host);
}

/* Binds and listens on host:port (host may be a name, or an address in
 * brackets). Returns the socket, or -1 with a line in err. */
static int
http_listen(const char *host, int port, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL, *ai;
    char name[CONFIG_HOST_MAX], serv[16];
    int fd = -1, rc, saved = 0, one = 1;

    http_unbracket(host, name, sizeof name);
    snprintf(serv, sizeof serv, "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(name, serv, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "HTTP: cannot resolve %s: %s", host,
                 gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
            listen(fd, HTTP_BACKLOG) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "HTTP: cannot listen on %s:%d: %s", host, port,
                 strerror(saved));
    return fd;
}

static int
http_bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static struct MHD_Daemon *
http_daemon_start(struct http *h, int fd)
{
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

    return MHD_start_daemon(
        flags, 0, NULL, NULL, http_answer, h, MHD_OPTION_EXTERNAL_LOGGER,
        http_log, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_THREAD_POOL_SIZE, HTTP_THREADS, MHD_OPTION_CONNECTION_LIMIT,
        HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, HTTP_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_POOL_BYTES,
        MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL, MHD_OPTION_END);
}

/* open (or close) when the host is a bare IPv6 address, else "". */
static const char *
http_bracket(const struct config *cfg, const char *bracket)
{
    const char *host = cfg->health_host;

    return strchr(host, ':') != NULL && host[0] != '[' ? bracket : "";
}

struct http *
http_start(const struct http_deps *deps, char *err, size_t errlen)
{
    const struct config *cfg = deps->cfg;
    struct http *h = calloc(1, sizeof *h);
    int fd;

    if (h == NULL) {
        snprintf(err, errlen, "HTTP: out of memory");
        return NULL;
    }
    h->deps = *deps;
    fd = http_listen(cfg->health_host, cfg->health_port, err, errlen);
    if (fd < 0)
        goto fail;
    h->port = http_bound_port(fd);
    h->daemon = http_daemon_start(h, fd);
    if (h->daemon == NULL) {
        close(fd);
        snprintf(err, errlen, "HTTP: cannot start libmicrohttpd on %s:%d",
                 cfg->health_host, h->port);
        goto fail;
    }
    atomic_store(&h->running, true);
    log_info(NULL, "HTTP listening on %s%s%s:%d", http_bracket(cfg, "["),
             cfg->health_host, http_bracket(cfg, "]"), h->port);
    return h;
fail:
    free(h);
    return NULL;
}

int
http_port(const struct http *h)
{
    return h->port;
}

void
http_stop(struct http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
