/*
 * reflect.c: the descriptor index of reflect.h, read from a serialized
 * FileDescriptorSet with the wire reader of rpc_wire.h.
 *
 * The descriptor.proto field numbers used (FileDescriptorSet.file is 1):
 *   FileDescriptorProto: name 1, package 2, dependency 3, message_type 4,
 *                        enum_type 5, service 6
 *   DescriptorProto:     name 1, field 2, nested_type 3, enum_type 4,
 *                        oneof_decl 8
 *   EnumDescriptorProto: name 1, value 2
 *   ServiceDescriptorProto: name 1, method 2
 *   and name 1 in FieldDescriptorProto, OneofDescriptorProto,
 *   EnumValueDescriptorProto and MethodDescriptorProto.
 * Other fields are skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "reflect.h"
#include "rpc_wire.h"

#define REFLECT_DEPTH_MAX 32 /* message nesting the index follows */

/* A string field of a message: the last occurrence of field num, as
 * protobuf reads it. 1 found, 0 absent, -1 the message does not decode. */
static int
reflect_field(const uint8_t *p, size_t n, uint32_t num, const uint8_t **v,
              size_t *vlen)
{
    struct rpc_wire_in in;
    uint32_t field, type;
    int found = 0;

    rpc_wire_in_init(&in, p, n);
    while (rpc_wire_next(&in, &field, &type)) {
        if (field == num && type == RPC_WIRE_LEN) {
            if (!rpc_wire_bytes(&in, type, v, vlen))
                return -1;
            found = 1;
        } else if (!rpc_wire_skip(&in, type)) {
            return -1;
        }
    }
    return in.error ? -1 : found;
}

/* Adds the symbol scope.name (name alone when scope is ""); returns its
 * name, owned by the index, or NULL when memory runs out. */
static const char *
reflect_add(struct reflect_index *ix, const char *scope, const uint8_t *name,
            size_t n, size_t file, enum reflect_kind kind)
{
    size_t slen = strlen(scope), len = slen + (slen ? 1 : 0) + n;
    struct reflect_symbol *s;
    char *full;

    if (ix->nsyms == ix->syms_cap) {
        size_t cap = ix->syms_cap ? 2 * ix->syms_cap : 64;
        struct reflect_symbol *g = realloc(ix->syms, cap * sizeof *g);

        if (!g)
            return NULL;
        ix->syms = g;
        ix->syms_cap = cap;
    }
    if (!(full = malloc(len + 1)))
        return NULL;
    memcpy(full, scope, slen);
    if (slen)
        full[slen] = '.';
    memcpy(full + len - n, name, n);
    full[len] = '\0';
    s = &ix->syms[ix->nsyms++];
    s->name = full;
    s->file = file;
    s->kind = kind;
    return full;
}

/* Adds the symbol named by field 1 of the message at p; returns its full
 * name, or NULL when the message has none or does not decode. */
static const char *
reflect_add_named(struct reflect_index *ix, const char *scope, const uint8_t *p,
                  size_t n, size_t file, enum reflect_kind kind)
{
    const uint8_t *name;
    size_t nlen;

    if (reflect_field(p, n, 1, &name, &nlen) != 1 || nlen == 0)
        return NULL;
    return reflect_add(ix, scope, name, nlen, file, kind);
}

/* A symbol without members (a field, oneof, enum value or method): 0, or
 * -1 as reflect_add_named() fails. */
static int
reflect_leaf(struct reflect_index *ix, const char *scope, const uint8_t *p,
             size_t n, size_t file, enum reflect_kind kind)
{
    return reflect_add_named(ix, scope, p, n, file, kind) ? 0 : -1;
}

/* Calls each LEN field of the message at p, by number, with fn (which
 * returns 0 or -1). 0, or -1 when the message does not decode or fn
 * fails. */
typedef int (*reflect_each_fn)(struct reflect_index *ix, const char *scope,
                               uint32_t field, const uint8_t *v, size_t vlen,
                               size_t file, int depth);

static int
reflect_each(struct reflect_index *ix, const char *scope, const uint8_t *p,
             size_t n, size_t file, int depth, reflect_each_fn fn)
{
    struct rpc_wire_in in;
    uint32_t field, type;
    const uint8_t *v;
    size_t vlen;

    rpc_wire_in_init(&in, p, n);
    while (rpc_wire_next(&in, &field, &type)) {
        if (type != RPC_WIRE_LEN) {
            if (!rpc_wire_skip(&in, type))
                return -1;
            continue;
        }
        if (!rpc_wire_bytes(&in, type, &v, &vlen) ||
            fn(ix, scope, field, v, vlen, file, depth) != 0)
            return -1;
    }
    return in.error ? -1 : 0;
}

/* The values of an enum, in the enum's parent scope. */
static int
reflect_enum_part(struct reflect_index *ix, const char *scope, uint32_t field,
                  const uint8_t *v, size_t vlen, size_t file, int depth)
{
    (void)depth;
    if (field != 2)
        return 0;
    return reflect_leaf(ix, scope, v, vlen, file, REFLECT_ENUM_VALUE);
}

static int
reflect_enum(struct reflect_index *ix, const char *scope, const uint8_t *p,
             size_t n, size_t file)
{
    if (!reflect_add_named(ix, scope, p, n, file, REFLECT_ENUM))
        return -1;
    return reflect_each(ix, scope, p, n, file, 0, reflect_enum_part);
}

static int reflect_message(struct reflect_index *ix, const char *scope,
                           const uint8_t *p, size_t n, size_t file, int depth);

/* A message's fields, oneofs, nested messages and enums; scope is the
 * message's full name. */
static int
reflect_message_part(struct reflect_index *ix, const char *scope,
                     uint32_t field, const uint8_t *v, size_t vlen, size_t file,
                     int depth)
{
    switch (field) {
    case 2:
        return reflect_leaf(ix, scope, v, vlen, file, REFLECT_FIELD);
    case 8:
        return reflect_leaf(ix, scope, v, vlen, file, REFLECT_ONEOF);
    case 3:
        return reflect_message(ix, scope, v, vlen, file, depth + 1);
    case 4:
        return reflect_enum(ix, scope, v, vlen, file);
    default:
        return 0;
    }
}

static int
reflect_message(struct reflect_index *ix, const char *scope, const uint8_t *p,
                size_t n, size_t file, int depth)
{
    const char *full;

    if (depth > REFLECT_DEPTH_MAX ||
        !(full = reflect_add_named(ix, scope, p, n, file, REFLECT_MESSAGE)))
        return -1;
    return reflect_each(ix, full, p, n, file, depth, reflect_message_part);
}

static int
reflect_service_part(struct reflect_index *ix, const char *scope,
                     uint32_t field, const uint8_t *v, size_t vlen, size_t file,
                     int depth)
{
    (void)depth;
    if (field != 2)
        return 0;
    return reflect_leaf(ix, scope, v, vlen, file, REFLECT_METHOD);
}

/* A file's imports, messages, enums and services; scope is its package. */
static int
reflect_file_part(struct reflect_index *ix, const char *scope, uint32_t field,
                  const uint8_t *v, size_t vlen, size_t file, int depth)
{
    struct reflect_file *f = &ix->files[file];
    const char *svc;
    long dep;

    switch (field) {
    case 3:
        if ((dep = reflect_find_file(ix, (const char *)v, vlen)) < 0)
            return -1;
        f->deps[f->ndeps++] = (size_t)dep;
        return 0;
    case 4:
        return reflect_message(ix, scope, v, vlen, file, depth);
    case 5:
        return reflect_enum(ix, scope, v, vlen, file);
    case 6:
        if (!(svc =
                  reflect_add_named(ix, scope, v, vlen, file, REFLECT_SERVICE)))
            return -1;
        return reflect_each(ix, svc, v, vlen, file, depth,
                            reflect_service_part);
    default:
        return 0;
    }
}

/* The symbols and imports of file i, whose name is known already. */
static int
reflect_file(struct reflect_index *ix, size_t i)
{
    struct reflect_file *f = &ix->files[i];
    const uint8_t *pkg = NULL;
    size_t plen = 0;
    char *scope;
    int rc;

    /* Imports are at most as many as the set has files. */
    if (!(f->deps = calloc(ix->nfiles, sizeof *f->deps)))
        return -1;
    if (reflect_field(f->proto, f->len, 2, &pkg, &plen) < 0 ||
        !(scope = strndup(pkg ? (const char *)pkg : "", plen)))
        return -1;
    rc = strlen(scope) == plen ? reflect_each(ix, scope, f->proto, f->len, i, 0,
                                              reflect_file_part)
                               : -1;
    free(scope);
    return rc;
}

/* The set's files, counted, then each one's name and bytes taken. */
static int
reflect_files(struct reflect_index *ix, const uint8_t *set, size_t n)
{
    struct rpc_wire_in in;
    uint32_t field, type;
    const uint8_t *v, *name;
    size_t vlen, nlen, count = 0;

    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !(ix->files = calloc(count + 1, sizeof *ix->files)))
            return -1;
        rpc_wire_in_init(&in, set, n);
        while (rpc_wire_next(&in, &field, &type)) {
            if (field != 1 || !rpc_wire_bytes(&in, type, &v, &vlen))
                return -1;
            if (pass == 0) {
                count++;
                continue;
            }
            if (reflect_field(v, vlen, 1, &name, &nlen) != 1 ||
                !(ix->files[ix->nfiles].name =
                      strndup((const char *)name, nlen)))
                return -1;
            ix->files[ix->nfiles].proto = v;
            ix->files[ix->nfiles++].len = vlen;
        }
        if (in.error)
            return -1;
    }
    return 0;
}

int
reflect_index_build(struct reflect_index *ix, const uint8_t *set, size_t n)
{
    memset(ix, 0, sizeof *ix);
    if (reflect_files(ix, set, n) != 0)
        goto fail;
    for (size_t i = 0; i < ix->nfiles; i++)
        if (reflect_file(ix, i) != 0)
            goto fail;
    return 0;
fail:
    reflect_index_free(ix);
    return -1;
}

void
reflect_index_free(struct reflect_index *ix)
{
    for (size_t i = 0; ix->files && i < ix->nfiles; i++) {
        free(ix->files[i].name);
        free(ix->files[i].deps);
    }
    for (size_t i = 0; i < ix->nsyms; i++)
        free(ix->syms[i].name);
    free(ix->files);
    free(ix->syms);
    memset(ix, 0, sizeof *ix);
}

long
reflect_find_file(const struct reflect_index *ix, const char *name, size_t n)
{
    for (size_t i = 0; i < ix->nfiles; i++)
        if (strlen(ix->files[i].name) == n &&
            memcmp(ix->files[i].name, name, n) == 0)
            return (long)i;
    return -1;
}

const struct reflect_symbol *
reflect_find_symbol(const struct reflect_index *ix, const char *name, size_t n)
{
    for (size_t i = 0; i < ix->nsyms; i++)
        if (strlen(ix->syms[i].name) == n &&
            memcmp(ix->syms[i].name, name, n) == 0)
            return &ix->syms[i];
    return NULL;
}

/* Depth first from file, each file once: out[0..n) are the files given. */
static size_t
reflect_visit(const struct reflect_index *ix, size_t file, size_t *out,
              size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] == file)
            return n;
    out[n++] = file;
    for (size_t i = 0; i < ix->files[file].ndeps; i++)
        n = reflect_visit(ix, ix->files[file].deps[i], out, n);
    return n;
}

size_t
reflect_closure(const struct reflect_index *ix, size_t file, size_t *out)
{
    return reflect_visit(ix, file, out, 0);
}
