/*
 * store_batch.c: the Get of many keys at once (store.h, store_get_batch).
 *
 * The keys are checked and hashed first, then chained per shard (next,
 * an index, in request order), and each shard's chain is looked up under
 * one hold of that shard's lock: a MultiGet of 100 keys over 16 shards
 * takes 16 locks, not 100. Each key is still looked up, counted, expired
 * and made most recently used as store_get would do it; only its own
 * shard's lock is held meanwhile, never two. The keys of one shard take
 * their use stamps in request order from one run of stamps reserved under
 * the lock (one atomic add for the run, not one per key), so each shard's
 * LRU order is the one the Gets one by one would give; among keys of
 * different shards, a later shard's are the more recent.
 *
 * Small values are copied into out under the lock. When out has no room
 * left for one, the chain stops there, the lock is dropped, out grows
 * (outside the lock) and the chain goes on where it stopped. A value of
 * ENTRY_SHARED_MIN bytes or more is only referenced under the lock and
 * copied after it is dropped, as store_get does. So the only allocation
 * is out's growth, which a reused out no longer needs. The values found
 * are held to max_bytes where out would grow or a large value be taken
 * (struct batch_cap), so a key asked for many times stops appending once
 * they would pass it, and the fast path, a small value copied into room
 * out already has, does no more than before.
 */
#include "store_impl.h"

#define BATCH_END UINT32_MAX

/* The bound on the value bytes of one store_get_batch call. Only the slow
 * paths ask it, a large value and out about to grow, so a batch of small
 * values that fit pays nothing for it; out grows no further once the
 * values would pass it. */
struct batch_cap {
    size_t start;  /* out->len when the call began */
    size_t shared; /* bytes of the large values referenced, to copy */
    uint64_t max;  /* value bytes the call may append */
    bool cut;      /* a value was left out for max */
};

/* Whether vlen more bytes of values would take out past c's max (c is
 * then cut). */
static bool
over_max(struct batch_cap *c, const struct buf *out, size_t vlen)
{
    if (out->len - c->start + c->shared + vlen <= c->max)
        return false;
    c->cut = true;
    return true;
}

/* Looks up the chain from i, of left keys, under sh's lock until its
 * end, or until a small value finds no room in out (its index returned,
 * its vlen set, nothing else of it done or counted), unless c is cut:
 * then such a value, and a large one over_max() refuses, is left out
 * (STORE_TOO_LARGE). Large values are left referenced in ref. */
static uint32_t
get_chain_locked(struct store *st, struct shard *sh, const char *ns,
                 size_t nslen, struct store_batch_get *k, uint32_t i,
                 uint32_t left, struct buf *out, struct entry **dead,
                 struct batch_cap *c)
{
    uint64_t stamp = store_next_stamps(st, left), hits = 0, misses = 0;

    for (; i != BATCH_END; i = k[i].next) {
        struct store_ref r = {{ns, nslen, k[i].key, k[i].klen}, k[i].h, sh};
        struct entry *e = store_find_live_locked(st, &r, dead);

        if (e == NULL) {
            k[i].status = STORE_NOT_FOUND;
            misses++;
            continue;
        }
        if (entry_flags(e) & ENTRY_SHARED) {
            if (over_max(c, out, e->vlen)) {
                k[i].status = STORE_TOO_LARGE;
            } else {
                /* meta (the use stamp) changes under the lock: the
                 * value's place in the entry is noted now, in off until
                 * the copy */
                entry_get_ref(e);
                k[i].ref = e;
                k[i].off = (size_t)(entry_value(e) - (const unsigned char *)e);
                k[i].status = STORE_OK;
                c->shared += e->vlen;
            }
        } else if (e->vlen > out->cap - out->len) {
            k[i].vlen = e->vlen;
            if (!c->cut)
                break;
            k[i].status = STORE_TOO_LARGE;
        } else {
            k[i].off = out->len;
            if (e->vlen > 0)
                memcpy(out->data + out->len, entry_value(e), e->vlen);
            out->len += e->vlen;
            k[i].status = STORE_OK;
        }
        k[i].vlen = e->vlen;
        hits++;
        shard_touch_locked(sh, e, stamp++);
    }
    sh->st.gets += hits + misses;
    sh->st.hits += hits;
    sh->st.misses += misses;
    return i;
}

/* Copies the referenced large values of the chain from i into out. */
static void
copy_refs(struct store_batch_get *k, uint32_t i, struct buf *out,
          struct batch_cap *c)
{
    for (; i != BATCH_END; i = k[i].next) {
        struct entry *e = k[i].ref;
        const unsigned char *val;

        if (e == NULL)
            continue;
        val = (const unsigned char *)e + k[i].off;
        k[i].ref = NULL;
        if (buf_reserve(out, out->len + k[i].vlen) != 0) {
            k[i].status = STORE_NO_MEMORY;
        } else {
            k[i].off = out->len;
            memcpy(out->data + out->len, val, k[i].vlen);
            out->len += k[i].vlen;
        }
        c->shared -= k[i].vlen;
        entry_unref(e);
    }
}

/* Every key of the chain from head, of left keys, on sh. */
static void
get_chain(struct store *st, struct shard *sh, const char *ns, size_t nslen,
          struct store_batch_get *k, uint32_t head, uint32_t left,
          struct buf *out, struct batch_cap *c)
{
    struct entry *dead = NULL;
    uint32_t i = head, j;

    for (;;) {
        shard_lock(sh);
        j = get_chain_locked(st, sh, ns, nslen, k, i, left, out, &dead, c);
        shard_unlock(sh);
        for (; i != j; i = k[i].next)
            left--;
        if (i == BATCH_END)
            break;
        /* k[i] is a small value that did not fit: grow out, go on, or
         * go on cut when it would take the values past the max */
        if (over_max(c, out, k[i].vlen))
            continue;
        if (buf_reserve(out, out->len + ENTRY_SHARED_MIN) != 0) {
            k[i].status = STORE_NO_MEMORY;
            i = k[i].next;
            left--;
            if (i == BATCH_END)
                break;
        }
    }
    store_put_all(dead);
    copy_refs(k, head, out, c);
}

enum store_status
store_get_batch(struct store *st, const char *ns, size_t nslen,
                struct store_batch_get *keys, size_t n, uint64_t max_bytes,
                struct buf *out)
{
    struct batch_cap c;
    uint32_t heads[1024], counts[1024], s, i;
    struct store_ref r;

    (void)buf_reserve(out, out->len + ENTRY_SHARED_MIN); /* else: grown later */
    for (s = 0; s < st->cfg.shards; s++) {
        heads[s] = BATCH_END;
        counts[s] = 0;
    }
    for (i = (uint32_t)n; i-- > 0;) {
        keys[i].ref = NULL;
        keys[i].status =
            store_ref_init(st, &r, ns, nslen, keys[i].key, keys[i].klen);
        if (keys[i].status != STORE_OK)
            continue;
        s = (uint32_t)(r.sh - st->shards);
        keys[i].h = r.h;
        keys[i].next = heads[s];
        heads[s] = i;
        counts[s]++;
    }
    c = (struct batch_cap){out->len, 0, max_bytes, false};
    for (s = 0; s < st->cfg.shards; s++)
        if (heads[s] != BATCH_END)
            get_chain(st, &st->shards[s], ns, nslen, keys, heads[s], counts[s],
                      out, &c);
    /* small values copied into room out already had count too */
    return c.cut || out->len - c.start > max_bytes ? STORE_TOO_LARGE : STORE_OK;
}
