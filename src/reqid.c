/*
 * reqid.c: x-request-id values (README, API).
 *
 * An id sent by a client is used as sent when it is 1..REQID_MAX bytes, each
 * a printable ASCII character 0x20..0x7e. Spaces and tabs around it are
 * not part of it, as around any header value (RFC 9110's optional
 * whitespace): they are dropped first, so an id never begins or ends with
 * a space, which a header value could not carry back.
 *
 * A made id is 32 lowercase hex characters: 128 bits from a per-thread
 * wyrand generator. Each thread seeds its own state once with getrandom(2);
 * after that, making an id is two multiplications and no system call.
 */
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "reqid.h"

#define REQID_MADE_LEN 32

/* Per-thread generator state; only its own thread touches it. */
static _Thread_local uint64_t reqid_state;
static _Thread_local bool reqid_seeded;

bool
reqid_valid(const char *s, size_t n)
{
    size_t i;

    if (s == NULL || n == 0 || n > REQID_MAX || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    }
    return true;
}

/* Whether c is a header value's optional whitespace. */
static bool
reqid_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Seeds the thread's state; if getrandom(2) fails, mixes the clock with the
 * state's address, which differs per thread. */
static void
reqid_seed(void)
{
    struct timespec ts;
    uint64_t seed;

    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
               (uint64_t)(uintptr_t)&reqid_state;
    }
    reqid_state = seed;
    reqid_seeded = true;
}

/* wyrand: one 64-bit output per call. */
static uint64_t
reqid_next(void)
{
    unsigned __int128 m;

    reqid_state += UINT64_C(0xa0761d6478bd642f);
    m = (unsigned __int128)reqid_state *
        (reqid_state ^ UINT64_C(0xe7037ed1a0b428db));
    return (uint64_t)(m >> 64) ^ (uint64_t)m;
}

/* Writes the 8 nibbles of v as 8 lowercase hex digits, lowest nibble
 * first: each nibble spread into a byte of its own, then each byte
 * mapped to '0'..'9' or 'a'..'f' at once (little-endian hosts only, as
 * hash.c). */
static void
reqid_hex8(uint32_t v, char out[8])
{
    uint64_t x = v, ten;

    x = (x | x << 16) & UINT64_C(0x0000ffff0000ffff);
    x = (x | x << 8) & UINT64_C(0x00ff00ff00ff00ff);
    x = (x | x << 4) & UINT64_C(0x0f0f0f0f0f0f0f0f);
    ten = ((x + UINT64_C(0x0606060606060606)) >> 4) &
          UINT64_C(0x0101010101010101); /* 1 in each byte of 10..15 */
    x += UINT64_C(0x3030303030303030) + ten * ('a' - '0' - 10);
    memcpy(out, &x, 8);
}

void
reqid_make(char out[REQID_MAX + 1])
{
    uint64_t r;
    int i;

    if (!reqid_seeded)
        reqid_seed();
    for (i = 0; i < REQID_MADE_LEN; i += 16) {
        r = reqid_next();
        reqid_hex8((uint32_t)r, out + i);
        reqid_hex8((uint32_t)(r >> 32), out + i + 8);
    }
    out[REQID_MADE_LEN] = '\0';
}

void
reqid_accept_or_make(const char *s, size_t n, char out[REQID_MAX + 1])
{
    while (s != NULL && n > 0 && reqid_ows(s[0])) {
        s++;
        n--;
    }
    while (s != NULL && n > 0 && reqid_ows(s[n - 1]))
        n--;
    if (reqid_valid(s, n)) {
        memcpy(out, s, n);
        out[n] = '\0';
        return;
    }
    reqid_make(out);
}
