/*
 * agekey: age keys.  X25519 recipients ("age1...", Bech32) and identities
 * ("AGE-SECRET-KEY-1...", Bech32, upper case), scrypt passphrase
 * recipients/identities, identity files in age-keygen's format (comments,
 * several identities, optionally themselves passphrase-encrypted age files),
 * and recipients files (one "age1..." per line, # comments).
 *
 * Secret material lives only in struct age_identity, which is wiped by
 * agekey_identities_free() and agekey_identity_wipe().
 */
#ifndef AGEKEY_H
#define AGEKEY_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

/* "age1" + 58 characters of Bech32 data and checksum, and a NUL. */
#define AGEKEY_RECIPIENT_LEN 63
/* "AGE-SECRET-KEY-1" + 58 characters, and a NUL. */
#define AGEKEY_IDENTITY_LEN 75
/* Longest passphrase accepted (bytes, without NUL). */
#define AGEKEY_PASSPHRASE_MAX 1024
/* Most identities or recipients read from one file. */
#define AGEKEY_FILE_KEYS_MAX 1024
/* Largest identity or recipients file read (bytes). */
#define AGEKEY_FILE_MAX (1024 * 1024)
/* scrypt work factor (log2 N) written by encryption, and the most accepted
 * on decryption (age's own limits: 18 and 22). */
#define AGEKEY_SCRYPT_LOG_N 18
#define AGEKEY_SCRYPT_MAX_LOG_N 22

enum agekey_kind {
    AGEKEY_X25519,
    AGEKEY_SCRYPT,
};

struct age_recipient {
    enum agekey_kind kind;
    uint8_t public_key[32];                     /* X25519 */
    char passphrase[AGEKEY_PASSPHRASE_MAX + 1]; /* scrypt, NUL-terminated */
    int scrypt_log_n;                           /* scrypt: work factor to use */
};

struct age_identity {
    enum agekey_kind kind;
    uint8_t secret_key[32];                     /* X25519 */
    char passphrase[AGEKEY_PASSPHRASE_MAX + 1]; /* scrypt, NUL-terminated */
};

/* A list of identities; owns its array, wiped on free. */
struct age_identities {
    struct age_identity *ids;
    size_t n;
};

/* A list of recipients; owns its array, wiped on free (passphrases). */
struct age_recipients {
    struct age_recipient *r;
    size_t n;
};

/*
 * Where a passphrase comes from when an identity file is encrypted: a
 * callback that writes a NUL-terminated passphrase of at most ${size} - 1
 * bytes into ${buf} (the caller wipes it).  ${prompt} names the file.
 * Returns 0, or -1 with ${err} set.
 */
struct agekey_passphrase_source {
    int (*get)(void *ctx, char *buf, size_t size, const char *prompt,
               struct cm_err *err);
    void *ctx;
};

/* Parse "age1..." (Bech32, lower case).  CM_EFORMAT on any defect. */
int agekey_recipient_parse(const char *s, struct age_recipient *out,
                           struct cm_err *err);

/* Format an X25519 recipient as "age1...". */
void agekey_recipient_format(const struct age_recipient *r,
                             char out[AGEKEY_RECIPIENT_LEN]);

/* A scrypt recipient for ${passphrase} with work factor ${log_n}. */
int agekey_recipient_scrypt(const char *passphrase, int log_n,
                            struct age_recipient *out, struct cm_err *err);

/* Parse "AGE-SECRET-KEY-1..." (Bech32, upper case).  CM_EFORMAT. */
int agekey_identity_parse(const char *s, struct age_identity *out,
                          struct cm_err *err);

/* Format an X25519 identity; ${out} holds a secret: wipe it after use. */
void agekey_identity_format(const struct age_identity *id,
                            char out[AGEKEY_IDENTITY_LEN]);

/* A fresh random X25519 identity. */
int agekey_identity_generate(struct age_identity *out, struct cm_err *err);

/* The X25519 recipient of ${id}. */
int agekey_identity_recipient(const struct age_identity *id,
                              struct age_recipient *out, struct cm_err *err);

/* A scrypt identity (for decrypting passphrase-encrypted files). */
int agekey_identity_scrypt(const char *passphrase, struct age_identity *out,
                           struct cm_err *err);

/* Wipe one identity in place. */
void agekey_identity_wipe(struct age_identity *id);

/*
 * Append the identities of the file at ${path} to ${ids}: age-keygen's
 * text format ("# comment" lines, blank lines, one AGE-SECRET-KEY-1 per
 * line), or an age file (binary or armored) encrypted to a passphrase whose
 * plaintext is such a text; the passphrase comes from ${pp} (may be NULL:
 * then an encrypted file fails with CM_EUSAGE).  Errors name the file and
 * line: CM_EFORMAT for a bad line, CM_EIO for an unreadable file, CM_EAUTH
 * for a wrong passphrase.
 */
int agekey_identities_load(const char *path,
                           const struct agekey_passphrase_source *pp,
                           struct age_identities *ids, struct cm_err *err);

/* Append ${id} (copied) to ${ids}. */
int agekey_identities_add(struct age_identities *ids,
                          const struct age_identity *id, struct cm_err *err);

/* Wipe and free every identity; ${ids} is empty again.  NULL-safe. */
void agekey_identities_free(struct age_identities *ids);

/*
 * Append the recipients of ${path} ("age1..." one per line, "#" comments and
 * blank lines allowed) to ${rs}.  Other key types (ssh-ed25519, ...) fail
 * with CM_EFORMAT naming the line.
 */
int agekey_recipients_load(const char *path, struct age_recipients *rs,
                           struct cm_err *err);

/* Append ${r} (copied) to ${rs}. */
int agekey_recipients_add(struct age_recipients *rs,
                          const struct age_recipient *r, struct cm_err *err);

/* Wipe and free; ${rs} is empty again.  NULL-safe. */
void agekey_recipients_free(struct age_recipients *rs);

/*
 * Bech32 (BIP 173) encoding, exposed for tests and fuzzing.
 * agekey_bech32_encode writes "${hrp}1<data><checksum>" in lower case to
 * ${out} (room for ${outlen} bytes with the NUL).  agekey_bech32_decode
 * accepts all-lower or all-upper case, checks the checksum, returns the
 * human-readable part (lower case) in ${hrp} and the data in ${data}
 * (room for ${datamax}), and its length in ${datalen}.  Both CM_EFORMAT.
 */
int agekey_bech32_encode(char *out, size_t outlen, const char *hrp,
                         const uint8_t *data, size_t datalen,
                         struct cm_err *err);
int agekey_bech32_decode(const char *s, char *hrp, size_t hrpmax, uint8_t *data,
                         size_t datamax, size_t *datalen, struct cm_err *err);

#endif
