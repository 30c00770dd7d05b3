/*
 * blockhash: SHA-256 of a whole file and of each of its fixed-size blocks,
 * computed as the bytes stream by.  What MANIFEST lists for every file, and
 * what verify and the pack's read-back recompute.
 */
#ifndef BLOCKHASH_H
#define BLOCKHASH_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

struct blockhash;

/* A fresh hasher for blocks of ${block_size} bytes. */
int blockhash_new(uint32_t block_size, struct blockhash **out,
                  struct cm_err *err);

/* Hash ${len} more bytes. */
int blockhash_update(struct blockhash *b, const void *p, size_t len,
                     struct cm_err *err);

/*
 * Finish: the whole-file hash into ${whole}; the block hashes stay
 * available through blockhash_blocks until free.
 */
int blockhash_final(struct blockhash *b, uint8_t whole[32],
                    struct cm_err *err);

/* The CRC-64 (ECMA-182, reflected) of each block (after final). */
const uint64_t *blockhash_crcs(const struct blockhash *b, uint64_t *n);

/* The CRC-64 of ${len} bytes, as blockhash_crcs computes it per block. */
uint64_t blockhash_crc64(const void *p, size_t len);

/* Bytes hashed so far. */
uint64_t blockhash_bytes(const struct blockhash *b);

/* The block hashes (after final) and their count. */
const uint8_t (*blockhash_blocks(const struct blockhash *b, uint64_t *n))[32];

void blockhash_free(struct blockhash *b);

/* SHA-256 of ${len} bytes in one call. */
void blockhash_sha256(const void *p, size_t len, uint8_t out[32]);

#endif
