/*
 * sealed: a file on the medium whose content is zstd-framed (zframe) and
 * age-encrypted to the set's recipients, hashed (whole and per 1 MiB
 * block) as it is written.  Volumes and the catalog are sealed files.
 *
 *   bytes ──► zframe writer (worker threads) ──► age writer ──► blockhash
 *                                                            └► the file
 *                                            read-back thread ◄┘
 */
#ifndef SEALED_H
#define SEALED_H

#include <stddef.h>
#include <stdint.h>

#include "agekey.h"
#include "cm.h"
#include "manifest.h"

struct sealed_opts {
    const struct age_recipient *recipients;
    size_t nrecipients;
    int level;         /* zstd level */
    int threads;       /* compression threads, 0: in the caller */
    size_t frame_size; /* 0: ZFRAME_FRAME_SIZE */
};

struct sealed;

/*
 * Create ${dir}/${name} (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0644) and start
 * the pipeline.  The file is removed again if anything fails before
 * sealed_finish succeeds (on free).
 */
int sealed_create(const char *dir, const char *name,
                  const struct sealed_opts *opts, struct sealed **out,
                  struct cm_err *err);

/* Add plaintext. */
int sealed_write(struct sealed *s, const void *p, size_t len,
                 struct cm_err *err);

/* A cm_write_fn over sealed_write (ctx is the struct sealed). */
int sealed_write_fn(void *ctx, const void *p, size_t len, struct cm_err *err);

/* Plaintext bytes taken so far. */
uint64_t sealed_bytes_in(const struct sealed *s);

/*
 * An upper bound on the file's size if it were finished now (compression
 * bound of what is still in flight, age overhead, seek table).
 */
uint64_t sealed_size_bound(const struct sealed *s);

/* An upper bound on the age header (and nonce) for ${nrecipients}. */
uint64_t sealed_header_bound(size_t nrecipients);

/* The size bound of a sealed file holding ${plaintext} more bytes. */
uint64_t sealed_extra_bound(uint64_t plaintext);

/*
 * Flush everything, fsync the file, finish reading it back from the medium
 * (lib/readback: most of it was read back while writing), close it, and
 * add its entry (size, SHA-256, block hashes) to ${m}.  If ${crcs_out} is
 * not NULL it gets the blocks' CRC-64 (caller frees).  A read-back
 * mismatch is CM_EIO.  After this, free keeps the file.
 */
int sealed_finish(struct sealed *s, struct manifest *m, uint64_t **crcs_out,
                  struct cm_err *err);

/* Stop the pipeline; removes the file unless finished.  NULL-safe. */
void sealed_free(struct sealed *s);

#endif
