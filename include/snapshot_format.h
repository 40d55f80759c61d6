/*
 * snapshot_format.h: the layout of a snapshot file (docs/snapshots.md),
 * shared by the writer (snapshot_save.c) and the reader
 * (snapshot_load.c). Not for other modules: they use snapshot.h.
 *
 * Every integer is little-endian, whatever the machine.
 *
 *   header   8  magic "\x89TCSNAP\n" (the high byte and the newline catch
 *               7-bit and text-mode copies, as PNG's does)
 *            4  format version, SNAPSHOT_FORMAT_VERSION
 *            8  write time, wall clock, ms since the Unix epoch
 *            1  length L of the writer's version (at most
 *               SNAPSHOT_WRITER_MAX), then L bytes: PACKAGE_VERSION
 *   entry    1  'E'
 *   (any     1  namespace length (0: the shared keyspace)
 *   number)  2  key length (1..2047)
 *            4  value length
 *            8  expiry, wall clock ms since the epoch; 0: none
 *            8  use stamp: larger is more recently used (only the order
 *               of the stamps within one file means anything)
 *               then the namespace, key and value bytes
 *   end      1  'Z'
 *            8  number of entry records
 *            4  CRC-32C of every byte of the file before these 4
 *
 * A reader refuses the whole file unless all of it is exactly that: a
 * good magic, a version it knows, a write time not after its clock, entry
 * records that fit and whose key is well-formed UTF-8 of 1..256 code
 * points, one end record that closes the file, its count and its CRC.
 */
#ifndef SNAPSHOT_FORMAT_H
#define SNAPSHOT_FORMAT_H

#include <stdint.h>
#include <string.h>

#define SNAPSHOT_MAGIC          "\x89TCSNAP\n"
#define SNAPSHOT_MAGIC_BYTES    8u
#define SNAPSHOT_FORMAT_VERSION 1u
#define SNAPSHOT_WRITER_MAX     64u
#define SNAPSHOT_HEADER_FIXED   21u /* magic, version, time, version length */
#define SNAPSHOT_REC_ENTRY      'E'
#define SNAPSHOT_REC_END        'Z'
#define SNAPSHOT_ENTRY_HEAD     24u
#define SNAPSHOT_END_BYTES      13u

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

#endif
