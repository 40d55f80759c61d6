/*
 * utf8.h: key validation (README, API): well-formed UTF-8 per RFC 3629 (no
 * overlong forms, no surrogates, nothing above U+10FFFF), counted in code
 * points. U+0000 is a valid character.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/* Number of code points in s[0..n), or -1 when s is not well-formed UTF-8.
 * Stops counting (returns a value > max) once max code points are passed. */
long utf8_count(const char *s, size_t n, long max);

#endif
