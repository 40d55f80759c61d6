/*
 * client.h: the gRPC client side shared by tiny-cache-cli and
 * tiny-cache-bench: channel creation (plain or TLS), the registered methods
 * of cache.CacheService and grpc.health.v1.Health, a blocking unary call
 * with a deadline, and request/response encoding on the generated
 * protobuf-c code.
 *
 * Call client_global_init() once before anything else and
 * client_global_fini() after every channel is destroyed.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "rpc_methods.h"

#define CLIENT_REQUEST_ID_MAX 64

/*
 * Where and how to connect. Strings are borrowed for client_create() only.
 * cacert, cert and key are PEM file paths (NULL: unset); cert and key go
 * together. tls_name overrides the name checked against the server's
 * certificate. own_connection gives the channel a connection of its own
 * instead of sharing one with other channels to the same target;
 * minimal_stack drops the filters a load generator does not need (it also
 * drops deadline enforcement: use it with infinite deadlines only).
 */
struct client_opts {
    const char *host;
    const char *port;
    bool tls;
    const char *cacert;
    const char *cert;
    const char *key;
    const char *tls_name;
    bool own_connection;
    bool minimal_stack;
};

/* One channel and its registered method handles; opaque. */
struct client;

#define CLIENT_UNARY_OPS 6
/* Metadata entries a call sends at most: x-request-id, x-cache-namespace,
 * x-cache-route. */
#define CLIENT_UNARY_MD 3

/*
 * The metadata the tools send with a call; NULL fields are not sent.
 * Strings are borrowed for client_unary_set_meta() or client_unary() only.
 */
struct client_meta {
    const char *request_id; /* x-request-id */
    const char *ns;         /* x-cache-namespace */
    const char *route;      /* x-cache-route: the node, behind HAProxy */
};

/* One unary call's batch: its six operations (send initial metadata, send
 * message, close, receive initial metadata, message and status) and the
 * buffers they point at, which it owns. Fill send (and ops[1]'s
 * send_message) before starting the batch. The metadata sent, if any, is
 * set once and kept from call to call until client_unary_fini(). */
struct client_unary {
    grpc_op ops[CLIENT_UNARY_OPS];
    grpc_metadata md[CLIENT_UNARY_MD]; /* ops[0] sends the first n_md */
    size_t n_md;
    grpc_metadata_array initial;
    grpc_metadata_array trailing;
    grpc_byte_buffer *send;
    grpc_byte_buffer *recv;
    grpc_status_code status;
    grpc_slice details;
};

/* Zeroes u and points its operations at its own buffers. */
void client_unary_init(struct client_unary *u);
/* Makes every call of u send meta's entries (copied) instead of none. */
void client_unary_set_meta(struct client_unary *u,
                           const struct client_meta *meta);
/*
 * Makes u's calls send route (referenced) as their x-cache-route, in place
 * of the one client_unary_set_meta() gave; u must have been given one.
 */
void client_unary_set_route(struct client_unary *u, grpc_slice route);
/*
 * The status of u's last call as the server gave it, except that an OK
 * without a response message is INTERNAL, as other gRPC clients have it:
 * a unary call is answered one message (a trailers-only OK comes from a
 * broken server or proxy).
 */
grpc_status_code client_unary_status(const struct client_unary *u);
/* Frees what the last call filled (and send); u is ready for the next. */
void client_unary_reset(struct client_unary *u);
/* Frees everything u holds; init it again before any other use. */
void client_unary_fini(struct client_unary *u);

/*
 * Outcome of one call. details is malloc'd and NUL-terminated (may be
 * empty); body holds the response message of an OK call (an OK that came
 * without one is made INTERNAL) and is owned by the reply, NULL otherwise;
 * request_id is the server's x-request-id, or "".
 */
struct client_reply {
    grpc_status_code status;
    char *details;
    uint8_t *body;
    size_t body_len;
    char request_id[CLIENT_REQUEST_ID_MAX + 1];
};

/* Why o's TLS options do not go together (the files and the name only
 * with tls, a certificate with its key), or NULL when they do. */
const char *client_opts_tls_error(const struct client_opts *o);

void client_global_init(void);
void client_global_fini(void);

/*
 * Create a channel to opts->host:opts->port. Returns NULL with a message in
 * err when a TLS file cannot be read; connection errors show up on calls.
 */
struct client *client_create(const struct client_opts *opts, char *err,
                             size_t errlen);
void client_destroy(struct client *c);

grpc_channel *client_channel(const struct client *c);

/*
 * Start a call of method m on completion queue cq. The caller starts its
 * batches and unrefs the call.
 */
grpc_call *client_call_create(struct client *c, enum rpc_method m,
                              grpc_completion_queue *cq, gpr_timespec deadline);

/*
 * Wait until the channel is connected or timeout_s passes. Returns 0 when
 * connected, -1 otherwise.
 */
int client_wait_connected(struct client *c, double timeout_s);

/*
 * Call m with the request bytes req (borrowed) and wait for the answer at
 * most timeout_s seconds, sending the metadata of meta (NULL: none).
 * Always fills reply; release it with client_reply_fini().
 */
void client_unary(struct client *c, enum rpc_method m, const uint8_t *req,
                  size_t req_len, const struct client_meta *meta,
                  double timeout_s, struct client_reply *reply);
void client_reply_fini(struct client_reply *reply);

/*
 * Encoders return a malloc'd buffer of *len bytes holding the packed
 * message, or NULL when out of memory.
 */
uint8_t *client_encode_key(const char *key, size_t key_len, size_t *len);
uint8_t *client_encode_item(const char *key, size_t key_len,
                            const uint8_t *value, size_t value_len,
                            int32_t ttl_s, size_t *len);
uint8_t *client_encode_health(const char *service, size_t *len);

/* A key, with a value and a TTL where the message has them; borrowed. */
struct client_item {
    const char *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
    int32_t ttl_s;
};

/* MultiCacheKeyRequest of the n keys of items (values ignored). */
uint8_t *client_encode_keys(const struct client_item *items, size_t n,
                            size_t *len);
/* MultiCacheItemRequest of the n items. */
uint8_t *client_encode_items(const struct client_item *items, size_t n,
                             size_t *len);
/* CompareAndSetRequest: item's value replaces expected (also borrowed). */
uint8_t *client_encode_cas(const struct client_item *item,
                           const uint8_t *expected, size_t expected_len,
                           size_t *len);
uint8_t *client_encode_increment(const char *key, size_t key_len, int64_t delta,
                                 int32_t ttl_s, size_t *len);
uint8_t *client_encode_touch(const char *key, size_t key_len, int32_t ttl_s,
                             size_t *len);

/* Slurp a file; malloc'd, NUL-terminated. NULL with errno on failure. */
char *client_read_file(const char *path, size_t *len);

#endif
