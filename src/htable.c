/*
 * htable.c: chained hash table with incremental doubling (see htable.h).
 *
 * Resize, as Redis's dict does it: tab[1] is allocated at twice the size,
 * then each insert or removal moves HTABLE_REHASH_STEP buckets of tab[0],
 * from rehash_idx upwards; when the last one has moved, tab[1] becomes
 * tab[0]. A doubling starts only when none is running, and since it starts
 * when count exceeds the buckets, the next one is at least as many inserts
 * away as there are buckets to move, so one always ends before the next.
 */
#include <stdlib.h>

#include "htable.h"

int
htable_init(struct htable *t, const struct hash_key *key)
{
    t->tab[0] = calloc(HTABLE_INITIAL_BUCKETS, sizeof *t->tab[0]);
    if (t->tab[0] == NULL)
        return -1;
    t->tab[1] = NULL;
    t->mask[0] = HTABLE_INITIAL_BUCKETS - 1;
    t->mask[1] = 0;
    t->count = 0;
    t->rehash_idx = 0;
    t->key = key;
    return 0;
}

void
htable_fini(struct htable *t)
{
    free(t->tab[0]);
    free(t->tab[1]);
    t->tab[0] = t->tab[1] = NULL;
}

uint64_t
htable_hash(const struct htable *t, const char *key, size_t klen)
{
    return hash_sip13(t->key, key, klen);
}

bool
htable_rehashing(const struct htable *t)
{
    return t->tab[1] != NULL;
}

static struct entry *
chain_find(struct entry *e, const char *key, size_t klen)
{
    for (; e != NULL; e = e->hnext)
        if (entry_key_eq(e, key, klen))
            return e;
    return NULL;
}

struct entry *
htable_find(const struct htable *t, uint64_t h, const char *key, size_t klen)
{
    struct entry *e;

    e = chain_find(t->tab[0][h & t->mask[0]], key, klen);
    if (e == NULL && t->tab[1] != NULL)
        e = chain_find(t->tab[1][h & t->mask[1]], key, klen);
    return e;
}

/* The bucket that holds (or will hold) an entry of hash h. */
static struct entry **
bucket_of(struct htable *t, uint64_t h)
{
    size_t i = h & t->mask[0];

    if (t->tab[1] != NULL && i < t->rehash_idx)
        return &t->tab[1][h & t->mask[1]];
    return &t->tab[0][i];
}

void
htable_rehash(struct htable *t, size_t n)
{
    struct entry *e, *next, **dst;

    while (t->tab[1] != NULL && n-- > 0) {
        for (e = t->tab[0][t->rehash_idx]; e != NULL; e = next) {
            next = e->hnext;
            dst = &t->tab[1][htable_hash(t, entry_key(e), entry_klen(e)) &
                             t->mask[1]];
            e->hnext = *dst;
            *dst = e;
        }
        t->tab[0][t->rehash_idx++] = NULL;
        if (t->rehash_idx > t->mask[0]) {
            free(t->tab[0]);
            t->tab[0] = t->tab[1];
            t->mask[0] = t->mask[1];
            t->tab[1] = NULL;
            t->mask[1] = 0;
            t->rehash_idx = 0;
        }
    }
}

static void
maybe_grow(struct htable *t)
{
    size_t buckets = t->mask[0] + 1;

    if (t->tab[1] != NULL || t->count <= buckets ||
        buckets > SIZE_MAX / 2 / sizeof *t->tab[1])
        return;
    t->tab[1] = calloc(buckets * 2, sizeof *t->tab[1]);
    if (t->tab[1] == NULL)
        return;
    t->mask[1] = buckets * 2 - 1;
    t->rehash_idx = 0;
}

void
htable_insert(struct htable *t, struct entry *e, uint64_t h)
{
    struct entry **b;

    htable_rehash(t, HTABLE_REHASH_STEP);
    b = bucket_of(t, h);
    e->hnext = *b;
    *b = e;
    t->count++;
    maybe_grow(t);
}

void
htable_remove(struct htable *t, struct entry *e, uint64_t h)
{
    struct entry **pp;

    for (pp = bucket_of(t, h); *pp != e; pp = &(*pp)->hnext)
        ;
    *pp = e->hnext;
    e->hnext = NULL;
    t->count--;
    htable_rehash(t, HTABLE_REHASH_STEP);
}

bool
htable_sweep(struct htable *t, size_t *cursor, size_t n,
             bool (*drop)(struct entry *e, void *ctx), void *ctx)
{
    struct entry **pp, *e;

    if (t->tab[1] != NULL) {
        htable_rehash(t, n);
        return false;
    }
    if (*cursor > t->mask[0])
        *cursor = 0;
    while (n-- > 0) {
        for (pp = &t->tab[0][*cursor]; (e = *pp) != NULL;) {
            if (drop(e, ctx)) {
                *pp = e->hnext;
                e->hnext = NULL;
                t->count--;
            } else {
                pp = &e->hnext;
            }
        }
        if (++*cursor > t->mask[0]) {
            *cursor = 0;
            return true;
        }
    }
    return false;
}
