/*
 * notify.h: service manager notifications (sd_notify) for Type=notify units.
 * Without NOTIFY_SOCKET in the environment every call is a no-op.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

/* READY=1 (with STATUS=), once the server serves gRPC and HTTP. */
void notify_ready(void);
/* STOPPING=1, the moment shutdown begins. */
void notify_stopping(void);

#endif
