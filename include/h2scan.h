/*
 * h2scan.h: watches the frames a client sends on one HTTP/2 connection,
 * from their 9-byte headers alone, for the floods gRPC 1.51 does not bound
 * itself: streams reset faster than any client cancels calls (the "rapid
 * reset" pattern), header blocks continued over several frames (which
 * would step around gRPC's per-frame metadata limit, and a block that
 * never ends grows without bound), and control frames (SETTINGS, PING,
 * PRIORITY, unknown types) by the thousand. It also keeps the time of the
 * client's last call frame and its last stream, for the idle limit
 * (rpc_guard.h).
 *
 * Pure: bytes in, a verdict out, the time passed in; no I/O, no locks.
 * One struct h2scan per connection, used by one thread at a time.
 */
#ifndef H2SCAN_H
#define H2SCAN_H

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
    H2SCAN_BAD_PREFACE,   /* not HTTP/2's client preface */
    H2SCAN_CONTINUATION,  /* a header block continued past its first frame */
    H2SCAN_RESET_FLOOD,   /* streams reset faster than the budget */
    H2SCAN_CONTROL_FLOOD, /* control frames faster than the budget */
};

/* A token bucket: tokens in thousandths, refilled by the millisecond. */
struct h2scan_bucket {
    uint64_t milli;   /* tokens x 1000 */
    uint64_t last_ms; /* time of the last refill */
};

struct h2scan {
    uint32_t preface_seen;       /* bytes of the preface read so far */
    uint8_t head[9];             /* a frame header being read */
    uint8_t head_len;            /* its bytes so far */
    uint32_t skip;               /* payload bytes of the current frame left */
    enum h2scan_verdict verdict; /* sticky once not OK */
    struct h2scan_bucket resets;
    struct h2scan_bucket control;
    uint64_t call_ms;     /* last HEADERS, DATA or stream WINDOW_UPDATE
                           * (a call, its body, its reply being read);
                           * the start until the first */
    uint32_t last_stream; /* highest stream a HEADERS frame opened, or 0 */
};

/* Starts watching a new connection at monotonic time now_ms. */
void h2scan_init(struct h2scan *s, uint64_t now_ms);
/* Reads the next n bytes the client sent; returns the verdict so far
 * (once not H2SCAN_OK it stays so). */
enum h2scan_verdict h2scan_feed(struct h2scan *s, const uint8_t *p, size_t n,
                                uint64_t now_ms);
/* A short sentence for a log line. */
const char *h2scan_verdict_text(enum h2scan_verdict v);

#endif
