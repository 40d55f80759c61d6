/*
 * crc32c.h: CRC-32C (Castagnoli, the polynomial 0x1EDC6F41 reflected as
 * 0x82F63B78), as iSCSI (RFC 3720), ext4 and SCTP use it: the checksum of
 * snapshot files (docs/snapshots.md).
 */
#ifndef CRC32C_H
#define CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of n more bytes at p, continuing from crc (0 to start):
 * crc32c(crc32c(0, a, na), b, nb) == crc32c(0, a || b, na + nb). Safe from
 * any thread. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);
/* The same by tables alone, whatever the processor (for tests). */
uint32_t crc32c_portable(uint32_t crc, const void *p, size_t n);

#endif
