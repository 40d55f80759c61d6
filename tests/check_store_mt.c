/*
 * check_store_mt.c: the store under concurrent callers (also the
 * ThreadSanitizer target): threads run mixed calls (every kind of write,
 * in the shared keyspace and a namespace, and flushes of that namespace;
 * Gets of one key and of batches) on
 * overlapping keys against small limits while the clock moves, then the
 * limits, the counters and every entry are checked. Then counters updated
 * by compare-and-set loops and increments at once, and racing
 * set-if-absent calls.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "store.h"

#define THREADS   6
#define OPS       200000
#define KEYSPACE  2000
#define MAX_ITEMS 500
#define MAX_BYTES (256u * 1024u)
#define VALUE_MAX 8192
#define NS        "n1"
#define NSLEN     2

static _Atomic uint64_t now_ms = 1000;
static _Atomic bool done;
static struct store *store;

struct worker {
    unsigned seed;
    uint64_t gets, sets, deletes, hits, bad, touches, flushed;
    uint64_t too_large, no_space; /* outcomes of the set-like writes */
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

/* Counts the outcome of a set-like write. */
static void
count_write(struct worker *w, enum store_status st)
{
    w->sets++;
    w->too_large += st == STORE_TOO_LARGE;
    w->no_space += st == STORE_NO_SPACE;
}

static size_t
value_len(unsigned r)
{
    if (r % 97 == 0)
        return VALUE_MAX + 1;
    return r % 8 == 0 ? 5000 : r % 200;
}

/* A write that depends on what the key holds, in the shared keyspace or
 * the namespace. */
static void
conditional_call(struct worker *w, unsigned r, const char *key, size_t klen,
                 const char *val)
{
    const char *ns = r & 1 ? NS : NULL;
    size_t nslen = r & 1 ? NSLEN : 0, vlen = value_len(r);
    int32_t ttl = r % 3 == 0 ? 1 : 0;
    int64_t v;

    switch ((r >> 12) % 4) {
    case 0:
        count_write(w, store_set_if_absent(store, ns, nslen, key, klen, val,
                                           vlen, ttl));
        break;
    case 1:
        count_write(w,
                    store_compare_and_set(store, ns, nslen, key, klen, val,
                                          value_len(r >> 3), val, vlen, ttl));
        break;
    case 2:
        count_write(w,
                    store_increment(store, ns, nslen, key, klen, 1, ttl, &v));
        break;
    default:
        w->touches++;
        store_touch(store, ns, nslen, key, klen, (int32_t)(r % 3));
    }
}

/* A call in the namespace: set, get, or now and then a flush of it. */
static void
namespace_call(struct worker *w, unsigned r, const char *key, size_t klen,
               const char *val, struct buf *out)
{
    uint64_t removed;

    if (r % 512 == 0) {
        ck_assert_int_eq(store_flush(store, NS, NSLEN, &removed), STORE_OK);
        w->flushed += removed;
    } else if (r % 2 == 0) {
        count_write(w, store_set(store, NS, NSLEN, key, klen, val, value_len(r),
                                 r % 3 == 0 ? 1 : 0));
    } else {
        w->gets++;
        if (store_get(store, NS, NSLEN, key, klen, out) == STORE_OK)
            w->hits++;
    }
}

/* A Get of BATCH keys at once (store_get_batch), counted per key. */
static void
batch_call(struct worker *w, unsigned r, struct buf *out)
{
    enum { BATCH = 8 };
    struct store_batch_get keys[BATCH];
    char names[BATCH][16];

    for (int j = 0; j < BATCH; j++) {
        keys[j].key = names[j];
        keys[j].klen = (size_t)snprintf(names[j], sizeof names[j], "k%u",
                                        ((r >> 4) + (unsigned)j) % KEYSPACE);
    }
    out->len = 0;
    store_get_batch(store, NULL, 0, keys, BATCH, UINT64_MAX, out);
    for (int j = 0; j < BATCH; j++) {
        w->gets++;
        if (keys[j].status == STORE_OK) {
            w->hits++;
            ck_assert_uint_le(keys[j].vlen, 5000);
            ck_assert_uint_le(keys[j].off + keys[j].vlen, out->len);
        } else {
            ck_assert_int_eq(keys[j].status, STORE_NOT_FOUND);
        }
    }
}

static void
one_call(struct worker *w, struct buf *out, const char *val)
{
    unsigned r = rnd(&w->seed);
    char key[16];
    int n = snprintf(key, sizeof key, "k%u", (r >> 4) % KEYSPACE);

    switch ((r >> 16) % 12) {
    case 0:
    case 1:
    case 2:
        count_write(w, store_set(store, NULL, 0, key, (size_t)n, val,
                                 value_len(r), r % 3 == 0 ? 1 : 0));
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
    case 5:
    case 6:
        conditional_call(w, r, key, (size_t)n, val);
        break;
    case 7:
        namespace_call(w, r, key, (size_t)n, val, out);
        break;
    case 8:
        batch_call(w, r, out);
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
    uint64_t too_large = 0, no_space = 0, touches = 0, flushed = 0;
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
        touches += w[i].touches;
        flushed += w[i].flushed;
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
    ck_assert_uint_eq(tot.touch_hits + tot.touch_misses, touches);
    ck_assert_uint_gt(tot.touch_hits, 0);
    ck_assert_uint_eq(tot.flushed, flushed);
    ck_assert_uint_gt(flushed, 0);
    buf_init(&out);
    for (i = 0; i < KEYSPACE; i++) {
        snprintf(key, sizeof key, "k%u", i);
        found += store_get(store, NULL, 0, key, strlen(key), &out) == STORE_OK;
        found +=
            store_get(store, NS, NSLEN, key, strlen(key), &out) == STORE_OK;
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

#define COUNTER_THREADS 8 /* of each kind */
#define COUNTER_OPS     2000

static struct store *
big_store(void)
{
    struct store_config cfg = {16, 100000, 1u << 26, 1u << 20, 1};
    struct store *st = store_create(&cfg, &clock_monotonic);

    ck_assert_ptr_nonnull(st);
    return st;
}

/* Adds 1 to the counter COUNTER_OPS times by read, compare-and-set, retry. */
static void *
cas_adder_main(void *arg)
{
    char now[STORE_INT_CHARS + 1], next[STORE_INT_CHARS + 1];
    struct buf out;
    int i, n;

    (void)arg;
    buf_init(&out);
    for (i = 0; i < COUNTER_OPS; i++) {
        do {
            ck_assert_int_eq(store_get(store, NS, NSLEN, "ctr", 3, &out),
                             STORE_OK);
            ck_assert_uint_le(out.len, STORE_INT_CHARS);
            memcpy(now, out.data, out.len);
            now[out.len] = '\0';
            n = snprintf(next, sizeof next, "%lld", atoll(now) + 1);
        } while (store_compare_and_set(store, NS, NSLEN, "ctr", 3, now, out.len,
                                       next, (size_t)n, 0) == STORE_MISMATCH);
    }
    buf_fini(&out);
    return NULL;
}

static void *
incr_adder_main(void *arg)
{
    int64_t v = 0, last = 0;
    int i;

    (void)arg;
    for (i = 0; i < COUNTER_OPS; i++) {
        ck_assert_int_eq(store_increment(store, NS, NSLEN, "ctr", 3, 1, 0, &v),
                         STORE_OK);
        ck_assert_int_gt(v, last);
        last = v;
    }
    return NULL;
}

START_TEST(test_store_mt_cas_and_increment_lose_no_update)
{
    pthread_t th[2 * COUNTER_THREADS];
    char want[32];
    struct buf out;
    int i;

    store = big_store();
    ck_assert_int_eq(store_set(store, NS, NSLEN, "ctr", 3, "0", 1, 0),
                     STORE_OK);
    for (i = 0; i < 2 * COUNTER_THREADS; i++)
        ck_assert_int_eq(
            pthread_create(&th[i], NULL,
                           i % 2 ? incr_adder_main : cas_adder_main, NULL),
            0);
    for (i = 0; i < 2 * COUNTER_THREADS; i++)
        pthread_join(th[i], NULL);
    buf_init(&out);
    ck_assert_int_eq(store_get(store, NS, NSLEN, "ctr", 3, &out), STORE_OK);
    snprintf(want, sizeof want, "%d", 2 * COUNTER_THREADS * COUNTER_OPS);
    ck_assert_uint_eq(out.len, strlen(want));
    ck_assert_mem_eq(out.data, want, out.len);
    buf_fini(&out);
    store_destroy(store);
}
END_TEST

#define ADD_THREADS 16
#define ADD_ROUNDS  200

static pthread_barrier_t add_barrier;
static _Atomic int add_wins[ADD_ROUNDS];
static _Atomic int add_winner[ADD_ROUNDS];

/* Each round, every thread adds the round's key with its own id. */
static void *
adder_main(void *arg)
{
    int id = (int)(intptr_t)arg, round;
    char key[16], val[16];
    enum store_status st;
    int klen, vlen;

    for (round = 0; round < ADD_ROUNDS; round++) {
        klen = snprintf(key, sizeof key, "add%d", round);
        vlen = snprintf(val, sizeof val, "%d", id);
        pthread_barrier_wait(&add_barrier);
        st = store_set_if_absent(store, NULL, 0, key, (size_t)klen, val,
                                 (size_t)vlen, 0);
        ck_assert(st == STORE_OK || st == STORE_EXISTS);
        if (st == STORE_OK) {
            atomic_fetch_add(&add_wins[round], 1);
            atomic_store(&add_winner[round], id);
        }
    }
    return NULL;
}

START_TEST(test_store_mt_set_if_absent_has_one_winner)
{
    pthread_t th[ADD_THREADS];
    char key[16], val[16];
    struct buf out;
    int i, klen, vlen;

    store = big_store();
    ck_assert_int_eq(pthread_barrier_init(&add_barrier, NULL, ADD_THREADS), 0);
    for (i = 0; i < ADD_THREADS; i++)
        ck_assert_int_eq(
            pthread_create(&th[i], NULL, adder_main, (void *)(intptr_t)i), 0);
    for (i = 0; i < ADD_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&add_barrier);
    buf_init(&out);
    for (i = 0; i < ADD_ROUNDS; i++) {
        ck_assert_int_eq(atomic_load(&add_wins[i]), 1);
        klen = snprintf(key, sizeof key, "add%d", i);
        vlen = snprintf(val, sizeof val, "%d", atomic_load(&add_winner[i]));
        ck_assert_int_eq(store_get(store, NULL, 0, key, (size_t)klen, &out),
                         STORE_OK);
        ck_assert_uint_eq(out.len, (size_t)vlen);
        ck_assert_mem_eq(out.data, val, out.len);
    }
    buf_fini(&out);
    store_destroy(store);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("store_mt");
    TCase *tc = tcase_create("concurrency");

    tcase_add_test(tc, test_store_mt_limits_counters_reachability);
    tcase_add_test(tc, test_store_mt_cas_and_increment_lose_no_update);
    tcase_add_test(tc, test_store_mt_set_if_absent_has_one_winner);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return check_run(s);
}
