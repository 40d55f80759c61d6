/*
 * check_utf8.c: key validation by code points (utf8.c).
 */
#include "check_run.h"
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static long
count(const char *s)
{
    return utf8_count(s, strlen(s), 1000);
}

START_TEST(test_utf8_counts_code_points)
{
    ck_assert_int_eq(count("abc"), 3);
    ck_assert_int_eq(count("\xc3\xa9t\xc3\xa9"), 3);  /* été */
    ck_assert_int_eq(count("\xe2\x82\xac"), 1);       /* € */
    ck_assert_int_eq(count("\xf0\x9f\x98\x80"), 1);   /* U+1F600 */
    ck_assert_int_eq(count("\xf4\x8f\xbf\xbf"), 1);   /* U+10FFFF */
    ck_assert_int_eq(utf8_count("a\0b", 3, 1000), 3); /* U+0000 */
}
END_TEST

START_TEST(test_utf8_rejects_ill_formed)
{
    static const char *bad[] = {
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\x80",     /* overlong 3-byte */
        "\xe0\x9f\xbf",     /* overlong 3-byte, top */
        "\xf0\x80\x80\x80", /* overlong 4-byte */
        "\xed\xa0\x80",     /* U+D800, surrogate */
        "\xed\xbf\xbf",     /* U+DFFF, surrogate */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* lead byte past F4 */
        "\xff",             /* never in UTF-8 */
        "\x80",             /* lone continuation */
        "\xe2\x82",         /* truncated */
        "a\xc3",            /* truncated at the end */
        "\xe2\x28\xa1",     /* bad continuation */
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(count(bad[i]) == -1, "accepted case %zu", i);
}
END_TEST

START_TEST(test_utf8_stops_past_max)
{
    char s[600];

    memset(s, 'x', sizeof s);
    ck_assert_int_eq(utf8_count(s, 256, 256), 256);
    ck_assert_int_eq(utf8_count(s, 257, 256), 257);
    ck_assert_int_eq(utf8_count(s, sizeof s, 256), 257);
}
END_TEST

/* Every length up to three words, every place of the non-ASCII bytes:
 * the word-at-a-time and overlapping loads must see each byte. */
START_TEST(test_utf8_sees_every_byte)
{
    char s[24];
    size_t n, j;

    for (n = 0; n <= sizeof s; n++) {
        memset(s, 'a', sizeof s);
        ck_assert_int_eq(utf8_count(s, n, 1000), (long)n);
        for (j = 0; j < n; j++) {
            s[j] = '\x80';
            ck_assert_msg(utf8_count(s, n, 1000) == -1, "n %zu at %zu", n, j);
            s[j] = 'a';
            if (j + 1 < n) {
                memcpy(s + j, "\xc3\xa9", 2); /* é */
                ck_assert_int_eq(utf8_count(s, n, 1000), (long)n - 1);
                memcpy(s + j, "aa", 2);
            }
        }
        if (n > 2)
            ck_assert_int_eq(utf8_count(s, n, 2), 3);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("utf8_count");

    tcase_add_test(tc, test_utf8_counts_code_points);
    tcase_add_test(tc, test_utf8_rejects_ill_formed);
    tcase_add_test(tc, test_utf8_stops_past_max);
    tcase_add_test(tc, test_utf8_sees_every_byte);
    suite_add_tcase(s, tc);
    return check_run(s);
}
