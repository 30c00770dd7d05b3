/*
 * extract: safe creation of directories, files and symlinks under a target
 * root, from relative paths that come from a possibly hostile medium.
 *
 * Every path is checked with catalog_path_is_safe() and resolved from the
 * root's descriptor one component at a time with O_NOFOLLOW (openat2 with
 * RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS first, when the kernel has it), so a
 * symlink, whether restored earlier from the same archive or swapped in by
 * another process, never redirects a write.  Nothing is ever replaced: an
 * existing object is compared and reported, never overwritten.
 *
 * Files are written to a temporary ".coldmail-tmp.<hex>" beside their final
 * name and renamed into place once complete, so a file appears whole or not
 * at all.  Directories stay mode 0700 while entries are created in them;
 * their archived mode and mtime are applied by extract_finish(), deepest
 * first.  Directories created only as parents of other entries keep 0700.
 *
 * Modes: permission bits only.  Files get mode & 0777; directories mode &
 * 01777 (the sticky bit is kept on directories only).  Setuid and setgid
 * are kept only with EXTRACT_SETID and an owner actually restored (as for
 * tar, a setuid file must not end up owned by whoever ran the restore).
 * Owners are restored only with EXTRACT_OWNER and only when running as
 * root, by number (names are not looked up: a vault machine's user
 * database is not the mail host's); otherwise objects belong to the
 * restoring user.  Access times are left at the time of creation.
 * Device nodes, FIFOs, sockets and hard links are never created.
 *
 * A handle is used from one thread.
 */
#ifndef EXTRACT_H
#define EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

#define EXTRACT_PATH_MAX 4096 /* bytes in a relative path or link target */
#define EXTRACT_DEPTH_MAX 256 /* components in a relative path */

/* Flags for extract_open(). */
#define EXTRACT_MERGE 0x01    /* restore into a non-empty target */
#define EXTRACT_NO_FSYNC 0x02 /* no fsync of files, no syncfs at the end */
#define EXTRACT_OWNER 0x04    /* restore uid/gid (effective only as root) */
#define EXTRACT_SETID 0x08    /* keep setuid/setgid bits */
/* Always walk component by component (tests; kernels filtering openat2). */
#define EXTRACT_NO_OPENAT2 0x10

/* What became of an entry (the non-negative returns below). */
enum extract_result {
    EXTRACT_CREATED = 0,
    EXTRACT_PRESENT = 1,  /* an identical object was already there */
    EXTRACT_CONFLICT = 2, /* something different is there; left untouched */
};

/* Metadata applied to a restored object (from the catalog or tar header). */
struct extract_meta {
    uint32_t mode; /* permission bits, 07777; filtered as said above */
    int64_t mtime;
    uint32_t mtime_ns;
    uint32_t uid, gid;
};

/* Entry kinds that are refused, for extract_refuse(). */
enum extract_special {
    EXTRACT_HARDLINK,
    EXTRACT_CHARDEV,
    EXTRACT_BLOCKDEV,
    EXTRACT_FIFO,
    EXTRACT_SOCKET,
};

struct extract_stats {
    uint64_t created, present, conflicts, refused;
};

struct extract;
struct extract_file;

/*
 * Is the directory ${target} empty (or missing)?  1 if so, 0 if it holds
 * anything, -1 with CM_EIO naming ${target} if it cannot be read or is not
 * a directory.  For a front end that wants to refuse early; extract_open()
 * checks again.
 */
int extract_target_is_empty(const char *target, struct cm_err *err);

/*
 * Open the target root ${target} (created with mode 0700 if missing; its
 * parent must exist; followed if it is a symlink, since the operator named
 * it) with ${flags} (EXTRACT_*).  Without EXTRACT_MERGE a non-empty target
 * is refused with CM_EUSAGE.  CM_EIO if it cannot be created or opened.
 * *${out} is freed with extract_free().
 */
int extract_open(const char *target, int flags, struct extract **out,
                 struct cm_err *err);

/*
 * Create the directory ${path} (relative to the root), and any missing
 * parents (mode 0700).  Its mode and mtime from ${m} are applied by
 * extract_finish(), and only if this run created it: an existing directory
 * is reused as it is.  Returns an enum extract_result (CONFLICT if a
 * non-directory is there or in place of a parent), or -1: CM_EFORMAT for an
 * unsafe path or a symlink among the parents ("${path}: unsafe path"),
 * CM_EIO/CM_ENOSPC naming the target path, CM_EINTERNAL if out of memory.
 */
int extract_dir(struct extract *x, const char *path,
                const struct extract_meta *m, struct cm_err *err);

/*
 * Create the symlink ${path} -> the ${link_len} bytes at ${link} (stored
 * verbatim: we never follow it; no NUL, not empty, at most
 * EXTRACT_PATH_MAX), with ${m}'s mtime (and owner, see above).  Returns an
 * enum extract_result (PRESENT if the same link is there, CONFLICT if
 * anything else is), or -1 with the codes of extract_dir().
 */
int extract_symlink(struct extract *x, const char *path, const char *link,
                    size_t link_len, const struct extract_meta *m,
                    struct cm_err *err);

/*
 * Start the regular file ${path} of ${size} bytes with metadata ${m}.  If
 * something is already at ${path} (or a parent is not a directory), the
 * data written is compared with it instead and nothing is created.  *${out}
 * must be ended with extract_file_commit() or extract_file_abort().  -1 with
 * the codes of extract_dir().
 */
int extract_file_open(struct extract *x, const char *path, uint64_t size,
                      const struct extract_meta *m, struct extract_file **out,
                      struct cm_err *err);

/*
 * The next ${len} bytes of the file's content.  0, or -1: CM_EFORMAT if
 * more than the declared size arrives, CM_EIO/CM_ENOSPC naming the target
 * path.  After -1 the file can only be aborted.
 */
int extract_file_write(struct extract_file *f, const void *p, size_t len,
                       struct cm_err *err);

/*
 * Finish the file: check that exactly the declared size was written, apply
 * owner, mode and mtime, fsync (unless EXTRACT_NO_FSYNC) and rename it into
 * place without replacing anything.  Frees ${f} in every case.  Returns an
 * enum extract_result (PRESENT if an identical file was there, CONFLICT if
 * a different object was, or appeared meanwhile), or -1 (the temporary is
 * removed): CM_EFORMAT for a size mismatch, CM_EIO/CM_ENOSPC naming the
 * target path.
 */
int extract_file_commit(struct extract_file *f, struct cm_err *err);

/* Give up on the file: the temporary is removed and ${f} freed.  NULL-safe. */
void extract_file_abort(struct extract_file *f);

/*
 * Refuse an entry of a kind never restored: always -1 with CM_EFORMAT,
 * "${path}: <kind>: not restored (device nodes, FIFOs, sockets and hard
 * links are never created)"; counted in the stats.  The caller decides
 * whether to carry on.
 */
int extract_refuse(struct extract *x, const char *path,
                   enum extract_special kind, struct cm_err *err);

/*
 * Apply the pending directory modes and mtimes, deepest first, then
 * syncfs(2) the target's filesystem so that every name created is durable
 * (unless EXTRACT_NO_FSYNC).  Carries on past a failure and returns -1
 * with the first one (CM_EIO naming the directory, or CM_EFORMAT if one
 * was replaced by a symlink meanwhile), else 0.  The pending list is
 * emptied either way.
 */
int extract_finish(struct extract *x, struct cm_err *err);

/* Counts of entries so far, by result. */
void extract_get_stats(const struct extract *x, struct extract_stats *out);

/* "created", "already present" or "conflict, left untouched". */
const char *extract_result_name(int result);

/* Close the root.  Pending directory metadata not yet applied is dropped. */
void extract_free(struct extract *x);

#endif
