/*
 * selfrestore: what a medium carries so that it restores itself when
 * coldmail is gone.  At the medium root, in COLDMAIL-TOOLS/:
 *
 *   coldmail-restore-ARCH-linux-static   coldmail-restore, statically linked
 *   coldmail-VERSION-src.tar.gz          the source of this coldmail
 *   README.txt                           what these are and how to use them
 *   SHA256SUMS                           their SHA-256 (sha256sum -c)
 *   SHA256SUMS.minisig                   signed with the pack's signing key
 *
 * The tools are found beside the running program (a build directory), or
 * in ../libexec/coldmail from it, or in COLDMAIL_LIBEXECDIR; the
 * environment variable COLDMAIL_TOOLS_DIR, if set, is the only place
 * looked in.  Each is copied once, and again only when it changes: written
 * under a temporary name, fsync'd, read back, renamed.  SHA256SUMS is
 * rewritten and signed again only when its text changes; tools it listed
 * before and no longer does (an older version's source) are removed.
 */
#ifndef SELFRESTORE_H
#define SELFRESTORE_H

#include "cm.h"
#include "minisig.h"

#define SELFRESTORE_DIR "COLDMAIL-TOOLS"
#define SELFRESTORE_SUMS "SHA256SUMS"
#ifndef COLDMAIL_STATIC_RESTORE_NAME
#define COLDMAIL_STATIC_RESTORE_NAME "coldmail-restore-static"
#endif
#define SELFRESTORE_SOURCE_NAME "coldmail-" COLDMAIL_VERSION "-src.tar.gz"
#define SELFRESTORE_FILE_MAX (256u << 20) /* largest tool copied */

/* Of each tool, in selfrestore_result. */
enum selfrestore_state {
    SELFRESTORE_NONE,    /* not found, and none on the medium */
    SELFRESTORE_CURRENT, /* on the medium, up to date */
    SELFRESTORE_STALE,   /* not found: the medium keeps an earlier copy */
};

struct selfrestore_result {
    enum selfrestore_state binary, source;
    unsigned copied;      /* files written this time */
    char looked_in[1024]; /* where the tools were looked for */
};

/*
 * Bring ${medium_dir}/COLDMAIL-TOOLS up to date with the tools found, and
 * sign SHA256SUMS with ${signer}.  A tool that is not found is not an
 * error: ${res} says what is on the medium.  CM_EIO/CM_ENOSPC naming the
 * file, CM_EINTERNAL.
 */
int selfrestore_update(const char *medium_dir,
                       const struct minisig_seckey *signer,
                       struct selfrestore_result *res, struct cm_err *err);

#endif
