#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "maildir.h"
#include "mbox.h"
#include "mh.h"

/* Bytes read from a file to tell an mbox: a From_ line and a bit more. */
#define WALK_SNIFF (MBOX_FROM_LINE_MAX + 1024)
/* All names of one directory, NUL-separated, indexed by 32-bit offsets. */
#define WALK_NAMES_MAX ((size_t)UINT32_MAX)

enum place_kind {
    PL_NONE,        /* an ordinary directory */
    PL_MAILDIR,     /* a Maildir folder: a root or a sub-folder */
    PL_MAILDIR_SUB, /* cur/ or new/ of a Maildir folder */
    PL_MAILDIR_TMP, /* tmp/ of a Maildir folder: contents skipped */
    PL_MH,          /* an MH folder */
};

/* What a directory is, and the mailbox and folder it belongs to. */
struct place {
    enum place_kind kind;
    char *mailbox, *folder;
    const char *subdir;
    long maildir_root; /* relpath length of the enclosing Maildir root */
};

/* The names of one directory, sorted. */
struct listing {
    char *names; /* NUL-separated */
    size_t names_len, names_cap;
    uint32_t *offs; /* into names */
    size_t count, cap;
};

/*
 * A directory being walked.  A Maildir folder also keeps the listing of
 * its cur/, taken right after that of its new/ (see walk.h).
 */
struct level {
    int fd;
    size_t path_len;
    struct place place;
    struct listing ls;
    size_t next;
    struct listing cur;
    int have_cur;
};

struct walker {
    const char *root;
    const struct walk_opts *opts;
    walk_visit_fn visit;
    walk_warn_fn warn;
    void *ctx;
    size_t depth;
    char path[WALK_PATH_MAX];
    char link[PATH_MAX + 1];
    struct level levels[WALK_DEPTH_MAX + 1];
};

/* Bytes of a path shown in a message: its end, where the fault is. */
#define SHOWN_MAX 300

/*
 * The store path and ${relpath}, for an error message: its last SHOWN_MAX
 * bytes, "..." before if cut (the end is where the fault is).
 */
static const char *
shown(const struct walker *w, const char *relpath, char out[SHOWN_MAX + 4])
{
    const char *root = w->root, *sep = *relpath != '\0' ? "/" : "";
    size_t rl = strlen(relpath), n = strlen(root), room;

    if (rl >= SHOWN_MAX) {
        snprintf(out, SHOWN_MAX + 4, "...%s", relpath + rl - SHOWN_MAX);
        return out;
    }
    room = SHOWN_MAX - rl - 1;
    if (n > room)
        snprintf(out, SHOWN_MAX + 4, "...%s%s%s", root + n - room, sep,
                 relpath);
    else
        snprintf(out, SHOWN_MAX + 4, "%s%s%s", root, sep, relpath);
    return out;
}

static int
match_pattern(const char *pat, const char *relpath, const char *name)
{
    char trimmed[WALK_PATH_MAX];
    size_t n;

    if (pat[0] == '.' && pat[1] == '/')
        pat += 2;
    n = strlen(pat);
    while (n > 1 && pat[n - 1] == '/')
        n--;
    if (n >= sizeof trimmed)
        return 0;
    memcpy(trimmed, pat, n);
    trimmed[n] = '\0';
    if (memchr(trimmed, '/', n) != NULL)
        return fnmatch(trimmed, relpath, 0) == 0;
    return fnmatch(trimmed, name, 0) == 0;
}

/* Is the entry ${relpath} (last component ${name}) excluded? */
static int
excluded(const struct walk_opts *opts, const char *relpath, const char *name)
{
    if (opts == NULL || opts->excludes == NULL)
        return 0;
    for (const char *const *p = opts->excludes; *p != NULL; p++)
        if (match_pattern(*p, relpath, name))
            return 1;
    return 0;
}

int
walk_excluded(const struct walk_opts *opts, const char *relpath)
{
    char prefix[WALK_PATH_MAX];
    size_t n = strlen(relpath);
    const char *slash;

    if (n >= sizeof prefix)
        return 0;
    memcpy(prefix, relpath, n + 1);
    /* The path or any directory above it: everything below is skipped. */
    for (size_t end = n; end > 0; end = (size_t)(slash - prefix)) {
        prefix[end] = '\0';
        slash = memrchr(prefix, '/', end);
        if (excluded(opts, prefix, slash != NULL ? slash + 1 : prefix))
            return 1;
        if (slash == NULL)
            break;
    }
    return 0;
}

struct sort_ctx {
    const char *names;
    int maildir;
};

/*
 * In a Maildir folder new/ goes right before cur/: mail that a reader moves
 * from new/ to cur/ during the walk is then found in cur/, not lost.
 */
static const char *
sort_key(const struct sort_ctx *c, uint32_t off, int *tie)
{
    const char *name = c->names + off;

    *tie = 0;
    if (c->maildir && strcmp(name, "new") == 0) {
        *tie = -1;
        return "cur";
    }
    return name;
}

static int
name_cmp(const void *a, const void *b, void *ctx)
{
    int ta, tb, r;

    r = strcmp(sort_key(ctx, *(const uint32_t *)a, &ta),
               sort_key(ctx, *(const uint32_t *)b, &tb));
    return r != 0 ? r : ta - tb;
}

static int
add_name(struct listing *l, const char *name, struct cm_err *err)
{
    size_t n = strlen(name) + 1;
    void *p;

    if (l->names_len + n > WALK_NAMES_MAX)
        return cm_fail(err, CM_EFORMAT, "too many names in one directory");
    if (l->names_len + n > l->names_cap) {
        size_t cap = l->names_cap ? l->names_cap * 2 : 4096;
        while (cap < l->names_len + n)
            cap *= 2;
        if ((p = realloc(l->names, cap)) == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        l->names = p;
        l->names_cap = cap;
    }
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        if ((p = realloc(l->offs, cap * sizeof *l->offs)) == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        l->offs = p;
        l->cap = cap;
    }
    memcpy(l->names + l->names_len, name, n);
    l->offs[l->count++] = (uint32_t)l->names_len;
    l->names_len += n;
    return 0;
}

/*
 * Read the names of the directory open at ${fd} into ${l}, sorted bytewise
 * (with the order of a Maildir folder if ${maildir}).
 */
static int
list_dir(int fd, struct listing *l, int maildir, const char *what,
         struct cm_err *err)
{
    struct dirent *d;
    DIR *dir;
    int rc = 0;

    fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
        rc = cm_fail_errno(err, errno, "%s: cannot list directory", what);
        if (fd != -1)
            close(fd);
        return rc;
    }
    errno = 0;
    while (rc == 0 && (d = readdir(dir)) != NULL)
        if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
            rc = add_name(l, d->d_name, err);
    if (rc == 0 && errno != 0)
        rc = cm_fail_errno(err, errno, "%s: cannot list directory", what);
    closedir(dir);
    if (rc == 0 && l->count > 1) {
        struct sort_ctx c = {l->names, maildir};
        qsort_r(l->offs, l->count, sizeof *l->offs, name_cmp, &c);
    }
    return rc;
}

/* Is ${name} in the (plainly sorted) listing ${l}? */
static int
listing_has(const struct listing *l, const char *name)
{
    size_t lo = 0, hi = l->count, mid;
    int c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = strcmp(name, l->names + l->offs[mid]);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

static void
listing_free(struct listing *l)
{
    free(l->names);
    free(l->offs);
    memset(l, 0, sizeof *l);
}

static void
place_free(struct place *p)
{
    free(p->mailbox);
    free(p->folder);
    memset(p, 0, sizeof *p);
}

static void
level_free(struct level *l)
{
    if (l->fd != -1)
        close(l->fd);
    listing_free(&l->ls);
    listing_free(&l->cur);
    place_free(&l->place);
    memset(l, 0, sizeof *l);
    l->fd = -1;
}

/* Make w->path the relpath of ${name} in the directory at ${dir_len}. */
static int
set_path(struct walker *w, size_t dir_len, const char *name, struct cm_err *err)
{
    size_t n = strlen(name), at = dir_len + (dir_len > 0);

    if (at + n >= sizeof w->path) {
        char sb[SHOWN_MAX + 4];
        w->path[dir_len] = '\0';
        return cm_fail(err, CM_EFORMAT, "%s/%.40s: path longer than %d bytes",
                       shown(w, w->path, sb), name, WALK_PATH_MAX - 1);
    }
    if (dir_len > 0)
        w->path[dir_len] = '/';
    memcpy(w->path + at, name, n + 1);
    return 0;
}

/* Copy ${n} bytes of ${s} as a string into *${out}. */
static int
dup_n(const char *s, size_t n, char **out, struct cm_err *err)
{
    if ((*out = cm_malloc(n + 1, err)) == NULL)
        return -1;
    memcpy(*out, s, n);
    (*out)[n] = '\0';
    return 0;
}

/* cur/, new/ or tmp/ of the Maildir folder ${pp}. */
static int
maildir_sub(const struct place *pp, const char *name, struct place *p,
            struct cm_err *err)
{
    p->kind = strcmp(name, "tmp") == 0 ? PL_MAILDIR_TMP : PL_MAILDIR_SUB;
    p->subdir = p->kind == PL_MAILDIR_TMP  ? "tmp"
                : strcmp(name, "cur") == 0 ? "cur"
                                           : "new";
    p->maildir_root = pp->maildir_root;
    if (dup_n(pp->mailbox, strlen(pp->mailbox), &p->mailbox, err) == -1)
        return -1;
    return dup_n(pp->folder, strlen(pp->folder), &p->folder, err);
}

/*
 * A Maildir at w->path.  Below a Maildir root it is a sub-folder: ".Name"
 * right in the root is Maildir++, any other is named by its path from the
 * root (Dovecot's LAYOUT=fs).  Otherwise it is a new root, "INBOX".
 */
static int
maildir_place(struct walker *w, const struct level *parent, const char *name,
              struct place *p, struct cm_err *err)
{
    long root = parent != NULL ? parent->place.maildir_root : -1;
    size_t len = strlen(w->path), skip;

    p->kind = PL_MAILDIR;
    if (root < 0) {
        p->maildir_root = (long)len;
        if (dup_n(w->path, len, &p->mailbox, err) == -1)
            return -1;
        return (p->folder = maildir_folder_name(NULL, err)) == NULL ? -1 : 0;
    }
    p->maildir_root = root;
    if (dup_n(w->path, (size_t)root, &p->mailbox, err) == -1)
        return -1;
    if (parent->path_len == (size_t)root && name[0] == '.')
        return (p->folder = maildir_folder_name(name, err)) == NULL ? -1 : 0;
    skip = (size_t)root + (root > 0);
    return dup_n(w->path + skip, len - skip, &p->folder, err);
}

/* An MH folder at w->path: nested in another it is a sub-folder. */
static int
mh_place(struct walker *w, const struct level *parent, struct place *p,
         struct cm_err *err)
{
    size_t len = strlen(w->path), skip;

    p->kind = PL_MH;
    p->maildir_root = parent != NULL ? parent->place.maildir_root : -1;
    if (parent == NULL || parent->place.kind != PL_MH) {
        if (dup_n(w->path, len, &p->mailbox, err) == -1)
            return -1;
        return dup_n("INBOX", 5, &p->folder, err);
    }
    skip = strlen(parent->place.mailbox);
    skip += skip > 0;
    if (dup_n(parent->place.mailbox, strlen(parent->place.mailbox), &p->mailbox,
              err) == -1)
        return -1;
    return dup_n(w->path + skip, len - skip, &p->folder, err);
}

/* What the directory w->path, open at ${fd}, is. */
static int
decide_place(struct walker *w, const struct level *parent, const char *name,
             int fd, struct place *p, struct cm_err *err)
{
    enum place_kind pk = parent != NULL ? parent->place.kind : PL_NONE;
    char sb[SHOWN_MAX + 4];

    memset(p, 0, sizeof *p);
    p->maildir_root = -1;
    if (pk == PL_MAILDIR &&
        (strcmp(name, "cur") == 0 || strcmp(name, "new") == 0 ||
         strcmp(name, "tmp") == 0))
        return maildir_sub(&parent->place, name, p, err);
    if (pk == PL_MAILDIR_SUB || pk == PL_MAILDIR_TMP)
        return 0;
    if (maildir_is_maildir(fd, "."))
        return maildir_place(w, parent, name, p, err);
    switch (mh_is_folder(fd, ".", err)) {
    case -1:
        return cm_err_prefix(err, "%s", shown(w, w->path, sb));
    case 1:
        return mh_place(w, parent, p, err);
    }
    p->maildir_root = parent != NULL ? parent->place.maildir_root : -1;
    return 0;
}

static void
entry_init(struct walk_entry *e, const struct walker *w, const struct place *p,
           int dirfd, const char *name, const struct stat *st,
           enum walk_kind kind)
{
    memset(e, 0, sizeof *e);
    e->relpath = w->path;
    e->name = name;
    e->kind = kind;
    e->st = *st;
    e->dirfd = dirfd;
    e->mailbox = p->mailbox;
    e->folder = p->folder;
    e->subdir = p->subdir;
    if (p->kind == PL_MH)
        e->store = WALK_STORE_MH;
    else if (p->kind != PL_NONE)
        e->store = WALK_STORE_MAILDIR;
}

static void
warn(struct walker *w, const char *why)
{
    if (w->warn != NULL)
        w->warn(w->ctx, w->path, why);
}

/* Open ${name} in ${dirfd} to read, without following, atime untouched. */
static int
open_file(int dirfd, const char *name, struct cm_err *err)
{
    int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
    int fd = io_openat(dirfd, name, flags | O_NOATIME, 0, err);

    if (fd == -1 && err->sys_errno == EPERM) {
        cm_err_clear(err);
        fd = io_openat(dirfd, name, flags, 0, err);
    }
    return fd;
}

/*
 * Does the regular file ${name} start like an mbox?  1 or 0; 2 if it is
 * gone or was replaced (skip it); -1 with CM_EIO if it cannot be read.
 */
static int
sniff_mbox(struct walker *w, int dirfd, const char *name, struct cm_err *err)
{
    struct cm_err e = CM_ERR_INIT;
    char sb[SHOWN_MAX + 4];
    uint8_t b[WALK_SNIFF];
    struct stat st;
    ssize_t n;
    int fd = open_file(dirfd, name, &e);

    if (fd == -1 && e.sys_errno == ENOENT)
        return 2;
    if (fd == -1 && e.sys_errno != ELOOP)
        return cm_fail_errno(err, e.sys_errno, "%s: cannot open",
                             shown(w, w->path, sb));
    if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        warn(w, "replaced during the walk");
        if (fd != -1)
            close(fd);
        return 2;
    }
    n = io_read_full(fd, b, sizeof b, name, &e);
    close(fd);
    if (n < 0)
        return cm_fail_errno(err, e.sys_errno, "%s: cannot read",
                             shown(w, w->path, sb));
    return n > 0 && mbox_sniff(b, (size_t)n);
}

static int
visit_file(struct walker *w, struct level *l, const char *name,
           const struct stat *st, struct cm_err *err)
{
    const struct place *p = &l->place;
    struct walk_entry e;
    enum walk_kind kind = WALK_FILE;

    if ((p->kind == PL_MAILDIR_SUB && name[0] != '.') ||
        (p->kind == PL_MH && mh_is_message_name(name))) {
        kind = WALK_MESSAGE;
    } else {
        switch (sniff_mbox(w, l->fd, name, err)) {
        case -1:
            return -1;
        case 1:
            kind = WALK_MBOX;
            break;
        case 2:
            return 0;
        }
    }
    entry_init(&e, w, p, l->fd, name, st, kind);
    if (kind == WALK_MBOX) {
        e.store = WALK_STORE_MBOX;
        e.mailbox = NULL;
        e.folder = w->path;
        e.subdir = NULL;
    }
    return w->visit(w->ctx, &e, err);
}

static int
visit_link(struct walker *w, struct level *l, const char *name,
           const struct stat *st, struct cm_err *err)
{
    struct walk_entry e;
    char sb[SHOWN_MAX + 4];
    ssize_t n = readlinkat(l->fd, name, w->link, sizeof w->link);

    if (n == -1 && errno == ENOENT)
        return 0;
    if (n == -1)
        return cm_fail_errno(err, errno, "%s: cannot read link",
                             shown(w, w->path, sb));
    if ((size_t)n >= sizeof w->link)
        return cm_fail(err, CM_EFORMAT, "%s: link target too long",
                       shown(w, w->path, sb));
    w->link[n] = '\0';
    entry_init(&e, w, &l->place, l->fd, name, st, WALK_SYMLINK);
    e.link = w->link;
    return w->visit(w->ctx, &e, err);
}

/* Open the directory ${name} below ${l}; 1 if it is gone or was swapped. */
static int
open_dir(struct walker *w, struct level *l, const char *name, int *fd,
         struct cm_err *err)
{
    struct cm_err e = CM_ERR_INIT;
    char sb[SHOWN_MAX + 4];

    *fd = io_openat(l->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, &e);
    if (*fd != -1)
        return 0;
    if (e.sys_errno == ENOENT)
        return 1;
    if (e.sys_errno == ELOOP || e.sys_errno == ENOTDIR) {
        warn(w, "replaced during the walk");
        return 1;
    }
    return cm_fail_errno(err, e.sys_errno, "%s: cannot open directory",
                         shown(w, w->path, sb));
}

/* List the cur/ of the Maildir folder ${l}, to be walked after new/. */
static int
snapshot_cur(struct walker *w, struct level *l, struct cm_err *err)
{
    char rel[WALK_PATH_MAX + 4], sb[SHOWN_MAX + 4];
    struct cm_err e = CM_ERR_INIT;
    int fd, rc;

    snprintf(rel, sizeof rel, "%.*s%scur", (int)l->path_len, w->path,
             l->path_len > 0 ? "/" : "");
    fd = io_openat(l->fd, "cur", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, &e);
    if (fd == -1 && (e.sys_errno == ENOENT || e.sys_errno == ENOTDIR ||
                     e.sys_errno == ELOOP))
        return 0; /* gone or replaced: its turn will tell */
    if (fd == -1)
        return cm_fail_errno(err, e.sys_errno, "%s: cannot open directory",
                             shown(w, rel, sb));
    rc = list_dir(fd, &l->cur, 0, shown(w, rel, sb), err);
    close(fd);
    l->have_cur = rc == 0;
    return rc;
}

/*
 * List the directory ${c} just entered below ${l}.  Entering new/ of a
 * Maildir folder lists its cur/ too, right after; entering cur/ then takes
 * that listing (see walk.h).
 */
static int
fill_listing(struct walker *w, struct level *l, struct level *c,
             struct cm_err *err)
{
    int sub = c->place.kind == PL_MAILDIR_SUB && l->place.kind == PL_MAILDIR;
    char sb[SHOWN_MAX + 4];

    if (sub && strcmp(c->place.subdir, "cur") == 0 && l->have_cur) {
        c->ls = l->cur;
        memset(&l->cur, 0, sizeof l->cur);
        l->have_cur = 0;
        return 0;
    }
    if (list_dir(c->fd, &c->ls, c->place.kind == PL_MAILDIR,
                 shown(w, w->path, sb), err) == -1)
        return -1;
    if (sub && strcmp(c->place.subdir, "new") == 0)
        return snapshot_cur(w, l, err);
    return 0;
}

/* Visit the directory ${name} of ${l}, then make it the current level. */
static int
enter_dir(struct walker *w, struct level *l, const char *name,
          struct cm_err *err)
{
    struct level *c;
    struct walk_entry e;
    struct stat st;
    char sb[SHOWN_MAX + 4];
    int fd, r;

    if (w->depth >= WALK_DEPTH_MAX)
        return cm_fail(err, CM_EFORMAT, "%s: nested deeper than %d",
                       shown(w, w->path, sb), WALK_DEPTH_MAX);
    if ((r = open_dir(w, l, name, &fd, err)) != 0)
        return r == 1 ? 0 : -1;
    c = &w->levels[w->depth + 1];
    c->fd = fd;
    c->path_len = strlen(w->path);
    if (fstat(fd, &st) == -1) {
        r = cm_fail_errno(err, errno, "%s: cannot stat", shown(w, w->path, sb));
        goto fail;
    }
    if ((r = decide_place(w, l, name, fd, &c->place, err)) == -1)
        goto fail;
    entry_init(&e, w, &c->place, l->fd, name, &st, WALK_DIR);
    if ((r = w->visit(w->ctx, &e, err)) != 0)
        goto fail;
    if (c->place.kind == PL_MAILDIR_TMP) {
        level_free(c);
        return 0;
    }
    if ((r = fill_listing(w, l, c, err)) == -1)
        goto fail;
    w->depth++;
    return 0;
fail:
    level_free(c);
    return r;
}

/*
 * A Maildir message vanished between the listing and its lstat: a flag
 * change renamed it, a reader moved it to cur/, or it was expunged.  Visit
 * it as listed (st all zero), for the reader to find it moved or gone;
 * unless it went from new/ to a name that the cur/ listing holds, which is
 * visited in its turn.
 */
static int
visit_vanished(struct walker *w, struct level *l, const char *name,
               struct cm_err *err)
{
    const struct level *folder = &w->levels[w->depth - 1];
    struct walk_entry e;
    struct stat st;
    char *found = NULL;
    int r = 0;

    if (name[0] == '.')
        return 0;
    if (strcmp(l->place.subdir, "new") == 0 && folder->have_cur) {
        r = maildir_find_moved_at(folder->fd, name, &found, err);
        if (r == 1)
            r = strncmp(found, "cur/", 4) == 0 &&
                listing_has(&folder->cur, found + 4);
        free(found);
        if (r != 0)
            return r == 1 ? 0 : -1;
    }
    memset(&st, 0, sizeof st);
    entry_init(&e, w, &l->place, l->fd, name, &st, WALK_MESSAGE);
    return w->visit(w->ctx, &e, err);
}

static int
walk_one(struct walker *w, struct level *l, const char *name,
         struct cm_err *err)
{
    char sb[SHOWN_MAX + 4];
    struct stat st;

    if (set_path(w, l->path_len, name, err) == -1)
        return -1;
    if (excluded(w->opts, w->path, name))
        return 0;
    if (fstatat(l->fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
        if (errno != ENOENT)
            return cm_fail_errno(err, errno, "%s: cannot stat",
                                 shown(w, w->path, sb));
        if (l->place.kind == PL_MAILDIR_SUB && w->depth > 0)
            return visit_vanished(w, l, name, err);
        return 0;
    }
    switch (st.st_mode & S_IFMT) {
    case S_IFDIR:
        return enter_dir(w, l, name, err);
    case S_IFREG:
        return visit_file(w, l, name, &st, err);
    case S_IFLNK:
        return visit_link(w, l, name, &st, err);
    case S_IFCHR:
    case S_IFBLK:
        warn(w, "device node");
        return 0;
    case S_IFSOCK:
        warn(w, "socket");
        return 0;
    case S_IFIFO:
        warn(w, "FIFO");
        return 0;
    }
    warn(w, "unknown file type");
    return 0;
}

/* Open the root, visit it, list it. */
static int
start(struct walker *w, const char *root, struct cm_err *err)
{
    struct level *l = &w->levels[0];
    struct cm_err e = CM_ERR_INIT;
    struct walk_entry entry;
    struct stat st;

    l->fd = io_open(root, O_RDONLY | O_DIRECTORY, 0, &e);
    if (l->fd == -1 && e.sys_errno == ENOTDIR)
        return cm_fail(err, CM_EUSAGE, "%s: not a directory", root);
    if (l->fd == -1)
        return cm_fail_errno(err, e.sys_errno, "%s: cannot open", root);
    if (fstat(l->fd, &st) == -1)
        return cm_fail_errno(err, errno, "%s: cannot stat", root);
    w->path[0] = '\0';
    if (decide_place(w, NULL, ".", l->fd, &l->place, err) == -1)
        return -1;
    entry_init(&entry, w, &l->place, l->fd, ".", &st, WALK_DIR);
    if (w->visit(w->ctx, &entry, err) != 0)
        return -1;
    if (list_dir(l->fd, &l->ls, l->place.kind == PL_MAILDIR, root, err) == -1)
        return -1;
    return 0;
}

int
walk_store(const char *root, const struct walk_opts *opts, walk_visit_fn visit,
           walk_warn_fn warn_fn, void *ctx, struct cm_err *err)
{
    struct walker *w = cm_calloc(1, sizeof *w, err);
    struct level *l;
    int rc = -1;

    if (w == NULL)
        return -1;
    w->root = root;
    w->opts = opts;
    w->visit = visit;
    w->warn = warn_fn;
    w->ctx = ctx;
    for (size_t i = 0; i <= WALK_DEPTH_MAX; i++)
        w->levels[i].fd = -1;
    if (start(w, root, err) == -1)
        goto out;
    for (;;) {
        l = &w->levels[w->depth];
        if (l->next == l->ls.count) {
            level_free(l);
            if (w->depth == 0)
                break;
            w->depth--;
            continue;
        }
        if (walk_one(w, l, l->ls.names + l->ls.offs[l->next++], err) != 0)
            goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i <= WALK_DEPTH_MAX; i++)
        level_free(&w->levels[i]);
    free(w);
    return rc;
}
