/*
 * check_slab.c: the slab allocator of small entries (slab.c), and that the
 * accounted bytes of entries of mixed sizes follow resident memory.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "check_run.h"
#include "entry.h"
#include "slab.h"

/* Resident memory is compared only without a sanitizer, whose shadow
 * memory and allocator change it. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RSS_CHECKS 0
#else
#define RSS_CHECKS 1
#endif

static long
rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static uint64_t
xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

START_TEST(test_slab_objects_packed_by_class)
{
    unsigned char *a = slab_alloc(145), *b = slab_alloc(148);
    unsigned char *c = slab_alloc(149);

    ck_assert_uint_eq(slab_class_bytes(145), 148);
    ck_assert_uint_eq(slab_class_bytes(148), 148);
    ck_assert_uint_eq((uintptr_t)a % 4, 0);
    ck_assert_ptr_eq(b, a + 148);
    ck_assert_uint_eq((uintptr_t)a / SLAB_BYTES, (uintptr_t)b / SLAB_BYTES);
    ck_assert_uint_ne((uintptr_t)a / SLAB_BYTES, (uintptr_t)c / SLAB_BYTES);
    memset(a, 1, 145);
    memset(b, 2, 148);
    ck_assert_uint_eq(a[144], 1);
    slab_free(a, 145);
    slab_free(b, 148);
    slab_free(c, 149);
    slab_free(NULL, 1);
}
END_TEST

START_TEST(test_slab_freed_object_is_reused_first)
{
    void *keep = slab_alloc(64), *a = slab_alloc(64), *b = slab_alloc(64);

    slab_free(a, 64);
    ck_assert_ptr_eq(slab_alloc(64), a);
    slab_free(b, 64);
    slab_free(a, 64);
    ck_assert_ptr_eq(slab_alloc(64), a);
    ck_assert_ptr_eq(slab_alloc(64), b);
    slab_free(a, 64);
    slab_free(b, 64);
    slab_free(keep, 64);
}
END_TEST

START_TEST(test_slab_full_slab_takes_objects_again_when_one_is_freed)
{
    size_t per = (SLAB_BYTES - 64) / 192, i;
    void **p = calloc(per + 1, sizeof *p);
    struct slab_usage u;

    for (i = 0; i <= per; i++)
        p[i] = slab_alloc(192);
    slab_usage(&u);
    ck_assert_uint_eq(u.slabs, 2);
    ck_assert_uint_eq(u.objects, per + 1);
    slab_free(p[3], 192);
    ck_assert_ptr_eq(slab_alloc(192), p[3]);
    for (i = 0; i <= per; i++)
        slab_free(p[i], 192);
    free(p);
}
END_TEST

START_TEST(test_slab_empty_slabs_go_back_beyond_the_spares)
{
    size_t per = (SLAB_BYTES - 64) / 180, i;
    void **objs = malloc(4 * per * sizeof *objs), *p[6];
    struct slab_usage u;
    long rss0;

    ck_assert_ptr_nonnull(objs);

    for (i = 0; i < 6; i++) {
        p[i] = slab_alloc(32 + 4 * i);
        memset(p[i], 1, 32 + 4 * i);
    }
    slab_usage(&u);
    ck_assert_uint_eq(u.slabs, 6);
    ck_assert_uint_eq(u.spare, 0);
    for (i = 0; i < 6; i++)
        slab_free(p[i], 32 + 4 * i);
    slab_usage(&u);
    ck_assert_uint_eq(u.slabs, SLAB_SPARE);
    ck_assert_uint_eq(u.spare, SLAB_SPARE);
    ck_assert_uint_eq(u.objects, 0);
    /* a spare serves the next class that needs a slab */
    p[0] = slab_alloc(190);
    slab_usage(&u);
    ck_assert_uint_eq(u.slabs, SLAB_SPARE);
    ck_assert_uint_eq(u.spare, SLAB_SPARE - 1);
    slab_free(p[0], 190);
    /* four slabs filled then emptied: two stay as spares, two are unmapped */
    memset(objs, 0, 4 * per * sizeof *objs);
    rss0 = rss_bytes();
    for (i = 0; i < 4 * per; i++) {
        objs[i] = slab_alloc(180);
        memset(objs[i], 1, 180);
    }
    slab_usage(&u);
    ck_assert_uint_eq(u.slabs, 4);
    if (RSS_CHECKS)
        ck_assert_int_ge(rss_bytes() - rss0, (long)(4 * per * 180));
    for (i = 0; i < 4 * per; i++)
        slab_free(objs[i], 180);
    slab_usage(&u);
    ck_assert_uint_eq(u.slabs, SLAB_SPARE);
    if (RSS_CHECKS)
        ck_assert_int_le(rss_bytes() - rss0,
                         (long)SLAB_SPARE * SLAB_BYTES + (256 << 10));
    free(objs);
}
END_TEST

#define MT_ROUNDS 20000

static void *
mt_main(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg, r;
    void *held[16] = {0};
    size_t sizes[16], i;

    for (i = 0; i < MT_ROUNDS; i++) {
        r = xorshift(&seed);
        slab_free(held[r % 16], sizes[r % 16]);
        sizes[r % 16] = 1 + (r >> 8) % SLAB_MAX_BYTES;
        held[r % 16] = slab_alloc(sizes[r % 16]);
        ck_assert_ptr_nonnull(held[r % 16]);
        memset(held[r % 16], (int)i, sizes[r % 16]);
    }
    for (i = 0; i < 16; i++)
        slab_free(held[i], sizes[i]);
    return NULL;
}

START_TEST(test_slab_threads_alloc_and_free_concurrently)
{
    pthread_t th[2];
    struct slab_usage u;
    uintptr_t i;

    for (i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, mt_main, (void *)(i + 7)),
                         0);
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    slab_usage(&u);
    ck_assert_uint_eq(u.objects, 0);
    ck_assert_uint_le(u.slabs, SLAB_SPARE);
}
END_TEST

/* A value length of 2^k to 2^(k+1) - 1 bytes, k uniform in 0..maxlog - 1. */
static size_t
pick_vlen(uint64_t *seed, unsigned maxlog)
{
    size_t v = (size_t)1 << (xorshift(seed) % maxlog);

    return v + xorshift(seed) % v;
}

static struct entry *
mk_entry(uint64_t *seed, unsigned maxlog)
{
    struct entry_name nm = {NULL, 0, "key:0123456789ab", 16};
    size_t vlen = pick_vlen(seed, maxlog);
    struct entry *e =
        entry_create(&nm, NULL, vlen, entry_flags_for(0, vlen, 0), 0, 0);

    ck_assert_ptr_nonnull(e);
    memset(entry_value_mut(e), 'v', vlen);
    return e;
}

/* Asserts that what entry_accounted() says n entries cost, bucket slots
 * aside, is within 5 % of what resident memory grew by since rss0. */
static void
assert_accounted_follows_rss(struct entry **e, size_t n, long rss0)
{
    uint64_t accounted = 0;
    long grown = rss_bytes() - rss0;
    size_t i;

    for (i = 0; i < n; i++)
        accounted += entry_accounted(entry_name_bytes(e[i]), e[i]->vlen,
                                     entry_flags(e[i])) -
                     8;
    ck_assert_uint_ge(accounted, 32u << 20);
    if (RSS_CHECKS) {
        ck_assert_int_le(grown, (long)(accounted * 105 / 100));
        ck_assert_int_ge(grown, (long)(accounted * 95 / 100));
    }
}

/* n entries with values of 1 to 2^maxlog - 1 bytes (log-uniform), then
 * churn times n of them replaced by new ones of random sizes. */
static void
check_mixed(size_t n, unsigned maxlog, size_t churn)
{
    struct entry **e = malloc(n * sizeof *e);
    uint64_t seed = 42;
    size_t i;
    long rss0;

    ck_assert_ptr_nonnull(e);
    memset(e, 0xff, n * sizeof *e); /* resident before rss0 */
    entry_malloc_init();
    rss0 = rss_bytes();
    for (i = 0; i < n; i++)
        e[i] = mk_entry(&seed, maxlog);
    assert_accounted_follows_rss(e, n, rss0);
    for (i = 0; i < churn * n; i++) {
        size_t j = xorshift(&seed) % n;

        entry_put(e[j]);
        e[j] = mk_entry(&seed, maxlog);
    }
    assert_accounted_follows_rss(e, n, rss0);
    for (i = 0; i < n; i++)
        entry_put(e[i]);
    free(e);
}

/* Slabs, heap chunks and mapped chunks all take part. */
START_TEST(test_slab_accounted_follows_rss_values_to_64k)
{
    check_mixed(20000, 16, 2);
}
END_TEST

/* Mostly slabs, some heap chunks, replaced in random order. */
START_TEST(test_slab_accounted_follows_rss_small_values_churned)
{
    check_mixed(200000, 10, 4);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("slab");
    TCase *tc = tcase_create("slab");
    TCase *big = tcase_create("rss");

    tcase_add_test(tc, test_slab_objects_packed_by_class);
    tcase_add_test(tc, test_slab_freed_object_is_reused_first);
    tcase_add_test(tc,
                   test_slab_full_slab_takes_objects_again_when_one_is_freed);
    tcase_add_test(tc, test_slab_empty_slabs_go_back_beyond_the_spares);
    tcase_add_test(tc, test_slab_threads_alloc_and_free_concurrently);
    suite_add_tcase(s, tc);
    tcase_add_test(big, test_slab_accounted_follows_rss_values_to_64k);
    tcase_add_test(big, test_slab_accounted_follows_rss_small_values_churned);
    tcase_set_timeout(big, 60);
    suite_add_tcase(s, big);
    return check_run(s);
}
