/*
 * tarw: a POSIX pax tar writer on libarchive that knows where every byte
 * goes: for each entry, the offset of its first header block and of its
 * content in the uncompressed tar stream (what the catalog records, and
 * what random access reads back).
 */
#ifndef TARW_H
#define TARW_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

enum tarw_kind {
    TARW_DIR,
    TARW_FILE,
    TARW_SYMLINK,
};

struct tarw_entry {
    const char *path; /* relative; directories without a trailing slash */
    enum tarw_kind kind;
    uint64_t size;    /* content bytes (files) */
    uint32_t mode;    /* permission bits */
    int64_t mtime;
    uint32_t mtime_ns;
    uint32_t uid, gid;
    const char *user, *group; /* may be NULL */
    const char *link;         /* symlink target */
};

struct tarw;

/* A writer that sends the tar stream to ${sink}. */
int tarw_new(cm_write_fn sink, void *sink_ctx, struct tarw **out,
             struct cm_err *err);

/*
 * Write the header(s) of ${e}.  *${tar_off} gets the offset of its first
 * header block, *${data_off} that of its content.
 */
int tarw_begin(struct tarw *t, const struct tarw_entry *e, uint64_t *tar_off,
               uint64_t *data_off, struct cm_err *err);

/* Content of the current entry; in total exactly its declared size. */
int tarw_data(struct tarw *t, const void *p, size_t len, struct cm_err *err);

/* End the current entry; CM_EINTERNAL if fewer bytes than declared came. */
int tarw_end(struct tarw *t, struct cm_err *err);

/* Write the end-of-archive blocks. */
int tarw_finish(struct tarw *t, struct cm_err *err);

/* Bytes of tar stream produced so far. */
uint64_t tarw_offset(const struct tarw *t);

/* Tar bytes an entry of ${e} would take at most (headers, content, pad). */
uint64_t tarw_entry_bound(const struct tarw_entry *e);

void tarw_free(struct tarw *t);

#endif
