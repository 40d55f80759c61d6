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
/* EXTEND_TIMEOUT_USEC= seconds, with status as STATUS=: a long snapshot
 * load or save asks for that much more time past the unit's start or stop
 * timeout, counted from now, and says how far it is. */
void notify_extend(unsigned seconds, const char *status);

#endif
