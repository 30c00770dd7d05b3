/*
 * rebuild: restore the state's records of media and sets (the chain:
 * sequence, MANIFEST SHA-256, kind, base, medium) from the labels and
 * MANIFESTs on the media, without any key (coldmail state rebuild).
 *
 * What it cannot rebuild is the per-medium object listing incrementals
 * build on: it lives in the catalogs, which are encrypted to recipients
 * the pack host holds no identity for.  So the next pack on a rebuilt
 * medium writes a full set; the chain itself continues without a break
 * (give every medium, so that the newest set is among them).  Sets the
 * state lists on a medium that are no longer there are marked removed.
 */
#ifndef REBUILD_H
#define REBUILD_H

#include <stdint.h>

#include "cm.h"
#include "medium.h"

struct rebuild_medium {
    const char *dir;
    char label[MEDIUM_LABEL_MAX + 1]; /* "" if the medium has no label */
    char medium_id[33];               /* "" likewise */
    unsigned sets;                    /* sets found on it */
    unsigned added;                   /* of which the state did not know */
    unsigned conflicts; /* sets whose sequence the state has for another */
    unsigned gone;      /* sets the state listed there, now marked removed */
    int has_index;      /* the state still has its object listing */
};

struct rebuild_opts {
    const char *state_dir;    /* created if needed */
    const char *const *media; /* medium directories */
    size_t nmedia;
    void (*on_medium)(void *ctx, const struct rebuild_medium *m);
    void (*warn)(void *ctx, const char *msg); /* unreadable MANIFESTs... */
    void *ctx;
};

struct rebuild_result {
    unsigned media, sets, added, conflicts;
    uint64_t head_sequence;                 /* the chain's newest set */
    char head_medium[MEDIUM_LABEL_MAX + 1]; /* and where it is */
};

/*
 * Rebuild from each of ${o->media}, in the state in ${o->state_dir}
 * (taking its lock: CM_EBUSY while a pack runs).  Fills ${res}.  Errors:
 * CM_EUSAGE (not a directory), CM_EIO; CM_ECONFLICT after finishing, if a
 * set's sequence number is recorded for another set (a fork: see verify
 * --chain), the others being recorded.
 */
int rebuild_run(const struct rebuild_opts *o, struct rebuild_result *res,
                struct cm_err *err);

#endif
