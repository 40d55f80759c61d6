/*
 * bench_wire.h: the protobuf bytes of tiny-cache-bench's requests, written
 * by hand, and a scan of its batch calls' answers that counts what it needs
 * without decoding them. No gRPC, no allocation: the caller owns every
 * buffer.
 *
 * A bench key is a prefix then the key's number as BENCH_KEY_DIGITS
 * decimal digits, at most BENCH_WIRE_KEY_MAX bytes, so its length is one
 * byte on the wire.
 */
#ifndef BENCH_WIRE_H
#define BENCH_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_KEY_DIGITS     12
#define BENCH_KEY_PREFIX_MAX 100
#define BENCH_WIRE_KEY_MAX   (BENCH_KEY_PREFIX_MAX + BENCH_KEY_DIGITS)

/* The prefix every key starts with; borrowed. */
struct bench_wire_keys {
    const char *prefix;
    size_t prefix_len; /* at most BENCH_KEY_PREFIX_MAX */
};

/*
 * Field 1 of a CacheKey or CacheItem holding key number k, which is also
 * one key of a MultiCacheKeyRequest: bench_wire_key_size() bytes written
 * at p. Returns the end of what was written.
 */
size_t bench_wire_key_size(const struct bench_wire_keys *keys);
uint8_t *bench_wire_put_key(uint8_t *p, const struct bench_wire_keys *keys,
                            uint64_t k);

/* The tag and length of field 2 (value) of a CacheItem; its value_len
 * bytes follow. */
size_t bench_wire_value_header_size(size_t value_len);
uint8_t *bench_wire_put_value_header(uint8_t *p, size_t value_len);

/*
 * One item of a MultiCacheItemRequest up to its value: the item's tag and
 * length, the key of number k and the value's header. Its value_len bytes
 * follow.
 */
size_t bench_wire_item_header_size(const struct bench_wire_keys *keys,
                                   size_t value_len);
uint8_t *bench_wire_put_item_header(uint8_t *p,
                                    const struct bench_wire_keys *keys,
                                    uint64_t k, size_t value_len);

/* The answers bench_wire_scan() reads. */
enum bench_wire_answer {
    BENCH_WIRE_LOOKUPS, /* MultiCacheValueResponse */
    BENCH_WIRE_RESULTS, /* MultiCacheResponse */
};

/* What a batch answer says about its items. */
struct bench_wire_counts {
    uint64_t items;  /* results in the answer */
    uint64_t found;  /* lookups that found their key */
    uint64_t failed; /* results with an error (or a status other than OK) */
};

/*
 * Count the results of the answer p[0..n) of kind a into out. Returns 0, or
 * -1 when the bytes are not such a message (out is then partly filled).
 */
int bench_wire_scan(const uint8_t *p, size_t n, enum bench_wire_answer a,
                    struct bench_wire_counts *out);

#endif
