/*
 * check_client.c: the tools' client module (client.c): its request
 * encoders decode as the messages of cache.proto with every byte of keys
 * and values, and a unary call's metadata (x-request-id and
 * x-cache-namespace) is set, kept across calls and replaced.
 */
#include "check_run.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/slice.h>

#include "cache_wire.pb-c.h"
#include "client.h"

static bool
bytes_eq(ProtobufCBinaryData b, const void *p, size_t n)
{
    return b.len == n && (n == 0 || memcmp(b.data, p, n) == 0);
}

static bool
slice_eq(grpc_slice s, const char *str)
{
    return GRPC_SLICE_LENGTH(s) == strlen(str) &&
           memcmp(GRPC_SLICE_START_PTR(s), str, strlen(str)) == 0;
}

/* Keys with a NUL inside, an empty one and a UTF-8 one. */
static const struct client_item items[] = {
    {"a\0b", 3, (const uint8_t *)"v\0w", 3, 10},
    {"", 0, (const uint8_t *)"", 0, 0},
    {"cl\xc3\xa9", 4, (const uint8_t *)"x", 1, -1},
};
#define N_ITEMS (sizeof items / sizeof *items)

START_TEST(test_client_encode_keys_keeps_every_byte)
{
    size_t len;
    uint8_t *buf = client_encode_keys(items, N_ITEMS, &len);
    Cache__MultiCacheKeyRequest *m;

    ck_assert_ptr_nonnull(buf);
    m = cache__multi_cache_key_request__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->n_keys, N_ITEMS);
    for (size_t i = 0; i < N_ITEMS; i++)
        ck_assert(bytes_eq(m->keys[i], items[i].key, items[i].key_len));
    cache__multi_cache_key_request__free_unpacked(m, NULL);
    free(buf);
}
END_TEST

START_TEST(test_client_encode_items_keeps_keys_values_ttls)
{
    size_t len;
    uint8_t *buf = client_encode_items(items, N_ITEMS, &len);
    Cache__MultiCacheItemRequest *m;

    ck_assert_ptr_nonnull(buf);
    m = cache__multi_cache_item_request__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->n_items, N_ITEMS);
    for (size_t i = 0; i < N_ITEMS; i++) {
        ck_assert(bytes_eq(m->items[i]->key, items[i].key, items[i].key_len));
        ck_assert(
            bytes_eq(m->items[i]->value, items[i].value, items[i].value_len));
        ck_assert_int_eq(m->items[i]->ttl, items[i].ttl_s);
    }
    cache__multi_cache_item_request__free_unpacked(m, NULL);
    free(buf);
}
END_TEST

START_TEST(test_client_encode_empty_batch)
{
    size_t len = 1;
    uint8_t *buf = client_encode_keys(items, 0, &len);

    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, 0);
    free(buf);
    buf = client_encode_items(items, 0, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, 0);
    free(buf);
}
END_TEST

START_TEST(test_client_encode_cas)
{
    size_t len;
    uint8_t *buf =
        client_encode_cas(&items[0], (const uint8_t *)"o\0ld", 4, &len);
    Cache__CompareAndSetRequest *m;

    ck_assert_ptr_nonnull(buf);
    m = cache__compare_and_set_request__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(m);
    ck_assert(bytes_eq(m->key, "a\0b", 3));
    ck_assert(bytes_eq(m->expected_value, "o\0ld", 4));
    ck_assert(bytes_eq(m->value, "v\0w", 3));
    ck_assert_int_eq(m->ttl, 10);
    cache__compare_and_set_request__free_unpacked(m, NULL);
    free(buf);
}
END_TEST

START_TEST(test_client_encode_increment_and_touch)
{
    size_t len;
    uint8_t *buf = client_encode_increment("n", 1, INT64_MIN, 7, &len);
    Cache__IncrementRequest *inc;
    Cache__TouchRequest *t;

    ck_assert_ptr_nonnull(buf);
    inc = cache__increment_request__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(inc);
    ck_assert(bytes_eq(inc->key, "n", 1));
    ck_assert(inc->delta == INT64_MIN);
    ck_assert_int_eq(inc->ttl, 7);
    cache__increment_request__free_unpacked(inc, NULL);
    free(buf);
    buf = client_encode_touch("t\0u", 3, -5, &len);
    ck_assert_ptr_nonnull(buf);
    t = cache__touch_request__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(t);
    ck_assert(bytes_eq(t->key, "t\0u", 3));
    ck_assert_int_eq(t->ttl, -5);
    cache__touch_request__free_unpacked(t, NULL);
    free(buf);
}
END_TEST

START_TEST(test_client_meta_sends_both_entries)
{
    struct client_meta meta = {"rid-1", "tenant", NULL};
    struct client_unary u;
    const grpc_op *op = &u.ops[0];

    client_unary_init(&u);
    ck_assert_uint_eq(op->data.send_initial_metadata.count, 0);
    client_unary_set_meta(&u, &meta);
    ck_assert_uint_eq(op->data.send_initial_metadata.count, 2);
    ck_assert_ptr_eq(op->data.send_initial_metadata.metadata, u.md);
    ck_assert(slice_eq(u.md[0].key, "x-request-id"));
    ck_assert(slice_eq(u.md[0].value, "rid-1"));
    ck_assert(slice_eq(u.md[1].key, "x-cache-namespace"));
    ck_assert(slice_eq(u.md[1].value, "tenant"));
    client_unary_reset(&u);
    ck_assert_uint_eq(op->data.send_initial_metadata.count, 2);
    ck_assert(slice_eq(u.md[1].value, "tenant"));
    client_unary_fini(&u);
}
END_TEST

START_TEST(test_client_meta_replaced_and_dropped)
{
    struct client_meta ns_only = {NULL, "other", NULL};
    struct client_meta id_only = {"rid-2", NULL, NULL};
    struct client_unary u;
    const grpc_op *op = &u.ops[0];

    client_unary_init(&u);
    client_unary_set_meta(&u, &ns_only);
    ck_assert_uint_eq(op->data.send_initial_metadata.count, 1);
    ck_assert(slice_eq(u.md[0].key, "x-cache-namespace"));
    client_unary_set_meta(&u, &id_only);
    ck_assert_uint_eq(op->data.send_initial_metadata.count, 1);
    ck_assert(slice_eq(u.md[0].key, "x-request-id"));
    client_unary_set_meta(&u, NULL);
    ck_assert_uint_eq(op->data.send_initial_metadata.count, 0);
    client_unary_fini(&u);
}
END_TEST

START_TEST(test_client_meta_route_sent_and_replaced)
{
    struct client_meta meta = {NULL, "tenant", "user:42"};
    grpc_slice other = grpc_slice_from_copied_string("r7");
    struct client_unary u;
    const grpc_op *op = &u.ops[0];

    client_unary_init(&u);
    client_unary_set_meta(&u, &meta);
    ck_assert_uint_eq(op->data.send_initial_metadata.count, 2);
    ck_assert(slice_eq(u.md[0].key, "x-cache-namespace"));
    ck_assert(slice_eq(u.md[1].key, "x-cache-route"));
    ck_assert(slice_eq(u.md[1].value, "user:42"));
    client_unary_set_route(&u, other);
    grpc_slice_unref(other);
    ck_assert_uint_eq(op->data.send_initial_metadata.count, 2);
    ck_assert(slice_eq(u.md[0].value, "tenant"));
    ck_assert(slice_eq(u.md[1].value, "r7"));
    client_unary_reset(&u);
    ck_assert(slice_eq(u.md[1].value, "r7"));
    client_unary_fini(&u);
}
END_TEST

static Suite *
client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *enc = tcase_create("encode");
    TCase *meta = tcase_create("metadata");

    tcase_add_test(enc, test_client_encode_keys_keeps_every_byte);
    tcase_add_test(enc, test_client_encode_items_keeps_keys_values_ttls);
    tcase_add_test(enc, test_client_encode_empty_batch);
    tcase_add_test(enc, test_client_encode_cas);
    tcase_add_test(enc, test_client_encode_increment_and_touch);
    tcase_add_test(meta, test_client_meta_sends_both_entries);
    tcase_add_test(meta, test_client_meta_replaced_and_dropped);
    tcase_add_test(meta, test_client_meta_route_sent_and_replaced);
    suite_add_tcase(s, enc);
    suite_add_tcase(s, meta);
    return s;
}

int
main(void)
{
    return check_run(client_suite());
}
