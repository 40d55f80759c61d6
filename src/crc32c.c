/*
 * crc32c.c: CRC-32C. On x86-64 processors with SSE 4.2 (every one since
 * 2008), the crc32 instruction folds in 8 bytes per instruction, several
 * GB/s on one core; the processor is asked once (pthread_once). Elsewhere,
 * slicing by 8 (Intel's "slicing-by-8", as in Linux's lib/crc32.c): eight
 * 256-entry tables let one step fold in 8 bytes with 8 table reads, about
 * 1 byte per cycle instead of the 4 to 6 cycles of the one-table loop.
 * Table k holds the CRC of a byte followed by k zero bytes. Both compute
 * the same function (tests/check_snapshot.c checks known vectors).
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "crc32c.h"

#define CRC32C_POLY 0x82F63B78u /* 0x1EDC6F41, bit-reflected */

static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static bool crc32c_hw;

#if defined(__x86_64__)
/* The crc32 instruction: c is the inverted CRC so far. */
__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t c, const unsigned char *p, size_t n)
{
    uint64_t c64 = c, w;

    for (; n >= 8; n -= 8, p += 8) {
        memcpy(&w, p, sizeof w);
        c64 = __builtin_ia32_crc32di(c64, w);
    }
    c = (uint32_t)c64;
    while (n-- > 0)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

static void
crc32c_init(void)
{
    uint32_t c;
    unsigned i, k;

#if defined(__x86_64__)
    __builtin_cpu_init();
    crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
    for (i = 0; i < 256; i++) {
        c = i;
        for (k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
        crc32c_table[0][i] = c;
    }
    for (i = 0; i < 256; i++)
        for (k = 1; k < 8; k++)
            crc32c_table[k][i] = (crc32c_table[k - 1][i] >> 8) ^
                                 crc32c_table[0][crc32c_table[k - 1][i] & 0xff];
}

/* Eight bytes at p folded into c (little-endian load). */
static uint32_t
crc32c_step8(uint32_t c, const unsigned char *p)
{
    uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                  (uint32_t)p[7] << 24;

    return crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
           crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
           crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
           crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
}

uint32_t
crc32c_portable(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    uint32_t c = ~crc;

    pthread_once(&crc32c_once, crc32c_init);
    for (; n >= 8; n -= 8, p += 8)
        c = crc32c_step8(c, p);
    while (n-- > 0)
        c = (c >> 8) ^ crc32c_table[0][(c ^ *p++) & 0xff];
    return ~c;
}

uint32_t
crc32c(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&crc32c_once, crc32c_init);
#if defined(__x86_64__)
    if (crc32c_hw)
        return ~crc32c_sse42(~crc, buf, n);
#endif
    return crc32c_portable(crc, buf, n);
}
