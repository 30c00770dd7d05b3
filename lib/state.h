/*
 * state: the pack host's memory, a SQLite database in the state directory
 * (default /var/lib/coldmail):
 *
 *   media     every medium seen: id, label, where and when last seen, size
 *             and free space then, when last verified
 *   sets      every set written: the hash chain (sequence, MANIFEST
 *             SHA-256), its medium, kind and base, legal holds, removals
 *   objects   per medium, the listing of its newest set: for each object a
 *             key (Maildir: mailbox, unique name and size; other files: the
 *             path), size, mtime, and its catalog line, which says where its
 *             bytes are.  Incrementals look objects up here.
 *
 * Opening takes an exclusive lock (a lock file beside the database), so two
 * packs at once are refused (CM_EBUSY) rather than interleaved.  A pack
 * stages its new listing in a transaction and swaps it in when the set is
 * committed, so a failed pack leaves the database as it was.
 */
#ifndef STATE_H
#define STATE_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "manifest.h"
#include "medium.h"

#define STATE_DEFAULT_DIR "/var/lib/coldmail"

struct state;

/*
 * Open (creating if needed, mode 0700) the state directory ${dir}, lock it
 * (unless ${shared}: readers such as `status` do not lock), and open its
 * database (WAL journal, busy timeout).  CM_EBUSY if another run holds the
 * lock; CM_EIO if the directory cannot be created or written.
 */
int state_open(const char *dir, int shared, struct state **out,
               struct cm_err *err);

struct state_chain_head {
    uint64_t sequence; /* of the newest set, 0 if none */
    int has_manifest;
    uint8_t manifest_sha256[32];
    char medium_id[33]; /* where the newest set went */
    char medium[MEDIUM_LABEL_MAX + 1];
};

/* The newest set of the chain. */
int state_chain_head(struct state *s, struct state_chain_head *head,
                     struct cm_err *err);

/* Record that medium ${l} was seen mounted at ${path}, with its sizes. */
int state_medium_seen(struct state *s, const struct medium_label *l,
                      const char *path, uint64_t bytes_total,
                      uint64_t bytes_free, struct cm_err *err);

struct state_set {
    uint64_t sequence;
    char set_id[33];
    char set_dir[4096];
    char kind[16];
    uint8_t manifest_sha256[32];
    int64_t created;
};

/*
 * The newest set (not removed) on medium ${medium_id}; *${found} says
 * whether there is one, and *${incrementals} how many incremental sets
 * follow the last full one on that medium.
 */
int state_newest_on_medium(struct state *s, const char *medium_id,
                           struct state_set *out, int *found,
                           uint64_t *incrementals, struct cm_err *err);

/* Does the medium have an object index (it had a set packed from here)? */
int state_has_index(struct state *s, const char *medium_id, int *has,
                    struct cm_err *err);

/* Begin a pack: a transaction and an empty staging listing. */
int state_pack_begin(struct state *s, struct cm_err *err);

struct state_object {
    uint64_t size;
    int64_t mtime;
    uint32_t mtime_ns;
    char *line; /* the catalog line, without newline (caller frees) */
};

/*
 * Look up ${key} (${keylen} bytes) in the listing of medium ${medium_id}.
 * Returns 1 and fills ${out}, 0 if absent, -1 on error.
 */
int state_object_get(struct state *s, const char *medium_id, const void *key,
                     size_t keylen, struct state_object *out,
                     struct cm_err *err);

/* Stage ${key} for the listing that replaces the medium's at commit. */
int state_object_put(struct state *s, const void *key, size_t keylen,
                     uint64_t size, int64_t mtime, uint32_t mtime_ns,
                     const char *line, size_t linelen, struct cm_err *err);

/*
 * Stage ${key} (${keylen} bytes) as the medium's listing has it: its row
 * stays as it is (cheaper than state_object_put of the same line).
 */
int state_object_keep(struct state *s, const void *key, size_t keylen,
                      struct cm_err *err);

/*
 * Stage, unchanged, every object of medium ${medium_id}'s listing whose key
 * starts with the ${len} bytes at ${prefix} (the last of which must not be
 * 0xff): what an unchanged file brings along (its mbox records).
 */
int state_object_carry(struct state *s, const char *medium_id,
                       const void *prefix, size_t len, struct cm_err *err);

/*
 * Commit a pack: record the set (its MANIFEST, parsed; the SHA-256 of the
 * MANIFEST bytes; where it is; bytes written), replace the listing of its
 * medium with the staged one, and commit the transaction.
 */
int state_pack_commit(struct state *s, const struct manifest *m,
                      const uint8_t manifest_sha256[32], const char *set_dir,
                      const char *medium_id, uint64_t bytes_written,
                      struct cm_err *err);

/* Abandon a pack: roll the transaction back.  Safe to call twice. */
void state_pack_abort(struct state *s);

/* Close the database and release the lock.  NULL-safe. */
void state_close(struct state *s);

/* The database handle, for the modules that query it (status, prune). */
struct sqlite3 *state_db(struct state *s);

/*
 * state rebuild: record a set found on a medium, from its MANIFEST ${m}
 * (parsed), the SHA-256 of the MANIFEST bytes, its directory, its medium's
 * id (may be NULL) and its bytes on the medium.  Returns 1 if recorded, 0
 * if the state already knew the set (it is then marked present, at
 * ${set_dir}), -1 on error: CM_ECONFLICT if its sequence number is recorded
 * for another set (a fork), CM_EIO.
 */
int state_set_import(struct state *s, const struct manifest *m,
                     const uint8_t manifest_sha256[32], const char *set_dir,
                     const char *medium_id, uint64_t bytes, struct cm_err *err);

/*
 * Forget the listing of medium ${medium_id}: its next pack is a full set
 * (for a set found on the medium that the state had not recorded).
 */
int state_forget_listing(struct state *s, const char *medium_id,
                         struct cm_err *err);

/* prune: the set ${set_id} (32 hex digits) is gone from its medium. */
int state_set_removed(struct state *s, const char *set_id, struct cm_err *err);

/*
 * hold: record (${held} 1, with ${reason}) or clear (${held} 0; ${reason}
 * may be NULL and the last reason is kept) a legal hold on ${set_id};
 * *${found} says whether the state knows the set.
 */
int state_set_hold(struct state *s, const char *set_id, int held,
                   const char *reason, int *found, struct cm_err *err);

/*
 * Is ${set_id} held, per the state?  1 (its reason copied to ${reason},
 * ${reasonlen} bytes), 0 (not held, or unknown), -1 on error.
 */
int state_set_held(struct state *s, const char *set_id, char *reason,
                   size_t reasonlen, struct cm_err *err);

/*
 * Does ${dir} hold a state database?  Commands that can work from the
 * media alone (status, prune, hold) open a state only where there is one.
 */
int state_exists(const char *dir);

#endif
