/*
 * reqid.h: x-request-id values (README, API): accepted as sent when 1..64
 * printable ASCII characters once the spaces and tabs around them are
 * dropped, otherwise made: 32 hex characters from a
 * per-thread generator (no system call per id).
 */
#ifndef REQID_H
#define REQID_H

#include <stdbool.h>
#include <stddef.h>

#define REQID_MAX 64

/* True when s[0..n) may be used as sent: 1..REQID_MAX bytes of 0x20..0x7e,
 * not beginning or ending with a space. */
bool reqid_valid(const char *s, size_t n);
/* Drops the spaces and tabs around s[0..n), then copies it into out when
 * valid, else writes a new id; out is NUL-terminated
 * and must hold REQID_MAX + 1 bytes. s may be NULL. */
void reqid_accept_or_make(const char *s, size_t n, char out[REQID_MAX + 1]);
/* Writes a new 32-hex-character id into out. */
void reqid_make(char out[REQID_MAX + 1]);

#endif
