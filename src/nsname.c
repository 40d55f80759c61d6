/*
 * nsname.c: the x-cache-namespace grammar (nsname.h).
 */
#include "nsname.h"

static bool
nsname_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool
nsname_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

bool
nsname_parse(const char *in, size_t n, const char **ns, size_t *nslen)
{
    while (n > 0 && nsname_blank(in[0])) {
        in++;
        n--;
    }
    while (n > 0 && nsname_blank(in[n - 1]))
        n--;
    if (n > NSNAME_MAX || (n > 0 && !nsname_alnum(in[0])))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!nsname_alnum(in[i]) && in[i] != '_' && in[i] != '.' &&
            in[i] != '-')
            return false;
    *ns = in;
    *nslen = n;
    return true;
}
