/*
 * fuzz_h2scan.c: the HTTP/2 frame watcher (h2scan.c) on arbitrary bytes.
 *
 * The first two input bytes choose where the rest is cut into two reads
 * and how many milliseconds pass between them; the rest is what a client
 * sent. The same bytes are then read as what the server sent
 * (h2scan_sent), cut at the same place. Properties: a verdict, once not
 * H2SCAN_OK, never changes; feeding the same bytes in one read or in two
 * gives the same verdict; the frame header buffers never overflow (ASan),
 * the token buckets never exceed their burst, and the open streams never
 * exceed H2SCAN_OPEN_MAX.
 */
#include <string.h>

#include "fuzz.h"
#include "h2scan.h"

static enum h2scan_verdict
fuzz_h2scan_run(const uint8_t *p, size_t n, size_t cut, uint64_t gap_ms)
{
    struct h2scan s;
    enum h2scan_verdict v;

    h2scan_init(&s, 1000);
    v = h2scan_feed(&s, p, cut, 1000);
    if (v != H2SCAN_OK) {
        FUZZ_CHECK(h2scan_feed(&s, p + cut, n - cut, 1000 + gap_ms) == v);
        return v;
    }
    v = h2scan_feed(&s, p + cut, n - cut, 1000 + gap_ms);
    FUZZ_CHECK(s.in.head_len < 9);
    FUZZ_CHECK(s.resets.milli <= (uint64_t)H2SCAN_RESETS_BURST * 1000);
    FUZZ_CHECK(s.control.milli <= (uint64_t)H2SCAN_CONTROL_BURST * 1000);
    FUZZ_CHECK(h2scan_verdict_text(v) != NULL);
    h2scan_sent(&s, p, cut, 1000 + gap_ms);
    h2scan_sent(&s, p + cut, n - cut, 2000 + gap_ms);
    FUZZ_CHECK(s.out.head_len < 9);
    FUZZ_CHECK(s.open_n <= H2SCAN_OPEN_MAX);
    FUZZ_CHECK(h2scan_busy(&s) == (s.open_n > 0));
    return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cut;

    if (size < 2)
        return 0;
    cut = data[0] % (size - 1);
    /* Without time passing between the reads, one read or two must agree. */
    if (data[1] == 0)
        FUZZ_CHECK(fuzz_h2scan_run(data + 2, size - 2, cut, 0) ==
                   fuzz_h2scan_run(data + 2, size - 2, 0, 0));
    else
        fuzz_h2scan_run(data + 2, size - 2, cut, data[1]);
    return 0;
}
