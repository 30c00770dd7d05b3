/*
 * restoretxt: RESTORE.txt, the note on every set for a restorer who has the
 * medium, the identity and nothing else: what the set holds (counts and
 * dates, no message content), the keys, and the exact commands to verify,
 * repair and restore with coldmail-restore (installed, or the static one
 * the medium carries: selfrestore.h), or with minisign, sha256sum, age,
 * zstd and tar.
 */
#ifndef RESTORETXT_H
#define RESTORETXT_H

#include "buf.h"
#include "cm.h"
#include "manifest.h"

/*
 * The text for the set ${set_name} described by ${m} (of the file list,
 * only whether parity files are listed), appended to ${out}.
 */
int restoretxt_format(const struct manifest *m, const char *set_name,
                      struct buf *out, struct cm_err *err);

#endif
