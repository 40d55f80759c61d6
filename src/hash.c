/*
 * hash.c: SipHash (Aumasson and Bernstein), c compression rounds and d
 * finalisation rounds; the store uses 1-3, as Rust's and Python's tables do.
 */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                               \
    do {                                                                       \
        v0 += v1;                                                              \
        v1 = ROTL(v1, 13);                                                     \
        v1 ^= v0;                                                              \
        v0 = ROTL(v0, 32);                                                     \
        v2 += v3;                                                              \
        v3 = ROTL(v3, 16);                                                     \
        v3 ^= v2;                                                              \
        v0 += v3;                                                              \
        v3 = ROTL(v3, 21);                                                     \
        v3 ^= v0;                                                              \
        v2 += v1;                                                              \
        v1 = ROTL(v1, 17);                                                     \
        v1 ^= v2;                                                              \
        v2 = ROTL(v2, 32);                                                     \
    } while (0)

static inline uint64_t
load64_le(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof v);
    return v; /* little-endian hosts only (x86-64, arm64) */
}

static inline uint64_t
siphash(const struct hash_key *k, const unsigned char *p, size_t n, int c,
        int d)
{
    uint64_t v0 = k->k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k->k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k->k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k->k1 ^ 0x7465646279746573ULL;
    uint64_t b = (uint64_t)n << 56, m;
    const unsigned char *end = p + (n & ~(size_t)7);
    int i;

    for (; p != end; p += 8) {
        m = load64_le(p);
        v3 ^= m;
        for (i = 0; i < c; i++)
            SIPROUND;
        v0 ^= m;
    }
    for (i = (int)(n & 7) - 1; i >= 0; i--)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    for (i = 0; i < c; i++)
        SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    for (i = 0; i < d; i++)
        SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
hash_sip13(const struct hash_key *k, const void *p, size_t n)
{
    return siphash(k, p, n, 1, 3);
}

uint64_t
hash_sip13_ns(const struct hash_key *k, const void *ns, size_t nslen,
              const void *key, size_t klen)
{
    struct hash_key d;

    d.k0 = k->k0 ^ siphash(k, ns, nslen, 1, 3);
    d.k1 = k->k1 ^ 0x6e616d657370616eULL;
    return siphash(&d, key, klen, 1, 3);
}

uint64_t
hash_sip24(const struct hash_key *k, const void *p, size_t n)
{
    return siphash(k, p, n, 2, 4);
}

void
hash_key_random(struct hash_key *k)
{
    struct timespec ts;

    if (getrandom(k, sizeof *k, 0) == (ssize_t)sizeof *k)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    k->k0 = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uintptr_t)k;
    k->k1 = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fULL ^ (uintptr_t)&ts;
}
