/*
 * store_sweep.c: the store's slice-by-slice sweeps: expiry cleanup (by the
 * per-shard threads, or one pass on demand) and the flush of a keyspace.
 *
 * Both walk a shard's table SHARD_SLICE_BUCKETS buckets per hold of its
 * lock (shard.c), give back the victims' share of the global reservation,
 * and free them once the lock is dropped, so neither stalls a shard,
 * however large.
 */
#include <stdlib.h>

#include "store_impl.h"

/* One cleanup slice of a's shard; adds the removed count to *removed. */
static bool
sweep_slice(struct store_sweep_arg *a, uint64_t *removed)
{
    struct shard_sweep sw;

    shard_expire_slice(a->sh, store_now(a->st), &sw);
    store_release(a->st, sw.removed, sw.bytes);
    store_put_all(sw.victims);
    *removed += sw.removed;
    return sw.pass_done;
}

static bool
cleanup_slice(void *arg)
{
    uint64_t removed = 0;

    return sweep_slice(arg, &removed);
}

uint64_t
store_cleanup_pass(struct store *st)
{
    struct store_sweep_arg a = {st, NULL};
    uint64_t removed = 0;
    uint32_t i;

    for (i = 0; i < st->cfg.shards; i++) {
        a.sh = &st->shards[i];
        while (!sweep_slice(&a, &removed))
            ;
    }
    return removed;
}

int
store_start_cleanup(struct store *st)
{
    uint32_t i, n = st->cfg.shards;

    st->sweep_args = calloc(n, sizeof *st->sweep_args);
    st->cleanups = calloc(n, sizeof *st->cleanups);
    if (st->sweep_args == NULL || st->cleanups == NULL)
        goto fail;
    for (i = 0; i < n; i++) {
        st->sweep_args[i].st = st;
        st->sweep_args[i].sh = &st->shards[i];
        st->cleanups[i] = cleanup_start(st->cfg.cleanup_interval_s,
                                        cleanup_slice, &st->sweep_args[i]);
        if (st->cleanups[i] == NULL)
            goto fail;
    }
    return 0;
fail:
    if (st->cleanups != NULL)
        for (i = 0; i < n; i++)
            cleanup_stop(st->cleanups[i]);
    free(st->cleanups);
    free(st->sweep_args);
    st->cleanups = NULL;
    st->sweep_args = NULL;
    return -1;
}

/* Empties the keyspace in one shard; returns the live entries removed. */
static uint64_t
flush_shard(struct store *st, struct shard *sh, const char *ns, size_t nslen,
            uint64_t now_ms)
{
    struct shard_sweep sw;
    uint64_t live = 0;
    size_t cursor = 0;

    do {
        shard_flush_slice(sh, ns, nslen, now_ms, &cursor, &sw);
        store_release(st, sw.removed, sw.bytes);
        store_put_all(sw.victims);
        live += sw.live;
    } while (!sw.pass_done);
    return live;
}

enum store_status
store_flush(struct store *st, const char *ns, size_t nslen, uint64_t *removed)
{
    uint64_t now_ms;
    uint32_t i;

    *removed = 0;
    if (nslen > STORE_MAX_NS_BYTES)
        return STORE_BAD_NAMESPACE;
    now_ms = store_now(st);
    for (i = 0; i < st->cfg.shards; i++)
        *removed += flush_shard(st, &st->shards[i], ns, nslen, now_ms);
    return STORE_OK;
}
