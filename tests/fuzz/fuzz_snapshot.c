/*
 * fuzz_snapshot.c: libFuzzer target for the snapshot loader
 * (snapshot_load.c, docs/snapshots.md): whatever the file, loading never
 * crashes and never loads part of a file it refuses.
 *
 * Input: the first byte picks the mode, the rest is the file. In mode 0
 * (even first byte) the file is loaded as it is, so almost every input
 * fails the checksum. In mode 1 (odd) its last 4 bytes are first replaced
 * by the CRC-32C of the bytes before them, so the fuzzer reaches the
 * block walk, the LZ4 decompression, the record parser, the ordering and
 * the limits with files whose structure alone is wrong. The seeds come
 * from make_snapshot_seeds.c.
 *
 * Each input gets a fresh store with small limits, on a fake clock; the
 * wall clock is fixed (FUZZ_WALL_MS, in the seeds' future). Checked after
 * every load: a refused file left the store empty and gave a reason; a
 * loaded one inserted exactly the entries it reports, within the limits;
 * and every progress report had done within total.
 */
#include <string.h>

#include "crc32c.h"
#include "fuzz.h"
#include "snapshot.h"
#include "snapshot_format.h"

#define FUZZ_MAX_ITEMS  16
#define FUZZ_MAX_MEMORY (8 * 1024)
#define FUZZ_MAX_VALUE  1024
#define FUZZ_WALL_MS    UINT64_C(1800000000000)
#define FUZZ_FILE_MAX   (1u << 20)

static _Atomic uint64_t fuzz_now_ms = 1000000;
static unsigned char fuzz_file[FUZZ_FILE_MAX];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* A progress report: never past its total. */
static void
fuzz_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    (void)ctx;
    FUZZ_CHECK(phase != NULL && done <= total);
}

static void
fuzz_check_store(struct store *st, int rc, const struct snapshot_load_result *r,
                 const char *why)
{
    uint64_t items, bytes;
    struct shard_stats t;

    store_usage(st, &items, &bytes);
    store_stats(st, &t, NULL);
    FUZZ_CHECK(items == t.size && bytes == t.memory_usage_bytes);
    FUZZ_CHECK(items <= FUZZ_MAX_ITEMS && bytes <= FUZZ_MAX_MEMORY);
    if (rc != 0) {
        FUZZ_CHECK(items == 0 && r->entries == 0);
        FUZZ_CHECK(why[0] != '\0');
    } else {
        FUZZ_CHECK(items == r->entries);
        FUZZ_CHECK(t.sets == 0 && t.lru_evictions == 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_config cfg = {4, FUZZ_MAX_ITEMS, FUZZ_MAX_MEMORY,
                               FUZZ_MAX_VALUE, 1};
    struct clock clk = {clock_fake_now, &fuzz_now_ms};
    struct snapshot_progress prog = {fuzz_progress, NULL};
    struct snapshot_load_result r;
    char why[256] = "";
    struct store *st;
    size_t len;
    int rc;

    if (size == 0 || size - 1 > FUZZ_FILE_MAX)
        return 0;
    len = size - 1;
    memcpy(fuzz_file, data + 1, len);
    if ((data[0] & 1) && len >= 4)
        snapshot_put_le(fuzz_file + len - 4, crc32c(0, fuzz_file, len - 4), 4);
    st = store_create(&cfg, &clk);
    FUZZ_CHECK(st != NULL);
    rc = snapshot_load_buf(st, fuzz_file, len, FUZZ_WALL_MS, &prog, &r, why,
                           sizeof why);
    FUZZ_CHECK(rc == 0 || rc == -1);
    fuzz_check_store(st, rc, &r, why);
    store_destroy(st);
    return 0;
}
