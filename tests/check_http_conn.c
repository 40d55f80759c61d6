/*
 * check_http_conn.c: HTTP connection deadlines (http_conn.c) with the time
 * passed in: a connection is shut down once its total time has passed
 * since it opened or since its last answer, only once, and never after it
 * was removed. Sockets are socketpair(2) ends; the peer sees the end of
 * the stream when its end is shut down.
 */
#include "check_run.h"

#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_conn.h"

#define TOTAL_S 10.0

static struct http_conns *set;
static int pair[2];

static void
setup(void)
{
    set = http_conns_create(TOTAL_S);
    ck_assert_ptr_nonnull(set);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
}

static void
teardown(void)
{
    http_conns_destroy(set);
    close(pair[0]);
    close(pair[1]);
}

/* True when the peer of the tracked end sees the end of the stream. */
static bool
peer_sees_end(void)
{
    char c;

    return recv(pair[1], &c, 1, MSG_DONTWAIT) == 0;
}

START_TEST(test_http_conn_shut_down_after_total_time)
{
    ck_assert_ptr_nonnull(http_conns_add(set, pair[0], 100.0));
    ck_assert_uint_eq(http_conns_reap(set, 100.0 + TOTAL_S - 0.5), 0);
    ck_assert(!peer_sees_end());
    ck_assert_uint_eq(http_conns_reap(set, 100.0 + TOTAL_S), 1);
    ck_assert(peer_sees_end());
}
END_TEST

START_TEST(test_http_conn_shut_down_only_once)
{
    ck_assert_ptr_nonnull(http_conns_add(set, pair[0], 0.0));
    ck_assert_uint_eq(http_conns_reap(set, TOTAL_S + 1), 1);
    ck_assert_uint_eq(http_conns_reap(set, TOTAL_S + 2), 0);
}
END_TEST

START_TEST(test_http_conn_answer_restarts_the_time)
{
    struct http_conn *c = http_conns_add(set, pair[0], 0.0);

    ck_assert_ptr_nonnull(c);
    http_conns_rearm(set, c, TOTAL_S - 1);
    ck_assert_uint_eq(http_conns_reap(set, TOTAL_S + 1), 0);
    ck_assert(!peer_sees_end());
    ck_assert_uint_eq(http_conns_reap(set, 2 * TOTAL_S - 1), 1);
    ck_assert(peer_sees_end());
}
END_TEST

START_TEST(test_http_conn_removed_is_never_shut_down)
{
    struct http_conn *a = http_conns_add(set, pair[0], 0.0);
    struct http_conn *b = http_conns_add(set, pair[1], 5.0);

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    http_conns_remove(set, a);
    ck_assert_uint_eq(http_conns_reap(set, TOTAL_S + 1), 0);
    ck_assert(!peer_sees_end());
    http_conns_remove(set, b);
    ck_assert_uint_eq(http_conns_reap(set, 10 * TOTAL_S), 0);
}
END_TEST

START_TEST(test_http_conn_url_bytes)
{
    struct http_conn *c = http_conns_add(set, pair[0], 0.0);

    ck_assert_uint_eq(http_conn_url_bytes(c), 0);
    http_conn_set_url_bytes(c, 8193);
    ck_assert_uint_eq(http_conn_url_bytes(c), 8193);
    http_conn_set_url_bytes(NULL, 1);
    ck_assert_uint_eq(http_conn_url_bytes(NULL), 0);
}
END_TEST

static Suite *
http_conn_suite(void)
{
    Suite *s = suite_create("http_conn");
    TCase *tc = tcase_create("reap");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_http_conn_shut_down_after_total_time);
    tcase_add_test(tc, test_http_conn_shut_down_only_once);
    tcase_add_test(tc, test_http_conn_answer_restarts_the_time);
    tcase_add_test(tc, test_http_conn_removed_is_never_shut_down);
    tcase_add_test(tc, test_http_conn_url_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return check_run(http_conn_suite());
}
