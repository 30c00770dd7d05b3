#include "tape.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "tarw.h"

#define COPY_CHUNK (1u << 20)

struct tape {
    int fd;
    int own_fd;  /* opened here: fsync'd and closed at the end */
    int regular; /* a plain file standing in for a device */
    char name[4096];
    size_t block_size;
    uint8_t *block;
    size_t fill;
    uint64_t written;
    struct tarw *tar;
    int dir_done;
    uint8_t *chunk;
};

static int
flush_block(struct tape *t, struct cm_err *err)
{
    if (io_write_all(t->fd, t->block, t->block_size, t->name, err) == -1)
        return -1;
    t->written += t->block_size;
    t->fill = 0;
    return 0;
}

/* Whole blocks only reach the device: a tape record is one write. */
static int
sink(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    struct tape *t = ctx;
    const uint8_t *q = p;

    while (len > 0) {
        size_t take = t->block_size - t->fill;
        if (take > len)
            take = len;
        memcpy(t->block + t->fill, q, take);
        t->fill += take;
        q += take;
        len -= take;
        if (t->fill == t->block_size && flush_block(t, err) == -1)
            return -1;
    }
    return 0;
}

static int
open_device(struct tape *t, const char *device, struct cm_err *err)
{
    struct stat st;

    if (strcmp(device, TAPE_STDIO) == 0) {
        if (io_isatty(1) == 1)
            return cm_fail(err, CM_EUSAGE,
                           "-o -: standard output is a terminal; redirect "
                           "it to a file, a pipe or a device");
        t->fd = 1;
        snprintf(t->name, sizeof t->name, "standard output");
    } else {
        snprintf(t->name, sizeof t->name, "%s", device);
        t->fd = io_open(device, O_WRONLY | O_CREAT | O_TRUNC, 0644, err);
        if (t->fd == -1)
            return -1;
        t->own_fd = 1;
    }
    if (fstat(t->fd, &st) == -1)
        return cm_fail_errno(err, errno, "%s", t->name);
    if (S_ISDIR(st.st_mode))
        return cm_fail(err, CM_EUSAGE, "%s: a directory, not a device",
                       t->name);
    t->regular = S_ISREG(st.st_mode);
    return 0;
}

int
tape_open(const char *device, size_t block_size, struct tape **out,
          struct cm_err *err)
{
    struct tape *t;

    if (block_size == 0 || block_size % 512 != 0 || block_size > TAPE_BLOCK_MAX)
        return cm_fail(err, CM_EUSAGE,
                       "--block-size %zu: a multiple of 512 bytes, at most "
                       "%u",
                       block_size, TAPE_BLOCK_MAX);
    if ((t = cm_calloc(1, sizeof *t, err)) == NULL)
        return -1;
    t->fd = -1;
    t->block_size = block_size;
    if ((t->block = cm_malloc(block_size, err)) == NULL ||
        (t->chunk = cm_malloc(COPY_CHUNK, err)) == NULL ||
        open_device(t, device, err) == -1 ||
        tarw_new(sink, t, &t->tar, err) == -1) {
        tape_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

static int
add_dir(struct tape *t, const char *set_name, struct cm_err *err)
{
    struct tarw_entry e;
    uint64_t tar_off, data_off;

    memset(&e, 0, sizeof e);
    e.path = set_name;
    e.kind = TARW_DIR;
    e.mode = 0755;
    e.mtime = (int64_t)time(NULL);
    e.uid = (uint32_t)getuid();
    e.gid = (uint32_t)getgid();
    if (tarw_begin(t->tar, &e, &tar_off, &data_off, err) == -1 ||
        tarw_end(t->tar, err) == -1)
        return -1;
    t->dir_done = 1;
    return 0;
}

/* The content of ${fd} (${size} bytes, no more, no less) into the entry. */
static int
copy_content(struct tape *t, int fd, const char *path, uint64_t size,
             struct cm_err *err)
{
    uint64_t left = size;
    ssize_t n;

    while (left > 0) {
        size_t want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
        if ((n = io_read_full(fd, t->chunk, want, path, err)) < 0)
            return -1;
        if ((size_t)n != want)
            return cm_fail(err, CM_EIO, "%s: shrank while it was streamed",
                           path);
        if (tarw_data(t->tar, t->chunk, (size_t)n, err) == -1)
            return -1;
        left -= (uint64_t)n;
    }
    return tarw_end(t->tar, err);
}

int
tape_add_file(struct tape *t, const char *dir, const char *set_name,
              const char *name, struct cm_err *err)
{
    char path[4200], member[4200];
    struct tarw_entry e;
    uint64_t tar_off, data_off;
    struct stat st;
    int fd, rc = -1;

    if (!t->dir_done && add_dir(t, set_name, err) == -1)
        return -1;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(member, sizeof member, "%s/%s", set_name, name);
    if ((fd = io_open(path, O_RDONLY | O_NOFOLLOW, 0, err)) == -1)
        return -1;
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        cm_fail(err, CM_EIO, "%s: not a regular file", path);
        goto out;
    }
    memset(&e, 0, sizeof e);
    e.path = member;
    e.kind = TARW_FILE;
    e.size = (uint64_t)st.st_size;
    e.mode = (uint32_t)st.st_mode & 0644;
    e.mtime = (int64_t)st.st_mtim.tv_sec;
    e.uid = (uint32_t)getuid();
    e.gid = (uint32_t)getgid();
    if (tarw_begin(t->tar, &e, &tar_off, &data_off, err) == -1 ||
        copy_content(t, fd, path, e.size, err) == -1)
        goto out;
    rc = 0;
out:
    close(fd);
    if (rc == 0 && unlink(path) == -1)
        rc = cm_fail_errno(err, errno, "%s: cannot remove", path);
    if (rc == -1)
        cm_err_prefix(err, "tape %s", t->name);
    return rc;
}

int
tape_setw_file(void *ctx, const char *dir, const char *set_name,
               const char *name, struct cm_err *err)
{
    return tape_add_file(ctx, dir, set_name, name, err);
}

int
tape_close(struct tape *t, struct cm_err *err)
{
    if (tarw_finish(t->tar, err) == -1)
        return cm_err_prefix(err, "tape %s", t->name);
    if (t->fill > 0) {
        memset(t->block + t->fill, 0, t->block_size - t->fill);
        if (flush_block(t, err) == -1)
            return -1;
    }
    if (!t->own_fd)
        return 0;
    if (t->regular && io_fsync(t->fd, t->name, err) == -1)
        return -1;
    t->own_fd = 0;
    return io_close(t->fd, t->name, err);
}

uint64_t
tape_bytes(const struct tape *t)
{
    return t->written;
}

void
tape_free(struct tape *t)
{
    if (t == NULL)
        return;
    tarw_free(t->tar);
    if (t->own_fd)
        close(t->fd);
    free(t->block);
    free(t->chunk);
    free(t);
}
