/*
 * rpc_guard.c: frame-level limits on every plaintext gRPC connection,
 * applied where gRPC reads the socket.
 *
 * gRPC 1.51 bounds neither stream resets, nor header blocks continued over
 * several frames, nor control frames, nor the streams open at once before
 * the client has acknowledged its settings (see h2scan.h). The daemon defines
 * recvmsg(), sendmsg() and close() in front of the C library's, as it does
 * accept4() (rpc_accept.c): libgrpc reads and writes its sockets with
 * recvmsg and sendmsg and closes them with close, imported by name. A
 * connection accepted on the gRPC port gets a struct h2scan in
 * rpc_guard_conns, indexed by descriptor; every recvmsg on it feeds what
 * was read to the scanner, and every sendmsg what was written (the frame
 * headers alone, for the streams the server ends). When the scanner objects,
 * the connection is shut down (shutdown(2), so that gRPC closes it itself and
 * fails its calls) and the read reports ECONNRESET; one WARNING line per
 * second at most says why and from where. close() frees the state.
 *
 * The scanner also keeps the time of the connection's last call frame
 * (HEADERS, DATA, or a stream's WINDOW_UPDATE: a reply being read, or the
 * end of its last open stream), the last stream the client opened and the
 * streams still open, for the idle limit of plaintext connections (gRPC's
 * own, GRPC_ARG_MAX_CONNECTION_IDLE_MS, puts a filter on every call; TLS
 * connections, whose frames are not read, keep it). A sweep thread
 * (cleanup.h) runs every tenth of the limit (at least every second) and
 * closes each connection that has no stream open (no call in progress,
 * however long it takes or however long a stream stays silent), has had
 * no call frame for the limit and has nothing left in its send queue (so
 * a reply read slowly is never cut), as gRPC would: a GOAWAY naming the last
 * stream the client opened, then shutdown(2); from then on its reads report the
 * end of the stream, so gRPC closes it and never sees a call sent after the
 * GOAWAY (gRPC clients retry those on a new connection). A connection is so
 * closed between the limit and the limit plus one sweep period after its
 * last call; pings, settings and the connection's window updates do not
 * keep it open. The GOAWAY is written beside gRPC's own writes, which on
 * such a connection are at most a ping or settings acknowledgement of a
 * few bytes, each written whole in one system call; when the socket has no
 * room the GOAWAY is left out.
 *
 * Other descriptors cost one array load per recvmsg or close.
 *
 * On gRPC's sockets (TLS ones too, whose frames are not read) both make
 * the system call themselves, as the sweep does for its GOAWAY and its look
 * at the send queue, rather than call the C library's (or a
 * sanitizer's wrapper of it): a wrapper called from here, not from
 * libgrpc, would take the memory and descriptors gRPC hands between its
 * threads, by synchronization ThreadSanitizer cannot see in the
 * uninstrumented library, for ours, and report each hand-over as a race.
 * Every other descriptor goes to the C library's, so that a sanitizer
 * keeps track of it.
 *
 * Ownership: a connection's state is created by the thread that accepts it
 * (published with release order), then used by one thread at a time: the
 * one reading that descriptor (gRPC never reads one socket from two threads
 * at once), the one that has just written to it, or the sweep, each
 * holding it (`held`) meanwhile; it is freed by the thread that closes it,
 * after its last read and write. The sweep holds rpc_guard_mu for the whole
 * slice; every change of a slot of rpc_guard_conns (open, close, stop) is made
 * under that lock, so no state is freed while the sweep looks at it, and a
 * descriptor the sweep shuts down is still the connection it checked (close()
 * empties the slot before it closes the descriptor).
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"
#include "h2scan.h"
#include "lifecycle.h"
#include "log.h"
#include "rpc_guard.h"
#include "rpc_server.h"

#define RPC_GUARD_PEER_MAX 64
/* Descriptors watched at most: the table is static, so that it is never
 * freed under a close() running on another thread; its pages cost memory
 * only once descriptors that high are used. */
#define RPC_GUARD_MAX_FDS (1 << 20)
/* Descriptors the sweep checks per hold of rpc_guard_mu. */
#define RPC_GUARD_SWEEP_SLICE 4096
/* The scanner closes a connection with more streams open than it keeps;
 * a client within the server's limit never has that many. */
_Static_assert(H2SCAN_OPEN_MAX > RPC_MAX_CONCURRENT_STREAMS,
               "h2scan keeps every stream a client may open");
/* HTTP/2's GOAWAY frame, NO_ERROR, with "idle" as its debug data. */
#define RPC_GUARD_GOAWAY_LEN (9 + 8 + 4)

/* One watched connection. gRPC reads a socket from one thread at a time,
 * but successive reads may run on different threads, ordered by gRPC's
 * own synchronization, which the sanitizers cannot see in an uninstrumented
 * libgrpc, and a write may run beside a read on another thread. The mutex
 * `held` hands the state from one read or write to the next (and to the
 * sweep, and to close()), so the order is explicit here too; a holder
 * keeps it for one non-blocking system call and the scan of what it moved,
 * so a write's scan always comes before a read of what the client sent
 * after it, and a thread that finds it held (a write beside a read) sleeps
 * rather than spins, in case the holder lost its CPU. Every field but
 * `held` and `peer` (set before the state is published) belongs to its
 * holder. */
struct rpc_guard_conn {
    pthread_mutex_t held;
    bool idle_closed; /* the sweep closed it: reads see the end */
    struct h2scan scan;
    char peer[RPC_GUARD_PEER_MAX];
};

static void
rpc_guard_take(struct rpc_guard_conn *c)
{
    pthread_mutex_lock(&c->held);
}

static void
rpc_guard_give(struct rpc_guard_conn *c)
{
    pthread_mutex_unlock(&c->held);
}

static _Atomic(struct rpc_guard_conn *) rpc_guard_conns[RPC_GUARD_MAX_FDS];
static _Atomic int rpc_guard_nfds;      /* descriptors watched; 0: none */
static _Atomic bool rpc_guard_scanning; /* frames read (plaintext only) */
static _Atomic int64_t rpc_guard_last_log_s;

static pthread_mutex_t rpc_guard_mu = PTHREAD_MUTEX_INITIALIZER;
static int rpc_guard_top;          /* rpc_guard_mu: past the highest fd seen */
static int rpc_guard_sweep_next;   /* rpc_guard_mu: where the sweep goes on */
static uint64_t rpc_guard_idle_ms; /* set before the sweep starts */
static struct cleanup *rpc_guard_sweeper; /* start and stop only */

typedef ssize_t (*rpc_recvmsg_fn)(int, struct msghdr *, int);
typedef ssize_t (*rpc_sendmsg_fn)(int, const struct msghdr *, int);
typedef int (*rpc_close_fn)(int);

/* The next definition of name after ours (the C library's, or a
 * sanitizer's in front of it), looked up once: for every descriptor but
 * gRPC's. */
static void *
rpc_guard_next(_Atomic(void *) *cache, const char *name)
{
    void *f = atomic_load_explicit(cache, memory_order_acquire);

    if (!f) {
        f = dlsym(RTLD_NEXT, name);
        atomic_store_explicit(cache, f, memory_order_release);
    }
    return f;
}

static struct rpc_guard_conn *
rpc_guard_get(int fd)
{
    int n = atomic_load_explicit(&rpc_guard_nfds, memory_order_acquire);

    if (fd < 0 || fd >= n)
        return NULL;
    return atomic_load_explicit(&rpc_guard_conns[fd], memory_order_acquire);
}

static void
rpc_guard_peer(int fd, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;

            inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(out, outlen, "%s:%d", host, port);
}

/* Frees a connection's state after its last read and write. NULL is a
 * no-op. */
static void
rpc_guard_free(struct rpc_guard_conn *c)
{
    if (c) {
        rpc_guard_take(c);
        rpc_guard_give(c);
        pthread_mutex_destroy(&c->held);
        free(c);
    }
}

void
rpc_guard_open(int fd)
{
    int n = atomic_load_explicit(&rpc_guard_nfds, memory_order_acquire);
    struct rpc_guard_conn *c;

    struct rpc_guard_conn *old;

    if (fd < 0 || fd >= n || !(c = malloc(sizeof *c)))
        return;
    pthread_mutex_init(&c->held, NULL);
    c->idle_closed = false;
    h2scan_init(&c->scan, clock_coarse_ms());
    rpc_guard_peer(fd, c->peer, sizeof c->peer);
    pthread_mutex_lock(&rpc_guard_mu);
    old =
        atomic_exchange_explicit(&rpc_guard_conns[fd], c, memory_order_acq_rel);
    if (fd >= rpc_guard_top)
        rpc_guard_top = fd + 1;
    pthread_mutex_unlock(&rpc_guard_mu);
    rpc_guard_free(old);
}

/* GOAWAY (RFC 9113, 6.8): no stream after last_stream was or will be
 * processed. Left out when the socket has no room for it. */
static void
rpc_guard_goaway(int fd, uint32_t last_stream)
{
    uint8_t f[RPC_GUARD_GOAWAY_LEN] = {0, 0, 12, 0x7, 0, 0, 0, 0, 0};

    f[9] = (uint8_t)(last_stream >> 24 & 0x7f);
    f[10] = (uint8_t)(last_stream >> 16);
    f[11] = (uint8_t)(last_stream >> 8);
    f[12] = (uint8_t)last_stream;
    memcpy(f + 17, "idle", 4);
    (void)!syscall(SYS_sendto, fd, f, sizeof f, MSG_DONTWAIT | MSG_NOSIGNAL,
                   NULL, 0);
}

/* True while the socket still holds reply bytes the client has not taken. */
static bool
rpc_guard_sending(int fd)
{
    int unsent = 0;

    return syscall(SYS_ioctl, fd, SIOCOUTQ, &unsent) == 0 && unsent > 0;
}

/* Closes fd's connection if no stream of it is open, it has had no call
 * frame for the idle limit and it sends nothing. Called with rpc_guard_mu
 * held. */
static void
rpc_guard_check_idle(int fd, uint64_t now)
{
    struct rpc_guard_conn *c =
        atomic_load_explicit(&rpc_guard_conns[fd], memory_order_acquire);
    uint64_t last;

    if (!c)
        return;
    rpc_guard_take(c);
    last = c->scan.call_ms;
    if (!c->idle_closed && c->scan.verdict == H2SCAN_OK &&
        !h2scan_busy(&c->scan) && now >= last &&
        now - last >= rpc_guard_idle_ms && !rpc_guard_sending(fd)) {
        c->idle_closed = true;
        lifecycle_note_idle_closed();
        log_debug(NULL, "closing gRPC connection from %s: no call for %llu s",
                  c->peer, (unsigned long long)((now - last) / 1000));
        rpc_guard_goaway(fd, c->scan.last_stream);
        shutdown(fd, SHUT_RDWR);
    }
    rpc_guard_give(c);
}

/* One slice of the idle sweep (cleanup.h): true when the pass is done. */
static bool
rpc_guard_sweep(void *arg)
{
    uint64_t now = clock_coarse_ms();
    int fd, end;
    bool done;

    (void)arg;
    pthread_mutex_lock(&rpc_guard_mu);
    fd = rpc_guard_sweep_next;
    end = rpc_guard_top - fd > RPC_GUARD_SWEEP_SLICE
              ? fd + RPC_GUARD_SWEEP_SLICE
              : rpc_guard_top;
    for (; fd < end; fd++)
        rpc_guard_check_idle(fd, now);
    done = end >= rpc_guard_top;
    rpc_guard_sweep_next = done ? 0 : end;
    pthread_mutex_unlock(&rpc_guard_mu);
    return done;
}

/* The scanner objected: one line a second at most, then shut down. */
static void
rpc_guard_refuse(int fd, struct rpc_guard_conn *c)
{
    int64_t now = (int64_t)(clock_coarse_ms() / 1000);
    int64_t last = atomic_load(&rpc_guard_last_log_s);

    if (now != last &&
        atomic_compare_exchange_strong(&rpc_guard_last_log_s, &last, now))
        log_warn(NULL, "closing gRPC connection from %s: %s", c->peer,
                 h2scan_verdict_text(c->scan.verdict));
    shutdown(fd, SHUT_RDWR);
}

/* Feeds the n bytes just read into msg's buffers (sent: just written from
 * them) to the scanner; false when it objects to what was read. */
static bool
rpc_guard_scan(struct rpc_guard_conn *c, const struct msghdr *msg, size_t n,
               bool sent)
{
    uint64_t now = clock_coarse_ms();

    for (size_t i = 0; i < msg->msg_iovlen && n > 0; i++) {
        size_t len = msg->msg_iov[i].iov_len < n ? msg->msg_iov[i].iov_len : n;

        if (sent)
            h2scan_sent(&c->scan, msg->msg_iov[i].iov_base, len, now);
        else if (h2scan_feed(&c->scan, msg->msg_iov[i].iov_base, len, now) !=
                 H2SCAN_OK)
            return false;
        n -= len;
    }
    return true;
}

ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
    static _Atomic(void *) next;
    struct rpc_guard_conn *c = rpc_guard_get(fd);
    rpc_recvmsg_fn f;
    bool refused;
    ssize_t n;

    if (!c) {
        if (!(f = (rpc_recvmsg_fn)rpc_guard_next(&next, "recvmsg"))) {
            errno = ENOSYS;
            return -1;
        }
        return f(fd, msg, flags);
    }
    rpc_guard_take(c);
    refused = c->scan.verdict != H2SCAN_OK;
    if (c->idle_closed) {
        n = 0;
    } else if (!refused) {
        n = syscall(SYS_recvmsg, fd, msg, flags);
        if (n > 0 && !(flags & (MSG_PEEK | MSG_ERRQUEUE)) &&
            atomic_load_explicit(&rpc_guard_scanning, memory_order_relaxed) &&
            !rpc_guard_scan(c, msg, (size_t)n, false)) {
            rpc_guard_refuse(fd, c);
            refused = true;
        }
    }
    rpc_guard_give(c);
    if (refused) {
        errno = ECONNRESET;
        return -1;
    }
    return n;
}

ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
    static _Atomic(void *) next;
    struct rpc_guard_conn *c = rpc_guard_get(fd);
    rpc_sendmsg_fn f;
    ssize_t n;

    if (!c) {
        if (!(f = (rpc_sendmsg_fn)rpc_guard_next(&next, "sendmsg"))) {
            errno = ENOSYS;
            return -1;
        }
        return f(fd, msg, flags);
    }
    if (!atomic_load_explicit(&rpc_guard_scanning, memory_order_relaxed))
        return syscall(SYS_sendmsg, fd, msg, flags); /* TLS: nothing read */
    /* Held across the write, so that the streams it ends are scanned
     * before any the client opens in answer to it. */
    rpc_guard_take(c);
    n = syscall(SYS_sendmsg, fd, msg, flags);
    if (n > 0)
        (void)rpc_guard_scan(c, msg, (size_t)n, true);
    rpc_guard_give(c);
    return n;
}

int
close(int fd)
{
    static _Atomic(void *) next;
    int n = atomic_load_explicit(&rpc_guard_nfds, memory_order_acquire);
    struct rpc_guard_conn *c = NULL;
    rpc_close_fn f;

    if (fd >= 0 && fd < n &&
        atomic_load_explicit(&rpc_guard_conns[fd], memory_order_acquire)) {
        pthread_mutex_lock(&rpc_guard_mu);
        c = atomic_exchange_explicit(&rpc_guard_conns[fd], NULL,
                                     memory_order_acq_rel);
        pthread_mutex_unlock(&rpc_guard_mu);
    }
    if (c) {
        rpc_guard_free(c);
        return (int)syscall(SYS_close, fd);
    }
    if (!(f = (rpc_close_fn)rpc_guard_next(&next, "close"))) {
        errno = ENOSYS;
        return -1;
    }
    return f(fd);
}

int
rpc_guard_start(int max_fds, bool scan, uint32_t idle_s)
{
    if (max_fds > RPC_GUARD_MAX_FDS)
        max_fds = RPC_GUARD_MAX_FDS;
    rpc_guard_idle_ms = (uint64_t)idle_s * 1000;
    if (scan) {
        rpc_guard_sweeper = cleanup_start(idle_s >= 20 ? idle_s / 10 : 1,
                                          rpc_guard_sweep, NULL);
        if (!rpc_guard_sweeper)
            return -1;
    }
    atomic_store_explicit(&rpc_guard_scanning, scan, memory_order_relaxed);
    atomic_store_explicit(&rpc_guard_nfds, max_fds > 0 ? max_fds : 0,
                          memory_order_release);
    return 0;
}

void
rpc_guard_stop(void)
{
    cleanup_stop(rpc_guard_sweeper);
    rpc_guard_sweeper = NULL;
    atomic_store(&rpc_guard_nfds, 0);
    pthread_mutex_lock(&rpc_guard_mu);
    for (int i = 0; i < rpc_guard_top; i++)
        rpc_guard_free(atomic_exchange(&rpc_guard_conns[i], NULL));
    rpc_guard_top = 0;
    rpc_guard_sweep_next = 0;
    pthread_mutex_unlock(&rpc_guard_mu);
}
