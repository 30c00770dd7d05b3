/*
 * mediumscan: the sets on a medium, read from their MANIFESTs without any
 * key (signatures are not checked here: callers that trust what they find
 * check them).  For media ls, state rebuild, and a pack that finds the
 * state lost.
 */
#ifndef MEDIUMSCAN_H
#define MEDIUMSCAN_H

#include <stdint.h>

#include "cm.h"
#include "manifest.h"

struct mediumscan_set {
    const char *name;            /* directory name */
    const char *dir;             /* path */
    const struct manifest *m;    /* parsed MANIFEST */
    const uint8_t *manifest_sha256;
};

/*
 * Call ${fn} for every set directory ("coldmail-*", not "*.incomplete"
 * nor "*.removing", a set that prune is deleting)
 * on ${medium_dir}, in name order (which is creation-time order for one
 * host).  A directory whose MANIFEST is missing or does not parse is
 * reported through ${bad} (may be NULL) and skipped.  ${fn} returning -1
 * stops the scan.
 */
int mediumscan_sets(const char *medium_dir,
                    int (*fn)(void *ctx, const struct mediumscan_set *s,
                              struct cm_err *err),
                    void (*bad)(void *ctx, const char *name,
                                const struct cm_err *why),
                    void *ctx, struct cm_err *err);

/* Bytes of the regular files in the set directory ${dir}, as they are on
 * the medium (0 if it cannot be read). */
uint64_t mediumscan_dir_bytes(const char *dir);

#endif
