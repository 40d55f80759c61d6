/*
 * store_incr.c: Increment, on an int64 kept as its canonical base-10 text.
 *
 * The new value depends on the old one, which only the lock shows, and
 * nothing is allocated under the lock. So the call looks first, under the
 * lock:
 *   - live, and the sum's text as long as the old: rewrites the value in
 *     place (no allocation, no reservation: the entry keeps its size), the
 *     common case of a counter, which so costs no malloc at all;
 *   - missing or expired, or the text grows or shrinks ("99" + 1): links an
 *     entry of the layout it needs (the call's TTL for a new key, the old
 *     one's otherwise) when the spare entry in hand has that layout; else
 *     drops the lock, allocates one, and decides again on what the key
 *     then holds.
 * Numbers are at most 20 bytes, never ENTRY_SHARED, so a value rewritten
 * in place is never read outside the lock.
 */
#include <string.h>

#include "store_impl.h"

/* The int64 that n bytes at p spell canonically; false when they do not. */
static bool
int_parse(const unsigned char *p, size_t n, int64_t *out)
{
    bool neg = n > 0 && p[0] == '-';
    size_t i = neg ? 1 : 0;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    unsigned d;

    if (n == i || n > STORE_INT_CHARS || (p[i] == '0' && (neg || n > 1)))
        return false;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        d = (unsigned)(p[i] - '0');
        if (v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (!neg)
        *out = (int64_t)v;
    else
        *out = v == lim ? INT64_MIN : -(int64_t)v;
    return true;
}

/* Writes v's canonical text into buf (STORE_INT_CHARS bytes); its length. */
static size_t
int_format(int64_t v, char *buf)
{
    char tmp[STORE_INT_CHARS];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        tmp[n++] = '-';
    for (i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

/* An increment in progress: the new value's text, and the layout the entry
 * holding it needs (flags, expiry). */
struct incr {
    int64_t delta;
    int32_t ttl_s;
    uint64_t create_expire_ms; /* for a missing key */
    int64_t sum;
    char text[STORE_INT_CHARS];
    size_t len;
    unsigned flags;
    uint64_t expire_ms;
};

/* Works out what the key's entry cur (NULL: missing) becomes. STORE_OK
 * when the value must be rewritten; for a live cur whose text keeps its
 * length, it is rewritten in place and *done set. */
static enum store_status
incr_plan_locked(struct store *st, const struct store_ref *r, struct incr *in,
                 struct entry *cur, bool *done)
{
    int64_t old;

    *done = false;
    if (cur == NULL) {
        in->sum = in->delta;
        in->flags = entry_flags_for(r->name.nslen, 0, in->ttl_s);
        in->expire_ms = in->create_expire_ms;
    } else {
        if (!int_parse(entry_value(cur), cur->vlen, &old))
            return STORE_NOT_NUMBER;
        if (__builtin_add_overflow(old, in->delta, &in->sum))
            return STORE_OUT_OF_RANGE;
        in->flags = entry_flags(cur);
        in->expire_ms = entry_has_ttl(cur) ? entry_expire_ms(cur) : 0;
    }
    in->len = int_format(in->sum, in->text);
    if (cur != NULL && in->len == cur->vlen) {
        memcpy(entry_value_mut(cur), in->text, in->len);
        shard_touch_locked(r->sh, cur, store_next_stamp(st));
        *done = true;
    }
    return STORE_OK;
}

/* True when spare has the layout in needs; then fills it. */
static bool
incr_fill(struct entry *spare, const struct incr *in)
{
    if (spare == NULL || entry_flags(spare) != in->flags ||
        spare->vlen != in->len)
        return false;
    memcpy(entry_value_mut(spare), in->text, in->len);
    if (in->flags & ENTRY_TTL)
        entry_set_expire(spare, in->expire_ms);
    return true;
}

/* Decides the increment. Returns with *spare NULL when it was linked;
 * sets *regrow (and returns) when *spare has the wrong layout. */
static enum store_status
incr_locked(struct store *st, const struct store_ref *r, struct incr *in,
            struct entry **spare, struct entry **old, struct entry **dead,
            bool *regrow)
{
    enum store_status rc;
    struct entry *cur;
    bool done;

    for (;;) {
        cur = store_find_live_locked(st, r, dead);
        rc = incr_plan_locked(st, r, in, cur, &done);
        if (rc != STORE_OK || done)
            return rc;
        if (!store_fits(st, r, in->len, in->flags)) {
            r->sh->st.rejected_oversize++;
            return STORE_TOO_LARGE;
        }
        if (!incr_fill(*spare, in)) {
            *regrow = true;
            return STORE_OK;
        }
        if (store_reserve_for(st, *spare, cur))
            break;
        if (!store_evict_one_locked(st, r)) {
            r->sh->st.rejected_capacity++;
            return STORE_NO_SPACE;
        }
    }
    store_replace_locked(st, r, *spare, cur);
    *spare = NULL;
    *old = cur;
    return STORE_OK;
}

/* Runs incr_locked until it decides; called and returns with r->sh's lock
 * held, except on STORE_NO_MEMORY (returned unlocked). */
static enum store_status
incr_run_locked(struct store *st, const struct store_ref *r, struct incr *in,
                struct entry **spare, struct entry **old, struct entry **dead)
{
    enum store_status rc;
    bool regrow;

    for (;;) {
        regrow = false;
        rc = incr_locked(st, r, in, spare, old, dead, &regrow);
        if (!regrow)
            return rc;
        shard_unlock(r->sh);
        entry_put(*spare);
        *spare = entry_create(&r->name, NULL, in->len, in->flags, 0, 0);
        if (*spare == NULL)
            return STORE_NO_MEMORY;
        shard_lock(r->sh);
    }
}

enum store_status
store_increment(struct store *st, const char *ns, size_t nslen, const char *key,
                size_t klen, int64_t delta, int32_t ttl_s, int64_t *value)
{
    struct incr in = {.delta = delta, .ttl_s = ttl_s};
    struct entry *spare = NULL, *old = NULL, *dead = NULL;
    enum store_status rc;
    struct store_ref r;

    rc = store_ref_init(st, &r, ns, nslen, key, klen);
    if (rc != STORE_OK)
        return rc;
    if (ttl_s > 0)
        in.create_expire_ms = store_now(st) + (uint64_t)ttl_s * 1000;
    shard_lock(r.sh);
    r.sh->st.sets++;
    rc = incr_run_locked(st, &r, &in, &spare, &old, &dead);
    if (rc != STORE_NO_MEMORY)
        shard_unlock(r.sh);
    if (rc == STORE_OK)
        *value = in.sum;
    entry_put(old);
    entry_put(spare);
    store_put_all(dead);
    return rc;
}
