/*
 * http.c: the HTTP endpoint's daemon: the listening socket, libmicrohttpd's
 * threads and limits, and the adapter from a libmicrohttpd connection to
 * http_handle() (routing, bodies, x-request-id: http_handle.c).
 *
 * libmicrohttpd runs a pool of HTTP_THREADS threads, each with its own epoll
 * loop, so nothing here ever runs on a gRPC worker.
 *
 * Limits against slow or hostile clients (docs/http.md, "Limits"):
 * - HTTP_MAX_CONNECTIONS connections at once, at most HTTP_PER_IP of them
 *   from one address (libmicrohttpd closes the others as it accepts them);
 * - HTTP_IDLE_S without traffic closes a connection (libmicrohttpd);
 * - HTTP_TOTAL_S from a connection's opening, or from the end of its last
 *   answer, to the end of its next answer: past that the reaper
 *   (http_conn.c) shuts the connection down, however it trickles;
 * - a head (request line and headers) of up to HTTP_HEAD_MAX_BYTES is
 *   served, whatever it is made of; a longer one gets 414 or 431 with
 *   x-request-id from http_handle(), or, once it no longer fits the pool,
 *   414 or 431 from libmicrohttpd itself (without x-request-id).
 *
 * HTTP_POOL_BYTES is each connection's memory pool: the head, a 64-byte
 * record per header line and the answer's headers. 8 KiB of the shortest
 * recorded line ("a:" and a line feed, 3 bytes) take 2730 records, about
 * 171 KiB, hence 192 KiB. The pool is mapped per connection and only the
 * pages a request touches become resident. A head that fills the pool to
 * within a few hundred bytes (about 196,000 bytes) leaves no room for the
 * answer's headers and is closed unanswered.
 *
 * The query string is cut off before libmicrohttpd splits it into records
 * (http_uri_seen()), as nothing here reads it: a URL of many tiny
 * arguments would exhaust any pool, and libmicrohttpd 0.9.75 then leaves
 * the connection without an answer until a timeout ends it.
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

#include "clock.h"
#include "http.h"
#include "http_conn.h"
#include "http_handle.h"
#include "log.h"

#define HTTP_THREADS         2u
#define HTTP_MAX_CONNECTIONS 1024u
#define HTTP_PER_IP          256u
#define HTTP_IDLE_S          10u
#define HTTP_TOTAL_S         10.0
#define HTTP_POOL_BYTES      ((size_t)192 * 1024)
#define HTTP_BACKLOG         128

/*
 * The endpoint. deps and port are written once in http_start() before any
 * libmicrohttpd thread starts, and only read afterwards; conns has its own
 * lock. running tells the libmicrohttpd logger whether a message is about
 * startup (logged as an error) or about one connection (logged at debug,
 * so that hostile clients cannot flood the log).
 */
struct http {
    struct MHD_Daemon *daemon;
    struct http_deps deps;
    struct http_conns *conns;
    int port;
    _Atomic bool running;
};

/* The deadline record of c, set when c opened (NULL when that failed). */
static struct http_conn *
http_conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci == NULL ? NULL : ci->socket_context;
}

/* libmicrohttpd's connection notifier: a connection opened or closed. */
static void
http_notify(void *cls, struct MHD_Connection *c, void **socket_context,
            enum MHD_ConnectionNotificationCode code)
{
    struct http *h = cls;
    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        http_conns_remove(h->conns, *socket_context);
        *socket_context = NULL;
        return;
    }
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci != NULL)
        *socket_context =
            http_conns_add(h->conns, ci->connect_fd, clock_mono_s());
}

/* libmicrohttpd's completion notifier: an answer ended (or failed). */
static void
http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
               enum MHD_RequestTerminationCode toe)
{
    struct http *h = cls;

    (void)con_cls, (void)toe;
    http_conns_rearm(h->conns, http_conn_of(c), clock_mono_s());
}

/* libmicrohttpd's URL logger, called with the request line's URL before
 * the query is split into records. Notes the URL's length, then ends the
 * string just after its '?', so that libmicrohttpd finds no arguments:
 * the URL lies in the connection's own read buffer, which libmicrohttpd
 * passes const but owns writable. Returns no request context. */
static void *
http_uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
    char *query;

    (void)cls;
    if (uri == NULL)
        return NULL;
    http_conn_set_url_bytes(http_conn_of(c), strlen(uri));
    query = strchr(uri, '?');
    if (query != NULL)
        query[1] = '\0';
    return NULL;
}

static const char *
http_header(void *ctx, const char *name, size_t *len)
{
    const char *v = NULL;

    if (MHD_lookup_connection_value_n(ctx, MHD_HEADER_KIND, name, strlen(name),
                                      &v, len) != MHD_YES)
        return NULL;
    return v;
}

/* Queues resp on c; its body goes to libmicrohttpd. MHD_NO (libmicrohttpd
 * then closes the connection) when the response cannot be allocated. */
static enum MHD_Result
http_queue(struct MHD_Connection *c, struct http_response *resp)
{
    enum MHD_ResponseMemoryMode mode =
        resp->owned != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        resp->body_len, (void *)resp->body, mode);
    enum MHD_Result ret;

    if (r == NULL) {
        http_response_fini(resp);
        return MHD_NO;
    }
    resp->owned = NULL;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "x-request-id", resp->request_id);
    if (resp->allow_get)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
    if (resp->vary_accept)
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept");
    if (resp->csp != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY,
                                resp->csp);
    ret = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* libmicrohttpd's access handler, a thin adapter over http_handle(). A
 * GET is answered on the second call, once the request is complete, so
 * that the connection may be kept alive; anything else is answered on the
 * first call, before any body is read (libmicrohttpd then closes the
 * connection instead of reading it). */
static enum MHD_Result
http_answer(void *cls, struct MHD_Connection *c, const char *url,
            const char *method, const char *version, const char *upload,
            size_t *upload_size, void **con_cls)
{
    static char seen;
    struct http *h = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    struct http_request req = {
        .method = method,
        .url = url,
        .url_bytes = http_conn_url_bytes(http_conn_of(c)),
        .head_bytes = ci == NULL ? 0 : ci->header_size,
        .header = http_header,
        .header_ctx = c,
    };
    struct http_response resp;

    (void)version, (void)upload;
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 && *con_cls == NULL) {
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_size != 0) { /* a GET's body means nothing: read, dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    http_handle(&h->deps, &req, &resp);
    return http_queue(c, &resp);
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
        HTTP_MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_POOL_BYTES,
        MHD_OPTION_NOTIFY_CONNECTION, http_notify, h,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
        MHD_OPTION_URI_LOG_CALLBACK, http_uri_seen, h,
        MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL, MHD_OPTION_END);
}

/* Starts libmicrohttpd on fd (closed on failure) and the reaper. 0, or -1
 * with a line in err. */
static int
http_serve(struct http *h, int fd, char *err, size_t errlen)
{
    const char *host = h->deps.cfg->health_host;

    h->conns = http_conns_create(HTTP_TOTAL_S);
    if (h->conns == NULL) {
        close(fd);
        snprintf(err, errlen, "HTTP: out of memory");
        return -1;
    }
    h->daemon = http_daemon_start(h, fd);
    if (h->daemon == NULL) {
        close(fd);
        snprintf(err, errlen, "HTTP: cannot start libmicrohttpd on %s:%d", host,
                 h->port);
        return -1;
    }
    if (http_conns_start(h->conns) != 0) {
        snprintf(err, errlen, "HTTP: cannot start the reaper thread: %s",
                 strerror(errno));
        return -1;
    }
    return 0;
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
    if (http_serve(h, fd, err, errlen) != 0)
        goto fail;
    atomic_store(&h->running, true);
    log_info(NULL, "HTTP listening on %s%s%s:%d", http_bracket(cfg, "["),
             cfg->health_host, http_bracket(cfg, "]"), h->port);
    return h;
fail:
    if (h->daemon != NULL)
        MHD_stop_daemon(h->daemon);
    http_conns_destroy(h->conns);
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
    http_conns_stop(h->conns);
    MHD_stop_daemon(h->daemon);
    http_conns_destroy(h->conns);
    free(h);
}
