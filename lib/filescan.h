/*
 * filescan: check one file of a set against its MANIFEST entry, as
 * filecheck_file() does (size, whole SHA-256, the SHA-256 of each 1 MiB
 * block; a block that cannot be read is bad and the check carries on),
 * with the same report, but faster and with progress.  Every byte needs
 * two SHA-256 passes (the whole-file hash cannot be derived from the block
 * hashes), so with two threads the file is read once, in order, and each
 * block is hashed into the whole-file hash on the caller's thread while a
 * helper thread hashes it on its own and compares it with MANIFEST.  One
 * large volume is thus checked at the speed of one SHA-256 pass.
 */
#ifndef FILESCAN_H
#define FILESCAN_H

#include "cm.h"
#include "filecheck.h"
#include "manifest.h"
#include "progress.h"

/* Blocks in flight between the threads (memory: this many MiB). */
#define FILESCAN_RING 4

struct filescan_opts {
    int threads;               /* 2: block hashes on a helper thread;
                                  0 or 1: everything on the caller's */
    int uncached;              /* drop the file's cached pages first */
    struct progress *progress; /* bytes read are counted here; NULL */
};

/*
 * Check ${dir}/${f->name} as filecheck_file() does; the findings go to
 * ${r} (free with filecheck_report_free) and are described by
 * filecheck_describe().  Returns 0, or -1 only when the check itself could
 * not run: CM_EINTERNAL (out of memory, no thread).
 */
int filescan_file(const char *dir, const struct manifest_file *f,
                  const struct filescan_opts *o, struct filecheck_report *r,
                  struct cm_err *err);

#endif
