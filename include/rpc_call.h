/*
 * rpc_call.h: one gRPC call from the request posted on a worker's
 * completion queue to the reply batch's completion, and the per-worker
 * state the calls share.
 *
 * A call is a tag whose state says which batch it waits for: REQUESTED (a
 * request posted for one method), RECEIVING (the request message),
 * STREAMING (a stream's last reply and next request) or SENDING (the
 * reply and status). Every buffer a call holds
 * (request payload, reply, metadata, status details) belongs to it and is
 * freed in one place when it completes or fails. Finished calls go back to
 * their worker's free list and are reused.
 */
#ifndef RPC_CALL_H
#define RPC_CALL_H

#include <grpc/grpc.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "reqstats.h"
#include "store.h"

#define RPC_KEY_LOG_MAX 100 /* escaped key in a DEBUG line, NUL included */

struct rpc_call;

/* One item of a request, read in place: a CacheItem (key 1, value 2, ttl
 * 3), or a key alone. Borrowed from the request for the call. */
struct rpc_item {
    const char *key;
    size_t klen;
    const uint8_t *val;
    size_t vlen;
    int32_t ttl_s;
};

/* Where the server is in its life; workers read it once per call. */
enum rpc_phase {
    RPC_PHASE_SERVING,  /* every call is served */
    RPC_PHASE_DRAINING, /* calls accepted from now on answer UNAVAILABLE;
                           calls accepted before are served to the end */
    RPC_PHASE_CLOSING,  /* gRPC shutdown called: requests are not re-posted */
};

/*
 * One worker thread's state. Only its thread writes it (its first requests
 * are posted by the thread itself). The counters at the end are stored by
 * that thread with release order and read by rpc_server_stop() to follow
 * the drain. The fields from server to posted_sem are set before the
 * thread starts and never change.
 */
struct rpc_worker {
    grpc_server *server;
    grpc_completion_queue *cq;
    void *const *methods; /* registered handles by rpc_method */
    const struct config *cfg;
    struct store *store;
    struct reqstats *stats;   /* this worker's own counters */
    const _Atomic int *phase; /* enum rpc_phase */
    sem_t *posted_sem;        /* posted once the first requests are */
    struct buf scratch;       /* Get values are copied here */
    struct buf out;           /* batch replies are built here */
    struct rpc_item *items;   /* a batch's items, items_cap of them */
    size_t items_cap;
    struct rpc_call *free_calls; /* finished calls kept for reuse */
    size_t nfree;
    struct rpc_call *tracked;           /* calls sending a budgeted reply */
    uint8_t unposted[RPC_METHOD_COUNT]; /* requests to post again */
    _Atomic int64_t posted;             /* requests posted, tag not yet back */
    _Atomic int64_t live;               /* calls accepted, not yet released */
    _Atomic int64_t late;               /* of those, accepted while draining */
    _Atomic int64_t late_seen;          /* calls ever accepted while draining */
    _Atomic int64_t streams; /* of the live calls, streams being served */
} __attribute__((aligned(TC_CACHELINE)));

/* What a method handler produces for one request. */
struct rpc_reply {
    grpc_status_code code; /* status to send */
    const char *details;   /* static text, or NULL; with INTERNAL only
                              logged, never sent */
    grpc_slice body;       /* the response message when has_body */
    grpc_slice tail;       /* when has_tail, the rest of the message after
                              body (a large value handed over, not copied) */
    bool has_body;
    bool has_tail;
    char key_log[RPC_KEY_LOG_MAX]; /* escaped key at DEBUG, else "" */
};

/* One request as a handler sees it, everything borrowed for the call:
 * the message (already checked against the receive limit; NULL and 0 when
 * empty) and the keyspace from x-cache-namespace (nslen 0: the shared one;
 * already validated). */
struct rpc_request {
    const uint8_t *body;
    size_t len;
    const char *ns;
    size_t nslen;
};

/* Handles one request and fills out. out->body, when set, then belongs to
 * the caller. */
typedef void (*rpc_handler)(struct rpc_worker *w, const struct rpc_request *req,
                            struct rpc_reply *out);

/* True for the methods the server registers (those with a handler in
 * rpc_methods.h); the others arrive as unregistered calls. */
bool rpc_call_registered(enum rpc_method m);
/* Posts a request for method m (RPC_UNKNOWN: any unregistered method) on
 * w's queue. 0, or -1 when gRPC refused it (nothing left posted). */
int rpc_call_post(struct rpc_worker *w, enum rpc_method m);
/* Advances the call whose tag came out of the queue with success ok. */
void rpc_call_on_tag(struct rpc_call *c, bool ok);
/* Cancels the calls whose budgeted reply has not been taken by its client
 * in time (rpc_budget.h). The worker calls it at least once a second while
 * w->tracked is not empty. */
void rpc_call_expire(struct rpc_worker *w);
/* Frees the worker's free list; call after its queue is drained. */
void rpc_call_free_list(struct rpc_worker *w);

/* An uninitialized slice of n bytes into *s (a reply body, a flattened
 * request), false when out of memory. From BUFPOOL_MIN bytes it is a
 * pooled buffer (bufpool.h), given back when gRPC lets go of the slice. */
bool rpc_slice_alloc(size_t n, grpc_slice *s);
/* A slice over the n bytes at p, a buffer of bufpool_take() or malloc()
 * that gRPC owns from here: it is given back to the pool (bufpool_give)
 * on whichever thread drops the slice's last reference. */
grpc_slice rpc_slice_give(void *p, size_t n);
/* Sets out->key_log to key escaped for a log line when DEBUG is on. */
void rpc_reply_key_log(struct rpc_reply *out, const void *key, size_t klen);

#endif
