/*
 * status: the operator's view of the rotation, from the pack host's state
 * (read only, without the lock: it can run while a pack does).  Each
 * medium with its newest set, sizes when last seen, age and last
 * verification; which medium is due next; and what needs attention.
 *
 * The rotation: one set per period (rotation = 7d), the media in their
 * configured order (media = week-1 week-2 ...), so each medium comes back
 * every (number of media) x (period).  The medium due next is the one after
 * the medium most recently written, in that order; without an order, the
 * least recently written medium.
 *
 * Verification: a pack reads every file back before it commits, so each
 * set counts as verified when written; a later verification recorded in
 * the state (media or sets verified_at) counts too.
 */
#ifndef STATUS_H
#define STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "medium.h"

#define STATUS_NEARLY_FULL_PERCENT 10
#define STATUS_GAPS_MAX 8 /* gaps in the chain reported one by one */

struct status_opts {
    const char *state_dir;
    const char *const *media; /* labels in rotation order; may be NULL */
    size_t nmedia;
    int64_t rotation; /* seconds between runs, > 0 */
    int64_t now;
};

struct status_set {
    int present;    /* the medium has a set (not pruned) */
    char name[256]; /* directory name */
    char set_id[33];
    char kind[16];
    uint64_t sequence;
    int64_t created;
    uint64_t bytes; /* written */
};

struct status_medium {
    char label[MEDIUM_LABEL_MAX + 1];
    char medium_id[33];   /* "": in the rotation, but never seen */
    int order;            /* place in the rotation from 0, or -1 */
    char last_path[4096]; /* where it was mounted when last seen */
    int64_t last_seen;    /* 0: never */
    uint64_t bytes_total; /* when last seen; 0 if unknown */
    uint64_t bytes_free;  /* then, less the sets written since */
    uint64_t sets;        /* sets on it (not pruned) */
    struct status_set newest;
    int64_t age;         /* now - newest.created, if present */
    int64_t verified_at; /* 0: never */
};

enum status_warning_kind {
    STATUS_RUN_OVERDUE,    /* nothing written for longer than the period */
    STATUS_OVERDUE,        /* a medium's turn has passed without a set */
    STATUS_NEVER_WRITTEN,  /* in the rotation for a whole cycle, no set */
    STATUS_NEVER_VERIFIED, /* known, but never held a verified set */
    STATUS_NEARLY_FULL,    /* < 10% free, or less than its newest set */
    STATUS_CHAIN_BREAK,    /* a set restarted the chain (state lost) */
    STATUS_CHAIN_GAP,      /* sequence numbers missing from the record */
    STATUS_BASE_MISSING,   /* an incremental whose base was removed */
};

struct status_warning {
    enum status_warning_kind kind;
    char medium[MEDIUM_LABEL_MAX + 1]; /* "" for the chain as a whole */
    char msg[512];
};

struct status_report {
    int64_t now;
    int64_t rotation;
    size_t cycle; /* media in the rotation */
    struct status_medium *media;
    size_t nmedia;
    int has_due;
    char due[MEDIUM_LABEL_MAX + 1];
    int64_t due_at;
    char due_why[128];
    uint64_t head_sequence; /* the newest set of the chain, 0 if none */
    int64_t newest_created; /* of any set, 0 if none */
    struct status_warning *warnings;
    size_t nwarnings;
};

/*
 * Build the report from the state in ${o->state_dir}.  The caller frees
 * *${out} with status_report_free.  CM_EUSAGE if there is no state there
 * (with a hint at state rebuild), CM_EIO if it cannot be read.
 */
int status_run(const struct status_opts *o, struct status_report **out,
               struct cm_err *err);

void status_report_free(struct status_report *r);

/*
 * An age for people, rounded down: whole days from two days on ("35d"),
 * else hours ("5h"), else minutes ("12m").
 */
void status_format_age(int64_t seconds, char *out, size_t outlen);

/* "run-overdue", "overdue", "never-written", ...: names for scripts. */
const char *status_warning_name(enum status_warning_kind k);

#endif
