/*
 * tapein: reading a set written as a tape stream (tape.h) sequentially,
 * from standard input, a device or a file, never seeking backwards.
 *
 * The outer archive is read with tarr (its refusals apply) in reads of up
 * to TAPE_BLOCK_MAX bytes, so that a tape written with any block size up
 * to that is read record by record.  It must hold one set: an optional
 * entry for the directory coldmail-*, and regular files directly in it
 * named as a set's files are (letters, digits, '.', '-', '_'); anything
 * else is malformed (CM_EFORMAT).
 */
#ifndef TAPEIN_H
#define TAPEIN_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

#define TAPEIN_NAME_MAX 160 /* the set directory's name, and a file's */

struct tapein;

/* A file of the set, as its entry says. */
struct tapein_member {
    char set_name[TAPEIN_NAME_MAX]; /* the directory it is in */
    char name[TAPEIN_NAME_MAX];     /* "vol-0001.tar.zst.age", ... */
    uint64_t size;
    uint64_t offset; /* of its first header block in the stream */
};

/*
 * Open ${path} for reading: TAPE_STDIO ("-") for standard input (CM_EUSAGE
 * if it is a terminal), or a device, FIFO or file.  CM_EIO.
 */
int tapein_open(const char *path, struct tapein **out, struct cm_err *err);

/*
 * The next file into ${m}, skipping what is left of the previous one.
 * Returns 1, 0 at the end of the archive, or -1: CM_EFORMAT (a malformed
 * stream, or an entry that is not a file of the set), CM_EIO.  After -1
 * every call fails.
 */
int tapein_next(struct tapein *t, struct tapein_member *m, struct cm_err *err);

/* Up to ${len} bytes of the current file; 0 at its end; -1 as above. */
long tapein_read(struct tapein *t, void *p, size_t len, struct cm_err *err);

/* Bytes of the stream read so far. */
uint64_t tapein_offset(const struct tapein *t);

/* The stream's name for messages ("standard input", or the path). */
const char *tapein_name(const struct tapein *t);

void tapein_free(struct tapein *t);

/*
 * Is ${path} a tape stream rather than a set or medium directory: "-", or
 * anything but a directory (a regular file, device or FIFO)?
 */
int tapein_is_stream(const char *path);

/*
 * Unpack the stream ${path} into a new private directory under
 * ${spool_dir}, sequentially: ${set_dir} (${len} bytes) gets the set
 * directory made there, holding the set's files.  Needs room for the whole
 * set.  On failure nothing is left.  CM_EFORMAT, CM_EIO, CM_ENOSPC.
 */
int tapein_unpack(const char *path, const char *spool_dir, char *set_dir,
                  size_t len, struct cm_err *err);

/* Remove what tapein_unpack made for ${set_dir} (and its parent).  */
void tapein_unpack_remove(const char *set_dir);

#endif
