/*
 * holders: the sets whose volumes the objects of a set are read from.
 *
 * An incremental set's catalog lists the whole store, but an unchanged
 * object's record names the earlier set that holds its bytes: the set's
 * base, the base's base, and so on (MANIFEST "base" lines): its base chain.
 * Those sets are looked for among the directories setr_holder_dirs()
 * gives (set directories or media) and beside the set itself (the directory
 * holding it: its medium).  Each is opened with the same options as the
 * set, so its signature is checked against the same trusted key; without a
 * trusted key it must be signed by the same key as the set.  A set that is
 * not in the base chain is refused, whatever its MANIFEST claims, and so is
 * a record naming one.
 *
 * The chain is found once, on first need: each link opened (signature
 * checked) to read its base, and closed again.  At most HOLDERS_OPEN_MAX
 * sets besides the first stay open (the least recently used is closed
 * first), so memory stays bounded however long the chain and however
 * large the sets.  Each volume is probed once per opening: one that cannot
 * be opened at all is remembered, and every read from it then fails at
 * once with the same error.
 */
#ifndef HOLDERS_H
#define HOLDERS_H

#include <stdint.h>

#include "cm.h"
#include "manifest.h"
#include "setr.h"

/* Sets besides the first kept open at once. */
#define HOLDERS_OPEN_MAX 8
/* Longest base chain followed. */
#define HOLDERS_CHAIN_MAX 4096

struct holders;

/*
 * Holders for ${set} (borrowed; it must outlive them), which was opened
 * with ${opts} (borrowed too).  Nothing is looked for yet.  CM_EINTERNAL.
 * Free with holders_free().
 */
int holders_new(struct setr *set, const struct setr_opts *opts,
                struct holders **out, struct cm_err *err);

void holders_free(struct holders *h);

/*
 * The open set with id ${id} (the first set itself, or a set of its base
 * chain), its volume ${vol} probed and readable.  The pointer is valid
 * until the next call.  NULL with ${err}: CM_EAUTH for a set not in the
 * base chain (refused); CM_EIO for a set of the chain that was not found
 * (or does not open, or is signed by another key), or a volume that is
 * missing or unreadable; CM_EFORMAT for a volume the set does not have;
 * CM_EINTERNAL.  Messages do not name the object.
 */
struct setr *holders_volume(struct holders *h, const uint8_t id[16],
                            uint32_t vol, struct cm_err *err);

#endif
