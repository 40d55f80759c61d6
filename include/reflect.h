/*
 * reflect.h: the server's protobuf descriptors, for server reflection.
 *
 * An index is built once from a serialized FileDescriptorSet (the one the
 * build makes with protoc from cache.proto and the gRPC protos, see
 * Makefile.am) and is read-only afterwards, so any number of threads may
 * look things up in it. It knows each file's name, its serialized
 * FileDescriptorProto (pointing into the set, which must outlive the
 * index) and its imports, and every symbol the files define by its full
 * name: messages (nested ones too), their fields and oneofs, enums and
 * their values (named in the enum's parent scope, as protobuf does),
 * services and methods.
 */
#ifndef REFLECT_H
#define REFLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The set made by the build (reflect_set.c, generated). */
extern const uint8_t reflect_set[];
extern const size_t reflect_set_len;

enum reflect_kind {
    REFLECT_MESSAGE,
    REFLECT_FIELD,
    REFLECT_ONEOF,
    REFLECT_ENUM,
    REFLECT_ENUM_VALUE,
    REFLECT_SERVICE,
    REFLECT_METHOD,
};

struct reflect_file {
    char *name;           /* as the set names it, e.g. "cache.proto" */
    const uint8_t *proto; /* its FileDescriptorProto, in the set */
    size_t len;
    size_t *deps; /* indexes of the files it imports */
    size_t ndeps;
};

struct reflect_symbol {
    char *name; /* full name without a leading dot: "cache.CacheKey" */
    size_t file;
    enum reflect_kind kind;
};

struct reflect_index {
    struct reflect_file *files;
    size_t nfiles;
    struct reflect_symbol *syms;
    size_t nsyms, syms_cap;
};

/* Builds ix from the n bytes at set. 0, or -1 when the set does not
 * decode, a file imports one the set does not hold, or memory runs out
 * (ix is then empty). */
int reflect_index_build(struct reflect_index *ix, const uint8_t *set, size_t n);
void reflect_index_free(struct reflect_index *ix);

/* The index of the file of that name, or -1. */
long reflect_find_file(const struct reflect_index *ix, const char *name,
                       size_t n);
/* The symbol of that full name, or NULL. */
const struct reflect_symbol *reflect_find_symbol(const struct reflect_index *ix,
                                                 const char *name, size_t n);
/* Writes to out (room for ix->nfiles) file, then each file it imports,
 * directly or not, once, depth first; returns how many were written. */
size_t reflect_closure(const struct reflect_index *ix, size_t file,
                       size_t *out);

#endif
