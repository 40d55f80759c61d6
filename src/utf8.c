/*
 * utf8.c: UTF-8 validation by the table of well-formed byte sequences in
 * Unicode 15, section 3.9 (table 3-7): the second byte's range depends on
 * the first byte, which is what rules out overlongs, surrogates and code
 * points above U+10FFFF.
 */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

/* Length of the sequence a lead byte starts (0: invalid lead), and the
 * range allowed for the byte after it. */
static int
utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c < 0xc2)
        return 0;
    if (c < 0xe0)
        return 2;
    if (c < 0xf0) {
        if (c == 0xe0)
            *lo = 0xa0;
        else if (c == 0xed)
            *hi = 0x9f;
        return 3;
    }
    if (c < 0xf5) {
        if (c == 0xf0)
            *lo = 0x90;
        else if (c == 0xf4)
            *hi = 0x8f;
        return 4;
    }
    return 0;
}

/* Bytes at the start of p[0..n) that are all ASCII, 8 at a time. */
static size_t
ascii_prefix(const unsigned char *p, size_t n)
{
    size_t i = 0;
    uint64_t w;

    while (i + 8 <= n) {
        memcpy(&w, p + i, sizeof w);
        if (w & 0x8080808080808080ULL)
            break;
        i += 8;
    }
    return i;
}

long
utf8_count(const char *s, size_t n, long max)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + n;
    unsigned char lo, hi;
    long count;
    int len, i;

    count = (long)ascii_prefix(p, n);
    if (count > max)
        return max + 1;
    p += count;
    while (p < end) {
        if (*p < 0x80) {
            p++;
        } else {
            len = utf8_lead(*p, &lo, &hi);
            if (len == 0 || end - p < len)
                return -1;
            if (p[1] < lo || p[1] > hi)
                return -1;
            for (i = 2; i < len; i++)
                if (p[i] < 0x80 || p[i] > 0xbf)
                    return -1;
            p += len;
        }
        if (++count > max)
            return count;
    }
    return count;
}
