/*
 * walk: find everything below a store path, in a stable order (names sorted
 * bytewise within each directory, a directory before its contents; in a
 * Maildir folder new/ comes right before cur/), and say what each thing
 * is: a directory, a message file of a Maildir or MH folder, an mbox file,
 * another regular file, or a symlink (never followed).
 *
 * The store is only read: directories are opened O_RDONLY|O_DIRECTORY|
 * O_NOFOLLOW relative to their parent (openat), so a directory swapped for
 * a symlink during the walk is not followed.  The contents of a Maildir's
 * tmp/ are skipped (the directory itself is reported).  Device nodes,
 * sockets and FIFOs are skipped with a warning.  Paths matching an exclude
 * pattern are skipped with everything below them.
 *
 * Mail moves while the walk runs.  A Maildir folder's cur/ is listed right
 * after its new/, before new/ is walked: a message that a reader moves from
 * new/ to cur/ meanwhile is in one listing or both, never in none.  A
 * Maildir message that vanished between the listing and its lstat is
 * visited as listed, with st all zero, for the reader to find it under its
 * new name (maildir_find_moved) or count it expunged; except that one gone
 * from new/ to a name in the cur/ listing is left to be visited there.  So
 * each message moved by rename(2) is visited once, under some name it had.
 * Anything else that vanishes is skipped.
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

/*
 * store, mailbox and folder say where an entry lives:
 * - a Maildir folder's directory, its cur/ new/ tmp/, and the files these
 *   four hold (messages, dovecot-uidlist, ...): WALK_STORE_MAILDIR, the
 *   relpath of the Maildir root, and the folder: "INBOX" for the root,
 *   "Name" for a Maildir++ sub-folder ".Name", or the path from the root
 *   for a Maildir deeper below it ("Archive/2023", Dovecot's LAYOUT=fs);
 * - an MH folder's directory and its files: WALK_STORE_MH, the relpath of
 *   the outermost MH folder of a nest, and "INBOX" for that one or the path
 *   from it for one nested in it;
 * - an mbox file: WALK_STORE_MBOX, mailbox NULL, folder its relpath;
 * - anything else: WALK_STORE_NONE, NULL, NULL.
 * A directory entry says what the directory itself is.
 */
struct walk_entry {
    const char *relpath; /* relative to the store root, "" for the root */
    const char *name;    /* last component ("." for the root) */
    enum walk_kind kind;
    struct stat st;        /* lstat of the entry (fstat for directories);
                              all zero for a vanished Maildir message */
    const char *link;      /* WALK_SYMLINK: the target, as read */
    enum walk_store store; /* what the entry belongs to (above) */
    const char *mailbox;   /* Maildir root or MH root, relative; or NULL */
    const char *folder;    /* IMAP-style folder name, or NULL */
    const char *subdir;    /* in a Maildir's "cur", "new", "tmp", or NULL */
    int dirfd;             /* open directory holding the entry (for the
                              root: the root itself) */
};

struct walk_opts {
    const char *const *excludes; /* fnmatch patterns, NULL-terminated */
};

/*
 * Called for each entry; the entry, its strings and its dirfd are valid
 * only during the call.  Returning non-zero (with ${err} set) stops the
 * walk, which then returns -1.
 */
typedef int (*walk_visit_fn)(void *ctx, const struct walk_entry *e,
                             struct cm_err *err);

/*
 * Called for things skipped with a warning: ${why} is "device node",
 * "socket", "FIFO", "unknown file type", or "replaced during the walk" (a
 * directory that became something else between listing and opening).
 */
typedef void (*walk_warn_fn)(void *ctx, const char *relpath, const char *why);

/*
 * Walk the store at ${root} (a directory; followed if a symlink, nothing
 * below it is).  ${opts} and ${warn} may be NULL.  Errors: CM_EIO if
 * ${root} cannot be opened or a directory below cannot be read, naming it;
 * CM_EUSAGE if ${root} is not a directory; CM_EFORMAT, naming the path, if
 * directories nest deeper than WALK_DEPTH_MAX or a relative path would be
 * longer than WALK_PATH_MAX - 1 bytes; whatever ${visit} sets.  An exclude
 * pattern (fnmatch) without '/' matches any path component (as tar does);
 * one with '/' matches the relative path (a leading "./" and trailing '/'
 * are ignored).
 */
int walk_store(const char *root, const struct walk_opts *opts,
               walk_visit_fn visit, walk_warn_fn warn, void *ctx,
               struct cm_err *err);

/* Does ${relpath}, or a directory above it, match an exclude pattern? */
int walk_excluded(const struct walk_opts *opts, const char *relpath);

#endif
