/*
 * restore: recreate a set's stores, or the part a filter selects, under a
 * target directory.
 *
 * The catalog is streamed, never loaded whole: memory stays bounded
 * whatever the set's size.  Each selected object's content is read by
 * random access in catalog order (which is tar order, so reads are
 * sequential), checked against its SHA-256 in the catalog and written
 * through extract (safe creation: nothing outside the target, no symlink
 * followed, nothing replaced; a file appears whole or not at all).  Modes,
 * mtimes to the nanosecond, symlinks, owners (by number, when run as root)
 * and directory metadata (applied at the end) are restored.
 *
 * Layout (RESTORE_LAYOUT): the stores as they were, at the same relative
 * paths.  The directories above a selected object are restored with their
 * archived mode and mtime too.  A whole mbox file is restored from its own
 * record; when a filter selects only some of its messages, a partial mbox
 * is written at the same path: for each selected message its From_ line
 * (as the catalog keeps it) and a newline, the stored bytes, and an empty
 * line (a newline is added first if the message does not end with one).
 * The messages of one partially selected mbox file are gathered in memory
 * (their catalog records, not their bytes), at most RESTORE_MBOX_BATCH_MAX.
 *
 * mbox (RESTORE_MBOX): only messages are written, one mboxrd file per
 * folder, mode 0600:
 *   Maildir and MH messages: TARGET/<mailbox>/<folder>.mbox (mailbox is the
 *     Maildir or MH root's path, folder the IMAP-style name: INBOX.mbox,
 *     Lists.coldmail.mbox; "Archive/2023" for a Dovecot LAYOUT=fs folder
 *     gives Archive/2023.mbox).  Each message gets a From_ line made from
 *     its Return-Path (the envelope sender; "MAILER-DAEMON" for <>), or
 *     else the address in From, and its Date (else its mtime), in asctime
 *     form, UTC; its lines matching ^>*From  are quoted with one more '>'.
 *   messages of an mbox file: TARGET/<path of the mbox file>, each with its
 *     own From_ line and its stored bytes unchanged (already quoted as
 *     that file had them).
 * The catalog is read twice: first to check every selected message and
 * size each output file, then to write them.
 *
 * Damage: an object that cannot be read, or whose content does not match
 * its SHA-256, is reported (RESTORE_LOST) and not written, and the restore
 * carries on.  If the catalog cannot be opened or breaks off, the volumes'
 * tar streams are read in order instead (RESTORE_WARNING says so): every
 * entry still goes through extract's checks, but no per-object SHA-256
 * check is possible beyond the MANIFEST block hashes and age's
 * authentication, and only a --path filter can be applied (others, and
 * RESTORE_MBOX, fail with CM_EFORMAT).  Where a volume's stream breaks,
 * reading resumes by random access at the first pax header after the
 * unreadable frames; what lies between is lost without names.
 *
 * The volumes are decrypted and decompressed by a read-ahead thread (see
 * readahead.h) while this one hashes and writes.
 */
#ifndef RESTORE_H
#define RESTORE_H

#include <signal.h>
#include <stdint.h>

#include "cm.h"
#include "filter.h"
#include "setr.h"

/* Messages of one partially selected mbox file gathered at most. */
#define RESTORE_MBOX_BATCH_MAX 262144

enum restore_format {
    RESTORE_LAYOUT,
    RESTORE_MBOX,
};

enum restore_event_kind {
    RESTORE_LOST,     /* unreadable, damaged or mismatched: not written */
    RESTORE_REFUSED,  /* an unsafe path or a kind never created */
    RESTORE_CONFLICT, /* something different is there: left untouched */
    RESTORE_FAILED,   /* the target could not take it (e.g. a name too long) */
    RESTORE_WARNING,  /* about the whole restore (catalog unusable, ...) */
};

/* Valid during the callback only. */
struct restore_event {
    enum restore_event_kind kind;
    const char *path;       /* catalog or tar path; NULL for some warnings */
    const char *message_id; /* of a message, or NULL */
    const char *why;        /* error text; NULL for a conflict */
};

struct restore_opts {
    struct setr *set;                 /* opened with identities */
    const struct setr_opts *set_opts; /* what it was opened with */
    struct filter *filter;            /* NULL: everything; learned here */
    const char *target;
    enum restore_format format;
    int merge; /* restore into a non-empty target; never overwrite */
    int fsync; /* fsync every file; else one syncfs(2) at the end */
    /* Told as things happen (may be NULL). */
    void (*event)(void *ctx, const struct restore_event *ev);
    /* ${items} objects and ${bytes} content bytes more done (may be NULL). */
    void (*progress)(void *ctx, uint64_t items, uint64_t bytes);
    void *ctx;
    volatile sig_atomic_t *interrupted; /* set by a signal; may be NULL */
};

struct restore_result {
    uint64_t dirs, files, messages, symlinks; /* created */
    uint64_t mboxes;  /* mbox files written from messages */
    uint64_t bytes;   /* content bytes written */
    uint64_t present; /* already there and identical */
    uint64_t conflicts, lost, lost_messages, lost_bytes, refused, failed;
    int catalog_unusable; /* the volumes were read without the catalog */
};

/*
 * Restore as ${o} says into ${o->target}, filling ${res}.  Returns 0 when
 * the restore ran to its end (losses, conflicts, refusals and failures are
 * counted in ${res} and told through ${o->event}); -1 when it had to stop:
 * CM_EUSAGE for a non-empty target without merge, CM_ENOSPC, CM_EINTR when
 * interrupted, CM_EINTERNAL, CM_EFORMAT when the catalog is unusable and
 * the options need it, CM_EIO when the target cannot be opened.
 */
int restore_run(const struct restore_opts *o, struct restore_result *res,
                struct cm_err *err);

/*
 * The exit status for a finished restore: CM_EIO if objects failed on the
 * target, else CM_DAMAGED if objects were lost or refused or the catalog
 * was unusable, else
 * CM_ECONFLICT if conflicts were left, else CM_OK.
 */
enum cm_code restore_status(const struct restore_result *res);

#endif
