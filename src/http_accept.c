/*
 * http_accept.c: whether an Accept header names text/html.
 *
 * The value is a comma-separated list of media ranges, each with optional
 * ";name=value" parameters (RFC 9110, section 12.5.1). Only a range whose
 * type is exactly text/html counts, unless its q parameter is zero
 * ("q=0", "q=0.0", "q=0.000"), which means "not acceptable". Everything
 * is read within len bytes; nothing is copied.
 */
#include <string.h>
#include <strings.h>

#include "http_accept.h"

#define HTTP_ACCEPT_HTML "text/html"

static bool
http_accept_space(char c)
{
    return c == ' ' || c == '\t';
}

/* [*s, *e) without the spaces and tabs around it. */
static void
http_accept_trim(const char **s, const char **e)
{
    while (*s < *e && http_accept_space(**s))
        (*s)++;
    while (*e > *s && http_accept_space((*e)[-1]))
        (*e)--;
}

/* Whether the parameter [s, e), trimmed, is a zero quality. */
static bool
http_accept_q_zero(const char *s, const char *e)
{
    http_accept_trim(&s, &e);
    if (e - s < 3 || strncasecmp(s, "q=", 2) != 0 || s[2] != '0')
        return false;
    if (e - s == 3)
        return true;
    if (s[3] != '.')
        return false;
    for (s += 4; s < e; s++)
        if (*s != '0')
            return false;
    return true;
}

/* Whether the media range [s, e) is text/html with a non-zero quality. */
static bool
http_accept_range_html(const char *s, const char *e)
{
    const char *semi = memchr(s, ';', (size_t)(e - s));
    const char *type_end = semi != NULL ? semi : e;

    http_accept_trim(&s, &type_end);
    if ((size_t)(type_end - s) != strlen(HTTP_ACCEPT_HTML) ||
        strncasecmp(s, HTTP_ACCEPT_HTML, strlen(HTTP_ACCEPT_HTML)) != 0)
        return false;
    while (semi != NULL) {
        const char *p = semi + 1;

        semi = memchr(p, ';', (size_t)(e - p));
        if (http_accept_q_zero(p, semi != NULL ? semi : e))
            return false;
    }
    return true;
}

bool
http_accept_html(const char *v, size_t len)
{
    const char *end;

    if (v == NULL)
        return false;
    end = v + len;
    for (;;) {
        const char *comma = memchr(v, ',', (size_t)(end - v));

        if (http_accept_range_html(v, comma != NULL ? comma : end))
            return true;
        if (comma == NULL)
            return false;
        v = comma + 1;
    }
}
