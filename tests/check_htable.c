/*
 * check_htable.c: the chained table with incremental resize (htable.c).
 */
#include <stdio.h>

#include "check_run.h"
#include "htable.h"

#define N 5000

static struct hash_key key;
static struct htable t;
static struct entry *ents[N];

static void
setup(void)
{
    struct entry_name name;
    char k[32];
    int i, n;

    hash_key_random(&key);
    ck_assert_int_eq(htable_init(&t, &key), 0);
    for (i = 0; i < N; i++) {
        n = snprintf(k, sizeof k, "key-%d", i);
        name = (struct entry_name){NULL, 0, k, (size_t)n};
        ents[i] = entry_create(&name, "v", 1, 0, 0, 0);
    }
}

static void
teardown(void)
{
    int i;

    htable_fini(&t);
    for (i = 0; i < N; i++)
        entry_put(ents[i]);
}

static uint64_t
h_of(const struct entry *e)
{
    return htable_entry_hash(&t, e);
}

static struct entry *
find(const struct entry *e)
{
    struct entry_name n;

    entry_name_of(e, &n);
    return htable_find(&t, h_of(e), &n);
}

START_TEST(test_htable_finds_everything_while_growing)
{
    int i, j;

    for (i = 0; i < N; i++) {
        htable_insert(&t, ents[i], h_of(ents[i]));
        if (i % 97 == 0)
            for (j = 0; j <= i; j++)
                ck_assert_ptr_eq(find(ents[j]), ents[j]);
    }
    ck_assert_uint_eq(t.count, N);
    for (i = 0; i < N; i++)
        ck_assert_ptr_eq(find(ents[i]), ents[i]);
    ck_assert_uint_ge(t.mask[0] + 1 + (t.tab[1] ? t.mask[1] + 1 : 0), N);
}
END_TEST

START_TEST(test_htable_remove_leaves_others)
{
    int i;

    for (i = 0; i < N; i++)
        htable_insert(&t, ents[i], h_of(ents[i]));
    for (i = 0; i < N; i += 2)
        htable_remove(&t, ents[i], h_of(ents[i]));
    ck_assert_uint_eq(t.count, N / 2);
    for (i = 0; i < N; i++)
        ck_assert_ptr_eq(find(ents[i]), i % 2 ? ents[i] : NULL);
}
END_TEST

static bool
drop_every_third(struct entry *e, void *ctx)
{
    int *visits = ctx;
    int idx = atoi(entry_key(e) + 4);

    visits[idx]++;
    return idx % 3 == 0;
}

START_TEST(test_htable_sweep_visits_each_once_and_drops)
{
    static int visits[N];
    size_t cursor = 0;
    int i, slices = 0;

    for (i = 0; i < N; i++)
        htable_insert(&t, ents[i], h_of(ents[i]));
    while (htable_rehashing(&t))
        htable_rehash(&t, 1);
    while (!htable_sweep(&t, &cursor, 7, drop_every_third, visits))
        slices++;
    ck_assert_int_gt(slices, 10);
    for (i = 0; i < N; i++) {
        ck_assert_int_eq(visits[i], 1);
        ck_assert_ptr_eq(find(ents[i]), i % 3 ? ents[i] : NULL);
    }
    ck_assert_uint_eq(t.count, N - (N + 2) / 3);
}
END_TEST

static void
count_visit(struct entry *e, void *ctx)
{
    int *visits = ctx;

    visits[atoi(entry_key(e) + 4)]++;
}

/* Half the entries are in before the scan starts and the table doubles
 * several times while it runs: each of them is still visited exactly once. */
START_TEST(test_htable_scan_visits_each_once_while_growing)
{
    static int visits[N];
    size_t cursor = 0;
    int i, next = N / 8;

    for (i = 0; i < next; i++)
        htable_insert(&t, ents[i], h_of(ents[i]));
    while (htable_rehashing(&t))
        htable_rehash(&t, 1);
    while (!htable_scan(&t, &cursor, 3, count_visit, visits))
        if (next < N)
            for (i = 0; i < 40 && next < N; i++, next++)
                htable_insert(&t, ents[next], h_of(ents[next]));
    ck_assert_int_eq(next, N);
    for (i = 0; i < N / 8; i++)
        ck_assert_int_eq(visits[i], 1);
    for (; i < N; i++)
        ck_assert_int_le(visits[i], 1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("htable");
    TCase *tc = tcase_create("htable");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_htable_finds_everything_while_growing);
    tcase_add_test(tc, test_htable_remove_leaves_others);
    tcase_add_test(tc, test_htable_sweep_visits_each_once_and_drops);
    tcase_add_test(tc, test_htable_scan_visits_each_once_while_growing);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return check_run(s);
}
