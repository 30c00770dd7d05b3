/*
 * state: the pack host's memory, a SQLite database in the state directory
 * (default /var/lib/coldmail): the hash chain of the sets this host wrote
 * (sequence numbers and MANIFEST hashes), and where each set went.
 *
 * Opening takes an exclusive lock (a lock file beside the database), so two
 * packs at once are refused (CM_EBUSY) rather than interleaved.
 */
#ifndef STATE_H
#define STATE_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "manifest.h"

#define STATE_DEFAULT_DIR "/var/lib/coldmail"

struct state;

/*
 * Open (creating if needed, mode 0700) the state directory ${dir}, lock it,
 * and open its database (WAL journal, busy timeout).  CM_EBUSY if another
 * run holds the lock; CM_EIO if the directory cannot be created or written.
 */
int state_open(const char *dir, struct state **out, struct cm_err *err);

struct state_chain_head {
    uint64_t sequence;    /* of the newest set, 0 if none */
    int has_manifest;
    uint8_t manifest_sha256[32];
};

/* The newest set of the chain. */
int state_chain_head(struct state *s, struct state_chain_head *head,
                     struct cm_err *err);

/*
 * Record a committed set: its MANIFEST (parsed), the SHA-256 of the
 * MANIFEST bytes, and the set directory's path.
 */
int state_record_set(struct state *s, const struct manifest *m,
                     const uint8_t manifest_sha256[32], const char *set_dir,
                     struct cm_err *err);

/* Close the database and release the lock.  NULL-safe. */
void state_close(struct state *s);

#endif
