/*
 * store_cond.c: the writes that depend on what the key holds:
 * set-if-absent, compare-and-set, and touch.
 *
 * Each decides and writes under one hold of the key's shard lock: look the
 * key up (an expired entry is removed and treated as missing), test the
 * condition, reserve, link. When the reservation needs an eviction, the
 * lock is dropped meanwhile (store_evict_one_locked), so the loop looks
 * the key up and tests the condition again before it writes: the write
 * that lands is always decided on what the key held at that moment.
 *
 * Two steps would be slow under the lock, and are done outside it on an
 * entry kept alive by a reference (ENTRY_SHARED entries, 4 KiB or more,
 * whose value bytes never change): comparing a large value
 * (compare-and-set) and copying one into a larger entry (touch giving a
 * TTL to a key that had none). The decisive hold then checks that the
 * key's entry is still that same entry; if not, it starts over.
 */
#include <string.h>

#include "store_impl.h"

static enum store_status
add_locked(struct store *st, const struct store_ref *r, struct entry *e,
           struct entry **dead)
{
    for (;;) {
        if (store_find_live_locked(st, r, dead) != NULL)
            return STORE_EXISTS;
        if (store_reserve_for(st, e, NULL))
            break;
        if (!store_evict_one_locked(st, r))
            return STORE_NO_SPACE;
    }
    store_replace_locked(st, r, e, NULL);
    return STORE_OK;
}

enum store_status
store_set_if_absent(struct store *st, const char *ns, size_t nslen,
                    const char *key, size_t klen, const void *val, size_t vlen,
                    int32_t ttl_s)
{
    struct entry *e, *dead = NULL;
    enum store_status rc;
    struct store_ref r;

    rc = store_write_begin(st, &r, ns, nslen, key, klen, val, vlen, ttl_s, &e);
    if (rc != STORE_OK)
        return rc;
    rc = add_locked(st, &r, e, &dead);
    if (rc == STORE_NO_SPACE)
        r.sh->st.rejected_capacity++;
    shard_unlock(r.sh);
    if (rc != STORE_OK)
        entry_put(e);
    store_put_all(dead);
    return rc;
}

/* A compare-and-set in progress. held is an ENTRY_SHARED entry whose value
 * was found equal to expected outside the lock (a reference kept); when
 * the key's live entry is a shared one not yet compared, cas_locked takes
 * a reference on it into compare and returns without writing. */
struct cas {
    const void *expected;
    size_t elen;
    struct entry *held;
    struct entry *compare;
    const unsigned char *compare_val;
};

static enum store_status
cas_locked(struct store *st, const struct store_ref *r, struct entry *e,
           struct cas *c, struct entry **old, struct entry **dead)
{
    struct entry *cur;

    for (;;) {
        cur = store_find_live_locked(st, r, dead);
        if (cur == NULL)
            return STORE_NOT_FOUND;
        if (cur != c->held) {
            if (cur->vlen != c->elen)
                return STORE_MISMATCH;
            if (entry_flags(cur) & ENTRY_SHARED) {
                entry_get_ref(cur);
                c->compare = cur;
                c->compare_val = entry_value(cur);
                return STORE_OK;
            }
            if (c->elen != 0 &&
                memcmp(entry_value(cur), c->expected, c->elen) != 0)
                return STORE_MISMATCH;
        }
        if (store_reserve_for(st, e, cur))
            break;
        if (!store_evict_one_locked(st, r))
            return STORE_NO_SPACE;
    }
    store_replace_locked(st, r, e, cur);
    *old = cur;
    return STORE_OK;
}

/* Runs cas_locked until it decides, comparing large values unlocked.
 * Called and returns with r->sh's lock held; on return c->held is NULL or
 * a reference for the caller to drop once unlocked. */
static enum store_status
cas_run_locked(struct store *st, const struct store_ref *r, struct entry *e,
               struct cas *c, struct entry **old, struct entry **dead)
{
    enum store_status rc;
    bool equal;

    for (;;) {
        c->compare = NULL;
        rc = cas_locked(st, r, e, c, old, dead);
        if (c->compare == NULL)
            return rc;
        shard_unlock(r->sh);
        if (c->held != NULL)
            entry_unref(c->held);
        equal = memcmp(c->compare_val, c->expected, c->elen) == 0;
        c->held = c->compare;
        shard_lock(r->sh);
        if (!equal)
            return STORE_MISMATCH;
    }
}

enum store_status
store_compare_and_set(struct store *st, const char *ns, size_t nslen,
                      const char *key, size_t klen, const void *expected,
                      size_t elen, const void *val, size_t vlen, int32_t ttl_s)
{
    struct cas c = {expected, elen, NULL, NULL, NULL};
    struct entry *e, *old = NULL, *dead = NULL;
    enum store_status rc;
    struct store_ref r;

    rc = store_write_begin(st, &r, ns, nslen, key, klen, val, vlen, ttl_s, &e);
    if (rc != STORE_OK)
        return rc;
    rc = cas_run_locked(st, &r, e, &c, &old, &dead);
    if (rc == STORE_NO_SPACE)
        r.sh->st.rejected_capacity++;
    shard_unlock(r.sh);
    entry_put(rc == STORE_OK ? old : e);
    if (c.held != NULL)
        entry_unref(c.held);
    store_put_all(dead);
    return rc;
}

/* A touch that gives a TTL to an entry without one: the entry must be
 * copied into a new one, 8 bytes larger. grown is that copy, made for the
 * entry held (ENTRY_SHARED, a reference kept, value already copied) or,
 * for a small value, for any entry of vlen bytes (value copied under the
 * lock). */
struct touch {
    int32_t ttl_s;
    uint64_t expire_ms; /* ENTRY_NEVER when ttl_s <= 0 */
    struct entry *grown;
    struct entry *held;
};

/* Fills t->grown from cur when it was made for it; false when it was not
 * (or there is none yet). */
static bool
grown_matches_locked(struct touch *t, const struct entry *cur)
{
    if (t->grown == NULL)
        return false;
    if (t->held != NULL)
        return cur == t->held;
    if ((entry_flags(cur) & ENTRY_SHARED) || cur->vlen != t->grown->vlen)
        return false;
    memcpy(entry_value_mut(t->grown), entry_value(cur), cur->vlen);
    return true;
}

/* Decides the touch, or sets *regrow to the entry to copy (a reference
 * taken when it is shared) and returns without writing. */
static enum store_status
touch_locked(struct store *st, const struct store_ref *r, struct touch *t,
             struct entry **old, struct entry **dead, struct entry **regrow)
{
    struct entry *cur;

    for (;;) {
        cur = store_find_live_locked(st, r, dead);
        if (cur == NULL)
            return STORE_NOT_FOUND;
        if (entry_has_ttl(cur) || t->ttl_s <= 0) {
            if (entry_has_ttl(cur))
                entry_set_expire(cur, t->expire_ms);
            shard_touch_locked(r->sh, cur, store_next_stamp(st));
            return STORE_OK;
        }
        /* as a write that could never fit: refused, nothing evicted */
        if (!store_fits(st, r, cur->vlen,
                        entry_flags_for(r->name.nslen, cur->vlen, t->ttl_s)))
            return STORE_NO_SPACE;
        if (!grown_matches_locked(t, cur)) {
            if (entry_flags(cur) & ENTRY_SHARED)
                entry_get_ref(cur);
            *regrow = cur;
            return STORE_OK;
        }
        if (store_reserve_for(st, t->grown, cur))
            break;
        if (!store_evict_one_locked(st, r))
            return STORE_NO_SPACE;
    }
    store_replace_locked(st, r, t->grown, cur);
    t->grown = NULL;
    *old = cur;
    return STORE_OK;
}

/* Makes t->grown, unlocked, for a value of vlen bytes: a copy of val, the
 * value of shared (a referenced ENTRY_SHARED entry), or, when shared is
 * NULL, bytes to fill under the lock. false when out of memory. */
static bool
touch_regrow(const struct store_ref *r, struct touch *t, struct entry *shared,
             const unsigned char *val, size_t vlen)
{
    entry_put(t->grown);
    if (t->held != NULL)
        entry_unref(t->held);
    t->held = shared;
    t->grown = entry_create(&r->name, shared != NULL ? val : NULL, vlen,
                            entry_flags_for(r->name.nslen, vlen, t->ttl_s),
                            t->expire_ms, 0);
    return t->grown != NULL;
}

/* Runs touch_locked until it decides; called and returns with r->sh's
 * lock held, except on STORE_NO_MEMORY (returned unlocked). */
static enum store_status
touch_run_locked(struct store *st, const struct store_ref *r, struct touch *t,
                 struct entry **old, struct entry **dead)
{
    const unsigned char *val;
    struct entry *src;
    enum store_status rc;
    bool shared;
    size_t vlen;

    for (;;) {
        src = NULL;
        rc = touch_locked(st, r, t, old, dead, &src);
        if (src == NULL)
            return rc;
        /* a small src may be freed once unlocked: read it now */
        shared = (entry_flags(src) & ENTRY_SHARED) != 0;
        val = entry_value(src);
        vlen = src->vlen;
        shard_unlock(r->sh);
        if (!touch_regrow(r, t, shared ? src : NULL, val, vlen))
            return STORE_NO_MEMORY;
        shard_lock(r->sh);
    }
}

static void
touch_count_locked(struct shard *sh, enum store_status rc)
{
    if (rc == STORE_NOT_FOUND)
        sh->st.touch_misses++;
    else
        sh->st.touch_hits++;
}

enum store_status
store_touch(struct store *st, const char *ns, size_t nslen, const char *key,
            size_t klen, int32_t ttl_s)
{
    struct touch t = {ttl_s, ENTRY_NEVER, NULL, NULL};
    struct entry *old = NULL, *dead = NULL;
    enum store_status rc;
    struct store_ref r;

    rc = store_ref_init(st, &r, ns, nslen, key, klen);
    if (rc != STORE_OK)
        return rc;
    if (ttl_s > 0)
        t.expire_ms = store_now(st) + (uint64_t)ttl_s * 1000;
    shard_lock(r.sh);
    rc = touch_run_locked(st, &r, &t, &old, &dead);
    if (rc == STORE_NO_MEMORY)
        shard_lock(r.sh);
    touch_count_locked(r.sh, rc);
    shard_unlock(r.sh);
    entry_put(old);
    entry_put(t.grown);
    if (t.held != NULL)
        entry_unref(t.held);
    store_put_all(dead);
    return rc;
}
