/*
 * log.c: one line per event on stderr, text or json (--log-format in
 * tiny-cached(8)).
 *
 * text: 2026-11-25T15:04:05.123Z INFO [reqid] message
 * json: {"timestamp":"2026-11-25T15:04:05.123Z","level":"INFO",
 *        "request_id":"reqid","message":"message"}
 *
 * A line is built in a stack buffer of LOG_LINE_MAX bytes (PIPE_BUF, so a
 * write to a pipe is atomic too) and written with one write(2). A message
 * that does not fit is cut on a character boundary and ends with
 * LOG_CUT_MARK. Control characters never reach the output raw: text lines
 * show them as \xNN, json strings use JSON escapes; in json, bytes that are
 * not well-formed UTF-8 become \u00NN so every line stays valid JSON.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 4096
#define LOG_TS_SIZE  32
#define LOG_CUT_MARK " [truncated]"
/* Room kept free at the end of a line: mark, closing "}, newline. */
#define LOG_TAIL_ROOM (sizeof(LOG_CUT_MARK) + 3)

/* Set by log_init() before threads start; only read afterwards. */
static enum log_level log_min_level = LOG_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;

static const char *const log_level_names[] = {
    [LOG_DEBUG] = "DEBUG",
    [LOG_INFO] = "INFO",
    [LOG_WARNING] = "WARNING",
    [LOG_ERROR] = "ERROR",
};

/* A line being built: len never passes limit until log_line_finish(). */
struct log_line {
    char buf[LOG_LINE_MAX];
    size_t len;
    size_t limit;
    bool cut;
};

void
log_init(enum log_level level, enum log_format format)
{
    log_min_level = level;
    log_fmt = format;
}

bool
log_enabled(enum log_level level)
{
    return level >= log_min_level;
}

/* Appends n bytes as one unit, or marks the line cut if they do not fit. */
static void
log_put(struct log_line *l, const char *s, size_t n)
{
    if (l->cut || l->len + n > l->limit) {
        l->cut = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void
log_puts(struct log_line *l, const char *s)
{
    log_put(l, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if none. */
static size_t
log_utf8_len(const unsigned char *p, size_t n)
{
    size_t len, i;
    unsigned cp;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

/* Appends s as the inside of a JSON string. */
static void
log_put_json(struct log_line *l, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, u;
    char esc[8];

    while (i < n) {
        if (p[i] == '"' || p[i] == '\\') {
            esc[0] = '\\', esc[1] = (char)p[i];
            log_put(l, esc, 2);
        } else if (p[i] == '\n') {
            log_put(l, "\\n", 2);
        } else if (p[i] == '\r') {
            log_put(l, "\\r", 2);
        } else if (p[i] == '\t') {
            log_put(l, "\\t", 2);
        } else if (p[i] >= 0x20 && p[i] < 0x7f) {
            log_put(l, s + i, 1);
        } else if (p[i] >= 0x80 && (u = log_utf8_len(p + i, n - i)) > 0) {
            log_put(l, s + i, u);
            i += u;
            continue;
        } else {
            snprintf(esc, sizeof esc, "\\u%04x", p[i]);
            log_put(l, esc, 6);
        }
        i++;
    }
}

/* Appends s with control characters and DEL shown as \xNN. */
static void
log_put_text(struct log_line *l, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char esc[5];

    for (; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            log_put(l, esc, 4);
        } else {
            log_put(l, (const char *)p, 1);
        }
    }
}

/* Writes the current UTC time as 2026-11-25T15:04:05.123Z into out. */
static void
log_timestamp(char out[LOG_TS_SIZE])
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(out, LOG_TS_SIZE, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, LOG_TS_SIZE - n, ".%03uZ",
             (unsigned)(ts.tv_nsec / 1000000) % 1000);
}

static void
log_build_text(struct log_line *l, const char *ts, const char *level,
               const char *reqid, const char *msg)
{
    log_puts(l, ts);
    log_puts(l, " ");
    log_puts(l, level);
    log_puts(l, " [");
    log_put_text(l, reqid ? reqid : "-");
    log_puts(l, "] ");
    log_put_text(l, msg);
}

static void
log_build_json(struct log_line *l, const char *ts, const char *level,
               const char *reqid, const char *msg)
{
    log_puts(l, "{\"timestamp\":\"");
    log_puts(l, ts);
    log_puts(l, "\",\"level\":\"");
    log_puts(l, level);
    log_puts(l, "\",\"request_id\":");
    if (reqid) {
        log_puts(l, "\"");
        log_put_json(l, reqid);
        log_puts(l, "\"");
    } else {
        log_puts(l, "null");
    }
    log_puts(l, ",\"message\":\"");
    log_put_json(l, msg);
}

/* Closes the line (cut mark, json tail, newline) past the limit: the tail
 * room was kept for it. */
static void
log_line_finish(struct log_line *l)
{
    l->limit = sizeof l->buf;
    if (l->cut) {
        l->cut = false;
        log_puts(l, LOG_CUT_MARK);
    }
    if (log_fmt == LOG_FORMAT_JSON)
        log_puts(l, "\"}");
    log_puts(l, "\n");
}

static void
log_line_write(const struct log_line *l)
{
    size_t off = 0;
    ssize_t n;

    while (off < l->len) {
        n = write(STDERR_FILENO, l->buf + off, l->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        off += (size_t)n;
    }
}

static void
log_emit(enum log_level level, const char *reqid, const char *msg, bool cut)
{
    struct log_line l = {.len = 0, .limit = LOG_LINE_MAX - LOG_TAIL_ROOM};
    char ts[LOG_TS_SIZE];
    int saved_errno = errno;

    log_timestamp(ts);
    if (log_fmt == LOG_FORMAT_JSON)
        log_build_json(&l, ts, log_level_names[level], reqid, msg);
    else
        log_build_text(&l, ts, log_level_names[level], reqid, msg);
    l.cut = l.cut || cut;
    log_line_finish(&l);
    log_line_write(&l);
    errno = saved_errno;
}

void
log_message(enum log_level level, const char *reqid, const char *msg)
{
    if (!log_enabled(level))
        return;
    log_emit(level, reqid, msg ? msg : "", false);
}

void
log_write(enum log_level level, const char *reqid, const char *fmt, ...)
{
    char msg[LOG_LINE_MAX];
    va_list ap;
    int n;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    log_emit(level, reqid, msg, n >= (int)sizeof msg);
}

char *
log_escape(const char *s, size_t n, size_t max, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i, o = 0, room;
    char esc[5];
    bool cut = n > max;

    if (outlen == 0)
        return out;
    room = outlen > 4 ? outlen - 4 : 0; /* "..." and the NUL */
    for (i = 0; i < n && i < max; i++) {
        if (p[i] == '\\')
            snprintf(esc, sizeof esc, "\\\\");
        else if (p[i] >= 0x20 && p[i] < 0x7f)
            snprintf(esc, sizeof esc, "%c", p[i]);
        else
            snprintf(esc, sizeof esc, "\\x%02x", p[i]);
        if (o + strlen(esc) > room) {
            cut = true;
            break;
        }
        memcpy(out + o, esc, strlen(esc));
        o += strlen(esc);
    }
    if (cut && o + 3 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}
