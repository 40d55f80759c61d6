/*
 * buf.c: growable byte buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bufpool.h"

void
buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int
buf_reserve(struct buf *b, size_t n)
{
    size_t cap;
    char *p;

    if (n <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < n)
        cap = cap > SIZE_MAX / 2 ? n : cap * 2;
    if (cap >= BUFPOOL_MIN && (p = bufpool_take(n, &cap)) != NULL) {
        if (b->len > 0)
            memcpy(p, b->data, b->len);
        bufpool_give(b->data);
        b->data = p;
        b->cap = cap;
        return 0;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        errno = ENOMEM;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int
buf_set(struct buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    if (n > 0)
        memcpy(b->data, p, n);
    b->len = n;
    return 0;
}

void
buf_fini(struct buf *b)
{
    bufpool_give(b->data);
    buf_init(b);
}
