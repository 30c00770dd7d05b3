/*
 * hold: legal holds on sets.  A hold is a signed text file at the root of
 * the medium, beside the set it names: COLDMAIL-HOLD.<set directory name>
 * and its minisign signature COLDMAIL-HOLD.<set directory name>.minisig.
 * Not inside the set (verify would report an unexpected file there); upper
 * case like the medium label, so that what looks for coldmail-* sets
 * passes it by.  It binds the set by name, id and MANIFEST SHA-256:
 *
 *   coldmail-hold 1
 *   set coldmail-mail.example.org-20261128T224238Z-0123abcd
 *   set-id 0123abcd0123abcd0123abcd0123abcd
 *   manifest-sha256 <64 hex digits>
 *   held-at 2026-12-01T09:00:00Z
 *   signer-key-id 0123456789ABCDEF
 *   reason Litigation hold, case 2026-17
 *   end
 *
 * prune never removes a set that has a hold file, whether or not the file
 * verifies (one that does not is reported, never ignored), nor one the
 * state says is held.  Releasing deletes both files, after checking that
 * the hold verifies with the releasing key; the state keeps the reason.
 */
#ifndef HOLD_H
#define HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cm.h"
#include "manifest.h"
#include "minisig.h"

#define HOLD_PREFIX "COLDMAIL-HOLD."
#define HOLD_SIG_SUFFIX ".minisig"
#define HOLD_REASON_MAX MANIFEST_TEXT_MAX
#define HOLD_NAME_MAX 255 /* a set directory name */
#define HOLD_FILE_MAX 4096

struct hold {
    char set[HOLD_NAME_MAX + 1];
    uint8_t set_id[MANIFEST_SET_ID_SIZE];
    uint8_t manifest_sha256[32];
    int64_t held_at;
    char signer_key_id[MINISIG_KEYID_HEX_LEN];
    char reason[HOLD_REASON_MAX + 1];
};

/* The hold file text of ${h}, appended to ${out}. */
int hold_format(const struct hold *h, struct buf *out, struct cm_err *err);

/* Parse hold file text (strict).  CM_EFORMAT naming the line. */
int hold_parse(const char *text, size_t len, struct hold *h,
               struct cm_err *err);

enum hold_state {
    HOLD_NONE,      /* no hold file */
    HOLD_VALID,     /* verifies with the key, and names this set */
    HOLD_UNCHECKED, /* parses, but no key was given to verify it */
    HOLD_BAD,       /* malformed, unsigned, another key, another set */
};

/*
 * The hold on the set ${name} of ${medium_dir}.  With ${pk} (may be NULL)
 * the signature is checked, and with ${manifest_sha256} (may be NULL) that
 * the hold names this very set.  Fills ${h} when the file parses, and
 * ${why} for HOLD_BAD.  Returns the hold_state; never fails.
 */
enum hold_state hold_check(const char *medium_dir, const char *name,
                           const struct minisig_pubkey *pk,
                           const uint8_t manifest_sha256[32], struct hold *h,
                           struct cm_err *why);

struct hold_opts {
    const char *set_dir; /* the set to hold or release */
    const char *reason;  /* to hold: one printable line */
    int release;
    const struct minisig_seckey *signer;
    const char *state_dir; /* record in the state there, if it has one */
};

struct hold_result {
    struct hold hold; /* the hold placed or released */
    char hold_path[4096];
    int in_state; /* 1 recorded, 0 no state, -1 set unknown there */
};

/*
 * Place (or with ${o->release}, release) a hold on ${o->set_dir}.  Placing
 * writes the signature, then the hold file (never over an existing one:
 * CM_EUSAGE "already held"), then fsyncs the medium.  Releasing checks
 * that the hold verifies with ${o->signer} (CM_EAUTH, CM_ENOKEY,
 * CM_EFORMAT otherwise: a hold placed with another key is released by
 * hand), then deletes the hold file and its signature.  Both record the
 * change in the state when ${o->state_dir} holds one (CM_EBUSY while a
 * pack runs).  CM_EUSAGE if ${o->set_dir} is not a set; CM_EIO.
 */
int hold_run(const struct hold_opts *o, struct hold_result *res,
             struct cm_err *err);

#endif
