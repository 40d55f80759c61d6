/*
 * notify.c: service manager notifications through libsystemd's sd_notify.
 *
 * sd_notify() sends nothing and returns 0 when NOTIFY_SOCKET is unset, so
 * outside a Type=notify unit every call here is a no-op. A message that
 * cannot be sent is logged and otherwise ignored: the daemon serves either
 * way, and the service manager applies its own start and stop timeouts.
 * Only the first failure is logged: a long load reports every second.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

#define NOTIFY_STATE_MAX 256

static atomic_bool notify_failed;

static void
notify_send(const char *state)
{
    int rc;

    rc = sd_notify(0, state);
    if (rc < 0 && !atomic_exchange(&notify_failed, true))
        log_warn(NULL,
                 "sd_notify: cannot notify the service manager: %s "
                 "(later failures are not logged)",
                 strerror(-rc));
}

void
notify_ready(void)
{
    notify_send("READY=1\nSTATUS=serving");
}

void
notify_stopping(void)
{
    notify_send("STOPPING=1\nSTATUS=shutting down");
}

void
notify_extend(unsigned seconds, const char *status)
{
    char state[NOTIFY_STATE_MAX];

    snprintf(state, sizeof state, "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=%s",
             (unsigned long long)seconds * 1000000ull, status);
    notify_send(state);
}
