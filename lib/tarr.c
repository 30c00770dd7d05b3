#include "tarr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "catalog.h"

#define INBUF_SIZE 65536
#define BLOCK 512
#define SHOWN_MAX 256

struct tarr {
    struct archive *a;
    cm_read_fn src;
    void *src_ctx;
    struct cm_err src_err; /* the source's own error, kept whole */
    char *name;
    uint64_t size_max;
    size_t ext_max;
    uint64_t remaining; /* content of the current entry not yet read */
    int opened, dead, eof;
    char path[TARR_PATH_MAX + 1];
    uint8_t in[INBUF_SIZE];
};

/* Hostile names end up on a terminal: control bytes are shown as \xNN. */
static const char *
quote(char out[SHOWN_MAX], const char *p)
{
    size_t o = 0;

    if (p == NULL)
        p = "(no name)";
    for (; *p != '\0' && o + 8 < SHOWN_MAX; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f) {
            snprintf(out + o, 5, "\\x%02x", c);
            o += 4;
        } else {
            out[o++] = (char)c;
        }
    }
    if (*p != '\0') {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static la_ssize_t
read_cb(struct archive *a, void *ctx, const void **buf)
{
    struct tarr *r = ctx;
    long n = r->src(r->src_ctx, r->in, sizeof r->in, &r->src_err);

    if (n < 0) {
        if (r->src_err.code == CM_OK)
            cm_fail(&r->src_err, CM_EINTERNAL, "source failed silently");
        archive_set_error(a, -1, "%s", r->src_err.msg);
        return ARCHIVE_FATAL;
    }
    *buf = r->in;
    return (la_ssize_t)n;
}

int
tarr_new(const struct tarr_opts *opts, cm_read_fn src, void *src_ctx,
         struct tarr **out, struct cm_err *err)
{
    struct tarr *r = cm_calloc(1, sizeof *r, err);
    const char *name = opts != NULL && opts->name != NULL ? opts->name : "tar";
    int rc = -1;

    if (r == NULL)
        return -1;
    r->src = src;
    r->src_ctx = src_ctx;
    r->size_max =
        opts != NULL && opts->size_max ? opts->size_max : TARR_SIZE_MAX_DEFAULT;
    r->ext_max =
        opts != NULL && opts->ext_max ? opts->ext_max : TARR_EXT_MAX_DEFAULT;
    if ((r->name = cm_strdup(name, err)) == NULL)
        goto out;
    /* Tar only (ustar, pax, GNU); no filter: the stream is plain. */
    if ((r->a = archive_read_new()) == NULL ||
        archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
        archive_read_set_read_callback(r->a, read_cb) != ARCHIVE_OK ||
        archive_read_set_callback_data(r->a, r) != ARCHIVE_OK) {
        cm_fail(err, CM_EINTERNAL, "%s: cannot set up the tar reader", r->name);
        goto out;
    }
    *out = r;
    r = NULL;
    rc = 0;
out:
    tarr_free(r);
    return rc;
}

void
tarr_free(struct tarr *r)
{
    if (r == NULL)
        return;
    if (r->a != NULL)
        archive_read_free(r->a);
    free(r->name);
    free(r);
}

const char *
tarr_type_name(enum tarr_type t)
{
    static const char *const names[] = {
        "file",         "directory", "symlink", "hard link", "character device",
        "block device", "FIFO",      "socket",
    };

    return (size_t)t < CM_ARRAY_LEN(names) ? names[t] : "?";
}

/* The stream cannot be read further: keep the source's error if it has one. */
static int
fail_stream(struct tarr *r, struct cm_err *err)
{
    const char *why = archive_error_string(r->a);

    r->dead = 1;
    if (r->src_err.code != CM_OK) {
        if (err != NULL && err->code == CM_OK)
            *err = r->src_err;
        return -1;
    }
    return cm_fail(err, CM_EFORMAT, "%s: offset %lld: %s", r->name,
                   (long long)archive_filter_bytes(r->a, 0),
                   why != NULL ? why : "malformed tar stream");
}

/* Opening reads the first block (to check it is tar): do it on demand. */
static int
open_once(struct tarr *r, struct cm_err *err)
{
    if (r->opened)
        return 0;
    r->opened = 1;
    if (archive_read_open1(r->a) == ARCHIVE_OK)
        return 0;
    return fail_stream(r, err);
}

static int
type_of(struct archive_entry *ae, enum tarr_type *t)
{
    if (archive_entry_hardlink(ae) != NULL) {
        *t = TARR_HARDLINK;
        return 0;
    }
    switch (archive_entry_filetype(ae)) {
    case AE_IFREG:
        *t = TARR_FILE;
        return 0;
    case AE_IFDIR:
        *t = TARR_DIR;
        return 0;
    case AE_IFLNK:
        *t = TARR_SYMLINK;
        return 0;
    case AE_IFCHR:
        *t = TARR_CHARDEV;
        return 0;
    case AE_IFBLK:
        *t = TARR_BLOCKDEV;
        return 0;
    case AE_IFIFO:
        *t = TARR_FIFO;
        return 0;
    case AE_IFSOCK:
        *t = TARR_SOCKET;
        return 0;
    default:
        return -1;
    }
}

/* Copy what libarchive parsed into ${e}; nothing is judged here. */
static void
fill(struct tarr *r, struct archive_entry *ae, struct tarr_entry *e)
{
    la_int64_t size = archive_entry_size(ae);

    memset(e, 0, sizeof *e);
    e->header_off = (uint64_t)archive_read_header_position(r->a);
    e->data_off = (uint64_t)archive_filter_bytes(r->a, 0);
    /* The raw bytes as stored; UTF-8 only where the locale cannot. */
    e->path = archive_entry_pathname(ae);
    if (e->path == NULL)
        e->path = archive_entry_pathname_utf8(ae);
    e->path_len = e->path != NULL ? strlen(e->path) : 0;
    type_of(ae, &e->type);
    e->size = archive_entry_size_is_set(ae) && size > 0 ? (uint64_t)size : 0;
    e->mode = (uint32_t)(archive_entry_perm(ae) & 07777);
    e->mtime = (int64_t)archive_entry_mtime(ae);
    e->uname = archive_entry_uname(ae);
    e->gname = archive_entry_gname(ae);
    e->link = e->type == TARR_HARDLINK ? archive_entry_hardlink(ae)
                                       : archive_entry_symlink(ae);
    e->link_len = e->link != NULL ? strlen(e->link) : 0;
}

static int
refuse(struct tarr *r, const struct tarr_entry *e, const char *why,
       struct cm_err *err)
{
    char q[SHOWN_MAX];

    return cm_fail(err, CM_EFORMAT, "%s: offset %llu: %s: %s", r->name,
                   (unsigned long long)e->header_off, quote(q, e->path), why);
}

/* A good entry's path: safe, and kept without a directory's slashes. */
static int
check_path(struct tarr *r, struct tarr_entry *e, struct cm_err *err)
{
    size_t len = e->path_len;

    if (e->path == NULL || len == 0)
        return refuse(r, e, "no path", err);
    if (len > TARR_PATH_MAX)
        return refuse(r, e, "path too long", err);
    if (e->type == TARR_DIR)
        while (len > 1 && e->path[len - 1] == '/')
            len--;
    if (!catalog_path_is_safe(e->path, len))
        return refuse(r, e, "unsafe path", err);
    memcpy(r->path, e->path, len);
    r->path[len] = '\0';
    e->path = r->path;
    e->path_len = len;
    return 0;
}

static int
check_meta(struct tarr *r, struct archive_entry *ae, struct tarr_entry *e,
           struct cm_err *err)
{
    la_int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
    long ns = archive_entry_mtime_nsec(ae);
    char why[64];

    if (e->size > r->size_max) {
        snprintf(why, sizeof why, "content larger than %llu bytes",
                 (unsigned long long)r->size_max);
        return refuse(r, e, why, err);
    }
    if (e->data_off < e->header_off + BLOCK ||
        e->data_off - e->header_off - BLOCK > r->ext_max) {
        snprintf(why, sizeof why, "extension headers over %zu bytes",
                 r->ext_max);
        return refuse(r, e, why, err);
    }
    if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
        return refuse(r, e, "uid or gid out of range", err);
    if (ns < 0 || ns > 999999999)
        return refuse(r, e, "mtime out of range", err);
    e->uid = (uint32_t)uid;
    e->gid = (uint32_t)gid;
    e->mtime_ns = (uint32_t)ns;
    return 0;
}

static int
check(struct tarr *r, struct archive_entry *ae, struct tarr_entry *e,
      struct cm_err *err)
{
    enum tarr_type t;

    if (type_of(ae, &t) == -1)
        return refuse(r, e, "unknown entry type", err);
    if (check_path(r, e, err) == -1)
        return -1;
    if (t != TARR_FILE && t != TARR_DIR && t != TARR_SYMLINK)
        return refuse(r, e, tarr_type_name(t), err);
    if (archive_entry_sparse_count(ae) > 0)
        return refuse(r, e, "sparse file", err);
    if (t == TARR_SYMLINK &&
        (e->link == NULL || e->link_len == 0 || e->link_len > TARR_PATH_MAX))
        return refuse(r, e, "bad symlink target", err);
    return check_meta(r, ae, e, err);
}

/*
 * libarchive takes a stream that stops at an entry boundary for a complete
 * archive; a volume cut there must not pass for whole.  The end is marked
 * by zero blocks: at least one must have been consumed.
 */
static int
at_end(struct tarr *r, struct cm_err *err)
{
    la_int64_t mark = archive_read_header_position(r->a);

    if (archive_filter_bytes(r->a, 0) < mark + BLOCK) {
        r->dead = 1;
        return cm_fail(err, CM_EFORMAT,
                       "%s: offset %lld: no end-of-archive blocks "
                       "(truncated?)",
                       r->name, (long long)mark);
    }
    r->eof = 1;
    return 0;
}

int
tarr_next(struct tarr *r, struct tarr_entry *e, struct cm_err *err)
{
    struct archive_entry *ae;
    int rc;

    if (r->dead)
        return cm_fail(err, CM_EFORMAT, "%s: unreadable after an error",
                       r->name);
    if (open_once(r, err) == -1)
        return -1;
    if (r->eof)
        return 0;
    r->remaining = 0;
    rc = archive_read_next_header(r->a, &ae);
    if (rc == ARCHIVE_EOF)
        return at_end(r, err);
    /* A warning is about names not convertible to the locale: kept raw. */
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
        return fail_stream(r, err);
    fill(r, ae, e);
    if (check(r, ae, e, err) == -1)
        return TARR_REFUSED;
    if (e->type == TARR_FILE)
        r->remaining = e->size;
    else
        e->size = 0;
    return TARR_ENTRY;
}

long
tarr_read(struct tarr *r, void *p, size_t len, struct cm_err *err)
{
    la_ssize_t n;

    if (r->dead)
        return cm_fail(err, CM_EFORMAT, "%s: unreadable after an error",
                       r->name);
    if (len > r->remaining)
        len = (size_t)r->remaining;
    if (len == 0)
        return 0;
    n = archive_read_data(r->a, p, len);
    if (n < 0)
        return fail_stream(r, err);
    if (n == 0) {
        r->dead = 1;
        return cm_fail(err, CM_EFORMAT, "%s: offset %lld: content ends early",
                       r->name, (long long)archive_filter_bytes(r->a, 0));
    }
    r->remaining -= (uint64_t)n;
    return (long)n;
}
