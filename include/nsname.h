/*
 * nsname.h: the x-cache-namespace metadata of a call: which keyspace it
 * names (README, "Namespaces").
 */
#ifndef NSNAME_H
#define NSNAME_H

#include <stdbool.h>
#include <stddef.h>

#define NSNAME_MAX 64

/* Reads the n bytes of a namespace as a client sent them: surrounding
 * spaces and tabs are trimmed; nothing left means the shared keyspace
 * (*nslen 0). Otherwise 1..NSNAME_MAX characters of [A-Za-z0-9_.-], the
 * first a letter or a digit, are the namespace (*ns points into in).
 * False, leaving *ns and *nslen unset, for anything else. */
bool nsname_parse(const char *in, size_t n, const char **ns, size_t *nslen);

#endif
