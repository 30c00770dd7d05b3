/*
 * objread: the content of catalogued objects (files and messages), read
 * from a set by random access (setr_volume_pread: only the blocks, chunks
 * and frames that hold it) and checked against the SHA-256 the catalog
 * gives for it.  Shared by cat, restore and audit.
 *
 * Each volume is probed once: one that cannot be opened at all (missing,
 * unreadable, a damaged header) is remembered, and every object in it then
 * fails at once with the same message instead of being retried.
 *
 * An object whose record names another set as its holder (an incremental
 * set's unchanged objects) is read from that set, one of the set's base
 * chain, found and checked as holders.h says; a file stored in segments
 * (an mbox file of an incremental set) is read piece by piece, from
 * whichever sets hold them, and checked whole.
 */
#ifndef OBJREAD_H
#define OBJREAD_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "cm.h"
#include "setr.h"

/* Content bytes handed to the sink at once, at most. */
#define OBJREAD_CHUNK (1u << 20)

/* Returns of objread_copy(). */
#define OBJREAD_LOST (-1)        /* could not be read whole */
#define OBJREAD_SINK_FAILED (-2) /* the sink refused a piece */
#define OBJREAD_MISMATCH (-3)    /* read whole, but the SHA-256 differs */

struct objread;

/*
 * A reader of ${set} (borrowed; it must outlive the reader), which was
 * opened with ${opts} (borrowed too; used to open holder sets).
 * CM_EINTERNAL if out of memory.  Free with objread_free().
 */
int objread_new(struct setr *set, const struct setr_opts *opts,
                struct objread **out, struct cm_err *err);

void objread_free(struct objread *r);

/*
 * Read the first set's volumes through a read-ahead thread from now on
 * (see readahead.h), for a caller that reads in catalog order.  Opens the
 * set a second time, for the thread.  The set's errors, CM_EINTERNAL.
 */
int objread_readahead(struct objread *r, struct cm_err *err);

/*
 * Read the content of ${e} (CATALOG_FILE or CATALOG_MESSAGE) and give it to
 * ${sink} (${sink_ctx}) in order, in pieces of at most OBJREAD_CHUNK bytes
 * (nothing for an empty object); then compare its SHA-256 with the
 * catalog's.  With ${sink} NULL the content is only checked.  If
 * ${actual} is not NULL it receives the SHA-256 of what was read, when
 * everything could be read (returns 0 and OBJREAD_MISMATCH).
 *
 * Returns 0; OBJREAD_LOST when the object cannot be read whole, with
 * ${err} saying why, without naming the object (CM_EAUTH: a block or
 * chunk does not authenticate; CM_EFORMAT: a bad frame, a range outside
 * its volume, a record without a place or whose length is not its size;
 * CM_EIO: a volume or holder set missing or unreadable; CM_EAUTH: a
 * holder refused, not in the set's base chain; CM_EINTERNAL);
 * OBJREAD_MISMATCH (CM_EAUTH) when it was read whole, every piece already
 * given to the sink, but its SHA-256 is not the catalog's; or
 * OBJREAD_SINK_FAILED with the sink's error.  The reader stays usable
 * after any of them.
 */
int objread_copy(struct objread *r, const struct catalog_entry *e,
                 cm_write_fn sink, void *sink_ctx, uint8_t actual[32],
                 struct cm_err *err);

#endif
