/*
 * age_internal: what the age*.c and agekey.c files share and nobody else
 * should use: the OpenSSL primitives (HKDF, HMAC, ChaCha20-Poly1305,
 * X25519, scrypt), the STREAM nonce, and the input layer that reads binary
 * or ASCII-armored age files from a cm_read_fn.
 */
#ifndef AGE_INTERNAL_H
#define AGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "age.h"
#include "cm.h"

#define AGE_KEY_SIZE 32
#define AGE_STREAM_NONCE_SIZE 12
#define AGE_X25519_SIZE 32
#define AGE_SCRYPT_SALT_SIZE 16
#define AGE_WRAPPED_KEY_SIZE (AGE_FILE_KEY_SIZE + AGE_TAG_SIZE)
#define AGE_ARMOR_BEGIN "-----BEGIN AGE ENCRYPTED FILE-----"
#define AGE_ARMOR_END "-----END AGE ENCRYPTED FILE-----"
/* Columns of an armor line and bytes it decodes to. */
#define AGE_ARMOR_COLUMNS 64
#define AGE_ARMOR_LINE_BYTES 48
/* White space tolerated before and after the armor, as age does. */
#define AGE_ARMOR_SPACE_MAX 1024

/*
 * HKDF-SHA-256 of ${ikm} with ${salt} (may be empty) and the text ${info}
 * into ${out} (${outlen} bytes).  0, or -1 with CM_EINTERNAL.
 */
int age_hkdf(uint8_t *out, size_t outlen, const uint8_t *salt, size_t saltlen,
             const uint8_t *ikm, size_t ikmlen, const char *info,
             struct cm_err *err);

/* HMAC-SHA-256 of ${len} bytes at ${p} under ${key}.  CM_EINTERNAL. */
int age_hmac(uint8_t mac[32], const uint8_t key[AGE_KEY_SIZE], const uint8_t *p,
             size_t len, struct cm_err *err);

/*
 * ChaCha20-Poly1305 without associated data.  ${ctx} may be NULL (a
 * temporary one is used) or a context the caller reuses between calls.
 * age_aead_seal writes ${len} + AGE_TAG_SIZE bytes to ${ct}.
 * age_aead_open reads ${ctlen} bytes and writes ${ctlen} - AGE_TAG_SIZE to
 * ${pt}; it returns 0, 1 if the tag does not verify (then ${pt} is wiped and
 * ${err} untouched), or -1 with CM_EINTERNAL.
 */
int age_aead_seal(EVP_CIPHER_CTX *ctx, const uint8_t key[AGE_KEY_SIZE],
                  const uint8_t nonce[AGE_STREAM_NONCE_SIZE], const uint8_t *pt,
                  size_t len, uint8_t *ct, struct cm_err *err);
int age_aead_open(EVP_CIPHER_CTX *ctx, const uint8_t key[AGE_KEY_SIZE],
                  const uint8_t nonce[AGE_STREAM_NONCE_SIZE], const uint8_t *ct,
                  size_t ctlen, uint8_t *pt, struct cm_err *err);

/* A new cipher context (CM_EINTERNAL if out of memory). */
EVP_CIPHER_CTX *age_aead_new(struct cm_err *err);

/* The STREAM nonce of chunk ${idx}: 11-byte big-endian counter, last flag. */
void age_chunk_nonce(uint8_t nonce[AGE_STREAM_NONCE_SIZE], uint64_t idx,
                     int last);

/*
 * X25519(${scalar}, ${point}) into ${out}.  Returns 0, 1 if the result is
 * the all-zero value (a low-order point; ${err} untouched), or -1 with
 * CM_EINTERNAL.
 */
int age_x25519(uint8_t out[AGE_X25519_SIZE],
               const uint8_t scalar[AGE_X25519_SIZE],
               const uint8_t point[AGE_X25519_SIZE], struct cm_err *err);

/* X25519(${scalar}, basepoint): the public key.  CM_EINTERNAL. */
int age_x25519_base(uint8_t out[AGE_X25519_SIZE],
                    const uint8_t scalar[AGE_X25519_SIZE], struct cm_err *err);

/*
 * The age scrypt wrapping key: scrypt(${pass}, "age-encryption.org/v1/scrypt"
 * || ${salt}, N = 2^${log_n}, r = 8, p = 1).  ${log_n} must be in 1 ..
 * AGEKEY_SCRYPT_MAX_LOG_N (the caller checks).  CM_EINTERNAL.
 */
int age_scrypt(uint8_t key[AGE_KEY_SIZE], const char *pass,
               const uint8_t salt[AGE_SCRYPT_SALT_SIZE], int log_n,
               struct cm_err *err);

/*
 * The input layer of age_stream: reads ${src}, decides on the first byte
 * whether the input is binary (it starts with 'a', as in
 * "age-encryption.org") or armored (anything else), and returns the binary
 * age file either way.  Armor errors are CM_EFORMAT and say "invalid
 * armor".  Holds no secret.
 */
struct age_in {
    cm_read_fn src;
    void *src_ctx;
    const char *name;
    int mode; /* IN_UNKNOWN, IN_BINARY, IN_ARMOR */
    uint8_t raw[4096];
    size_t rpos, rlen;
    int raw_eof;
    int astate; /* armor: before BEGIN, in the body, done */
    size_t space;
    uint8_t out[AGE_ARMOR_LINE_BYTES];
    size_t opos, olen;
};

/* Set up ${in} over ${src}; ${name} is borrowed for messages. */
void age_in_init(struct age_in *in, cm_read_fn src, void *src_ctx,
                 const char *name);

/* As age_in_init, but the input is armored whatever its first byte. */
void age_in_init_armor(struct age_in *in, cm_read_fn src, void *src_ctx,
                       const char *name);

/*
 * Read up to ${len} bytes of the binary age file: the count, 0 at its end,
 * or -1 (CM_EFORMAT for bad armor, or the source's error).
 */
long age_in_read(struct age_in *in, void *p, size_t len, struct cm_err *err);

/* Read until ${len} bytes or the end: the count, or -1. */
long age_in_read_full(struct age_in *in, void *p, size_t len,
                      struct cm_err *err);

#endif
