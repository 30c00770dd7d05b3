/*
 * chain: the chain of custody across sets.  Every MANIFEST carries its
 * host's sequence number and the SHA-256 of the MANIFEST of that host's
 * previous set, on whatever medium it went.  Given the sets at hand, chain
 * finds what does not hold:
 *
 *   gap          sequences missing between two sets present
 *   mismatch     a set's previous-hash matches no set present although a
 *                set with its predecessor's sequence is present: that
 *                predecessor was replaced or forged
 *   bad sequence a set's previous-hash names a set present whose sequence
 *                is not one less
 *   fork         two different sets claim the same sequence
 *   restart      a later set starts over (previous none) without a
 *                recorded chain-break
 *   key change   consecutive sets of one host signed by different keys
 *   unknown key  a set signed by another key than the trusted one
 *   rollback     a medium presenting an older set as its newest: a set
 *                says (previous-medium) that the set before it went to
 *                medium X, and the sets given of medium X are all older
 *                than that one (X is known by the sets of it given)
 *
 * and notes what is fine but worth saying: a recorded chain-break (the
 * pack host lost its state; a key change right there is a note too), and
 * the same set given twice (identical MANIFEST, e.g. a copy on another
 * medium).  Sets are grouped by host.  A host's sets are cut into runs at
 * each set that restarts the chain (a chain-break line, or previous none),
 * taken in creation order; within a run they are ordered by sequence.  A
 * set whose predecessor is simply not among those given is not a problem:
 * verifying one medium does not need every older set.
 *
 * Nothing here reads files: the caller adds what each MANIFEST says
 * (chain_add), then calls chain_check once.
 */
#ifndef CHAIN_H
#define CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cm.h"

/* Most sets one check takes (CM_EUSAGE beyond). */
#define CHAIN_SETS_MAX 100000

/* What the chain needs from one set's MANIFEST. */
struct chain_set {
    const char *name;   /* the set directory's name */
    const char *where;  /* the directory holding it (the medium), or "" */
    const char *medium; /* the medium label MANIFEST names, or NULL */
    const char *host;
    uint64_t sequence;
    int64_t created;
    uint8_t set_id[16];
    int has_previous;
    uint8_t previous[32];
    uint8_t manifest_sha256[32];
    char key_id[17];          /* signer key id, 16 hex digits */
    const char *chain_break;  /* the recorded reason, or NULL */
    int authentic;            /* its signature verified */
    int unknown_key;          /* a trusted key was given; not this one */
    char medium_id[33];       /* the medium it went to (32 hex), or "" */
    char previous_medium[33]; /* where the set before it went, or "" */
};

/* How a set hangs on its predecessor. */
enum chain_link {
    CHAIN_LINK_FIRST,        /* previous none, first of its host: fine */
    CHAIN_LINK_OK,           /* previous is the set before it, present */
    CHAIN_LINK_UNKNOWN,      /* the set before it was not given */
    CHAIN_LINK_BREAK,        /* a recorded chain-break */
    CHAIN_LINK_RESTART,      /* previous none, not first: a problem */
    CHAIN_LINK_MISMATCH,     /* a problem: see above */
    CHAIN_LINK_BAD_SEQUENCE, /* a problem: see above */
    CHAIN_LINK_DUPLICATE,    /* the same MANIFEST given again */
};

/* One line of the table: a set, in chain order. */
struct chain_row {
    struct chain_set set; /* strings owned by the chain */
    enum chain_link link;
    size_t run;      /* which run of its host, from 0 */
    int fork;        /* another set claims the same sequence */
    int key_changed; /* signed by another key than the row before */
};

enum chain_kind {
    CHAIN_GAP,
    CHAIN_MISMATCH,
    CHAIN_BAD_SEQUENCE,
    CHAIN_FORK,
    CHAIN_RESTART,
    CHAIN_KEY_CHANGE,
    CHAIN_BREAK,
    CHAIN_DUPLICATE,
    CHAIN_UNKNOWN_KEY,
    CHAIN_ROLLBACK,
};

struct chain_finding {
    enum chain_kind kind;
    int problem; /* 1: the chain does not hold; 0: a note */
    const char *host;
    uint64_t sequence;      /* the set's; for a gap the first missing */
    uint64_t sequence_last; /* for a gap the last missing, else sequence */
    const char *set;        /* the set concerned (name), or NULL */
    const char *other;      /* the other set concerned (name), or NULL */
    char *text;             /* one line for people, without indentation */
};

struct chain;

/* An empty chain.  CM_EINTERNAL.  Free with chain_free. */
int chain_new(struct chain **out, struct cm_err *err);

/*
 * Add a set (everything in ${s} is copied).  CM_EUSAGE past
 * CHAIN_SETS_MAX sets or after chain_check, CM_EINTERNAL.
 */
int chain_add(struct chain *c, const struct chain_set *s, struct cm_err *err);

/*
 * Order the sets and find the problems and notes.  Once.  CM_EINTERNAL
 * if out of memory.
 */
int chain_check(struct chain *c, struct cm_err *err);

/* After chain_check: the rows, by host, run and sequence. */
size_t chain_nrows(const struct chain *c);
const struct chain_row *chain_row(const struct chain *c, size_t i);

/* After chain_check: problems and notes, by host, in chain order. */
size_t chain_nfindings(const struct chain *c);
const struct chain_finding *chain_finding(const struct chain *c, size_t i);

/* The number of findings that are problems. */
size_t chain_problems(const struct chain *c);

/* "first", "ok", "unknown", "break", "restart", "mismatch",
 * "bad-sequence", "duplicate" (as in the table and the JSON report). */
const char *chain_link_name(enum chain_link l);

/* "gap", "mismatch", "bad-sequence", "fork", "restart", "key-change",
 * "break", "duplicate", "unknown-key", "rollback" (as in the JSON
 * report). */
const char *chain_kind_name(enum chain_kind k);

/*
 * The table and the findings as text, each line indented by two spaces,
 * appended to ${out}:
 *
 *   HOST  SEQ  SET                                    MEDIUM  SIGNER LINK vm 1
 * coldmail-vm-20261128T231233Z-d77db049  disk1   17DB41211E4F1182  first vm 2
 * coldmail-vm-20261205T231233Z-8a7f0c11  disk2   17DB41211E4F1182  ok PROBLEM:
 * host vm: sequence 3 missing between ... note: host vm: chain-break recorded
 * at ...
 *
 * A problem in a row's link is in upper case there (MISMATCH), followed
 * by ", FORK", ", KEY CHANGE" or ", UNKNOWN KEY" when those apply.
 */
int chain_format_text(const struct chain *c, struct buf *out,
                      struct cm_err *err);

void chain_free(struct chain *c);

#endif
