/*
 * walk: find everything below a store path, in a stable order (names sorted
 * bytewise within each directory, a directory before its contents), and say
 * what each thing is: a directory, a message file of a Maildir or MH folder,
 * an mbox file, another regular file, or a symlink (never followed).
 *
 * The store is only read: directories are opened O_RDONLY|O_DIRECTORY|
 * O_NOFOLLOW relative to their parent (openat), so a directory swapped for
 * a symlink during the walk is not followed.  The contents of a Maildir's
 * tmp/ are skipped (the directory itself is reported).  Device nodes,
 * sockets and FIFOs are skipped with a warning.  Paths matching an exclude
 * pattern are skipped with everything below them.
 */
#ifndef WALK_H
#define WALK_H

#include <stddef.h>
#include <sys/stat.h>

#include "cm.h"

/* Deepest directory nesting followed, and longest relative path. */
#define WALK_DEPTH_MAX 256
#define WALK_PATH_MAX 4096

enum walk_kind {
    WALK_DIR,
    WALK_FILE,    /* a regular file that is not a message or mbox */
    WALK_MESSAGE, /* a message file of a Maildir (cur/, new/) or MH folder */
    WALK_MBOX,    /* a regular file that starts like an mbox */
    WALK_SYMLINK,
};

enum walk_store {
    WALK_STORE_NONE,
    WALK_STORE_MAILDIR,
    WALK_STORE_MH,
    WALK_STORE_MBOX,
};

struct walk_entry {
    const char *relpath;   /* relative to the store root, "" for the root */
    const char *name;      /* last component */
    enum walk_kind kind;
    struct stat st;        /* lstat of the entry */
    const char *link;      /* WALK_SYMLINK: the target, as read */
    enum walk_store store; /* what the message or mbox belongs to */
    const char *mailbox;   /* Maildir root or MH root, relative; or NULL */
    const char *folder;    /* IMAP-style folder name, or NULL */
    const char *subdir;    /* Maildir message: "cur" or "new" */
    int dirfd;             /* open directory holding the entry */
};

struct walk_opts {
    const char *const *excludes; /* fnmatch patterns, NULL-terminated */
};

/*
 * Called for each entry; the entry and its strings are valid only during
 * the call.  Returning -1 (with ${err} set) stops the walk.
 */
typedef int (*walk_visit_fn)(void *ctx, const struct walk_entry *e,
                             struct cm_err *err);

/* Called for things skipped with a warning ("dev/null0: device node"). */
typedef void (*walk_warn_fn)(void *ctx, const char *relpath,
                             const char *why);

/*
 * Walk the store at ${root} (a directory).  Errors: CM_EIO if ${root} cannot
 * be opened or a directory below cannot be read, naming it; CM_EUSAGE if
 * ${root} is not a directory.  An exclude pattern without '/' matches any
 * path component (as tar does); one with '/' matches the relative path.
 */
int walk_store(const char *root, const struct walk_opts *opts,
               walk_visit_fn visit, walk_warn_fn warn, void *ctx,
               struct cm_err *err);

/* Does ${relpath} match an exclude pattern of ${opts}? */
int walk_excluded(const struct walk_opts *opts, const char *relpath);

#endif
