#include "age_internal.h"

#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "agekey.h"

/* OSSL_PARAM wants a mutable string even for inputs. */
static char sha256_name[] = "SHA256";

static const char scrypt_label[] = "age-encryption.org/v1/scrypt";

static int
openssl_fail(struct cm_err *err, const char *what)
{
    unsigned long e = ERR_get_error();
    char reason[128] = "unknown error";

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    return cm_fail(err, CM_EINTERNAL, "%s failed (OpenSSL: %s)", what, reason);
}

int
age_hkdf(uint8_t *out, size_t outlen, const uint8_t *salt, size_t saltlen,
         const uint8_t *ikm, size_t ikmlen, const char *info,
         struct cm_err *err)
{
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    OSSL_PARAM params[5], *p = params;
    int rc = -1;

    *p++ =
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, sha256_name, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm,
                                             ikmlen);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                             strlen(info));
    if (saltlen > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                 (void *)salt, saltlen);
    *p = OSSL_PARAM_construct_end();
    if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
        (ctx = EVP_KDF_CTX_new(kdf)) == NULL ||
        EVP_KDF_derive(ctx, out, outlen, params) != 1) {
        openssl_fail(err, "HKDF");
        goto out;
    }
    rc = 0;
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

int
age_hmac(uint8_t mac[32], const uint8_t key[AGE_KEY_SIZE], const uint8_t *p,
         size_t len, struct cm_err *err)
{
    EVP_MAC *m = NULL;
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    size_t outlen = 0;
    int rc = -1;

    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256_name, 0);
    params[1] = OSSL_PARAM_construct_end();
    if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
        (ctx = EVP_MAC_CTX_new(m)) == NULL ||
        EVP_MAC_init(ctx, key, AGE_KEY_SIZE, params) != 1 ||
        EVP_MAC_update(ctx, p, len) != 1 ||
        EVP_MAC_final(ctx, mac, &outlen, 32) != 1 || outlen != 32) {
        openssl_fail(err, "HMAC-SHA-256");
        goto out;
    }
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    return rc;
}

EVP_CIPHER_CTX *
age_aead_new(struct cm_err *err)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

    if (ctx == NULL)
        openssl_fail(err, "EVP_CIPHER_CTX_new");
    return ctx;
}

int
age_aead_seal(EVP_CIPHER_CTX *ctx, const uint8_t key[AGE_KEY_SIZE],
              const uint8_t nonce[AGE_STREAM_NONCE_SIZE], const uint8_t *pt,
              size_t len, uint8_t *ct, struct cm_err *err)
{
    EVP_CIPHER_CTX *own = NULL;
    int outl = 0, finl = 0, rc = -1;

    if (len > INT_MAX - AGE_TAG_SIZE)
        return cm_fail(err, CM_EINTERNAL, "AEAD input too large");
    if (ctx == NULL && (ctx = own = age_aead_new(err)) == NULL)
        return -1;
    if (EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce) !=
            1 ||
        EVP_EncryptUpdate(ctx, ct, &outl, pt, (int)len) != 1 ||
        EVP_EncryptFinal_ex(ctx, ct + outl, &finl) != 1 ||
        (size_t)outl + (size_t)finl != len ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AGE_TAG_SIZE,
                            ct + len) != 1) {
        openssl_fail(err, "ChaCha20-Poly1305 encryption");
        goto out;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(own);
    return rc;
}

int
age_aead_open(EVP_CIPHER_CTX *ctx, const uint8_t key[AGE_KEY_SIZE],
              const uint8_t nonce[AGE_STREAM_NONCE_SIZE], const uint8_t *ct,
              size_t ctlen, uint8_t *pt, struct cm_err *err)
{
    EVP_CIPHER_CTX *own = NULL;
    uint8_t tag[AGE_TAG_SIZE];
    int outl = 0, finl = 0, rc = -1;
    size_t len;

    if (ctlen < AGE_TAG_SIZE)
        return 1;
    len = ctlen - AGE_TAG_SIZE;
    if (len > INT_MAX)
        return cm_fail(err, CM_EINTERNAL, "AEAD input too large");
    if (ctx == NULL && (ctx = own = age_aead_new(err)) == NULL)
        return -1;
    memcpy(tag, ct + len, sizeof tag);
    if (EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce) !=
            1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AGE_TAG_SIZE, tag) !=
            1 ||
        EVP_DecryptUpdate(ctx, pt, &outl, ct, (int)len) != 1) {
        openssl_fail(err, "ChaCha20-Poly1305 decryption");
        goto out;
    }
    /* The tag is checked here, in constant time; until then ${pt} is
     * unauthenticated and must not escape. */
    if (EVP_DecryptFinal_ex(ctx, pt + outl, &finl) != 1) {
        OPENSSL_cleanse(pt, len);
        ERR_clear_error();
        rc = 1;
        goto out;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(own);
    return rc;
}

void
age_chunk_nonce(uint8_t nonce[AGE_STREAM_NONCE_SIZE], uint64_t idx, int last)
{
    nonce[0] = nonce[1] = nonce[2] = 0;
    for (int i = 0; i < 8; i++)
        nonce[3 + i] = (uint8_t)(idx >> (56 - 8 * i));
    nonce[11] = last ? 1 : 0;
}

static EVP_PKEY *
x25519_key(const uint8_t *k, int private, struct cm_err *err)
{
    EVP_PKEY *pk;

    if (private)
        pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, k,
                                          AGE_X25519_SIZE);
    else
        pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, k,
                                         AGE_X25519_SIZE);
    if (pk == NULL)
        openssl_fail(err, "X25519 key setup");
    return pk;
}

int
age_x25519(uint8_t out[AGE_X25519_SIZE], const uint8_t scalar[AGE_X25519_SIZE],
           const uint8_t point[AGE_X25519_SIZE], struct cm_err *err)
{
    EVP_PKEY *sk = NULL, *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    size_t outlen = AGE_X25519_SIZE;
    uint8_t acc = 0;
    int rc = -1;

    if ((sk = x25519_key(scalar, 1, err)) == NULL ||
        (pk = x25519_key(point, 0, err)) == NULL)
        goto out;
    if ((ctx = EVP_PKEY_CTX_new(sk, NULL)) == NULL ||
        EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) != 1) {
        openssl_fail(err, "X25519 setup");
        goto out;
    }
    /* OpenSSL refuses to output the all-zero shared secret: that is the
     * only way this derivation fails once the keys are set up. */
    if (EVP_PKEY_derive(ctx, out, &outlen) != 1 || outlen != AGE_X25519_SIZE) {
        ERR_clear_error();
        OPENSSL_cleanse(out, AGE_X25519_SIZE);
        rc = 1;
        goto out;
    }
    for (size_t i = 0; i < AGE_X25519_SIZE; i++)
        acc |= out[i];
    rc = acc == 0 ? 1 : 0;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    EVP_PKEY_free(sk);
    return rc;
}

int
age_x25519_base(uint8_t out[AGE_X25519_SIZE],
                const uint8_t scalar[AGE_X25519_SIZE], struct cm_err *err)
{
    EVP_PKEY *sk = x25519_key(scalar, 1, err);
    size_t outlen = AGE_X25519_SIZE;
    int rc = -1;

    if (sk == NULL)
        return -1;
    if (EVP_PKEY_get_raw_public_key(sk, out, &outlen) != 1 ||
        outlen != AGE_X25519_SIZE) {
        openssl_fail(err, "X25519 public key");
        goto out;
    }
    rc = 0;
out:
    EVP_PKEY_free(sk);
    return rc;
}

int
age_scrypt(uint8_t key[AGE_KEY_SIZE], const char *pass,
           const uint8_t salt[AGE_SCRYPT_SALT_SIZE], int log_n,
           struct cm_err *err)
{
    uint8_t s[sizeof scrypt_label - 1 + AGE_SCRYPT_SALT_SIZE];
    uint64_t n, maxmem;

    if (log_n < 1 || log_n > AGEKEY_SCRYPT_MAX_LOG_N)
        return cm_fail(err, CM_EINTERNAL, "scrypt work factor %d", log_n);
    n = UINT64_C(1) << log_n;
    /* OpenSSL needs 128 r (N + 2) bytes for V and 128 r p for B. */
    maxmem = 128 * 8 * (n + 2) + 128 * 8 + 65536;
    memcpy(s, scrypt_label, sizeof scrypt_label - 1);
    memcpy(s + sizeof scrypt_label - 1, salt, AGE_SCRYPT_SALT_SIZE);
    if (EVP_PBE_scrypt(pass, strlen(pass), s, sizeof s, n, 8, 1, maxmem, key,
                       AGE_KEY_SIZE) != 1)
        return openssl_fail(err, "scrypt");
    return 0;
}
