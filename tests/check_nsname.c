/*
 * check_nsname.c: the x-cache-namespace grammar (nsname.c).
 */
#include <string.h>

#include "check_run.h"
#include "nsname.h"

static bool
parse(const char *in, const char **ns, size_t *n)
{
    return nsname_parse(in, strlen(in), ns, n);
}

START_TEST(test_nsname_blank_or_absent_is_the_shared_keyspace)
{
    const char *ns;
    size_t n = 99;

    ck_assert(parse("", &ns, &n));
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert(parse(" \t  ", &ns, &n));
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_nsname_is_trimmed_and_points_into_the_input)
{
    const char *in = "  tenant-1.a_b\t", *ns;
    size_t n;

    ck_assert(nsname_parse(in, strlen(in), &ns, &n));
    ck_assert_uint_eq(n, 12);
    ck_assert_ptr_eq(ns, in + 2);
    ck_assert(memcmp(ns, "tenant-1.a_b", n) == 0);
}
END_TEST

START_TEST(test_nsname_grammar_and_length)
{
    static const char *const bad[] = {"-a",  "_a", ".a",    "a b",   "a:b",
                                      "a/b", "é",  "a\x01", "ab\xff"};
    char max[NSNAME_MAX + 2];
    const char *ns;
    size_t n;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!parse(bad[i], &ns, &n), "accepted %s", bad[i]);
    ck_assert(!nsname_parse("a\0b", 3, &ns, &n));
    memset(max, 'x', sizeof max);
    ck_assert(nsname_parse(max, NSNAME_MAX, &ns, &n));
    ck_assert_uint_eq(n, NSNAME_MAX);
    ck_assert(!nsname_parse(max, NSNAME_MAX + 1, &ns, &n));
    ck_assert(parse("0", &ns, &n));
    ck_assert(parse("A9-._z", &ns, &n));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("nsname");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_nsname_blank_or_absent_is_the_shared_keyspace);
    tcase_add_test(tc, test_nsname_is_trimmed_and_points_into_the_input);
    tcase_add_test(tc, test_nsname_grammar_and_length);
    suite_add_tcase(s, tc);
    return check_run(s);
}
