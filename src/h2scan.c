/*
 * h2scan.c: the frame watcher declared in h2scan.h.
 *
 * The client's bytes are the 24-byte preface, then frames: a 9-byte header
 * (24-bit length, type, flags, 31-bit stream id) and length bytes of
 * payload. Only headers are read; payloads are skipped, so the cost is a
 * few instructions per frame whatever the frame carries. A header can
 * straddle two reads: its bytes are kept in `head` until whole.
 *
 * Rules:
 *  - A HEADERS frame must carry END_HEADERS: gRPC checks the metadata limit
 *    frame by frame, so a block continued over CONTINUATION frames could
 *    carry any amount. A request's metadata is at most 8 KiB, which fits
 *    in one frame of the 16 KiB any peer accepts, so no client needs them.
 *  - RST_STREAM frames draw on a token bucket (H2SCAN_RESETS_*), and so do
 *    SETTINGS, PING, PRIORITY and frame types HTTP/2 does not define
 *    (H2SCAN_CONTROL_*). A client that cancels calls now and then never
 *    gets near either budget.
 *  - HEADERS and DATA frames are calls and their bodies, and a stream's
 *    WINDOW_UPDATE is a reply being read: each sets call_ms, and HEADERS
 *    the last stream. Control frames and the connection's window updates
 *    do not, so a connection kept open by pings or settings alone still
 *    counts as idle.
 *  - A HEADERS frame on an odd stream past the last one opens it (gRPC
 *    ignores even ones), unless H2SCAN_OPEN_MAX are open already, which
 *    closes the connection; a RST_STREAM from the client ends it. The
 *    server's bytes (h2scan_sent, no preface) are cut into frames the same
 *    way: a frame of its with END_STREAM (a call's trailers, or an empty
 *    DATA frame when they are empty) or its RST_STREAM ends the stream, as
 *    gRPC's server closes both directions at its last frame. Ending a stream
 *    twice (trailers, then a reset) is harmless, and the end of the last
 *    open stream sets call_ms, so the idle time counts from the end of the
 *    last call, as gRPC's own limit counts it.
 */
#include <stdbool.h>
#include <string.h>

#include "h2scan.h"

#define H2_PREFACE_LEN 24
#define H2_HEAD_LEN    9

enum {
    H2_DATA = 0x0,
    H2_HEADERS = 0x1,
    H2_PRIORITY = 0x2,
    H2_RST_STREAM = 0x3,
    H2_SETTINGS = 0x4,
    H2_PUSH_PROMISE = 0x5,
    H2_PING = 0x6,
    H2_GOAWAY = 0x7,
    H2_WINDOW_UPDATE = 0x8,
    H2_CONTINUATION = 0x9,
};
#define H2_FLAG_END_STREAM  0x1
#define H2_FLAG_END_HEADERS 0x4

static const char h2scan_preface[H2_PREFACE_LEN + 1] =
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static void
h2scan_bucket_init(struct h2scan_bucket *b, uint64_t burst, uint64_t now_ms)
{
    b->milli = burst * 1000;
    b->last_ms = now_ms;
}

/* Takes one token; false when the bucket is empty. */
static bool
h2scan_bucket_take(struct h2scan_bucket *b, uint64_t burst, uint64_t per_s,
                   uint64_t now_ms)
{
    if (now_ms > b->last_ms) {
        uint64_t add = (now_ms - b->last_ms) * per_s;

        b->milli =
            b->milli + add > burst * 1000 ? burst * 1000 : b->milli + add;
        b->last_ms = now_ms;
    }
    if (b->milli < 1000)
        return false;
    b->milli -= 1000;
    return true;
}

void
h2scan_init(struct h2scan *s, uint64_t now_ms)
{
    memset(s, 0, sizeof *s);
    h2scan_bucket_init(&s->resets, H2SCAN_RESETS_BURST, now_ms);
    h2scan_bucket_init(&s->control, H2SCAN_CONTROL_BURST, now_ms);
    s->call_ms = now_ms;
}

static uint32_t
h2scan_stream(const uint8_t *h)
{
    return ((uint32_t)h[5] & 0x7f) << 24 | (uint32_t)h[6] << 16 |
           (uint32_t)h[7] << 8 | h[8];
}

/* Opens stream; false when H2SCAN_OPEN_MAX are open already. */
static bool
h2scan_open(struct h2scan *s, uint32_t stream)
{
    if (s->open_n == H2SCAN_OPEN_MAX)
        return false;
    s->open[s->open_n++] = stream;
    return true;
}

/* Ends stream if it is open; the end of the last one is activity. */
static void
h2scan_end(struct h2scan *s, uint32_t stream, uint64_t now_ms)
{
    for (uint32_t i = 0; i < s->open_n; i++) {
        if (s->open[i] == stream) {
            s->open[i] = s->open[--s->open_n];
            if (s->open_n == 0)
                s->call_ms = now_ms;
            return;
        }
    }
}

/* Applies the rules to one whole frame header. */
static enum h2scan_verdict
h2scan_frame(struct h2scan *s, const uint8_t *h, uint64_t now_ms)
{
    uint8_t type = h[3], flags = h[4];
    uint32_t stream = h2scan_stream(h);

    switch (type) {
    case H2_HEADERS:
        s->call_ms = now_ms;
        if (stream > s->last_stream && (stream & 1)) {
            /* a client's new stream (gRPC ignores even ones) */
            s->last_stream = stream;
            if (!h2scan_open(s, stream))
                return H2SCAN_TOO_MANY_STREAMS;
        }
        return flags & H2_FLAG_END_HEADERS ? H2SCAN_OK : H2SCAN_CONTINUATION;
    case H2_CONTINUATION:
        return H2SCAN_CONTINUATION;
    case H2_RST_STREAM:
        h2scan_end(s, stream, now_ms);
        return h2scan_bucket_take(&s->resets, H2SCAN_RESETS_BURST,
                                  H2SCAN_RESETS_PER_S, now_ms)
                   ? H2SCAN_OK
                   : H2SCAN_RESET_FLOOD;
    case H2_WINDOW_UPDATE:
        if (stream != 0) /* a stream's reply is being read */
            s->call_ms = now_ms;
        return H2SCAN_OK;
    case H2_DATA:
        s->call_ms = now_ms;
        return H2SCAN_OK;
    case H2_GOAWAY:
    case H2_PUSH_PROMISE: /* a protocol error gRPC answers itself */
        return H2SCAN_OK;
    default: /* SETTINGS, PING, PRIORITY, unknown types */
        return h2scan_bucket_take(&s->control, H2SCAN_CONTROL_BURST,
                                  H2SCAN_CONTROL_PER_S, now_ms)
                   ? H2SCAN_OK
                   : H2SCAN_CONTROL_FLOOD;
    }
}

/* Reads the preface; returns the bytes it took. */
static size_t
h2scan_preface_feed(struct h2scan *s, const uint8_t *p, size_t n)
{
    size_t take = H2_PREFACE_LEN - s->preface_seen;

    if (take > n)
        take = n;
    if (memcmp(p, h2scan_preface + s->preface_seen, take) != 0)
        s->verdict = H2SCAN_BAD_PREFACE;
    s->preface_seen += (uint32_t)take;
    return take;
}

/* The next whole frame header in *p .. end (*p moved past what it took),
 * or NULL when the bytes run out first. A header read whole is used where
 * it lies; one cut by the end of a read is gathered in f->head. */
static const uint8_t *
h2scan_next(struct h2scan_frames *f, const uint8_t **p, const uint8_t *end)
{
    const uint8_t *h;

    while (*p < end) {
        size_t avail = (size_t)(end - *p), take;

        if (f->skip > 0) {
            take = avail < f->skip ? avail : f->skip;
            f->skip -= (uint32_t)take;
            *p += take;
            continue;
        }
        if (f->head_len == 0 && avail >= H2_HEAD_LEN) {
            h = *p;
            *p += H2_HEAD_LEN;
        } else {
            take = H2_HEAD_LEN - f->head_len;
            take = avail < take ? avail : take;
            memcpy(f->head + f->head_len, *p, take);
            f->head_len += (uint8_t)take;
            *p += take;
            if (f->head_len < H2_HEAD_LEN)
                break;
            f->head_len = 0;
            h = f->head;
        }
        f->skip = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
        return h;
    }
    return NULL;
}

enum h2scan_verdict
h2scan_feed(struct h2scan *s, const uint8_t *p, size_t n, uint64_t now_ms)
{
    const uint8_t *end = p + n, *h;

    if (s->verdict == H2SCAN_OK && s->preface_seen < H2_PREFACE_LEN)
        p += h2scan_preface_feed(s, p, n);
    while (s->verdict == H2SCAN_OK && (h = h2scan_next(&s->in, &p, end)))
        s->verdict = h2scan_frame(s, h, now_ms);
    return s->verdict;
}

void
h2scan_sent(struct h2scan *s, const uint8_t *p, size_t n, uint64_t now_ms)
{
    const uint8_t *end = p + n, *h;

    while ((h = h2scan_next(&s->out, &p, end)))
        if (((h[3] == H2_HEADERS || h[3] == H2_DATA) &&
             (h[4] & H2_FLAG_END_STREAM)) ||
            h[3] == H2_RST_STREAM)
            h2scan_end(s, h2scan_stream(h), now_ms);
}

bool
h2scan_busy(const struct h2scan *s)
{
    return s->open_n > 0;
}

const char *
h2scan_verdict_text(enum h2scan_verdict v)
{
    switch (v) {
    case H2SCAN_OK:
        break;
    case H2SCAN_BAD_PREFACE:
        return "not an HTTP/2 client preface";
    case H2SCAN_CONTINUATION:
        return "header block continued over several frames";
    case H2SCAN_RESET_FLOOD:
        return "too many stream resets";
    case H2SCAN_CONTROL_FLOOD:
        return "too many control frames";
    case H2SCAN_TOO_MANY_STREAMS:
        return "too many streams at once";
    }
    return "ok";
}
