/*
 * store_fixture.h: a store on a fake clock for the store's Check suites.
 */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

#include <check.h>
#include <stdatomic.h>
#include <string.h>

#include "entry.h"
#include "store.h"

/* The fake clock's milliseconds: atomic, because a store's cleanup threads
 * read it while a test moves it (fx_advance_ms). */
static _Atomic uint64_t fx_now_ms = 1000000;
static struct store *fx;
static struct buf fx_out;

static struct store *
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
static inline void
fx_advance_ms(uint64_t ms)
{
    atomic_fetch_add(&fx_now_ms, ms);
}

static void
fx_teardown(void)
{
    store_destroy(fx);
    fx = NULL;
    buf_fini(&fx_out);
}

static enum store_status
fx_set(const char *key, const char *val, int32_t ttl)
{
    return store_set(fx, key, strlen(key), val, strlen(val), ttl);
}

static enum store_status
fx_get(const char *key)
{
    return store_get(fx, key, strlen(key), &fx_out);
}

static enum store_status
fx_del(const char *key)
{
    return store_del(fx, key, strlen(key));
}

/* True when key is present with value val. */
static bool
fx_has(const char *key, const char *val)
{
    return fx_get(key) == STORE_OK && fx_out.len == strlen(val) &&
           memcmp(fx_out.data, val, fx_out.len) == 0;
}

static struct shard_stats
fx_stats(void)
{
    struct shard_stats s;

    store_stats(fx, &s, NULL);
    return s;
}

static uint64_t
fx_bytes(const char *key, const char *val, int32_t ttl)
{
    size_t vlen = strlen(val);

    return entry_accounted(strlen(key), vlen, entry_flags_for(vlen, ttl));
}

#endif
