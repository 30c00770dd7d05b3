/*
 * readback: check, while a file is still being written, that the medium
 * returns what it was given.  A thread follows the writer a window
 * behind: it forces each written window to the medium (sync_file_range),
 * drops it from the page cache (posix_fadvise DONTNEED), reads it back and
 * compares each 1 MiB block's CRC-64 with the one computed while writing.
 * Reading back thus overlaps writing, instead of re-reading the whole
 * volume after its last byte.
 *
 * Test hook: COLDMAIL_TEST_READBACK_FLIP=NAME makes the read-back of file
 * NAME see one byte changed, as a failing medium would return it.
 */
#ifndef READBACK_H
#define READBACK_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

/* Bytes the checker stays behind the writer, at least. */
#define READBACK_WINDOW (16u << 20)

struct readback;

/*
 * Start checking the file being written through ${wfd} at ${path}
 * (${name} in messages).  Blocks are MANIFEST_BLOCK_SIZE bytes.
 */
int readback_start(int wfd, const char *path, const char *name,
                   struct readback **out, struct cm_err *err);

/*
 * The writer has written ${written} bytes in all; ${crcs} holds the CRC-64
 * of each of the first ${ncrcs} (complete) blocks.  Called from the thread
 * that writes, after each write.
 */
void readback_wrote(struct readback *rb, uint64_t written,
                    const uint64_t *crcs, uint64_t ncrcs);

/*
 * The writer is done and has fsync'd the file, which holds ${size} bytes
 * in ${ncrcs} blocks (the last may be short).  Check the rest, stop the
 * thread, and report: 0, or CM_EIO "read-back from the medium does not
 * match what was written: NAME: ...".
 */
int readback_finish(struct readback *rb, uint64_t size, const uint64_t *crcs,
                    uint64_t ncrcs, struct cm_err *err);

/* Stop (if still running) and free.  NULL-safe. */
void readback_free(struct readback *rb);

#endif
