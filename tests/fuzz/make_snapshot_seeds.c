/*
 * make_snapshot_seeds.c: writes the seed corpus of fuzz_snapshot
 * (tests/fuzz/corpus/fuzz_snapshot/, docs/fuzzing.md). Valid files come
 * from the snapshot writer itself, saving small stores; the files it never
 * writes (a name twice, a newer format) are crafted (snapshot_craft.h).
 * Each file is written twice, as NAME-0 and NAME-1: the first byte of a
 * fuzz input picks the target's mode (fuzz_snapshot.c).
 *
 * usage: make-snapshot-seeds DIR    (built by make; run from anywhere)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../snapshot_craft.h"
#include "snapshot.h"
#include "store.h"

/* Before fuzz_snapshot's wall clock (FUZZ_WALL_MS), so no seed is from
 * its future. */
#define SEED_WALL_MS UINT64_C(1700000000000)

static _Atomic uint64_t seed_mono_ms = 1000000;
static const char *seed_dir;

static void
die(const char *what)
{
    fprintf(stderr, "make-snapshot-seeds: %s\n", what);
    exit(1);
}

/* Writes the len bytes at p as NAME-0 and NAME-1. */
static void
emit(const char *name, const unsigned char *p, size_t len)
{
    char path[4096];
    FILE *f;

    for (int mode = 0; mode < 2; mode++) {
        unsigned char m = (unsigned char)mode;

        snprintf(path, sizeof path, "%s/%s-%d", seed_dir, name, mode);
        if ((f = fopen(path, "wb")) == NULL || fwrite(&m, 1, 1, f) != 1 ||
            fwrite(p, 1, len, f) != len || fclose(f) != 0)
            die(path);
    }
}

static struct store *
new_store(void)
{
    struct store_config cfg = {4, 1000, 64u << 20, 1u << 20, 1};
    struct clock clk = {clock_fake_now, &seed_mono_ms};
    struct store *st = store_create(&cfg, &clk);

    if (st == NULL)
        die("no store");
    return st;
}

/* Saves st with the writer and emits the file as name; frees st. */
static void
save_as(struct store *st, const char *name)
{
    char why[256], path[4096];
    struct snapshot_writer *w;
    uint64_t entries, bytes;
    unsigned char *p;
    FILE *f;
    long n;
    int rc;

    snprintf(path, sizeof path, "%s/.seed.snap", seed_dir);
    if ((w = snapshot_writer_open(st, path, SEED_WALL_MS, why, 256)) == NULL)
        die(why);
    while ((rc = snapshot_writer_step(w, why, sizeof why)) == 0)
        ;
    if (rc < 0 || snapshot_writer_commit(w, &entries, &bytes, why, 256) != 0)
        die(why);
    if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
        (n = ftell(f)) < 0 || (p = malloc((size_t)n)) == NULL)
        die(path);
    rewind(f);
    if (fread(p, 1, (size_t)n, f) != (size_t)n)
        die(path);
    fclose(f);
    unlink(path);
    emit(name, p, (size_t)n);
    free(p);
    store_destroy(st);
}

static void
set(struct store *st, const char *ns, size_t nslen, const char *key,
    size_t klen, const void *val, size_t vlen, int32_t ttl)
{
    if (store_set(st, ns, nslen, key, klen, val, vlen, ttl) != STORE_OK)
        die("set");
}

/* Namespaces, NUL in keys and namespaces, binary and empty values, TTLs. */
static void
entries(void)
{
    struct store *st = new_store();
    unsigned char bin[64];

    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 37);
    set(st, NULL, 0, "a1", 2, "value", 5, 0);
    set(st, "ns", 2, "a2", 2, "", 0, 0);
    set(st, NULL, 0, "nul\0key", 7, bin, sizeof bin, 0);
    set(st, "n\0s", 3, "k", 1, "v", 1, 3600);
    set(st, NULL, 0, "\xc3\xa9t\xc3\xa9", 6, "summer", 6, 60);
    save_as(st, "entries");
}

/* Values that compress: LZ4 blocks, two of them. */
static void
compressed(void)
{
    struct store *st = new_store();
    char key[32], val[200];

    for (size_t i = 0; i < sizeof val; i++)
        val[i] = (char)('a' + i % 26);
    for (int i = 0; i < 400; i++) {
        snprintf(key, sizeof key, "key%06d", i);
        set(st, i % 3 ? NULL : "ns", i % 3 ? 0 : 2, key, strlen(key), val,
            (size_t)(100 + i % 100), i % 5 ? 0 : 600);
    }
    save_as(st, "compressed");
}

static void
misc(void)
{
    struct store *st = new_store();
    char key[32], big[2048];

    save_as(new_store(), "empty-cache");
    set(st, NULL, 0, "short", 5, "v", 1, 1);
    set(st, NULL, 0, "kept", 4, "v", 1, 0);
    save_as(st, "expired"); /* "short" is long gone at the fuzz clock */
    st = new_store();
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%d", i);
        set(st, NULL, 0, key, strlen(key), key, strlen(key), 0);
    }
    save_as(st, "over-limits");
    st = new_store();
    memset(big, 'b', sizeof big);
    set(st, NULL, 0, "big", 3, big, sizeof big, 0);
    set(st, NULL, 0, "small", 5, "s", 1, 0);
    save_as(st, "big-value");
}

static void
crafted(void)
{
    struct craft c;

    craft_begin(&c, SNAPSHOT_FORMAT_VERSION, SEED_WALL_MS);
    craft_block_begin(&c);
    craft_entry(&c, NULL, 0, "dup", 3, "first", 5, 0, 1);
    craft_entry(&c, NULL, 0, "other", 5, "v", 1, 0, 2);
    craft_entry(&c, NULL, 0, "dup", 3, "second", 6, 0, 3);
    craft_block_end(&c);
    craft_end(&c);
    emit("duplicate-names", c.p, c.len);
    free(c.p);
    craft_begin(&c, SNAPSHOT_FORMAT_VERSION + 1, SEED_WALL_MS);
    craft_end(&c);
    emit("newer", c.p, c.len);
    free(c.p);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make-snapshot-seeds DIR\n");
        return 2;
    }
    seed_dir = argv[1];
    entries();
    compressed();
    misc();
    crafted();
    return 0;
}
