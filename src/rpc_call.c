/*
 * rpc_call.c: one gRPC call's state machine and every buffer it owns.
 *
 * Methods are registered without payload handling, so gRPC hands a call
 * over as soon as its headers have arrived, before its message: every call
 * a client has started is one the server knows, which the drain at
 * shutdown relies on (see rpc_server.c).
 *
 * REQUESTED: a request is posted on the worker's queue. When its tag comes
 * back with success, a replacement request is posted first (unless gRPC is
 * shutting down), the x-request-id is taken or made, and a batch receiving
 * the request message is started. RECEIVING: when it completes, the body
 * (none at all if the client sent no message or the call was cancelled) is
 * checked against the receive limit and handed to the method's handler,
 * and one batch is started with the initial metadata, the reply message,
 * the status and RECV_CLOSE_ON_SERVER. SENDING: when that batch completes
 * the call is counted, logged at DEBUG and released. A BIDI method's call
 * (rpc_methods.h) goes from REQUESTED to STREAMING instead: each batch
 * sends the reply to the request before (the initial metadata the first
 * time) and receives the next request, handed to the handler in turn; once
 * the client half-closes, or a handler fails, the status batch ends it as
 * SENDING does. Each message is freed before the next batch starts, and
 * the call is counted once, for the whole stream. Unregistered methods,
 * and calls accepted while the server drains, are answered at once without
 * reading their message. rpc_call_release() is the one place a call's
 * memory is freed.
 *
 * Memory per call in flight: the request payload (at most max_value_bytes +
 * RPC_RECV_MARGIN_BYTES, plus its flattened copy when gRPC hands it over in
 * several slices), the decoded message (about the same again, since
 * protobuf-c copies bytes fields), and the reply (a Get's value plus a few
 * bytes: a value under 4 KiB is copied from the worker's scratch buffer
 * into it, a larger one is handed over in that buffer, not copied).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>

#include "bufpool.h"
#include "log.h"
#include "nsname.h"
#include "reqid.h"
#include "rpc_budget.h"
#include "rpc_cache.h"
#include "rpc_call.h"
#include "rpc_health.h"
#include "rpc_reflect.h"
#include "rpc_server.h"
#include "status_name.h"

/* Finished calls a worker keeps for reuse; more are freed. */
#define RPC_FREE_MAX    256
#define RPC_DETAILS_MAX 128

enum rpc_call_state {
    CALL_REQUESTED,
    CALL_RECEIVING,
    CALL_STREAMING,
    CALL_SENDING
};

/* Owned by its worker's thread. Fields below `call` are valid from the
 * request's success until rpc_call_release(). */
struct rpc_call {
    struct rpc_worker *w;
    struct rpc_call *next_free;
    enum rpc_method method; /* RPC_UNKNOWN: an unregistered method */
    enum rpc_call_state state;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md_in;
    grpc_call_details details; /* unregistered calls only */
    grpc_byte_buffer *payload;
    grpc_slice flat; /* payload copied into one slice, if needed */
    bool has_flat;
    grpc_byte_buffer *reply;
    grpc_metadata md_out;
    bool md_sent; /* the initial metadata is on its way */
    grpc_slice status_details;
    grpc_status_code code;
    int cancelled;
    bool late;            /* accepted while the server drains */
    bool streaming;       /* a stream being served (counted in w->streams) */
    const char *ns_error; /* why x-cache-namespace is refused; NULL: it is
                             absent, or sent once and well-formed */
    const char *ns;       /* into md_in: the namespace, nslen 0 for none */
    size_t nslen;
    bool expired;        /* cancelled for a reply not taken in time */
    char *peer;          /* gRPC's, for a budgeted reply (gpr_free) */
    size_t budget_bytes; /* taken from rpc_budget, 0 if none */
    uint64_t send_by_ns; /* budgeted reply: cancelled after this */
    struct rpc_call *tprev, *tnext; /* in w->tracked while budgeted */
    uint64_t start_ns;
    char reqid[REQID_MAX + 1];
    char key_log[RPC_KEY_LOG_MAX];
};

static const rpc_handler rpc_handlers[RPC_METHOD_COUNT] = {
#define RPC_CALL_HANDLER(name, path, label, kind, handler) handler,
    RPC_METHOD_TABLE(RPC_CALL_HANDLER)
#undef RPC_CALL_HANDLER
};

static const enum rpc_kind rpc_kinds[RPC_METHOD_COUNT] = {
#define RPC_CALL_KIND(name, path, label, kind, handler) RPC_KIND_##kind,
    RPC_METHOD_TABLE(RPC_CALL_KIND)
#undef RPC_CALL_KIND
};

static uint64_t
rpc_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
rpc_counter_add(_Atomic int64_t *c, int64_t d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
                          memory_order_release);
}

/* Gives a budgeted reply's bytes back and leaves the tracked list. */
static void
rpc_call_untrack(struct rpc_call *c)
{
    rpc_budget_give(c->peer, c->budget_bytes);
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        c->w->tracked = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
}

/* Frees the request message received and the reply sent, if any. */
static void
rpc_call_drop_messages(struct rpc_call *c)
{
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->has_flat)
        grpc_slice_unref(c->flat);
    if (c->reply)
        grpc_byte_buffer_destroy(c->reply);
    c->payload = NULL;
    c->has_flat = false;
    c->reply = NULL;
}

/* Frees everything the call holds and returns it to its worker. */
static void
rpc_call_release(struct rpc_call *c)
{
    struct rpc_worker *w = c->w;

    grpc_metadata_array_destroy(&c->md_in);
    if (!rpc_handlers[c->method]) /* an unregistered call */
        grpc_call_details_destroy(&c->details);
    rpc_call_drop_messages(c);
    grpc_slice_unref(c->md_out.value);
    grpc_slice_unref(c->status_details);
    if (c->budget_bytes)
        rpc_call_untrack(c);
    gpr_free(c->peer);
    if (c->call) {
        grpc_call_unref(c->call);
        rpc_counter_add(&w->live, -1);
        if (c->late)
            rpc_counter_add(&w->late, -1);
        if (c->streaming)
            rpc_counter_add(&w->streams, -1);
        reqstats_active(w->stats, -1);
    }
    if (w->nfree >= RPC_FREE_MAX) {
        free(c);
        return;
    }
    c->next_free = w->free_calls;
    w->free_calls = c;
    w->nfree++;
}

static struct rpc_call *
rpc_call_take(struct rpc_worker *w, enum rpc_method m)
{
    struct rpc_call *c = w->free_calls;

    if (c) {
        w->free_calls = c->next_free;
        w->nfree--;
    } else if (!(c = malloc(sizeof *c))) {
        return NULL;
    }
    memset(c, 0, offsetof(struct rpc_call, reqid));
    c->reqid[0] = '\0';
    c->key_log[0] = '\0';
    c->w = w;
    c->method = m;
    c->state = CALL_REQUESTED;
    c->md_out.value = grpc_empty_slice();
    c->status_details = grpc_empty_slice();
    grpc_metadata_array_init(&c->md_in);
    if (m == RPC_UNKNOWN)
        grpc_call_details_init(&c->details);
    return c;
}

int
rpc_call_post(struct rpc_worker *w, enum rpc_method m)
{
    struct rpc_call *c = rpc_call_take(w, m);
    grpc_call_error e;

    if (!c)
        return -1;
    if (m == RPC_UNKNOWN)
        e = grpc_server_request_call(w->server, &c->call, &c->details,
                                     &c->md_in, w->cq, w->cq, c);
    else
        e = grpc_server_request_registered_call(
            w->server, w->methods[m], &c->call, &c->deadline, &c->md_in, NULL,
            w->cq, w->cq, c);
    if (e != GRPC_CALL_OK) {
        rpc_call_release(c);
        return -1;
    }
    rpc_counter_add(&w->posted, 1);
    return 0;
}

/* Takes x-request-id from the client's metadata, or makes one, and reads
 * x-cache-namespace. */
static void
rpc_call_metadata(struct rpc_call *c)
{
    bool have_id = false, have_ns = false;

    c->ns_error = NULL;
    for (size_t i = 0; i < c->md_in.count; i++) {
        const grpc_metadata *md = &c->md_in.metadata[i];
        const char *v = (const char *)GRPC_SLICE_START_PTR(md->value);
        size_t n = GRPC_SLICE_LENGTH(md->value);

        if (!have_id && grpc_slice_str_cmp(md->key, "x-request-id") == 0) {
            reqid_accept_or_make(v, n, c->reqid);
            have_id = true;
        } else if (grpc_slice_str_cmp(md->key, "x-cache-namespace") == 0) {
            /* two entries would be one "a,b" value over HTTP: refused as
             * that is, whichever comes first */
            if (have_ns)
                c->ns_error = "x-cache-namespace must be sent once";
            else if (!nsname_parse(v, n, &c->ns, &c->nslen))
                c->ns_error = "x-cache-namespace must be 1 to 64 characters "
                              "of A-Z a-z 0-9 _ . -, the first a letter or a "
                              "digit";
            have_ns = true;
        }
    }
    if (!have_id)
        reqid_make(c->reqid);
}

/*
 * gRPC, not built with ThreadSanitizer here, may drop a slice on one of its
 * own threads, ordered after the worker's writes by locks and atomics that
 * ThreadSanitizer cannot see. The release at the hand-over and the acquire
 * before the buffer goes back to the pool tell it that order; without
 * ThreadSanitizer they are nothing.
 */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RPC_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define RPC_TSAN 1
#endif
#ifdef RPC_TSAN
#include <sanitizer/tsan_interface.h>
#define RPC_HANDED_OVER(p) __tsan_release(p)
#define RPC_TAKEN_BACK(p)  __tsan_acquire(p)
#else
#define RPC_HANDED_OVER(p) ((void)(p))
#define RPC_TAKEN_BACK(p)  ((void)(p))
#endif

/* gRPC's destroy callback of rpc_slice_give()'s slices. */
static void
rpc_slice_free(void *p)
{
    RPC_TAKEN_BACK(p);
    bufpool_give(p);
}

grpc_slice
rpc_slice_give(void *p, size_t n)
{
    RPC_HANDED_OVER(p);
    return grpc_slice_new(p, n, rpc_slice_free);
}

bool
rpc_slice_alloc(size_t n, grpc_slice *s)
{
    size_t cap;
    void *p;

    if (n < BUFPOOL_MIN) {
        *s = grpc_slice_malloc(n);
        return true;
    }
    if (!(p = bufpool_take(n, &cap)) && !(p = malloc(n)))
        return false;
    *s = rpc_slice_give(p, n);
    return true;
}

/* The slices of sb copied into one new slice, false when out of memory. */
static bool
rpc_call_flatten(const grpc_slice_buffer *sb, grpc_slice *flat)
{
    uint8_t *p;

    if (!rpc_slice_alloc(sb->length, flat))
        return false;
    p = GRPC_SLICE_START_PTR(*flat);
    for (size_t i = 0; i < sb->count; i++) {
        memcpy(p, GRPC_SLICE_START_PTR(sb->slices[i]),
               GRPC_SLICE_LENGTH(sb->slices[i]));
        p += GRPC_SLICE_LENGTH(sb->slices[i]);
    }
    return true;
}

/* The request body as one contiguous range, flattening when needed (a
 * compressed message, or one that cannot be copied into a buffer of ours,
 * through gRPC's reader). */
static const uint8_t *
rpc_call_body(struct rpc_call *c, size_t *len)
{
    grpc_byte_buffer *bb = c->payload;
    const grpc_slice_buffer *sb;
    grpc_byte_buffer_reader r;
    bool raw;

    *len = 0;
    if (!bb)
        return NULL;
    raw = bb->type == GRPC_BB_RAW &&
          bb->data.raw.compression == GRPC_COMPRESS_NONE;
    sb = &bb->data.raw.slice_buffer;
    if (raw && sb->count == 0)
        return NULL;
    if (raw && sb->count == 1) {
        *len = GRPC_SLICE_LENGTH(sb->slices[0]);
        return GRPC_SLICE_START_PTR(sb->slices[0]);
    }
    if (!raw || !rpc_call_flatten(sb, &c->flat)) {
        if (!grpc_byte_buffer_reader_init(&r, bb))
            return NULL;
        c->flat = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
    }
    c->has_flat = true;
    *len = GRPC_SLICE_LENGTH(c->flat);
    return GRPC_SLICE_START_PTR(c->flat);
}

/* Answers an unregistered method: UNIMPLEMENTED, the path logged as key. */
static void
rpc_call_unregistered(struct rpc_call *c, struct rpc_reply *rep)
{
    for (int m = 0; m < RPC_METHOD_COUNT; m++)
        if (!rpc_handlers[m] && rpc_method_path((enum rpc_method)m) &&
            grpc_slice_str_cmp(c->details.method,
                               rpc_method_path((enum rpc_method)m)) == 0)
            c->method = (enum rpc_method)m;
    rep->code = GRPC_STATUS_UNIMPLEMENTED;
    /* The method path stands in for the key in the DEBUG line. */
    rpc_reply_key_log(rep, GRPC_SLICE_START_PTR(c->details.method),
                      GRPC_SLICE_LENGTH(c->details.method));
}

/* Runs the method's handler on the message received, if there is one. */
static void
rpc_call_dispatch(struct rpc_call *c, struct rpc_reply *rep)
{
    struct rpc_worker *w = c->w;
    struct rpc_request req;

    if (!c->payload) {
        /* The stream ended or was reset before a whole message came. */
        rep->code = GRPC_STATUS_INVALID_ARGUMENT;
        rep->details = "request message missing";
        return;
    }
    if (grpc_byte_buffer_length(c->payload) >
        w->cfg->max_value_bytes + RPC_RECV_MARGIN_BYTES) {
        rep->code = GRPC_STATUS_RESOURCE_EXHAUSTED;
        rep->details = "request too large";
        return;
    }
    if (c->ns_error != NULL && rpc_method_is_cache(c->method)) {
        rep->code = GRPC_STATUS_INVALID_ARGUMENT;
        rep->details = c->ns_error;
        return;
    }
    req.body = rpc_call_body(c, &req.len);
    req.ns = c->ns;
    req.nslen = c->nslen;
    rpc_handlers[c->method](w, &req, rep);
}

/* Status details: the handler's text, or for INTERNAL only the request id. */
static void
rpc_call_details(struct rpc_call *c, const struct rpc_reply *rep)
{
    char text[RPC_DETAILS_MAX];

    if (rep->code == GRPC_STATUS_INTERNAL) {
        snprintf(text, sizeof text, "Internal server error (request_id=%s)",
                 c->reqid);
        c->status_details = grpc_slice_from_copied_string(text);
        log_warn(c->reqid, "%s failed: %s", rpc_method_label(c->method),
                 rep->details ? rep->details : "internal error");
    } else if (rep->details) {
        c->status_details = grpc_slice_from_static_string(rep->details);
    }
}

/* The message of rep: its body, then its tail if any. */
static size_t
rpc_reply_bytes(const struct rpc_reply *rep)
{
    return GRPC_SLICE_LENGTH(rep->body) +
           (rep->has_tail ? GRPC_SLICE_LENGTH(rep->tail) : 0);
}

/* Gives rep's message to a new byte buffer (NULL: none) and drops rep's
 * references to it. */
static grpc_byte_buffer *
rpc_reply_take(struct rpc_reply *rep, bool keep)
{
    grpc_slice s[2] = {rep->body, rep->tail};
    grpc_byte_buffer *bb =
        keep ? grpc_raw_byte_buffer_create(s, rep->has_tail ? 2 : 1) : NULL;

    if (rep->has_body)
        grpc_slice_unref(rep->body);
    if (rep->has_tail)
        grpc_slice_unref(rep->tail);
    rep->has_body = rep->has_tail = false;
    return bb;
}

/* Fills op with the initial metadata (x-request-id), unless it is sent
 * already; returns the number of ops filled. */
static size_t
rpc_call_initial_metadata(struct rpc_call *c, grpc_op *op)
{
    if (c->md_sent)
        return 0;
    c->md_sent = true;
    c->md_out.key = grpc_slice_from_static_string("x-request-id");
    c->md_out.value = grpc_slice_from_copied_string(c->reqid);
    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    op->data.send_initial_metadata.count = 1;
    op->data.send_initial_metadata.metadata = &c->md_out;
    return 1;
}

/* Builds the reply batch from rep and starts it. */
static grpc_call_error
rpc_call_send(struct rpc_call *c, struct rpc_reply *rep)
{
    grpc_op ops[4];
    size_t n = 0;

    memset(ops, 0, sizeof ops);
    c->code = rep->code;
    memcpy(c->key_log, rep->key_log, sizeof c->key_log);
    n += rpc_call_initial_metadata(c, &ops[n]);
    c->reply =
        rpc_reply_take(rep, rep->has_body && rep->code == GRPC_STATUS_OK);
    if (c->reply) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = c->reply;
    }
    rpc_call_details(c, rep);
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = rep->code;
    ops[n++].data.send_status_from_server.status_details =
        GRPC_SLICE_LENGTH(c->status_details) ? &c->status_details : NULL;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
    c->state = CALL_SENDING;
    return grpc_call_start_batch(c->call, ops, n, c, NULL);
}

/* The reply batch completed: count, log at DEBUG, release. */
static void
rpc_call_finish(struct rpc_call *c)
{
    struct rpc_worker *w = c->w;
    uint64_t us = (rpc_now_ns() - c->start_ns) / 1000;
    unsigned code = c->expired     ? GRPC_STATUS_DEADLINE_EXCEEDED
                    : c->cancelled ? GRPC_STATUS_CANCELLED
                                   : (unsigned)c->code;

    reqstats_record(w->stats, c->method, code, us);
    if (log_enabled(LOG_DEBUG)) {
        char *peer = grpc_call_get_peer(c->call);

        log_write(LOG_DEBUG, c->reqid,
                  "%s %s=\"%s\" peer=%s duration_us=%llu result=%s",
                  rpc_method_label(c->method),
                  !rpc_handlers[c->method] ? "path" : "key", c->key_log, peer,
                  (unsigned long long)us, status_name((int)code));
        gpr_free(peer);
    }
    rpc_call_release(c);
}

/* Starts the reply batch; a call whose batch cannot start is counted as
 * cancelled and released. */
static void
rpc_call_answer(struct rpc_call *c, struct rpc_reply *rep)
{
    if (rpc_call_send(c, rep) != GRPC_CALL_OK) {
        log_error(c->reqid, "cannot start the reply batch");
        c->cancelled = 1;
        rpc_call_finish(c);
    }
}

/* Posts again the requests that could not be posted before. */
static void
rpc_call_repost(struct rpc_worker *w)
{
    for (int m = 0; m < RPC_METHOD_COUNT; m++)
        while (w->unposted[m] > 0 && rpc_call_post(w, (enum rpc_method)m) == 0)
            w->unposted[m]--;
}

/* Keeps the worker's requests posted: a replacement for the one that
 * brought call c, and any that failed before. */
static void
rpc_call_replace(struct rpc_call *c, enum rpc_phase phase)
{
    struct rpc_worker *w = c->w;

    if (phase == RPC_PHASE_CLOSING)
        return;
    if (rpc_call_post(w, c->method) != 0) {
        if (w->unposted[c->method] < UINT8_MAX)
            w->unposted[c->method]++;
        log_error(NULL, "cannot post a new %s request; will retry",
                  rpc_method_label(c->method));
        return;
    }
    rpc_call_repost(w);
}

/* A large reply takes its bytes from the budget (rpc_budget.h) and joins
 * the tracked list, or is replaced by RESOURCE_EXHAUSTED. */
static void
rpc_call_budget(struct rpc_call *c, struct rpc_reply *rep)
{
    size_t n = rpc_reply_bytes(rep);

    if (!rep->has_body || rep->code != GRPC_STATUS_OK ||
        n < RPC_BUDGET_TRACK_BYTES)
        return;
    c->peer = grpc_call_get_peer(c->call);
    if (!rpc_budget_take(c->peer, n)) {
        rpc_reply_take(rep, false);
        rep->code = GRPC_STATUS_RESOURCE_EXHAUSTED;
        rep->details = "too many large replies waiting to be read; retry";
        return;
    }
    c->budget_bytes = n;
    c->send_by_ns = c->start_ns + rpc_budget_timeout_s(n) * 1000000000ull;
    c->tprev = NULL;
    c->tnext = c->w->tracked;
    if (c->tnext)
        c->tnext->tprev = c;
    c->w->tracked = c;
}

/* The message of a call accepted normally has arrived (or never will). */
static void
rpc_call_received(struct rpc_call *c)
{
    struct rpc_reply rep;

    memset(&rep, 0, sizeof rep);
    rpc_call_dispatch(c, &rep);
    rpc_call_budget(c, &rep);
    rpc_call_answer(c, &rep);
}

/* Starts the batch that receives the request message. */
static void
rpc_call_receive(struct rpc_call *c)
{
    grpc_op op;

    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->payload;
    c->state = CALL_RECEIVING;
    if (grpc_call_start_batch(c->call, &op, 1, c, NULL) != GRPC_CALL_OK)
        rpc_call_received(c);
}

/* Starts a stream's next batch: the initial metadata the first time, the
 * reply to the request before (rep, when it has a body) and the receipt
 * of the next request. One batch at a time, so a client that does not
 * read its replies stops being read: a stream holds one reply at most. */
static void
rpc_stream_next(struct rpc_call *c, struct rpc_reply *rep)
{
    grpc_op ops[3];
    size_t n = 0;

    memset(ops, 0, sizeof ops);
    n += rpc_call_initial_metadata(c, &ops[n]);
    if (rep && rep->has_body) {
        memcpy(c->key_log, rep->key_log, sizeof c->key_log);
        c->reply = rpc_reply_take(rep, true);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = c->reply;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n++].data.recv_message.recv_message = &c->payload;
    c->state = CALL_STREAMING;
    if (grpc_call_start_batch(c->call, ops, n, c, NULL) != GRPC_CALL_OK) {
        log_error(c->reqid, "cannot start a stream's batch");
        c->cancelled = 1;
        rpc_call_finish(c);
    }
}

/* A stream's batch completed: answer the request that came, or end the
 * stream with OK once the client has half-closed (or the call is gone), or
 * with the handler's error. */
static void
rpc_stream_received(struct rpc_call *c)
{
    struct rpc_reply rep;

    memset(&rep, 0, sizeof rep);
    if (c->reply) {
        grpc_byte_buffer_destroy(c->reply);
        c->reply = NULL;
    }
    if (c->payload)
        rpc_call_dispatch(c, &rep);
    else
        rep.code = GRPC_STATUS_OK;
    rpc_call_drop_messages(c);
    if (rep.code == GRPC_STATUS_OK && rep.has_body)
        rpc_stream_next(c, &rep);
    else
        rpc_call_answer(c, &rep);
}

/* Serves a stream from its first request on; the drain does not wait for
 * it (rpc_server.c). */
static void
rpc_stream_start(struct rpc_call *c)
{
    c->streaming = true;
    rpc_counter_add(&c->w->streams, 1);
    rpc_stream_next(c, NULL);
}

/* A new call: keep the requests posted, take its id, then receive its
 * message, or answer at once (unregistered method, server draining). */
static void
rpc_call_accept(struct rpc_call *c)
{
    struct rpc_worker *w = c->w;
    enum rpc_phase phase = atomic_load_explicit(w->phase, memory_order_acquire);
    struct rpc_reply rep;

    c->start_ns = rpc_now_ns();
    rpc_counter_add(&w->live, 1);
    reqstats_active(w->stats, 1);
    rpc_call_replace(c, phase);
    rpc_call_metadata(c);
    memset(&rep, 0, sizeof rep);
    if (c->method == RPC_UNKNOWN) {
        rpc_call_unregistered(c, &rep);
    } else if (phase != RPC_PHASE_SERVING && c->method != RPC_HEALTH_CHECK) {
        c->late = true;
        rpc_counter_add(&w->late, 1);
        rpc_counter_add(&w->late_seen, 1);
        rep.code = GRPC_STATUS_UNAVAILABLE;
        rep.details = "server shutting down";
    } else if (rpc_kinds[c->method] == RPC_KIND_BIDI) {
        rpc_stream_start(c);
        return;
    } else {
        rpc_call_receive(c);
        return;
    }
    rpc_call_answer(c, &rep);
}

void
rpc_call_on_tag(struct rpc_call *c, bool ok)
{
    switch (c->state) {
    case CALL_SENDING:
        rpc_call_finish(c);
        return;
    case CALL_RECEIVING:
        rpc_call_received(c);
        return;
    case CALL_STREAMING:
        rpc_stream_received(c);
        return;
    case CALL_REQUESTED:
        break;
    }
    rpc_counter_add(&c->w->posted, -1);
    if (!ok) {
        /* Shutdown: the request is withdrawn; never re-post here. */
        c->call = NULL;
        rpc_call_release(c);
        return;
    }
    rpc_call_accept(c);
}

void
rpc_call_expire(struct rpc_worker *w)
{
    uint64_t now = rpc_now_ns();

    for (struct rpc_call *c = w->tracked; c; c = c->tnext) {
        if (c->expired || now < c->send_by_ns)
            continue;
        c->expired = true;
        grpc_call_cancel_with_status(c->call, GRPC_STATUS_DEADLINE_EXCEEDED,
                                     "reply not read in time", NULL);
    }
}

bool
rpc_call_registered(enum rpc_method m)
{
    return (unsigned)m < RPC_METHOD_COUNT && rpc_handlers[m] != NULL;
}

void
rpc_call_free_list(struct rpc_worker *w)
{
    while (w->free_calls) {
        struct rpc_call *c = w->free_calls;

        w->free_calls = c->next_free;
        free(c);
    }
    w->nfree = 0;
}

void
rpc_reply_key_log(struct rpc_reply *out, const void *key, size_t klen)
{
    if (log_enabled(LOG_DEBUG))
        log_escape(key, klen, 64, out->key_log, sizeof out->key_log);
}
