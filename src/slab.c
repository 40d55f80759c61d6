/*
 * slab.c: size classes of small objects in aligned slabs (see slab.h).
 *
 * A slab hands out objects from its free list (objects freed, each holding
 * the offset of the next one in its first 4 bytes) and then from its bump
 * offset (objects never used, whose pages are not touched yet). A class
 * lists its slabs that have room; a full slab leaves the list and comes
 * back when one of its objects is freed. A slab whose last object is freed
 * leaves its class for the spares or, when SLAB_SPARE are kept already,
 * goes back to the system.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "slab.h"
#include "tc.h"

#define SLAB_HEADER_BYTES  64u
#define SLAB_CLASSES       (SLAB_MAX_BYTES / SLAB_GRAIN)
#define SLAB_RESERVE_BYTES (16u * SLAB_BYTES)

/*
 * The header at the start of every slab. cls and size are fixed while the
 * slab holds any object. prev, next, listed, live, free and bump are
 * protected by the lock of class cls (by spare_lock while the slab is a
 * spare, linked by next).
 */
struct slab {
    struct slab *prev, *next; /* the class's slabs with room, or spares */
    uint32_t cls;             /* index in classes[] */
    uint32_t size;            /* object bytes */
    uint32_t live;            /* objects allocated */
    uint32_t free;            /* offset of the first freed object, 0: none */
    uint32_t bump;            /* offset of the first never-used object */
    bool listed;              /* on its class's list (it has room) */
};
_Static_assert(sizeof(struct slab) <= SLAB_HEADER_BYTES, "slab header");

/*
 * One size class. lock protects every field, and the slabs on the list.
 * Invariant: a slab of this class is on the list exactly when it has room
 * (a freed object or space past bump); objects is the sum of their live.
 */
struct slab_class {
    pthread_mutex_t lock;
    struct slab *avail; /* slabs with room, most recently given room first */
    uint64_t slabs;     /* slabs of this class, full ones included */
    uint64_t objects;
} __attribute__((aligned(TC_CACHELINE)));

static struct slab_class classes[SLAB_CLASSES];
static pthread_once_t classes_once = PTHREAD_ONCE_INIT;

/* spare_lock protects spares and nspare (empty slabs kept with their pages
 * for the next class that needs a slab) and the reserve: slabs mapped but
 * never used, from reserve_next to reserve_end. Slabs are mapped
 * SLAB_RESERVE_BYTES at a time so that they lie side by side: fewer
 * mappings, and page tables as dense as the heap's. Pages of the reserve
 * are not touched, so they are not resident. */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slab *spares;
static uint32_t nspare;
static unsigned char *reserve_next, *reserve_end;

/* Class locks are held for a few instructions: spin briefly rather than
 * sleep, as the shard locks do. */
static void
classes_init(void)
{
    pthread_mutexattr_t attr;
    size_t i;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    for (i = 0; i < SLAB_CLASSES; i++)
        pthread_mutex_init(&classes[i].lock, &attr);
    pthread_mutexattr_destroy(&attr);
}

static inline size_t
class_index(size_t n)
{
    return slab_class_bytes(n) / SLAB_GRAIN - 1;
}

static inline struct slab *
slab_of(const void *p)
{
    return (struct slab *)((uintptr_t)p & ~(uintptr_t)(SLAB_BYTES - 1));
}

/* SLAB_RESERVE_BYTES mapped at a multiple of SLAB_BYTES, or NULL. */
static unsigned char *
reserve_map(void)
{
    unsigned char *p, *a;
    size_t head;

    p = mmap(NULL, SLAB_RESERVE_BYTES + SLAB_BYTES, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    a = (unsigned char *)(((uintptr_t)p + SLAB_BYTES - 1) &
                          ~(uintptr_t)(SLAB_BYTES - 1));
    head = (size_t)(a - p);
    if (head > 0)
        munmap(p, head);
    munmap(a + SLAB_RESERVE_BYTES, SLAB_BYTES - head);
    return a;
}

/* A spare, else the next slab of the reserve (mapped anew when used up),
 * or NULL. */
static struct slab *
spare_take(void)
{
    struct slab *s = NULL;

    pthread_mutex_lock(&spare_lock);
    if (spares != NULL) {
        s = spares;
        spares = s->next;
        nspare--;
    } else {
        if (reserve_next == reserve_end) {
            reserve_next = reserve_map();
            reserve_end =
                reserve_next != NULL ? reserve_next + SLAB_RESERVE_BYTES : NULL;
        }
        if (reserve_next != NULL) {
            s = (struct slab *)(void *)reserve_next;
            reserve_next += SLAB_BYTES;
        }
    }
    pthread_mutex_unlock(&spare_lock);
    return s;
}

/* Keeps the empty slab s as a spare, or unmaps it. */
static void
spare_put(struct slab *s)
{
    bool keep;

    pthread_mutex_lock(&spare_lock);
    keep = nspare < SLAB_SPARE;
    if (keep) {
        s->next = spares;
        spares = s;
        nspare++;
    }
    pthread_mutex_unlock(&spare_lock);
    if (!keep)
        munmap(s, SLAB_BYTES);
}

static void
list_push(struct slab_class *c, struct slab *s)
{
    s->prev = NULL;
    s->next = c->avail;
    if (c->avail != NULL)
        c->avail->prev = s;
    c->avail = s;
    s->listed = true;
}

static void
list_remove(struct slab_class *c, struct slab *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        c->avail = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->listed = false;
}

/* A new empty slab for class c (lock held), listed; NULL when none can be
 * mapped. */
static struct slab *
class_grow(struct slab_class *c)
{
    struct slab *s = spare_take();

    if (s == NULL)
        return NULL;
    s->cls = (uint32_t)(c - classes);
    s->size = (s->cls + 1) * SLAB_GRAIN;
    s->live = 0;
    s->free = 0;
    s->bump = SLAB_HEADER_BYTES;
    list_push(c, s);
    c->slabs++;
    return s;
}

static inline bool
slab_full(const struct slab *s)
{
    return s->free == 0 && s->bump + s->size > SLAB_BYTES;
}

void *
slab_alloc(size_t n)
{
    struct slab_class *c;
    unsigned char *p;
    struct slab *s;

    assert(n >= 1 && n <= SLAB_MAX_BYTES);
    pthread_once(&classes_once, classes_init);
    c = &classes[class_index(n)];
    pthread_mutex_lock(&c->lock);
    s = c->avail != NULL ? c->avail : class_grow(c);
    if (s == NULL) {
        pthread_mutex_unlock(&c->lock);
        errno = ENOMEM;
        return NULL;
    }
    if (s->free != 0) {
        p = (unsigned char *)s + s->free;
        memcpy(&s->free, p, sizeof s->free);
    } else {
        p = (unsigned char *)s + s->bump;
        s->bump += s->size;
    }
    s->live++;
    c->objects++;
    if (slab_full(s))
        list_remove(c, s);
    pthread_mutex_unlock(&c->lock);
    return p;
}

void
slab_free(void *p, size_t n)
{
    struct slab *s = slab_of(p);
    struct slab_class *c;
    bool empty;

    if (p == NULL)
        return;
    c = &classes[s->cls];
    assert(s->size == slab_class_bytes(n));
    (void)n;
    pthread_mutex_lock(&c->lock);
    memcpy(p, &s->free, sizeof s->free);
    s->free = (uint32_t)((unsigned char *)p - (unsigned char *)s);
    if (!s->listed)
        list_push(c, s);
    c->objects--;
    empty = --s->live == 0;
    if (empty) {
        list_remove(c, s);
        c->slabs--;
    }
    pthread_mutex_unlock(&c->lock);
    if (empty)
        spare_put(s);
}

void
slab_usage(struct slab_usage *u)
{
    size_t i;

    memset(u, 0, sizeof *u);
    pthread_once(&classes_once, classes_init);
    for (i = 0; i < SLAB_CLASSES; i++) {
        pthread_mutex_lock(&classes[i].lock);
        u->slabs += classes[i].slabs;
        u->objects += classes[i].objects;
        pthread_mutex_unlock(&classes[i].lock);
    }
    pthread_mutex_lock(&spare_lock);
    u->spare = nspare;
    pthread_mutex_unlock(&spare_lock);
    u->slabs += u->spare;
}
