/*
 * reqid.h: x-request-id values (README, API): accepted as sent when 1..64
 * printable ASCII characters, otherwise made: 32 hex characters from a
 * per-thread generator (no system call per id).
 */
#ifndef REQID_H
#define REQID_H

#include <stdbool.h>
#include <stddef.h>

#define REQID_MAX 64

/* True when s[0..n) may be used as sent. */
bool reqid_valid(const char *s, size_t n);
/* Copies s into out when valid, else writes a new id; out is NUL-terminated
 * and must hold REQID_MAX + 1 bytes. s may be NULL. */
void reqid_accept_or_make(const char *s, size_t n, char out[REQID_MAX + 1]);
/* Writes a new 32-hex-character id into out. */
void reqid_make(char out[REQID_MAX + 1]);

#endif
