/*
 * store_fixture.h: a store on a fake clock for the store's Check suites.
 * Not every suite uses every helper: they are marked TC_UNUSED.
 */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

#include <check.h>
#include <stdatomic.h>
#include <string.h>

#include "entry.h"
#include "store.h"
#include "tc.h"

/* The fake clock's milliseconds: atomic, because a store's cleanup threads
 * read it while a test moves it (fx_advance_ms). */
static _Atomic uint64_t fx_now_ms = 1000000;
static struct store *fx;
static struct buf fx_out;

static TC_UNUSED struct store *
fx_create(uint32_t shards, uint64_t max_items, uint64_t max_mem,
          uint64_t max_value)
{
    struct store_config cfg = {shards, max_items, max_mem, max_value, 1};
    struct clock clk = {clock_fake_now, &fx_now_ms};

    fx = store_create(&cfg, &clk);
    ck_assert_ptr_nonnull(fx);
    buf_init(&fx_out);
    return fx;
}

/* Moves the fake clock forward by ms. */
static TC_UNUSED void
fx_advance_ms(uint64_t ms)
{
    atomic_fetch_add(&fx_now_ms, ms);
}

static TC_UNUSED void
fx_teardown(void)
{
    store_destroy(fx);
    fx = NULL;
    buf_fini(&fx_out);
}

static TC_UNUSED enum store_status
fx_set(const char *key, const char *val, int32_t ttl)
{
    return store_set(fx, NULL, 0, key, strlen(key), val, strlen(val), ttl);
}

static TC_UNUSED enum store_status
fx_get(const char *key)
{
    return store_get(fx, NULL, 0, key, strlen(key), &fx_out);
}

static TC_UNUSED enum store_status
fx_del(const char *key)
{
    return store_del(fx, NULL, 0, key, strlen(key));
}

/* True when key is present with value val. */
static TC_UNUSED bool
fx_has(const char *key, const char *val)
{
    return fx_get(key) == STORE_OK && fx_out.len == strlen(val) &&
           memcmp(fx_out.data, val, fx_out.len) == 0;
}

/* The same calls in the keyspace of the namespace ns (a C string). */
static TC_UNUSED enum store_status
fx_nset(const char *ns, const char *key, const char *val, int32_t ttl)
{
    return store_set(fx, ns, strlen(ns), key, strlen(key), val, strlen(val),
                     ttl);
}

static TC_UNUSED enum store_status
fx_nget(const char *ns, const char *key)
{
    return store_get(fx, ns, strlen(ns), key, strlen(key), &fx_out);
}

static TC_UNUSED bool
fx_nhas(const char *ns, const char *key, const char *val)
{
    return fx_nget(ns, key) == STORE_OK && fx_out.len == strlen(val) &&
           memcmp(fx_out.data, val, fx_out.len) == 0;
}

static TC_UNUSED enum store_status
fx_add(const char *ns, const char *key, const char *val, int32_t ttl)
{
    return store_set_if_absent(fx, ns, strlen(ns), key, strlen(key), val,
                               strlen(val), ttl);
}

static TC_UNUSED enum store_status
fx_cas(const char *ns, const char *key, const char *expected, const char *val,
       int32_t ttl)
{
    return store_compare_and_set(fx, ns, strlen(ns), key, strlen(key), expected,
                                 strlen(expected), val, strlen(val), ttl);
}

static int64_t fx_incr_value;

static TC_UNUSED enum store_status
fx_incr(const char *ns, const char *key, int64_t delta, int32_t ttl)
{
    return store_increment(fx, ns, strlen(ns), key, strlen(key), delta, ttl,
                           &fx_incr_value);
}

static TC_UNUSED enum store_status
fx_touch(const char *ns, const char *key, int32_t ttl)
{
    return store_touch(fx, ns, strlen(ns), key, strlen(key), ttl);
}

static TC_UNUSED uint64_t
fx_flush(const char *ns)
{
    uint64_t removed = UINT64_MAX;

    ck_assert_int_eq(store_flush(fx, ns, strlen(ns), &removed), STORE_OK);
    return removed;
}

static TC_UNUSED struct shard_stats
fx_stats(void)
{
    struct shard_stats s;

    store_stats(fx, &s, NULL);
    return s;
}

static TC_UNUSED uint64_t
fx_bytes(const char *key, const char *val, int32_t ttl)
{
    size_t vlen = strlen(val);

    return entry_accounted(strlen(key), vlen, entry_flags_for(0, vlen, ttl));
}

#endif
