/*
 * snapshot_load.c: reading a snapshot file (layout in snapshot_format.h,
 * docs/snapshots.md) into the store.
 *
 * All or nothing. The whole file is checked before one entry is inserted:
 * magic, version, write time and the CRC-32C over everything first; then
 * every block's lengths, its decompression to exactly its raw length, every
 * record's structure and key, and the count of the end record. Only a
 * file that passes all of it is loaded, so a damaged one leaves the store
 * as it was. Compressed blocks are decompressed into one buffer that holds
 * them all until the load ends; stored ones are read where they are.
 *
 * Order and limits. The records are sorted by use stamp (a stable radix
 * sort on the bytes in which the stamps differ). Walking from the most
 * recently used down, each live entry is kept while the entries kept so
 * far, it included, fit max_items and max_memory_bytes (accounted as the
 * store will account them); the first one that does not, and every older
 * one, are dropped, so what stays is the most recent part of the cache.
 * An entry over max_value_bytes, or over the memory limit on its own, is
 * dropped by itself. The store's tables are sized for the entries kept,
 * then those are inserted oldest first, each becoming the most recently
 * used, which rebuilds the file's LRU order; the records a few places
 * ahead are prefetched, since stamp order jumps around the file.
 *
 * Progress. Each pass reports how far it is to the caller's
 * snapshot_progress: the checksum every SNAP_CHUNK_BYTES, the blocks one
 * by one, the sort each radix pass, the choice and the insertion every
 * SNAP_TICK_ENTRIES entries.
 */
#include <inttypes.h>
#include <lz4.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "entry.h"
#include "snapshot.h"
#include "snapshot_format.h"
#include "utf8.h"

#define SNAP_PREFETCH 8 /* records ahead of the insertion */
/* Most bytes LZ4 can make of one stored byte (runs of 255-byte lengths). */
#define SNAP_LZ4_RATIO    255u
#define SNAP_CHUNK_BYTES  (16u << 20) /* checksummed between reports */
#define SNAP_TICK_ENTRIES (1u << 16)  /* chosen or inserted between reports */

/* One entry record, decoded: 32 bytes, sorted whole. */
struct snap_rec {
    uint64_t stamp;
    uint64_t expire_wall_ms; /* 0: none */
    const unsigned char *ns; /* then key, then value */
    uint32_t vlen;
    uint16_t klen;
    uint8_t nslen;
    bool keep;
};

struct snap_file {
    const unsigned char *p;
    size_t len;
    size_t body;          /* offset of the first block */
    uint64_t count;       /* from the end record */
    uint64_t written;     /* the header's write time */
    unsigned char *arena; /* the compressed blocks, decompressed */
    struct snap_rec *recs;
    uint64_t nrecs, cap;
    const struct snapshot_progress *prog; /* NULL: none */
};

#define FAIL(...) (snprintf(why, whylen, __VA_ARGS__), -1)

/* Tells p (NULL: nobody) how far phase is. */
static void
progress(const struct snapshot_progress *p, const char *phase, uint64_t done,
         uint64_t total)
{
    if (p != NULL)
        p->report(p->ctx, phase, done, total);
}

/* The CRC-32C of the file's first n bytes, reported a chunk at a time. */
static uint32_t
checksum(const struct snap_file *f, size_t n)
{
    uint32_t crc = 0;
    size_t at = 0, k;

    while (at < n) {
        k = n - at < SNAP_CHUNK_BYTES ? n - at : SNAP_CHUNK_BYTES;
        crc = crc32c(crc, f->p + at, k);
        at += k;
        progress(f->prog, "checking", at, n);
    }
    return crc;
}

/* Header, end record and CRC; 0 or -1 with why. */
static int
check_frame(struct snap_file *f, uint64_t wall_now_ms, char *why, size_t whylen)
{
    uint64_t version;

    if (f->len == 0)
        return FAIL("the file is empty");
    if (f->len < SNAPSHOT_MAGIC_BYTES ||
        memcmp(f->p, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_BYTES) != 0)
        return FAIL("not a snapshot (bad magic)");
    if (f->len < SNAPSHOT_HEADER_FIXED + SNAPSHOT_END_BYTES)
        return FAIL("truncated (%zu bytes)", f->len);
    version = snapshot_get_le(f->p + 8, 4);
    if (version > SNAPSHOT_FORMAT_VERSION)
        return FAIL("format version %" PRIu64 " is newer than %u", version,
                    SNAPSHOT_FORMAT_VERSION);
    if (version == 0)
        return FAIL("corrupt (format version 0)");
    if (version < SNAPSHOT_FORMAT_VERSION)
        return FAIL("format version %" PRIu64 " is older than %u, no longer "
                    "read",
                    version, SNAPSHOT_FORMAT_VERSION);
    f->body = SNAPSHOT_HEADER_FIXED + f->p[20];
    if (f->p[20] > SNAPSHOT_WRITER_MAX ||
        f->body + SNAPSHOT_END_BYTES > f->len ||
        f->p[f->len - SNAPSHOT_END_BYTES] != SNAPSHOT_REC_END ||
        checksum(f, f->len - 4) != snapshot_get_le(f->p + f->len - 4, 4))
        return FAIL("truncated or corrupt (checksum)");
    f->written = snapshot_get_le(f->p + 12, 8);
    if (f->written > wall_now_ms)
        return FAIL("written %" PRIu64 " ms in the future of this clock",
                    f->written - wall_now_ms);
    f->count = snapshot_get_le(f->p + f->len - 12, 8);
    return 0;
}

/* Walks the block headers: each must fit, and a compressed one must not
 * claim more than LZ4 can make of it. *arena_bytes is the sum of the raw
 * lengths of the compressed blocks. 0 or -1 with why. */
static int
walk_blocks(const struct snap_file *f, size_t *arena_bytes, char *why,
            size_t whylen)
{
    size_t off = f->body, end = f->len - SNAPSHOT_END_BYTES, sum = 0;
    uint64_t raw, stored;

    while (off < end) {
        const unsigned char *h = f->p + off;

        if (end - off < SNAPSHOT_BLOCK_HEAD || h[0] != SNAPSHOT_REC_BLOCK)
            return FAIL("corrupt (block at byte %zu)", off);
        raw = snapshot_get_le(h + 1, 4);
        stored = snapshot_get_le(h + 5, 4);
        if (raw == 0 || stored > raw ||
            stored > end - off - SNAPSHOT_BLOCK_HEAD ||
            (stored < raw && raw > stored * SNAP_LZ4_RATIO + 64))
            return FAIL("corrupt (block at byte %zu)", off);
        if (stored < raw) {
            if (raw > SIZE_MAX - sum)
                return FAIL("corrupt (block at byte %zu)", off);
            sum += (size_t)raw;
        }
        off += SNAPSHOT_BLOCK_HEAD + (size_t)stored;
    }
    *arena_bytes = sum;
    return 0;
}

/* Room for one more record in f->recs; false when out of memory. */
static bool
recs_grow(struct snap_file *f)
{
    struct snap_rec *r;
    uint64_t cap;

    if (f->nrecs < f->cap)
        return true;
    cap = f->cap ? f->cap * 2 : 1024;
    if (cap > SIZE_MAX / sizeof *r ||
        (r = realloc(f->recs, (size_t)cap * sizeof *r)) == NULL)
        return false;
    f->recs = r;
    f->cap = cap;
    return true;
}

/* Decodes the record at *p (before end) into r and advances *p; NULL,
 * or what is wrong with it ("entry", "key"). */
static const char *
read_rec(const struct snap_file *f, const unsigned char **p,
         const unsigned char *end, struct snap_rec *r)
{
    uint64_t klen, vlen, exp;
    long chars;

    r->nslen = *(*p)++;
    if (!snapshot_get_varint(p, end, &klen) ||
        !snapshot_get_varint(p, end, &vlen) ||
        !snapshot_get_varint(p, end, &exp) ||
        !snapshot_get_varint(p, end, &r->stamp))
        return "entry";
    if (klen == 0 || klen > ENTRY_KLEN_MAX || vlen > UINT32_MAX ||
        (exp != 0 && exp - 1 > UINT64_MAX - f->written) ||
        r->nslen + klen + vlen > (uint64_t)(end - *p))
        return "entry";
    r->klen = (uint16_t)klen;
    r->vlen = (uint32_t)vlen;
    r->expire_wall_ms = exp != 0 ? f->written + (exp - 1) : 0;
    r->ns = *p;
    r->keep = false;
    chars =
        utf8_count((const char *)*p + r->nslen, r->klen, STORE_MAX_KEY_CHARS);
    if (chars < 1 || chars > STORE_MAX_KEY_CHARS)
        return "key";
    *p += r->nslen + klen + vlen;
    return NULL;
}

/* The records of the n raw bytes at b (block at byte off) into f->recs;
 * 0 or -1 with why. */
static int
read_block(struct snap_file *f, const unsigned char *b, size_t n, size_t off,
           char *why, size_t whylen)
{
    const unsigned char *end = b + n;
    const char *bad;

    while (b < end) {
        if (f->nrecs >= f->count)
            return FAIL("corrupt (more entries than %" PRIu64 ")", f->count);
        if (!recs_grow(f))
            return FAIL("out of memory");
        if ((bad = read_rec(f, &b, end, &f->recs[f->nrecs])) != NULL)
            return FAIL("corrupt (%s in the block at byte %zu)", bad, off);
        f->nrecs++;
    }
    return 0;
}

/* Every block decompressed (into f->arena, of the size walk_blocks gave)
 * and read; 0 or -1 with why. */
static int
read_all(struct snap_file *f, char *why, size_t whylen)
{
    size_t off = f->body, end = f->len - SNAPSHOT_END_BYTES, at = 0;
    const unsigned char *raw;
    uint32_t rlen, slen;

    while (off < end) {
        rlen = (uint32_t)snapshot_get_le(f->p + off + 1, 4);
        slen = (uint32_t)snapshot_get_le(f->p + off + 5, 4);
        raw = f->p + off + SNAPSHOT_BLOCK_HEAD;
        if (slen < rlen) {
            if (rlen > LZ4_MAX_INPUT_SIZE ||
                LZ4_decompress_safe((const char *)raw, (char *)f->arena + at,
                                    (int)slen, (int)rlen) != (int)rlen)
                return FAIL("corrupt (block at byte %zu)", off);
            raw = f->arena + at;
            at += rlen;
        }
        if (read_block(f, raw, rlen, off, why, whylen) != 0)
            return -1;
        off += SNAPSHOT_BLOCK_HEAD + slen;
        progress(f->prog, "reading", off, end);
    }
    if (f->nrecs != f->count)
        return FAIL("corrupt (%" PRIu64 " entries, end says %" PRIu64 ")",
                    f->nrecs, f->count);
    return 0;
}

/* How many of x's bytes are not zero. */
static unsigned
bytes_set(uint64_t x)
{
    unsigned n = 0;

    for (; x != 0; x >>= 8)
        n += (x & 0xff) != 0;
    return n;
}

/* Sorts f's records by stamp, stably: a least-significant-digit radix
 * sort by bytes, skipping the bytes every stamp has alike. 0, or -1 when
 * out of memory. */
static int
sort_by_stamp(struct snap_file *f)
{
    uint64_t all_or = 0, all_and = UINT64_MAX, i, n = f->nrecs;
    struct snap_rec *recs = f->recs, *tmp, *src = recs, *dst;
    size_t count[256];
    unsigned shift, pass = 0, passes;

    for (i = 0; i < n; i++) {
        all_or |= recs[i].stamp;
        all_and &= recs[i].stamp;
    }
    if (n < 2 || all_or == all_and)
        return 0;
    if ((tmp = malloc((size_t)n * sizeof *tmp)) == NULL)
        return -1;
    passes = bytes_set(all_or ^ all_and);
    dst = tmp;
    for (shift = 0; shift < 64; shift += 8) {
        size_t pos = 0, c;

        if ((((all_or ^ all_and) >> shift) & 0xff) == 0)
            continue;
        memset(count, 0, sizeof count);
        for (i = 0; i < n; i++)
            count[(src[i].stamp >> shift) & 0xff]++;
        for (c = 0; c < 256; c++) {
            size_t k = count[c];

            count[c] = pos;
            pos += k;
        }
        for (i = 0; i < n; i++)
            dst[count[(src[i].stamp >> shift) & 0xff]++] = src[i];
        dst = src;
        src = src == recs ? tmp : recs;
        progress(f->prog, "sorting", ++pass, passes);
    }
    if (src != recs)
        memcpy(recs, src, (size_t)n * sizeof *recs);
    free(tmp);
    return 0;
}

static uint64_t
rec_accounted(const struct snap_rec *r)
{
    return entry_accounted(
        (size_t)r->nslen + r->klen, r->vlen,
        entry_flags_for(r->nslen, r->vlen, r->expire_wall_ms != 0 ? 1 : 0));
}

/* Marks f's records to keep, newest first, within st's limits (see
 * above); returns how many. */
static uint64_t
choose(struct store *st, const struct snap_file *f, uint64_t wall_now_ms,
       struct snapshot_load_result *res)
{
    const struct store_config *c = store_config(st);
    uint64_t items = 0, bytes = 0, acc, i, n = f->nrecs;
    bool full = false;

    for (i = n; i-- > 0;) {
        struct snap_rec *r = &f->recs[i];

        if (((n - 1 - i) & (SNAP_TICK_ENTRIES - 1)) == 0)
            progress(f->prog, "choosing", n - 1 - i, n);

        if (r->expire_wall_ms != 0 && r->expire_wall_ms <= wall_now_ms) {
            res->expired++;
            continue;
        }
        acc = rec_accounted(r);
        if (r->vlen > c->max_value_bytes || acc > c->max_memory_bytes) {
            res->dropped++;
            continue;
        }
        if (full || items + 1 > c->max_items ||
            bytes + acc > c->max_memory_bytes) {
            full = true;
            res->dropped++;
            continue;
        }
        items++;
        bytes += acc;
        r->keep = true;
    }
    return items;
}

/* Inserts f's records kept, oldest first. Two records of one name (a
 * file this server did not write) leave the later one: the earlier counts
 * as dropped, so that entries is what the store holds. */
static void
insert(struct store *st, const struct snap_file *f, uint64_t wall_now_ms,
       struct snapshot_load_result *res)
{
    uint64_t mono = store_now(st), expire, i, before, after, bytes;
    uint64_t inserted = res->entries, n = f->nrecs;
    const struct snap_rec *recs = f->recs, *r;

    store_usage(st, &before, &bytes);
    for (i = 0; i < n; i++) {
        r = &recs[i];
        if ((i & (SNAP_TICK_ENTRIES - 1)) == 0)
            progress(f->prog, "inserting", i, n);
        /* in the loop itself: GCC drops a call to a function that only
         * prefetches, taking it for one without effects */
        if (i + SNAP_PREFETCH < n) {
            __builtin_prefetch(recs[i + SNAP_PREFETCH].ns);
            __builtin_prefetch(recs[i + SNAP_PREFETCH].ns + 64);
        }
        if (!r->keep)
            continue;
        expire = r->expire_wall_ms != 0
                     ? mono + (r->expire_wall_ms - wall_now_ms)
                     : 0;
        if (store_load_entry(st, (const char *)r->ns, r->nslen,
                             (const char *)r->ns + r->nslen, r->klen,
                             r->ns + r->nslen + r->klen, r->vlen,
                             expire) == STORE_OK)
            res->entries++;
        else
            res->dropped++;
    }
    store_usage(st, &after, &bytes);
    inserted = res->entries - inserted;
    if (after - before < inserted) {
        res->dropped += inserted - (after - before);
        res->entries -= inserted - (after - before);
    }
}

/* Checks and reads the whole file into f (arena and records); 0 or -1
 * with why. */
static int
read_file(struct snap_file *f, uint64_t wall_now_ms, char *why, size_t whylen)
{
    size_t arena;

    if (check_frame(f, wall_now_ms, why, whylen) != 0 ||
        walk_blocks(f, &arena, why, whylen) != 0)
        return -1;
    if (arena > 0 && (f->arena = malloc(arena)) == NULL)
        return FAIL("out of memory");
    if (read_all(f, why, whylen) != 0)
        return -1;
    if (sort_by_stamp(f) != 0)
        return FAIL("out of memory");
    return 0;
}

int
snapshot_load_buf(struct store *st, const void *buf, size_t len,
                  uint64_t wall_now_ms, const struct snapshot_progress *prog,
                  struct snapshot_load_result *res, char *why, size_t whylen)
{
    struct snap_file f = {.p = buf, .len = len, .prog = prog};
    uint64_t kept;
    int rc;

    memset(res, 0, sizeof *res);
    rc = read_file(&f, wall_now_ms, why, whylen);
    if (rc == 0) {
        kept = choose(st, &f, wall_now_ms, res);
        store_load_reserve(st, kept);
        insert(st, &f, wall_now_ms, res);
    }
    free(f.recs);
    free(f.arena);
    return rc;
}
