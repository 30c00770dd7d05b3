#include "packobj.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "maildir.h"
#include "mbox.h"
#include "msghdr.h"


/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static const char *
owner_name(struct packobj_owner *cache, uint32_t id, int is_group)
{
    char buf[4096];
    size_t slot = id % PACKOBJ_OWNER_CACHE;

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

const char *
packobj_owner_name(struct packer *p, uint32_t id, int is_group)
{
    return owner_name(is_group ? p->groups : p->users, id, is_group);
}

/* Tell the caller "${path}: ${why}". */
void
packobj_warn(struct packer *p, const char *path, const char *why)
{
    char msg[4200];

    if (p->o->warn == NULL || p->counting)
        return;
    snprintf(msg, sizeof msg, "%s: %s", path, why);
    p->o->warn(p->o->ctx, msg);
}

int
packobj_set_path(struct packer *p, const char *relpath, struct cm_err *err)
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

void
packobj_fill_common(struct packer *p, struct catalog_entry *ce,
                    struct tarw_entry *te, const struct stat *st)
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

int
packobj_finish_entry(struct catalog_entry *ce, const struct tarw_entry *te,
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

void
packobj_progress(struct packer *p, uint64_t bytes)
{
    p->prog.objects_done++;
    p->prog.bytes_done += bytes;
    p->prog.current = (const char *)p->path.data;
    if (p->o->progress != NULL)
        p->o->progress(p->o->ctx, &p->prog);
}

/* ------------------------------------------------------------------ */
/* Directories and symlinks                                            */

int
packobj_add_dir(struct packer *p, const struct walk_entry *e, struct cm_err *err)
{
    struct catalog_entry ce;
    struct tarw_entry te;
    struct setw_place place;
    int rc = -1;

    catalog_entry_init(&ce);
    memset(&te, 0, sizeof te);
    te.kind = TARW_DIR;
    ce.kind = CATALOG_DIR;
    packobj_fill_common(p, &ce, &te, &e->st);
    if (setw_object_begin(p->w, &te, &place, err) == -1 ||
        setw_object_end(p->w, err) == -1 ||
        packobj_finish_entry(&ce, &te, &place, err) == -1 ||
        setw_catalog_add(p->w, &ce, err) == -1)
        goto out;
    p->res->dirs++;
    packobj_progress(p, 0);
    rc = 0;
out:
    catalog_entry_free(&ce);
    return rc;
}

int
packobj_add_symlink(struct packer *p, const struct walk_entry *e, struct cm_err *err)
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
    packobj_fill_common(p, &ce, &te, &e->st);
    if (setw_object_begin(p->w, &te, &place, err) == -1 ||
        setw_object_end(p->w, err) == -1 ||
        packobj_finish_entry(&ce, &te, &place, err) == -1 ||
        catalog_bytes_set(&ce.link, e->link, strlen(e->link), err) == -1 ||
        setw_catalog_add(p->w, &ce, err) == -1)
        goto out;
    p->res->symlinks++;
    packobj_progress(p, 0);
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
int
packobj_message_place(struct packer *p, const struct walk_entry *e, const char *name,
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
/* The staged listing (what the next incremental on this medium reuses) */

int
packobj_stage(struct packer *p, uint64_t size, const struct stat *st,
              struct cm_err *err)
{
    const char *line;
    size_t len;

    if (p->key.len == 0 || p->state == NULL)
        return 0;
    line = setw_last_line(p->w, &len);
    return state_object_put(p->state, p->key.data, p->key.len, size,
                            st->st_mtim.tv_sec, (uint32_t)st->st_mtim.tv_nsec,
                            line, len, err);
}

int
packobj_mbox_key(struct buf *key, const char *path, uint64_t index,
                 struct cm_err *err)
{
    buf_reset(key);
    if (buf_append_byte(key, 'X', "key", err) == -1 ||
        buf_append(key, path, strlen(path) + 1, "key", err) == -1)
        return -1;
    return buf_printf(key, err, "%llu", (unsigned long long)index);
}

int
packobj_stage_mbox_message(struct packer *p, const char *path,
                           uint64_t index, struct cm_err *err)
{
    struct buf key;
    const char *line;
    size_t len;
    int rc;

    if (p->state == NULL)
        return 0;
    buf_init(&key, 8192);
    line = setw_last_line(p->w, &len);
    rc = packobj_mbox_key(&key, path, index, err);
    if (rc == 0)
        rc = state_object_put(p->state, key.data, key.len, 0, 0, 0, line, len,
                              err);
    buf_free(&key);
    return rc;
}

/* ------------------------------------------------------------------ */
/* mbox messages                                                       */

struct mbox_ctx {
    struct packer *p;
    const struct catalog_entry *file; /* the mbox file's own entry */
    uint64_t data_off;
    int fd;
    struct packmbox_recs recs; /* for the listing (packmbox.c) */
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

int
packobj_mbox_entry(const struct catalog_entry *f, const struct mbox_message *mm,
                   struct catalog_entry *ce, struct cm_err *err)
{
    ce->kind = CATALOG_MESSAGE;
    ce->mode = f->mode;
    ce->mtime = f->mtime;
    ce->mtime_ns = f->mtime_ns;
    ce->uid = f->uid;
    ce->gid = f->gid;
    ce->size = mm->len;
    ce->has_sha256 = 1;
    memcpy(ce->sha256, mm->sha256, 32);
    ce->len = mm->len;
    ce->in_mbox = 1;
    ce->mbox_index = mm->index;
    ce->mbox_off = mm->off;
    if (catalog_bytes_set(&ce->path, f->path.p, f->path.len, err) == -1 ||
        dup_field(&ce->user, f->user, err) == -1 ||
        dup_field(&ce->group, f->group, err) == -1 ||
        dup_field(&ce->store, "mbox", err) == -1 ||
        dup_field(&ce->folder, f->folder, err) == -1 ||
        dup_field(&ce->mbox_from, mm->from_line, err) == -1)
        return -1;
    return copy_headers(ce, mm->hdr, err);
}

int
packobj_add_mbox_message(struct packer *p, struct catalog_entry *ce,
                         struct cm_err *err)
{
    if (setw_catalog_add(p->w, ce, err) == -1 ||
        packobj_stage_mbox_message(p, ce->path.p, ce->mbox_index, err) == -1)
        return -1;
    p->res->messages++;
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
    if (packobj_mbox_entry(f, mm, &ce, err) == -1)
        goto out;
    ce.vol = f->vol;
    ce.tar_off = f->tar_off;
    ce.off = m->data_off + mm->off;
    if (packobj_add_mbox_message(m->p, &ce, err) == -1 ||
        packmbox_recs_add(&m->recs, mm, err) == -1)
        goto out;
    rc = 0;
out:
    catalog_entry_free(&ce);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Regular files: plain files, message files, mbox files               */

int
packobj_open_source(int dirfd, const char *name, const char *path,
                    struct cm_err *err)
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
    fd = packobj_open_source(AT_FDCWD, full, full, err);
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
        size_t want = left < PACKOBJ_READ_CHUNK ? (size_t)left : PACKOBJ_READ_CHUNK;
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
                packobj_warn(p, (const char *)p->path.data,
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

    j->fd =
        packobj_open_source(e->dirfd, e->name, (const char *)p->path.data, err);
    if (j->fd == -1 && err->sys_errno == ENOENT &&
        e->kind == WALK_MESSAGE && e->store == WALK_STORE_MAILDIR) {
        cm_err_clear(err);
        j->fd = find_moved(p, e, moved_name, moved_subdir, err);
        if (j->fd == -2) {
            p->res->gone++;
            packobj_warn(p, (const char *)p->path.data,
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
        packobj_warn(p, (const char *)p->path.data,
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
        if (packobj_message_place(p, j->e, j->name, j->subdir, ce, err) == -1 ||
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
    if (setw_catalog_add(p->w, ce, err) == -1)
        return -1;
    return packobj_stage(p, j->te.size, &j->st, err);
}

int
packobj_add_file(struct packer *p, const struct walk_entry *e, struct cm_err *err)
{
    struct file_job j;
    char *moved_name = NULL, *moved_subdir = NULL;
    int rc = -1, r;

    memset(&j, 0, sizeof j);
    j.fd = -1;
    j.e = e;
    j.name = e->name;
    j.subdir = e->subdir;
    catalog_entry_init(&j.ce);
    if (packreuse_key(p, e, err) == -1)
        goto out;
    if (p->incremental && (r = packreuse_try(p, e, err)) != 0) {
        rc = r == 1 ? 0 : -1;
        goto out;
    }
    io_test_pause((const char *)p->path.data);
    if ((r = open_job(p, &j, &moved_name, &moved_subdir, err)) != 0) {
        rc = r == 1 ? 0 : -1;
        goto out;
    }
    j.te.kind = TARW_FILE;
    j.te.size = (uint64_t)j.st.st_size;
    packobj_fill_common(p, &j.ce, &j.te, &j.st);
    if (setw_object_begin(p->w, &j.te, &j.place, err) == -1 ||
        packobj_finish_entry(&j.ce, &j.te, &j.place, err) == -1)
        goto out;
    if (e->kind == WALK_MBOX) {
        j.mctx.p = p;
        j.mctx.file = &j.ce;
        j.mctx.data_off = j.place.data_off;
        j.mctx.fd = j.fd;
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
    if (j.mbox != NULL &&
        packmbox_stage_whole(p, j.fd, &j.st, &j.mctx.recs, &j.place, err) == -1)
        goto out;
    setw_count_bytes_in(p->w, j.te.size);
    p->res->bytes_in += j.te.size;
    packobj_progress(p, j.te.size);
    rc = 0;
out:
    if (j.fd >= 0)
        close(j.fd);
    mbox_scanner_free(j.mbox);
    packmbox_recs_free(&j.mctx.recs);
    if (j.have_hdr)
        msghdr_free(&j.hdr);
    catalog_entry_free(&j.ce);
    free(moved_name);
    free(moved_subdir);
    return rc;
}

