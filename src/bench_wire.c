/*
 * bench_wire.c: tiny-cache-bench's requests as protobuf bytes, and the
 * scan of its batch answers.
 *
 * Requests are a few fields before a value, so they are written directly:
 * a key is field 1, tag 0x0a, then its length (one byte) and its bytes; a
 * value is field 2, tag 0x12, then its length as a varint; an item of a
 * MultiCacheItemRequest is field 1 holding a CacheItem. A MultiGet's body
 * is its keys one after the other (repeated field 1), the same bytes as
 * that many CacheKey messages.
 *
 * Answers are walked field by field (varint, 64-bit, length-delimited and
 * 32-bit fields; anything else does not parse): for each result, field 2
 * (found, or the status) and the error field (4 in a CacheLookup, 3 in a
 * CacheOperationResult) decide how it counts. Nothing is copied.
 */
#include <stdbool.h>
#include <string.h>

#include "bench_wire.h"

#define BENCH_WIRE_TAG_KEY   0x0a /* field 1, length-delimited */
#define BENCH_WIRE_TAG_VALUE 0x12 /* field 2, length-delimited */
#define BENCH_WIRE_STATUS_OK 1    /* CacheStatus OK */

enum {
    BENCH_WIRE_VARINT = 0,
    BENCH_WIRE_I64 = 1,
    BENCH_WIRE_LEN = 2,
    BENCH_WIRE_I32 = 5,
};

static size_t
bench_wire_varint_len(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *
bench_wire_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

size_t
bench_wire_key_size(const struct bench_wire_keys *keys)
{
    return 2 + keys->prefix_len + BENCH_KEY_DIGITS;
}

uint8_t *
bench_wire_put_key(uint8_t *p, const struct bench_wire_keys *keys, uint64_t k)
{
    *p++ = BENCH_WIRE_TAG_KEY;
    *p++ = (uint8_t)(keys->prefix_len + BENCH_KEY_DIGITS);
    memcpy(p, keys->prefix, keys->prefix_len);
    p += keys->prefix_len + BENCH_KEY_DIGITS;
    for (int i = 1; i <= BENCH_KEY_DIGITS; i++, k /= 10)
        p[-i] = (uint8_t)('0' + k % 10);
    return p;
}

size_t
bench_wire_value_header_size(size_t value_len)
{
    return 1 + bench_wire_varint_len(value_len);
}

uint8_t *
bench_wire_put_value_header(uint8_t *p, size_t value_len)
{
    *p++ = BENCH_WIRE_TAG_VALUE;
    return bench_wire_put_varint(p, value_len);
}

/* The length of a CacheItem with a bench key and a value_len-byte value. */
static size_t
bench_wire_item_len(const struct bench_wire_keys *keys, size_t value_len)
{
    return bench_wire_key_size(keys) + bench_wire_value_header_size(value_len) +
           value_len;
}

size_t
bench_wire_item_header_size(const struct bench_wire_keys *keys,
                            size_t value_len)
{
    size_t item = bench_wire_item_len(keys, value_len);

    return 1 + bench_wire_varint_len(item) + item - value_len;
}

uint8_t *
bench_wire_put_item_header(uint8_t *p, const struct bench_wire_keys *keys,
                           uint64_t k, size_t value_len)
{
    *p++ = BENCH_WIRE_TAG_KEY;
    p = bench_wire_put_varint(p, bench_wire_item_len(keys, value_len));
    p = bench_wire_put_key(p, keys, k);
    return bench_wire_put_value_header(p, value_len);
}

/* Read a varint at *p, before end. Returns false when it does not parse. */
static bool
bench_wire_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;

    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;

        x |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* One field as read: its number and wire type, then its value. */
struct bench_wire_field {
    uint64_t number;
    unsigned type;
    uint64_t varint;     /* a varint field's value */
    const uint8_t *data; /* any other field's bytes */
    size_t len;
};

/* Read the field at *p, before end. Returns false when it does not parse. */
static bool
bench_wire_get_field(const uint8_t **p, const uint8_t *end,
                     struct bench_wire_field *f)
{
    uint64_t tag, len;

    if (!bench_wire_get_varint(p, end, &tag) || (tag >> 3) == 0)
        return false;
    f->number = tag >> 3;
    f->type = (unsigned)(tag & 7);
    if (f->type == BENCH_WIRE_VARINT)
        return bench_wire_get_varint(p, end, &f->varint);
    if (f->type == BENCH_WIRE_I64)
        len = 8;
    else if (f->type == BENCH_WIRE_I32)
        len = 4;
    else if (f->type != BENCH_WIRE_LEN || !bench_wire_get_varint(p, end, &len))
        return false;
    if (len > (uint64_t)(end - *p))
        return false;
    f->data = *p;
    f->len = (size_t)len;
    *p += len;
    return true;
}

/* Count one CacheLookup or CacheOperationResult. Returns 0 or -1. */
static int
bench_wire_scan_item(const uint8_t *p, size_t n, enum bench_wire_answer a,
                     struct bench_wire_counts *out)
{
    const uint8_t *end = p + n;
    uint64_t error_field = a == BENCH_WIRE_LOOKUPS ? 4 : 3, flag = 0;
    struct bench_wire_field f;
    bool failed = false;

    while (p < end) {
        if (!bench_wire_get_field(&p, end, &f))
            return -1;
        if (f.number == 2 && f.type == BENCH_WIRE_VARINT)
            flag = f.varint;
        else if (f.number == error_field && f.type == BENCH_WIRE_LEN)
            failed = f.len > 0;
    }
    if (a == BENCH_WIRE_RESULTS && flag != BENCH_WIRE_STATUS_OK)
        failed = true;
    out->items++;
    if (failed)
        out->failed++;
    else if (a == BENCH_WIRE_LOOKUPS && flag != 0)
        out->found++;
    return 0;
}

int
bench_wire_scan(const uint8_t *p, size_t n, enum bench_wire_answer a,
                struct bench_wire_counts *out)
{
    const uint8_t *end = p + n;
    struct bench_wire_field f;

    memset(out, 0, sizeof *out);
    while (p < end) {
        if (!bench_wire_get_field(&p, end, &f))
            return -1;
        if (f.number == 1 && f.type == BENCH_WIRE_LEN &&
            bench_wire_scan_item(f.data, f.len, a, out) != 0)
            return -1;
    }
    return 0;
}
