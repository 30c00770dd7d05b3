#include "minisig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "blake2b.h"
#include "enc.h"
#include "io.h"
#include "rnd.h"

#define COMMENT_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define DEFAULT_SIG_COMMENT "signature from minisign secret key"
#define SECKEY_COMMENT "minisign unencrypted secret key"
#define ALG_LEGACY "Ed" /* Ed25519 over the message itself */
#define ALG_HASHED "ED" /* Ed25519 over BLAKE2b-512 of the message */
#define KDF_NONE "\0\0"
#define KDF_SCRYPT "Sc"
#define CHK_BLAKE2B "B2"

#define ED_KEY_SIZE 32
#define ED_SIG_SIZE 64
#define PREHASH_SIZE 64
#define CHK_SIZE 32

/* minisign's structs as byte strings: algorithm, key id, key or sig. */
#define PUBKEY_BIN_SIZE (2 + MINISIG_KEYID_SIZE + ED_KEY_SIZE)
#define SIG_BIN_SIZE (2 + MINISIG_KEYID_SIZE + ED_SIG_SIZE)
#define SIG_OFF_KEYID 2
#define SIG_OFF_SIG (2 + MINISIG_KEYID_SIZE)

/*
 * Secret key: sig_alg, kdf_alg, chk_alg, kdf salt (32), opslimit (8),
 * memlimit (8), key id, Ed25519 secret key (seed || public key), checksum.
 */
#define SK_OFF_KDF 2
#define SK_OFF_CHKALG 4
#define SK_OFF_KEYID 54
#define SK_OFF_SEED (SK_OFF_KEYID + MINISIG_KEYID_SIZE)
#define SK_OFF_PUB (SK_OFF_SEED + ED_KEY_SIZE)
#define SK_OFF_CHK (SK_OFF_PUB + ED_KEY_SIZE)
#define SECKEY_BIN_SIZE (SK_OFF_CHK + CHK_SIZE)

/* Base64 text sizes, with room for the NUL. */
#define B64_SIZE(n) (((n) + 2) / 3 * 4 + 1)

/* ---- strict line reading -------------------------------------------- */

struct lines {
    const char *p; /* what is left of the text */
    size_t left;
    unsigned no;      /* number of the line last read */
    const char *what; /* "public key", "secret key", "signature" */
};

static void
lines_init(struct lines *ls, const char *text, size_t len, const char *what)
{
    ls->p = len > 0 ? text : "";
    ls->left = len;
    ls->no = 0;
    ls->what = what;
}

/*
 * The next line, without its "\n" or "\r\n".  The last line may lack its
 * end, as minisign's reader allows; a CR or NUL inside a line is refused.
 */
static int
next_line(struct lines *ls, const char **line, size_t *len, struct cm_err *err)
{
    const char *nl;
    size_t n, step;

    ls->no++;
    if (ls->left == 0)
        return cm_fail(err, CM_EFORMAT, "%s: line %u is missing", ls->what,
                       ls->no);
    nl = memchr(ls->p, '\n', ls->left);
    n = nl != NULL ? (size_t)(nl - ls->p) : ls->left;
    step = nl != NULL ? n + 1 : n;
    *line = ls->p;
    ls->p += step;
    ls->left -= step;
    if (nl != NULL && n > 0 && (*line)[n - 1] == '\r')
        n--;
    if (memchr(*line, '\r', n) != NULL)
        return cm_fail(err, CM_EFORMAT, "%s: line %u: stray carriage return",
                       ls->what, ls->no);
    if (memchr(*line, '\0', n) != NULL)
        return cm_fail(err, CM_EFORMAT, "%s: line %u: NUL byte", ls->what,
                       ls->no);
    *len = n;
    return 0;
}

static int
lines_end(const struct lines *ls, struct cm_err *err)
{
    if (ls->left != 0)
        return cm_fail(err, CM_EFORMAT, "%s: unexpected text after line %u",
                       ls->what, ls->no);
    return 0;
}

/* A line "${prefix}comment"; the comment (not NUL-terminated) is returned. */
static int
comment_line(struct lines *ls, const char *prefix, const char **text,
             size_t *len, struct cm_err *err)
{
    size_t plen = strlen(prefix), n;
    const char *line;

    if (next_line(ls, &line, &n, err) == -1)
        return -1;
    if (n < plen || memcmp(line, prefix, plen) != 0)
        return cm_fail(err, CM_EFORMAT,
                       "%s: line %u does not start with \"%.*s\"", ls->what,
                       ls->no, (int)plen - 1, prefix);
    if (n - plen > MINISIG_COMMENT_MAX)
        return cm_fail(err, CM_EFORMAT,
                       "%s: line %u: comment is longer than %d bytes", ls->what,
                       ls->no, MINISIG_COMMENT_MAX);
    *text = line + plen;
    *len = n - plen;
    return 0;
}

/* A line of canonical, padded base64 holding exactly ${size} bytes. */
static int
b64_line(struct lines *ls, uint8_t *out, size_t size, struct cm_err *err)
{
    char what[64];
    const char *line;
    size_t n;
    long got;

    if (next_line(ls, &line, &n, err) == -1)
        return -1;
    snprintf(what, sizeof what, "%s: line %u", ls->what, ls->no);
    if (n != B64_SIZE(size) - 1)
        return cm_fail(err, CM_EFORMAT,
                       "%s: expected %zu characters of base64, found %zu", what,
                       B64_SIZE(size) - 1, n);
    got = b64_decode(out, size, line, n, B64_PADDED, what, err);
    if (got == -1)
        return -1;
    if ((size_t)got != size)
        return cm_fail(err, CM_EFORMAT, "%s: %ld bytes, expected %zu", what,
                       got, size);
    return 0;
}

/* ---- Ed25519 through OpenSSL ----------------------------------------- */

static EVP_PKEY *
ed_key(const uint8_t raw[ED_KEY_SIZE], int is_private, struct cm_err *err)
{
    EVP_PKEY *k;

    if (is_private)
        k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw,
                                         ED_KEY_SIZE);
    else
        k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
                                        ED_KEY_SIZE);
    if (k == NULL) {
        ERR_clear_error();
        cm_fail(err, CM_EINTERNAL, "OpenSSL cannot load an Ed25519 key");
    }
    return k;
}

static int
ed_public(const uint8_t seed[ED_KEY_SIZE], uint8_t pub[ED_KEY_SIZE],
          struct cm_err *err)
{
    EVP_PKEY *k = ed_key(seed, 1, err);
    size_t len = ED_KEY_SIZE;
    int rc = -1;

    if (k == NULL)
        return -1;
    if (EVP_PKEY_get_raw_public_key(k, pub, &len) != 1 || len != ED_KEY_SIZE) {
        ERR_clear_error();
        cm_fail(err, CM_EINTERNAL, "OpenSSL cannot derive an Ed25519 key");
        goto out;
    }
    rc = 0;
out:
    EVP_PKEY_free(k);
    return rc;
}

static int
ed_sign(const uint8_t seed[ED_KEY_SIZE], const uint8_t *msg, size_t len,
        uint8_t sig[ED_SIG_SIZE], struct cm_err *err)
{
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY *k = NULL;
    size_t siglen = ED_SIG_SIZE;
    int rc = -1;

    if ((k = ed_key(seed, 1, err)) == NULL)
        goto out;
    if ((ctx = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, len > 0 ? msg : (const uint8_t *)"",
                       len) != 1 ||
        siglen != ED_SIG_SIZE) {
        ERR_clear_error();
        cm_fail(err, CM_EINTERNAL, "OpenSSL cannot make an Ed25519 signature");
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return rc;
}

/* 1 if ${sig} is a valid signature of ${msg}, 0 if not, -1 on failure. */
static int
ed_verify(const uint8_t pub[ED_KEY_SIZE], const uint8_t *msg, size_t len,
          const uint8_t sig[ED_SIG_SIZE], struct cm_err *err)
{
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY *k = NULL;
    int rc = -1;

    if ((k = ed_key(pub, 0, err)) == NULL)
        goto out;
    if ((ctx = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) != 1) {
        cm_fail(err, CM_EINTERNAL, "OpenSSL cannot verify Ed25519");
        goto out;
    }
    /* Any refusal (bad point, S out of range, mismatch) is "invalid". */
    rc = EVP_DigestVerify(ctx, sig, ED_SIG_SIZE,
                          len > 0 ? msg : (const uint8_t *)"", len) == 1;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return rc;
}

/* ---- keys -------------------------------------------------------------- */

void
minisig_keyid_hex(const uint8_t keyid[MINISIG_KEYID_SIZE],
                  char out[MINISIG_KEYID_HEX_LEN])
{
    static const char digits[] = "0123456789ABCDEF";

    /* minisign prints the key id as a little-endian 64-bit number. */
    for (int i = 0; i < MINISIG_KEYID_SIZE; i++) {
        uint8_t b = keyid[MINISIG_KEYID_SIZE - 1 - i];
        out[2 * i] = digits[b >> 4];
        out[2 * i + 1] = digits[b & 15];
    }
    out[2 * MINISIG_KEYID_SIZE] = '\0';
}

void
minisig_seckey_pubkey(const struct minisig_seckey *sk,
                      struct minisig_pubkey *pk)
{
    memcpy(pk->keyid, sk->keyid, sizeof pk->keyid);
    memcpy(pk->key, sk->public_key, sizeof pk->key);
}

void
minisig_seckey_wipe(struct minisig_seckey *sk)
{
    OPENSSL_cleanse(sk, sizeof *sk);
}

int
minisig_keypair_generate(struct minisig_seckey *sk, struct minisig_pubkey *pk,
                         struct cm_err *err)
{
    struct minisig_seckey tmp;
    int rc = -1;

    if (rnd_bytes(tmp.keyid, sizeof tmp.keyid, err) == -1 ||
        rnd_bytes(tmp.seed, sizeof tmp.seed, err) == -1 ||
        ed_public(tmp.seed, tmp.public_key, err) == -1)
        goto out;
    *sk = tmp;
    minisig_seckey_pubkey(&tmp, pk);
    rc = 0;
out:
    minisig_seckey_wipe(&tmp);
    return rc;
}

static void
pubkey_bin(const struct minisig_pubkey *pk, uint8_t bin[PUBKEY_BIN_SIZE])
{
    memcpy(bin, ALG_LEGACY, 2);
    memcpy(bin + 2, pk->keyid, MINISIG_KEYID_SIZE);
    memcpy(bin + 2 + MINISIG_KEYID_SIZE, pk->key, ED_KEY_SIZE);
}

void
minisig_pubkey_base64(const struct minisig_pubkey *pk,
                      char out[MINISIG_PUBKEY_B64_LEN])
{
    uint8_t bin[PUBKEY_BIN_SIZE];

    pubkey_bin(pk, bin);
    b64_encode(out, bin, sizeof bin, 1);
}

int
minisig_pubkey_format(const struct minisig_pubkey *pk, struct buf *out,
                      struct cm_err *err)
{
    char b64[MINISIG_PUBKEY_B64_LEN], id[MINISIG_KEYID_HEX_LEN];

    minisig_pubkey_base64(pk, b64);
    minisig_keyid_hex(pk->keyid, id);
    return buf_printf(out, err, COMMENT_PREFIX "minisign public key %s\n%s\n",
                      id, b64);
}

/*
 * A .pub file has two lines; `minisign -P` takes the base64 line alone,
 * so a single line is read as that, unless it is a comment line.
 */
static int
is_pubkey_file(const char *text, size_t len)
{
    const char *nl = memchr(text, '\n', len);
    size_t plen = strlen(COMMENT_PREFIX);

    return (nl != NULL && (size_t)(nl - text) + 1 < len) ||
           (len >= plen && memcmp(text, COMMENT_PREFIX, plen) == 0);
}

int
minisig_pubkey_parse(const char *text, size_t len, struct minisig_pubkey *pk,
                     struct cm_err *err)
{
    uint8_t bin[PUBKEY_BIN_SIZE];
    const char *comment;
    size_t clen;
    struct lines ls;

    if (len > MINISIG_FILE_MAX)
        return cm_fail(err, CM_EFORMAT, "public key: longer than %d bytes",
                       MINISIG_FILE_MAX);
    lines_init(&ls, text, len, "public key");
    if (is_pubkey_file(ls.p, len) &&
        comment_line(&ls, COMMENT_PREFIX, &comment, &clen, err) == -1)
        return -1;
    if (b64_line(&ls, bin, sizeof bin, err) == -1 || lines_end(&ls, err) == -1)
        return -1;
    if (memcmp(bin, ALG_LEGACY, 2) != 0)
        return cm_fail(err, CM_EFORMAT,
                       "public key: unsupported signature algorithm");
    memcpy(pk->keyid, bin + 2, sizeof pk->keyid);
    memcpy(pk->key, bin + 2 + MINISIG_KEYID_SIZE, sizeof pk->key);
    return 0;
}

int
minisig_pubkey_load(const char *path, struct minisig_pubkey *pk,
                    struct cm_err *err)
{
    struct buf b;
    int rc = -1;

    buf_init(&b, MINISIG_FILE_MAX);
    if (io_read_file(path, MINISIG_FILE_MAX, &b, err) == -1)
        goto out;
    if (minisig_pubkey_parse((const char *)b.data, b.len, pk, err) == -1) {
        cm_err_prefix(err, "%s", path);
        goto out;
    }
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

/* BLAKE2b-256 over sig_alg || key id || secret key, as minisign computes. */
static int
seckey_checksum(const uint8_t bin[SECKEY_BIN_SIZE], uint8_t chk[CHK_SIZE],
                struct cm_err *err)
{
    struct blake2b_state s;

    if (blake2b_init(&s, CHK_SIZE, err) == -1)
        return -1;
    blake2b_update(&s, bin, 2);
    blake2b_update(&s, bin + SK_OFF_KEYID, SK_OFF_CHK - SK_OFF_KEYID);
    blake2b_final(&s, chk);
    return 0;
}

static int
seckey_check_algs(const uint8_t bin[SECKEY_BIN_SIZE], struct cm_err *err)
{
    if (memcmp(bin, ALG_LEGACY, 2) != 0)
        return cm_fail(err, CM_EFORMAT,
                       "secret key: unsupported signature algorithm");
    if (memcmp(bin + SK_OFF_KDF, KDF_SCRYPT, 2) == 0)
        return cm_fail(err, CM_EUSAGE,
                       "secret key is encrypted with a password, which "
                       "coldmail does not support; make an unencrypted key "
                       "with `coldmail keygen` or `minisign -G -W`, or remove "
                       "the password with `minisign -C -W`");
    if (memcmp(bin + SK_OFF_KDF, KDF_NONE, 2) != 0)
        return cm_fail(err, CM_EFORMAT,
                       "secret key: unsupported key derivation function");
    if (memcmp(bin + SK_OFF_CHKALG, CHK_BLAKE2B, 2) != 0)
        return cm_fail(err, CM_EFORMAT,
                       "secret key: unsupported checksum function");
    return 0;
}

/*
 * `minisign -G -W` (0.11) leaves the checksum of an unencrypted key all
 * zero, so zero is accepted; the public half is checked against the seed
 * whatever the checksum says.
 */
static int
seckey_check_integrity(const uint8_t bin[SECKEY_BIN_SIZE], struct cm_err *err)
{
    static const uint8_t zero[CHK_SIZE];
    uint8_t chk[CHK_SIZE], pub[ED_KEY_SIZE];
    int rc = -1;

    if (seckey_checksum(bin, chk, err) == -1 ||
        ed_public(bin + SK_OFF_SEED, pub, err) == -1)
        goto out;
    if (CRYPTO_memcmp(chk, bin + SK_OFF_CHK, CHK_SIZE) != 0 &&
        memcmp(zero, bin + SK_OFF_CHK, CHK_SIZE) != 0) {
        cm_fail(err, CM_EFORMAT,
                "secret key: checksum does not match (damaged key file)");
        goto out;
    }
    if (CRYPTO_memcmp(pub, bin + SK_OFF_PUB, ED_KEY_SIZE) != 0) {
        cm_fail(err, CM_EFORMAT,
                "secret key: public half does not match "
                "the secret key (damaged key file)");
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(chk, sizeof chk);
    return rc;
}

int
minisig_seckey_parse(const char *text, size_t len, struct minisig_seckey *sk,
                     struct cm_err *err)
{
    uint8_t bin[SECKEY_BIN_SIZE];
    const char *comment;
    size_t clen;
    struct lines ls;
    int rc = -1;

    if (len > MINISIG_FILE_MAX) {
        cm_fail(err, CM_EFORMAT, "secret key: longer than %d bytes",
                MINISIG_FILE_MAX);
        goto out;
    }
    lines_init(&ls, text, len, "secret key");
    if (comment_line(&ls, COMMENT_PREFIX, &comment, &clen, err) == -1 ||
        b64_line(&ls, bin, sizeof bin, err) == -1 ||
        lines_end(&ls, err) == -1 || seckey_check_algs(bin, err) == -1 ||
        seckey_check_integrity(bin, err) == -1)
        goto out;
    memcpy(sk->keyid, bin + SK_OFF_KEYID, sizeof sk->keyid);
    memcpy(sk->seed, bin + SK_OFF_SEED, sizeof sk->seed);
    memcpy(sk->public_key, bin + SK_OFF_PUB, sizeof sk->public_key);
    rc = 0;
out:
    OPENSSL_cleanse(bin, sizeof bin);
    return rc;
}

int
minisig_seckey_load(const char *path, struct minisig_seckey *sk,
                    struct cm_err *err)
{
    struct buf b;
    int rc = -1;

    buf_init_secret(&b, MINISIG_FILE_MAX);
    if (io_read_file(path, MINISIG_FILE_MAX, &b, err) == -1)
        goto out;
    if (minisig_seckey_parse((const char *)b.data, b.len, sk, err) == -1) {
        cm_err_prefix(err, "%s", path);
        goto out;
    }
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

int
minisig_seckey_format(const struct minisig_seckey *sk, struct buf *out,
                      struct cm_err *err)
{
    uint8_t bin[SECKEY_BIN_SIZE];
    char b64[B64_SIZE(SECKEY_BIN_SIZE)];
    int rc = -1;

    /* kdf "\0\0" and zero salt and limits: minisign -G -W's layout. */
    memset(bin, 0, sizeof bin);
    memcpy(bin, ALG_LEGACY, 2);
    memcpy(bin + SK_OFF_CHKALG, CHK_BLAKE2B, 2);
    memcpy(bin + SK_OFF_KEYID, sk->keyid, MINISIG_KEYID_SIZE);
    memcpy(bin + SK_OFF_SEED, sk->seed, ED_KEY_SIZE);
    memcpy(bin + SK_OFF_PUB, sk->public_key, ED_KEY_SIZE);
    if (seckey_checksum(bin, bin + SK_OFF_CHK, err) == -1)
        goto out;
    b64_encode(b64, bin, sizeof bin, 1);
    if (buf_printf(out, err, "%s%s\n%s\n", COMMENT_PREFIX, SECKEY_COMMENT,
                   b64) == -1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(bin, sizeof bin);
    OPENSSL_cleanse(b64, sizeof b64);
    return rc;
}

/* ---- key files --------------------------------------------------------- */

static int
fsync_parent(const char *path, struct cm_err *err)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int rc;

    if (slash == NULL)
        return io_fsync_dir(".", err);
    if (slash == path)
        return io_fsync_dir("/", err);
    dir = cm_strdup(path, err);
    if (dir == NULL)
        return -1;
    dir[slash - path] = '\0';
    rc = io_fsync_dir(dir, err);
    free(dir);
    return rc;
}

static int
write_key_files(const char *path, const char *pub_path, const struct buf *sec,
                const struct buf *pub, struct cm_err *err)
{
    if (io_write_file_excl(path, sec->data, sec->len, 0600, err) == -1)
        return -1;
    if (io_write_file_excl(pub_path, pub->data, pub->len, 0644, err) == -1) {
        unlink(path);
        return -1;
    }
    if (fsync_parent(path, err) == -1) {
        unlink(pub_path);
        unlink(path);
        return -1;
    }
    return 0;
}

int
minisig_keygen_files(const char *path, struct minisig_pubkey *pk,
                     struct cm_err *err)
{
    struct minisig_seckey sk;
    struct minisig_pubkey pub;
    struct buf sec_text, pub_text, pub_path;
    int rc = -1;

    memset(&sk, 0, sizeof sk);
    buf_init_secret(&sec_text, MINISIG_FILE_MAX);
    buf_init(&pub_text, MINISIG_FILE_MAX);
    buf_init(&pub_path, strlen(path) + sizeof ".pub");
    if (buf_printf(&pub_path, err, "%s.pub", path) == -1 ||
        minisig_keypair_generate(&sk, &pub, err) == -1 ||
        minisig_seckey_format(&sk, &sec_text, err) == -1 ||
        minisig_pubkey_format(&pub, &pub_text, err) == -1 ||
        write_key_files(path, (const char *)pub_path.data, &sec_text, &pub_text,
                        err) == -1)
        goto out;
    *pk = pub;
    rc = 0;
out:
    minisig_seckey_wipe(&sk);
    buf_free(&sec_text);
    buf_free(&pub_text);
    buf_free(&pub_path);
    return rc;
}

/* ---- signatures -------------------------------------------------------- */

struct sig {
    uint8_t bin[SIG_BIN_SIZE]; /* algorithm, key id, signature */
    uint8_t global[ED_SIG_SIZE];
    const char *comment; /* trusted comment, in the parsed text */
    size_t comment_len;
};

static int
sig_parse(const char *text, size_t len, struct sig *s, struct cm_err *err)
{
    const char *untrusted;
    size_t ulen;
    struct lines ls;

    if (len > MINISIG_FILE_MAX)
        return cm_fail(err, CM_EFORMAT, "signature: longer than %d bytes",
                       MINISIG_FILE_MAX);
    lines_init(&ls, text, len, "signature");
    if (comment_line(&ls, COMMENT_PREFIX, &untrusted, &ulen, err) == -1 ||
        b64_line(&ls, s->bin, sizeof s->bin, err) == -1 ||
        comment_line(&ls, TRUSTED_PREFIX, &s->comment, &s->comment_len, err) ==
            -1 ||
        b64_line(&ls, s->global, sizeof s->global, err) == -1 ||
        lines_end(&ls, err) == -1)
        return -1;
    if (memcmp(s->bin, ALG_HASHED, 2) != 0 &&
        memcmp(s->bin, ALG_LEGACY, 2) != 0)
        return cm_fail(err, CM_EFORMAT,
                       "signature: unsupported signature algorithm");
    return 0;
}

int
minisig_sig_keyid(const char *sig, size_t siglen,
                  uint8_t keyid[MINISIG_KEYID_SIZE], struct cm_err *err)
{
    struct sig s;

    if (sig_parse(sig, siglen, &s, err) == -1)
        return -1;
    memcpy(keyid, s.bin + SIG_OFF_KEYID, MINISIG_KEYID_SIZE);
    return 0;
}

static int
check_comment(const char *s, size_t max, const char *what, struct cm_err *err)
{
    if (strnlen(s, max + 1) > max)
        return cm_fail(err, CM_EUSAGE, "%s is longer than %zu bytes", what,
                       max);
    if (strpbrk(s, "\r\n") != NULL)
        return cm_fail(err, CM_EUSAGE, "%s must be a single line", what);
    return 0;
}

/* The global signature covers signature || trusted comment. */
static size_t
global_text(const struct sig *s, uint8_t out[ED_SIG_SIZE + MINISIG_COMMENT_MAX])
{
    memcpy(out, s->bin + SIG_OFF_SIG, ED_SIG_SIZE);
    memcpy(out + ED_SIG_SIZE, s->comment, s->comment_len);
    return ED_SIG_SIZE + s->comment_len;
}

static int
sig_format(const struct sig *s, const char *untrusted, struct buf *out,
           struct cm_err *err)
{
    char sig_b64[B64_SIZE(SIG_BIN_SIZE)], global_b64[B64_SIZE(ED_SIG_SIZE)];

    b64_encode(sig_b64, s->bin, sizeof s->bin, 1);
    b64_encode(global_b64, s->global, sizeof s->global, 1);
    return buf_printf(out, err, "%s%s\n%s\n%s%.*s\n%s\n", COMMENT_PREFIX,
                      untrusted, sig_b64, TRUSTED_PREFIX, (int)s->comment_len,
                      s->comment, global_b64);
}

int
minisig_sign(const struct minisig_seckey *sk, const void *msg, size_t len,
             const char *untrusted_comment, const char *trusted_comment,
             struct buf *out, struct cm_err *err)
{
    uint8_t hash[PREHASH_SIZE], text[ED_SIG_SIZE + MINISIG_COMMENT_MAX];
    struct sig s;
    size_t tlen;

    if (untrusted_comment == NULL)
        untrusted_comment = DEFAULT_SIG_COMMENT;
    if (trusted_comment == NULL)
        trusted_comment = "";
    if (check_comment(untrusted_comment, MINISIG_UNTRUSTED_COMMENT_MAX,
                      "untrusted comment", err) == -1 ||
        check_comment(trusted_comment, MINISIG_COMMENT_MAX, "trusted comment",
                      err) == -1)
        return -1;
    memcpy(s.bin, ALG_HASHED, 2);
    memcpy(s.bin + SIG_OFF_KEYID, sk->keyid, MINISIG_KEYID_SIZE);
    s.comment = trusted_comment;
    s.comment_len = strlen(trusted_comment);
    if (blake2b_hash(hash, sizeof hash, msg, len, err) == -1 ||
        ed_sign(sk->seed, hash, sizeof hash, s.bin + SIG_OFF_SIG, err) == -1)
        return -1;
    tlen = global_text(&s, text);
    if (ed_sign(sk->seed, text, tlen, s.global, err) == -1)
        return -1;
    /* As minisign does: never hand out a signature that would not verify. */
    if (ed_verify(sk->public_key, text, tlen, s.global, err) != 1)
        return cm_fail(err, CM_EINTERNAL,
                       "secret key: new signature does not verify");
    return sig_format(&s, untrusted_comment, out, err);
}

static int
verify_message(const struct minisig_pubkey *pk, const struct sig *s,
               const void *msg, size_t len, struct cm_err *err)
{
    uint8_t hash[PREHASH_SIZE];
    const uint8_t *signed_msg = msg;
    size_t signed_len = len;
    int ok;

    if (memcmp(s->bin, ALG_HASHED, 2) == 0) {
        if (blake2b_hash(hash, sizeof hash, msg, len, err) == -1)
            return -1;
        signed_msg = hash;
        signed_len = sizeof hash;
    }
    ok = ed_verify(pk->key, signed_msg, signed_len, s->bin + SIG_OFF_SIG, err);
    if (ok == -1)
        return -1;
    if (ok == 0)
        return cm_fail(err, CM_EAUTH,
                       "signature does not verify: the data was modified, "
                       "or was not signed by this key");
    return 0;
}

int
minisig_verify(const struct minisig_pubkey *pk, const void *msg, size_t len,
               const char *sig, size_t siglen, char *trusted_comment,
               struct cm_err *err)
{
    char sig_id[MINISIG_KEYID_HEX_LEN], pk_id[MINISIG_KEYID_HEX_LEN];
    uint8_t text[ED_SIG_SIZE + MINISIG_COMMENT_MAX];
    struct sig s;
    size_t tlen;
    int ok;

    if (sig_parse(sig, siglen, &s, err) == -1)
        return -1;
    if (memcmp(s.bin + SIG_OFF_KEYID, pk->keyid, MINISIG_KEYID_SIZE) != 0) {
        minisig_keyid_hex(s.bin + SIG_OFF_KEYID, sig_id);
        minisig_keyid_hex(pk->keyid, pk_id);
        return cm_fail(err, CM_ENOKEY,
                       "signature is by key %s, but the public key is %s",
                       sig_id, pk_id);
    }
    if (verify_message(pk, &s, msg, len, err) == -1)
        return -1;
    tlen = global_text(&s, text);
    ok = ed_verify(pk->key, text, tlen, s.global, err);
    if (ok == -1)
        return -1;
    if (ok == 0)
        return cm_fail(err, CM_EAUTH,
                       "trusted comment signature does not verify");
    if (trusted_comment != NULL) {
        memcpy(trusted_comment, s.comment, s.comment_len);
        trusted_comment[s.comment_len] = '\0';
    }
    return 0;
}
