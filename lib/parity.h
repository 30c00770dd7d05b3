/*
 * parity: Reed-Solomon parity over the 1 MiB blocks of a file of a set (each
 * volume and the catalog), so that blocks lost to bit rot can be rebuilt
 * without any key.  MANIFEST holds the signed SHA-256 of every block, so a
 * damaged block is known exactly: an erasure, not an error, and m parity
 * blocks per stripe rebuild any m lost blocks of that stripe.
 *
 * Layout (coldmail-format(5), Parity).  A file of N blocks is protected by
 * S = ceil(N / k) stripes of k data blocks and m parity blocks.  Stripe s
 * holds blocks s, s + S, s + 2S, ..., s + (k-1)S: neighbours are in
 * different stripes, so any run of up to m*S consecutive bad blocks (about
 * m/k of the file) costs each stripe at most m, and is repairable.  Places
 * past the end (block >= N) and the tail of the last block count as zero
 * bytes.  Every fragment is L bytes: the block size, or the file size for a
 * file of one block.  The parity fragments go to NAME.par, stripe after
 * stripe: fragment j of stripe s at byte (s*m + j) * L.  NAME.par is listed
 * in MANIFEST like every file, after NAME, with a "parity-of NAME k m S"
 * line; its own blocks are hashed, so damaged parity is known and never
 * used.  k is at most PARITY_K_MAX (memory is about (k + m) * L while
 * encoding or repairing one stripe) and m = round(k * percent / 100), at
 * least 1.
 */
#ifndef PARITY_H
#define PARITY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cm.h"
#include "filecheck.h"
#include "manifest.h"

#define PARITY_SUFFIX ".par"
#define PARITY_K_MAX 64
#define PARITY_DEFAULT_PERCENT 5
#define PARITY_PERCENT_MAX 100

struct parity_layout {
    uint64_t size;    /* of the protected file */
    uint64_t nblocks; /* its 1 MiB blocks, N */
    uint32_t k, m;
    uint64_t stripes; /* S */
    size_t shard;     /* L, bytes of every fragment */
};

/*
 * The layout for a file of ${size} bytes (more than 0) with about
 * ${percent} (1 to PARITY_PERCENT_MAX) percent parity.  CM_EUSAGE for a
 * percent out of range.
 */
int parity_layout_choose(uint64_t size, unsigned percent,
                         struct parity_layout *l, struct cm_err *err);

/*
 * The layout of the parity file ${par} of ${m} (it has a parity-of line),
 * checked against the file it protects: S = ceil(N / k) and the parity
 * file's size S * m * L.  CM_EFORMAT naming ${par} if they disagree.
 */
int parity_layout_of(const struct manifest *m, const struct manifest_file *par,
                     struct parity_layout *l, struct cm_err *err);

/* Bytes of the parity file. */
uint64_t parity_file_size(const struct parity_layout *l);

/* The stripe holding block ${block} (< N), and its place in it (< k). */
uint64_t parity_stripe_of(const struct parity_layout *l, uint64_t block,
                          uint32_t *place);

/* The block at ${place} (< k) of stripe ${stripe}; >= N: a zero block. */
uint64_t parity_block_at(const struct parity_layout *l, uint64_t stripe,
                         uint32_t place);

/*
 * The blocks of the parity file (MANIFEST's 1 MiB blocks) that hold parity
 * fragment ${j} of stripe ${stripe}: *${first} to *${last}.
 */
void parity_fragment_blocks(const struct parity_layout *l, uint64_t stripe,
                            uint32_t j, uint64_t *first, uint64_t *last);

/*
 * Read block ${block} of the protected file, open as ${fd} (${path} for
 * messages), into ${buf} (L bytes), zero-padded; a block >= N is all zero.
 * CM_EIO if it cannot be read whole.
 */
int parity_read_block(int fd, const char *path, const struct parity_layout *l,
                      uint64_t block, uint8_t *buf, struct cm_err *err);

/*
 * Pack side: compute the parity of ${dir}/${m->files[index].name} (written
 * and listed), stripe by stripe with bounded memory, write it to
 * ${dir}/NAME.par (O_EXCL), fsync, list it in ${m} with its parity-of
 * line, and read it back from the medium.  Nothing for an empty file.
 * ${m->files} may move.  CM_EIO/CM_ENOSPC naming the file; CM_EUSAGE for
 * a bad ${percent} or a build without a codec.
 */
int parity_write(const char *dir, struct manifest *m, size_t index,
                 unsigned percent, struct cm_err *err);

/* What repair can do for one damaged file of a set. */
struct parity_verdict {
    size_t file;    /* index in m->files */
    int is_parity;  /* it is itself a parity file */
    int covered;    /* a usable parity file protects it (or, for a
                       parity file: its layout is consistent) */
    uint64_t bad;   /* bad blocks (all of them if missing) */
    uint64_t *lost; /* the bad blocks beyond repair, ascending */
    size_t nlost;
    uint64_t stripes_over; /* stripes with more erasures than parity */
};

struct parity_assessment {
    struct parity_verdict *v; /* damaged files, in MANIFEST order */
    size_t n;
    uint64_t repairable; /* bad blocks repair can rebuild */
    uint64_t lost;       /* bad blocks beyond repair */
};

/*
 * Which damage `coldmail-restore repair` can rebuild.  ${reports}[i] is
 * what filecheck found for ${m->files}[i], or NULL if the file is intact.
 * A missing or unreadable file counts as all its blocks bad; a file only
 * longer than listed is repairable with no bad block.  A stripe rebuilds
 * if its bad data blocks and bad parity fragments together are at most m
 * (a fragment is bad if any MANIFEST block holding it is); then its bad
 * parity fragments are rebuilt too.  A parity file whose layout is
 * inconsistent protects nothing.  Free with parity_assessment_free.
 * CM_EINTERNAL only.
 */
int parity_assess(const struct manifest *m,
                  const struct filecheck_report *const *reports,
                  struct parity_assessment *out, struct cm_err *err);

void parity_assessment_free(struct parity_assessment *a);

/*
 * Append ${n} ascending block numbers as ranges ("3, 7-9, 12"), at most
 * ${max_ranges} of them and then ", ... (N more)".
 */
int parity_format_blocks(const uint64_t *blocks, size_t n, size_t max_ranges,
                         struct buf *out, struct cm_err *err);

#endif
