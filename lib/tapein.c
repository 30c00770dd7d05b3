#include "tapein.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "tape.h"
#include "tarr.h"

#define COPY_CHUNK (1u << 20)

struct tapein {
    int fd;
    int own_fd;
    char name[4096];
    uint8_t *buf; /* one read(2): a whole tape record */
    size_t len, pos;
    uint64_t consumed;
    struct tarr *tar;
    char set_name[TAPEIN_NAME_MAX];
    int dead;
};

/* One read(2) per refill: a tape gives one record per read, and fails a
 * read whose buffer is smaller than the record. */
static long
src(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct tapein *t = ctx;
    size_t take;

    if (t->pos == t->len) {
        ssize_t n;
        do
            n = read(t->fd, t->buf, TAPE_BLOCK_MAX);
        while (n == -1 && errno == EINTR);
        if (n == -1)
            return cm_fail_errno(err, errno, "%s: read failed", t->name);
        if (n == 0)
            return 0;
        t->len = (size_t)n;
        t->pos = 0;
    }
    take = t->len - t->pos < len ? t->len - t->pos : len;
    memcpy(p, t->buf + t->pos, take);
    t->pos += take;
    t->consumed += take;
    return (long)take;
}

int
tapein_is_stream(const char *path)
{
    struct stat st;

    return strcmp(path, TAPE_STDIO) == 0 ||
           (stat(path, &st) == 0 && !S_ISDIR(st.st_mode));
}

static int
open_input(struct tapein *t, const char *path, struct cm_err *err)
{
    if (strcmp(path, TAPE_STDIO) == 0) {
        if (io_isatty(0) == 1)
            return cm_fail(err, CM_EUSAGE,
                           "-: standard input is a terminal, not a tape "
                           "stream");
        t->fd = 0;
        snprintf(t->name, sizeof t->name, "standard input");
        return 0;
    }
    snprintf(t->name, sizeof t->name, "%s", path);
    if ((t->fd = io_open(path, O_RDONLY, 0, err)) == -1)
        return -1;
    t->own_fd = 1;
    return 0;
}

int
tapein_open(const char *path, struct tapein **out, struct cm_err *err)
{
    struct tarr_opts to = {NULL, 0, 0};
    struct tapein *t = cm_calloc(1, sizeof *t, err);

    if (t == NULL)
        return -1;
    t->fd = -1;
    if (open_input(t, path, err) == -1 ||
        (t->buf = cm_malloc(TAPE_BLOCK_MAX, err)) == NULL)
        goto fail;
    to.name = t->name;
    if (tarr_new(&to, src, t, &t->tar, err) == -1)
        goto fail;
    *out = t;
    return 0;
fail:
    tapein_free(t);
    return -1;
}

/* Letters, digits, '.', '-', '_'; not "." or ".."; shorter than max. */
static int
plain_name(const char *s, size_t len)
{
    if (len == 0 || len >= 64 || (len == 1 && s[0] == '.') ||
        (len == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' ||
              s[i] == '_'))
            return 0;
    return 1;
}

/* The set directory ${s} (${len} bytes): the first seen, or the same. */
static int
same_set(struct tapein *t, const char *s, size_t len)
{
    if (len >= TAPEIN_NAME_MAX || strncmp(s, "coldmail-", 9) != 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' ||
              s[i] == '_'))
            return 0;
    if (t->set_name[0] == '\0') {
        memcpy(t->set_name, s, len);
        t->set_name[len] = '\0';
        return 1;
    }
    return strlen(t->set_name) == len && memcmp(t->set_name, s, len) == 0;
}

static int
unexpected(struct tapein *t, const struct tarr_entry *e, const char *why,
           struct cm_err *err)
{
    size_t n = e->path_len > 200 ? 200 : e->path_len;

    t->dead = 1;
    return cm_fail(err, CM_EFORMAT, "%s: offset %llu: %.*s: %s", t->name,
                   (unsigned long long)e->header_off, (int)n,
                   e->path != NULL ? e->path : "", why);
}

/* 1 and ${m} for a file of the set, 0 for its directory, or -1. */
static int
member(struct tapein *t, const struct tarr_entry *e, struct tapein_member *m,
       struct cm_err *err)
{
    const char *slash = memchr(e->path, '/', e->path_len);
    size_t dirlen = slash ? (size_t)(slash - e->path) : e->path_len;

    if (!same_set(t, e->path, dirlen))
        return unexpected(t, e,
                          "not in a coldmail set directory (or in "
                          "another one)",
                          err);
    if (slash == NULL)
        return e->type == TARR_DIR ? 0
                                   : unexpected(t, e, "not a directory", err);
    if (e->type != TARR_FILE)
        return unexpected(t, e, "not a regular file", err);
    if (!plain_name(slash + 1, e->path_len - dirlen - 1))
        return unexpected(t, e, "not a set's file name", err);
    memset(m, 0, sizeof *m);
    snprintf(m->set_name, sizeof m->set_name, "%s", t->set_name);
    memcpy(m->name, slash + 1, e->path_len - dirlen - 1);
    m->size = e->size;
    m->offset = e->header_off;
    return 1;
}

int
tapein_next(struct tapein *t, struct tapein_member *m, struct cm_err *err)
{
    struct tarr_entry e;
    int got;

    if (t->dead)
        return cm_fail(err, CM_EFORMAT, "%s: cannot be read further", t->name);
    for (;;) {
        got = tarr_next(t->tar, &e, err);
        if (got == 0)
            return 0;
        if (got == -1 || got == TARR_REFUSED) {
            t->dead = 1;
            return -1;
        }
        if ((got = member(t, &e, m, err)) != 0)
            return got;
    }
}

long
tapein_read(struct tapein *t, void *p, size_t len, struct cm_err *err)
{
    long n;

    if (t->dead)
        return cm_fail(err, CM_EFORMAT, "%s: cannot be read further", t->name);
    if ((n = tarr_read(t->tar, p, len, err)) == -1)
        t->dead = 1;
    return n;
}

uint64_t
tapein_offset(const struct tapein *t)
{
    return t->consumed;
}

const char *
tapein_name(const struct tapein *t)
{
    return t->name;
}

void
tapein_free(struct tapein *t)
{
    if (t == NULL)
        return;
    tarr_free(t->tar);
    if (t->own_fd)
        close(t->fd);
    free(t->buf);
    free(t);
}

/* ------------------------------------------------------------------ */
/* Unpacking into a spool directory                                    */

static int
unpack_file(struct tapein *t, int dirfd, const struct tapein_member *m,
            uint8_t *chunk, struct cm_err *err)
{
    struct stat st;
    uint64_t got = 0;
    long n;
    int fd, rc = -1;

    if (fstatat(dirfd, m->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return cm_fail(err, CM_EFORMAT, "%s: offset %llu: %s appears twice",
                       t->name, (unsigned long long)m->offset, m->name);
    fd = io_openat(dirfd, m->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                   0600, err);
    if (fd == -1)
        return -1;
    while ((n = tapein_read(t, chunk, COPY_CHUNK, err)) > 0) {
        if (io_write_all(fd, chunk, (size_t)n, m->name, err) == -1)
            goto out;
        got += (uint64_t)n;
    }
    if (n == 0 && got != m->size)
        cm_fail(err, CM_EFORMAT, "%s: %s: ends early", t->name, m->name);
    else if (n == 0)
        rc = 0;
out:
    if (io_close(fd, m->name, rc == 0 ? err : NULL) == -1)
        rc = -1;
    return rc;
}

static int
unpack_all(struct tapein *t, const char *top, char *set_dir, size_t len,
           struct cm_err *err)
{
    struct tapein_member m;
    uint8_t *chunk = cm_malloc(COPY_CHUNK, err);
    int dirfd = -1, got, rc = -1;

    if (chunk == NULL)
        return -1;
    while ((got = tapein_next(t, &m, err)) == 1) {
        if (dirfd == -1) {
            snprintf(set_dir, len, "%s/%s", top, m.set_name);
            if (mkdir(set_dir, 0700) == -1) {
                cm_fail_errno(err, errno, "%s", set_dir);
                goto out;
            }
            if ((dirfd = io_open(set_dir, O_RDONLY | O_DIRECTORY, 0, err)) ==
                -1)
                goto out;
        }
        if (unpack_file(t, dirfd, &m, chunk, err) == -1)
            goto out;
    }
    if (got == 0 && dirfd == -1)
        cm_fail(err, CM_EFORMAT, "%s: no coldmail set in the stream", t->name);
    else if (got == 0)
        rc = 0;
out:
    if (dirfd != -1)
        close(dirfd);
    free(chunk);
    return rc;
}

/* Remove ${dir}'s files, then ${dir}; quietly. */
static void
remove_flat(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (d != NULL) {
        while ((de = readdir(d)) != NULL)
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
}

int
tapein_unpack(const char *path, const char *spool_dir, char *set_dir,
              size_t len, struct cm_err *err)
{
    struct tapein *t = NULL;
    char top[4096];
    int n, rc = -1;

    n = snprintf(top, sizeof top, "%s/coldmail-unpack.XXXXXX", spool_dir);
    if (n < 0 || (size_t)n >= sizeof top)
        return cm_fail(err, CM_EUSAGE, "%s: path too long", spool_dir);
    if (mkdtemp(top) == NULL)
        return cm_fail_errno(err, errno, "%s: cannot make a spool directory",
                             spool_dir);
    set_dir[0] = '\0';
    if (tapein_open(path, &t, err) == 0 &&
        unpack_all(t, top, set_dir, len, err) == 0)
        rc = 0;
    tapein_free(t);
    if (rc == -1) {
        if (set_dir[0] != '\0')
            remove_flat(set_dir);
        rmdir(top);
    }
    return rc;
}

void
tapein_unpack_remove(const char *set_dir)
{
    char top[4096];
    char *slash;

    snprintf(top, sizeof top, "%s", set_dir);
    remove_flat(set_dir);
    if ((slash = strrchr(top, '/')) != NULL) {
        *slash = '\0';
        rmdir(top);
    }
}
