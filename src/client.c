/*
 * client.c: channels, registered methods and a blocking unary call on the
 * gRPC C core, shared by tiny-cache-cli and tiny-cache-bench.
 *
 * A unary call is one batch of six operations on a private pluck queue; the
 * core enforces the deadline, so the wait for the batch always ends.
 */
#include "tc_autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "cache_wire.pb-c.h"
#include "client.h"
#include "config_tls.h"
#include "grpc/health/v1/health.pb-c.h"
#include "grpc_tune.h"
#include "tc.h"

#define CLIENT_MAX_ARGS 8

/* A channel and the handles of its registered methods; immutable. */
struct client {
    grpc_channel *channel;
    void *methods[RPC_METHOD_COUNT]; /* NULL for RPC_UNKNOWN */
};

void
client_global_init(void)
{
    grpc_tune_libraries();
    grpc_init();
}

void
client_global_fini(void)
{
    /* Blocking: gRPC's plain shutdown may finish on a thread of its own
     * that outlives the process's exit (ThreadSanitizer calls it a leak). */
    grpc_shutdown_blocking();
}

char *
client_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap = cap * 2 + 8192);
            if (nb == NULL)
                goto fail;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

const char *
client_opts_tls_error(const struct client_opts *o)
{
    if (!o->tls && (o->cacert || o->cert || o->key || o->tls_name))
        return "--cacert, --cert, --key and --tls-name need --tls";
    if ((o->cert == NULL) != (o->key == NULL))
        return "--cert and --key go together";
    return NULL;
}

/*
 * Credentials for opts: insecure, or TLS with the given root and key pair.
 * NULL with a message in err when a file cannot be read or is refused as
 * the daemon refuses its own (config_tls.h): gRPC would take it and fail
 * every call UNAVAILABLE, as if the server could not be reached.
 */
static grpc_channel_credentials *
client_credentials(const struct client_opts *opts, char *err, size_t errlen)
{
    const struct config_tls_file cert_file = {opts->cert, "--cert"},
                                 key_file = {opts->key, "--key"},
                                 ca_file = {opts->cacert, "--cacert"};
    grpc_ssl_pem_key_cert_pair pair = {NULL, NULL};
    grpc_channel_credentials *creds = NULL;
    char *root = NULL, *cert = NULL, *key = NULL;
    const char *bad = NULL;

    if (!opts->tls)
        return grpc_insecure_credentials_create();
    if (!config_tls_check_files(&cert_file, &key_file, &ca_file, err, errlen))
        return NULL;
    if (opts->cacert != NULL &&
        (root = client_read_file(opts->cacert, NULL)) == NULL)
        bad = opts->cacert;
    else if (opts->cert != NULL &&
             (cert = client_read_file(opts->cert, NULL)) == NULL)
        bad = opts->cert;
    else if (opts->key != NULL &&
             (key = client_read_file(opts->key, NULL)) == NULL)
        bad = opts->key;
    if (bad != NULL) {
        snprintf(err, errlen, "%s: %s", bad, strerror(errno));
    } else {
        pair.private_key = key;
        pair.cert_chain = cert;
        creds =
            grpc_ssl_credentials_create(root, cert ? &pair : NULL, NULL, NULL);
        if (creds == NULL)
            snprintf(err, errlen, "cannot create TLS credentials");
    }
    free(root);
    free(cert);
    free(key);
    return creds;
}

static void
client_arg_int(grpc_arg *a, const char *key, int value)
{
    a->type = GRPC_ARG_INTEGER;
    a->key = (char *)key;
    a->value.integer = value;
}

static void
client_arg_str(grpc_arg *a, const char *key, const char *value)
{
    a->type = GRPC_ARG_STRING;
    a->key = (char *)key;
    a->value.string = (char *)value;
}

/* Fill args for opts; returns how many were set. */
static size_t
client_channel_args(const struct client_opts *opts, grpc_arg *args)
{
    size_t n = 0;

    client_arg_int(&args[n++], GRPC_ARG_ENABLE_RETRIES, 0);
    client_arg_int(&args[n++], GRPC_ARG_ENABLE_CHANNELZ, 0);
    client_arg_int(&args[n++], GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, -1);
    client_arg_str(&args[n++], GRPC_ARG_PRIMARY_USER_AGENT_STRING,
                   PACKAGE_NAME "/" PACKAGE_VERSION);
    if (opts->own_connection)
        client_arg_int(&args[n++], GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (opts->minimal_stack)
        client_arg_int(&args[n++], GRPC_ARG_MINIMAL_STACK, 1);
    if (opts->tls && opts->tls_name != NULL)
        client_arg_str(&args[n++], GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
                       opts->tls_name);
    return n;
}

struct client *
client_create(const struct client_opts *opts, char *err, size_t errlen)
{
    grpc_arg args[CLIENT_MAX_ARGS];
    grpc_channel_args chargs;
    grpc_channel_credentials *creds;
    struct client *c;
    char target[512];
    const char *host = opts->host;
    bool v6 = strchr(host, ':') != NULL && host[0] != '[';

    if (snprintf(target, sizeof target, v6 ? "[%s]:%s" : "%s:%s", host,
                 opts->port) >= (int)sizeof target) {
        snprintf(err, errlen, "host and port are longer than %zu bytes",
                 sizeof target - 1);
        return NULL;
    }
    if ((c = calloc(1, sizeof *c)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if ((creds = client_credentials(opts, err, errlen)) == NULL) {
        free(c);
        return NULL;
    }
    chargs.num_args = client_channel_args(opts, args);
    chargs.args = args;
    c->channel = grpc_channel_create(target, creds, &chargs);
    grpc_channel_credentials_release(creds);
    for (int m = 0; m < RPC_METHOD_COUNT; m++)
        if (rpc_method_path((enum rpc_method)m))
            c->methods[m] = grpc_channel_register_call(
                c->channel, rpc_method_path((enum rpc_method)m), NULL, NULL);
    return c;
}

void
client_destroy(struct client *c)
{
    if (c == NULL)
        return;
    grpc_channel_destroy(c->channel);
    free(c);
}

grpc_channel *
client_channel(const struct client *c)
{
    return c->channel;
}

grpc_call *
client_call_create(struct client *c, enum rpc_method m,
                   grpc_completion_queue *cq, gpr_timespec deadline)
{
    return grpc_channel_create_registered_call(c->channel, NULL,
                                               GRPC_PROPAGATE_DEFAULTS, cq,
                                               c->methods[m], deadline, NULL);
}

static gpr_timespec
client_deadline(double timeout_s)
{
    int64_t ms = (int64_t)(timeout_s * 1000.0 + 0.5);

    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                        gpr_time_from_millis(ms, GPR_TIMESPAN));
}

int
client_wait_connected(struct client *c, double timeout_s)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    gpr_timespec deadline = client_deadline(timeout_s);
    grpc_connectivity_state st;
    int rc = -1;

    st = grpc_channel_check_connectivity_state(c->channel, 1);
    while (st != GRPC_CHANNEL_READY && st != GRPC_CHANNEL_SHUTDOWN) {
        grpc_channel_watch_connectivity_state(c->channel, st, deadline, cq, c);
        grpc_event ev = grpc_completion_queue_next(
            cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type != GRPC_OP_COMPLETE || !ev.success)
            break;
        st = grpc_channel_check_connectivity_state(c->channel, 0);
        if (st == GRPC_CHANNEL_TRANSIENT_FAILURE)
            break;
    }
    if (st == GRPC_CHANNEL_READY)
        rc = 0;
    grpc_completion_queue_shutdown(cq);
    while (
        grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
            .type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    return rc;
}

/* Copy the x-request-id of md, if any, into out. */
static void
client_find_request_id(const grpc_metadata_array *md, char *out)
{
    static const char name[] = "x-request-id";

    for (size_t i = 0; i < md->count; i++) {
        grpc_slice k = md->metadata[i].key, v = md->metadata[i].value;
        size_t vlen = GRPC_SLICE_LENGTH(v);

        if (GRPC_SLICE_LENGTH(k) != sizeof name - 1 ||
            memcmp(GRPC_SLICE_START_PTR(k), name, sizeof name - 1) != 0)
            continue;
        if (vlen > CLIENT_REQUEST_ID_MAX)
            vlen = CLIENT_REQUEST_ID_MAX;
        memcpy(out, GRPC_SLICE_START_PTR(v), vlen);
        out[vlen] = '\0';
        return;
    }
}

/* Flatten bb (borrowed) into the reply's body. Returns 0 or -1. */
static int
client_take_body(grpc_byte_buffer *bb, struct client_reply *reply)
{
    grpc_byte_buffer_reader r;
    grpc_slice s;
    size_t n;

    if (!grpc_byte_buffer_reader_init(&r, bb))
        return -1;
    s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    n = GRPC_SLICE_LENGTH(s);
    reply->body = malloc(n ? n : 1);
    if (reply->body != NULL) {
        memcpy(reply->body, GRPC_SLICE_START_PTR(s), n);
        reply->body_len = n;
    }
    grpc_slice_unref(s);
    return reply->body != NULL ? 0 : -1;
}

/* One unary call's operations and the buffers they fill. */
void
client_unary_init(struct client_unary *u)
{
    grpc_op *op = u->ops;

    memset(u, 0, sizeof *u);
    grpc_metadata_array_init(&u->initial);
    grpc_metadata_array_init(&u->trailing);
    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    (++op)->op = GRPC_OP_SEND_MESSAGE;
    (++op)->op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    (++op)->op = GRPC_OP_RECV_INITIAL_METADATA;
    op->data.recv_initial_metadata.recv_initial_metadata = &u->initial;
    (++op)->op = GRPC_OP_RECV_MESSAGE;
    op->data.recv_message.recv_message = &u->recv;
    (++op)->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op->data.recv_status_on_client.trailing_metadata = &u->trailing;
    op->data.recv_status_on_client.status = &u->status;
    op->data.recv_status_on_client.status_details = &u->details;
}

/* Free the buffers of the last call; the metadata to send stays. */
static void
client_unary_release(struct client_unary *u)
{
    grpc_byte_buffer_destroy(u->send);
    grpc_byte_buffer_destroy(u->recv);
    u->send = u->recv = NULL;
    grpc_slice_unref(u->details);
    u->details = grpc_empty_slice();
    grpc_metadata_array_destroy(&u->initial);
    grpc_metadata_array_destroy(&u->trailing);
}

static void
client_unary_drop_meta(struct client_unary *u)
{
    for (size_t i = 0; i < u->n_md; i++) {
        grpc_slice_unref(u->md[i].key);
        grpc_slice_unref(u->md[i].value);
    }
    u->n_md = 0;
    u->ops[0].data.send_initial_metadata.count = 0;
}

/* Append one entry; key is a static string, value is copied. */
static void
client_unary_add_md(struct client_unary *u, const char *key, const char *value)
{
    grpc_metadata *md = &u->md[u->n_md++];

    md->key = grpc_slice_from_static_string(key);
    md->value = grpc_slice_from_copied_string(value);
}

void
client_unary_set_meta(struct client_unary *u, const struct client_meta *meta)
{
    client_unary_drop_meta(u);
    if (meta != NULL && meta->request_id != NULL)
        client_unary_add_md(u, "x-request-id", meta->request_id);
    if (meta != NULL && meta->ns != NULL)
        client_unary_add_md(u, "x-cache-namespace", meta->ns);
    if (meta != NULL && meta->route != NULL)
        client_unary_add_md(u, "x-cache-route", meta->route);
    u->ops[0].data.send_initial_metadata.count = u->n_md;
    u->ops[0].data.send_initial_metadata.metadata = u->md;
}

void
client_unary_set_route(struct client_unary *u, grpc_slice route)
{
    static const char name[] = "x-cache-route";

    for (size_t i = 0; i < u->n_md; i++) {
        grpc_slice k = u->md[i].key;

        if (GRPC_SLICE_LENGTH(k) == sizeof name - 1 &&
            memcmp(GRPC_SLICE_START_PTR(k), name, sizeof name - 1) == 0) {
            grpc_slice_unref(u->md[i].value);
            u->md[i].value = grpc_slice_ref(route);
            return;
        }
    }
}

void
client_unary_fini(struct client_unary *u)
{
    client_unary_release(u);
    client_unary_drop_meta(u);
}

void
client_unary_reset(struct client_unary *u)
{
    client_unary_release(u);
    grpc_metadata_array_init(&u->initial);
    grpc_metadata_array_init(&u->trailing);
}

static void
client_batch_init(struct client_unary *b, const uint8_t *req, size_t req_len,
                  const struct client_meta *meta)
{
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)req, req_len);

    client_unary_init(b);
    b->send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    b->ops[1].data.send_message.send_message = b->send;
    client_unary_set_meta(b, meta);
}

static void
client_reply_error(struct client_reply *reply, grpc_status_code code,
                   const char *msg)
{
    reply->status = code;
    reply->details = strdup(msg);
}

grpc_status_code
client_unary_status(const struct client_unary *u)
{
    if (u->status == GRPC_STATUS_OK && u->recv == NULL)
        return GRPC_STATUS_INTERNAL;
    return u->status;
}

/* Fill reply from a completed batch, its status client_unary_status()'s. */
static void
client_batch_reply(struct client_unary *b, struct client_reply *reply)
{
    client_find_request_id(&b->trailing, reply->request_id);
    client_find_request_id(&b->initial, reply->request_id);
    if (client_unary_status(b) != b->status) {
        client_reply_error(reply, client_unary_status(b),
                           "the server answered OK without a response");
        return;
    }
    reply->status = b->status;
    reply->details = strndup((const char *)GRPC_SLICE_START_PTR(b->details),
                             GRPC_SLICE_LENGTH(b->details));
    if (b->status == GRPC_STATUS_OK && client_take_body(b->recv, reply) != 0) {
        free(reply->details);
        client_reply_error(reply, GRPC_STATUS_RESOURCE_EXHAUSTED,
                           "out of memory reading the response");
    }
}

void
client_unary(struct client *c, enum rpc_method m, const uint8_t *req,
             size_t req_len, const struct client_meta *meta, double timeout_s,
             struct client_reply *reply)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    struct client_unary b;
    grpc_call *call;
    grpc_event ev;

    memset(reply, 0, sizeof *reply);
    client_batch_init(&b, req, req_len, meta);
    call = client_call_create(c, m, cq, client_deadline(timeout_s));
    if (grpc_call_start_batch(call, b.ops, TC_ARRAY_LEN(b.ops), &b, NULL) !=
        GRPC_CALL_OK) {
        client_reply_error(reply, GRPC_STATUS_INTERNAL,
                           "the call could not be started");
    } else {
        ev = grpc_completion_queue_pluck(
            cq, &b, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_OP_COMPLETE)
            client_batch_reply(&b, reply);
        else
            client_reply_error(reply, GRPC_STATUS_INTERNAL,
                               "the call did not complete");
    }
    grpc_call_unref(call);
    client_unary_fini(&b);
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
}

void
client_reply_fini(struct client_reply *reply)
{
    free(reply->details);
    free(reply->body);
    reply->details = NULL;
    reply->body = NULL;
    reply->body_len = 0;
}

/* Pack m into a malloc'd buffer of *len bytes; NULL when out of memory. */
static uint8_t *
client_pack(const ProtobufCMessage *m, size_t *len)
{
    uint8_t *buf;

    *len = protobuf_c_message_get_packed_size(m);
    if ((buf = malloc(*len ? *len : 1)) != NULL)
        protobuf_c_message_pack(m, buf);
    return buf;
}

static ProtobufCBinaryData
client_bytes(const void *p, size_t n)
{
    return (ProtobufCBinaryData){.len = n, .data = (uint8_t *)p};
}

uint8_t *
client_encode_key(const char *key, size_t key_len, size_t *len)
{
    Cache__CacheKey m = CACHE__CACHE_KEY__INIT;

    m.key = client_bytes(key, key_len);
    return client_pack(&m.base, len);
}

/* Fill m from it; the message borrows its buffers. */
static void
client_item_msg(Cache__CacheItem *m, const struct client_item *it)
{
    cache__cache_item__init(m);
    m->key = client_bytes(it->key, it->key_len);
    m->value = client_bytes(it->value, it->value_len);
    m->ttl = it->ttl_s;
}

uint8_t *
client_encode_item(const char *key, size_t key_len, const uint8_t *value,
                   size_t value_len, int32_t ttl_s, size_t *len)
{
    struct client_item it = {key, key_len, value, value_len, ttl_s};
    Cache__CacheItem m;

    client_item_msg(&m, &it);
    return client_pack(&m.base, len);
}

uint8_t *
client_encode_health(const char *service, size_t *len)
{
    Grpc__Health__V1__HealthCheckRequest m =
        GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;

    m.service = (char *)service;
    return client_pack(&m.base, len);
}

uint8_t *
client_encode_keys(const struct client_item *items, size_t n, size_t *len)
{
    Cache__MultiCacheKeyRequest m = CACHE__MULTI_CACHE_KEY_REQUEST__INIT;
    uint8_t *buf;

    if ((m.keys = calloc(n ? n : 1, sizeof *m.keys)) == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        m.keys[i] = client_bytes(items[i].key, items[i].key_len);
    m.n_keys = n;
    buf = client_pack(&m.base, len);
    free(m.keys);
    return buf;
}

uint8_t *
client_encode_items(const struct client_item *items, size_t n, size_t *len)
{
    Cache__MultiCacheItemRequest m = CACHE__MULTI_CACHE_ITEM_REQUEST__INIT;
    Cache__CacheItem *msgs = calloc(n ? n : 1, sizeof *msgs);
    uint8_t *buf = NULL;

    m.items = calloc(n ? n : 1, sizeof *m.items);
    if (msgs != NULL && m.items != NULL) {
        for (size_t i = 0; i < n; i++) {
            client_item_msg(&msgs[i], &items[i]);
            m.items[i] = &msgs[i];
        }
        m.n_items = n;
        buf = client_pack(&m.base, len);
    }
    free(m.items);
    free(msgs);
    return buf;
}

uint8_t *
client_encode_cas(const struct client_item *item, const uint8_t *expected,
                  size_t expected_len, size_t *len)
{
    Cache__CompareAndSetRequest m = CACHE__COMPARE_AND_SET_REQUEST__INIT;

    m.key = client_bytes(item->key, item->key_len);
    m.expected_value = client_bytes(expected, expected_len);
    m.value = client_bytes(item->value, item->value_len);
    m.ttl = item->ttl_s;
    return client_pack(&m.base, len);
}

uint8_t *
client_encode_increment(const char *key, size_t key_len, int64_t delta,
                        int32_t ttl_s, size_t *len)
{
    Cache__IncrementRequest m = CACHE__INCREMENT_REQUEST__INIT;

    m.key = client_bytes(key, key_len);
    m.delta = delta;
    m.ttl = ttl_s;
    return client_pack(&m.base, len);
}

uint8_t *
client_encode_touch(const char *key, size_t key_len, int32_t ttl_s, size_t *len)
{
    Cache__TouchRequest m = CACHE__TOUCH_REQUEST__INIT;

    m.key = client_bytes(key, key_len);
    m.ttl = ttl_s;
    return client_pack(&m.base, len);
}
