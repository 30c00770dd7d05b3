/*
 * packreuse: the incremental half of the pack.  An object whose bytes the
 * medium already holds (in its newest set, or in the sets that one points
 * into) is catalogued again, with its metadata as it is now, pointing at
 * those bytes: nothing is read or stored.
 *
 *   Maildir messages   key: mailbox, unique name, size.  Messages never
 *                      change once delivered, so a flag change (a rename)
 *                      or a move between folders costs one catalog line.
 *   other files        key: path.  Unchanged if size and mtime are; if not,
 *                      the file is hashed, and unchanged if the SHA-256 is.
 *   mbox files         key: path.  Unchanged if size and mtime are: its
 *                      message lines and records come along.  If not,
 *                      packmbox.c compares it record by record.
 */
#include "packobj.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "io.h"
#include "maildir.h"

int
packreuse_key(struct packer *p, const struct walk_entry *e,
              struct cm_err *err)
{
    struct buf *k = &p->key;
    struct maildir_name mn;

    buf_reset(k);
    if (e->kind == WALK_MESSAGE && e->store == WALK_STORE_MAILDIR) {
        if (maildir_name_parse(e->name, &mn, err) == -1 ||
            buf_append_byte(k, 'M', "key", err) == -1 ||
            buf_append_str(k, p->store_name, "key", err) == -1 ||
            buf_append_byte(k, '/', "key", err) == -1 ||
            buf_append(k, e->mailbox ? e->mailbox : "",
                       (e->mailbox ? strlen(e->mailbox) : 0) + 1, "key",
                       err) == -1 ||
            buf_append(k, e->name, mn.unique_len, "key", err) == -1 ||
            buf_append_byte(k, '\0', "key", err) == -1)
            return -1;
        return buf_printf(k, err, "%llu", (unsigned long long)e->st.st_size);
    }
    if (e->kind == WALK_FILE || e->kind == WALK_MESSAGE ||
        e->kind == WALK_MBOX) {
        if (buf_append_byte(k, 'F', "key", err) == -1)
            return -1;
        return buf_append_str(k, (const char *)p->path.data, "key", err);
    }
    return 0;
}

/* SHA-256 of the file as it is now (size and mtime changed). */
static int
hash_now(struct packer *p, const struct walk_entry *e, uint8_t sha[32],
         struct cm_err *err)
{
    const char *path = (const char *)p->path.data;
    int fd = openat(e->dirfd, e->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n;

    if (fd == -1)
        return cm_fail_errno(err, errno, "%s: cannot open", path);
    EVP_DigestInit_ex(p->sha, EVP_sha256(), NULL);
    while ((n = io_read_full(fd, p->chunk, PACKOBJ_READ_CHUNK, path, err)) >
           0)
        EVP_DigestUpdate(p->sha, p->chunk, (size_t)n);
    close(fd);
    if (n < 0)
        return -1;
    EVP_DigestFinal_ex(p->sha, sha, NULL);
    return 0;
}

/*
 * Does ${old} still describe the file's content?  1 yes, 0 no, 2 an mbox
 * file that changed size or mtime (for packmbox_changed), -1.
 */
static int
unchanged(struct packer *p, const struct walk_entry *e,
          const struct state_object *row, const struct catalog_entry *old,
          struct cm_err *err)
{
    uint8_t sha[32];

    if (p->key.data[0] == 'M')
        return 1; /* same mailbox, unique name and size */
    if (row->size == (uint64_t)e->st.st_size &&
        row->mtime == e->st.st_mtim.tv_sec &&
        row->mtime_ns == (uint32_t)e->st.st_mtim.tv_nsec)
        return 1;
    if (old->mbox_variant != NULL && e->kind == WALK_MBOX)
        return 2;
    if (row->size != (uint64_t)e->st.st_size)
        return 0;
    if (hash_now(p, e, sha, err) == -1)
        return -1;
    return CRYPTO_memcmp(sha, old->sha256, 32) == 0;
}

static void
drop(char **field)
{
    free(*field);
    *field = NULL;
}

/* The metadata of ${ce} as the file is now. */
static int
refresh(struct packer *p, const struct walk_entry *e, struct catalog_entry *ce,
        struct cm_err *err)
{
    const char *path = (const char *)p->path.data;

    ce->mode = e->st.st_mode & 07777;
    ce->mtime = e->st.st_mtim.tv_sec;
    ce->mtime_ns = (uint32_t)e->st.st_mtim.tv_nsec;
    ce->uid = e->st.st_uid;
    ce->gid = e->st.st_gid;
    if (catalog_bytes_set(&ce->path, path, strlen(path), err) == -1)
        return -1;
    if (ce->kind != CATALOG_MESSAGE)
        return 0;
    drop(&ce->store);
    drop(&ce->mailbox);
    drop(&ce->folder);
    drop(&ce->subdir);
    drop(&ce->flags);
    return packobj_message_place(p, e, e->name, e->subdir, ce, err);
}

/* An mbox file reused: its message lines come along, as they were. */
static int
reuse_mbox_messages(struct packer *p, struct cm_err *err)
{
    const char *path = (const char *)p->path.data;
    struct state_object row;
    struct buf key;
    int rc = -1, r;

    buf_init(&key, 8192);
    for (uint64_t i = 0;; i++) {
        if (packobj_mbox_key(&key, path, i, err) == -1 ||
            (r = state_object_get(p->state, p->medium_id, key.data, key.len,
                                  &row, err)) == -1)
            goto out;
        if (r == 0)
            break;
        r = setw_catalog_add_line(p->w, row.line, strlen(row.line), 1, 1, err);
        free(row.line);
        if (r == -1 || state_object_keep(p->state, key.data, key.len, err) == -1)
            goto out;
        p->res->messages++;
    }
    rc = 0;
out:
    buf_free(&key);
    return rc;
}

/* Can ${s} go into a JSON string as it is (as jansson writes it)? */
static int
plain(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

/*
 * The start of the catalog line the object ${e} would get now, up to its
 * owner's names: kind, path, size, mode, mtime, uid, gid, user, group, as
 * catalog_entry_format writes them.  0, or 1 if a name is not plain.
 */
static int
line_start(struct packer *p, const struct walk_entry *e, struct buf *out,
           struct cm_err *err)
{
    const char *path = (const char *)p->path.data;
    const char *user = packobj_owner_name(p, e->st.st_uid, 0);
    const char *group = packobj_owner_name(p, e->st.st_gid, 1);

    if (!plain(path) || (user && !plain(user)) || (group && !plain(group)))
        return 1;
    buf_reset(out);
    if (buf_printf(out, err,
                   "{\"kind\":\"%s\",\"path\":\"%s\",\"size\":%llu,"
                   "\"mode\":%u,\"mtime\":%lld",
                   e->kind == WALK_MESSAGE ? "message" : "file", path,
                   (unsigned long long)e->st.st_size,
                   (unsigned)(e->st.st_mode & 07777),
                   (long long)e->st.st_mtim.tv_sec) == -1 ||
        (e->st.st_mtim.tv_nsec != 0 &&
         buf_printf(out, err, ",\"mtime_ns\":%ld",
                    (long)e->st.st_mtim.tv_nsec) == -1) ||
        buf_printf(out, err, ",\"uid\":%u,\"gid\":%u",
                   (unsigned)e->st.st_uid, (unsigned)e->st.st_gid) == -1 ||
        (user && buf_printf(out, err, ",\"user\":\"%s\"", user) == -1) ||
        (group && buf_printf(out, err, ",\"group\":\"%s\"", group) == -1) ||
        buf_append_byte(out, ',', "line", err) == -1)
        return -1;
    return 0;
}

/*
 * The common case, kept cheap: an object whose line in the listing says
 * what a new one would (same path, size, mode, mtime, owner) goes into the
 * catalog as it is, without being parsed and written again.  1 done, 0
 * not that case, -1.
 */
static int
reuse_verbatim(struct packer *p, const struct walk_entry *e,
               const struct state_object *row, struct cm_err *err)
{
    size_t len = strlen(row->line);
    struct buf start;
    int r;

    if (p->key.data[0] != 'M' &&
        (row->size != (uint64_t)e->st.st_size ||
         row->mtime != e->st.st_mtim.tv_sec ||
         row->mtime_ns != (uint32_t)e->st.st_mtim.tv_nsec))
        return 0;
    buf_init(&start, 16384);
    if ((r = line_start(p, e, &start, err)) == 0)
        r = start.len <= len && memcmp(start.data, row->line, start.len) == 0;
    buf_free(&start);
    if (r != 1)
        return r == -1 ? -1 : 0;
    if (setw_catalog_add_line(p->w, row->line, len, e->kind == WALK_MESSAGE, 0,
                              err) == -1 ||
        state_object_keep(p->state, p->key.data, p->key.len, err) == -1 ||
        (e->kind == WALK_MBOX && (reuse_mbox_messages(p, err) == -1 ||
                                  packmbox_carry(p, err) == -1)))
        return -1;
    p->res->reused++;
    p->res->reused_bytes += (uint64_t)e->st.st_size;
    if (e->kind == WALK_MESSAGE)
        p->res->messages++;
    else if (e->kind == WALK_MBOX)
        p->res->mbox_files++;
    else
        p->res->files++;
    packobj_progress(p, 0);
    return 1;
}

static void
count_reused(struct packer *p, const struct catalog_entry *ce)
{
    p->res->reused++;
    p->res->reused_bytes += ce->size;
    if (ce->kind == CATALOG_MESSAGE)
        p->res->messages++;
    else if (ce->mbox_variant != NULL)
        p->res->mbox_files++;
    else
        p->res->files++;
}

int
packreuse_try(struct packer *p, const struct walk_entry *e,
              struct cm_err *err)
{
    struct state_object row = {0, 0, 0, NULL};
    struct catalog_entry ce;
    int rc = -1, r;

    if (p->key.len == 0)
        return 0;
    catalog_entry_init(&ce);
    r = state_object_get(p->state, p->medium_id, p->key.data, p->key.len,
                         &row, err);
    if (r <= 0 || (r = reuse_verbatim(p, e, &row, err)) != 0) {
        rc = r;
        goto out;
    }
    if (catalog_entry_parse(row.line, strlen(row.line), 0, &ce, err) == -1)
        goto out;
    if ((r = unchanged(p, e, &row, &ce, err)) == 2 &&
        (r = packmbox_changed(p, e, &ce, err)) != PACKMBOX_SAME) {
        rc = r == PACKMBOX_DONE ? 1 : r;
        goto out;
    }
    if (r <= 0) {
        rc = r;
        goto out;
    }
    if (refresh(p, e, &ce, err) == -1 ||
        setw_catalog_add(p->w, &ce, err) == -1 ||
        packobj_stage(p, ce.size, &e->st, err) == -1 ||
        (ce.mbox_variant != NULL &&
         (reuse_mbox_messages(p, err) == -1 || packmbox_carry(p, err) == -1)))
        goto out;
    count_reused(p, &ce);
    packobj_progress(p, 0);
    rc = 1;
out:
    free(row.line);
    catalog_entry_free(&ce);
    return rc;
}
