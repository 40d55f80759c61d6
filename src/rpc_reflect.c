/*
 * rpc_reflect.c: answers one ServerReflectionRequest (rpc_reflect.h).
 *
 * The index of the embedded descriptors is built at the first request and
 * read-only afterwards. Replies are encoded by hand (rpc_wire.h), with the
 * field numbers of grpc/reflection/v1/reflection.proto:
 *   ServerReflectionRequest: host 1, file_by_filename 3,
 *       file_containing_symbol 4, file_containing_extension 5,
 *       all_extension_numbers_of_type 6, list_services 7 (one of 3..7)
 *   ServerReflectionResponse: valid_host 1, original_request 2,
 *       file_descriptor_response 4 {repeated bytes file_descriptor_proto 1},
 *       all_extension_numbers_response 5 {base_type_name 1},
 *       list_services_response 6 {repeated ServiceResponse service 1
 *       {name 1}}, error_response 7 {error_code 1, error_message 2}
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "reflect.h"
#include "rpc_reflect.h"
#include "rpc_wire.h"

enum {
    REQ_HOST = 1,
    REQ_FILE_BY_FILENAME = 3,
    REQ_FILE_CONTAINING_SYMBOL = 4,
    REQ_FILE_CONTAINING_EXTENSION = 5,
    REQ_ALL_EXTENSION_NUMBERS = 6,
    REQ_LIST_SERVICES = 7,
    RESP_VALID_HOST = 1,
    RESP_ORIGINAL_REQUEST = 2,
    RESP_FILE_DESCRIPTORS = 4,
    RESP_EXTENSION_NUMBERS = 5,
    RESP_LIST_SERVICES = 6,
    RESP_ERROR = 7,
};

/* A request, read in place. */
struct rpc_reflect_req {
    const uint8_t *host;
    size_t hostlen;
    uint32_t which; /* the REQ_ field set, 0 for none */
    const uint8_t *arg;
    size_t arglen;
};

/* The inner message of a reply: field `field` of the response, len bytes
 * at data (malloc'd). */
struct rpc_reflect_inner {
    uint32_t field;
    uint8_t *data;
    size_t len;
};

static struct reflect_index rpc_reflect_ix;
static bool rpc_reflect_ready;
static pthread_once_t rpc_reflect_once = PTHREAD_ONCE_INIT;

static void
rpc_reflect_load(void)
{
    rpc_reflect_ready =
        reflect_index_build(&rpc_reflect_ix, reflect_set, reflect_set_len) == 0;
}

static bool
rpc_reflect_decode(const uint8_t *p, size_t n, struct rpc_reflect_req *r)
{
    struct rpc_wire_in in;
    uint32_t field, type;
    const uint8_t *v;
    size_t vlen;

    memset(r, 0, sizeof *r);
    rpc_wire_in_init(&in, p, n);
    while (rpc_wire_next(&in, &field, &type)) {
        if (field != REQ_HOST &&
            (field < REQ_FILE_BY_FILENAME || field > REQ_LIST_SERVICES)) {
            if (!rpc_wire_skip(&in, type))
                return false;
            continue;
        }
        if (!rpc_wire_bytes(&in, type, &v, &vlen))
            return false;
        if (field == REQ_HOST) {
            r->host = v;
            r->hostlen = vlen;
        } else {
            r->which = field; /* one of: the last one wins */
            r->arg = v;
            r->arglen = vlen;
        }
    }
    return !in.error;
}

/* error_response; false when memory runs out. */
static bool
rpc_reflect_error(struct rpc_reflect_inner *in, grpc_status_code code,
                  const char *msg)
{
    size_t mlen = strlen(msg);
    uint8_t *p;

    in->field = RESP_ERROR;
    if (!(in->data =
              malloc(1 + RPC_WIRE_VARINT_MAX + rpc_wire_len_field_len(mlen))))
        return false;
    p = rpc_wire_put_tag(in->data, 1, RPC_WIRE_VARINT);
    p = rpc_wire_put_varint(p, (uint64_t)code);
    p = rpc_wire_put_len_field(p, 2, msg, mlen);
    in->len = (size_t)(p - in->data);
    return true;
}

/* file_descriptor_response with file and every file it imports. */
static bool
rpc_reflect_files(struct rpc_reflect_inner *in, size_t file)
{
    const struct reflect_index *ix = &rpc_reflect_ix;
    size_t *order = malloc(ix->nfiles * sizeof *order), n, len = 0;
    uint8_t *p;

    if (!order)
        return false;
    n = reflect_closure(ix, file, order);
    for (size_t i = 0; i < n; i++)
        len += rpc_wire_len_field_len(ix->files[order[i]].len);
    in->field = RESP_FILE_DESCRIPTORS;
    if ((in->data = p = malloc(len)) != NULL)
        for (size_t i = 0; i < n; i++)
            p = rpc_wire_put_len_field(p, 1, ix->files[order[i]].proto,
                                       ix->files[order[i]].len);
    in->len = len;
    free(order);
    return in->data != NULL;
}

/* The service of a method path "/service/Method": its name and length. */
static size_t
rpc_reflect_service(enum rpc_method m, const char **name)
{
    const char *path = rpc_method_path(m);

    if (!path)
        return 0;
    *name = path + 1;
    return (size_t)(strrchr(path, '/') - *name);
}

/* True when a method before m names the same service as m. */
static bool
rpc_reflect_listed(enum rpc_method m)
{
    const char *name, *other;
    size_t n = rpc_reflect_service(m, &name);

    for (int i = 0; i < (int)m; i++)
        if (rpc_reflect_service((enum rpc_method)i, &other) == n &&
            memcmp(name, other, n) == 0)
            return true;
    return false;
}

/* list_services_response, from the table of methods. */
static bool
rpc_reflect_services(struct rpc_reflect_inner *in)
{
    const char *name;
    size_t n, len = 0;
    uint8_t *p = NULL;

    for (int pass = 0; pass < 2; pass++) {
        for (int m = 0; m < RPC_METHOD_COUNT; m++) {
            n = rpc_reflect_service((enum rpc_method)m, &name);
            if (n == 0 || rpc_reflect_listed((enum rpc_method)m))
                continue;
            if (pass == 0) {
                len += rpc_wire_len_field_len(rpc_wire_len_field_len(n));
                continue;
            }
            p = rpc_wire_put_tag(p, 1, RPC_WIRE_LEN);
            p = rpc_wire_put_varint(p, rpc_wire_len_field_len(n));
            p = rpc_wire_put_len_field(p, 1, name, n);
        }
        if (pass == 0 && !(in->data = p = malloc(len)))
            return false;
    }
    in->field = RESP_LIST_SERVICES;
    in->len = len;
    return true;
}

/* all_extension_numbers_response for a known message: no extension. */
static bool
rpc_reflect_extensions(struct rpc_reflect_inner *in, const uint8_t *type,
                       size_t n)
{
    in->field = RESP_EXTENSION_NUMBERS;
    in->len = rpc_wire_len_field_len(n);
    if (!(in->data = malloc(in->len)))
        return false;
    rpc_wire_put_len_field(in->data, 1, type, n);
    return true;
}

/* The inner message answering r; false when memory runs out. */
static bool
rpc_reflect_answer(const struct rpc_reflect_req *r,
                   struct rpc_reflect_inner *in)
{
    const struct reflect_index *ix = &rpc_reflect_ix;
    const struct reflect_symbol *sym;
    long f;

    switch (r->which) {
    case REQ_LIST_SERVICES:
        return rpc_reflect_services(in);
    case REQ_FILE_BY_FILENAME:
        f = reflect_find_file(ix, (const char *)r->arg, r->arglen);
        return f >= 0 ? rpc_reflect_files(in, (size_t)f)
                      : rpc_reflect_error(in, GRPC_STATUS_NOT_FOUND,
                                          "file not found");
    case REQ_FILE_CONTAINING_SYMBOL:
        sym = reflect_find_symbol(ix, (const char *)r->arg, r->arglen);
        return sym ? rpc_reflect_files(in, sym->file)
                   : rpc_reflect_error(in, GRPC_STATUS_NOT_FOUND,
                                       "symbol not found");
    case REQ_FILE_CONTAINING_EXTENSION:
        return rpc_reflect_error(in, GRPC_STATUS_NOT_FOUND,
                                 "extension not found");
    case REQ_ALL_EXTENSION_NUMBERS:
        sym = reflect_find_symbol(ix, (const char *)r->arg, r->arglen);
        return sym && sym->kind == REFLECT_MESSAGE
                   ? rpc_reflect_extensions(in, r->arg, r->arglen)
                   : rpc_reflect_error(in, GRPC_STATUS_NOT_FOUND,
                                       "type not found");
    default:
        return rpc_reflect_error(in, GRPC_STATUS_UNIMPLEMENTED,
                                 "request type not supported");
    }
}

/* The response: valid_host, original_request, then the inner message. */
static grpc_slice
rpc_reflect_encode(const struct rpc_reflect_req *r, const uint8_t *req,
                   size_t reqlen, const struct rpc_reflect_inner *in)
{
    size_t len = (r->hostlen ? rpc_wire_len_field_len(r->hostlen) : 0) +
                 rpc_wire_len_field_len(reqlen) +
                 rpc_wire_len_field_len(in->len);
    grpc_slice s = grpc_slice_malloc(len);
    uint8_t *p = GRPC_SLICE_START_PTR(s);

    if (r->hostlen)
        p = rpc_wire_put_len_field(p, RESP_VALID_HOST, r->host, r->hostlen);
    p = rpc_wire_put_len_field(p, RESP_ORIGINAL_REQUEST, req, reqlen);
    rpc_wire_put_len_field(p, in->field, in->data, in->len);
    return s;
}

void
rpc_reflect_info(struct rpc_worker *w, const struct rpc_request *req,
                 struct rpc_reply *out)
{
    struct rpc_reflect_req r;
    struct rpc_reflect_inner in = {0};

    (void)w;
    pthread_once(&rpc_reflect_once, rpc_reflect_load);
    if (req->len > RPC_REFLECT_MAX_REQUEST) {
        out->code = GRPC_STATUS_RESOURCE_EXHAUSTED;
        out->details = "reflection request over 16 KiB";
        return;
    }
    if (!rpc_reflect_decode(req->body, req->len, &r)) {
        out->code = GRPC_STATUS_INVALID_ARGUMENT;
        out->details = "request body does not decode";
        return;
    }
    rpc_reply_key_log(out, r.arg, r.arglen);
    if (!rpc_reflect_ready || !rpc_reflect_answer(&r, &in)) {
        out->code = GRPC_STATUS_INTERNAL;
        out->details = rpc_reflect_ready ? "out of memory"
                                         : "embedded descriptors do not decode";
        free(in.data);
        return;
    }
    out->body = rpc_reflect_encode(&r, req->body, req->len, &in);
    out->has_body = true;
    out->code = GRPC_STATUS_OK;
    free(in.data);
}
