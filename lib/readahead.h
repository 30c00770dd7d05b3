/*
 * readahead: a thread that decrypts and decompresses a volume's tar stream
 * ahead of a reader that moves forward through it (restore, in catalog
 * order), so that block hashing, age and zstd run on one core while the
 * reader hashes objects and writes files on another.
 *
 * The thread reads with its own set handle (a struct setr is not shared
 * between threads), in chunks of READAHEAD_CHUNK bytes aligned to the
 * stream (a few zstd frames each: few hand-overs between the threads), at
 * most READAHEAD_SLOTS chunks ahead of the reader.  A chunk that cannot be
 * read whole carries the set's error, and the thread goes on with the
 * next; since a chunk is coarser than the damage may be, the caller reads
 * a failed range again directly to learn exactly what is lost.  A read
 * behind the window, in another volume, or far ahead of it moves the
 * window there.
 */
#ifndef READAHEAD_H
#define READAHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "setr.h"

#define READAHEAD_CHUNK (4u << 20)
#define READAHEAD_SLOTS 6

struct readahead;

/*
 * Start the thread on ${set}, which it owns from now on (closed by
 * readahead_free, also on failure).  CM_EINTERNAL if out of memory or the
 * thread cannot start.
 */
int readahead_new(struct setr *set, struct readahead **out, struct cm_err *err);

/*
 * As setr_volume_pread(): ${len} bytes at ${off} of volume ${vol}'s tar
 * stream, waiting for the thread if needed.  The errors are the set's.
 */
int readahead_pread(struct readahead *ra, uint32_t vol, void *p, size_t len,
                    uint64_t off, struct cm_err *err);

/* Stop the thread and free.  NULL-safe. */
void readahead_free(struct readahead *ra);

#endif
