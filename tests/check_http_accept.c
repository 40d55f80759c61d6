/*
 * check_http_accept.c: which Accept headers ask for the status page
 * (text/html) and which keep / answering JSON.
 */
#include <string.h>

#include "check_run.h"
#include "http_accept.h"

static bool
accepts(const char *v)
{
    return http_accept_html(v, strlen(v));
}

START_TEST(test_http_accept_browsers_ask_for_html)
{
    ck_assert(accepts("text/html,application/xhtml+xml,application/xml;"
                      "q=0.9,image/avif,image/webp,*/*;q=0.8"));
    ck_assert(accepts("text/html"));
    ck_assert(accepts("TEXT/HTML"));
    ck_assert(accepts(" text/html ; charset=utf-8"));
    ck_assert(accepts("application/json;q=0.5, text/html;q=0.1"));
    ck_assert(accepts("text/html;level=1;q=0.01"));
}
END_TEST

START_TEST(test_http_accept_others_do_not)
{
    ck_assert(!http_accept_html(NULL, 0));
    ck_assert(!accepts(""));
    ck_assert(!accepts("*/*"));
    ck_assert(!accepts("text/*"));
    ck_assert(!accepts("application/json"));
    ck_assert(!accepts("text/htmlx"));
    ck_assert(!accepts("text/plain, application/text/html"));
    ck_assert(!accepts("xtext/html"));
    ck_assert(!accepts(",,,"));
}
END_TEST

START_TEST(test_http_accept_zero_quality_refuses)
{
    ck_assert(!accepts("text/html;q=0"));
    ck_assert(!accepts("text/html; Q=0.000, */*"));
    ck_assert(!accepts("text/html;q=0.0"));
    ck_assert(accepts("text/html;q=0.001"));
    ck_assert(accepts("text/html;q=1"));
    ck_assert(accepts("text/html;q=0x"));
}
END_TEST

START_TEST(test_http_accept_reads_only_len_bytes)
{
    const char v[] = "application/json, text/html";

    ck_assert(!http_accept_html(v, strlen("application/json")));
    ck_assert(!http_accept_html(v, strlen(v) - 1));
    ck_assert(http_accept_html(v, strlen(v)));
    ck_assert(!http_accept_html("text/html;q=0", strlen("text/html;q=0")));
    ck_assert(http_accept_html("text/html;q=0", strlen("text/html;q")));
}
END_TEST

static Suite *
http_accept_suite(void)
{
    Suite *s = suite_create("http_accept");
    TCase *tc = tcase_create("html");

    tcase_add_test(tc, test_http_accept_browsers_ask_for_html);
    tcase_add_test(tc, test_http_accept_others_do_not);
    tcase_add_test(tc, test_http_accept_zero_quality_refuses);
    tcase_add_test(tc, test_http_accept_reads_only_len_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return check_run(http_accept_suite());
}
