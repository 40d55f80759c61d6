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
#include <assert.h>
#include <stdlib.h>

#include "htable.h"

#define LINK_ADDR_BITS    48
#define HTABLE_SCAN_AHEAD 4 /* buckets a scan prefetches ahead */
#define LINK_ADDR_MASK    ((UINT64_C(1) << LINK_ADDR_BITS) - 1)

_Static_assert(sizeof(uintptr_t) == 8, "tagged links need 64-bit pointers");

static inline uintptr_t
link_make(struct entry *e, uint64_t h)
{
    assert(((uintptr_t)e & ~LINK_ADDR_MASK) == 0);
    return (uintptr_t)e | (uintptr_t)((h >> 32) << LINK_ADDR_BITS);
}

static inline struct entry *
link_entry(uintptr_t l)
{
    return (struct entry *)(l & LINK_ADDR_MASK);
}

static inline bool
link_tag_matches(uintptr_t l, uint64_t h)
{
    return (l >> LINK_ADDR_BITS) == ((h >> 32) & 0xffff);
}

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
htable_hash(const struct htable *t, const struct entry_name *n)
{
    return hash_name(t->key, n->ns, n->nslen, n->key, n->klen);
}

uint64_t
htable_entry_hash(const struct htable *t, const struct entry *e)
{
    struct entry_name n;

    entry_name_of(e, &n);
    return htable_hash(t, &n);
}

bool
htable_rehashing(const struct htable *t)
{
    return t->tab[1] != NULL;
}

static struct entry *
chain_find_ns(uintptr_t l, uint64_t h, const struct entry_name *n)
{
    struct entry *e;

    for (; l != 0; l = e->hlink) {
        e = link_entry(l);
        if (link_tag_matches(l, h) && entry_name_eq(e, n))
            return e;
    }
    return NULL;
}

/* The shared keyspace has its own loop: a lookup there costs what it did
 * before namespaces existed. */
static struct entry *
chain_find(uintptr_t l, uint64_t h, const struct entry_name *n)
{
    const char *key = n->key;
    size_t klen = n->klen;
    struct entry *e;

    if (n->nslen != 0)
        return chain_find_ns(l, h, n);
    for (; l != 0; l = e->hlink) {
        e = link_entry(l);
        if (link_tag_matches(l, h) && entry_shared_key_eq(e, key, klen))
            return e;
    }
    return NULL;
}

struct entry *
htable_find(const struct htable *t, uint64_t h, const struct entry_name *n)
{
    struct entry *e;

    e = chain_find(t->tab[0][h & t->mask[0]], h, n);
    if (e == NULL && t->tab[1] != NULL)
        e = chain_find(t->tab[1][h & t->mask[1]], h, n);
    return e;
}

/* The bucket that holds (or will hold) an entry of hash h. */
static uintptr_t *
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
    uintptr_t l, next, *dst;
    struct entry *e;
    uint64_t h;

    while (t->tab[1] != NULL && n-- > 0) {
        for (l = t->tab[0][t->rehash_idx]; l != 0; l = next) {
            e = link_entry(l);
            next = e->hlink;
            h = htable_entry_hash(t, e);
            dst = &t->tab[1][h & t->mask[1]];
            e->hlink = *dst;
            *dst = link_make(e, h);
        }
        t->tab[0][t->rehash_idx++] = 0;
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

void
htable_reserve(struct htable *t, size_t n)
{
    size_t buckets = t->mask[0] + 1;
    uintptr_t *tab;

    if (t->count != 0 || t->tab[1] != NULL)
        return;
    while (buckets < n && buckets <= SIZE_MAX / 2 / sizeof *tab)
        buckets *= 2;
    if (buckets == t->mask[0] + 1 ||
        (tab = calloc(buckets, sizeof *tab)) == NULL)
        return;
    free(t->tab[0]);
    t->tab[0] = tab;
    t->mask[0] = buckets - 1;
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
    uintptr_t *b;

    htable_rehash(t, HTABLE_REHASH_STEP);
    b = bucket_of(t, h);
    e->hlink = *b;
    *b = link_make(e, h);
    t->count++;
    maybe_grow(t);
}

void
htable_remove(struct htable *t, struct entry *e, uint64_t h)
{
    uintptr_t *b = bucket_of(t, h);
    struct entry *prev = NULL, *cur = link_entry(*b);

    while (cur != e) {
        prev = cur;
        cur = link_entry(cur->hlink);
    }
    if (prev != NULL)
        prev->hlink = e->hlink;
    else
        *b = e->hlink;
    e->hlink = 0;
    t->count--;
    htable_rehash(t, HTABLE_REHASH_STEP);
}

/* Removes from bucket b every entry for which drop() returns true. */
static void
sweep_bucket(struct htable *t, uintptr_t *b,
             bool (*drop)(struct entry *e, void *ctx), void *ctx)
{
    struct entry *prev = NULL, *e;
    uintptr_t l, next;

    for (l = *b; l != 0; l = next) {
        e = link_entry(l);
        next = e->hlink;
        if (!drop(e, ctx)) {
            prev = e;
            continue;
        }
        if (prev != NULL)
            prev->hlink = next;
        else
            *b = next;
        e->hlink = 0;
        t->count--;
    }
}

bool
htable_sweep(struct htable *t, size_t *cursor, size_t n,
             bool (*drop)(struct entry *e, void *ctx), void *ctx)
{
    if (t->tab[1] != NULL) {
        htable_rehash(t, n);
        return false;
    }
    if (*cursor > t->mask[0])
        *cursor = 0;
    while (n-- > 0) {
        sweep_bucket(t, &t->tab[0][*cursor], drop, ctx);
        if (++*cursor > t->mask[0]) {
            *cursor = 0;
            return true;
        }
    }
    return false;
}

/* The bits of v in reverse order. */
static size_t
bit_reverse(size_t v)
{
    size_t s = sizeof v * 8, mask = ~(size_t)0;

    while ((s >>= 1) > 0) {
        mask ^= mask << s;
        v = ((v >> s) & mask) | ((v << s) & ~mask);
    }
    return v;
}

/* The cursor after v in a table of mask + 1 buckets: v's bits above mask
 * set, then one added from the top down. A bucket b of a table twice as
 * large holds entries only of bucket b & mask, and the cursor reaches both
 * b and b | (mask + 1) together, after every bucket it has passed. */
static size_t
scan_next(size_t v, size_t mask)
{
    v |= ~mask;
    v = bit_reverse(v);
    v++;
    return bit_reverse(v);
}

bool
htable_scan(struct htable *t, size_t *cursor, size_t n,
            void (*visit)(struct entry *e, void *ctx), void *ctx)
{
    size_t ahead, i;
    struct entry *e;
    uintptr_t l;

    if (t->tab[1] != NULL) {
        htable_rehash(t, n);
        return false;
    }
    /* The first entry of the bucket HTABLE_SCAN_AHEAD steps on is
     * prefetched (two lines: header, name and a small value), so a visit
     * seldom waits for memory: a save holds a shard's lock the shorter. */
    for (ahead = *cursor, i = 0; i < HTABLE_SCAN_AHEAD; i++)
        ahead = scan_next(ahead, t->mask[0]);
    while (n-- > 0) {
        l = t->tab[0][ahead & t->mask[0]];
        __builtin_prefetch(link_entry(l));
        __builtin_prefetch((const char *)link_entry(l) + 64);
        ahead = scan_next(ahead, t->mask[0]);
        for (l = t->tab[0][*cursor & t->mask[0]]; l != 0; l = e->hlink) {
            e = link_entry(l);
            visit(e, ctx);
        }
        *cursor = scan_next(*cursor, t->mask[0]);
        if (*cursor == 0)
            return true;
    }
    return false;
}
