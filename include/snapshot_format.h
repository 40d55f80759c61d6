/*
 * snapshot_format.h: the layout of a snapshot file (docs/snapshots.md),
 * shared by the writer (snapshot_save.c) and the reader
 * (snapshot_load.c). Not for other modules: they use snapshot.h.
 *
 * Fixed-width integers are little-endian, whatever the machine; varints
 * are unsigned LEB128 (7 bits a byte, low first, at most 10 bytes), as in
 * protobuf.
 *
 *   header   8  magic "\x89TCSNAP\n" (the high byte and the newline catch
 *               7-bit and text-mode copies, as PNG's does)
 *            4  format version, SNAPSHOT_FORMAT_VERSION
 *            8  write time, wall clock, ms since the Unix epoch
 *            1  length L of the writer's version (at most
 *               SNAPSHOT_WRITER_MAX), then L bytes: PACKAGE_VERSION
 *   block    1  'B'
 *   (any     4  raw length R (1..SNAPSHOT_BLOCK_RAW_MAX): the bytes of
 *   number)     the entry records the block holds
 *            4  stored length S, then S bytes: the R bytes themselves when
 *               S == R; an LZ4 block (liblz4's block format) of them when
 *               S < R; S > R is corrupt
 *   end      1  'Z'
 *            8  number of entry records
 *            4  CRC-32C of every byte of the file before these 4
 *
 * An entry record (inside a block; a record never spans two blocks):
 *            1  namespace length (0: the shared keyspace)
 *       varint  key length (1..2047)
 *       varint  value length (at most UINT32_MAX)
 *       varint  expiry: 0 none, else 1 + its ms after the write time
 *       varint  use stamp: larger is more recently used (only the order
 *               of the stamps within one file means anything)
 *               then the namespace, key and value bytes
 *
 * A reader refuses the whole file unless all of it is exactly that: a
 * good magic, a version it knows, a write time not after its clock,
 * blocks that fit and decompress to their raw length, entry records that
 * fill them exactly and whose key is well-formed UTF-8 of 1..256 code
 * points, one end record that closes the file, its count and its CRC.
 */
#ifndef SNAPSHOT_FORMAT_H
#define SNAPSHOT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SNAPSHOT_MAGIC          "\x89TCSNAP\n"
#define SNAPSHOT_MAGIC_BYTES    8u
#define SNAPSHOT_FORMAT_VERSION 2u
#define SNAPSHOT_WRITER_MAX     64u
#define SNAPSHOT_HEADER_FIXED   21u /* magic, version, time, version length */
#define SNAPSHOT_REC_BLOCK      'B'
#define SNAPSHOT_REC_END        'Z'
#define SNAPSHOT_BLOCK_HEAD     9u
#define SNAPSHOT_END_BYTES      13u
/* The writer closes a block once its records pass this many bytes; a
 * record larger than that gets a block of its own. */
#define SNAPSHOT_BLOCK_BYTES (64u * 1024u)
/* The largest raw length: a record of the largest value and name. */
#define SNAPSHOT_BLOCK_RAW_MAX UINT32_MAX
/* The fewest bytes of an entry record: 4 one-byte fields, a 1-byte key. */
#define SNAPSHOT_ENTRY_MIN 5u
/* The most bytes an entry record's head (fields before the names) takes. */
#define SNAPSHOT_VARINT_MAX     10u
#define SNAPSHOT_ENTRY_HEAD_MAX (1u + 4u * SNAPSHOT_VARINT_MAX)

static inline void
snapshot_put_le(unsigned char *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t
snapshot_get_le(const unsigned char *p, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = bytes; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* Writes v as a varint at p; returns the end. */
static inline unsigned char *
snapshot_put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

/* Reads a varint from *p (not past end) into *v and advances *p; false
 * when it runs past end or over SNAPSHOT_VARINT_MAX bytes or 64 bits. */
static inline bool
snapshot_get_varint(const unsigned char **p, const unsigned char *end,
                    uint64_t *v)
{
    uint64_t x = 0;

    for (unsigned i = 0; i < SNAPSHOT_VARINT_MAX && *p < end; i++) {
        unsigned char b = *(*p)++;

        if (i == 9 && b > 1)
            return false;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

#endif
