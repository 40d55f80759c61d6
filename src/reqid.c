/*
 * reqid.c: x-request-id values (README, API).
 *
 * An id sent by a client is used as sent when it is 1..REQID_MAX bytes, each
 * a visible ASCII character 0x21..0x7e. Space is refused although it is
 * printable: an id is one token in a log line and in a header value.
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

    if (s == NULL || n == 0 || n > REQID_MAX)
        return false;
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    }
    return true;
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

void
reqid_make(char out[REQID_MAX + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t r = 0;
    int i;

    if (!reqid_seeded)
        reqid_seed();
    for (i = 0; i < REQID_MADE_LEN; i++) {
        if (i % 16 == 0)
            r = reqid_next();
        out[i] = hex[r & 0xf];
        r >>= 4;
    }
    out[REQID_MADE_LEN] = '\0';
}

void
reqid_accept_or_make(const char *s, size_t n, char out[REQID_MAX + 1])
{
    if (reqid_valid(s, n)) {
        memcpy(out, s, n);
        out[n] = '\0';
        return;
    }
    reqid_make(out);
}
