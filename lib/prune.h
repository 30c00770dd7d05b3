/*
 * prune: free space on a medium by removing its oldest whole chains (a
 * full set and the incrementals built on it), keeping at least N
 * restorable points.  The medium is the truth: chains are computed from
 * the MANIFESTs on it (kind, base), so a lost or stale state cannot make
 * prune remove what a kept set needs; the state, where there is one, adds
 * holds and records removals.
 *
 * A restorable point is a set whose whole chain (every base back to a
 * full set) is on the medium.  The N newest points are kept, and with each
 * its whole chain; so is every chain holding a set under hold (a hold file
 * beside the set, verified or not, or a hold in the state).  A set whose
 * chain is broken (a base missing), or whose MANIFEST cannot be read, is
 * never removed: it is reported.  A part of a set that spans media is not
 * a restorable point of this medium (the other parts are elsewhere): it
 * is kept while it is newer than the oldest point kept (or no point is
 * kept), and goes with the chains older than that.  Every other chain is removed, newest set
 * first, so that an interrupted prune leaves whole restorable prefixes:
 * each set is renamed to "<name>.removing" (then it no longer looks like a
 * set), its MANIFEST and signature are deleted first, then its other
 * files, then the directory.  Leftover "*.removing" directories of an
 * interrupted prune are finished first.
 */
#ifndef PRUNE_H
#define PRUNE_H

#include <stdint.h>

#include "cm.h"
#include "minisig.h"

#define PRUNE_REMOVING_SUFFIX ".removing"
#define PRUNE_SETS_MAX 100000 /* sets on one medium */

enum prune_fate {
    PRUNE_REMOVE,      /* in a chain with no kept point and no hold */
    PRUNE_KEEP_POINT,  /* one of the N newest restorable points */
    PRUNE_KEEP_CHAIN,  /* in the chain of a kept point or of a held set */
    PRUNE_KEEP_HELD,   /* under hold */
    PRUNE_KEEP_BROKEN, /* not restorable: a base is missing */
    PRUNE_KEEP_PART,   /* part of a newer set that spans media */
};

struct prune_set {
    const char *name; /* directory name */
    const char *kind; /* "full" or "incremental" */
    uint64_t sequence;
    int64_t created;
    uint64_t bytes;    /* of its files */
    const char *chain; /* name of its chain's full set; NULL if broken */
    enum prune_fate fate;
    const char *hold_reason; /* for a held set: the reason, or "" */
};

struct prune_opts {
    const char *medium_dir;
    unsigned keep;         /* restorable points to keep, at least 1 */
    int dry_run;           /* decide and report, remove nothing */
    const char *state_dir; /* use the state there if it has one; or NULL */
    const struct minisig_pubkey *signer; /* verifies hold files; or NULL */
    /* Each set with its fate, oldest first, before anything is removed. */
    void (*on_set)(void *ctx, const struct prune_set *s);
    /* Things the operator should know (a hold that does not verify). */
    void (*warn)(void *ctx, const char *msg);
    void *ctx;
};

struct prune_result {
    unsigned sets;   /* sets on the medium (MANIFEST readable) */
    unsigned points; /* restorable points among them */
    unsigned chains;
    unsigned removed; /* sets removed (or, dry run, to remove) */
    unsigned points_removed; /* restorable points among them */
    unsigned chains_removed;
    unsigned points_kept;
    unsigned held;        /* sets under hold */
    uint64_t bytes_freed; /* (or, dry run, to free) */
    int used_state;       /* a state was found and used */
};

/*
 * Prune ${o->medium_dir} as above, filling ${res}.  Errors: CM_EUSAGE
 * (${o->keep} is 0, not a medium), CM_ENOKEY or CM_EAUTH (with
 * ${o->signer}, a medium labelled with another key), CM_EBUSY (a pack
 * runs with the same state), CM_EIO naming the file (sets removed before
 * the failure stay removed and recorded).
 */
int prune_run(const struct prune_opts *o, struct prune_result *res,
              struct cm_err *err);

#endif
