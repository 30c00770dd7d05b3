/*
 * tape: a set as one outer tar stream, for tape and other sequential media
 * (coldmail-format(5), "Tape and other sequential media").
 *
 * The stream is a POSIX pax tar archive of the set directory: its entry
 * first, then the set's files in the order they are finished (each volume
 * and its parity file, the catalog and its parity, RESTORE.txt, and last
 * MANIFEST.minisig and MANIFEST), so that `tar -x` gives the set directory.
 * It goes to standard output or to a device (or a plain file standing in
 * for one) in writes of exactly the block size, the end padded with zero
 * bytes as tar pads its last block; nothing is ever sought.
 *
 * A tar header needs the file's size, so each file is complete in a spool
 * directory before it is added, and is removed once it is in the stream:
 * the spool holds about one volume (and its parity) at a time.
 *
 * Reading such a stream back, sequentially: tapein.h.
 */
#ifndef TAPE_H
#define TAPE_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

#define TAPE_BLOCK_DEFAULT (256u << 10)
#define TAPE_BLOCK_MAX (16u << 20) /* also the reader's buffer */
#define TAPE_STDIO "-"             /* standard output or input */

struct tape;

/*
 * Start a stream to ${device}: TAPE_STDIO for standard output (CM_EUSAGE if
 * that is a terminal), or a path: a tape or other character device, a
 * FIFO, or a regular file (created, or truncated).  ${block_size} is a
 * multiple of 512 up to TAPE_BLOCK_MAX (CM_EUSAGE otherwise).  CM_EIO.
 */
int tape_open(const char *device, size_t block_size, struct tape **out,
              struct cm_err *err);

/*
 * Append ${dir}/${name} as "${set_name}/${name}" (the first call also
 * writes the entry of the directory ${set_name}), then remove it from
 * ${dir}.  CM_EIO naming the file or the device, CM_ENOSPC.
 */
int tape_add_file(struct tape *t, const char *dir, const char *set_name,
                  const char *name, struct cm_err *err);

/*
 * A setw on_file callback (setw.h) over tape_add_file: ${ctx} is the
 * struct tape.
 */
int tape_setw_file(void *ctx, const char *dir, const char *set_name,
                   const char *name, struct cm_err *err);

/*
 * End the archive, pad the last block, flush, and for a regular file or a
 * device fsync and close it.  CM_EIO, CM_ENOSPC.
 */
int tape_close(struct tape *t, struct cm_err *err);

/* Bytes written to the device so far (whole blocks). */
uint64_t tape_bytes(const struct tape *t);

/* Free; an unfinished stream is left as it is (closed).  NULL-safe. */
void tape_free(struct tape *t);

#endif
