/*
 * tarr: a restrictive tar reader on libarchive, for the restore paths that
 * read a volume's tar stream in order (deep verification, a damaged
 * catalog, tape).  The input is the decrypted, decompressed stream: only
 * tar (POSIX pax, ustar, GNU) is accepted, with no compression filter.  The
 * reader never writes to disk.
 *
 * Each entry comes with the offset of its first header block (a pax or GNU
 * long-name header included) and of its content in the uncompressed tar
 * stream, counted in bytes consumed: the catalog's tar_off and off.
 *
 * Entries that must never be restored are reported, not returned as good:
 * absolute paths, "." or ".." components, empty components, hard links,
 * device nodes, FIFOs, sockets, sparse files, content above the caller's
 * bound, extension headers above the caller's bound, ids out of range.
 * The reader carries on past them.
 */
#ifndef TARR_H
#define TARR_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

#define TARR_PATH_MAX 4096                 /* path and link target bytes */
#define TARR_SIZE_MAX_DEFAULT (1ull << 40) /* content bytes of one entry */
#define TARR_EXT_MAX_DEFAULT 65536 /* extension header bytes per entry */

struct tarr_opts {
    const char *name;  /* for messages ("vol-0003.tar.zst.age"); NULL: "tar" */
    uint64_t size_max; /* larger entries are refused; 0: the default */
    size_t ext_max;    /* bytes of pax/GNU headers before an entry's own
                          header block; 0: the default */
};

enum tarr_type {
    TARR_FILE,
    TARR_DIR,
    TARR_SYMLINK,
    TARR_HARDLINK,
    TARR_CHARDEV,
    TARR_BLOCKDEV,
    TARR_FIFO,
    TARR_SOCKET,
};

/* Entry return values of tarr_next(). */
#define TARR_ENTRY 1
#define TARR_REFUSED 2

/*
 * One entry.  Strings are borrowed from the reader and valid until the
 * next tarr_next() or tarr_free().  Paths are raw bytes as stored (not
 * necessarily UTF-8), without NUL.
 */
struct tarr_entry {
    const char *path; /* for a good entry: safe and relative, directories
                         without their trailing slash; for a refused one:
                         as found, or NULL */
    size_t path_len;
    enum tarr_type type;
    uint64_t size; /* content bytes (0 except for files) */
    uint32_t mode; /* permission bits, 07777 */
    int64_t mtime;
    uint32_t mtime_ns;
    uint32_t uid, gid;
    const char *uname, *gname; /* NULL if absent */
    const char *link;          /* symlink target or hard link target, or NULL */
    size_t link_len;
    uint64_t header_off; /* first header block of the entry */
    uint64_t data_off;   /* first content byte */
};

struct tarr;

/*
 * A reader pulling the tar stream from ${src}(${src_ctx}, ...), with
 * ${opts} (NULL for defaults).  Nothing is read yet.  CM_EINTERNAL if out
 * of memory.  *${out} is freed with tarr_free().
 */
int tarr_new(const struct tarr_opts *opts, cm_read_fn src, void *src_ctx,
             struct tarr **out, struct cm_err *err);

/*
 * The next entry into ${e}; the unread content of the previous one is
 * skipped.  Returns TARR_ENTRY; TARR_REFUSED with ${e} filled as far as
 * known and ${err} saying why (CM_EFORMAT, "${name}: offset N: ../x: unsafe
 * path"), after which the caller notes it, clears ${err} and calls again;
 * 0 at the end of the archive; or -1 when the stream cannot be read
 * further: CM_EFORMAT for a malformed or truncated stream, or the error
 * of ${src} as it gave it.  After -1 every call fails.
 */
int tarr_next(struct tarr *r, struct tarr_entry *e, struct cm_err *err);

/*
 * Up to ${len} bytes of the current entry's content into ${p}.  Returns
 * the count, 0 at the end of the content (at once for anything but a good
 * file), or -1 as tarr_next() (CM_EFORMAT if the stream ends early).
 */
long tarr_read(struct tarr *r, void *p, size_t len, struct cm_err *err);

/* The name of ${t} for messages: "file", "directory", "hard link", ... */
const char *tarr_type_name(enum tarr_type t);

void tarr_free(struct tarr *r);

#endif
