/*
 * blake2b: unkeyed BLAKE2b (RFC 7693) with any digest size from 1 to 64
 * bytes.  OpenSSL 3.0 offers only the 64-byte BLAKE2B-512 without a key
 * or size parameter; minisign needs BLAKE2b-256 for its secret key
 * checksum and BLAKE2b-512 for its prehash, so both come from here.
 */
#ifndef BLAKE2B_H
#define BLAKE2B_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

#define BLAKE2B_OUTBYTES_MAX 64
#define BLAKE2B_BLOCKBYTES 128

struct blake2b_state {
    uint64_t h[8];
    uint64_t t[2];                   /* bytes hashed so far, 128-bit */
    uint8_t buf[BLAKE2B_BLOCKBYTES]; /* the block not yet compressed */
    size_t buflen;
    size_t outlen;
};

/*
 * Start an unkeyed hash whose digest is ${outlen} bytes (1 to 64; a
 * different size is a different hash, not a truncation).  Returns 0, or -1
 * with CM_EINTERNAL if ${outlen} is out of range.
 */
int blake2b_init(struct blake2b_state *s, size_t outlen, struct cm_err *err);

/* Hash ${len} more bytes at ${in} (${in} may be NULL if ${len} is 0). */
void blake2b_update(struct blake2b_state *s, const void *in, size_t len);

/*
 * Write the digest, ${s}->outlen bytes, to ${out}, and wipe ${s}; start
 * again with blake2b_init() to reuse it.
 */
void blake2b_final(struct blake2b_state *s, uint8_t *out);

/*
 * The ${outlen}-byte digest of ${len} bytes at ${in}, into ${out}.  0, or
 * -1 with CM_EINTERNAL if ${outlen} is out of range.
 */
int blake2b_hash(uint8_t *out, size_t outlen, const void *in, size_t len,
                 struct cm_err *err);

#endif
