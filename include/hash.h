/*
 * hash.h: keyed hashing of keys (SipHash-1-3), so that clients who do not
 * know the per-process secret cannot craft keys that pile into one chain.
 */
#ifndef HASH_H
#define HASH_H

#include <stddef.h>
#include <stdint.h>

struct hash_key {
    uint64_t k0, k1;
};

/* Fills k from getrandom(2); falls back to time and address bits. */
void hash_key_random(struct hash_key *k);
/* SipHash-1-3 of n bytes at p under k. */
uint64_t hash_sip13(const struct hash_key *k, const void *p, size_t n);
/* Hash of key (klen bytes) in the namespace of nslen (>= 1) bytes at ns:
 * SipHash-1-3 of the key under a key derived from k and the namespace (its
 * bytes and length), so the keys of each keyspace hash independently and
 * no namespace and key pair is a concatenation of another. */
uint64_t hash_sip13_ns(const struct hash_key *k, const void *ns, size_t nslen,
                       const void *key, size_t klen);

/* Hash of key in the keyspace of nslen bytes at ns: the shared keyspace
 * (nslen 0) hashes the key alone, as it always has. */
static inline uint64_t
hash_name(const struct hash_key *k, const void *ns, size_t nslen,
          const void *key, size_t klen)
{
    if (nslen == 0)
        return hash_sip13(k, key, klen);
    return hash_sip13_ns(k, ns, nslen, key, klen);
}

/* SipHash-2-4, the reference variant, for checking the implementation. */
uint64_t hash_sip24(const struct hash_key *k, const void *p, size_t n);

#endif
