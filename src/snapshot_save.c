/*
 * snapshot_save.c: writing a snapshot file (layout in snapshot_format.h,
 * docs/snapshots.md), slice by slice.
 *
 * Entry records are gathered into a block buffer; once it passes
 * SNAPSHOT_BLOCK_BYTES the block is compressed with LZ4 and written
 * compressed when that is smaller, as it is (raw) otherwise. Blocks go to
 * PATH.tmp through a 1 MiB stdio buffer, the CRC-32C kept up to date with
 * every byte written. Commit: the last block, end record,
 * fflush, fsync, close, rename over PATH, fsync of the directory so the
 * rename itself is durable. Any failure closes and removes PATH.tmp and
 * leaves PATH as it was. Expiries are turned from the store's clock into
 * wall-clock time with the offset between the two read once, at open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lz4.h>

#include "crc32c.h"
#include "snapshot.h"
#include "snapshot_format.h"
#include "tc_autoconf.h"

#define SNAPSHOT_IOBUF_BYTES (1u << 20)

struct snapshot_writer {
    struct store *st;
    char *path;
    char *tmp;
    FILE *f;
    uint32_t crc;
    uint64_t bytes; /* written so far */
    uint64_t count; /* entry records written */
    uint64_t mono0; /* store clock at open */
    uint64_t wall0; /* wall clock at open */
    int err;        /* errno of the first write failure, or 0 */
    struct store_scan scan;
    unsigned char *blk; /* the block being gathered: blen of bcap bytes */
    size_t blen, bcap;
    char *z; /* its compressed form, zcap bytes */
    size_t zcap;
};

static void
fail(char *why, size_t whylen, const char *what, int err)
{
    snprintf(why, whylen, "%s: %s", what, strerror(err));
}

/* Writes n bytes, CRC and count kept; a failure is remembered in w->err. */
static void
put(struct snapshot_writer *w, const void *p, size_t n)
{
    if (w->err != 0 || n == 0)
        return;
    if (fwrite(p, 1, n, w->f) != n) {
        w->err = errno != 0 ? errno : EIO;
        return;
    }
    w->crc = crc32c(w->crc, p, n);
    w->bytes += n;
}

static void
put_header(struct snapshot_writer *w)
{
    unsigned char h[SNAPSHOT_HEADER_FIXED];
    size_t vlen = strlen(PACKAGE_VERSION);

    if (vlen > SNAPSHOT_WRITER_MAX)
        vlen = SNAPSHOT_WRITER_MAX;
    memcpy(h, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_BYTES);
    snapshot_put_le(h + 8, SNAPSHOT_FORMAT_VERSION, 4);
    snapshot_put_le(h + 12, w->wall0, 8);
    h[20] = (unsigned char)vlen;
    put(w, h, sizeof h);
    put(w, PACKAGE_VERSION, vlen);
}

/* Makes *p hold at least n bytes (kept); false with w->err set. */
static bool
grow(struct snapshot_writer *w, void **p, size_t *cap, size_t n)
{
    void *q;

    if (n <= *cap)
        return true;
    if (n < SNAPSHOT_BLOCK_BYTES * 2)
        n = SNAPSHOT_BLOCK_BYTES * 2;
    if ((q = realloc(*p, n)) == NULL) {
        w->err = ENOMEM;
        return false;
    }
    *p = q;
    *cap = n;
    return true;
}

/* Writes the block gathered so far, compressed when that is smaller. */
static void
put_block(struct snapshot_writer *w)
{
    unsigned char h[SNAPSHOT_BLOCK_HEAD];
    const void *data = w->blk;
    size_t stored = w->blen;
    int n;

    if (w->blen == 0 || w->err != 0)
        return;
    if (w->blen <= LZ4_MAX_INPUT_SIZE &&
        grow(w, (void **)&w->z, &w->zcap,
             (size_t)LZ4_compressBound((int)w->blen))) {
        n = LZ4_compress_default((const char *)w->blk, w->z, (int)w->blen,
                                 (int)w->zcap);
        if (n > 0 && (size_t)n < w->blen) {
            data = w->z;
            stored = (size_t)n;
        }
    }
    h[0] = SNAPSHOT_REC_BLOCK;
    snapshot_put_le(h + 1, w->blen, 4);
    snapshot_put_le(h + 5, stored, 4);
    put(w, h, sizeof h);
    put(w, data, stored);
    w->blen = 0;
}

static int
put_entry(void *arg, const struct store_item *it)
{
    struct snapshot_writer *w = arg;
    size_t need = SNAPSHOT_ENTRY_HEAD_MAX + it->nslen + it->klen + it->vlen;
    uint64_t expire = 0;
    unsigned char *p;

    if (it->expire_ms != 0)
        expire = 1 + (it->expire_ms > w->mono0 ? it->expire_ms - w->mono0 : 0);
    if (w->blen > 0 && w->blen + need > SNAPSHOT_BLOCK_BYTES)
        put_block(w);
    if (w->err != 0 || !grow(w, (void **)&w->blk, &w->bcap, w->blen + need))
        return -1;
    p = w->blk + w->blen;
    *p++ = (unsigned char)it->nslen;
    p = snapshot_put_varint(p, it->klen);
    p = snapshot_put_varint(p, it->vlen);
    p = snapshot_put_varint(p, expire);
    p = snapshot_put_varint(p, it->stamp);
    if (it->nslen > 0)
        memcpy(p, it->ns, it->nslen);
    p += it->nslen;
    memcpy(p, it->key, it->klen);
    p += it->klen;
    if (it->vlen > 0)
        memcpy(p, it->val, it->vlen);
    w->blen = (size_t)(p + it->vlen - w->blk);
    w->count++;
    return 0;
}

static void
writer_free(struct snapshot_writer *w)
{
    free(w->blk);
    free(w->z);
    free(w->path);
    free(w->tmp);
    free(w);
}

/* path.tmp, or NULL. */
static char *
tmp_name(const char *path)
{
    size_t n = strlen(path);
    char *t = malloc(n + 5);

    if (t != NULL) {
        memcpy(t, path, n);
        memcpy(t + n, ".tmp", 5);
    }
    return t;
}

struct snapshot_writer *
snapshot_writer_open(struct store *st, const char *path, uint64_t wall_now_ms,
                     char *why, size_t whylen)
{
    struct snapshot_writer *w = calloc(1, sizeof *w);
    int fd;

    if (w == NULL || (w->path = strdup(path)) == NULL ||
        (w->tmp = tmp_name(path)) == NULL) {
        fail(why, whylen, "cannot start", ENOMEM);
        if (w != NULL)
            writer_free(w);
        return NULL;
    }
    w->st = st;
    w->mono0 = store_now(st);
    w->wall0 = wall_now_ms;
    /* A new file of the daemon's own: a leftover at the name (a symbolic
     * link above all, whose target would be written) is removed first,
     * and whatever takes its place meanwhile fails the save. */
    (void)unlink(w->tmp);
    fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0 || (w->f = fdopen(fd, "w")) == NULL) {
        fail(why, whylen, w->tmp, errno);
        if (fd >= 0) {
            close(fd);
            unlink(w->tmp);
        }
        writer_free(w);
        return NULL;
    }
    setvbuf(w->f, NULL, _IOFBF, SNAPSHOT_IOBUF_BYTES);
    put_header(w);
    return w;
}

int
snapshot_writer_step(struct snapshot_writer *w, char *why, size_t whylen)
{
    int rc = store_scan_slice(w->st, &w->scan, put_entry, w);

    if (rc < 0)
        fail(why, whylen, w->tmp, w->err != 0 ? w->err : ENOMEM);
    return rc;
}

uint64_t
snapshot_writer_entries(const struct snapshot_writer *w)
{
    return w->count;
}

void
snapshot_writer_abort(struct snapshot_writer *w)
{
    if (w == NULL)
        return;
    fclose(w->f);
    unlink(w->tmp);
    writer_free(w);
}

/* fsyncs the directory holding path, so a rename in it is durable. */
static int
sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd, rc;

    if (slash == NULL)
        dir = strdup(".");
    else
        dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (dir == NULL)
        return -1;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* End record, flush, fsync and close; 0, or -1 with errno set and the
 * file closed. */
static int
finish_file(struct snapshot_writer *w)
{
    unsigned char end[SNAPSHOT_END_BYTES];
    int rc;

    put_block(w);
    end[0] = SNAPSHOT_REC_END;
    snapshot_put_le(end + 1, w->count, 8);
    put(w, end, 9);
    snapshot_put_le(end + 9, w->crc, 4);
    put(w, end + 9, 4);
    rc = w->err != 0 || fflush(w->f) != 0 || fsync(fileno(w->f)) != 0 ? -1 : 0;
    if (rc != 0 && w->err == 0)
        w->err = errno;
    if (fclose(w->f) != 0 && rc == 0) {
        rc = -1;
        w->err = errno;
    }
    w->f = NULL;
    return rc;
}

int
snapshot_writer_commit(struct snapshot_writer *w, uint64_t *entries,
                       uint64_t *bytes, char *why, size_t whylen)
{
    if (finish_file(w) != 0) {
        fail(why, whylen, w->tmp, w->err);
    } else if (rename(w->tmp, w->path) != 0) {
        fail(why, whylen, w->path, errno);
    } else {
        /* The complete new file is in place either way; a failed
         * directory fsync only leaves the rename's durability to the
         * file system's next commit. */
        (void)sync_dir(w->path);
        *entries = w->count;
        *bytes = w->bytes;
        writer_free(w);
        return 0;
    }
    unlink(w->tmp);
    writer_free(w);
    return -1;
}
