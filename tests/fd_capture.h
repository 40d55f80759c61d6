/*
 * fd_capture.h: captures what a test writes to a file descriptor (stdout,
 * stderr) through a pipe. The pipe holds 64 KiB, more than any one capture
 * here writes, so the writer never blocks.
 */
#ifndef FD_CAPTURE_H
#define FD_CAPTURE_H

#include <check.h>
#include <stdio.h>
#include <unistd.h>

struct fd_capture {
    int fd;    /* the descriptor captured */
    int saved; /* its original, restored by fd_capture_end() */
    int rd;    /* read end of the pipe */
};

static void
fd_capture_start(struct fd_capture *c, int fd)
{
    int p[2];

    ck_assert_int_eq(pipe(p), 0);
    fflush(NULL);
    c->fd = fd;
    c->saved = dup(fd);
    ck_assert_int_ge(c->saved, 0);
    ck_assert_int_ge(dup2(p[1], fd), 0);
    close(p[1]);
    c->rd = p[0];
}

/* Restores the descriptor and reads what was written, NUL-terminated, into
 * out; returns its length. */
static size_t
fd_capture_end(struct fd_capture *c, char *out, size_t outlen)
{
    size_t len = 0;
    ssize_t n;

    fflush(NULL);
    ck_assert_int_ge(dup2(c->saved, c->fd), 0);
    close(c->saved);
    while (len + 1 < outlen &&
           (n = read(c->rd, out + len, outlen - len - 1)) > 0)
        len += (size_t)n;
    close(c->rd);
    out[len] = '\0';
    return len;
}

#endif
