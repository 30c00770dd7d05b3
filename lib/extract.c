#include "extract.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "catalog.h"
#include "enc.h"
#include "io.h"
#include "rnd.h"

#define TMP_PREFIX ".coldmail-tmp."
#define SHOWN_MAX 256
#define NOT_A_DIR (-2) /* from get_parent(): a parent is not a directory */
#define COMPARE_CHUNK 16384

struct pending {
    char *path;
    struct extract_meta meta;
    uint8_t has_meta, created;
};

struct extract {
    int root;
    int flags;
    int try_openat2;
    int owner; /* restore owners: asked to, and root */
    char *target;
    struct pending *pend;
    size_t npend, cap;
    struct extract_stats stats;
};

enum file_mode {
    F_CREATE,  /* writing a temporary, renamed into place at commit */
    F_COMPARE, /* a regular file of the same size is there: compare */
    F_DIFFERS, /* something else is there: discard the data */
};

struct extract_file {
    struct extract *x;
    char *path;       /* relative */
    const char *leaf; /* within path */
    char *shown;      /* target/path, quoted, for messages */
    int dir, fd;
    enum file_mode mode;
    int broken;
    char tmp[sizeof TMP_PREFIX + 16];
    uint64_t size, done;
    struct extract_meta meta;
};

/*
 * Names come from a hostile medium and end up on a terminal: control bytes
 * are shown as \xNN, and long names are cut.
 */
static const char *
quote(char out[SHOWN_MAX], const char *p)
{
    size_t o = 0;

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

static int
check_path(const char *path, struct cm_err *err)
{
    size_t len = strnlen(path, EXTRACT_PATH_MAX + 1), depth = 1;
    char q[SHOWN_MAX];

    if (len > EXTRACT_PATH_MAX)
        return cm_fail(err, CM_EFORMAT, "%s: path longer than %d bytes",
                       quote(q, path), EXTRACT_PATH_MAX);
    if (!catalog_path_is_safe(path, len))
        return cm_fail(err, CM_EFORMAT, "%s: unsafe path", quote(q, path));
    for (size_t i = 0; i < len; i++)
        depth += path[i] == '/';
    if (depth > EXTRACT_DEPTH_MAX)
        return cm_fail(err, CM_EFORMAT, "%s: more than %d path components",
                       quote(q, path), EXTRACT_DEPTH_MAX);
    return 0;
}

static int
check_meta(const char *path, const struct extract_meta *m, struct cm_err *err)
{
    char q[SHOWN_MAX];

    if (m->mtime_ns > 999999999u || m->mode > 07777u)
        return cm_fail(err, CM_EFORMAT, "%s: bad mode or mtime",
                       quote(q, path));
    return 0;
}

static const char *
leaf_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}

static int
result(struct extract *x, int r)
{
    if (r == EXTRACT_CREATED)
        x->stats.created++;
    else if (r == EXTRACT_PRESENT)
        x->stats.present++;
    else if (r == EXTRACT_CONFLICT)
        x->stats.conflicts++;
    return r;
}

/* ------------------------------------------------------------------ */
/* Pending directories                                                 */

static int
add_pending(struct extract *x, const char *path, size_t len,
            const struct extract_meta *m, int created, struct cm_err *err)
{
    struct pending *p;

    if (x->npend == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        p = realloc(x->pend, cap * sizeof *p);
        if (p == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        x->pend = p;
        x->cap = cap;
    }
    p = &x->pend[x->npend];
    memset(p, 0, sizeof *p);
    p->path = cm_malloc(len + 1, err);
    if (p->path == NULL)
        return -1;
    memcpy(p->path, path, len);
    p->path[len] = '\0';
    if (m != NULL) {
        p->meta = *m;
        p->has_meta = 1;
    }
    p->created = (uint8_t)created;
    x->npend++;
    return 0;
}

static void
clear_pending(struct extract *x)
{
    for (size_t i = 0; i < x->npend; i++)
        free(x->pend[i].path);
    free(x->pend);
    x->pend = NULL;
    x->npend = x->cap = 0;
}

/* ------------------------------------------------------------------ */
/* Resolving paths under the root                                      */

static void
put_dir(const struct extract *x, int fd)
{
    if (fd >= 0 && fd != x->root)
        close(fd);
}

/*
 * One syscall instead of one per component, when the kernel has openat2;
 * any failure falls back to the walk, which creates what is missing and
 * says precisely what is wrong.
 */
static int
parent_openat2(struct extract *x, const char *path, size_t plen)
{
    struct open_how how;
    char buf[EXTRACT_PATH_MAX + 1];
    long fd;

    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    memcpy(buf, path, plen);
    buf[plen] = '\0';
    do
        fd = syscall(SYS_openat2, x->root, buf, &how, sizeof how);
    while (fd == -1 && errno == EINTR);
    if (fd == -1 && (errno == ENOSYS || errno == EPERM || errno == E2BIG ||
                     errno == EINVAL))
        x->try_openat2 = 0;
    return (int)fd;
}

/*
 * Why ${name} in ${dir} did not open as a directory.  Linux says ELOOP or
 * ENOTDIR for a symlink under O_NOFOLLOW|O_DIRECTORY: look, do not guess.
 */
static int
step_error(const struct extract *x, int dir, const char *name, const char *path,
           size_t upto, int errnum, struct cm_err *err)
{
    char q[SHOWN_MAX], qpart[SHOWN_MAX], part[SHOWN_MAX];
    struct stat st;

    snprintf(part, sizeof part, "%.*s", (int)upto, path);
    if ((errnum == ELOOP || errnum == ENOTDIR) &&
        fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode))
            return cm_fail(err, CM_EFORMAT,
                           "%s: %s is a symlink; not writing through it",
                           quote(q, path), quote(qpart, part));
        if (!S_ISDIR(st.st_mode))
            return NOT_A_DIR;
    }
    return cm_fail_errno(err, errnum, "%s/%s: cannot open directory", x->target,
                         quote(qpart, part));
}

/* Open directory ${name} in ${dir}; ${path} up to ${upto} bytes names it. */
static int
step(struct extract *x, int dir, const char *name, const char *path,
     size_t upto, int create, struct cm_err *err)
{
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(dir, name, flags);

    if (fd == -1 && errno == ENOENT && create) {
        if (mkdirat(dir, name, 0700) == 0) {
            if ((x->flags & EXTRACT_MERGE) &&
                add_pending(x, path, upto, NULL, 1, err) == -1)
                return -1;
        } else if (errno != EEXIST) {
            char q[SHOWN_MAX], part[SHOWN_MAX];
            snprintf(part, sizeof part, "%.*s", (int)upto, path);
            return cm_fail_errno(err, errno, "%s/%s: cannot create directory",
                                 x->target, quote(q, part));
        }
        fd = openat(dir, name, flags);
    }
    if (fd == -1)
        return step_error(x, dir, name, path, upto, errno, err);
    return fd;
}

static int
walk(struct extract *x, const char *path, size_t plen, int create,
     struct cm_err *err)
{
    char name[NAME_MAX + 1], q[SHOWN_MAX];
    size_t start = 0;
    int dir = x->root;

    while (start < plen) {
        const char *slash = memchr(path + start, '/', plen - start);
        size_t end = slash != NULL ? (size_t)(slash - path) : plen;
        int next;

        if (end - start > NAME_MAX) {
            put_dir(x, dir);
            return cm_fail(err, CM_EFORMAT, "%s: name longer than %d bytes",
                           quote(q, path), NAME_MAX);
        }
        memcpy(name, path + start, end - start);
        name[end - start] = '\0';
        next = step(x, dir, name, path, end, create, err);
        put_dir(x, dir);
        if (next < 0)
            return next;
        dir = next;
        start = end + 1;
    }
    return dir;
}

/*
 * The directory holding ${path}'s last component, resolved from the root
 * without following any symlink (created if missing and ${create}).
 * Returns a descriptor to release with put_dir() (the root's own for a
 * one-component path), NOT_A_DIR if a parent is something else (err not
 * set), or -1.
 */
static int
get_parent(struct extract *x, const char *path, int create, struct cm_err *err)
{
    const char *slash = strrchr(path, '/');
    size_t plen;

    if (slash == NULL)
        return x->root;
    plen = (size_t)(slash - path);
    if (x->try_openat2) {
        int fd = parent_openat2(x, path, plen);
        if (fd >= 0)
            return fd;
    }
    return walk(x, path, plen, create, err);
}

/* ------------------------------------------------------------------ */
/* Metadata                                                            */

static mode_t
perm_of(const struct extract *x, uint32_t mode, int is_dir)
{
    uint32_t keep = is_dir ? 01777u : 0777u;

    if ((x->flags & EXTRACT_SETID) && x->owner)
        keep |= S_ISUID | S_ISGID;
    return (mode_t)(mode & keep);
}

/* Owner first: chown(2) clears setuid bits; times last. */
static int
apply_meta(const struct extract *x, int fd, const struct extract_meta *m,
           int is_dir, const char *shown, struct cm_err *err)
{
    struct timespec ts[2];

    if (x->owner && fchown(fd, m->uid, m->gid) == -1)
        return cm_fail_errno(err, errno, "%s: cannot set owner", shown);
    if (fchmod(fd, perm_of(x, m->mode, is_dir)) == -1)
        return cm_fail_errno(err, errno, "%s: cannot set mode", shown);
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = (time_t)m->mtime;
    ts[1].tv_nsec = (long)m->mtime_ns;
    if (futimens(fd, ts) == -1)
        return cm_fail_errno(err, errno, "%s: cannot set mtime", shown);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The root                                                            */

/* 1 if the directory open at ${fd} is empty, 0 if not, -1. */
static int
dir_is_empty(int fd, const char *shown, struct cm_err *err)
{
    struct dirent *d;
    DIR *dp;
    int own = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), empty = 1;

    if (own == -1)
        return cm_fail_errno(err, errno, "%s: cannot read directory", shown);
    dp = fdopendir(own);
    if (dp == NULL) {
        close(own);
        return cm_fail_errno(err, errno, "%s: cannot read directory", shown);
    }
    errno = 0;
    while (empty && (d = readdir(dp)) != NULL)
        if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
            empty = 0;
    if (empty && errno != 0) {
        cm_fail_errno(err, errno, "%s: cannot read directory", shown);
        empty = -1;
    }
    closedir(dp);
    return empty;
}

int
extract_target_is_empty(const char *target, struct cm_err *err)
{
    int fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

    if (fd == -1 && errno == ENOENT)
        return 1;
    if (fd == -1)
        return cm_fail_errno(err, errno, "%s: cannot open", target);
    rc = dir_is_empty(fd, target, err);
    close(fd);
    return rc;
}

int
extract_open(const char *target, int flags, struct extract **out,
             struct cm_err *err)
{
    struct extract *x = cm_calloc(1, sizeof *x, err);
    int rc = -1, empty;

    if (x == NULL)
        return -1;
    x->root = -1;
    x->flags = flags;
    x->try_openat2 = (flags & EXTRACT_NO_OPENAT2) == 0;
    x->owner = (flags & EXTRACT_OWNER) && geteuid() == 0;
    if ((x->target = cm_strdup(target, err)) == NULL)
        goto out;
    if (mkdir(target, 0700) == -1 && errno != EEXIST) {
        cm_fail_errno(err, errno, "%s: cannot create", target);
        goto out;
    }
    x->root = io_open(target, O_RDONLY | O_DIRECTORY, 0, err);
    if (x->root == -1)
        goto out;
    if (!(flags & EXTRACT_MERGE)) {
        if ((empty = dir_is_empty(x->root, target, err)) == -1)
            goto out;
        if (!empty) {
            cm_fail(err, CM_EUSAGE,
                    "%s: not empty; refusing to restore into it "
                    "without merging",
                    target);
            goto out;
        }
    }
    *out = x;
    x = NULL;
    rc = 0;
out:
    extract_free(x);
    return rc;
}

void
extract_free(struct extract *x)
{
    if (x == NULL)
        return;
    if (x->root >= 0)
        close(x->root);
    clear_pending(x);
    free(x->target);
    free(x);
}

void
extract_get_stats(const struct extract *x, struct extract_stats *out)
{
    *out = x->stats;
}

const char *
extract_result_name(int r)
{
    switch (r) {
    case EXTRACT_CREATED:
        return "created";
    case EXTRACT_PRESENT:
        return "already present";
    case EXTRACT_CONFLICT:
        return "conflict, left untouched";
    default:
        return "error";
    }
}

int
extract_refuse(struct extract *x, const char *path, enum extract_special kind,
               struct cm_err *err)
{
    static const char *const names[] = {"hard link", "character device",
                                        "block device", "FIFO", "socket"};
    char q[SHOWN_MAX];

    x->stats.refused++;
    return cm_fail(err, CM_EFORMAT,
                   "%s: %s: not restored (device nodes, FIFOs, sockets and "
                   "hard links are never created)",
                   quote(q, path),
                   (size_t)kind < CM_ARRAY_LEN(names) ? names[kind] : "?");
}

/* ------------------------------------------------------------------ */
/* Directories                                                         */

int
extract_dir(struct extract *x, const char *path, const struct extract_meta *m,
            struct cm_err *err)
{
    int merge = (x->flags & EXTRACT_MERGE) != 0, dir, made = 0, rc = -1;
    const char *leaf = leaf_of(path);
    char q[SHOWN_MAX];
    struct stat st;

    if (check_path(path, err) == -1 || check_meta(path, m, err) == -1)
        return -1;
    if ((dir = get_parent(x, path, 1, err)) == NOT_A_DIR)
        return result(x, EXTRACT_CONFLICT);
    if (dir == -1)
        return -1;
    if (mkdirat(dir, leaf, 0700) == 0) {
        made = 1;
    } else if (errno != EEXIST ||
               fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == -1) {
        cm_fail_errno(err, errno, "%s/%s: cannot create directory", x->target,
                      quote(q, path));
        goto out;
    } else if (!S_ISDIR(st.st_mode)) {
        rc = result(x, EXTRACT_CONFLICT);
        goto out;
    }
    /* Without merging, the target was empty: whatever is there is ours. */
    if (add_pending(x, path, strlen(path), m, made || !merge, err) == -1)
        goto out;
    rc = result(x, made || !merge ? EXTRACT_CREATED : EXTRACT_PRESENT);
out:
    put_dir(x, dir);
    return rc;
}

static int
apply_dir(struct extract *x, const struct pending *p, struct cm_err *err)
{
    char q[SHOWN_MAX], shown[SHOWN_MAX + PATH_MAX];
    int dir, fd = -1, rc = -1;

    snprintf(shown, sizeof shown, "%s/%s", x->target, quote(q, p->path));
    dir = get_parent(x, p->path, 0, err);
    if (dir == NOT_A_DIR)
        return cm_fail(err, CM_EFORMAT, "%s: a parent was replaced meanwhile",
                       shown);
    if (dir == -1)
        return -1;
    fd = openat(dir, leaf_of(p->path),
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        if (errno == ELOOP || errno == ENOTDIR)
            cm_fail(err, CM_EFORMAT, "%s: replaced meanwhile; not followed",
                    shown);
        else
            cm_fail_errno(err, errno, "%s: cannot open directory", shown);
        goto out;
    }
    rc = apply_meta(x, fd, &p->meta, 1, shown, err);
out:
    if (fd >= 0)
        close(fd);
    put_dir(x, dir);
    return rc;
}

static int
cmp_pending_desc(const void *a, const void *b)
{
    return strcmp(((const struct pending *)b)->path,
                  ((const struct pending *)a)->path);
}

/*
 * In reverse byte order a directory comes after everything below it (its
 * path is a prefix of theirs), and entries for one path are adjacent.
 */
int
extract_finish(struct extract *x, struct cm_err *err)
{
    size_t i = 0, j;
    int rc = 0;

    if (x->npend > 0)
        qsort(x->pend, x->npend, sizeof *x->pend, cmp_pending_desc);
    while (i < x->npend) {
        struct pending p = x->pend[i];
        for (j = i + 1; j < x->npend && !strcmp(x->pend[j].path, p.path); j++) {
            p.created |= x->pend[j].created;
            if (x->pend[j].has_meta) {
                p.meta = x->pend[j].meta;
                p.has_meta = 1;
            }
        }
        if (p.created && p.has_meta && apply_dir(x, &p, err) == -1)
            rc = -1;
        i = j;
    }
    clear_pending(x);
    if (!(x->flags & EXTRACT_NO_FSYNC) && syncfs(x->root) == -1)
        rc = cm_fail_errno(err, errno, "%s: sync failed", x->target);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Symlinks                                                            */

static int
same_link(int dir, const char *leaf, const char *link, size_t len)
{
    char buf[EXTRACT_PATH_MAX + 1];
    ssize_t n = readlinkat(dir, leaf, buf, sizeof buf);

    return n >= 0 && (size_t)n == len && memcmp(buf, link, len) == 0;
}

static int
apply_link_meta(const struct extract *x, int dir, const char *leaf,
                const struct extract_meta *m, const char *shown,
                struct cm_err *err)
{
    struct timespec ts[2];

    if (x->owner &&
        fchownat(dir, leaf, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) == -1)
        return cm_fail_errno(err, errno, "%s: cannot set owner", shown);
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = (time_t)m->mtime;
    ts[1].tv_nsec = (long)m->mtime_ns;
    if (utimensat(dir, leaf, ts, AT_SYMLINK_NOFOLLOW) == -1)
        return cm_fail_errno(err, errno, "%s: cannot set mtime", shown);
    return 0;
}

int
extract_symlink(struct extract *x, const char *path, const char *link,
                size_t link_len, const struct extract_meta *m,
                struct cm_err *err)
{
    char q[SHOWN_MAX], shown[SHOWN_MAX + PATH_MAX], *copy = NULL;
    const char *leaf = leaf_of(path);
    int dir, rc = -1;

    if (check_path(path, err) == -1 || check_meta(path, m, err) == -1)
        return -1;
    snprintf(shown, sizeof shown, "%s/%s", x->target, quote(q, path));
    if (link_len == 0 || link_len > EXTRACT_PATH_MAX ||
        memchr(link, '\0', link_len) != NULL)
        return cm_fail(err, CM_EFORMAT, "%s: bad symlink target",
                       quote(q, path));
    if ((copy = cm_malloc(link_len + 1, err)) == NULL)
        return -1;
    memcpy(copy, link, link_len);
    copy[link_len] = '\0';
    if ((dir = get_parent(x, path, 1, err)) == NOT_A_DIR) {
        rc = result(x, EXTRACT_CONFLICT);
    } else if (dir == -1) {
        rc = -1;
    } else if (symlinkat(copy, dir, leaf) == 0) {
        rc = apply_link_meta(x, dir, leaf, m, shown, err);
        if (rc == -1)
            unlinkat(dir, leaf, 0);
        else
            rc = result(x, EXTRACT_CREATED);
    } else if (errno == EEXIST) {
        rc = result(x, same_link(dir, leaf, link, link_len) ? EXTRACT_PRESENT
                                                            : EXTRACT_CONFLICT);
    } else {
        cm_fail_errno(err, errno, "%s: cannot create symlink", shown);
    }
    if (dir >= 0)
        put_dir(x, dir);
    free(copy);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

static void
file_free(struct extract_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmp[0] != '\0' && f->dir >= 0)
        unlinkat(f->dir, f->tmp, 0);
    put_dir(f->x, f->dir);
    free(f->path);
    free(f->shown);
    free(f);
}

void
extract_file_abort(struct extract_file *f)
{
    if (f != NULL)
        file_free(f);
}

static int
create_temp(struct extract_file *f, struct cm_err *err)
{
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    uint8_t r[8];

    for (int i = 0; i < 16; i++) {
        if (rnd_bytes(r, sizeof r, err) == -1)
            return -1;
        memcpy(f->tmp, TMP_PREFIX, sizeof TMP_PREFIX - 1);
        hex_encode(f->tmp + sizeof TMP_PREFIX - 1, r, sizeof r);
        if ((errno = io_fault_hook("open")) == 0)
            f->fd = openat(f->dir, f->tmp, flags, 0600);
        if (f->fd >= 0) {
            f->mode = F_CREATE;
            return 0;
        }
        if (errno != EEXIST)
            break;
    }
    f->tmp[0] = '\0';
    return cm_fail_errno(err, errno, "%s: cannot create", f->shown);
}

/* Something is at the final name: compare with it if it can be equal. */
static void
open_existing(struct extract_file *f, const struct stat *st)
{
    struct stat now;

    f->mode = F_DIFFERS;
    if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size != f->size)
        return;
    f->fd =
        openat(f->dir, f->leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (f->fd == -1)
        return;
    if (fstat(f->fd, &now) == -1 || !S_ISREG(now.st_mode) ||
        (uint64_t)now.st_size != f->size) {
        close(f->fd);
        f->fd = -1;
        return;
    }
    f->mode = F_COMPARE;
}

static int
set_shown(struct extract_file *f, struct cm_err *err)
{
    char q[SHOWN_MAX];
    size_t n;

    quote(q, f->path);
    n = strlen(f->x->target) + strlen(q) + 2;
    if ((f->shown = cm_malloc(n, err)) == NULL)
        return -1;
    snprintf(f->shown, n, "%s/%s", f->x->target, q);
    return 0;
}

int
extract_file_open(struct extract *x, const char *path, uint64_t size,
                  const struct extract_meta *m, struct extract_file **out,
                  struct cm_err *err)
{
    struct extract_file *f;
    struct stat st;
    int rc = -1;

    if (check_path(path, err) == -1 || check_meta(path, m, err) == -1)
        return -1;
    if ((f = cm_calloc(1, sizeof *f, err)) == NULL)
        return -1;
    f->x = x;
    f->dir = f->fd = -1;
    f->size = size;
    f->meta = *m;
    if ((f->path = cm_strdup(path, err)) == NULL || set_shown(f, err) == -1)
        goto out;
    f->leaf = leaf_of(f->path);
    f->dir = get_parent(x, path, 1, err);
    if (f->dir == NOT_A_DIR) {
        f->dir = -1;
        f->mode = F_DIFFERS;
    } else if (f->dir == -1) {
        goto out;
    } else if (fstatat(f->dir, f->leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        open_existing(f, &st);
    } else if (errno != ENOENT) {
        cm_fail_errno(err, errno, "%s: cannot stat", f->shown);
        goto out;
    } else if (create_temp(f, err) == -1) {
        goto out;
    }
    *out = f;
    f = NULL;
    rc = 0;
out:
    extract_file_abort(f);
    return rc;
}

static int
compare_chunk(struct extract_file *f, const uint8_t *p, size_t len,
              struct cm_err *err)
{
    uint8_t buf[COMPARE_CHUNK];
    uint64_t off = f->done;

    while (len > 0 && f->mode == F_COMPARE) {
        size_t n = len < sizeof buf ? len : sizeof buf;
        ssize_t got = io_pread_full(f->fd, buf, n, off, f->shown, err);
        if (got == -1)
            return -1;
        if ((size_t)got != n || memcmp(buf, p, n) != 0) {
            close(f->fd);
            f->fd = -1;
            f->mode = F_DIFFERS;
        }
        p += n;
        len -= n;
        off += n;
    }
    return 0;
}

int
extract_file_write(struct extract_file *f, const void *p, size_t len,
                   struct cm_err *err)
{
    int rc = 0;

    if (f->broken)
        return cm_fail(err, CM_EINTERNAL, "%s: write after a failure",
                       f->shown);
    if (len > f->size - f->done) {
        f->broken = 1;
        return cm_fail(err, CM_EFORMAT,
                       "%s: more content than the declared %llu bytes",
                       f->shown, (unsigned long long)f->size);
    }
    if (f->mode == F_CREATE)
        rc = io_write_all(f->fd, p, len, f->shown, err);
    else if (f->mode == F_COMPARE)
        rc = compare_chunk(f, p, len, err);
    if (rc == -1)
        f->broken = 1;
    else
        f->done += len;
    return rc;
}

/*
 * rename(2) that never replaces: renameat2(RENAME_NOREPLACE), else a hard
 * link and unlink, else (filesystems with neither) a check and a rename.
 * -1 with errno, EEXIST if something is at ${to}.
 */
static int
rename_noreplace(int dir, const char *from, const char *to)
{
    struct stat st;

    if (renameat2(dir, from, dir, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -1;
    if (linkat(dir, from, dir, to, 0) == 0)
        return unlinkat(dir, from, 0);
    if (errno == EEXIST)
        return -1;
    if (fstatat(dir, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        errno = EEXIST;
        return -1;
    }
    return renameat(dir, from, dir, to);
}

static int
commit_created(struct extract_file *f, struct cm_err *err)
{
    int fd = f->fd;

    if (apply_meta(f->x, fd, &f->meta, 0, f->shown, err) == -1)
        return -1;
    if (!(f->x->flags & EXTRACT_NO_FSYNC) && io_fsync(fd, f->shown, err) == -1)
        return -1;
    f->fd = -1;
    if (io_close(fd, f->shown, err) == -1)
        return -1;
    if ((errno = io_fault_hook("rename")) != 0 ||
        rename_noreplace(f->dir, f->tmp, f->leaf) == -1) {
        if (errno == EEXIST)
            return EXTRACT_CONFLICT;
        return cm_fail_errno(err, errno, "%s: cannot rename into place",
                             f->shown);
    }
    f->tmp[0] = '\0';
    return EXTRACT_CREATED;
}

int
extract_file_commit(struct extract_file *f, struct cm_err *err)
{
    struct stat st;
    int rc = -1;

    if (f->broken) {
        cm_fail(err, CM_EINTERNAL, "%s: commit after a failure", f->shown);
    } else if (f->done != f->size) {
        cm_fail(err, CM_EFORMAT, "%s: %llu bytes of content, %llu declared",
                f->shown, (unsigned long long)f->done,
                (unsigned long long)f->size);
    } else if (f->mode == F_CREATE) {
        rc = commit_created(f, err);
    } else if (f->mode == F_COMPARE && fstat(f->fd, &st) == 0 &&
               (uint64_t)st.st_size == f->size) {
        rc = EXTRACT_PRESENT;
    } else {
        rc = EXTRACT_CONFLICT;
    }
    if (rc >= 0)
        result(f->x, rc);
    file_free(f);
    return rc;
}
