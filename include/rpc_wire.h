/*
 * rpc_wire.h: the protobuf wire format, by hand, for the messages on the
 * hot path (batches and the small replies): reading fields out of a
 * request in place, without allocating, and writing replies into a
 * caller's buffer.
 *
 * A reader never reads past its end: a varint of more than 10 bytes, a
 * length past the end, a group or an unknown wire type is an error, and
 * the reader then stays in error. Unknown fields are skipped, as protobuf
 * requires.
 */
#ifndef RPC_WIRE_H
#define RPC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RPC_WIRE_VARINT     0
#define RPC_WIRE_I64        1
#define RPC_WIRE_LEN        2
#define RPC_WIRE_I32        5
#define RPC_WIRE_VARINT_MAX 10

struct rpc_wire_in {
    const uint8_t *p, *end;
    bool error;
};

static inline void
rpc_wire_in_init(struct rpc_wire_in *in, const uint8_t *p, size_t n)
{
    in->p = p;
    in->end = p ? p + n : p; /* an empty body may come as NULL */
    in->error = false;
}

/* The next field's number and wire type: true, or false at the end of the
 * input or on an error (in->error then set). */
bool rpc_wire_next(struct rpc_wire_in *in, uint32_t *field, uint32_t *type);
/* The value of the field just announced, by its wire type; false on error
 * (a wire type other than the one asked for is an error too). */
bool rpc_wire_varint(struct rpc_wire_in *in, uint32_t type, uint64_t *v);
bool rpc_wire_bytes(struct rpc_wire_in *in, uint32_t type, const uint8_t **p,
                    size_t *n);
/* Skips the value of the field just announced; false on error. */
bool rpc_wire_skip(struct rpc_wire_in *in, uint32_t type);

/* A message's fields 1..RPC_WIRE_FIELDS_MAX, read in place: for each,
 * whether it was present, and its value (the last occurrence wins, as in
 * protobuf). Fields of other numbers are skipped. A bytes field absent
 * or empty points at an empty buffer, never NULL. */
#define RPC_WIRE_FIELDS_MAX 4
struct rpc_wire_fields {
    bool has[RPC_WIRE_FIELDS_MAX + 1];
    const uint8_t *bytes[RPC_WIRE_FIELDS_MAX + 1]; /* LEN fields */
    size_t len[RPC_WIRE_FIELDS_MAX + 1];
    uint64_t varint[RPC_WIRE_FIELDS_MAX + 1]; /* VARINT fields */
};

/* Reads the n bytes at p as a message whose field i (1..4) has wire type
 * types[i - 1] (RPC_WIRE_LEN or RPC_WIRE_VARINT; -1: not a field of the
 * message, skipped). false when the bytes do not decode, or a field of
 * the message comes with another wire type. */
bool rpc_wire_read_fields(const uint8_t *p, size_t n, const int types[4],
                          struct rpc_wire_fields *f);

/* The writers below are inline: a batch reply calls them for every item. */
/* Bytes a varint of v takes. */
static inline size_t
rpc_wire_varint_len(uint64_t v)
{
    /* 7 bits a byte: the bits v needs, rounded up to sevens */
    return v < 0x80 ? 1 : (size_t)(70 - __builtin_clzll(v)) / 7;
}

/* Bytes a length-delimited field of n bytes takes (fields 1..15). */
static inline size_t
rpc_wire_len_field_len(size_t n)
{
    return 1 + rpc_wire_varint_len(n) + n;
}

/* Writes a varint at p; returns the end. */
static inline uint8_t *
rpc_wire_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Writes a tag (fields 1..15) at p; returns the end. */
static inline uint8_t *
rpc_wire_put_tag(uint8_t *p, uint32_t field, uint32_t type)
{
    *p++ = (uint8_t)(field << 3 | type);
    return p;
}

/* Writes field's tag, n, and the n bytes at d (fields 1..15). */
static inline uint8_t *
rpc_wire_put_len_field(uint8_t *p, uint32_t field, const void *d, size_t n)
{
    p = rpc_wire_put_tag(p, field, RPC_WIRE_LEN);
    p = rpc_wire_put_varint(p, n);
    if (n > 0)
        memcpy(p, d, n);
    return p + n;
}

#endif
