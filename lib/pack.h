/*
 * pack: the pack side's main job.  Walk the stores, read every object once
 * (O_RDONLY|O_NOFOLLOW, O_NOATIME where allowed), hash it, catalogue it
 * (messages with their Message-ID, Date, From, Subject and flags; mbox files
 * split into messages without changing a byte), and stream it into the set
 * writer (setw), which commits a signed, verified set or nothing.
 *
 * The source is only ever read.  Mail that moves during the run (a Maildir
 * flag rename, a move between cur/ and new/) is found under its new name;
 * mail that is expunged is recorded as gone.  Neither fails the run.
 */
#ifndef PACK_H
#define PACK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "agekey.h"
#include "cm.h"
#include "minisig.h"

#define PACK_DEFAULT_VOLUME_SIZE (4ull << 30)
#define PACK_DEFAULT_LEVEL 3
#define PACK_DEFAULT_MAX_CHAIN 6

struct pack_progress {
    uint64_t objects_done, objects_total;
    uint64_t bytes_done, bytes_total;
    const char *current;   /* path being packed */
};

struct pack_opts {
    const char *medium_dir;
    const char *const *stores;   /* NULL-terminated */
    const char *const *excludes; /* NULL-terminated, may be NULL */
    const struct age_recipients *recipients;
    const struct minisig_seckey *signer;
    const char *state_dir;
    const char *host;            /* NULL: the host name */
    const char *label;           /* NULL: none */
    const char *init_label;      /* label an unlabelled medium so; or NULL */
    int full;                    /* never incremental */
    int max_chain;               /* incrementals before a new full set */
    uint64_t volume_size;
    unsigned parity_percent;     /* parity per volume (parity.h); 0: none */
    int level;
    int threads;
    int dry_run;
    /* Tape (tape.h): write the set as one tar stream to ${tape} ("-":
     * standard output) in writes of ${block_size} bytes; medium_dir is
     * then the spool directory, which holds about one volume at a time.
     * A tape set is always full and goes to no labelled medium: its
     * MANIFEST "medium" line is ${tape_label} (or none if NULL), and it
     * is recorded in the state's chain like any other. */
    const char *tape;
    size_t block_size;
    const char *tape_label;
    /* Spanning media (setw.h): when the medium is full, the next one is
     * the directory ${next_medium} (a shell command) prints, or with
     * ${interactive} the one the operator mounts when asked; the catalog
     * then waits in ${spool_dir} until the last part.  Neither: a full
     * medium fails the run (CM_ENOSPC) and nothing is committed. */
    const char *next_medium;
    int interactive;
    const char *spool_dir;
    /* Called now and then; may be NULL. */
    void (*progress)(void *ctx, const struct pack_progress *p);
    /* Things skipped or changed ("x: device node, skipped"); may be NULL. */
    void (*warn)(void *ctx, const char *msg);
    void *ctx;
    /* Set by a signal handler to stop the run cleanly; may be NULL. */
    volatile sig_atomic_t *interrupted;
};

struct pack_result {
    char set_dir[4096];
    char set_id[33];
    uint64_t sequence;
    char kind[16];         /* "full" or "incremental" */
    char base_set[33];     /* an incremental's base, or "" */
    char medium[65];       /* the medium's label */
    int chain_break;       /* the chain restarts with this set */
    uint64_t reused;       /* objects already on the medium, not stored */
    uint64_t reused_bytes;
    uint64_t messages;     /* catalogued messages (Maildir, MH, mbox) */
    uint64_t files;        /* other regular files */
    uint64_t dirs, symlinks;
    uint64_t mbox_files;
    uint64_t bytes_in;     /* content bytes read from the stores */
    uint64_t bytes_written;/* bytes of the set on the medium */
    uint64_t volumes;
    uint64_t moved;        /* messages found under a new name */
    uint64_t gone;         /* messages expunged before they could be read */
    uint64_t changed;      /* files that changed size while read */
    uint64_t skipped;      /* device nodes, sockets, FIFOs */
    uint64_t largest;      /* largest object, bytes */
    char largest_path[4096];
    double seconds;
    int verified;          /* every file read back and matched */
    uint64_t tape_bytes;   /* with opts.tape: bytes of the stream */
    uint32_t parts;        /* media the set spans; set_dir is the last's */
};

/*
 * Pack ${opts->stores} into a new set on ${opts->medium_dir}, or with
 * dry_run only walk and count.  The medium must carry a label signed with
 * the same key by this host (or init_label makes one).  The set is
 * incremental on the newest set of the same medium when the state has that
 * medium's listing, unless full is set, the base is missing or changed, or
 * max_chain incrementals already follow the last full set.  Fills ${res}.
 * Errors (each naming the file): CM_EUSAGE (bad options, a store that is
 * not a directory or is empty, a volume size below the largest object, an
 * unlabelled or foreign medium), CM_ENOKEY (a medium labelled with another
 * key), CM_EIO (unreadable store, medium or state), CM_ENOSPC (medium
 * full), CM_EBUSY (another pack runs), CM_EINTR (interrupted).  On failure no set is left that looks complete.
 */
int pack_run(const struct pack_opts *opts, struct pack_result *res,
             struct cm_err *err);

#endif
