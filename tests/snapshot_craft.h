/*
 * snapshot_craft.h: builds snapshot files record by record, straight from
 * the layout in include/snapshot_format.h (docs/snapshots.md), for the
 * tests and fuzz seeds that need files the writer never makes: a bad key,
 * a name twice, another format version. Blocks are stored uncompressed.
 * Out of memory aborts: this is test code.
 */
#ifndef SNAPSHOT_CRAFT_H
#define SNAPSHOT_CRAFT_H

#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "snapshot_format.h"
#include "tc.h"

struct craft {
    unsigned char *p;
    size_t len, cap;
    size_t block; /* offset of the open block's header */
    uint64_t count;
};

static TC_UNUSED void
craft_put(struct craft *c, const void *d, size_t n)
{
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2;
        c->p = realloc(c->p, c->cap);
        if (c->p == NULL)
            abort();
    }
    if (n > 0)
        memcpy(c->p + c->len, d, n);
    c->len += n;
}

/* The header of a file of this version, written at wall (ms). */
static TC_UNUSED void
craft_begin(struct craft *c, uint32_t version, uint64_t wall)
{
    unsigned char h[SNAPSHOT_HEADER_FIXED];

    memset(c, 0, sizeof *c);
    memcpy(h, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_BYTES);
    snapshot_put_le(h + 8, version, 4);
    snapshot_put_le(h + 12, wall, 8);
    h[20] = 5;
    craft_put(c, h, sizeof h);
    craft_put(c, "craft", 5);
}

static TC_UNUSED void
craft_block_begin(struct craft *c)
{
    unsigned char h[SNAPSHOT_BLOCK_HEAD] = {SNAPSHOT_REC_BLOCK};

    c->block = c->len;
    craft_put(c, h, sizeof h);
}

/* One entry record; exp is the record's field (0: none, else 1 + ms
 * after the write time). */
static TC_UNUSED void
craft_entry(struct craft *c, const char *ns, size_t nslen, const char *key,
            size_t klen, const void *val, size_t vlen, uint64_t exp,
            uint64_t stamp)
{
    unsigned char h[SNAPSHOT_ENTRY_HEAD_MAX], *p = h;

    *p++ = (unsigned char)nslen;
    p = snapshot_put_varint(p, klen);
    p = snapshot_put_varint(p, vlen);
    p = snapshot_put_varint(p, exp);
    p = snapshot_put_varint(p, stamp);
    craft_put(c, h, (size_t)(p - h));
    craft_put(c, ns, nslen);
    craft_put(c, key, klen);
    craft_put(c, val, vlen);
    c->count++;
}

/* Closes the open block, stored as it is. */
static TC_UNUSED void
craft_block_end(struct craft *c)
{
    size_t n = c->len - c->block - SNAPSHOT_BLOCK_HEAD;

    snapshot_put_le(c->p + c->block + 1, n, 4);
    snapshot_put_le(c->p + c->block + 5, n, 4);
}

/* The end record with the count of entries crafted and the CRC. */
static TC_UNUSED void
craft_end(struct craft *c)
{
    unsigned char e[SNAPSHOT_END_BYTES] = {SNAPSHOT_REC_END};

    snapshot_put_le(e + 1, c->count, 8);
    craft_put(c, e, 9);
    snapshot_put_le(e, crc32c(0, c->p, c->len), 4);
    craft_put(c, e, 4);
}

#endif
