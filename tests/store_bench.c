/*
 * store_bench.c: store micro-benchmark (not a test). Loads 1,000,000
 * entries of 16-byte keys and 100-byte values, then times gets and sets on
 * keys drawn uniformly at random from a pre-generated list (Gets also
 * 100 keys per store_get_batch), and prints one
 * figure per line as "name: value". See docs/benchmarks.md.
 *
 * Each thread draws its keys before the clock starts, into a sequence it
 * then reads front to back: the store's work is timed, not the benchmark's
 * own random read of its key list. get-rounds (1) repeats the Get hit
 * phases, one line each, so that a shared machine gives several samples
 * per load.
 *
 * usage: store-bench [entries [ops-per-phase [get-rounds]]]
 *        store-bench mixed entries maxlog
 *
 * The second form measures memory only: entries keys with values of 1 to
 * 2^maxlog - 1 bytes (log-uniform), then 4 x entries Sets of random keys
 * with new random sizes, and after each step the accounted bytes against
 * the growth of resident memory.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define KEY_BYTES   16
#define VALUE_BYTES 100

struct bench {
    struct store *st;
    char *keys;   /* entries keys of KEY_BYTES, all present after load */
    char *absent; /* entries keys never stored */
    size_t entries;
    size_t ops;
};

enum op { OP_GET_HIT, OP_GET_MISS, OP_GET_BATCH, OP_SET };

#define BATCH_KEYS 100 /* keys per store_get_batch in OP_GET_BATCH */

struct run {
    struct bench *b;
    enum op op;
    char *draws;  /* b->ops keys drawn at random from the list */
    double cpu_s; /* CPU time the thread spent on them */
};

static double
clock_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static long
rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

static uint64_t
xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void
make_keys(char *keys, size_t n, uint64_t seed)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, j;

    for (i = 0; i < n; i++)
        for (j = 0; j < KEY_BYTES; j++)
            keys[i * KEY_BYTES + j] = hex[xorshift(&seed) & 15];
}

/* Fills r->draws with b->ops keys picked uniformly from the list. */
static int
draw(struct run *r, uint64_t seed)
{
    const struct bench *b = r->b;
    const char *base = r->op == OP_GET_MISS ? b->absent : b->keys;
    size_t i, k;

    r->draws = malloc(b->ops * KEY_BYTES);
    if (r->draws == NULL)
        return -1;
    for (i = 0; i < b->ops; i++) {
        k = (size_t)(xorshift(&seed) % b->entries) * KEY_BYTES;
        memcpy(r->draws + i * KEY_BYTES, base + k, KEY_BYTES);
    }
    return 0;
}

/* r->b->ops keys of r->draws looked up BATCH_KEYS at a time. */
static void
run_batches(struct run *r, struct buf *out)
{
    struct store_batch_get keys[BATCH_KEYS];
    size_t i, j, n;

    for (i = 0; i < r->b->ops; i += n) {
        n = r->b->ops - i < BATCH_KEYS ? r->b->ops - i : BATCH_KEYS;
        for (j = 0; j < n; j++) {
            keys[j].key = r->draws + (i + j) * KEY_BYTES;
            keys[j].klen = KEY_BYTES;
        }
        out->len = 0;
        store_get_batch(r->b->st, NULL, 0, keys, n, UINT64_MAX, out);
    }
}

static void *
run_main(void *arg)
{
    static const char value[VALUE_BYTES];
    struct run *r = arg;
    struct bench *b = r->b;
    const char *key = r->draws;
    struct buf out;
    double cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    size_t i;

    buf_init(&out);
    if (r->op == OP_GET_BATCH)
        run_batches(r, &out);
    for (i = 0; r->op != OP_GET_BATCH && i < b->ops; i++, key += KEY_BYTES) {
        if (r->op == OP_SET)
            store_set(b->st, NULL, 0, key, KEY_BYTES, value, VALUE_BYTES, 0);
        else
            store_get(b->st, NULL, 0, key, KEY_BYTES, &out);
    }
    buf_fini(&out);
    r->cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    return NULL;
}

/* Operations per second of nthreads threads doing op; *oncpu (when not
 * NULL) is the sum over threads of operations per second of that thread's
 * CPU time: what they would do if nothing else wanted the CPUs. */
static double
phase(struct bench *b, enum op op, int nthreads, double *oncpu)
{
    struct run runs[2];
    pthread_t th[2];
    double t0, t;
    int i;

    for (i = 0; i < nthreads; i++) {
        runs[i] = (struct run){b, op, NULL, 0};
        if (draw(&runs[i], 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1)) != 0) {
            fprintf(stderr, "store-bench: out of memory\n");
            exit(1);
        }
    }
    t0 = now_s();
    for (i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, run_main, &runs[i]);
    for (i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    t = now_s() - t0;
    if (oncpu != NULL)
        *oncpu = 0;
    for (i = 0; i < nthreads; i++) {
        free(runs[i].draws);
        if (oncpu != NULL)
            *oncpu += (double)b->ops / runs[i].cpu_s;
    }
    return (double)b->ops * nthreads / t;
}

static double
load(struct bench *b)
{
    static const char value[VALUE_BYTES];
    double t0 = now_s();
    size_t i;

    for (i = 0; i < b->entries; i++)
        if (store_set(b->st, NULL, 0, b->keys + i * KEY_BYTES, KEY_BYTES, value,
                      VALUE_BYTES, 0) != STORE_OK) {
            fprintf(stderr, "store-bench: load failed at %zu\n", i);
            exit(1);
        }
    return (double)b->entries / (now_s() - t0);
}

static void
print_memory(const char *step, struct store *st, long rss0)
{
    struct shard_stats s;
    long grown = rss_bytes() - rss0;

    store_stats(st, &s, NULL);
    printf("%s_accounted_bytes: %llu\n", step,
           (unsigned long long)s.memory_usage_bytes);
    printf("%s_rss_growth_bytes: %ld\n", step, grown);
    printf("%s_rss_over_accounted: %.4f\n", step,
           (double)grown / (double)s.memory_usage_bytes);
}

/* Sets key i % entries (16 bytes) to a value of a random size. */
static void
mixed_set(struct store *st, size_t i, size_t entries, unsigned maxlog,
          uint64_t *seed, const char *value)
{
    char key[32];
    size_t vlen = (size_t)1 << (xorshift(seed) % maxlog);

    vlen += xorshift(seed) % vlen;
    snprintf(key, sizeof key, "key:%012zu", i % entries % 1000000000000u);
    if (store_set(st, NULL, 0, key, KEY_BYTES, value, vlen, 0) != STORE_OK) {
        fprintf(stderr, "store-bench: set failed\n");
        exit(1);
    }
}

static int
mixed_main(size_t entries, unsigned maxlog)
{
    struct store_config cfg = {16, 1u << 30, 64ULL << 30, 1u << 30, 3600};
    uint64_t seed = 42;
    struct store *st;
    char *value;
    size_t i;
    long rss0;

    if (entries == 0 || maxlog < 1 || maxlog > 24)
        return 1;
    value = malloc((size_t)1 << maxlog);
    st = store_create(&cfg, &clock_monotonic);
    if (value == NULL || st == NULL)
        return 1;
    memset(value, 'v', (size_t)1 << maxlog);
    rss0 = rss_bytes();
    for (i = 0; i < entries; i++)
        mixed_set(st, i, entries, maxlog, &seed, value);
    print_memory("fill", st, rss0);
    for (i = 0; i < 4 * entries; i++)
        mixed_set(st, (size_t)xorshift(&seed), entries, maxlog, &seed, value);
    print_memory("churn", st, rss0);
    store_destroy(st);
    free(value);
    return 0;
}

int
main(int argc, char **argv)
{
    struct store_config cfg = {16, 1u << 30, 4ULL << 30, 1u << 20, 3600};
    struct bench b = {0};
    struct shard_stats s;
    unsigned long rounds, i;
    long rss0, rss1;
    double set_new, oncpu;

    if (argc == 4 && strcmp(argv[1], "mixed") == 0)
        return mixed_main(strtoul(argv[2], NULL, 10),
                          (unsigned)strtoul(argv[3], NULL, 10));
    b.entries = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    b.ops = argc > 2 ? strtoul(argv[2], NULL, 10) : 3000000;
    rounds = argc > 3 ? strtoul(argv[3], NULL, 10) : 1;
    b.keys = malloc(b.entries * KEY_BYTES);
    b.absent = malloc(b.entries * KEY_BYTES);
    if (b.entries == 0 || b.keys == NULL || b.absent == NULL)
        return 1;
    make_keys(b.keys, b.entries, 42);
    make_keys(b.absent, b.entries, 4242);
    b.st = store_create(&cfg, &clock_monotonic);
    if (b.st == NULL)
        return 1;
    rss0 = rss_bytes();
    set_new = load(&b);
    rss1 = rss_bytes();
    store_stats(b.st, &s, NULL);
    printf("entries: %llu\n", (unsigned long long)s.size);
    for (i = 0; i < rounds; i++) {
        printf("get_hit_1t: %.0f\n", phase(&b, OP_GET_HIT, 1, &oncpu));
        printf("get_hit_1t_oncpu: %.0f\n", oncpu);
        printf("get_hit_2t: %.0f\n", phase(&b, OP_GET_HIT, 2, &oncpu));
        printf("get_hit_2t_oncpu: %.0f\n", oncpu);
    }
    printf("get_batch100_1t: %.0f\n", phase(&b, OP_GET_BATCH, 1, NULL));
    printf("get_batch100_2t: %.0f\n", phase(&b, OP_GET_BATCH, 2, NULL));
    printf("get_miss_1t: %.0f\n", phase(&b, OP_GET_MISS, 1, NULL));
    printf("set_new_1t: %.0f\n", set_new);
    printf("set_overwrite_1t: %.0f\n", phase(&b, OP_SET, 1, NULL));
    printf("set_overwrite_2t: %.0f\n", phase(&b, OP_SET, 2, NULL));
    printf("overhead_bytes_per_entry: %.1f\n",
           (double)(rss1 - rss0) / (double)b.entries -
               (KEY_BYTES + VALUE_BYTES));
    printf("accounted_bytes_per_entry: %.1f\n",
           (double)s.memory_usage_bytes / (double)b.entries -
               (KEY_BYTES + VALUE_BYTES));
    store_destroy(b.st);
    free(b.keys);
    free(b.absent);
    return 0;
}
