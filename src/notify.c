/*
 * notify.c: service manager notifications through libsystemd's sd_notify.
 *
 * sd_notify() sends nothing and returns 0 when NOTIFY_SOCKET is unset, so
 * outside a Type=notify unit every call here is a no-op. A message that
 * cannot be sent is logged and otherwise ignored: the daemon serves either
 * way, and the service manager applies its own start and stop timeouts.
 */
#include <string.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

static void
notify_send(const char *state)
{
    int rc;

    rc = sd_notify(0, state);
    if (rc < 0)
        log_warn(NULL, "sd_notify: cannot notify the service manager: %s",
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
