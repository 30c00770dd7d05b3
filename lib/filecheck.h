/*
 * filecheck: does a file of a set hold what MANIFEST says?  Size, whole
 * SHA-256 and each 1 MiB block's SHA-256.  A read error in one block marks
 * that block bad and the check carries on, so that a medium with bad sectors
 * is mapped, not given up on.  Used by the pack's read-back and by verify.
 */
#ifndef FILECHECK_H
#define FILECHECK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cm.h"
#include "manifest.h"

struct filecheck_report {
    int missing;          /* no such file */
    int not_regular;      /* a directory, symlink, ... in its place */
    uint64_t size;        /* actual size */
    int size_ok;
    int sha256_ok;
    uint64_t *bad_blocks; /* ascending block indexes that do not match */
    size_t nbad;
    uint64_t read_errors; /* blocks that could not be read at all */
};

/*
 * Check ${dir}/${f->name}.  With ${uncached}, drop the file's pages from
 * the page cache first so that the medium itself is read.  Returns 0 with
 * the findings in ${r} (free with filecheck_report_free), or -1 when the
 * check itself could not run (out of memory).
 */
int filecheck_file(const char *dir, const struct manifest_file *f,
                   int uncached, struct filecheck_report *r,
                   struct cm_err *err);

/* Did the file match in every respect? */
int filecheck_ok(const struct filecheck_report *r);

/*
 * Describe the damage in one line per finding, appended to ${out}:
 * "vol-0003.tar.zst.age: blocks 17-18 (bytes 17825792-19922943) do not
 * match".
 */
int filecheck_describe(const struct manifest_file *f,
                       const struct filecheck_report *r, struct buf *out,
                       struct cm_err *err);

void filecheck_report_free(struct filecheck_report *r);

/*
 * The pack's read-back: drop ${dir}/${name} from the page cache, read it
 * from the medium and compare its size with ${size} and each block's CRC-64
 * with ${crcs} (${n} blocks, computed while writing).  0 if all match;
 * otherwise CM_EIO saying which blocks came back different.
 */
int filecheck_readback(const char *dir, const char *name, uint64_t size,
                       const uint64_t *crcs, uint64_t n, struct cm_err *err);

#endif
