/*
 * check_snapshot.c: CRC-32C (crc32c.c), the snapshot file format, its
 * writer and its loader (snapshot_save.c, snapshot_load.c), and the store
 * entry points they use (store_snap.c).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "crc32c.h"
#include "snapshot.h"
#include "snapshot_craft.h"
#include "snapshot_format.h"
#include "store.h"

#define WALL0 UINT64_C(1700000000000) /* wall clock at the save, ms */

static _Atomic uint64_t mono_a = 5000000; /* the saving store's clock */
static _Atomic uint64_t mono_b = 100;     /* the loading store's clock */
static char dir[64], path[96];
static struct store *a, *b;
static struct buf out;

static struct store *
mk(_Atomic uint64_t *clk, uint32_t shards, uint64_t items, uint64_t mem)
{
    struct store_config cfg = {shards, items, mem, mem, 1};
    struct clock c = {clock_fake_now, clk};
    struct store *st = store_create(&cfg, &c);

    ck_assert_ptr_nonnull(st);
    return st;
}

static void
setup(void)
{
    strcpy(dir, "/tmp/check-snapshot-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/cache.snap", dir);
    a = mk(&mono_a, 4, 1000, 64u << 20);
    buf_init(&out);
}

static void
teardown(void)
{
    char cmd[128];

    store_destroy(a);
    store_destroy(b);
    a = b = NULL;
    buf_fini(&out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Saves st to path; returns the entries written. */
static uint64_t
save(struct store *st, uint64_t wall)
{
    char why[256] = "";
    uint64_t entries = 0, bytes = 0;
    struct snapshot_writer *w = snapshot_writer_open(st, path, wall, why, 256);
    int rc;

    ck_assert_msg(w != NULL, "%s", why);
    while ((rc = snapshot_writer_step(w, why, sizeof why)) == 0)
        ;
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(snapshot_writer_commit(w, &entries, &bytes, why, 256), 0);
    return entries;
}

/* The file at path, malloc'd, its size in *len. */
static unsigned char *
slurp(size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    long n;

    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    p = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static int
load(const void *p, size_t len, uint64_t wall, struct snapshot_load_result *r,
     char *why)
{
    return snapshot_load_buf(b, p, len, wall, NULL, r, why, 256);
}

static bool
has(struct store *st, const char *ns, const char *key, size_t klen,
    const void *val, size_t vlen)
{
    return store_get(st, ns, ns ? strlen(ns) : 0, key, klen, &out) ==
               STORE_OK &&
           out.len == vlen && memcmp(out.data, val, vlen) == 0;
}

static uint64_t
items(struct store *st)
{
    uint64_t n, bytes;

    store_usage(st, &n, &bytes);
    return n;
}

START_TEST(test_crc32c_known_vectors)
{
    unsigned char zeros[32] = {0}, ones[32], up[32], down[32];
    unsigned char data[100];
    size_t i, cut;

    for (i = 0; i < 32; i++) {
        ones[i] = 0xff;
        up[i] = (unsigned char)i;
        down[i] = (unsigned char)(31 - i);
    }
    ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(crc32c(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 */
    ck_assert_uint_eq(crc32c(0, ones, 32), 0x62A8AB43u);
    ck_assert_uint_eq(crc32c(0, up, 32), 0x46DD794Eu);
    ck_assert_uint_eq(crc32c(0, down, 32), 0x113FDB5Cu);
    ck_assert_uint_eq(crc32c(0, "", 0), 0);
    for (i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 131 + 7);
    for (cut = 0; cut <= sizeof data; cut++) {
        ck_assert_uint_eq(
            crc32c(crc32c(0, data, cut), data + cut, sizeof data - cut),
            crc32c(0, data, sizeof data));
        ck_assert_uint_eq(crc32c(0x12345678u, data, cut),
                          crc32c_portable(0x12345678u, data, cut));
    }
    ck_assert_uint_eq(crc32c_portable(0, "123456789", 9), 0xE3069283u);
}
END_TEST

START_TEST(test_snapshot_round_trip_byte_for_byte)
{
    static unsigned char big[100000];
    const unsigned char bin[] = {0, 0xff, 'x', 0, 0x80, 0xfe};
    struct snapshot_load_result r;
    char why[256] = "";
    size_t i, len;
    unsigned char *p;

    for (i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 7);
    ck_assert_int_eq(store_set(a, NULL, 0, "plain", 5, "v", 1, 0), STORE_OK);
    ck_assert_int_eq(store_set(a, NULL, 0, "a\0b", 3, bin, sizeof bin, 0),
                     STORE_OK);
    ck_assert_int_eq(store_set(a, "ns1", 3, "plain", 5, "other", 5, 0),
                     STORE_OK);
    ck_assert_int_eq(store_set(a, "n\0s", 3, "k", 1, "", 0, 0), STORE_OK);
    ck_assert_int_eq(store_set(a, NULL, 0, "big", 3, big, sizeof big, 0),
                     STORE_OK);
    ck_assert_int_eq(store_set(a, NULL, 0, "ttl", 3, "t", 1, 60), STORE_OK);
    ck_assert_int_eq(store_set(a, NULL, 0, "kept", 4, "k", 1, 60), STORE_OK);
    ck_assert_int_eq(store_touch(a, NULL, 0, "kept", 4, 0), STORE_OK);
    ck_assert_uint_eq(save(a, WALL0), 7);
    p = slurp(&len);
    b = mk(&mono_b, 2, 1000, 64u << 20);
    ck_assert_msg(load(p, len, WALL0 + 10000, &r, why) == 0, "%s", why);
    ck_assert_uint_eq(r.entries, 7);
    ck_assert(has(b, NULL, "plain", 5, "v", 1));
    ck_assert(has(b, NULL, "a\0b", 3, bin, sizeof bin));
    ck_assert(!has(b, NULL, "a", 1, bin, sizeof bin));
    ck_assert(has(b, "ns1", "plain", 5, "other", 5));
    ck_assert(store_get(b, "n\0s", 3, "k", 1, &out) == STORE_OK &&
              out.len == 0);
    ck_assert(has(b, NULL, "big", 3, big, sizeof big));
    /* 60 s TTL, saved at once, loaded 10 s later: 50 s left, not 60 */
    atomic_fetch_add(&mono_b, 49900);
    ck_assert(has(b, NULL, "ttl", 3, "t", 1));
    atomic_fetch_add(&mono_b, 200);
    ck_assert(!has(b, NULL, "ttl", 3, "t", 1));
    ck_assert(has(b, NULL, "kept", 4, "k", 1));
    free(p);
}
END_TEST

START_TEST(test_snapshot_keeps_lru_order)
{
    struct snapshot_load_result r;
    char key[8], why[256];
    unsigned char *p;
    size_t len;
    int i;

    for (i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(store_set(a, NULL, 0, key, 2, "v", 1, 0), STORE_OK);
    }
    ck_assert_int_eq(store_get(a, NULL, 0, "k0", 2, &out), STORE_OK);
    save(a, WALL0);
    p = slurp(&len);
    b = mk(&mono_b, 4, 5, 64u << 20);
    ck_assert_int_eq(load(p, len, WALL0, &r, why), 0);
    ck_assert_uint_eq(r.entries, 5);
    /* oldest first: k1 k2 k3 k4 k0 */
    ck_assert_int_eq(store_set(b, NULL, 0, "n1", 2, "v", 1, 0), STORE_OK);
    ck_assert(!has(b, NULL, "k1", 2, "v", 1));
    ck_assert_int_eq(store_set(b, NULL, 0, "n2", 2, "v", 1, 0), STORE_OK);
    ck_assert(!has(b, NULL, "k2", 2, "v", 1));
    ck_assert(has(b, NULL, "k0", 2, "v", 1));
    ck_assert(has(b, NULL, "k3", 2, "v", 1));
    free(p);
}
END_TEST

START_TEST(test_snapshot_smaller_limits_keep_most_recent)
{
    struct snapshot_load_result r;
    char key[8], why[256];
    unsigned char *p;
    size_t len;
    int i;

    for (i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(store_set(a, NULL, 0, key, 2, "v", 1, 0), STORE_OK);
    }
    save(a, WALL0);
    p = slurp(&len);
    b = mk(&mono_b, 4, 4, 64u << 20);
    ck_assert_int_eq(load(p, len, WALL0, &r, why), 0);
    ck_assert_uint_eq(r.entries, 4);
    ck_assert_uint_eq(r.dropped, 6);
    for (i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(has(b, NULL, key, 2, "v", 1), i >= 6);
    }
    free(p);
}
END_TEST

START_TEST(test_snapshot_expired_entries_are_not_written_nor_loaded)
{
    struct snapshot_load_result r;
    unsigned char *p;
    char why[256];
    size_t len;

    ck_assert_int_eq(store_set(a, NULL, 0, "short", 5, "v", 1, 1), STORE_OK);
    ck_assert_int_eq(store_set(a, NULL, 0, "long", 4, "v", 1, 10), STORE_OK);
    ck_assert_int_eq(store_set(a, NULL, 0, "ever", 4, "v", 1, 0), STORE_OK);
    atomic_fetch_add(&mono_a, 2000);
    ck_assert_uint_eq(save(a, WALL0), 2);
    p = slurp(&len);
    b = mk(&mono_b, 4, 100, 64u << 20);
    ck_assert_int_eq(load(p, len, WALL0 + 20000, &r, why), 0);
    ck_assert_uint_eq(r.entries, 1);
    ck_assert_uint_eq(r.expired, 1);
    ck_assert(has(b, NULL, "ever", 4, "v", 1));
    free(p);
}
END_TEST

/* A file of a few entries, loaded with every kind of damage. */
static unsigned char *
sample(size_t *len)
{
    char key[8];
    int i;

    for (i = 0; i < 6; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(store_set(a, i % 2 ? "ns" : NULL, i % 2 ? 2 : 0, key,
                                   2, "value", 5, i % 3 ? 100 : 0),
                         STORE_OK);
    }
    save(a, WALL0);
    b = mk(&mono_b, 4, 100, 64u << 20);
    return slurp(len);
}

/* Asserts that p is refused and b left empty; returns the reason. */
static const char *
refused(const unsigned char *p, size_t len, uint64_t wall)
{
    static char why[256];
    struct snapshot_load_result r;

    why[0] = '\0';
    ck_assert_int_eq(load(p, len, wall, &r, why), -1);
    ck_assert_uint_eq(r.entries, 0);
    ck_assert_uint_eq(items(b), 0);
    ck_assert(why[0] != '\0');
    return why;
}

/* Rewrites the CRC of a doctored file so only its structure is wrong. */
static void
reseal(unsigned char *p, size_t len)
{
    snapshot_put_le(p + len - 4, crc32c(0, p, len - 4), 4);
}

START_TEST(test_snapshot_truncated_or_flipped_is_refused_whole)
{
    size_t len, i;
    unsigned char *p = sample(&len), *q = malloc(len + 1);

    for (i = 0; i < len; i++) {
        memcpy(q, p, i);
        refused(q, i, WALL0);
    }
    for (i = 0; i < len * 8; i++) {
        memcpy(q, p, len);
        q[i / 8] ^= (unsigned char)(1u << (i % 8));
        refused(q, len, WALL0);
    }
    memcpy(q, p, len);
    q[len] = 0;
    refused(q, len + 1, WALL0);
    free(q);
    free(p);
}
END_TEST

START_TEST(test_snapshot_foreign_newer_future_or_miscounted_is_refused)
{
    size_t len, i;
    unsigned char *p = sample(&len), *q = malloc(len);

    ck_assert_ptr_nonnull(strstr(refused(p, len, WALL0 - 1), "future"));
    memcpy(q, p, len);
    q[0] = 'X';
    ck_assert_ptr_nonnull(strstr(refused(q, len, WALL0), "magic"));
    memcpy(q, p, len);
    snapshot_put_le(q + 8, SNAPSHOT_FORMAT_VERSION + 1, 4);
    reseal(q, len);
    ck_assert_ptr_nonnull(strstr(refused(q, len, WALL0), "newer"));
    memcpy(q, p, len);
    snapshot_put_le(q + len - 12, 5, 8);
    reseal(q, len);
    ck_assert_ptr_nonnull(strstr(refused(q, len, WALL0), "corrupt"));
    memcpy(q, p, len);
    snapshot_put_le(q + 8, 1, 4);
    reseal(q, len);
    ck_assert_ptr_nonnull(strstr(refused(q, len, WALL0), "older"));
    for (i = 0; i < len; i++)
        q[i] = (unsigned char)(rand() & 0xff);
    refused(q, len, WALL0);
    refused(q, 0, WALL0);
    free(q);
    free(p);
}
END_TEST

/* A crafted file of one stored block: the bad key, the overlong varint,
 * the record running past its block, a stored length over the raw one. */
START_TEST(test_snapshot_bad_records_are_refused)
{
    struct craft c;

    b = mk(&mono_b, 4, 100, 64u << 20);
    craft_begin(&c, SNAPSHOT_FORMAT_VERSION, WALL0);
    craft_block_begin(&c);
    craft_entry(&c, NULL, 0, "good", 4, "v", 1, 0, 1);
    craft_entry(&c, NULL, 0, "\xff", 1, "v", 1, 0, 2);
    craft_block_end(&c);
    craft_end(&c);
    ck_assert_ptr_nonnull(strstr(refused(c.p, c.len, WALL0), "key"));
    free(c.p);

    craft_begin(&c, SNAPSHOT_FORMAT_VERSION, WALL0);
    craft_block_begin(&c);
    craft_entry(&c, NULL, 0, "good", 4, "v", 1, 0, 1);
    craft_block_end(&c);
    craft_end(&c);
    /* the stamp (the byte before the key) made a varint that never ends */
    c.p[c.len - SNAPSHOT_END_BYTES - 6] = 0x81;
    reseal(c.p, c.len);
    ck_assert_ptr_nonnull(strstr(refused(c.p, c.len, WALL0), "entry"));
    /* a stored length over the raw one */
    c.p[c.len - SNAPSHOT_END_BYTES - 6] = 1;
    snapshot_put_le(c.p + c.block + 5, 100, 4);
    reseal(c.p, c.len);
    ck_assert_ptr_nonnull(strstr(refused(c.p, c.len, WALL0), "block"));
    /* a raw length one short: the record runs past its block */
    snapshot_put_le(c.p + c.block + 1, c.len - c.block - 23, 4);
    snapshot_put_le(c.p + c.block + 5, c.len - c.block - 23, 4);
    reseal(c.p, c.len);
    refused(c.p, c.len, WALL0);
    free(c.p);
}
END_TEST

/* Compressible values are written compressed, and a compressed block that
 * does not decompress to exactly its raw length is refused whole, even
 * with a good checksum. */
START_TEST(test_snapshot_compresses_and_refuses_bad_compressed_blocks)
{
    static const char v[100] = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr"
                               "stuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij"
                               "klmnopqrstuv";
    struct snapshot_load_result r;
    char key[16], why[256] = "";
    unsigned char *p;
    size_t len, blk, raw;
    int i;

    for (i = 0; i < 900; i++) {
        snprintf(key, sizeof key, "key%06d", i);
        ck_assert_int_eq(store_set(a, NULL, 0, key, 9, v, sizeof v, 0),
                         STORE_OK);
    }
    save(a, WALL0);
    p = slurp(&len);
    ck_assert_msg(len < 900 * 30, "%zu bytes", len);
    b = mk(&mono_b, 4, 1000, 64u << 20);
    ck_assert_msg(load(p, len, WALL0, &r, why) == 0, "%s", why);
    ck_assert_uint_eq(r.entries, 900);
    ck_assert(has(b, NULL, "key000899", 9, v, sizeof v));
    store_destroy(b);
    b = mk(&mono_b, 4, 1000, 64u << 20);
    blk = SNAPSHOT_HEADER_FIXED + p[20];
    ck_assert_int_eq(p[blk], SNAPSHOT_REC_BLOCK);
    ck_assert_uint_lt(snapshot_get_le(p + blk + 5, 4),
                      snapshot_get_le(p + blk + 1, 4));
    raw = snapshot_get_le(p + blk + 1, 4);
    snapshot_put_le(p + blk + 1, raw + 1, 4);
    reseal(p, len);
    ck_assert_ptr_nonnull(strstr(refused(p, len, WALL0), "block"));
    snapshot_put_le(p + blk + 1, raw - 1, 4);
    reseal(p, len);
    ck_assert_ptr_nonnull(strstr(refused(p, len, WALL0), "block"));
    free(p);
}
END_TEST

START_TEST(test_snapshot_failed_save_keeps_previous_file)
{
    size_t len1, len2;
    unsigned char *before, *after;
    char tmp[128], why[256];

    ck_assert_int_eq(store_set(a, NULL, 0, "k", 1, "v", 1, 0), STORE_OK);
    save(a, WALL0);
    before = slurp(&len1);
    ck_assert_int_eq(store_set(a, NULL, 0, "k2", 2, "v", 1, 0), STORE_OK);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(mkdir(tmp, 0700), 0);
    ck_assert_ptr_null(snapshot_writer_open(a, path, WALL0, why, sizeof why));
    after = slurp(&len2);
    ck_assert_uint_eq(len1, len2);
    ck_assert_int_eq(memcmp(before, after, len1), 0);
    ck_assert_int_eq(rmdir(tmp), 0);
    free(before);
    free(after);
}
END_TEST

/* Loads path through the daemon's struct snapshot; returns its load_failures
 * and, in *moved, whether path.bad now exists. */
static uint64_t
daemon_load(bool *moved)
{
    static _Atomic uint64_t wall = WALL0;
    struct clock c = {clock_fake_now, &wall};
    struct snapshot *s = snapshot_create(a, path, 0, &c, NULL);
    struct snapshot_stats st;
    char bad[128];
    struct stat sb;

    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(snapshot_load(s), -1);
    snapshot_read_stats(s, &st);
    snapshot_destroy(s);
    snprintf(bad, sizeof bad, "%s.bad", path);
    *moved = lstat(bad, &sb) == 0;
    return st.load_failures;
}

/* A damaged file is moved aside as path.bad; what is not a regular file
 * (refused at start-up, but one can appear after) is left where it is. */
START_TEST(test_snapshot_load_moves_aside_only_a_file)
{
    char inside[128];
    struct stat sb;
    bool moved;
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs("not a snapshot", f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_uint_eq(daemon_load(&moved), 1);
    ck_assert(moved);
    ck_assert_int_eq(lstat(path, &sb), -1);
    snprintf(inside, sizeof inside, "%s.bad", path);
    ck_assert_int_eq(unlink(inside), 0);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    snprintf(inside, sizeof inside, "%s/kept", path);
    ck_assert_int_eq(mkdir(inside, 0700), 0);
    ck_assert_uint_eq(daemon_load(&moved), 1);
    ck_assert(!moved);
    ck_assert_int_eq(lstat(inside, &sb), 0); /* the folder is still there */
    ck_assert_int_eq(rmdir(inside), 0);
    ck_assert_int_eq(rmdir(path), 0);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_uint_eq(daemon_load(&moved), 1);
    ck_assert(!moved);
    ck_assert_int_eq(lstat(path, &sb), 0);
    ck_assert(S_ISFIFO(sb.st_mode));
}
END_TEST

/* What the loader reported, in order: each phase's number of reports and
 * its last done and total. */
#define PHASES 5
static const char *const phase_names[PHASES] = {
    "checking", "reading", "sorting", "choosing", "inserting"};
struct heard {
    int last_phase;
    unsigned reports[PHASES];
    uint64_t done[PHASES], total[PHASES];
};

static void
hear(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    struct heard *h = ctx;
    int i = 0;

    while (i < PHASES && strcmp(phase, phase_names[i]) != 0)
        i++;
    ck_assert_msg(i < PHASES, "unknown phase %s", phase);
    ck_assert_int_ge(i, h->last_phase); /* phases in order, never back */
    ck_assert_uint_le(done, total);
    if (h->reports[i] > 0) {
        ck_assert_uint_ge(done, h->done[i]);
        ck_assert_uint_eq(total, h->total[i]);
    }
    h->last_phase = i;
    h->reports[i]++;
    h->done[i] = done;
    h->total[i] = total;
}

START_TEST(test_snapshot_load_reports_progress)
{
    enum { N = 200000, VLEN = 100 };
    struct heard h = {.last_phase = 0};
    struct snapshot_progress prog = {hear, &h};
    struct snapshot_load_result r;
    unsigned char val[VLEN];
    uint64_t x = 88172645463325252ull;
    char key[16], why[256] = "";
    unsigned char *p;
    size_t len, i, j;

    store_destroy(a);
    a = mk(&mono_a, 4, N, 256u << 20);
    for (i = 0; i < N; i++) {
        for (j = 0; j < VLEN; j++) { /* xorshift: no block compresses */
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            val[j] = (unsigned char)x;
        }
        snprintf(key, sizeof key, "k%zu", i);
        ck_assert_int_eq(store_set(a, NULL, 0, key, strlen(key), val, VLEN, 0),
                         STORE_OK);
    }
    ck_assert_uint_eq(save(a, WALL0), N);
    p = slurp(&len);
    ck_assert_uint_gt(len, 16u << 20); /* two checksum chunks at least */
    b = mk(&mono_b, 4, N, 256u << 20);
    ck_assert_msg(snapshot_load_buf(b, p, len, WALL0, &prog, &r, why, 256) == 0,
                  "%s", why);
    ck_assert_uint_eq(r.entries, N);
    ck_assert_uint_ge(h.reports[0], 2);
    ck_assert_uint_eq(h.done[0], len - 4);
    ck_assert_uint_ge(h.reports[1], len / (64u << 10)); /* a block each */
    ck_assert_uint_eq(h.done[1], h.total[1]);
    ck_assert_uint_ge(h.reports[2], 3); /* stamps differ in 3 bytes or more */
    ck_assert_uint_eq(h.done[2], h.total[2]);
    for (i = 3; i < PHASES; i++) { /* every 65,536 entries, from the first */
        ck_assert_uint_eq(h.reports[i], (N + 65535) / 65536);
        ck_assert_uint_eq(h.total[i], N);
    }
    free(p);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("snapshot");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_crc32c_known_vectors);
    tcase_add_test(tc, test_snapshot_round_trip_byte_for_byte);
    tcase_add_test(tc, test_snapshot_keeps_lru_order);
    tcase_add_test(tc, test_snapshot_smaller_limits_keep_most_recent);
    tcase_add_test(tc,
                   test_snapshot_expired_entries_are_not_written_nor_loaded);
    tcase_add_test(tc, test_snapshot_truncated_or_flipped_is_refused_whole);
    tcase_add_test(tc,
                   test_snapshot_foreign_newer_future_or_miscounted_is_refused);
    tcase_add_test(tc, test_snapshot_bad_records_are_refused);
    tcase_add_test(tc,
                   test_snapshot_compresses_and_refuses_bad_compressed_blocks);
    tcase_add_test(tc, test_snapshot_failed_save_keeps_previous_file);
    tcase_add_test(tc, test_snapshot_load_reports_progress);
    tcase_add_test(tc, test_snapshot_load_moves_aside_only_a_file);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return check_run(s);
}
