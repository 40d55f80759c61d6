/*
 * snapshot_load.c: reading a snapshot file (layout in snapshot_format.h,
 * docs/snapshots.md) into the store.
 *
 * All or nothing. The whole file is checked before one entry is inserted:
 * magic, version, write time, the CRC-32C over everything, then every
 * record's structure and key, and the count of the end record. Only a
 * file that passes all of it is loaded, so a damaged one leaves the store
 * as it was.
 *
 * Order and limits. The records are sorted by use stamp. Walking from the
 * most recently used down, each live entry is kept while the entries kept
 * so far, it included, fit max_items and max_memory_bytes (accounted as the
 * store will account them); the first one that does not, and every older
 * one, are dropped, so what stays is the most recent part of the cache.
 * An entry over max_value_bytes, or over the memory limit on its own, is
 * dropped by itself. The kept entries are then inserted oldest first, each
 * becoming the most recently used, which rebuilds the file's LRU order.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "entry.h"
#include "snapshot.h"
#include "snapshot_format.h"
#include "utf8.h"

/* One entry record, decoded. */
struct snap_rec {
    uint64_t stamp;
    uint64_t expire_wall_ms;
    const unsigned char *ns; /* then key, then value */
    uint32_t vlen;
    uint16_t klen;
    uint8_t nslen;
    bool keep;
};

struct snap_file {
    const unsigned char *p;
    size_t len;
    size_t body;    /* offset of the first record */
    uint64_t count; /* from the end record */
};

/* Header, end record and CRC; 0 or -1 with why. */
static int
check_frame(struct snap_file *f, uint64_t wall_now_ms, char *why, size_t whylen)
{
    uint64_t version, written;

    if (f->len == 0)
        return snprintf(why, whylen, "the file is empty"), -1;
    if (f->len < SNAPSHOT_MAGIC_BYTES ||
        memcmp(f->p, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_BYTES) != 0)
        return snprintf(why, whylen, "not a snapshot (bad magic)"), -1;
    if (f->len < SNAPSHOT_HEADER_FIXED + SNAPSHOT_END_BYTES)
        return snprintf(why, whylen, "truncated (%zu bytes)", f->len), -1;
    version = snapshot_get_le(f->p + 8, 4);
    if (version > SNAPSHOT_FORMAT_VERSION)
        return snprintf(why, whylen,
                        "format version %" PRIu64 " is newer than %u", version,
                        SNAPSHOT_FORMAT_VERSION),
               -1;
    if (version == 0)
        return snprintf(why, whylen, "corrupt (format version 0)"), -1;
    f->body = SNAPSHOT_HEADER_FIXED + f->p[20];
    if (f->p[20] > SNAPSHOT_WRITER_MAX ||
        f->body + SNAPSHOT_END_BYTES > f->len ||
        f->p[f->len - SNAPSHOT_END_BYTES] != SNAPSHOT_REC_END ||
        crc32c(0, f->p, f->len - 4) != snapshot_get_le(f->p + f->len - 4, 4))
        return snprintf(why, whylen, "truncated or corrupt (checksum)"), -1;
    written = snapshot_get_le(f->p + 12, 8);
    if (written > wall_now_ms)
        return snprintf(why, whylen,
                        "written %" PRIu64 " ms in the future of this clock",
                        written - wall_now_ms),
               -1;
    f->count = snapshot_get_le(f->p + f->len - 12, 8);
    if (f->count > (f->len - f->body) / (SNAPSHOT_ENTRY_HEAD + 1))
        return snprintf(why, whylen, "corrupt (entry count)"), -1;
    return 0;
}

/* Decodes the record at *off into r; 0 or -1 with why. */
static int
read_rec(const struct snap_file *f, size_t *off, struct snap_rec *r, char *why,
         size_t whylen)
{
    const unsigned char *h = f->p + *off;
    size_t end = f->len - SNAPSHOT_END_BYTES, room = end - *off;
    long chars;

    if (room < SNAPSHOT_ENTRY_HEAD || h[0] != SNAPSHOT_REC_ENTRY)
        return snprintf(why, whylen, "corrupt (record at byte %zu)", *off), -1;
    r->nslen = h[1];
    r->klen = (uint16_t)snapshot_get_le(h + 2, 2);
    r->vlen = (uint32_t)snapshot_get_le(h + 4, 4);
    r->expire_wall_ms = snapshot_get_le(h + 8, 8);
    r->stamp = snapshot_get_le(h + 16, 8);
    r->ns = h + SNAPSHOT_ENTRY_HEAD;
    r->keep = false;
    if ((uint64_t)r->nslen + r->klen + r->vlen > room - SNAPSHOT_ENTRY_HEAD)
        return snprintf(why, whylen, "corrupt (entry at byte %zu)", *off), -1;
    chars = utf8_count((const char *)r->ns + r->nslen, r->klen,
                       STORE_MAX_KEY_CHARS);
    if (r->klen == 0 || r->klen > ENTRY_KLEN_MAX || chars < 1 ||
        chars > STORE_MAX_KEY_CHARS)
        return snprintf(why, whylen, "corrupt (key at byte %zu)", *off), -1;
    *off += SNAPSHOT_ENTRY_HEAD + r->nslen + r->klen + r->vlen;
    return 0;
}

/* Every record into recs[0..f->count); 0 or -1 with why. */
static int
read_all(const struct snap_file *f, struct snap_rec *recs, char *why,
         size_t whylen)
{
    size_t off = f->body, end = f->len - SNAPSHOT_END_BYTES;
    uint64_t i;

    for (i = 0; off < end; i++) {
        if (i >= f->count)
            return snprintf(why, whylen,
                            "corrupt (more entries than %" PRIu64 ")",
                            f->count),
                   -1;
        if (read_rec(f, &off, &recs[i], why, whylen) != 0)
            return -1;
    }
    if (i != f->count)
        return snprintf(why, whylen,
                        "corrupt (%" PRIu64 " entries, end says %" PRIu64 ")",
                        (uint64_t)i, f->count),
               -1;
    return 0;
}

static int
by_stamp(const void *a, const void *b)
{
    const struct snap_rec *x = a, *y = b;

    if (x->stamp != y->stamp)
        return x->stamp < y->stamp ? -1 : 1;
    return x->ns < y->ns ? -1 : x->ns > y->ns;
}

static uint64_t
rec_accounted(const struct snap_rec *r)
{
    return entry_accounted(
        (size_t)r->nslen + r->klen, r->vlen,
        entry_flags_for(r->nslen, r->vlen, r->expire_wall_ms != 0 ? 1 : 0));
}

/* Marks what to keep, newest first, within st's limits (see above). */
static void
choose(struct store *st, struct snap_rec *recs, uint64_t n,
       uint64_t wall_now_ms, struct snapshot_load_result *res)
{
    const struct store_config *c = store_config(st);
    uint64_t items = 0, bytes = 0, acc, i;
    bool full = false;

    for (i = n; i-- > 0;) {
        struct snap_rec *r = &recs[i];

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
}

/* Inserts the records kept, oldest first. Two records of one name (a
 * file this server did not write) leave the later one: the earlier counts
 * as dropped, so that entries is what the store holds. */
static void
insert(struct store *st, const struct snap_rec *recs, uint64_t n,
       uint64_t wall_now_ms, struct snapshot_load_result *res)
{
    uint64_t mono = store_now(st), expire, i, before, after, bytes;
    uint64_t inserted = res->entries;
    const struct snap_rec *r;

    store_usage(st, &before, &bytes);

    for (i = 0; i < n; i++) {
        r = &recs[i];
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

int
snapshot_load_buf(struct store *st, const void *buf, size_t len,
                  uint64_t wall_now_ms, struct snapshot_load_result *res,
                  char *why, size_t whylen)
{
    struct snap_file f = {buf, len, 0, 0};
    struct snap_rec *recs;

    memset(res, 0, sizeof *res);
    if (check_frame(&f, wall_now_ms, why, whylen) != 0)
        return -1;
    recs = malloc((size_t)(f.count > 0 ? f.count : 1) * sizeof *recs);
    if (recs == NULL)
        return snprintf(why, whylen, "out of memory"), -1;
    if (read_all(&f, recs, why, whylen) != 0) {
        free(recs);
        return -1;
    }
    qsort(recs, (size_t)f.count, sizeof *recs, by_stamp);
    choose(st, recs, f.count, wall_now_ms, res);
    insert(st, recs, f.count, wall_now_ms, res);
    free(recs);
    return 0;
}
