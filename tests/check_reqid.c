/*
 * check_reqid.c: which x-request-id values are accepted as sent, and the
 * shape and spread of made ones, per thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "reqid.h"

#define MADE_COUNT 2000

static void
assert_made(const char *id)
{
    size_t i;

    ck_assert_uint_eq(strlen(id), 32);
    for (i = 0; i < 32; i++)
        ck_assert_msg(strchr("0123456789abcdef", id[i]) != NULL, "%s", id);
}

START_TEST(test_reqid_valid_lengths)
{
    char s[REQID_MAX + 2];

    memset(s, 'a', sizeof s);
    ck_assert(reqid_valid(s, 1));
    ck_assert(reqid_valid(s, REQID_MAX));
    ck_assert(!reqid_valid(s, 0));
    ck_assert(!reqid_valid(s, REQID_MAX + 1));
    ck_assert(!reqid_valid(NULL, 0));
    ck_assert(!reqid_valid(NULL, 5));
}
END_TEST

START_TEST(test_reqid_valid_printable_ascii_only)
{
    ck_assert(reqid_valid("!~", 2));
    ck_assert(reqid_valid("req-1_A.b:c/d=e", 15));
    ck_assert(reqid_valid("a b", 3));
    ck_assert(reqid_valid("order 17 / retry 2", 18));
    ck_assert(!reqid_valid(" a", 2));
    ck_assert(!reqid_valid("a ", 2));
    ck_assert(!reqid_valid(" ", 1));
    ck_assert(!reqid_valid("a\tb", 3));
    ck_assert(!reqid_valid("a\nb", 3));
    ck_assert(!reqid_valid("a\x7f", 2));
    ck_assert(!reqid_valid("caf\xc3\xa9", 5));
    ck_assert(!reqid_valid("a\0b", 3));
}
END_TEST

START_TEST(test_reqid_valid_id_kept_as_sent)
{
    char out[REQID_MAX + 1];
    char s[REQID_MAX];

    reqid_accept_or_make("abc-123", 7, out);
    ck_assert_str_eq(out, "abc-123");
    memset(s, 'z', sizeof s);
    reqid_accept_or_make(s, sizeof s, out);
    ck_assert_uint_eq(strlen(out), REQID_MAX);
    ck_assert_int_eq(memcmp(out, s, REQID_MAX), 0);
}
END_TEST

START_TEST(test_reqid_spaces_around_dropped)
{
    char out[REQID_MAX + 1];
    char s[REQID_MAX + 4];

    reqid_accept_or_make("  has space \t ", 14, out);
    ck_assert_str_eq(out, "has space");
    reqid_accept_or_make("\tlead", 5, out);
    ck_assert_str_eq(out, "lead");
    memset(s, 'q', sizeof s);
    s[0] = s[1] = ' ';
    s[REQID_MAX + 2] = s[REQID_MAX + 3] = '\t';
    reqid_accept_or_make(s, sizeof s, out);
    ck_assert_uint_eq(strlen(out), REQID_MAX);
    ck_assert_int_eq(memcmp(out, s + 2, REQID_MAX), 0);
}
END_TEST

START_TEST(test_reqid_only_n_bytes_used)
{
    char out[REQID_MAX + 1];

    reqid_accept_or_make("abcdef", 3, out);
    ck_assert_str_eq(out, "abc");
}
END_TEST

START_TEST(test_reqid_invalid_id_replaced)
{
    char out[REQID_MAX + 1];
    char long_id[REQID_MAX + 1];

    reqid_accept_or_make("a\tb", 3, out);
    assert_made(out);
    reqid_accept_or_make(" \t ", 3, out);
    assert_made(out);
    reqid_accept_or_make(NULL, 0, out);
    assert_made(out);
    reqid_accept_or_make("", 0, out);
    assert_made(out);
    memset(long_id, 'x', sizeof long_id);
    reqid_accept_or_make(long_id, sizeof long_id, out);
    assert_made(out);
}
END_TEST

static int
cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

START_TEST(test_reqid_made_ids_distinct)
{
    static char ids[MADE_COUNT][REQID_MAX + 1];
    size_t i;

    for (i = 0; i < MADE_COUNT; i++) {
        reqid_make(ids[i]);
        assert_made(ids[i]);
    }
    qsort(ids, MADE_COUNT, sizeof ids[0], cmp_ids);
    for (i = 1; i < MADE_COUNT; i++)
        ck_assert_str_ne(ids[i - 1], ids[i]);
}
END_TEST

/* Every digit 0-9 and a-f comes up at every place of the made ids (each
 * place is a random nibble: with 4096 ids a digit missing from a place
 * has odds of 15/16 to the 4096th). */
START_TEST(test_reqid_made_ids_use_every_digit_everywhere)
{
    static const char digits[] = "0123456789abcdef";
    bool seen[32][16] = {{false}};
    char id[REQID_MAX + 1];

    for (int n = 0; n < 4096; n++) {
        reqid_make(id);
        assert_made(id);
        for (int i = 0; i < 32; i++)
            seen[i][strchr(digits, id[i]) - digits] = true;
    }
    for (int i = 0; i < 32; i++)
        for (int d = 0; d < 16; d++)
            ck_assert_msg(seen[i][d], "digit %c never at %d", digits[d], i);
}
END_TEST

static void *
make_one(void *arg)
{
    reqid_make(arg);
    return NULL;
}

START_TEST(test_reqid_threads_seeded_apart)
{
    char a[REQID_MAX + 1], b[REQID_MAX + 1];
    pthread_t t1, t2;

    ck_assert_int_eq(pthread_create(&t1, NULL, make_one, a), 0);
    ck_assert_int_eq(pthread_create(&t2, NULL, make_one, b), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_made(a);
    assert_made(b);
    ck_assert_str_ne(a, b);
}
END_TEST

static Suite *
reqid_suite(void)
{
    Suite *s = suite_create("reqid");
    TCase *tc;

    tc = tcase_create("valid");
    tcase_add_test(tc, test_reqid_valid_lengths);
    tcase_add_test(tc, test_reqid_valid_printable_ascii_only);
    suite_add_tcase(s, tc);

    tc = tcase_create("accept_or_make");
    tcase_add_test(tc, test_reqid_valid_id_kept_as_sent);
    tcase_add_test(tc, test_reqid_spaces_around_dropped);
    tcase_add_test(tc, test_reqid_only_n_bytes_used);
    tcase_add_test(tc, test_reqid_invalid_id_replaced);
    suite_add_tcase(s, tc);

    tc = tcase_create("make");
    tcase_add_test(tc, test_reqid_made_ids_distinct);
    tcase_add_test(tc, test_reqid_made_ids_use_every_digit_everywhere);
    tcase_add_test(tc, test_reqid_threads_seeded_apart);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return check_run(reqid_suite());
}
