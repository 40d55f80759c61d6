/*
 * check_h2scan.c: the HTTP/2 frame watcher (h2scan.c), fed bytes and a
 * clock by hand.
 */
#include <string.h>

#include "check_run.h"
#include "h2scan.h"

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

/* A frame header followed by len payload bytes of zeros, into out. */
static size_t
frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream, size_t len)
{
    out[0] = (uint8_t)(len >> 16);
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    out[3] = type;
    out[4] = flags;
    out[5] = (uint8_t)(stream >> 24);
    out[6] = (uint8_t)(stream >> 16);
    out[7] = (uint8_t)(stream >> 8);
    out[8] = (uint8_t)stream;
    memset(out + 9, 0, len);
    return 9 + len;
}

static enum h2scan_verdict
feed_frame(struct h2scan *s, uint8_t type, uint8_t flags, size_t len,
           uint64_t now)
{
    uint8_t buf[9 + 64];

    ck_assert_uint_le(len, 64);
    return h2scan_feed(s, buf, frame(buf, type, flags, 1, len), now);
}

static void
start(struct h2scan *s)
{
    h2scan_init(s, 0);
    ck_assert_int_eq(h2scan_feed(s, (const uint8_t *)PREFACE, 24, 0),
                     H2SCAN_OK);
}

START_TEST(test_h2scan_preface_and_headers_split_anywhere_are_ok)
{
    uint8_t buf[128];
    size_t n = 0;
    struct h2scan s;

    memcpy(buf, PREFACE, 24);
    n = 24;
    n += frame(buf + n, 0x4, 0, 0, 6);    /* SETTINGS */
    n += frame(buf + n, 0x1, 0x4, 1, 20); /* HEADERS, END_HEADERS */
    n += frame(buf + n, 0x0, 0x1, 1, 30); /* DATA, END_STREAM */
    for (size_t cut = 0; cut <= n; cut++) {
        h2scan_init(&s, 0);
        ck_assert_int_eq(h2scan_feed(&s, buf, cut, 0), H2SCAN_OK);
        ck_assert_int_eq(h2scan_feed(&s, buf + cut, n - cut, 0), H2SCAN_OK);
        ck_assert_uint_eq(s.in.skip, 0);
        ck_assert_uint_eq(s.in.head_len, 0);
    }
}
END_TEST

START_TEST(test_h2scan_bad_preface_is_refused)
{
    struct h2scan s;

    h2scan_init(&s, 0);
    ck_assert_int_eq(
        h2scan_feed(&s, (const uint8_t *)"GET / HTTP/1.1\r\n", 16, 0),
        H2SCAN_BAD_PREFACE);
}
END_TEST

START_TEST(test_h2scan_continuation_is_refused_and_sticks)
{
    struct h2scan s;

    start(&s);
    ck_assert_int_eq(feed_frame(&s, 0x1, 0, 10, 0), H2SCAN_CONTINUATION);
    ck_assert_int_eq(feed_frame(&s, 0x0, 0, 10, 0), H2SCAN_CONTINUATION);
    start(&s);
    ck_assert_int_eq(feed_frame(&s, 0x9, 0x4, 10, 0), H2SCAN_CONTINUATION);
}
END_TEST

START_TEST(test_h2scan_resets_have_a_burst_then_a_rate)
{
    struct h2scan s;

    start(&s);
    for (int i = 0; i < H2SCAN_RESETS_BURST; i++)
        ck_assert_int_eq(feed_frame(&s, 0x3, 0, 4, 0), H2SCAN_OK);
    ck_assert_int_eq(feed_frame(&s, 0x3, 0, 4, 0), H2SCAN_RESET_FLOOD);

    start(&s);
    for (int i = 0; i < H2SCAN_RESETS_BURST; i++)
        ck_assert_int_eq(feed_frame(&s, 0x3, 0, 4, 0), H2SCAN_OK);
    /* One second later, a second's worth of resets is allowed again. */
    for (int i = 0; i < H2SCAN_RESETS_PER_S; i++)
        ck_assert_int_eq(feed_frame(&s, 0x3, 0, 4, 1000), H2SCAN_OK);
    ck_assert_int_eq(feed_frame(&s, 0x3, 0, 4, 1000), H2SCAN_RESET_FLOOD);
}
END_TEST

START_TEST(test_h2scan_control_flood_is_refused_data_never_counts)
{
    struct h2scan s;

    start(&s);
    for (int i = 0; i < 10 * H2SCAN_CONTROL_BURST; i++) {
        ck_assert_int_eq(feed_frame(&s, 0x0, 0, 0, 0), H2SCAN_OK);
        ck_assert_int_eq(feed_frame(&s, 0x8, 0, 4, 0), H2SCAN_OK);
    }
    for (int i = 0; i < H2SCAN_CONTROL_BURST; i++)
        ck_assert_int_eq(feed_frame(&s, i % 2 ? 0x6 : 0x4, 0, 8, 0), H2SCAN_OK);
    ck_assert_int_eq(feed_frame(&s, 0x2, 0, 5, 0), H2SCAN_CONTROL_FLOOD);
}
END_TEST

START_TEST(test_h2scan_large_payload_is_skipped_across_feeds)
{
    static uint8_t big[9 + 70000];
    struct h2scan s;
    size_t n;

    start(&s);
    n = frame(big, 0x0, 0, 1, 70000);
    for (size_t off = 0; off < n; off += 1000)
        ck_assert_int_eq(
            h2scan_feed(&s, big + off, n - off < 1000 ? n - off : 1000, 0),
            H2SCAN_OK);
    ck_assert_uint_eq(s.in.skip, 0);
    ck_assert_int_eq(feed_frame(&s, 0x1, 0, 4, 0), H2SCAN_CONTINUATION);
}
END_TEST

START_TEST(test_h2scan_call_time_moves_with_calls_only)
{
    uint8_t big[9 + 40];
    struct h2scan s;
    size_t n;

    h2scan_init(&s, 100);
    ck_assert_uint_eq(s.call_ms, 100);
    ck_assert_int_eq(h2scan_feed(&s, (const uint8_t *)PREFACE, 24, 200),
                     H2SCAN_OK);
    ck_assert_int_eq(feed_frame(&s, 0x4, 0, 0, 300), H2SCAN_OK); /* SETTINGS */
    ck_assert_int_eq(feed_frame(&s, 0x6, 0, 8, 400), H2SCAN_OK); /* PING */
    n = frame(big, 0x8, 0, 0, 4); /* the connection's WINDOW_UPDATE */
    ck_assert_int_eq(h2scan_feed(&s, big, n, 500), H2SCAN_OK);
    ck_assert_int_eq(feed_frame(&s, 0x2, 0, 5, 600), H2SCAN_OK); /* PRIORITY */
    ck_assert_uint_eq(s.call_ms, 100);
    ck_assert_int_eq(feed_frame(&s, 0x1, 0x4, 4, 700), H2SCAN_OK); /* HEADERS */
    ck_assert_uint_eq(s.call_ms, 700);
    ck_assert_int_eq(feed_frame(&s, 0x0, 0, 10, 800), H2SCAN_OK); /* DATA */
    ck_assert_uint_eq(s.call_ms, 800);
    /* A DATA frame's payload read later is not a new frame. */
    n = frame(big, 0x0, 0, 1, 40);
    ck_assert_int_eq(h2scan_feed(&s, big, 12, 900), H2SCAN_OK);
    ck_assert_uint_eq(s.call_ms, 900);
    ck_assert_int_eq(h2scan_feed(&s, big + 12, n - 12, 950), H2SCAN_OK);
    ck_assert_uint_eq(s.call_ms, 900);
    ck_assert_int_eq(feed_frame(&s, 0x6, 0, 8, 990), H2SCAN_OK);
    ck_assert_uint_eq(s.call_ms, 900);
    /* A stream's WINDOW_UPDATE: its reply is being read. */
    ck_assert_int_eq(feed_frame(&s, 0x8, 0, 4, 995), H2SCAN_OK);
    ck_assert_uint_eq(s.call_ms, 995);
}
END_TEST

START_TEST(test_h2scan_last_stream_is_the_highest_headers_stream)
{
    uint8_t buf[9 + 4];
    struct h2scan s;

    start(&s);
    ck_assert_uint_eq(s.last_stream, 0);
    ck_assert_int_eq(h2scan_feed(&s, buf, frame(buf, 0x1, 0x4, 5, 4), 0),
                     H2SCAN_OK);
    ck_assert_uint_eq(s.last_stream, 5);
    ck_assert_int_eq(h2scan_feed(&s, buf, frame(buf, 0x1, 0x4, 3, 4), 0),
                     H2SCAN_OK);
    ck_assert_uint_eq(s.last_stream, 5);
    ck_assert_int_eq(h2scan_feed(&s, buf, frame(buf, 0x0, 0, 9, 4), 0),
                     H2SCAN_OK);
    ck_assert_uint_eq(s.last_stream, 5);
    /* The reserved bit is not part of the id. */
    ck_assert_int_eq(
        h2scan_feed(&s, buf, frame(buf, 0x1, 0x4, 0x80000007u, 4), 0),
        H2SCAN_OK);
    ck_assert_uint_eq(s.last_stream, 7);
}
END_TEST

/* One frame of the client's, on stream id, at now. */
static void
client(struct h2scan *s, uint8_t type, uint8_t flags, uint32_t id, uint64_t now)
{
    uint8_t buf[9 + 4];

    ck_assert_int_eq(h2scan_feed(s, buf, frame(buf, type, flags, id, 4), now),
                     H2SCAN_OK);
}

/* One frame of the server's, on stream id, at now. */
static void
server(struct h2scan *s, uint8_t type, uint8_t flags, uint32_t id, uint64_t now)
{
    uint8_t buf[9 + 4];

    h2scan_sent(s, buf, frame(buf, type, flags, id, 4), now);
}

START_TEST(test_h2scan_a_stream_is_open_until_its_trailers_or_a_reset)
{
    struct h2scan s;

    start(&s);
    ck_assert(!h2scan_busy(&s));
    client(&s, 0x1, 0x4 | 0x1, 1, 10); /* HEADERS, END_STREAM: a call */
    ck_assert(h2scan_busy(&s));
    server(&s, 0x4, 0, 0, 20);   /* SETTINGS */
    server(&s, 0x1, 0x4, 1, 30); /* its response headers */
    server(&s, 0x0, 0x0, 1, 40); /* its message */
    ck_assert(h2scan_busy(&s));
    ck_assert_uint_eq(s.call_ms, 10);
    server(&s, 0x1, 0x4 | 0x1, 1, 50); /* trailers: the call is over */
    ck_assert(!h2scan_busy(&s));
    ck_assert_uint_eq(s.call_ms, 50);
    server(&s, 0x3, 0, 1, 60); /* and a reset after them */
    ck_assert_uint_eq(s.call_ms, 50);
    /* Two calls: each ends its own stream, in any order. */
    client(&s, 0x1, 0x4, 3, 70);
    client(&s, 0x1, 0x4, 5, 80);
    server(&s, 0x1, 0x5, 5, 90);
    ck_assert(h2scan_busy(&s));
    client(&s, 0x3, 0, 3, 100); /* the client cancels the other */
    ck_assert(!h2scan_busy(&s));
    ck_assert_uint_eq(s.call_ms, 100);
    /* The server refuses one with a reset. */
    client(&s, 0x1, 0x4, 7, 110);
    server(&s, 0x3, 0, 7, 120);
    ck_assert(!h2scan_busy(&s));
    /* Headers on a stream already seen open nothing; neither do the
     * stream ids a client may not use, which gRPC ignores: the next odd
     * stream still opens. */
    client(&s, 0x1, 0x4, 7, 130);
    client(&s, 0x1, 0x4, 10, 140);
    ck_assert(!h2scan_busy(&s));
    ck_assert_uint_eq(s.last_stream, 7);
    client(&s, 0x1, 0x4, 9, 150);
    ck_assert(h2scan_busy(&s));
    /* Empty trailers: gRPC ends the stream with an empty DATA frame. */
    server(&s, 0x0, 0x1, 9, 160);
    ck_assert(!h2scan_busy(&s));
}
END_TEST

START_TEST(test_h2scan_the_servers_frames_split_anywhere_are_read)
{
    uint8_t buf[256];
    size_t n = 0;
    struct h2scan s;

    n += frame(buf + n, 0x1, 0x4, 1, 20);       /* response headers */
    n += frame(buf + n, 0x0, 0x0, 1, 100);      /* DATA: the message */
    n += frame(buf + n, 0x1, 0x4 | 0x1, 1, 30); /* trailers */
    for (size_t cut = 0; cut <= n; cut++) {
        start(&s);
        client(&s, 0x1, 0x5, 1, 0);
        h2scan_sent(&s, buf, cut, 1);
        ck_assert_msg(h2scan_busy(&s) == (cut < n - 30), "cut at %zu", cut);
        h2scan_sent(&s, buf + cut, n - cut, 2);
        ck_assert_msg(!h2scan_busy(&s), "cut at %zu", cut);
        ck_assert_uint_eq(s.out.skip, 0);
        ck_assert_uint_eq(s.out.head_len, 0);
    }
}
END_TEST

/* Opens streams 1, 3, 5, ... up to n of them, none ended. */
static void
open_streams(struct h2scan *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        client(s, 0x1, 0x4, 2 * i + 1, 0);
}

START_TEST(test_h2scan_more_than_open_max_streams_at_once_close_it)
{
    uint8_t buf[9 + 4];
    struct h2scan s;

    start(&s);
    client(&s, 0x4, 0, 0, 0); /* SETTINGS, never an ACK */
    open_streams(&s, H2SCAN_OPEN_MAX);
    ck_assert(h2scan_busy(&s));
    ck_assert_int_eq(
        h2scan_feed(&s, buf, frame(buf, 0x1, 0x4, 2 * H2SCAN_OPEN_MAX + 1, 4),
                    0),
        H2SCAN_TOO_MANY_STREAMS);
    ck_assert_str_eq(h2scan_verdict_text(H2SCAN_TOO_MANY_STREAMS),
                     "too many streams at once");
    /* Sticky, like every verdict. */
    ck_assert_int_eq(feed_frame(&s, 0x0, 0, 4, 0), H2SCAN_TOO_MANY_STREAMS);
    /* Frames on streams already open, and even ones, open nothing. */
    start(&s);
    open_streams(&s, H2SCAN_OPEN_MAX);
    client(&s, 0x1, 0x5, 1, 0);
    client(&s, 0x1, 0x4, 2 * H2SCAN_OPEN_MAX + 2, 0);
    client(&s, 0x0, 0x1, 3, 0);
}
END_TEST

START_TEST(test_h2scan_streams_the_server_ends_free_their_slots)
{
    const uint32_t span = 2 * H2SCAN_OPEN_MAX, last = 99999;
    struct h2scan s;
    uint32_t id;

    start(&s);
    open_streams(&s, H2SCAN_OPEN_MAX);
    /* The oldest ends (trailers, or a reset) as each new one opens: a
     * client that keeps H2SCAN_OPEN_MAX calls going forever. */
    for (id = span + 1; id <= last; id += 2) {
        server(&s, id % 4 == 1 ? 0x1 : 0x3, id % 4 == 1 ? 0x5 : 0, id - span,
               0);
        client(&s, 0x1, 0x4, id, 0);
    }
    ck_assert_uint_eq(s.open_n, H2SCAN_OPEN_MAX);
    for (id = last + 2 - span; id <= last; id += 2)
        server(&s, 0x0, 0x1, id, 1); /* empty trailers end the rest */
    ck_assert(!h2scan_busy(&s));
    ck_assert_uint_eq(s.call_ms, 1);
    /* One call at a time, opened and finished forever. */
    for (id = last + 2; id < 3 * last; id += 2) {
        client(&s, 0x1, 0x5, id, 2);
        server(&s, 0x1, 0x5, id, 3);
    }
    ck_assert(!h2scan_busy(&s));
}
END_TEST

static Suite *
h2scan_suite(void)
{
    Suite *s = suite_create("h2scan");
    TCase *tc = tcase_create("feed");

    tcase_add_test(tc, test_h2scan_preface_and_headers_split_anywhere_are_ok);
    tcase_add_test(tc, test_h2scan_bad_preface_is_refused);
    tcase_add_test(tc, test_h2scan_continuation_is_refused_and_sticks);
    tcase_add_test(tc, test_h2scan_resets_have_a_burst_then_a_rate);
    tcase_add_test(tc, test_h2scan_control_flood_is_refused_data_never_counts);
    tcase_add_test(tc, test_h2scan_large_payload_is_skipped_across_feeds);
    tcase_add_test(tc, test_h2scan_call_time_moves_with_calls_only);
    tcase_add_test(tc, test_h2scan_last_stream_is_the_highest_headers_stream);
    tcase_add_test(tc,
                   test_h2scan_a_stream_is_open_until_its_trailers_or_a_reset);
    tcase_add_test(tc, test_h2scan_the_servers_frames_split_anywhere_are_read);
    tcase_add_test(tc, test_h2scan_more_than_open_max_streams_at_once_close_it);
    tcase_add_test(tc, test_h2scan_streams_the_server_ends_free_their_slots);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return check_run(h2scan_suite());
}
