/*
 * htable.h: chained hash table of entries with incremental resize; no locks
 * (the shard's lock covers it).
 *
 * Buckets are a power of two; an entry lives in bucket (hash & mask). When
 * entries outnumber buckets the table doubles: a second array is allocated
 * and buckets move over HTABLE_REHASH_STEP at a time on each insert or
 * removal (and on each cleanup slice), so no call pays for the whole table.
 * While rehashing, lookups try the old array, then the new one.
 * Hashes are not stored: moving an entry recomputes its name's hash.
 *
 * Chain links (bucket slots and entry->hlink) are tagged pointers: the low
 * 48 bits address the next entry (user-space addresses on x86-64 and arm64
 * fit), the high 16 bits are bits 32-47 of that entry's hash, so a lookup
 * skips most non-matching entries without touching their memory.
 */
#ifndef HTABLE_H
#define HTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entry.h"
#include "hash.h"

#define HTABLE_INITIAL_BUCKETS 16
#define HTABLE_REHASH_STEP     4

struct htable {
    uintptr_t *tab[2]; /* tab[1] is non-NULL only while rehashing */
    size_t mask[2];
    size_t count;      /* entries in both arrays */
    size_t rehash_idx; /* next bucket of tab[0] to move */
    const struct hash_key *key;
};

/* 0, or -1 (ENOMEM) with nothing allocated. key is borrowed. */
int htable_init(struct htable *t, const struct hash_key *key);
/* Frees the bucket arrays, not the entries. */
void htable_fini(struct htable *t);
/* hash_name() of n under the table's key. */
uint64_t htable_hash(const struct htable *t, const struct entry_name *n);
/* The hash of e's name. */
uint64_t htable_entry_hash(const struct htable *t, const struct entry *e);
/* The entry named n, whose hash is h, or NULL. */
struct entry *htable_find(const struct htable *t, uint64_t h,
                          const struct entry_name *n);
/* Inserts e, whose key is not in the table; may start a resize (if its
 * allocation fails the table just keeps its size). */
void htable_insert(struct htable *t, struct entry *e, uint64_t h);
/* Removes e, which is in the table. */
void htable_remove(struct htable *t, struct entry *e, uint64_t h);
bool htable_rehashing(const struct htable *t);
/* Gives an empty table that is not resizing enough buckets for n entries
 * (the power of two at or above n) at once, so that n inserts start no
 * resize. Does nothing to a table that holds entries or is resizing, nor
 * when the allocation fails (the table then grows as usual). */
void htable_reserve(struct htable *t, size_t n);
/* Moves up to n buckets to the new array; finishes the resize at the end. */
void htable_rehash(struct htable *t, size_t n);

/* Visits the entries of up to n buckets starting at *cursor; each entry for
 * which drop() returns true is removed from the table (drop must not touch
 * the table). Advances *cursor; returns true when it wrapped to 0 (a full
 * pass ended). While a resize runs, moves n buckets instead of visiting. */
bool htable_sweep(struct htable *t, size_t *cursor, size_t n,
                  bool (*drop)(struct entry *e, void *ctx), void *ctx);

/* Visits (never removes) the entries of up to n buckets from *cursor and
 * advances it; returns true when the cursor came back to 0: every entry
 * present during the whole scan was visited exactly once. The cursor runs
 * in reverse-binary order (Redis's dictScan), so a doubling between two
 * calls neither skips nor repeats an entry; while a resize runs, the call
 * moves n buckets instead of visiting. Start with *cursor = 0. */
bool htable_scan(struct htable *t, size_t *cursor, size_t n,
                 void (*visit)(struct entry *e, void *ctx), void *ctx);

#endif
