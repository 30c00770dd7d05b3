#include "blockhash.h"

#include <stdlib.h>
#include <string.h>

#include <isa-l/crc64.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

struct blockhash {
    uint32_t block_size;
    uint64_t bytes;
    uint32_t in_block; /* bytes of the current block hashed */
    EVP_MD_CTX *whole, *block;
    uint64_t crc;      /* of the current block */
    uint8_t (*blocks)[32];
    uint64_t *crcs;
    uint64_t nblocks, cap;
};

static int
digest_init(EVP_MD_CTX *ctx, struct cm_err *err)
{
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        return cm_fail(err, CM_EINTERNAL, "SHA-256 init failed");
    return 0;
}

int
blockhash_new(uint32_t block_size, struct blockhash **out,
              struct cm_err *err)
{
    struct blockhash *b = cm_calloc(1, sizeof *b, err);

    if (b == NULL)
        return -1;
    b->block_size = block_size;
    b->whole = EVP_MD_CTX_new();
    b->block = EVP_MD_CTX_new();
    if (b->whole == NULL || b->block == NULL) {
        cm_fail(err, CM_EINTERNAL, "out of memory");
        goto fail;
    }
    if (digest_init(b->whole, err) == -1 || digest_init(b->block, err) == -1)
        goto fail;
    *out = b;
    return 0;
fail:
    blockhash_free(b);
    return -1;
}

static int
close_block(struct blockhash *b, struct cm_err *err)
{
    if (b->nblocks == b->cap) {
        uint64_t cap = b->cap ? b->cap * 2 : 64;
        void *grown = realloc(b->blocks, cap * sizeof *b->blocks);
        if (grown == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        b->blocks = grown;
        grown = realloc(b->crcs, cap * sizeof *b->crcs);
        if (grown == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        b->crcs = grown;
        b->cap = cap;
    }
    b->crcs[b->nblocks] = b->crc;
    b->crc = 0;
    if (EVP_DigestFinal_ex(b->block, b->blocks[b->nblocks], NULL) != 1)
        return cm_fail(err, CM_EINTERNAL, "SHA-256 failed");
    b->nblocks++;
    b->in_block = 0;
    return digest_init(b->block, err);
}

int
blockhash_update(struct blockhash *b, const void *p, size_t len,
                 struct cm_err *err)
{
    const uint8_t *q = p;

    if (EVP_DigestUpdate(b->whole, p, len) != 1)
        return cm_fail(err, CM_EINTERNAL, "SHA-256 failed");
    b->bytes += len;
    while (len > 0) {
        size_t take = b->block_size - b->in_block;
        if (take > len)
            take = len;
        if (EVP_DigestUpdate(b->block, q, take) != 1)
            return cm_fail(err, CM_EINTERNAL, "SHA-256 failed");
        b->crc = crc64_ecma_refl(b->crc, q, take);
        b->in_block += (uint32_t)take;
        q += take;
        len -= take;
        if (b->in_block == b->block_size && close_block(b, err) == -1)
            return -1;
    }
    return 0;
}

int
blockhash_final(struct blockhash *b, uint8_t whole[32], struct cm_err *err)
{
    if (b->in_block > 0 && close_block(b, err) == -1)
        return -1;
    if (EVP_DigestFinal_ex(b->whole, whole, NULL) != 1)
        return cm_fail(err, CM_EINTERNAL, "SHA-256 failed");
    return 0;
}

const uint64_t *
blockhash_crcs(const struct blockhash *b, uint64_t *n)
{
    *n = b->nblocks;
    return b->crcs;
}

uint64_t
blockhash_crc64(const void *p, size_t len)
{
    return crc64_ecma_refl(0, p, len);
}

uint64_t
blockhash_bytes(const struct blockhash *b)
{
    return b->bytes;
}

const uint8_t (*blockhash_blocks(const struct blockhash *b, uint64_t *n))[32]
{
    *n = b->nblocks;
    return (const uint8_t(*)[32])b->blocks;
}

void
blockhash_free(struct blockhash *b)
{
    if (b == NULL)
        return;
    EVP_MD_CTX_free(b->whole);
    EVP_MD_CTX_free(b->block);
    free(b->blocks);
    free(b->crcs);
    free(b);
}

void
blockhash_sha256(const void *p, size_t len, uint8_t out[32])
{
    SHA256(p, len, out);
}
