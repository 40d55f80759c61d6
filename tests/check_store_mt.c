/*
 * check_store_mt.c: the store under concurrent callers (also the
 * ThreadSanitizer target): threads run mixed calls on overlapping keys
 * against small limits while the clock moves, then the limits, the counters
 * and every entry are checked.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "check_run.h"
#include "store.h"

#define THREADS   6
#define OPS       200000
#define KEYSPACE  2000
#define MAX_ITEMS 500
#define MAX_BYTES (256u * 1024u)
#define VALUE_MAX 8192

static _Atomic uint64_t now_ms = 1000;
static _Atomic bool done;
static struct store *store;

struct worker {
    unsigned seed;
    uint64_t gets, sets, deletes, hits, bad;
    uint64_t too_large, no_space; /* Set outcomes */
};

static uint64_t
atomic_clock(void *ctx)
{
    return atomic_load((_Atomic uint64_t *)ctx);
}

static unsigned
rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void
one_call(struct worker *w, struct buf *out, const char *val)
{
    unsigned r = rnd(&w->seed);
    char key[16];
    size_t vlen = r % 8 == 0 ? 5000 : r % 200;
    enum store_status st;
    int n = snprintf(key, sizeof key, "k%u", (r >> 4) % KEYSPACE);

    switch ((r >> 16) % 10) {
    case 0:
    case 1:
    case 2:
        w->sets++;
        if (r % 97 == 0)
            vlen = VALUE_MAX + 1;
        st = store_set(store, NULL, 0, key, (size_t)n, val, vlen,
                       r % 3 == 0 ? 1 : 0);
        w->too_large += st == STORE_TOO_LARGE;
        w->no_space += st == STORE_NO_SPACE;
        break;
    case 3:
        w->deletes++;
        store_del(store, NULL, 0, key, (size_t)n);
        break;
    case 4:
        w->bad++;
        ck_assert_int_eq(store_get(store, NULL, 0, "\xff", 1, out),
                         STORE_BAD_KEY);
        break;
    default:
        w->gets++;
        if (store_get(store, NULL, 0, key, (size_t)n, out) == STORE_OK) {
            w->hits++;
            ck_assert_uint_le(out->len, 5000);
        }
    }
}

static void *
worker_main(void *arg)
{
    static char val[VALUE_MAX + 1];
    struct worker *w = arg;
    struct buf out;
    int i;

    buf_init(&out);
    for (i = 0; i < OPS; i++)
        one_call(w, &out, val);
    buf_fini(&out);
    return NULL;
}

/* Moves the clock and checks the limits while the workers run. */
static void *
watcher_main(void *arg)
{
    uint64_t items, bytes;

    (void)arg;
    while (!atomic_load(&done)) {
        store_usage(store, &items, &bytes);
        ck_assert_uint_le(items, MAX_ITEMS);
        ck_assert_uint_le(bytes, MAX_BYTES);
        atomic_fetch_add(&now_ms, 7);
        sched_yield();
    }
    return NULL;
}

static void
check_quiescent(const struct worker *w)
{
    struct shard_stats tot, sum = {0}, *per;
    uint64_t items, bytes, gets = 0, sets = 0, dels = 0, hits = 0;
    uint64_t too_large = 0, no_space = 0;
    uint32_t i, n = store_shard_count(store);
    struct buf out;
    uint64_t found = 0;
    char key[16];

    for (i = 0; i < THREADS; i++) {
        gets += w[i].gets;
        sets += w[i].sets;
        dels += w[i].deletes;
        hits += w[i].hits;
        too_large += w[i].too_large;
        no_space += w[i].no_space;
    }
    store_cleanup_pass(store);
    per = calloc(n, sizeof *per);
    store_stats(store, &tot, per);
    for (i = 0; i < n; i++)
        stats_add(&sum, &per[i]);
    ck_assert_mem_eq(&sum, &tot, sizeof sum);
    free(per);
    store_usage(store, &items, &bytes);
    ck_assert_uint_eq(items, tot.size);
    ck_assert_uint_eq(bytes, tot.memory_usage_bytes);
    ck_assert_uint_le(tot.size, MAX_ITEMS);
    ck_assert_uint_le(tot.memory_usage_bytes, MAX_BYTES);
    ck_assert_uint_eq(tot.gets, gets);
    ck_assert_uint_eq(tot.sets, sets);
    ck_assert_uint_eq(tot.deletes, dels);
    ck_assert_uint_eq(tot.hits, hits);
    ck_assert_uint_eq(tot.hits + tot.misses, gets);
    ck_assert_uint_gt(tot.lru_evictions, 0);
    ck_assert_uint_gt(too_large, 0);
    ck_assert_uint_eq(tot.rejected_oversize, too_large);
    ck_assert_uint_eq(tot.rejected_capacity, no_space);
    buf_init(&out);
    for (i = 0; i < KEYSPACE; i++) {
        snprintf(key, sizeof key, "k%u", i);
        found += store_get(store, NULL, 0, key, strlen(key), &out) == STORE_OK;
    }
    buf_fini(&out);
    ck_assert_uint_eq(found, tot.size);
}

START_TEST(test_store_mt_limits_counters_reachability)
{
    struct store_config cfg = {16, MAX_ITEMS, MAX_BYTES, VALUE_MAX, 1};
    struct clock clk = {atomic_clock, &now_ms};
    pthread_t th[THREADS], watcher;
    struct worker w[THREADS] = {{0}};
    int i;

    store = store_create(&cfg, &clk);
    ck_assert_ptr_nonnull(store);
    ck_assert_int_eq(store_start_cleanup(store), 0);
    ck_assert_int_eq(pthread_create(&watcher, NULL, watcher_main, NULL), 0);
    for (i = 0; i < THREADS; i++) {
        w[i].seed = 7919u * (unsigned)(i + 1);
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&done, true);
    pthread_join(watcher, NULL);
    check_quiescent(w);
    store_destroy(store);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("store_mt");
    TCase *tc = tcase_create("concurrency");

    tcase_add_test(tc, test_store_mt_limits_counters_reachability);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return check_run(s);
}
