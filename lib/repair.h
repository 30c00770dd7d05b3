/*
 * repair: rebuild the damaged blocks of a set from its parity files
 * (parity.h), without any decryption key.  What `coldmail-restore repair`
 * runs.
 *
 * The MANIFEST signature is checked first (setr), so every block hash is
 * trusted; then every listed file is read and its blocks checked.  A block
 * that does not match is an erasure.  Each stripe with erasures is rebuilt
 * from blocks and parity fragments that match MANIFEST (never from damaged
 * parity), and every rebuilt block is checked against its signed hash
 * before it is written.  Parity fragments that were damaged are computed
 * again from the stripe's data.
 *
 * Output, never over the original unless asked:
 *  - out_dir: a full copy of the set is written to out_dir/SET_NAME (under
 *    SET_NAME.incomplete until done): intact files copied, damaged ones
 *    repaired as far as parity allows (blocks beyond repair are copied as
 *    they are, so that a restore can still use the undamaged age chunks in
 *    them), MANIFEST and its signature copied and checked again.  Every
 *    file is read back from the output (page cache dropped) and checked.
 *  - in_place: each damaged file is rebuilt as NAME.repairing beside it,
 *    fsync'd, read back and checked whole; only then renamed over the
 *    original.  A file that cannot be repaired whole is left as it was.
 *  - dry_run: only say what could be repaired.
 */
#ifndef REPAIR_H
#define REPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cm.h"
#include "minisig.h"

#define REPAIR_TEMP_SUFFIX ".repairing"

struct repair_opts {
    /* The key the set must be signed with; NULL: its own key. */
    const struct minisig_pubkey *trusted;
    const char *out_dir; /* exactly one of out_dir, in_place, dry_run */
    int in_place;
    int dry_run;
};

/* One file that was damaged. */
struct repair_file {
    char *name;
    int is_parity;  /* a parity file */
    int has_parity; /* a usable parity file protects it */
    uint64_t size;
    uint64_t bad;      /* blocks that did not match (all if missing) */
    uint64_t *rebuilt; /* blocks rebuilt and checked, ascending */
    size_t nrebuilt;
    uint64_t *lost; /* blocks still bad in the output (or, in a dry
                       run, that repair could not rebuild) */
    size_t nlost;
    int replaced; /* in place: the repaired file replaced it */
};

struct repair_result {
    char set_name[256];
    char output[4200]; /* the repaired set, or "" */
    int trusted;       /* the signature was checked with a trusted key */
    int dry_run, in_place;
    uint64_t files; /* files listed in MANIFEST */
    uint64_t bytes; /* bytes of the listed files */
    struct repair_file *damaged;
    size_t ndamaged;
    uint64_t rebuilt, lost; /* blocks */
    enum cm_code code;      /* CM_OK: nothing is lost; CM_DAMAGED: some
                               blocks are beyond repair */
};

/*
 * Repair the set ${set_dir} as ${o} says, the outcome in ${r} (free with
 * repair_result_free).  Returns 0 when the repair ran, whatever it found
 * (${r->code}); -1 with CM_EUSAGE (bad options, the output exists), CM_EIO
 * or CM_ENOSPC (reading the set or writing the output failed), CM_EFORMAT,
 * CM_ENOKEY or CM_EAUTH (MANIFEST malformed, signed by another key, or its
 * signature does not verify: nothing can be trusted then), CM_EINTERNAL.
 */
int repair_run(const char *set_dir, const struct repair_opts *o,
               struct repair_result *r, struct cm_err *err);

void repair_result_free(struct repair_result *r);

/*
 * The report for people: a line per damaged file ("vol-0002.tar.zst.age:
 * rebuilt blocks 3-5, 9"; "...: blocks 10-12 (bytes ...) beyond repair")
 * and a summary line.
 */
int repair_format_text(const struct repair_result *r, struct buf *out,
                       struct cm_err *err);

#endif
