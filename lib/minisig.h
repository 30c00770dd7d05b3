/*
 * minisig: minisign-compatible Ed25519 signatures on OpenSSL.
 *
 * Public key files ("untrusted comment: ...\n" + base64 of "Ed" || key id ||
 * key), secret key files (the unencrypted variant, kdf "\0\0", with its
 * BLAKE2b-256 checksum), and .minisig files: prehashed ("ED", BLAKE2b-512 of
 * the message) signatures with untrusted and trusted comments and the global
 * signature over signature || trusted comment.  Files written here are read
 * by the real minisign (-V, and -S with -W keys), and the reverse.
 *
 * Errors: CM_EFORMAT for a malformed key or signature file, CM_ENOKEY when a
 * signature's key id is not the public key's, CM_EAUTH when a signature does
 * not verify, CM_EUSAGE for an encrypted secret key (not supported).
 */
#ifndef MINISIG_H
#define MINISIG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cm.h"

#define MINISIG_KEYID_SIZE 8
#define MINISIG_PUBKEY_B64_LEN 57 /* base64 of 42 bytes, and a NUL */
#define MINISIG_KEYID_HEX_LEN 17  /* 16 upper-case hex digits, and a NUL */
/* Longest trusted comment accepted or written (minisign's own limit). */
#define MINISIG_COMMENT_MAX 1024
/*
 * Longest untrusted comment written: minisign reads that line into 1024
 * bytes, with its "untrusted comment: " prefix, newline and NUL.
 */
#define MINISIG_UNTRUSTED_COMMENT_MAX 1003
/* Largest key or signature file read. */
#define MINISIG_FILE_MAX 8192

struct minisig_pubkey {
    uint8_t keyid[MINISIG_KEYID_SIZE];
    uint8_t key[32];
};

struct minisig_seckey {
    uint8_t keyid[MINISIG_KEYID_SIZE];
    uint8_t seed[32];       /* Ed25519 private key (seed) */
    uint8_t public_key[32]; /* its public half */
};

/* A new random key pair. */
int minisig_keypair_generate(struct minisig_seckey *sk,
                             struct minisig_pubkey *pk, struct cm_err *err);

/* The public half of ${sk}. */
void minisig_seckey_pubkey(const struct minisig_seckey *sk,
                           struct minisig_pubkey *pk);

/*
 * Parse a public key: either a whole .pub file (comment line + base64 line)
 * or the bare base64 string given to `minisign -P` (a one-line text).
 * Lines end in "\n" or "\r\n"; the last one may lack its end.  CM_EFORMAT
 * for anything else, or over MINISIG_FILE_MAX bytes.
 */
int minisig_pubkey_parse(const char *text, size_t len,
                         struct minisig_pubkey *pk, struct cm_err *err);

/* Read and parse the public key file at ${path} (errors name it). */
int minisig_pubkey_load(const char *path, struct minisig_pubkey *pk,
                        struct cm_err *err);

/* The .pub file text (comment line naming the key id, base64 line). */
int minisig_pubkey_format(const struct minisig_pubkey *pk, struct buf *out,
                          struct cm_err *err);

/* The bare base64 string, as `minisign -P` takes it. */
void minisig_pubkey_base64(const struct minisig_pubkey *pk,
                           char out[MINISIG_PUBKEY_B64_LEN]);

/* The key id as 16 upper-case hex digits, as minisign prints it. */
void minisig_keyid_hex(const uint8_t keyid[MINISIG_KEYID_SIZE],
                       char out[MINISIG_KEYID_HEX_LEN]);

/*
 * Parse an unencrypted secret key file's text.  The BLAKE2b-256 checksum
 * is checked, except that an all-zero one (what `minisign -G -W` writes) is
 * accepted; the public half must match the seed either way.  CM_EUSAGE for
 * a password-protected ("Sc") key, with a hint how to make an unencrypted
 * one; CM_EFORMAT for anything malformed.
 */
int minisig_seckey_parse(const char *text, size_t len,
                         struct minisig_seckey *sk, struct cm_err *err);

/* Read and parse the secret key file at ${path} (errors name it). */
int minisig_seckey_load(const char *path, struct minisig_seckey *sk,
                        struct cm_err *err);

/* The secret key file text (unencrypted variant).  ${out} should be secret. */
int minisig_seckey_format(const struct minisig_seckey *sk, struct buf *out,
                          struct cm_err *err);

/* Wipe a secret key in place. */
void minisig_seckey_wipe(struct minisig_seckey *sk);

/*
 * Create the key pair files: ${path} (secret, O_CREAT|O_EXCL|O_NOFOLLOW,
 * mode 0600) and ${path}.pub (0644), then fsync their directory.  Refuses
 * to overwrite either (CM_EIO, "already exists"); on any failure neither
 * file is left behind.  Returns the public key in ${pk}.
 */
int minisig_keygen_files(const char *path, struct minisig_pubkey *pk,
                         struct cm_err *err);

/*
 * Sign ${len} bytes at ${msg}: the .minisig text is appended to ${out},
 * prehashed ("ED"), with ${untrusted_comment} (NULL for minisign's default;
 * at most MINISIG_UNTRUSTED_COMMENT_MAX bytes) and ${trusted_comment} (NULL
 * for none; at most MINISIG_COMMENT_MAX bytes), both single lines;
 * CM_EUSAGE otherwise.  Nothing is appended on failure.
 */
int minisig_sign(const struct minisig_seckey *sk, const void *msg, size_t len,
                 const char *untrusted_comment, const char *trusted_comment,
                 struct buf *out, struct cm_err *err);

/*
 * Verify the .minisig text ${sig} (${siglen} bytes) over ${len} bytes at
 * ${msg} with ${pk}: both the signature ("ED" prehashed, or legacy "Ed")
 * and the global signature over the trusted comment.  On success, if
 * ${trusted_comment} is not NULL, the trusted comment (without the
 * "trusted comment: " prefix) is copied there (room for
 * MINISIG_COMMENT_MAX + 1 bytes).  CM_EFORMAT for a malformed signature,
 * CM_ENOKEY if it names another key id (both ids in the message), CM_EAUTH
 * if the signature or the trusted comment's signature does not verify.
 */
int minisig_verify(const struct minisig_pubkey *pk, const void *msg,
                   size_t len, const char *sig, size_t siglen,
                   char *trusted_comment, struct cm_err *err);

/* The key id a .minisig text claims, without verifying anything. */
int minisig_sig_keyid(const char *sig, size_t siglen,
                      uint8_t keyid[MINISIG_KEYID_SIZE], struct cm_err *err);

#endif
