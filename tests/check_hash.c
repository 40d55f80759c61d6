/*
 * check_hash.c: SipHash against the reference vectors, and seeding.
 */
#include <stdio.h>

#include "check_run.h"
#include "hash.h"

/* The reference key 00 01 .. 0f and message 00 01 .. (n-1). */
static uint64_t
ref(size_t n)
{
    unsigned char msg[64] = {0};
    struct hash_key k = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    size_t i;

    for (i = 0; i < n; i++)
        msg[i] = (unsigned char)i;
    return hash_sip24(&k, msg, n);
}

START_TEST(test_hash_sip24_reference_vectors)
{
    ck_assert_uint_eq(ref(0), 0x726fdb47dd0e0e31ULL);
    ck_assert_uint_eq(ref(1), 0x74f839c593dc67fdULL);
    ck_assert_uint_eq(ref(15), 0xa129ca6149be45e5ULL);
}
END_TEST

/* SipHash-c-d one byte at a time, as the paper states it, to check the
 * word-at-a-time reading of hash.c against. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = ROTL(v[1], 13) ^ v[0];
    v[0] = ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = ROTL(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = ROTL(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = ROTL(v[1], 17) ^ v[2];
    v[2] = ROTL(v[2], 32);
}

static uint64_t
bytewise(const struct hash_key *k, const unsigned char *p, size_t n, int c,
         int d)
{
    uint64_t v[4] = {
        k->k0 ^ 0x736f6d6570736575ULL, k->k1 ^ 0x646f72616e646f6dULL,
        k->k0 ^ 0x6c7967656e657261ULL, k->k1 ^ 0x7465646279746573ULL};
    uint64_t m = 0;
    size_t i;
    int r;

    for (i = 0; i <= n; i++) {
        if (i == n)
            m |= (uint64_t)n << 56; /* the last word carries the length */
        else
            m |= (uint64_t)p[i] << (8 * (i % 8));
        if (i % 8 == 7 || i == n) {
            v[3] ^= m;
            for (r = 0; r < c; r++)
                sipround(v);
            v[0] ^= m;
            m = 0;
        }
    }
    v[2] ^= 0xff;
    for (r = 0; r < d; r++)
        sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

START_TEST(test_hash_every_length_and_alignment)
{
    unsigned char buf[80];
    struct hash_key k;
    size_t n, off, i;

    hash_key_random(&k);
    for (i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    for (off = 0; off < 8; off++)
        for (n = 0; n <= 64; n++) {
            ck_assert_uint_eq(hash_sip13(&k, buf + off, n),
                              bytewise(&k, buf + off, n, 1, 3));
            ck_assert_uint_eq(hash_sip24(&k, buf + off, n),
                              bytewise(&k, buf + off, n, 2, 4));
        }
}
END_TEST

START_TEST(test_hash_depends_on_key_and_bytes)
{
    struct hash_key a, b;

    hash_key_random(&a);
    hash_key_random(&b);
    ck_assert(a.k0 != b.k0 || a.k1 != b.k1);
    ck_assert_uint_ne(hash_sip13(&a, "key", 3), hash_sip13(&b, "key", 3));
    ck_assert_uint_ne(hash_sip13(&a, "a\0b", 3), hash_sip13(&a, "a\0c", 3));
    ck_assert_uint_eq(hash_sip13(&a, "key", 3), hash_sip13(&a, "key", 3));
}
END_TEST

START_TEST(test_hash_spreads_similar_keys)
{
    struct hash_key k;
    unsigned counts[64] = {0};
    char key[16];
    unsigned i;
    int n;

    hash_key_random(&k);
    for (i = 0; i < 64000; i++) {
        n = snprintf(key, sizeof key, "key:%u", i);
        counts[hash_sip13(&k, key, (size_t)n) & 63]++;
    }
    for (i = 0; i < 64; i++)
        ck_assert_msg(counts[i] > 700 && counts[i] < 1300, "bucket %u: %u", i,
                      counts[i]);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("hash");
    TCase *tc = tcase_create("siphash");

    tcase_add_test(tc, test_hash_sip24_reference_vectors);
    tcase_add_test(tc, test_hash_every_length_and_alignment);
    tcase_add_test(tc, test_hash_depends_on_key_and_bytes);
    tcase_add_test(tc, test_hash_spreads_similar_keys);
    suite_add_tcase(s, tc);
    return check_run(s);
}
