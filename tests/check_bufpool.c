/*
 * check_bufpool.c: the pool of large buffers (bufpool.c): what it keeps,
 * what it frees, which buffer a take gets, and takes and gives from
 * several threads at once (run under ThreadSanitizer in CI).
 */
#include "check_run.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "bufpool.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

static void *
block(size_t n)
{
    void *p = malloc(n);

    ck_assert_ptr_nonnull(p);
    memset(p, 0x5a, n);
    return p;
}

static void
setup(void)
{
    bufpool_drain();
}

START_TEST(test_bufpool_empty_pool_gives_nothing)
{
    size_t cap = 0;

    ck_assert_ptr_null(bufpool_take(BUFPOOL_MIN, &cap));
    ck_assert_uint_eq(bufpool_kept_bytes(), 0);
}
END_TEST

START_TEST(test_bufpool_keeps_a_large_buffer_for_the_next_take)
{
    void *p = block(64 * KiB), *q;
    size_t cap = 0;

    bufpool_give(p);
    ck_assert_uint_eq(bufpool_kept_bytes(), malloc_usable_size(p));
    ck_assert_ptr_null(bufpool_take(128 * KiB, &cap)); /* too small */
    q = bufpool_take(40 * KiB, &cap);
    ck_assert_ptr_eq(q, p);
    ck_assert_uint_ge(cap, 64 * KiB);
    ck_assert_uint_eq(cap, malloc_usable_size(q));
    ck_assert_uint_eq(bufpool_kept_bytes(), 0);
    free(q);
}
END_TEST

START_TEST(test_bufpool_take_gets_the_smallest_that_fits)
{
    void *a = block(256 * KiB), *b = block(48 * KiB), *c = block(96 * KiB);
    size_t cap;

    bufpool_give(a);
    bufpool_give(b);
    bufpool_give(c);
    ck_assert_ptr_eq(bufpool_take(64 * KiB, &cap), c);
    ck_assert_ptr_eq(bufpool_take(1, &cap), b);
    ck_assert_ptr_eq(bufpool_take(1, &cap), a);
    free(a);
    free(b);
    free(c);
}
END_TEST

/* Under BUFPOOL_MIN or over 4 MiB: freed, not kept (ASan and valgrind see
 * the free; here the count stays 0). NULL is a no-op. */
START_TEST(test_bufpool_frees_what_it_does_not_keep)
{
    bufpool_give(block(BUFPOOL_MIN / 2));
    bufpool_give(block(5 * MiB));
    bufpool_give(NULL);
    ck_assert_uint_eq(bufpool_kept_bytes(), 0);
}
END_TEST

/* At most 8 buffers and 8 MiB: the ninth small one is freed; a larger one
 * takes the place of smaller ones; past 8 MiB nothing more is kept. */
START_TEST(test_bufpool_keeps_a_bounded_amount)
{
    size_t cap;
    void *big;

    for (int i = 0; i < 9; i++)
        bufpool_give(block(64 * KiB));
    ck_assert_uint_le(bufpool_kept_bytes(), 8 * (64 * KiB + 4 * KiB));
    ck_assert_uint_ge(bufpool_kept_bytes(), 7 * 64 * KiB);
    for (int i = 0; i < 4; i++)
        bufpool_give(block(3 * MiB));
    ck_assert_uint_le(bufpool_kept_bytes(), 8 * MiB);
    ck_assert_uint_ge(bufpool_kept_bytes(), 6 * MiB);
    big = bufpool_take(2 * MiB, &cap);
    ck_assert_ptr_nonnull(big);
    ck_assert_uint_ge(cap, 3 * MiB);
    free(big);
    bufpool_drain();
    ck_assert_uint_eq(bufpool_kept_bytes(), 0);
}
END_TEST

static void *
take_and_give(void *arg)
{
    size_t cap, n = (size_t)(uintptr_t)arg;

    for (int i = 0; i < 2000; i++) {
        unsigned char *p = bufpool_take(n, &cap);

        if (p == NULL) {
            p = malloc(n);
            ck_assert_ptr_nonnull(p);
        } else {
            ck_assert_uint_ge(cap, n);
        }
        p[0] = p[n - 1] = (unsigned char)i; /* the whole of n is ours */
        bufpool_give(p);
    }
    return NULL;
}

START_TEST(test_bufpool_threads_share_it)
{
    pthread_t t[4];

    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(
            pthread_create(&t[i], NULL, take_and_give,
                           (void *)(uintptr_t)((i + 1) * 40 * KiB)),
            0);
    for (size_t i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_le(bufpool_kept_bytes(), 8 * MiB);
    bufpool_drain();
}
END_TEST

static Suite *
bufpool_suite(void)
{
    Suite *s = suite_create("bufpool");
    TCase *tc = tcase_create("pool");

    tcase_add_checked_fixture(tc, setup, setup);
    tcase_add_test(tc, test_bufpool_empty_pool_gives_nothing);
    tcase_add_test(tc, test_bufpool_keeps_a_large_buffer_for_the_next_take);
    tcase_add_test(tc, test_bufpool_take_gets_the_smallest_that_fits);
    tcase_add_test(tc, test_bufpool_frees_what_it_does_not_keep);
    tcase_add_test(tc, test_bufpool_keeps_a_bounded_amount);
    tcase_add_test(tc, test_bufpool_threads_share_it);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return check_run(bufpool_suite());
}
