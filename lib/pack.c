#include "pack.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stddef.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "catalog.h"
#include "io.h"
#include "maildir.h"
#include "mbox.h"
#include "mh.h"
#include "msghdr.h"
#include "setw.h"
#include "state.h"
#include "walk.h"
#include "when.h"

#define READ_CHUNK (256 * 1024)
#define OWNER_CACHE 8

struct owner_name {
    uint32_t id;
    char name[64];
    int known;
};

struct packer {
    const struct pack_opts *o;
    struct pack_result *res;
    struct setw *w;
    const char *store_root; /* the store's path as given */
    const char *store_name; /* top-level directory in the set */
    uint64_t store_files;   /* regular files and messages seen in it */
    struct buf path;        /* "store_name/relpath" of the current object */
    uint8_t *chunk;
    EVP_MD_CTX *sha;
    struct owner_name users[OWNER_CACHE], groups[OWNER_CACHE];
    struct pack_progress prog;
    char *mh_folder;        /* relpath of the MH folder whose sequences... */
    struct mh_sequences *mh_seq; /* ...are loaded here */
    int counting;           /* pass 1: only count */
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static const char *
owner_name(struct owner_name *cache, uint32_t id, int is_group)
{
    char buf[4096];
    size_t slot = id % OWNER_CACHE;

    if (!cache[slot].known || cache[slot].id != id) {
        const char *name = NULL;
        if (is_group) {
            struct group g, *gp = NULL;
            if (getgrgid_r(id, &g, buf, sizeof buf, &gp) == 0 && gp != NULL)
                name = gp->gr_name;
        } else {
            struct passwd p, *pp = NULL;
            if (getpwuid_r(id, &p, buf, sizeof buf, &pp) == 0 && pp != NULL)
                name = pp->pw_name;
        }
        cache[slot].id = id;
        cache[slot].known = 1;
        snprintf(cache[slot].name, sizeof cache[slot].name, "%s",
                 name ? name : "");
    }
    return cache[slot].name[0] ? cache[slot].name : NULL;
}

/* Tell the caller "${path}: ${why}". */
static void
warn_about(struct packer *p, const char *path, const char *why)
{
    char msg[4200];

    if (p->o->warn == NULL || p->counting)
        return;
    snprintf(msg, sizeof msg, "%s: %s", path, why);
    p->o->warn(p->o->ctx, msg);
}

static int
set_path(struct packer *p, const char *relpath, struct cm_err *err)
{
    buf_reset(&p->path);
    if (buf_append_str(&p->path, p->store_name, "path", err) == -1)
        return -1;
    if (*relpath != '\0' &&
        (buf_append_byte(&p->path, '/', "path", err) == -1 ||
         buf_append_str(&p->path, relpath, "path", err) == -1))
        return -1;
    return buf_cstr(&p->path, err) == NULL ? -1 : 0;
}

static void
fill_common(struct packer *p, struct catalog_entry *ce, struct tarw_entry *te,
            const struct stat *st)
{
    te->path = (const char *)p->path.data;
    te->mode = st->st_mode & 07777;
    te->mtime = st->st_mtim.tv_sec;
    te->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
    te->uid = st->st_uid;
    te->gid = st->st_gid;
    te->user = owner_name(p->users, st->st_uid, 0);
    te->group = owner_name(p->groups, st->st_gid, 1);
    ce->mode = te->mode;
    ce->mtime = te->mtime;
    ce->mtime_ns = te->mtime_ns;
    ce->uid = te->uid;
    ce->gid = te->gid;
}

/* Copy what the tar entry and catalog entry share, and the placement. */
static int
finish_entry(struct catalog_entry *ce, const struct tarw_entry *te,
             const struct setw_place *place, struct cm_err *err)
{
    if (catalog_bytes_set(&ce->path, te->path, strlen(te->path), err) == -1)
        return -1;
    if ((te->user && (ce->user = cm_strdup(te->user, err)) == NULL) ||
        (te->group && (ce->group = cm_strdup(te->group, err)) == NULL))
        return -1;
    ce->vol = place->vol;
    ce->tar_off = place->tar_off;
    ce->off = place->data_off;
    return 0;
}

static void
report_progress(struct packer *p, uint64_t bytes)
{
    p->prog.objects_done++;
    p->prog.bytes_done += bytes;
    p->prog.current = (const char *)p->path.data;
    if (p->o->progress != NULL)
        p->o->progress(p->o->ctx, &p->prog);
}

/* ------------------------------------------------------------------ */
/* Directories and symlinks                                            */

static int
add_dir(struct packer *p, const struct walk_entry *e, struct cm_err *err)
{
    struct catalog_entry ce;
    struct tarw_entry te;
    struct setw_place place;
    int rc = -1;

    catalog_entry_init(&ce);
    memset(&te, 0, sizeof te);
    te.kind = TARW_DIR;
    ce.kind = CATALOG_DIR;
    fill_common(p, &ce, &te, &e->st);
    if (setw_object_begin(p->w, &te, &place, err) == -1 ||
        setw_object_end(p->w, err) == -1 ||
        finish_entry(&ce, &te, &place, err) == -1 ||
        setw_catalog_add(p->w, &ce, err) == -1)
        goto out;
    p->res->dirs++;
    report_progress(p, 0);
    rc = 0;
out:
    catalog_entry_free(&ce);
    return rc;
}

static int
add_symlink(struct packer *p, const struct walk_entry *e, struct cm_err *err)
{
    struct catalog_entry ce;
    struct tarw_entry te;
    struct setw_place place;
    int rc = -1;

    catalog_entry_init(&ce);
    memset(&te, 0, sizeof te);
    te.kind = TARW_SYMLINK;
    te.link = e->link;
    ce.kind = CATALOG_SYMLINK;
    fill_common(p, &ce, &te, &e->st);
    if (setw_object_begin(p->w, &te, &place, err) == -1 ||
        setw_object_end(p->w, err) == -1 ||
        finish_entry(&ce, &te, &place, err) == -1 ||
        catalog_bytes_set(&ce.link, e->link, strlen(e->link), err) == -1 ||
        setw_catalog_add(p->w, &ce, err) == -1)
        goto out;
    p->res->symlinks++;
    report_progress(p, 0);
    rc = 0;
out:
    catalog_entry_free(&ce);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Message metadata                                                    */

static int
dup_field(char **dst, const char *src, struct cm_err *err)
{
    if (src == NULL)
        return 0;
    return (*dst = cm_strdup(src, err)) == NULL ? -1 : 0;
}

static int
copy_headers(struct catalog_entry *ce, const struct msghdr *h,
             struct cm_err *err)
{
    if (dup_field(&ce->message_id, h->message_id, err) == -1 ||
        dup_field(&ce->from, h->from.value, err) == -1 ||
        dup_field(&ce->subject, h->subject.value, err) == -1)
        return -1;
    if (h->has_date) {
        ce->has_date = 1;
        ce->date = h->date;
    } else if (dup_field(&ce->date_raw, h->date_raw, err) == -1) {
        return -1;
    }
    if (h->from.raw != NULL &&
        catalog_bytes_set(&ce->from_raw, h->from.raw, h->from.raw_len, err) ==
            -1)
        return -1;
    if (h->subject.raw != NULL &&
        catalog_bytes_set(&ce->subject_raw, h->subject.raw,
                          h->subject.raw_len, err) == -1)
        return -1;
    return 0;
}

static int
mh_flags(struct packer *p, const struct walk_entry *e, char *out,
         size_t outlen, struct cm_err *err)
{
    const char *slash = strrchr(e->relpath, '/');
    size_t dirlen = slash ? (size_t)(slash - e->relpath) : 0;

    if (p->mh_folder == NULL || strlen(p->mh_folder) != dirlen ||
        strncmp(p->mh_folder, e->relpath, dirlen) != 0) {
        mh_sequences_free(p->mh_seq);
        p->mh_seq = NULL;
        free(p->mh_folder);
        if ((p->mh_folder = strndup(e->relpath, dirlen)) == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        if (mh_sequences_load(e->dirfd, ".", &p->mh_seq, err) == -1)
            return -1;
    }
    mh_sequences_flags(p->mh_seq, strtoul(e->name, NULL, 10), out, outlen);
    return 0;
}

/* Store, mailbox, folder, subdir and flags of a message file. */
static int
message_place(struct packer *p, const struct walk_entry *e, const char *name,
              const char *subdir, struct catalog_entry *ce,
              struct cm_err *err)
{
    char flags[MAILDIR_FLAGS_MAX];
    struct maildir_name mn;

    flags[0] = '\0';
    if (e->store == WALK_STORE_MAILDIR) {
        if (maildir_name_parse(name, &mn, err) == -1)
            return -1;
        snprintf(flags, sizeof flags, "%s", mn.flags);
        if (dup_field(&ce->store, "maildir", err) == -1 ||
            dup_field(&ce->subdir, subdir, err) == -1)
            return -1;
    } else {
        if (mh_flags(p, e, flags, sizeof flags, err) == -1 ||
            dup_field(&ce->store, "mh", err) == -1)
            return -1;
    }
    if (dup_field(&ce->flags, flags, err) == -1 ||
        dup_field(&ce->folder, e->folder, err) == -1)
        return -1;
    if (e->mailbox != NULL) {
        char *mb;
        size_t n = strlen(p->store_name) + strlen(e->mailbox) + 2;
        if ((mb = cm_malloc(n, err)) == NULL)
            return -1;
        snprintf(mb, n, "%s%s%s", p->store_name, *e->mailbox ? "/" : "",
                 e->mailbox);
        ce->mailbox = mb;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* mbox messages                                                       */

struct mbox_ctx {
    struct packer *p;
    const struct catalog_entry *file; /* the mbox file's own entry */
    uint64_t data_off;
    int fd;
};

static int
mbox_peek(void *ctx, void *buf, size_t len, uint64_t off, struct cm_err *err)
{
    struct mbox_ctx *m = ctx;
    ssize_t n = io_pread_full(m->fd, buf, len, off,
                              (const char *)m->p->path.data, err);

    if (n < 0)
        return -1;
    if ((size_t)n != len)
        return cm_fail(err, CM_EFORMAT, "past the end of the mbox");
    return 0;
}

static int
mbox_message(void *ctx, const struct mbox_message *mm, struct cm_err *err)
{
    struct mbox_ctx *m = ctx;
    const struct catalog_entry *f = m->file;
    struct catalog_entry ce;
    int rc = -1;

    catalog_entry_init(&ce);
    ce.kind = CATALOG_MESSAGE;
    ce.mode = f->mode;
    ce.mtime = f->mtime;
    ce.mtime_ns = f->mtime_ns;
    ce.uid = f->uid;
    ce.gid = f->gid;
    ce.size = mm->len;
    ce.has_sha256 = 1;
    memcpy(ce.sha256, mm->sha256, 32);
    ce.vol = f->vol;
    ce.tar_off = f->tar_off;
    ce.off = m->data_off + mm->off;
    ce.len = mm->len;
    ce.in_mbox = 1;
    ce.mbox_index = mm->index;
    ce.mbox_off = mm->off;
    if (catalog_bytes_set(&ce.path, f->path.p, f->path.len, err) == -1 ||
        dup_field(&ce.store, "mbox", err) == -1 ||
        dup_field(&ce.folder, f->folder, err) == -1 ||
        dup_field(&ce.mbox_from, mm->from_line, err) == -1 ||
        copy_headers(&ce, mm->hdr, err) == -1 ||
        setw_catalog_add(m->p->w, &ce, err) == -1)
        goto out;
    m->p->res->messages++;
    rc = 0;
out:
    catalog_entry_free(&ce);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Regular files: plain files, message files, mbox files               */

static int
open_source(int dirfd, const char *name, const char *path, struct cm_err *err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC);

    /* O_NOATIME needs ownership or CAP_FOWNER; without it, open plainly. */
    if (fd == -1 && errno == EPERM)
        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1)
        return cm_fail_errno(err, errno, "%s: cannot open", path);
    return fd;
}

/*
 * A Maildir message seen by the walk has gone: look for it under a new
 * name.  Returns an open descriptor (and updates the path and name), -2 if
 * it is gone for good, or -1 on error.
 */
static int
find_moved(struct packer *p, const struct walk_entry *e, char **name,
           char **subdir, struct cm_err *err)
{
    char folder[PATH_MAX], full[PATH_MAX + 256], *found = NULL, *slash;
    int n, fd, r;

    /* relpath is ".../<folder>/cur/<name>": the folder is two levels up. */
    n = snprintf(folder, sizeof folder, "%s/%s", p->store_root, e->relpath);
    if (n < 0 || (size_t)n >= sizeof folder)
        return cm_fail(err, CM_EFORMAT, "%s: path too long", e->relpath);
    for (int i = 0; i < 2 && (slash = strrchr(folder, '/')) != NULL; i++)
        *slash = '\0';
    r = maildir_find_moved(folder, e->name, &found, err);
    if (r <= 0)
        return r == 0 ? -2 : -1;
    snprintf(full, sizeof full, "%s/%s", folder, found);
    fd = open_source(AT_FDCWD, full, full, err);
    slash = strchr(found, '/');
    if (fd >= 0 && slash != NULL) {
        *subdir = strndup(found, (size_t)(slash - found));
        *name = strdup(slash + 1);
        if (*subdir == NULL || *name == NULL) {
            close(fd);
            fd = cm_fail(err, CM_EINTERNAL, "out of memory");
        }
    } else if (fd >= 0) {
        close(fd);
        fd = cm_fail(err, CM_EINTERNAL, "%s: unexpected move target", full);
    }
    free(found);
    return fd;
}

/* Replace the last component(s) of the current path after a move. */
static int
repath_moved(struct packer *p, const char *subdir, const char *name,
             struct cm_err *err)
{
    char *path = strdup((const char *)p->path.data), *slash;
    int rc;

    if (path == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    for (int i = 0; i < 2 && (slash = strrchr(path, '/')) != NULL; i++)
        *slash = '\0';
    buf_reset(&p->path);
    rc = buf_printf(&p->path, err, "%s/%s/%s", path, subdir, name);
    free(path);
    return rc;
}

struct file_job {
    const struct walk_entry *e;
    int fd;
    struct stat st;
    const char *name;    /* current name (after a move) */
    const char *subdir;
    struct catalog_entry ce;
    struct tarw_entry te;
    struct setw_place place;
    struct mbox_scanner *mbox;
    struct mbox_ctx mctx;
    struct msghdr hdr;
    int have_hdr;
};

static int
stream_content(struct packer *p, struct file_job *j, struct cm_err *err)
{
    uint64_t left = j->te.size;
    int first = 1;

    while (left > 0) {
        size_t want = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
        ssize_t n = io_read_full(j->fd, p->chunk, want,
                                 (const char *)p->path.data, err);
        if (n < 0)
            return -1;
        if (n == 0) {
            /* The file shrank under us: keep the tar entry whole. */
            memset(p->chunk, 0, want);
            n = (ssize_t)want;
            if (left == j->te.size || first) {
                p->res->changed++;
                warn_about(p, (const char *)p->path.data,
                      "shrank while being read; the rest is zero-filled");
            }
        }
        if (first && j->e->kind == WALK_MESSAGE) {
            if (msghdr_parse(p->chunk, (size_t)n, &j->hdr, err) == -1)
                return -1;
            j->have_hdr = 1;
        }
        first = 0;
        EVP_DigestUpdate(p->sha, p->chunk, (size_t)n);
        if (setw_object_data(p->w, p->chunk, (size_t)n, err) == -1)
            return -1;
        if (j->mbox != NULL &&
            mbox_scanner_feed(j->mbox, p->chunk, (size_t)n, err) == -1)
            return -1;
        left -= (uint64_t)n;
    }
    return 0;
}

static int
open_job(struct packer *p, struct file_job *j, char **moved_name,
         char **moved_subdir, struct cm_err *err)
{
    const struct walk_entry *e = j->e;

    j->fd = open_source(e->dirfd, e->name, (const char *)p->path.data, err);
    if (j->fd == -1 && err->sys_errno == ENOENT &&
        e->kind == WALK_MESSAGE && e->store == WALK_STORE_MAILDIR) {
        cm_err_clear(err);
        j->fd = find_moved(p, e, moved_name, moved_subdir, err);
        if (j->fd == -2) {
            p->res->gone++;
            warn_about(p, (const char *)p->path.data,
                  "expunged during the pack");
            return 1;
        }
        if (j->fd < 0 || repath_moved(p, *moved_subdir, *moved_name, err))
            return -1;
        j->name = *moved_name;
        j->subdir = *moved_subdir;
        p->res->moved++;
    }
    if (j->fd < 0)
        return -1;
    if (fstat(j->fd, &j->st) == -1)
        return cm_fail_errno(err, errno, "%s: cannot stat",
                             (const char *)p->path.data);
    if (!S_ISREG(j->st.st_mode)) {
        warn_about(p, (const char *)p->path.data,
              "is no longer a regular file; skipped");
        p->res->skipped++;
        return 1;
    }
    return 0;
}

static int
catalog_file(struct packer *p, struct file_job *j, struct cm_err *err)
{
    struct catalog_entry *ce = &j->ce;

    EVP_DigestFinal_ex(p->sha, ce->sha256, NULL);
    ce->has_sha256 = 1;
    ce->size = j->te.size;
    ce->len = j->te.size;
    if (j->e->kind == WALK_MESSAGE) {
        ce->kind = CATALOG_MESSAGE;
        if (message_place(p, j->e, j->name, j->subdir, ce, err) == -1 ||
            copy_headers(ce, &j->hdr, err) == -1)
            return -1;
        p->res->messages++;
    } else {
        ce->kind = CATALOG_FILE;
        if (j->mbox != NULL) {
            ce->mbox_variant = cm_strdup(
                mbox_variant_name(mbox_scanner_variant(j->mbox)), err);
            if (ce->mbox_variant == NULL)
                return -1;
            p->res->mbox_files++;
        } else {
            p->res->files++;
        }
    }
    return setw_catalog_add(p->w, ce, err);
}

/*
 * Test hook: with COLDMAIL_TEST_PAUSE_AT=TEXT and COLDMAIL_TEST_PAUSE_FIFO=
 * PATH, the pack stops before opening the first file whose path holds TEXT
 * and waits for a line on the FIFO, so that a test can rename or delete
 * mail between the walk and the read.
 */
static void
test_pause_hook(const char *path)
{
    static int done;
    const char *at = getenv("COLDMAIL_TEST_PAUSE_AT");
    const char *fifo = getenv("COLDMAIL_TEST_PAUSE_FIFO");
    char line[64];
    FILE *f;

    if (done || at == NULL || fifo == NULL || strstr(path, at) == NULL)
        return;
    done = 1;
    if ((f = fopen(fifo, "re")) != NULL) {
        if (fgets(line, sizeof line, f) == NULL)
            line[0] = '\0';
        fclose(f);
    }
}

static int
add_file(struct packer *p, const struct walk_entry *e, struct cm_err *err)
{
    struct file_job j;
    char *moved_name = NULL, *moved_subdir = NULL;
    int rc = -1, r;

    memset(&j, 0, sizeof j);
    j.e = e;
    j.name = e->name;
    j.subdir = e->subdir;
    catalog_entry_init(&j.ce);
    test_pause_hook((const char *)p->path.data);
    if ((r = open_job(p, &j, &moved_name, &moved_subdir, err)) != 0) {
        rc = r == 1 ? 0 : -1;
        goto out;
    }
    j.te.kind = TARW_FILE;
    j.te.size = (uint64_t)j.st.st_size;
    fill_common(p, &j.ce, &j.te, &j.st);
    if (setw_object_begin(p->w, &j.te, &j.place, err) == -1 ||
        finish_entry(&j.ce, &j.te, &j.place, err) == -1)
        goto out;
    if (e->kind == WALK_MBOX) {
        j.mctx = (struct mbox_ctx){p, &j.ce, j.place.data_off, j.fd};
        if (dup_field(&j.ce.folder, e->folder, err) == -1 ||
            mbox_scanner_new(j.te.size, mbox_peek, &j.mctx, mbox_message,
                             &j.mctx, &j.mbox, err) == -1)
            goto out;
    }
    EVP_DigestInit_ex(p->sha, EVP_sha256(), NULL);
    if (stream_content(p, &j, err) == -1 ||
        (j.mbox != NULL && mbox_scanner_finish(j.mbox, err) == -1) ||
        setw_object_end(p->w, err) == -1 || catalog_file(p, &j, err) == -1)
        goto out;
    setw_count_bytes_in(p->w, j.te.size);
    p->res->bytes_in += j.te.size;
    report_progress(p, j.te.size);
    rc = 0;
out:
    if (j.fd >= 0)
        close(j.fd);
    mbox_scanner_free(j.mbox);
    if (j.have_hdr)
        msghdr_free(&j.hdr);
    catalog_entry_free(&j.ce);
    free(moved_name);
    free(moved_subdir);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The walk                                                            */

static void
count_entry(struct packer *p, const struct walk_entry *e)
{
    uint64_t size = (uint64_t)e->st.st_size;

    p->prog.objects_total++;
    if (e->kind != WALK_FILE && e->kind != WALK_MESSAGE &&
        e->kind != WALK_MBOX)
        return;
    p->store_files++;
    p->prog.bytes_total += size;
    if (e->kind == WALK_MESSAGE)
        p->res->messages++;
    else if (e->kind == WALK_MBOX)
        p->res->mbox_files++;
    else
        p->res->files++;
    p->res->bytes_in += size;
    if (size >= p->res->largest) {
        p->res->largest = size;
        snprintf(p->res->largest_path, sizeof p->res->largest_path, "%s/%s",
                 p->store_name, e->relpath);
    }
}

static int
visit(void *ctx, const struct walk_entry *e, struct cm_err *err)
{
    struct packer *p = ctx;

    if (p->o->interrupted != NULL && *p->o->interrupted)
        return cm_fail(err, CM_EINTR, "interrupted");
    if (p->counting) {
        count_entry(p, e);
        return 0;
    }
    if (set_path(p, e->relpath, err) == -1)
        return -1;
    switch (e->kind) {
    case WALK_DIR:
        return add_dir(p, e, err);
    case WALK_SYMLINK:
        return add_symlink(p, e, err);
    case WALK_FILE:
    case WALK_MESSAGE:
    case WALK_MBOX:
        return add_file(p, e, err);
    }
    return 0;
}

static void
on_skip(void *ctx, const char *relpath, const char *why)
{
    struct packer *p = ctx;
    char path[4096];

    if (p->counting)
        return;
    p->res->skipped++;
    snprintf(path, sizeof path, "%s/%s", p->store_name, relpath);
    {
        char why_skipped[256];
        snprintf(why_skipped, sizeof why_skipped, "%s, skipped", why);
        warn_about(p, path, why_skipped);
    }
}

/* ------------------------------------------------------------------ */
/* Stores, checks, and the run                                         */

struct store {
    char real[PATH_MAX];
    const char *name;
};

static int
resolve_stores(const struct pack_opts *o, struct store **out, size_t *n,
               struct cm_err *err)
{
    struct store *s;
    size_t count = 0;

    while (o->stores[count] != NULL)
        count++;
    if (count == 0)
        return cm_fail(err, CM_EUSAGE, "no STORE given");
    if ((s = cm_calloc(count, sizeof *s, err)) == NULL)
        return -1;
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (realpath(o->stores[i], s[i].real) == NULL ||
            stat(s[i].real, &st) == -1) {
            cm_fail_errno(err, errno, "%s: cannot read the store",
                          o->stores[i]);
            goto fail;
        }
        if (!S_ISDIR(st.st_mode)) {
            cm_fail(err, CM_EUSAGE, "%s: the store is not a directory",
                    o->stores[i]);
            goto fail;
        }
        s[i].name = strrchr(s[i].real, '/') + 1;
        if (*s[i].name == '\0') {
            cm_fail(err, CM_EUSAGE, "%s: cannot pack the root directory",
                    o->stores[i]);
            goto fail;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(s[k].name, s[i].name) == 0) {
                cm_fail(err, CM_EUSAGE,
                        "two stores are named \"%s\" (%s and %s): the set "
                        "keeps each under its name",
                        s[i].name, s[k].real, s[i].real);
                goto fail;
            }
    }
    *out = s;
    *n = count;
    return 0;
fail:
    free(s);
    return -1;
}

static int
check_medium(const struct pack_opts *o, const struct store *s, size_t n,
             struct cm_err *err)
{
    char real[PATH_MAX];
    struct stat st;

    if (realpath(o->medium_dir, real) == NULL || stat(real, &st) == -1)
        return cm_fail_errno(err, errno,
                             "%s: the medium is not there (is it mounted?)",
                             o->medium_dir);
    if (!S_ISDIR(st.st_mode))
        return cm_fail(err, CM_EUSAGE, "%s: the medium is not a directory",
                       o->medium_dir);
    if (access(real, W_OK) == -1)
        return cm_fail_errno(err, errno, "%s: the medium is not writable",
                             o->medium_dir);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(s[i].real);
        if (strncmp(real, s[i].real, len) == 0 &&
            (real[len] == '/' || real[len] == '\0'))
            return cm_fail(err, CM_EUSAGE,
                           "%s: the medium is inside the store %s",
                           o->medium_dir, s[i].real);
    }
    return 0;
}

static int
walk_all(struct packer *p, const struct store *s, size_t n,
         struct cm_err *err)
{
    struct walk_opts wo = {p->o->excludes};

    for (size_t i = 0; i < n; i++) {
        p->store_root = s[i].real;
        p->store_name = s[i].name;
        p->store_files = 0;
        if (walk_store(s[i].real, &wo, visit, on_skip, p, err) == -1)
            return -1;
        if (p->counting && p->store_files == 0)
            return cm_fail(err, CM_EUSAGE,
                           "%s: the store is empty (no files to pack)",
                           s[i].real);
    }
    return 0;
}

static void
host_name(const struct pack_opts *o, char *out, size_t outlen)
{
    char raw[256] = "";

    if (o->host != NULL)
        snprintf(raw, sizeof raw, "%s", o->host);
    else if (gethostname(raw, sizeof raw - 1) == -1 || raw[0] == '\0')
        snprintf(raw, sizeof raw, "localhost");
    /* The name goes into a directory name: keep it plain. */
    for (char *c = raw; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' ||
              *c == '_'))
            *c = '-';
    snprintf(out, outlen, "%.63s", raw);
}

static double
seconds_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Pass 2: write the set and commit it. */
static int
write_set(struct packer *p, const struct store *s, size_t n,
          struct state *st, struct cm_err *err)
{
    struct state_chain_head head;
    struct setw_opts wo;
    struct setw_result wr;
    struct manifest back;
    char host[64];

    if (state_chain_head(st, &head, err) == -1)
        return -1;
    host_name(p->o, host, sizeof host);
    memset(&wo, 0, sizeof wo);
    wo.medium_dir = p->o->medium_dir;
    wo.host = host;
    wo.created = when_now();
    wo.recipients = p->o->recipients;
    wo.signer = p->o->signer;
    wo.volume_size = p->o->volume_size;
    wo.level = p->o->level;
    wo.threads = p->o->threads;
    wo.label = p->o->label;
    wo.sequence = head.sequence + 1;
    wo.has_previous = head.has_manifest;
    memcpy(wo.previous, head.manifest_sha256, 32);
    if (setw_begin(&wo, &p->w, err) == -1)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (setw_add_store(p->w, s[i].name, s[i].real, err) == -1)
            return -1;
    /* Pass 2 counts again what it actually packs; keep only the largest
     * object found by pass 1. */
    memset(p->res, 0, offsetof(struct pack_result, largest));
    p->prog.objects_done = p->prog.bytes_done = 0;
    if (walk_all(p, s, n, err) == -1 || setw_commit(p->w, &wr, err) == -1)
        return -1;
    snprintf(p->res->set_dir, sizeof p->res->set_dir, "%s", wr.set_dir);
    manifest_set_id_hex(setw_set_id(p->w), p->res->set_id);
    p->res->sequence = wo.sequence;
    p->res->volumes = wr.volumes;
    p->res->bytes_written = wr.bytes_written;
    p->res->verified = 1;
    /* Record it: the MANIFEST as committed, re-read from the medium. */
    {
        char path[4200];
        struct buf text;
        int rc;
        buf_init(&text, MANIFEST_MAX);
        snprintf(path, sizeof path, "%s/MANIFEST", wr.set_dir);
        rc = io_read_file(path, MANIFEST_MAX, &text, err);
        if (rc == 0)
            rc = manifest_parse((const char *)text.data, text.len, path,
                                &back, err);
        if (rc == 0) {
            rc = state_record_set(st, &back, wr.manifest_sha256, wr.set_dir,
                                  err);
            manifest_free(&back);
        }
        buf_free(&text);
        if (rc == -1)
            return cm_err_prefix(err, "the set %s is complete, but the state "
                                      "was not updated",
                                 wr.set_dir);
    }
    return 0;
}

static int
packer_init(struct packer *p, const struct pack_opts *o,
            struct pack_result *res, struct cm_err *err)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    p->res = res;
    buf_init(&p->path, 8192);
    p->chunk = cm_malloc(READ_CHUNK, err);
    p->sha = EVP_MD_CTX_new();
    if (p->chunk == NULL || p->sha == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    return 0;
}

static void
packer_free(struct packer *p)
{
    setw_free(p->w);
    buf_free(&p->path);
    free(p->chunk);
    EVP_MD_CTX_free(p->sha);
    mh_sequences_free(p->mh_seq);
    free(p->mh_folder);
}

int
pack_run(const struct pack_opts *o, struct pack_result *res,
         struct cm_err *err)
{
    struct packer p;
    struct store *stores = NULL;
    struct state *st = NULL;
    double t0 = seconds_now();
    size_t n = 0;
    int rc = -1;

    memset(res, 0, sizeof *res);
    if (packer_init(&p, o, res, err) == -1 ||
        resolve_stores(o, &stores, &n, err) == -1)
        goto out;
    if (!o->dry_run && (check_medium(o, stores, n, err) == -1 ||
                        state_open(o->state_dir, &st, err) == -1))
        goto out;
    p.counting = 1;
    if (walk_all(&p, stores, n, err) == -1)
        goto out;
    p.counting = 0;
    if (!o->dry_run &&
        setw_check_fits(o->volume_size, res->largest_path, res->largest,
                        err) == -1)
        goto out;
    if (!o->dry_run && write_set(&p, stores, n, st, err) == -1)
        goto out;
    rc = 0;
out:
    res->seconds = seconds_now() - t0;
    packer_free(&p);
    state_close(st);
    free(stores);
    return rc;
}
