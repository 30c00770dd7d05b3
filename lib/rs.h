/*
 * rs: Reed-Solomon erasure coding over GF(2^8), by Intel ISA-L.  A code
 * has k data fragments and m parity fragments of equal length; any k of
 * the k + m rebuild the rest.  The generator is ISA-L's
 * gf_gen_cauchy1_matrix (the identity over a Cauchy matrix, polynomial
 * 0x11d), so every square submatrix is invertible and any k fragments do.
 * coldmail-format(5) (Parity) fixes it as part of the format.
 *
 * A build without ISA-L (the static coldmail-restore, when no static ISA-L
 * library is at hand) has the same interface; rs_available() says 0 and
 * rs_new fails.  Parity layout and assessment need no codec.
 */
#ifndef RS_H
#define RS_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

/* k + m at most: the field has 256 elements. */
#define RS_FRAGMENTS_MAX 255

struct rs;

/* 1 if this build can encode and decode, 0 if not. */
int rs_available(void);

/*
 * A code with ${k} data and ${m} parity fragments (k, m >= 1, k + m <=
 * RS_FRAGMENTS_MAX).  CM_EUSAGE for other values or a build without a
 * codec (the message says so), CM_EINTERNAL for memory.
 */
int rs_new(unsigned k, unsigned m, struct rs **out, struct cm_err *err);

/*
 * Compute the ${c->m} parity fragments ${parity}[0..m) from the k data
 * fragments ${data}[0..k), each ${len} bytes (at most INT_MAX).
 */
void rs_encode(const struct rs *c, size_t len, uint8_t *const *data,
               uint8_t *const *parity);

/*
 * Rebuild erased data fragments.  ${frags}[0..k+m) are the data then the
 * parity fragments, ${len} bytes each; ${erased}[i] is nonzero for those
 * that are lost.  Every erased data fragment is overwritten with its
 * content; erased parity fragments are left alone (encode again to get
 * them).  CM_DAMAGED if more than m are erased (nothing is written).
 * Uses scratch space in ${c}: one decode at a time per code.
 */
int rs_decode(struct rs *c, size_t len, uint8_t *const *frags,
              const uint8_t *erased, struct cm_err *err);

void rs_free(struct rs *c);

#endif
