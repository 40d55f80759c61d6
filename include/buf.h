/*
 * buf.h: a growable byte buffer, used as per-worker scratch space.
 *
 * A buf owns data (malloc'd); len bytes of it are in use, cap allocated.
 * Storage of BUFPOOL_MIN bytes and more is taken from the buffer pool when
 * it keeps one large enough and given back to it when the buf lets go
 * (bufpool.h), so such a buf may own more than it asked for; data handed
 * to someone else goes back through bufpool_give() too (or free()).
 * Not thread-safe: one owner at a time.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
/* Makes room for at least n bytes; keeps contents. 0, or -1 (ENOMEM) with b
 * unchanged. */
int buf_reserve(struct buf *b, size_t n);
/* Replaces the contents with n bytes from p. 0, or -1 with b unchanged. */
int buf_set(struct buf *b, const void *p, size_t n);
void buf_fini(struct buf *b);

#endif
