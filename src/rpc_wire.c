/*
 * rpc_wire.c: the protobuf wire format helpers declared in rpc_wire.h.
 */
#include <string.h>

#include "rpc_wire.h"

/* Where an absent or empty bytes field points: never NULL, so that callers
 * may hand it to memcpy and memcmp. */
static const uint8_t rpc_wire_empty[1];

static bool
rpc_wire_fail(struct rpc_wire_in *in)
{
    in->error = true;
    in->p = in->end;
    return false;
}

/* A raw varint; false on error. */
static bool
rpc_wire_raw_varint(struct rpc_wire_in *in, uint64_t *v)
{
    uint64_t x = 0;

    for (unsigned i = 0; i < RPC_WIRE_VARINT_MAX; i++) {
        uint8_t b;

        if (in->p >= in->end)
            return rpc_wire_fail(in);
        b = *in->p++;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return rpc_wire_fail(in);
}

bool
rpc_wire_next(struct rpc_wire_in *in, uint32_t *field, uint32_t *type)
{
    uint64_t tag;

    if (in->error || in->p >= in->end)
        return false;
    if (!rpc_wire_raw_varint(in, &tag) || tag >> 32 || (tag >> 3) == 0)
        return rpc_wire_fail(in);
    *field = (uint32_t)(tag >> 3);
    *type = (uint32_t)(tag & 7);
    return true;
}

bool
rpc_wire_varint(struct rpc_wire_in *in, uint32_t type, uint64_t *v)
{
    if (type != RPC_WIRE_VARINT)
        return rpc_wire_fail(in);
    return rpc_wire_raw_varint(in, v);
}

bool
rpc_wire_bytes(struct rpc_wire_in *in, uint32_t type, const uint8_t **p,
               size_t *n)
{
    uint64_t len;

    if (type != RPC_WIRE_LEN || !rpc_wire_raw_varint(in, &len) ||
        len > (uint64_t)(in->end - in->p))
        return rpc_wire_fail(in);
    *p = in->p;
    *n = (size_t)len;
    in->p += len;
    return true;
}

bool
rpc_wire_skip(struct rpc_wire_in *in, uint32_t type)
{
    uint64_t v;
    const uint8_t *p;
    size_t n;

    switch (type) {
    case RPC_WIRE_VARINT:
        return rpc_wire_raw_varint(in, &v);
    case RPC_WIRE_LEN:
        return rpc_wire_bytes(in, type, &p, &n);
    case RPC_WIRE_I64:
    case RPC_WIRE_I32:
        n = type == RPC_WIRE_I64 ? 8 : 4;
        if ((size_t)(in->end - in->p) < n)
            return rpc_wire_fail(in);
        in->p += n;
        return true;
    default: /* groups (3, 4) and undefined types */
        return rpc_wire_fail(in);
    }
}

bool
rpc_wire_read_fields(const uint8_t *p, size_t n, const int types[4],
                     struct rpc_wire_fields *f)
{
    struct rpc_wire_in in;
    uint32_t field, type;

    memset(f, 0, sizeof *f);
    for (int i = 0; i <= RPC_WIRE_FIELDS_MAX; i++)
        f->bytes[i] = rpc_wire_empty;
    rpc_wire_in_init(&in, p, n);
    while (rpc_wire_next(&in, &field, &type)) {
        int want = field <= RPC_WIRE_FIELDS_MAX ? types[field - 1] : -1;
        bool ok;

        if (want < 0)
            ok = rpc_wire_skip(&in, type);
        else if (want == RPC_WIRE_LEN)
            ok = rpc_wire_bytes(&in, type, &f->bytes[field], &f->len[field]);
        else
            ok = rpc_wire_varint(&in, type, &f->varint[field]);
        if (!ok)
            return false;
        if (want >= 0)
            f->has[field] = true;
    }
    return !in.error;
}
