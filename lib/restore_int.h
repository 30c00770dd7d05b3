/*
 * restore_int: what restore.c (the catalog-driven layout restore),
 * restore_mbox.c (mbox files written from messages) and restore_tar.c (the
 * catalog-less fallback) share.  Not part of the library's interface.
 */
#ifndef RESTORE_INT_H
#define RESTORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "extract.h"
#include "objread.h"
#include "restore.h"

/* A directory record seen, whose subtree the catalog may still be in. */
struct rdir {
    char *path;
    size_t len;
    struct extract_meta meta;
    int done; /* given to extract already */
};

struct rmbox_batch;

struct rctx {
    const struct restore_opts *o;
    struct restore_result *res;
    struct extract *x;
    struct objread *rd;
    struct rdir *stack; /* ancestors of the current record, outermost first */
    size_t depth, cap;
    struct rmbox_batch *batch;
};

/* restore.c */

/* Tell an event; ${why} may be NULL. */
void rs_event(struct rctx *c, enum restore_event_kind kind, const char *path,
              const char *message_id, const struct cm_err *why);

/* ${e} is lost for the reason in ${err}: counted, told, ${err} cleared. */
void rs_lost(struct rctx *c, const struct catalog_entry *e, struct cm_err *err);

/*
 * An extract or sink failure on ${path}: -1 (stop) for CM_ENOSPC,
 * CM_EINTR and CM_EINTERNAL; else counted as refused (CM_EFORMAT) or
 * failed, told, ${err} cleared, and 0.
 */
int rs_target_error(struct rctx *c, const char *path, const char *message_id,
                    struct cm_err *err);

/* Count an extract_result for ${path} (told if a conflict). */
void rs_outcome(struct rctx *c, const char *path, int result);

/* -1 with CM_EINTR if interrupted. */
int rs_check_stop(const struct rctx *c, struct cm_err *err);

void rs_progress(struct rctx *c, uint64_t items, uint64_t bytes);

/* The metadata of a catalog record. */
void rs_meta(const struct catalog_entry *e, struct extract_meta *m);

/*
 * A directory ${path} (${len} bytes) with ${m} was seen: forget the stack
 * entries that are not its ancestors, and push it.
 */
int rs_dir_seen(struct rctx *c, const char *path, size_t len,
                const struct extract_meta *m, struct cm_err *err);

/*
 * An object at ${path} is about to be restored: forget the stack entries
 * that are not its ancestors, and create those that are, with their
 * metadata (and the top one if it is ${path} itself).
 */
int rs_ancestors(struct rctx *c, const char *path, size_t len,
                 struct cm_err *err);

/* A cm_write_fn into an extract_file. */
int rs_write_file(void *ctx, const void *p, size_t len, struct cm_err *err);

/* Open the catalog, checking that its header names this set. */
int rs_catalog_open(struct rctx *c, struct catalog_reader **out,
                    struct cm_err *err);

/* restore_mbox.c */

int rmbox_batch_new(struct rmbox_batch **out, struct cm_err *err);
void rmbox_batch_free(struct rmbox_batch *b);

/*
 * Gather the mbox message ${e} (whose file is not selected as a whole);
 * writes the previous batch first if ${e} is in another file.
 */
int rmbox_batch_add(struct rctx *c, const struct catalog_entry *e,
                    struct cm_err *err);

/*
 * Write the partial mbox gathered, if any.  ${file} is the record that
 * follows (the mbox file's own, for its metadata) or NULL.
 */
int rmbox_batch_flush(struct rctx *c, const struct catalog_entry *file,
                      struct cm_err *err);

/* The whole RESTORE_MBOX restore (two passes over the catalog). */
int rmbox_run(struct rctx *c, struct cm_err *err);

/* restore_tar.c */

/* Restore from the volumes' tar streams, in order, without the catalog. */
int rtar_run(struct rctx *c, struct cm_err *err);

#endif
