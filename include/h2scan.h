/*
 * h2scan.h: watches the frames a client sends on one HTTP/2 connection,
 * from their 9-byte headers alone, for the floods gRPC 1.51 does not bound
 * itself: streams reset faster than any client cancels calls (the "rapid
 * reset" pattern), header blocks continued over several frames (which
 * would step around gRPC's per-frame metadata limit, and a block that
 * never ends grows without bound), and control frames (SETTINGS, PING,
 * PRIORITY, unknown types) by the thousand. It also keeps the streams
 * still open: opened by the client's HEADERS, ended by the server's last
 * frame (END_STREAM) or by a RST_STREAM either side sends, which it reads
 * from the frame headers of what the server sent (h2scan_sent); more than
 * H2SCAN_OPEN_MAX open at once is refused too, since gRPC holds a client
 * to its stream limit only once the client has acknowledged its settings.
 * For the idle limit (rpc_guard.h) it keeps the time of the connection's
 * last call frame, the last stream the client opened, and whether a
 * stream is open.
 *
 * Pure: bytes in, a verdict out, the time passed in; no I/O, no locks.
 * One struct h2scan per connection, used by one thread at a time.
 */
#ifndef H2SCAN_H
#define H2SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Stream resets a connection may send: H2SCAN_RESETS_BURST at once, then
 * H2SCAN_RESETS_PER_S a second on average. */
#define H2SCAN_RESETS_BURST 400
#define H2SCAN_RESETS_PER_S 200
/* Control frames (SETTINGS, PING, PRIORITY, unknown types) likewise. */
#define H2SCAN_CONTROL_BURST 1000
#define H2SCAN_CONTROL_PER_S 200

enum h2scan_verdict {
    H2SCAN_OK = 0,
    H2SCAN_BAD_PREFACE,      /* not HTTP/2's client preface */
    H2SCAN_CONTINUATION,     /* a header block continued past its first frame */
    H2SCAN_RESET_FLOOD,      /* streams reset faster than the budget */
    H2SCAN_CONTROL_FLOOD,    /* control frames faster than the budget */
    H2SCAN_TOO_MANY_STREAMS, /* a stream opened past H2SCAN_OPEN_MAX open */
};

/* Streams a client may have open at once: more than the server lets it
 * open (RPC_MAX_CONCURRENT_STREAMS, which gRPC enforces once the client
 * has acknowledged its settings), the rest a margin for streams a client
 * opens before it has read them. The count here is never above the
 * client's own, as the server's last frame of a stream is seen as it is
 * written, before the client reads it, so only a client that ignores the
 * limit opens one past it (H2SCAN_TOO_MANY_STREAMS). */
#define H2SCAN_OPEN_MAX 128

/* A token bucket: tokens in thousandths, refilled by the millisecond. */
struct h2scan_bucket {
    uint64_t milli;   /* tokens x 1000 */
    uint64_t last_ms; /* time of the last refill */
};

/* One direction's frames: headers read whole, payloads skipped. */
struct h2scan_frames {
    uint8_t head[9];  /* a frame header being read */
    uint8_t head_len; /* its bytes so far */
    uint32_t skip;    /* payload bytes of the current frame left */
};

/* One connection's scan. Invariants: open_n <= H2SCAN_OPEN_MAX; open[0]
 * .. open[open_n - 1] are distinct odd streams, each at most last_stream,
 * that no END_STREAM or RST_STREAM has ended; a stream is open (a call in
 * progress) exactly when it is among them. */
struct h2scan {
    uint32_t preface_seen;       /* bytes of the preface read so far */
    struct h2scan_frames in;     /* the client's frames */
    struct h2scan_frames out;    /* the server's frames */
    enum h2scan_verdict verdict; /* sticky once not OK */
    struct h2scan_bucket resets;
    struct h2scan_bucket control;
    uint64_t call_ms;     /* last HEADERS, DATA or stream WINDOW_UPDATE
                           * from the client (a call, its body, its reply
                           * being read) or end of the last open stream;
                           * the start until the first */
    uint32_t last_stream; /* highest stream a HEADERS frame opened, or 0 */
    uint32_t open_n;      /* streams in open[] */
    uint32_t open[H2SCAN_OPEN_MAX]; /* the open streams, in no order */
};

/* Starts watching a new connection at monotonic time now_ms. */
void h2scan_init(struct h2scan *s, uint64_t now_ms);
/* Reads the next n bytes the client sent; returns the verdict so far
 * (once not H2SCAN_OK it stays so). */
enum h2scan_verdict h2scan_feed(struct h2scan *s, const uint8_t *p, size_t n,
                                uint64_t now_ms);
/* Reads the next n bytes the server sent (from its first): the streams
 * they end. */
void h2scan_sent(struct h2scan *s, const uint8_t *p, size_t n, uint64_t now_ms);
/* Whether a stream of the connection is still open (a call in progress). */
bool h2scan_busy(const struct h2scan *s);
/* A short sentence for a log line. */
const char *h2scan_verdict_text(enum h2scan_verdict v);

#endif
