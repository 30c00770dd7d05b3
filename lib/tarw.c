#include "tarw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

struct tarw {
    struct archive *a;
    cm_write_fn sink;
    void *sink_ctx;
    uint64_t offset;
    uint64_t remaining; /* content bytes still due for the entry */
    int in_entry;
    int discard;        /* after a failure: swallow what libarchive flushes */
    struct cm_err err;  /* a sink failure, seen inside libarchive */
};

static la_ssize_t
on_write(struct archive *a, void *ctx, const void *p, size_t len)
{
    struct tarw *t = ctx;

    if (t->discard)
        return (la_ssize_t)len;
    if (t->sink(t->sink_ctx, p, len, &t->err) == -1) {
        archive_set_error(a, EIO, "%s", t->err.msg);
        return -1;
    }
    t->offset += len;
    return (la_ssize_t)len;
}

static int
la_fail(struct tarw *t, struct cm_err *err, const char *what)
{
    if (t->err.code != CM_OK) {
        *err = t->err;
        return -1;
    }
    return cm_fail(err, CM_EIO, "tar: %s: %s", what,
                   archive_error_string(t->a) ? archive_error_string(t->a)
                                              : "failed");
}

int
tarw_new(cm_write_fn sink, void *sink_ctx, struct tarw **out,
         struct cm_err *err)
{
    struct tarw *t = cm_calloc(1, sizeof *t, err);

    if (t == NULL)
        return -1;
    t->sink = sink;
    t->sink_ctx = sink_ctx;
    t->a = archive_write_new();
    if (t->a == NULL) {
        free(t);
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    }
    /* Unblocked output: every byte reaches on_write at once, so the
     * offsets counted there are exact. */
    if (archive_write_set_format_pax(t->a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(t->a, 0) != ARCHIVE_OK ||
        archive_write_open2(t->a, t, NULL, on_write, NULL, NULL) !=
            ARCHIVE_OK) {
        la_fail(t, err, "cannot start the archive");
        tarw_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

static struct archive_entry *
make_entry(const struct tarw_entry *e)
{
    struct archive_entry *ae = archive_entry_new();
    unsigned type = e->kind == TARW_DIR       ? AE_IFDIR
                    : e->kind == TARW_SYMLINK ? AE_IFLNK
                                              : AE_IFREG;

    if (ae == NULL)
        return NULL;
    archive_entry_set_pathname(ae, e->path);
    archive_entry_set_filetype(ae, type);
    archive_entry_set_perm(ae, (mode_t)(e->mode & 07777));
    archive_entry_set_size(ae, e->kind == TARW_FILE ? (la_int64_t)e->size : 0);
    archive_entry_set_mtime(ae, (time_t)e->mtime, (long)e->mtime_ns);
    archive_entry_set_uid(ae, e->uid);
    archive_entry_set_gid(ae, e->gid);
    if (e->user != NULL)
        archive_entry_set_uname(ae, e->user);
    if (e->group != NULL)
        archive_entry_set_gname(ae, e->group);
    if (e->kind == TARW_SYMLINK)
        archive_entry_set_symlink(ae, e->link);
    return ae;
}

int
tarw_begin(struct tarw *t, const struct tarw_entry *e, uint64_t *tar_off,
           uint64_t *data_off, struct cm_err *err)
{
    struct archive_entry *ae;
    uint64_t start;
    int r;

    if (t->in_entry && tarw_end(t, err) == -1)
        return -1;
    if ((ae = make_entry(e)) == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    /* The previous entry's padding is written with this header. */
    start = t->offset;
    r = archive_write_header(t->a, ae);
    archive_entry_free(ae);
    /* ARCHIVE_WARN: a name that is not valid in the locale's charset was
     * written as raw bytes (pax hdrcharset=BINARY); the entry is whole. */
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        return la_fail(t, err, e->path);
    *tar_off = start + ((512 - start % 512) % 512);
    *data_off = t->offset;
    t->remaining = e->kind == TARW_FILE ? e->size : 0;
    t->in_entry = 1;
    return 0;
}

int
tarw_data(struct tarw *t, const void *p, size_t len, struct cm_err *err)
{
    const uint8_t *q = p;

    if (len > t->remaining)
        return cm_fail(err, CM_EINTERNAL,
                       "tar: more content than the header declared");
    while (len > 0) {
        la_ssize_t n = archive_write_data(t->a, q, len);
        if (n <= 0)
            return la_fail(t, err, "writing content");
        q += n;
        len -= (size_t)n;
        t->remaining -= (uint64_t)n;
    }
    return 0;
}

int
tarw_end(struct tarw *t, struct cm_err *err)
{
    if (!t->in_entry)
        return 0;
    t->in_entry = 0;
    if (t->remaining != 0)
        return cm_fail(err, CM_EINTERNAL,
                       "tar: entry ended %llu bytes short",
                       (unsigned long long)t->remaining);
    return 0;
}

int
tarw_finish(struct tarw *t, struct cm_err *err)
{
    if (tarw_end(t, err) == -1)
        return -1;
    if (archive_write_close(t->a) != ARCHIVE_OK)
        return la_fail(t, err, "closing the archive");
    return 0;
}

uint64_t
tarw_offset(const struct tarw *t)
{
    return t->offset;
}

uint64_t
tarw_entry_bound(const struct tarw_entry *e)
{
    uint64_t names = strlen(e->path) + (e->link ? strlen(e->link) : 0);
    uint64_t content = e->kind == TARW_FILE ? e->size : 0;

    /* A pax extended header (its own header block and records), the ustar
     * header, the content, and padding to 512 bytes for each. */
    return 512 + (names * 2 + 1024 + 511) / 512 * 512 + 512 +
           (content + 511) / 512 * 512;
}

void
tarw_free(struct tarw *t)
{
    if (t == NULL)
        return;
    /* archive_write_free closes an open archive; the sink may be gone. */
    t->discard = 1;
    archive_write_free(t->a);
    free(t);
}
