/*
 * log.h: one line per event on stderr, text or json (--log-format in
 * tiny-cached(8)).
 *
 * Every line is formatted into a stack buffer (truncation is marked) and
 * written with one write(2), so lines from different threads never
 * interleave. The level is tested before anything is formatted.
 * reqid may be NULL ("-" in text, null in json).
 */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>

#include "config.h"
#include "tc.h"

/* Sets level and format; before it, INFO and text. Call before threads. */
void log_init(enum log_level level, enum log_format format);
bool log_enabled(enum log_level level);
void log_write(enum log_level level, const char *reqid, const char *fmt, ...)
    TC_PRINTF(3, 4);
/* Writes an already formatted message (no printf processing). */
void log_message(enum log_level level, const char *reqid, const char *msg);

#define LOG_AT(lvl, reqid, ...)                                                \
    do {                                                                       \
        if (log_enabled(lvl))                                                  \
            log_write(lvl, reqid, __VA_ARGS__);                                \
    } while (0)
#define log_debug(reqid, ...) LOG_AT(LOG_DEBUG, reqid, __VA_ARGS__)
#define log_info(reqid, ...)  LOG_AT(LOG_INFO, reqid, __VA_ARGS__)
#define log_warn(reqid, ...)  LOG_AT(LOG_WARNING, reqid, __VA_ARGS__)
#define log_error(reqid, ...) LOG_AT(LOG_ERROR, reqid, __VA_ARGS__)

/* Escapes n bytes of s for a log line (non-printable as \xNN, at most max
 * input bytes, "..." when cut) into out of outlen bytes; returns out. */
char *log_escape(const char *s, size_t n, size_t max, char *out, size_t outlen);

#endif
