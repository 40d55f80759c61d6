/*
 * check_log.c: log lines as tiny-cached(8) has them: text and json shapes, JSON
 * escaping (every json line must parse), level filtering, truncation, one
 * intact line per call from concurrent threads, and log_escape().
 */
#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "fd_capture.h"
#include "log.h"

#define TS_RE                                                                  \
    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static char out[16384];
static struct fd_capture cap;

static void
begin(enum log_level level, enum log_format format)
{
    log_init(level, format);
    fd_capture_start(&cap, STDERR_FILENO);
}

static size_t
end(void)
{
    return fd_capture_end(&cap, out, sizeof out);
}

static void
assert_matches(const char *s, const char *re)
{
    regex_t r;

    ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
    ck_assert_msg(regexec(&r, s, 0, NULL, 0) == 0, "'%s' !~ /%s/", s, re);
    regfree(&r);
}

/* Parses one json line and checks it has exactly the four fields;
 * returns the object (caller decrefs). */
static json_t *
parse_json_line(const char *line)
{
    json_error_t e;
    json_t *o;

    ck_assert_msg(strchr(line, '\n') == line + strlen(line) - 1,
                  "not one line: %s", line);
    o = json_loads(line, 0, &e);
    ck_assert_msg(o != NULL, "not json (%s): %s", e.text, line);
    ck_assert(json_is_object(o));
    ck_assert_int_eq(json_object_size(o), 4);
    ck_assert(json_is_string(json_object_get(o, "timestamp")));
    ck_assert(json_is_string(json_object_get(o, "level")));
    ck_assert(json_is_string(json_object_get(o, "message")));
    ck_assert_ptr_nonnull(json_object_get(o, "request_id"));
    assert_matches(json_string_value(json_object_get(o, "timestamp")),
                   "^" TS_RE "$");
    return o;
}

START_TEST(test_log_text_line_shape)
{
    begin(LOG_INFO, LOG_FORMAT_TEXT);
    log_info("abc123", "hello %d", 42);
    end();
    assert_matches(out, "^" TS_RE " INFO \\[abc123\\] hello 42\n$");
}
END_TEST

START_TEST(test_log_text_without_request_id_shows_dash)
{
    begin(LOG_DEBUG, LOG_FORMAT_TEXT);
    log_debug(NULL, "x");
    end();
    assert_matches(out, "^" TS_RE " DEBUG \\[-\\] x\n$");
}
END_TEST

START_TEST(test_log_level_names)
{
    begin(LOG_DEBUG, LOG_FORMAT_TEXT);
    log_debug(NULL, "a");
    log_info(NULL, "b");
    log_warn(NULL, "c");
    log_error(NULL, "d");
    end();
    assert_matches(out, "^" TS_RE " DEBUG \\[-\\] a\n" TS_RE
                        " INFO \\[-\\] b\n" TS_RE " WARNING \\[-\\] c\n" TS_RE
                        " ERROR \\[-\\] d\n$");
}
END_TEST

START_TEST(test_log_text_escapes_control_characters)
{
    begin(LOG_INFO, LOG_FORMAT_TEXT);
    log_info("r\tid", "a\nb\x01z\x7f");
    end();
    assert_matches(out, "^" TS_RE
                        " INFO \\[r\\\\x09id\\] a\\\\x0ab\\\\x01z\\\\x7f\n$");
}
END_TEST

START_TEST(test_log_json_line_fields)
{
    json_t *o;

    begin(LOG_WARNING, LOG_FORMAT_JSON);
    log_warn("req-1", "disk %s", "full");
    end();
    o = parse_json_line(out);
    ck_assert_str_eq(json_string_value(json_object_get(o, "level")), "WARNING");
    ck_assert_str_eq(json_string_value(json_object_get(o, "request_id")),
                     "req-1");
    ck_assert_str_eq(json_string_value(json_object_get(o, "message")),
                     "disk full");
    json_decref(o);
}
END_TEST

START_TEST(test_log_json_null_request_id)
{
    json_t *o;

    begin(LOG_INFO, LOG_FORMAT_JSON);
    log_message(LOG_INFO, NULL, "ready");
    end();
    o = parse_json_line(out);
    ck_assert(json_is_null(json_object_get(o, "request_id")));
    json_decref(o);
}
END_TEST

START_TEST(test_log_json_escapes_quotes_and_controls)
{
    const char *msg = "q\"b\\s\n\r\t\x01\x1f\x7f end";
    json_t *o;

    begin(LOG_INFO, LOG_FORMAT_JSON);
    log_message(LOG_INFO, "id\"x\\", msg);
    end();
    ck_assert_ptr_null(strchr(out, '\x01'));
    o = parse_json_line(out);
    ck_assert_str_eq(json_string_value(json_object_get(o, "message")), msg);
    ck_assert_str_eq(json_string_value(json_object_get(o, "request_id")),
                     "id\"x\\");
    json_decref(o);
}
END_TEST

START_TEST(test_log_json_keeps_utf8_and_maps_bad_bytes)
{
    json_t *o;

    begin(LOG_INFO, LOG_FORMAT_JSON);
    log_message(LOG_INFO, NULL,
                "caf\xc3\xa9 \xe2\x82\xac \xff\xc0\xaf "
                "\xed\xa0\x80");
    end();
    o = parse_json_line(out);
    ck_assert_str_eq(json_string_value(json_object_get(o, "message")),
                     "caf\xc3\xa9 \xe2\x82\xac \xc3\xbf\xc3\x80\xc2\xaf "
                     "\xc3\xad\xc2\xa0\xc2\x80");
    json_decref(o);
}
END_TEST

START_TEST(test_log_level_filtering)
{
    begin(LOG_WARNING, LOG_FORMAT_TEXT);
    ck_assert(!log_enabled(LOG_DEBUG));
    ck_assert(!log_enabled(LOG_INFO));
    ck_assert(log_enabled(LOG_WARNING));
    ck_assert(log_enabled(LOG_ERROR));
    log_debug(NULL, "no-debug");
    log_info(NULL, "no-info");
    log_message(LOG_INFO, NULL, "no-info-message");
    log_warn(NULL, "yes-warn");
    log_error(NULL, "yes-error");
    end();
    ck_assert_ptr_null(strstr(out, "no-"));
    ck_assert_ptr_nonnull(strstr(out, "yes-warn"));
    ck_assert_ptr_nonnull(strstr(out, "yes-error"));
}
END_TEST

START_TEST(test_log_default_is_info_text)
{
    ck_assert(!log_enabled(LOG_DEBUG));
    ck_assert(log_enabled(LOG_INFO));
}
END_TEST

START_TEST(test_log_message_is_not_a_format)
{
    begin(LOG_INFO, LOG_FORMAT_TEXT);
    log_message(LOG_INFO, NULL, "100%s %n");
    end();
    assert_matches(out, " INFO \\[-\\] 100%s %n\n$");
}
END_TEST

START_TEST(test_log_long_text_line_truncated_and_marked)
{
    static char big[10000];
    size_t n;

    memset(big, 'a', sizeof big - 1);
    begin(LOG_INFO, LOG_FORMAT_TEXT);
    log_info(NULL, "%s", big);
    n = end();
    ck_assert_uint_le(n, 4096);
    ck_assert_ptr_nonnull(strstr(out, "aaaa [truncated]\n"));
    ck_assert_ptr_eq(strchr(out, '\n'), out + n - 1);
}
END_TEST

START_TEST(test_log_long_json_line_still_parses)
{
    static char big[6000];
    const char *m;
    json_t *o;
    size_t i, n;

    for (i = 0; i + 2 < sizeof big; i += 2)
        memcpy(big + i, "\xc3\xa9", 2); /* é: cut must fall between them */
    begin(LOG_INFO, LOG_FORMAT_JSON);
    log_message(LOG_INFO, "r", big);
    n = end();
    ck_assert_uint_le(n, 4096);
    o = parse_json_line(out);
    m = json_string_value(json_object_get(o, "message"));
    ck_assert_uint_gt(strlen(m), 3000);
    ck_assert_str_eq(m + strlen(m) - strlen(" [truncated]"), " [truncated]");
    json_decref(o);
}
END_TEST

START_TEST(test_log_long_json_escapes_truncated_whole)
{
    static char big[5000];
    json_t *o;

    memset(big, '\x01', sizeof big - 1); /* each one becomes \u0001 */
    begin(LOG_INFO, LOG_FORMAT_JSON);
    log_message(LOG_INFO, NULL, big);
    end();
    o = parse_json_line(out);
    json_decref(o);
}
END_TEST

#define MT_THREADS 4
#define MT_LINES   200
#define MT_BODY    1000

static void *
mt_writer(void *arg)
{
    char body[MT_BODY + 1];
    int i;

    memset(body, 'a' + (int)(long)arg, MT_BODY);
    body[MT_BODY] = '\0';
    for (i = 0; i < MT_LINES; i++)
        log_info(NULL, "t%ld %s", (long)arg, body);
    return NULL;
}

/* Everything the writers sent, read until EOF (they would block on a full
 * pipe if nobody read while they write). */
static char mt_buf[MT_THREADS * MT_LINES * (MT_BODY + 64)];
static size_t mt_len;

static void *
mt_reader(void *arg)
{
    int fd = *(int *)arg;
    ssize_t n;

    while ((n = read(fd, mt_buf + mt_len, sizeof mt_buf - mt_len - 1)) > 0)
        mt_len += (size_t)n;
    mt_buf[mt_len] = '\0';
    return NULL;
}

/* Checks each line is one whole line of one writer; returns the count. */
static int
mt_count_lines(void)
{
    char *p, *nl, *body;
    int lines = 0;
    size_t i;

    for (p = mt_buf; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        *nl = '\0';
        assert_matches(p, "^" TS_RE " INFO \\[-\\] t[0-3] [a-d]+$");
        body = strstr(p, "] t") + 5;
        ck_assert_uint_eq(strlen(body), MT_BODY);
        for (i = 0; i < MT_BODY; i++)
            ck_assert_int_eq(body[i], 'a' + (body[-2] - '0'));
        lines++;
    }
    ck_assert_ptr_eq(p, mt_buf + mt_len);
    return lines;
}

START_TEST(test_log_concurrent_lines_never_interleave)
{
    pthread_t w[MT_THREADS], r;
    int p[2], saved;
    long i;

    log_init(LOG_INFO, LOG_FORMAT_TEXT);
    ck_assert_int_eq(pipe(p), 0);
    saved = dup(STDERR_FILENO);
    ck_assert_int_ge(dup2(p[1], STDERR_FILENO), 0);
    close(p[1]);
    ck_assert_int_eq(pthread_create(&r, NULL, mt_reader, &p[0]), 0);
    for (i = 0; i < MT_THREADS; i++)
        ck_assert_int_eq(pthread_create(&w[i], NULL, mt_writer, (void *)i), 0);
    for (i = 0; i < MT_THREADS; i++)
        pthread_join(w[i], NULL);
    dup2(saved, STDERR_FILENO); /* closes the last write end: reader sees EOF */
    close(saved);
    pthread_join(r, NULL);
    close(p[0]);
    ck_assert_int_eq(mt_count_lines(), MT_THREADS * MT_LINES);
}
END_TEST

START_TEST(test_log_escape_printable_kept_others_hex)
{
    char buf[64];

    ck_assert_str_eq(log_escape("key-1", 5, 64, buf, sizeof buf), "key-1");
    ck_assert_str_eq(log_escape("a\0b\n\\\xff", 6, 64, buf, sizeof buf),
                     "a\\x00b\\x0a\\\\\\xff");
    ck_assert_str_eq(log_escape("", 0, 64, buf, sizeof buf), "");
}
END_TEST

START_TEST(test_log_escape_cut_at_max_bytes)
{
    char buf[64];

    ck_assert_str_eq(log_escape("abcdefgh", 8, 4, buf, sizeof buf), "abcd...");
    ck_assert_str_eq(log_escape("abcd", 4, 4, buf, sizeof buf), "abcd");
}
END_TEST

START_TEST(test_log_escape_cut_to_fit_output)
{
    char buf[8];

    memset(buf, 'X', sizeof buf);
    ck_assert_str_eq(log_escape("abcdefghij", 10, 100, buf, sizeof buf),
                     "abcd...");
    ck_assert_str_eq(log_escape("\x01\x02", 2, 100, buf, sizeof buf),
                     "\\x01...");
}
END_TEST

static Suite *
log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc;

    tc = tcase_create("text");
    tcase_add_test(tc, test_log_text_line_shape);
    tcase_add_test(tc, test_log_text_without_request_id_shows_dash);
    tcase_add_test(tc, test_log_level_names);
    tcase_add_test(tc, test_log_text_escapes_control_characters);
    tcase_add_test(tc, test_log_message_is_not_a_format);
    suite_add_tcase(s, tc);

    tc = tcase_create("json");
    tcase_add_test(tc, test_log_json_line_fields);
    tcase_add_test(tc, test_log_json_null_request_id);
    tcase_add_test(tc, test_log_json_escapes_quotes_and_controls);
    tcase_add_test(tc, test_log_json_keeps_utf8_and_maps_bad_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("levels");
    tcase_add_test(tc, test_log_level_filtering);
    tcase_add_test(tc, test_log_default_is_info_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("truncation");
    tcase_add_test(tc, test_log_long_text_line_truncated_and_marked);
    tcase_add_test(tc, test_log_long_json_line_still_parses);
    tcase_add_test(tc, test_log_long_json_escapes_truncated_whole);
    suite_add_tcase(s, tc);

    tc = tcase_create("concurrency");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_log_concurrent_lines_never_interleave);
    suite_add_tcase(s, tc);

    tc = tcase_create("escape");
    tcase_add_test(tc, test_log_escape_printable_kept_others_hex);
    tcase_add_test(tc, test_log_escape_cut_at_max_bytes);
    tcase_add_test(tc, test_log_escape_cut_to_fit_output);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return check_run(log_suite());
}
