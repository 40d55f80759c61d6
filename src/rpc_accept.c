/*
 * rpc_accept.c: keeps gRPC's listener accepting when the process runs out
 * of file descriptors.
 *
 * gRPC 1.51's TCP listener stops for good at the first accept4() error
 * other than EAGAIN, ECONNABORTED or EINTR: after one EMFILE it never polls
 * its socket again, and the port stays open with nobody accepting, while
 * everything else looks healthy. This file defines accept4() for the
 * process; libgrpc imports it from the C library by name, and a definition
 * in the executable comes first, so gRPC's calls arrive here. On the gRPC
 * port the system call is made here, for the reason rpc_guard.c gives;
 * other sockets go to the C library's accept4. When that fails with
 * EMFILE or ENFILE on the gRPC port, the oldest waiting connection is shed the
 * way memcached and nginx do it: close a descriptor kept in reserve for the
 * purpose, accept the connection and close it at once, reopen the reserve. The
 * call then reports EINTR, so that gRPC's loop calls again and sheds the next
 * one, until the backlog is empty (EAGAIN) and gRPC waits for the socket to
 * become readable again, as usual. Connections are taken again as soon as
 * descriptors are free. Other sockets (the HTTP endpoint's) get the error
 * as it is. A connection taken on the gRPC port is handed to the frame
 * watch (rpc_guard.c).
 *
 * Shed connections are counted in lifecycle.h (the metrics export the
 * count, and /health and /ready answer 503 while gRPC is turning
 * connections away) and logged at most once per second.
 *
 * State: rpc_accept_mu guards the reserve descriptor; the port and the time
 * of the last log line are atomics.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "lifecycle.h"
#include "log.h"
#include "rpc_accept.h"
#include "rpc_guard.h"

typedef int (*rpc_accept4_fn)(int, struct sockaddr *, socklen_t *, int);

static pthread_mutex_t rpc_accept_mu = PTHREAD_MUTEX_INITIALIZER;
static int rpc_accept_reserve = -1; /* guarded by rpc_accept_mu */
static _Atomic int rpc_accept_port; /* 0: not watching */
static _Atomic int64_t rpc_accept_last_log_s;

/* The system call, for the gRPC listener. */
static int
rpc_accept_real(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return (int)syscall(SYS_accept4, fd, addr, len, flags);
}

/* The next accept4 after ours (the C library's, or a sanitizer's in front
 * of it), for every other socket. */
static int
rpc_accept_next(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    static _Atomic(rpc_accept4_fn) next;
    rpc_accept4_fn f = atomic_load_explicit(&next, memory_order_acquire);

    if (!f) {
        f = (rpc_accept4_fn)dlsym(RTLD_NEXT, "accept4");
        if (!f) {
            errno = ENOSYS;
            return -1;
        }
        atomic_store_explicit(&next, f, memory_order_release);
    }
    return f(fd, addr, len, flags);
}

/* True when fd is a socket bound to the watched gRPC port. */
static bool
rpc_accept_is_grpc(int fd)
{
    int port = atomic_load_explicit(&rpc_accept_port, memory_order_relaxed);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (port == 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return false;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port) == port;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == port;
    return false;
}

static int
rpc_accept_open_reserve(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Sheds one waiting connection of listening socket fd. True when one was
 * shed; false when there was none, or no reserve to shed it with. */
static bool
rpc_accept_shed_one(int fd)
{
    bool shed = false;
    int c;

    pthread_mutex_lock(&rpc_accept_mu);
    if (rpc_accept_reserve < 0)
        rpc_accept_reserve = rpc_accept_open_reserve();
    if (rpc_accept_reserve >= 0) {
        close(rpc_accept_reserve);
        c = rpc_accept_real(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) {
            syscall(SYS_close, c); /* never gRPC's: made and gone here */
            shed = true;
        }
        rpc_accept_reserve = rpc_accept_open_reserve();
    }
    pthread_mutex_unlock(&rpc_accept_mu);
    return shed;
}

/* Counts a shed connection and logs at most once a second. */
static void
rpc_accept_note_shed(void)
{
    int64_t now = (int64_t)(clock_coarse_ms() / 1000);
    uint64_t n = lifecycle_note_refused(now);
    int64_t last = atomic_load(&rpc_accept_last_log_s);

    if (now != last &&
        atomic_compare_exchange_strong(&rpc_accept_last_log_s, &last, now))
        log_warn(NULL,
                 "out of file descriptors: gRPC connection refused "
                 "(%llu so far); raise the open-file limit",
                 (unsigned long long)n);
}

int
accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    int c;

    if (!rpc_accept_is_grpc(fd))
        return rpc_accept_next(fd, addr, len, flags);
    if ((c = rpc_accept_real(fd, addr, len, flags)) >= 0) {
        rpc_guard_open(c);
        return c;
    }
    if (errno != EMFILE && errno != ENFILE)
        return c;
    if (rpc_accept_shed_one(fd)) {
        rpc_accept_note_shed();
        errno = EINTR; /* gRPC calls again: shed or take the next one */
    } else {
        errno = EAGAIN; /* backlog empty, or no reserve: wait for the next */
    }
    return -1;
}

int
rpc_accept_start(int port)
{
    int fd = rpc_accept_open_reserve();

    if (fd < 0)
        return -1;
    pthread_mutex_lock(&rpc_accept_mu);
    if (rpc_accept_reserve >= 0)
        close(rpc_accept_reserve);
    rpc_accept_reserve = fd;
    pthread_mutex_unlock(&rpc_accept_mu);
    atomic_store(&rpc_accept_port, port);
    return 0;
}

void
rpc_accept_stop(void)
{
    atomic_store(&rpc_accept_port, 0);
    pthread_mutex_lock(&rpc_accept_mu);
    if (rpc_accept_reserve >= 0)
        close(rpc_accept_reserve);
    rpc_accept_reserve = -1;
    pthread_mutex_unlock(&rpc_accept_mu);
}
