#include "agekey.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "age.h"
#include "age_internal.h"
#include "buf.h"
#include "io.h"
#include "rnd.h"

#define RECIPIENT_HRP "age"
#define IDENTITY_HRP "age-secret-key-"
/* Longest Bech32 string decoded: far above any age key. */
#define BECH32_MAX 1023
#define BECH32_DATA_MAX (BECH32_MAX * 5 / 8)

/* ------------------------------------------------------------------ */
/* Bech32 (BIP 173)                                                    */

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t
polymod_step(uint32_t chk, uint8_t v)
{
    static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa,
                                    0x3d4233dd, 0x2a1462b3};
    uint32_t top = chk >> 25;

    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; i++)
        if ((top >> i) & 1)
            chk ^= gen[i];
    return chk;
}

static uint32_t
hrp_checksum(const char *hrp, size_t n)
{
    uint32_t chk = 1;

    for (size_t i = 0; i < n; i++)
        chk = polymod_step(chk, (uint8_t)((uint8_t)hrp[i] >> 5));
    chk = polymod_step(chk, 0);
    for (size_t i = 0; i < n; i++)
        chk = polymod_step(chk, (uint8_t)(hrp[i] & 31));
    return chk;
}

static int
charset_value(char c)
{
    const char *p;

    if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
    if (c == '\0' || (p = strchr(charset, c)) == NULL)
        return -1;
    return (int)(p - charset);
}

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int
agekey_bech32_encode(char *out, size_t outlen, const char *hrp,
                     const uint8_t *data, size_t datalen, struct cm_err *err)
{
    size_t hrplen = strlen(hrp), pos = 0;
    uint32_t chk, acc = 0;
    int bits = 0;

    if (hrplen == 0 || datalen > BECH32_DATA_MAX ||
        hrplen + 1 + (datalen * 8 + 4) / 5 + 6 + 1 > outlen)
        return cm_fail(err, CM_EFORMAT, "bech32: output does not fit");
    for (size_t i = 0; i < hrplen; i++) {
        if (hrp[i] < 33 || hrp[i] > 126)
            return cm_fail(err, CM_EFORMAT, "bech32: invalid prefix");
        out[pos++] = lower(hrp[i]);
    }
    chk = hrp_checksum(out, hrplen);
    out[pos++] = '1';
    for (size_t i = 0; i <= datalen; i++) {
        if (i < datalen) {
            acc = ((acc << 8) | data[i]) & 0xfff;
            bits += 8;
        } else if (bits > 0) {
            acc <<= 5 - bits;
            bits = 5;
        }
        while (bits >= 5) {
            uint8_t v = (uint8_t)((acc >> (bits - 5)) & 31);
            bits -= 5;
            chk = polymod_step(chk, v);
            out[pos++] = charset[v];
        }
    }
    for (int i = 0; i < 6; i++)
        chk = polymod_step(chk, 0);
    chk ^= 1;
    for (int i = 0; i < 6; i++)
        out[pos++] = charset[(chk >> (5 * (5 - i))) & 31];
    out[pos] = '\0';
    OPENSSL_cleanse(&acc, sizeof acc);
    return 0;
}

static int
bech32_fail(struct cm_err *err, const char *fault)
{
    return cm_fail(err, CM_EFORMAT, "bech32: %s", fault);
}

/* The separator, case and prefix checks; the prefix in lower case. */
static int
split_hrp(const char *s, size_t len, char *hrp, size_t *hrplen,
          struct cm_err *err)
{
    const char *sep = NULL;
    int has_lower = 0, has_upper = 0;

    for (size_t i = 0; i < len; i++) {
        has_lower |= s[i] >= 'a' && s[i] <= 'z';
        has_upper |= s[i] >= 'A' && s[i] <= 'Z';
        if (s[i] == '1')
            sep = s + i;
    }
    if (has_lower && has_upper)
        return bech32_fail(err, "mixed case");
    if (sep == NULL || sep == s || (size_t)(s + len - sep) < 7)
        return bech32_fail(err, "separator missing or misplaced");
    *hrplen = (size_t)(sep - s);
    for (size_t i = 0; i < *hrplen; i++) {
        if (s[i] < 33 || s[i] > 126)
            return bech32_fail(err, "invalid character in the prefix");
        hrp[i] = lower(s[i]);
    }
    hrp[*hrplen] = '\0';
    return 0;
}

/* 5-bit groups to bytes; the padding must be under 5 bits and zero. */
static int
regroup(const char *d, size_t n, uint8_t *out, size_t *outlen, uint32_t *chk,
        struct cm_err *err)
{
    uint32_t acc = 0;
    int bits = 0, v, rc = -1;

    *outlen = 0;
    for (size_t i = 0; i < n; i++) {
        if ((v = charset_value(d[i])) < 0) {
            bech32_fail(err, "invalid character");
            goto out;
        }
        *chk = polymod_step(*chk, (uint8_t)v);
        if (i + 6 >= n)
            continue;
        acc = ((acc << 5) | (uint32_t)v) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out[(*outlen)++] = (uint8_t)(acc >> bits);
        }
    }
    if (*chk != 1)
        bech32_fail(err, "bad checksum");
    else if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
        bech32_fail(err, "non-zero padding");
    else
        rc = 0;
out:
    OPENSSL_cleanse(&acc, sizeof acc);
    return rc;
}

int
agekey_bech32_decode(const char *s, char *hrp, size_t hrpmax, uint8_t *data,
                     size_t datamax, size_t *datalen, struct cm_err *err)
{
    char h[BECH32_MAX + 1];
    uint8_t d[BECH32_DATA_MAX];
    size_t len = strnlen(s, BECH32_MAX + 1), hl = 0, dl = 0;
    uint32_t chk;
    int rc = -1;

    if (len > BECH32_MAX) {
        bech32_fail(err, "too long");
        goto out;
    }
    if (split_hrp(s, len, h, &hl, err) == -1)
        goto out;
    chk = hrp_checksum(h, hl);
    if (regroup(s + hl + 1, len - hl - 1, d, &dl, &chk, err) == -1)
        goto out;
    if (hl + 1 > hrpmax || dl > datamax) {
        bech32_fail(err, "result does not fit");
        goto out;
    }
    memcpy(hrp, h, hl + 1);
    memcpy(data, d, dl);
    *datalen = dl;
    rc = 0;
out:
    OPENSSL_cleanse(d, sizeof d);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

int
agekey_recipient_parse(const char *s, struct age_recipient *out,
                       struct cm_err *err)
{
    struct cm_err e = CM_ERR_INIT;
    uint8_t key[32];
    char hrp[32];
    size_t n;

    if (agekey_bech32_decode(s, hrp, sizeof hrp, key, sizeof key, &n, &e) == -1)
        return cm_fail(err, CM_EFORMAT, "invalid age recipient: %s", e.msg);
    if (strcmp(hrp, RECIPIENT_HRP) != 0 || s[0] != 'a' || n != sizeof key)
        return cm_fail(err, CM_EFORMAT,
                       "invalid age recipient: not \"age1\" and 32 bytes");
    memset(out, 0, sizeof *out);
    out->kind = AGEKEY_X25519;
    memcpy(out->public_key, key, sizeof key);
    return 0;
}

void
agekey_recipient_format(const struct age_recipient *r,
                        char out[AGEKEY_RECIPIENT_LEN])
{
    if (agekey_bech32_encode(out, AGEKEY_RECIPIENT_LEN, RECIPIENT_HRP,
                             r->public_key, sizeof r->public_key, NULL) == -1)
        out[0] = '\0';
}

static int
check_passphrase(const char *passphrase, struct cm_err *err)
{
    if (strnlen(passphrase, AGEKEY_PASSPHRASE_MAX + 1) > AGEKEY_PASSPHRASE_MAX)
        return cm_fail(err, CM_EUSAGE, "passphrase longer than %d bytes",
                       AGEKEY_PASSPHRASE_MAX);
    return 0;
}

int
agekey_recipient_scrypt(const char *passphrase, int log_n,
                        struct age_recipient *out, struct cm_err *err)
{
    if (check_passphrase(passphrase, err) == -1)
        return -1;
    if (passphrase[0] == '\0')
        return cm_fail(err, CM_EUSAGE, "empty passphrase");
    if (log_n < 1 || log_n > AGEKEY_SCRYPT_MAX_LOG_N)
        return cm_fail(err, CM_EUSAGE, "scrypt work factor %d not in 1..%d",
                       log_n, AGEKEY_SCRYPT_MAX_LOG_N);
    memset(out, 0, sizeof *out);
    out->kind = AGEKEY_SCRYPT;
    out->scrypt_log_n = log_n;
    strcpy(out->passphrase, passphrase);
    return 0;
}

int
agekey_identity_parse(const char *s, struct age_identity *out,
                      struct cm_err *err)
{
    struct cm_err e = CM_ERR_INIT;
    uint8_t key[32];
    char hrp[32];
    size_t n;
    int rc = -1;

    if (agekey_bech32_decode(s, hrp, sizeof hrp, key, sizeof key, &n, &e) ==
        -1) {
        cm_fail(err, CM_EFORMAT, "invalid age identity: %s", e.msg);
        goto out;
    }
    if (strcmp(hrp, IDENTITY_HRP) != 0 || s[0] != 'A' || n != sizeof key) {
        cm_fail(err, CM_EFORMAT,
                "invalid age identity: not "
                "\"AGE-SECRET-KEY-1\" and 32 bytes");
        goto out;
    }
    memset(out, 0, sizeof *out);
    out->kind = AGEKEY_X25519;
    memcpy(out->secret_key, key, sizeof key);
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

void
agekey_identity_format(const struct age_identity *id,
                       char out[AGEKEY_IDENTITY_LEN])
{
    if (agekey_bech32_encode(out, AGEKEY_IDENTITY_LEN, IDENTITY_HRP,
                             id->secret_key, sizeof id->secret_key,
                             NULL) == -1) {
        out[0] = '\0';
        return;
    }
    for (char *p = out; *p != '\0'; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
}

int
agekey_identity_generate(struct age_identity *out, struct cm_err *err)
{
    memset(out, 0, sizeof *out);
    out->kind = AGEKEY_X25519;
    return rnd_bytes(out->secret_key, sizeof out->secret_key, err);
}

int
agekey_identity_recipient(const struct age_identity *id,
                          struct age_recipient *out, struct cm_err *err)
{
    uint8_t pub[32];

    if (id->kind != AGEKEY_X25519)
        return cm_fail(err, CM_EUSAGE,
                       "a passphrase identity has no recipient");
    if (age_x25519_base(pub, id->secret_key, err) == -1)
        return -1;
    memset(out, 0, sizeof *out);
    out->kind = AGEKEY_X25519;
    memcpy(out->public_key, pub, sizeof pub);
    return 0;
}

int
agekey_identity_scrypt(const char *passphrase, struct age_identity *out,
                       struct cm_err *err)
{
    if (check_passphrase(passphrase, err) == -1)
        return -1;
    memset(out, 0, sizeof *out);
    out->kind = AGEKEY_SCRYPT;
    strcpy(out->passphrase, passphrase);
    return 0;
}

void
agekey_identity_wipe(struct age_identity *id)
{
    OPENSSL_cleanse(id, sizeof *id);
}

/* ------------------------------------------------------------------ */
/* Lists                                                               */

/* The lists keep no capacity: it is the next power of two, at least 4. */
static size_t
capacity(size_t n)
{
    size_t c = 4;

    while (c < n)
        c *= 2;
    return c;
}

/* Grow ${*arr} of ${n} ${size}-byte items for one more, wiping the old. */
static int
grow(void **arr, size_t n, size_t size, struct cm_err *err)
{
    size_t cap;
    void *p;

    if (*arr != NULL && n < capacity(n))
        return 0;
    cap = capacity(n + 1);
    if ((p = cm_calloc(cap, size, err)) == NULL)
        return -1;
    if (*arr != NULL) {
        memcpy(p, *arr, n * size);
        OPENSSL_cleanse(*arr, capacity(n) * size);
        free(*arr);
    }
    *arr = p;
    return 0;
}

int
agekey_identities_add(struct age_identities *ids, const struct age_identity *id,
                      struct cm_err *err)
{
    void *arr = ids->ids;

    if (grow(&arr, ids->n, sizeof *ids->ids, err) == -1)
        return -1;
    ids->ids = arr;
    ids->ids[ids->n++] = *id;
    return 0;
}

void
agekey_identities_free(struct age_identities *ids)
{
    if (ids == NULL)
        return;
    if (ids->ids != NULL) {
        OPENSSL_cleanse(ids->ids, capacity(ids->n) * sizeof *ids->ids);
        free(ids->ids);
    }
    ids->ids = NULL;
    ids->n = 0;
}

int
agekey_recipients_add(struct age_recipients *rs, const struct age_recipient *r,
                      struct cm_err *err)
{
    void *arr = rs->r;

    if (grow(&arr, rs->n, sizeof *rs->r, err) == -1)
        return -1;
    rs->r = arr;
    rs->r[rs->n++] = *r;
    return 0;
}

void
agekey_recipients_free(struct age_recipients *rs)
{
    if (rs == NULL)
        return;
    if (rs->r != NULL) {
        OPENSSL_cleanse(rs->r, capacity(rs->n) * sizeof *rs->r);
        free(rs->r);
    }
    rs->r = NULL;
    rs->n = 0;
}
