/*
 * check_reflect.c: the descriptor index of server reflection, on the set
 * the build embeds and on small sets made here byte by byte (imports,
 * nesting, damage).
 */
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "reflect.h"
#include "rpc_methods.h"
#include "rpc_wire.h"

/* A message under construction, written with rpc_wire.h. */
struct msg {
    uint8_t b[1024];
    size_t n;
};

static void
put(struct msg *m, uint32_t field, const void *d, size_t n)
{
    ck_assert_uint_lt(m->n + rpc_wire_len_field_len(n), sizeof m->b);
    m->n = (size_t)(rpc_wire_put_len_field(m->b + m->n, field, d, n) - m->b);
}

static void
put_str(struct msg *m, uint32_t field, const char *s)
{
    put(m, field, s, strlen(s));
}

static void
put_msg(struct msg *m, uint32_t field, const struct msg *sub)
{
    put(m, field, sub->b, sub->n);
}

/* A message with only a name (field 1). */
static struct msg
named(const char *name)
{
    struct msg m = {.n = 0};

    put_str(&m, 1, name);
    return m;
}

/* a.proto (package p; imports b.proto and c.proto; message Outer with a
 * field, a nested message and a nested enum), b.proto (imports c.proto),
 * c.proto (package q; service S with method M). */
static struct msg
three_files(void)
{
    struct msg set = {.n = 0}, a = named("a.proto"), b = named("b.proto"),
               c = named("c.proto"), outer = named("Outer"), en = named("E"),
               inner = named("Inner"), field = named("f"), val = named("V"),
               svc = named("S"), method = named("M");

    put_msg(&en, 2, &val);
    put_msg(&outer, 2, &field);
    put_msg(&outer, 3, &inner);
    put_msg(&outer, 4, &en);
    put_str(&a, 2, "p");
    put_str(&a, 3, "b.proto");
    put_str(&a, 3, "c.proto");
    put_msg(&a, 4, &outer);
    put_str(&b, 3, "c.proto");
    put_str(&c, 2, "q");
    put_msg(&svc, 2, &method);
    put_msg(&c, 6, &svc);
    put_msg(&set, 1, &a);
    put_msg(&set, 1, &b);
    put_msg(&set, 1, &c);
    return set;
}

static enum reflect_kind
kind_of(const struct reflect_index *ix, const char *name)
{
    const struct reflect_symbol *s =
        reflect_find_symbol(ix, name, strlen(name));

    ck_assert_msg(s != NULL, "%s not found", name);
    return s->kind;
}

START_TEST(test_reflect_embedded_set)
{
    struct reflect_index ix;
    long cache;

    ck_assert_int_eq(reflect_index_build(&ix, reflect_set, reflect_set_len), 0);
    ck_assert_uint_eq(ix.nfiles, 4);
    cache = reflect_find_file(&ix, "cache.proto", strlen("cache.proto"));
    ck_assert_int_ge(cache, 0);
    ck_assert_int_ge(reflect_find_file(&ix, "grpc/health/v1/health.proto",
                                       strlen("grpc/health/v1/health.proto")),
                     0);
    ck_assert_int_eq(kind_of(&ix, "cache.CacheService"), REFLECT_SERVICE);
    ck_assert_int_eq(kind_of(&ix, "cache.CacheService.MultiGet"),
                     REFLECT_METHOD);
    ck_assert_int_eq(kind_of(&ix, "cache.CacheKey"), REFLECT_MESSAGE);
    ck_assert_int_eq(kind_of(&ix, "cache.CacheItem.ttl"), REFLECT_FIELD);
    ck_assert_int_eq(kind_of(&ix, "cache.ConditionalCacheStatus"),
                     REFLECT_ENUM);
    ck_assert_int_eq(kind_of(&ix, "cache.MISMATCH"), REFLECT_ENUM_VALUE);
    ck_assert_int_eq(
        kind_of(&ix, "grpc.reflection.v1alpha.ServerReflectionRequest"),
        REFLECT_MESSAGE);
    ck_assert_ptr_null(reflect_find_symbol(&ix, "cache", 5));
    ck_assert_ptr_null(reflect_find_symbol(&ix, "cache.CacheKe", 13));
    ck_assert_ptr_null(reflect_find_symbol(&ix, ".cache.CacheKey", 15));
    reflect_index_free(&ix);
}
END_TEST

/* Every service of the method table is described by the embedded set. */
START_TEST(test_reflect_every_table_service_is_known)
{
    struct reflect_index ix;

    ck_assert_int_eq(reflect_index_build(&ix, reflect_set, reflect_set_len), 0);
    for (int m = 0; m < RPC_METHOD_COUNT; m++) {
        const char *path = rpc_method_path((enum rpc_method)m);
        const struct reflect_symbol *s;
        char name[128];
        size_t n;

        if (!path)
            continue;
        /* "/svc/Method" names the method svc.Method */
        n = strlen(path) - 1;

        ck_assert_uint_lt(n, sizeof name);
        memcpy(name, path + 1, n);
        name[n] = '\0';
        *strrchr(name, '/') = '.';
        s = reflect_find_symbol(&ix, name, n);
        ck_assert_msg(s && s->kind == REFLECT_METHOD, "%s", name);
    }
    reflect_index_free(&ix);
}
END_TEST

START_TEST(test_reflect_imports_and_nesting)
{
    struct msg set = three_files();
    struct reflect_index ix;
    size_t out[3];

    ck_assert_int_eq(reflect_index_build(&ix, set.b, set.n), 0);
    ck_assert_uint_eq(ix.nfiles, 3);
    ck_assert_int_eq(kind_of(&ix, "p.Outer"), REFLECT_MESSAGE);
    ck_assert_int_eq(kind_of(&ix, "p.Outer.f"), REFLECT_FIELD);
    ck_assert_int_eq(kind_of(&ix, "p.Outer.Inner"), REFLECT_MESSAGE);
    ck_assert_int_eq(kind_of(&ix, "p.Outer.E"), REFLECT_ENUM);
    /* an enum's values live in the enum's parent scope */
    ck_assert_int_eq(kind_of(&ix, "p.Outer.V"), REFLECT_ENUM_VALUE);
    ck_assert_ptr_null(reflect_find_symbol(&ix, "p.Outer.E.V", 11));
    ck_assert_int_eq(kind_of(&ix, "q.S.M"), REFLECT_METHOD);
    ck_assert_uint_eq(reflect_find_symbol(&ix, "q.S", 3)->file, 2);
    /* a, then b and through it c, then c not again */
    ck_assert_uint_eq(reflect_closure(&ix, 0, out), 3);
    ck_assert_uint_eq(out[0], 0);
    ck_assert_uint_eq(out[1], 1);
    ck_assert_uint_eq(out[2], 2);
    ck_assert_uint_eq(reflect_closure(&ix, 2, out), 1);
    reflect_index_free(&ix);
}
END_TEST

START_TEST(test_reflect_refuses_damaged_sets)
{
    struct msg set = three_files(), missing = {.n = 0}, f = named("x.proto");
    struct reflect_index ix;

    /* every cut short of the whole set fails or holds fewer files */
    for (size_t n = 1; n < set.n; n++)
        if (reflect_index_build(&ix, set.b, n) == 0) {
            ck_assert_uint_lt(ix.nfiles, 3);
            reflect_index_free(&ix);
        }
    put_str(&f, 3, "not-in-the-set.proto");
    put_msg(&missing, 1, &f);
    ck_assert_int_eq(reflect_index_build(&ix, missing.b, missing.n), -1);
    ck_assert_uint_eq(ix.nfiles, 0);
    ck_assert_int_eq(reflect_index_build(&ix,
                                         (const uint8_t *)"\x0a\x05"
                                                          "ab",
                                         4),
                     -1);
    ck_assert_int_eq(reflect_index_build(&ix, NULL, 0), 0);
    ck_assert_uint_eq(ix.nfiles, 0);
    reflect_index_free(&ix);
}
END_TEST

static Suite *
reflect_suite(void)
{
    Suite *s = suite_create("reflect");
    TCase *tc = tcase_create("index");

    tcase_add_test(tc, test_reflect_embedded_set);
    tcase_add_test(tc, test_reflect_every_table_service_is_known);
    tcase_add_test(tc, test_reflect_imports_and_nesting);
    tcase_add_test(tc, test_reflect_refuses_damaged_sets);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return check_run(reflect_suite());
}
