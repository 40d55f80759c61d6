/*
 * check_lru.c: the intrusive LRU list (lru.c).
 */
#include "check_run.h"
#include "lru.h"

static struct entry *
mk(const char *key)
{
    struct entry_name n = {NULL, 0, key, strlen(key)};

    return entry_create(&n, "", 0, 0, 0, 0);
}

static bool
key_is(const struct entry *e, const char *key)
{
    struct entry_name n = {NULL, 0, key, strlen(key)};

    return entry_name_eq(e, &n);
}

/* Asserts the list reads keys[0..n) from head to tail, and back. */
static void
assert_order(const struct lru *l, const char *const *keys, size_t n)
{
    const struct entry *e;
    size_t i = 0;

    ck_assert_uint_eq(l->len, n);
    for (e = l->head; e != NULL; e = entry_next(e), i++)
        ck_assert(key_is(e, keys[i]));
    ck_assert_uint_eq(i, n);
    for (e = l->tail; e != NULL; e = entry_prev(e)) {
        i--;
        ck_assert(key_is(e, keys[i]));
    }
}

START_TEST(test_lru_push_move_unlink_keep_order)
{
    struct entry *a = mk("a"), *b = mk("b"), *c = mk("c");
    struct lru l;

    lru_init(&l);
    lru_push_head(&l, a);
    lru_push_head(&l, b);
    lru_push_head(&l, c);
    assert_order(&l, (const char *[]){"c", "b", "a"}, 3);
    lru_move_head(&l, a);
    assert_order(&l, (const char *[]){"a", "c", "b"}, 3);
    lru_move_head(&l, a);
    assert_order(&l, (const char *[]){"a", "c", "b"}, 3);
    lru_unlink(&l, c);
    assert_order(&l, (const char *[]){"a", "b"}, 2);
    lru_unlink(&l, b);
    lru_unlink(&l, a);
    ck_assert_ptr_null(l.head);
    ck_assert_ptr_null(l.tail);
    ck_assert_uint_eq(l.len, 0);
    entry_put(a);
    entry_put(b);
    entry_put(c);
}
END_TEST

START_TEST(test_lru_entry_layout_fields)
{
    struct entry_name n = {NULL, 0, "k\0y", 3};
    struct entry *e = entry_create(&n, "v", 1, ENTRY_TTL, 1234, 99);

    ck_assert_uint_eq(entry_klen(e), 3);
    ck_assert_mem_eq(entry_key(e), "k\0y", 3);
    ck_assert_mem_eq(entry_value(e), "v", 1);
    ck_assert_uint_eq(entry_expire_ms(e), 1234);
    ck_assert_uint_eq(entry_stamp(e), 99);
    ck_assert(!entry_expired(e, 1234));
    ck_assert(entry_expired(e, 1235));
    entry_set_stamp(e, 100);
    ck_assert_uint_eq(entry_stamp(e), 100);
    ck_assert_uint_eq(entry_klen(e), 3);
    entry_put(e);
}
END_TEST

START_TEST(test_lru_accounted_matches_slabs_and_chunks)
{
    /* 32-byte header + 16-byte key + 100-byte value = 148 bytes of a slab,
     * plus a bucket slot. */
    ck_assert_uint_eq(entry_accounted(16, 100, 0), 148 + 8);
    ck_assert_uint_eq(entry_accounted(1, 0, 0), 36 + 8);
    ck_assert_uint_eq(entry_accounted(16, 100, ENTRY_TTL), 156 + 8);
    ck_assert_uint_eq(entry_accounted(16, 192 - 48, 0), 192 + 8);
    /* one byte more leaves the slabs: a 208-byte glibc chunk */
    ck_assert_uint_eq(entry_accounted(16, 192 - 47, 0), 208 + 8);
    ck_assert_uint_eq(entry_accounted(16, 1 << 20, ENTRY_SHARED) % 4096, 8);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("lru");
    TCase *tc = tcase_create("lru");

    tcase_add_test(tc, test_lru_push_move_unlink_keep_order);
    tcase_add_test(tc, test_lru_entry_layout_fields);
    tcase_add_test(tc, test_lru_accounted_matches_slabs_and_chunks);
    suite_add_tcase(s, tc);
    return check_run(s);
}
