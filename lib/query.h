/*
 * query: the catalog records a filter selects, streamed (ls), and one
 * object's content by random access (cat).
 */
#ifndef QUERY_H
#define QUERY_H

#include <stdint.h>

#include "catalog.h"
#include "cm.h"
#include "filter.h"
#include "setr.h"

/*
 * Called for each selected record, valid during the call.  0 to go on, 1
 * to stop (query_list then returns 0), -1 to fail with ${err}.
 */
typedef int (*query_fn)(void *ctx, const struct catalog_entry *e,
                        struct cm_err *err);

/*
 * Call ${fn} for every record of ${set}'s catalog that ${filter} selects
 * (NULL: every record), in catalog order; a --folder filter costs one more
 * pass over the catalog first.  Returns 0, or -1 with the catalog's error
 * or ${fn}'s.
 */
int query_list(struct setr *set, struct filter *filter, query_fn fn, void *ctx,
               struct cm_err *err);

/* What cat looks for: exactly one of the two. */
struct query_cat_opts {
    struct setr *set;
    const struct setr_opts *set_opts;
    const char *path;       /* this catalog path exactly (a whole mbox file
                               rather than one of its messages) */
    const char *message_id; /* a message with this Message-ID, as --message-id
                               compares */
};

struct query_cat_result {
    uint64_t matches; /* records that matched (message_id: in the whole
                         catalog; path: 1 once found, the search stops) */
    char path[4096];  /* the one written (cut if longer) */
};

/*
 * Write the content of the first matching record (a file or a message) to
 * ${sink}, reading only the blocks, chunks and frames that hold it, and
 * check its SHA-256.  Returns 0, or -1: CM_EUSAGE if nothing matches
 * ("no object matches"), or a matching record is not a file or message;
 * the errors of objread_copy() (a mismatch is found only after the last
 * byte was given to ${sink}); the catalog's errors.
 */
int query_cat(const struct query_cat_opts *o, cm_write_fn sink, void *sink_ctx,
              struct query_cat_result *res, struct cm_err *err);

#endif
