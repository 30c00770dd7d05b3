#include "age.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "age_internal.h"
#include "buf.h"
#include "enc.h"
#include "rnd.h"

#define INTRO "age-encryption.org/v1"
#define BODY_COLUMNS 64
#define BODY_LINE_BYTES 48
#define MAC_B64_LEN 43

static const char x25519_label[] = "age-encryption.org/v1/X25519";

/* ------------------------------------------------------------------ */
/* Header parsing                                                      */

struct hparse {
    const uint8_t *p;
    size_t len, pos, lineno;
    const char *name;
    struct age_header h;
    size_t cap;
};

static int
hfail(struct hparse *ps, struct cm_err *err, const char *fault)
{
    return cm_fail(err, CM_EFORMAT, "%s: header line %zu: %s", ps->name,
                   ps->lineno, fault);
}

/* The next line without its '\n'; a line must end within the header. */
static int
read_line(struct hparse *ps, const uint8_t **line, size_t *n,
          struct cm_err *err)
{
    size_t max = ps->len < AGE_HEADER_MAX ? ps->len : AGE_HEADER_MAX;
    const uint8_t *nl = NULL;

    ps->lineno++;
    if (ps->pos < max)
        nl = memchr(ps->p + ps->pos, '\n', max - ps->pos);
    if (nl == NULL && ps->len >= AGE_HEADER_MAX)
        return cm_fail(err, CM_EFORMAT, "%s: header is larger than %d bytes",
                       ps->name, AGE_HEADER_MAX);
    if (nl == NULL)
        return cm_fail(err, CM_EFORMAT, "%s: header is truncated (line %zu)",
                       ps->name, ps->lineno);
    *line = ps->p + ps->pos;
    *n = (size_t)(nl - *line);
    ps->pos += *n + 1;
    return 0;
}

static int
parse_intro(struct hparse *ps, struct cm_err *err)
{
    const uint8_t *line;
    size_t n;

    if (ps->len == 0)
        return cm_fail(err, CM_EFORMAT, "%s: empty file, not an age file",
                       ps->name);
    if (memcmp(ps->p, INTRO "\n",
               ps->len < sizeof INTRO ? ps->len : sizeof INTRO) != 0)
        return cm_fail(err, CM_EFORMAT,
                       "%s: not an age v1 file (first line is not \"%s\")",
                       ps->name, INTRO);
    if (read_line(ps, &line, &n, err) == -1)
        return -1;
    return 0;
}

/* "-> type arg..." after the "-> ": every argument 1+ VCHARs. */
static int
parse_args(struct hparse *ps, struct age_stanza *st, const uint8_t *line,
           size_t n, struct cm_err *err)
{
    size_t nargs = 0, k = 0;
    char *s;

    for (size_t i = 0; i < n; i++) {
        if (line[i] == ' ' && (i == 0 || line[i - 1] == ' '))
            return hfail(ps, err, "empty stanza argument");
        if (line[i] == ' ')
            nargs++;
        else if (line[i] < 33 || line[i] > 126)
            return hfail(ps, err, "invalid character in stanza line");
    }
    if (n == 0 || line[n - 1] == ' ')
        return hfail(ps, err, "empty stanza argument");
    if ((s = cm_malloc(n + 1, err)) == NULL)
        return -1;
    memcpy(s, line, n);
    s[n] = '\0';
    st->type = s;
    if (nargs > 0 &&
        (st->args = cm_calloc(nargs, sizeof *st->args, err)) == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ') {
            s[i] = '\0';
            st->args[k++] = s + i + 1;
        }
    st->nargs = nargs;
    return 0;
}

static int
parse_body_line(struct hparse *ps, struct buf *body, const uint8_t *line,
                size_t n, struct cm_err *err)
{
    uint8_t tmp[BODY_LINE_BYTES];
    struct cm_err e = CM_ERR_INIT;
    long d;

    if (n > BODY_COLUMNS)
        return hfail(ps, err, "stanza body line is longer than 64 columns");
    if (n > 0 && line[0] == '-')
        return hfail(ps, err, "stanza body does not end with a short line");
    d = b64_decode(tmp, sizeof tmp, (const char *)line, n, B64_UNPADDED,
                   "stanza body", &e);
    if (d < 0)
        return hfail(ps, err, e.msg);
    return buf_append(body, tmp, (size_t)d, "stanza body", err);
}

static int
parse_body(struct hparse *ps, struct age_stanza *st, struct cm_err *err)
{
    struct buf body;
    const uint8_t *line;
    size_t n;
    int rc = -1;

    buf_init(&body, AGE_HEADER_MAX);
    do {
        if (read_line(ps, &line, &n, err) == -1 ||
            parse_body_line(ps, &body, line, n, err) == -1)
            goto out;
    } while (n == BODY_COLUMNS);
    st->body = buf_take(&body, &st->body_len);
    rc = 0;
out:
    buf_free(&body);
    return rc;
}

static int
add_stanza(struct hparse *ps, const uint8_t *line, size_t n, struct cm_err *err)
{
    struct age_header *h = &ps->h;
    struct age_stanza *st;

    if (h->nstanzas == AGE_STANZAS_MAX)
        return hfail(ps, err, "too many stanzas");
    if (h->nstanzas == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 4;
        st = realloc(h->stanzas, cap * sizeof *st);
        if (st == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        h->stanzas = st;
        ps->cap = cap;
    }
    st = &h->stanzas[h->nstanzas++];
    memset(st, 0, sizeof *st);
    if (parse_args(ps, st, line, n, err) == -1)
        return -1;
    return parse_body(ps, st, err);
}

static int
parse_mac(struct hparse *ps, const uint8_t *line, size_t n, struct cm_err *err)
{
    struct cm_err e = CM_ERR_INIT;

    if (n != 4 + MAC_B64_LEN || line[3] != ' ')
        return hfail(ps, err, "malformed MAC line");
    if (b64_decode(ps->h.mac, sizeof ps->h.mac, (const char *)line + 4,
                   MAC_B64_LEN, B64_UNPADDED, "header MAC", &e) != 32)
        return hfail(ps, err, e.code ? e.msg : "malformed MAC line");
    return 0;
}

int
age_header_parse(const uint8_t *p, size_t len, const char *name,
                 struct age_header *h, struct cm_err *err)
{
    struct hparse ps;
    const uint8_t *line;
    size_t n, start;
    int rc = -1;

    memset(&ps, 0, sizeof ps);
    ps.p = p;
    ps.len = len;
    ps.name = name;
    if (parse_intro(&ps, err) == -1)
        goto out;
    for (;;) {
        start = ps.pos;
        if (read_line(&ps, &line, &n, err) == -1)
            goto out;
        if (n >= 3 && memcmp(line, "---", 3) == 0)
            break;
        if (n < 3 || memcmp(line, "-> ", 3) != 0) {
            hfail(&ps, err, "expected a stanza (\"-> \") or the MAC (\"---\")");
            goto out;
        }
        if (add_stanza(&ps, line + 3, n - 3, err) == -1)
            goto out;
    }
    if (parse_mac(&ps, line, n, err) == -1)
        goto out;
    if (ps.h.nstanzas == 0) {
        hfail(&ps, err, "header has no recipient stanza");
        goto out;
    }
    ps.h.mac_input_len = start + 3;
    ps.h.len = ps.pos;
    *h = ps.h;
    memset(&ps.h, 0, sizeof ps.h);
    rc = 0;
out:
    age_header_free(&ps.h);
    return rc;
}

void
age_header_free(struct age_header *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->nstanzas; i++) {
        struct age_stanza *st = &h->stanzas[i];
        free(st->type);
        free(st->args);
        cm_free_secret(st->body, st->body_len);
    }
    free(h->stanzas);
    memset(h, 0, sizeof *h);
}

/* ------------------------------------------------------------------ */
/* Unwrapping                                                          */

/* Exactly ${n} bytes of canonical unpadded base64 from the text ${s}. */
static int
decode_arg(uint8_t *out, size_t n, const char *s, const char *name,
           const char *what, struct cm_err *err)
{
    struct cm_err e = CM_ERR_INIT;
    long d = b64_decode(out, n, s, strlen(s), B64_UNPADDED, what, &e);

    if (d < 0)
        return cm_fail(err, CM_EFORMAT, "%s: %s", name, e.msg);
    if ((size_t)d != n)
        return cm_fail(err, CM_EFORMAT, "%s: %s is not %zu bytes", name, what,
                       n);
    return 0;
}

static int
check_body(const struct age_stanza *st, const char *name, struct cm_err *err)
{
    if (st->body_len != AGE_WRAPPED_KEY_SIZE)
        return cm_fail(err, CM_EFORMAT,
                       "%s: %s stanza: wrapped file key is not %d bytes", name,
                       st->type, AGE_FILE_KEY_SIZE);
    return 0;
}

/* 0 with ${file_key} set, 1 if the stanza is not for this identity, -1. */
static int
unwrap_x25519(const struct age_stanza *st, const struct age_identity *id,
              const uint8_t pub[32], const char *name,
              uint8_t file_key[AGE_FILE_KEY_SIZE], struct cm_err *err)
{
    static const uint8_t zero_nonce[AGE_STREAM_NONCE_SIZE];
    uint8_t share[32], shared[32], salt[64], key[AGE_KEY_SIZE];
    int r, rc = -1;

    if (strcmp(st->type, "X25519") != 0)
        return 1;
    if (st->nargs != 1)
        return cm_fail(err, CM_EFORMAT,
                       "%s: X25519 stanza needs exactly one argument", name);
    if (decode_arg(share, sizeof share, st->args[0], name, "X25519 share",
                   err) == -1 ||
        check_body(st, name, err) == -1)
        return -1;
    if ((r = age_x25519(shared, id->secret_key, share, err)) != 0) {
        if (r == 1)
            cm_fail(err, CM_EFORMAT, "%s: X25519 share is a low-order point",
                    name);
        goto out;
    }
    memcpy(salt, share, 32);
    memcpy(salt + 32, pub, 32);
    if (age_hkdf(key, sizeof key, salt, sizeof salt, shared, sizeof shared,
                 x25519_label, err) == -1)
        goto out;
    rc = age_aead_open(NULL, key, zero_nonce, st->body, st->body_len, file_key,
                       err);
out:
    OPENSSL_cleanse(shared, sizeof shared);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

/* A work factor: decimal, no sign, no leading zero, 1..MAX_LOG_N. */
static int
parse_log_n(const char *s, const char *name, int *log_n, struct cm_err *err)
{
    size_t n = strlen(s);
    int v = 0;

    if (n == 0 || n > 2 || s[0] == '0')
        return cm_fail(err, CM_EFORMAT, "%s: invalid scrypt work factor", name);
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return cm_fail(err, CM_EFORMAT, "%s: invalid scrypt work factor",
                           name);
        v = v * 10 + (s[i] - '0');
    }
    if (v > AGEKEY_SCRYPT_MAX_LOG_N)
        return cm_fail(err, CM_EFORMAT,
                       "%s: scrypt work factor %d is above the limit of %d",
                       name, v, AGEKEY_SCRYPT_MAX_LOG_N);
    *log_n = v;
    return 0;
}

static int
unwrap_scrypt(const struct age_stanza *st, const struct age_identity *id,
              const char *name, uint8_t file_key[AGE_FILE_KEY_SIZE],
              struct cm_err *err)
{
    static const uint8_t zero_nonce[AGE_STREAM_NONCE_SIZE];
    uint8_t salt[AGE_SCRYPT_SALT_SIZE], key[AGE_KEY_SIZE];
    int log_n = 0, rc = -1;

    if (strcmp(st->type, "scrypt") != 0)
        return 1;
    if (st->nargs != 2)
        return cm_fail(err, CM_EFORMAT,
                       "%s: scrypt stanza needs exactly two arguments", name);
    if (decode_arg(salt, sizeof salt, st->args[0], name, "scrypt salt", err) ==
            -1 ||
        parse_log_n(st->args[1], name, &log_n, err) == -1 ||
        check_body(st, name, err) == -1)
        return -1;
    if (age_scrypt(key, id->passphrase, salt, log_n, err) == -1)
        goto out;
    rc = age_aead_open(NULL, key, zero_nonce, st->body, st->body_len, file_key,
                       err);
out:
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

static int
check_scrypt_alone(const struct age_header *h, const char *name,
                   struct cm_err *err)
{
    for (size_t i = 0; i < h->nstanzas; i++)
        if (strcmp(h->stanzas[i].type, "scrypt") == 0 && h->nstanzas != 1)
            return cm_fail(err, CM_EFORMAT,
                           "%s: an scrypt stanza must be the only one", name);
    return 0;
}

/* Try ${id} on every stanza: 0 found, 1 nothing opens, -1 error. */
static int
unwrap_with(const struct age_header *h, const struct age_identity *id,
            const char *name, uint8_t file_key[AGE_FILE_KEY_SIZE],
            struct cm_err *err)
{
    uint8_t pub[32];
    int r = 1;

    if (id->kind == AGEKEY_X25519 &&
        age_x25519_base(pub, id->secret_key, err) == -1)
        return -1;
    for (size_t j = 0; j < h->nstanzas && r == 1; j++) {
        if (id->kind == AGEKEY_X25519)
            r = unwrap_x25519(&h->stanzas[j], id, pub, name, file_key, err);
        else
            r = unwrap_scrypt(&h->stanzas[j], id, name, file_key, err);
    }
    return r;
}

static int
check_mac(const struct age_header *h, const uint8_t *header_bytes,
          const uint8_t file_key[AGE_FILE_KEY_SIZE], const char *name,
          struct cm_err *err)
{
    uint8_t mac_key[AGE_KEY_SIZE], mac[32];
    int rc = -1;

    if (age_hkdf(mac_key, sizeof mac_key, NULL, 0, file_key, AGE_FILE_KEY_SIZE,
                 "header", err) == -1)
        goto out;
    if (age_hmac(mac, mac_key, header_bytes, h->mac_input_len, err) == -1)
        goto out;
    if (CRYPTO_memcmp(mac, h->mac, sizeof mac) != 0) {
        cm_fail(err, CM_EAUTH, "%s: header MAC does not match", name);
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(mac_key, sizeof mac_key);
    return rc;
}

int
age_header_unwrap(const struct age_header *h, const uint8_t *header_bytes,
                  const struct age_identities *ids, const char *name,
                  uint8_t file_key[AGE_FILE_KEY_SIZE], struct cm_err *err)
{
    uint8_t key[AGE_FILE_KEY_SIZE];
    int r = 1, rc = -1;

    if (check_scrypt_alone(h, name, err) == -1)
        return -1;
    for (size_t i = 0; ids != NULL && i < ids->n && r == 1; i++)
        r = unwrap_with(h, &ids->ids[i], name, key, err);
    if (r == -1)
        goto out;
    if (r == 1) {
        cm_fail(err, CM_ENOKEY, "%s: no identity matches", name);
        goto out;
    }
    if (check_mac(h, header_bytes, key, name, err) == -1)
        goto out;
    memcpy(file_key, key, sizeof key);
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

enum { W_OPEN, W_DONE, W_FAILED };

struct age_writer {
    cm_write_fn sink;
    void *sink_ctx;
    EVP_CIPHER_CTX *aead;
    uint8_t key[AGE_KEY_SIZE];
    uint64_t chunk;
    uint64_t bytes_out;
    int state;
    size_t pt_len;
    uint8_t pt[AGE_CHUNK_SIZE];
    uint8_t ct[AGE_CHUNK_CT_SIZE];
};

/* A stanza body: 64-column lines, the last one shorter (maybe empty). */
static int
append_body(struct buf *b, const uint8_t *body, size_t len, struct cm_err *err)
{
    char line[BODY_COLUMNS + 1];
    size_t off = 0, take;

    do {
        take = len - off < BODY_LINE_BYTES ? len - off : BODY_LINE_BYTES;
        b64_encode(line, body + off, take, 0);
        if (buf_append_str(b, line, "age header", err) == -1 ||
            buf_append_byte(b, '\n', "age header", err) == -1)
            return -1;
        off += take;
    } while (take == BODY_LINE_BYTES);
    return 0;
}

static int
stanza_x25519(struct buf *b, const uint8_t file_key[AGE_FILE_KEY_SIZE],
              const uint8_t pub[32], struct cm_err *err)
{
    static const uint8_t zero_nonce[AGE_STREAM_NONCE_SIZE];
    uint8_t eph[32], share[32], shared[32], salt[64], key[AGE_KEY_SIZE];
    uint8_t body[AGE_WRAPPED_KEY_SIZE];
    char share_b64[44];
    int r, rc = -1;

    if (rnd_bytes(eph, sizeof eph, err) == -1 ||
        age_x25519_base(share, eph, err) == -1)
        goto out;
    if ((r = age_x25519(shared, eph, pub, err)) != 0) {
        if (r == 1)
            cm_fail(err, CM_EUSAGE, "recipient is a low-order X25519 point");
        goto out;
    }
    memcpy(salt, share, 32);
    memcpy(salt + 32, pub, 32);
    if (age_hkdf(key, sizeof key, salt, sizeof salt, shared, sizeof shared,
                 x25519_label, err) == -1 ||
        age_aead_seal(NULL, key, zero_nonce, file_key, AGE_FILE_KEY_SIZE, body,
                      err) == -1)
        goto out;
    b64_encode(share_b64, share, sizeof share, 0);
    if (buf_printf(b, err, "-> X25519 %s\n", share_b64) == -1 ||
        append_body(b, body, sizeof body, err) == -1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(eph, sizeof eph);
    OPENSSL_cleanse(shared, sizeof shared);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

static int
stanza_scrypt(struct buf *b, const uint8_t file_key[AGE_FILE_KEY_SIZE],
              const struct age_recipient *r, struct cm_err *err)
{
    static const uint8_t zero_nonce[AGE_STREAM_NONCE_SIZE];
    uint8_t salt[AGE_SCRYPT_SALT_SIZE], key[AGE_KEY_SIZE];
    uint8_t body[AGE_WRAPPED_KEY_SIZE];
    char salt_b64[24];
    int rc = -1;

    if (r->scrypt_log_n < 1 || r->scrypt_log_n > AGEKEY_SCRYPT_MAX_LOG_N)
        return cm_fail(err, CM_EUSAGE, "scrypt work factor %d out of range",
                       r->scrypt_log_n);
    if (rnd_bytes(salt, sizeof salt, err) == -1 ||
        age_scrypt(key, r->passphrase, salt, r->scrypt_log_n, err) == -1 ||
        age_aead_seal(NULL, key, zero_nonce, file_key, AGE_FILE_KEY_SIZE, body,
                      err) == -1)
        goto out;
    b64_encode(salt_b64, salt, sizeof salt, 0);
    if (buf_printf(b, err, "-> scrypt %s %d\n", salt_b64, r->scrypt_log_n) ==
            -1 ||
        append_body(b, body, sizeof body, err) == -1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

static int
build_header(struct buf *b, const struct age_recipient *r, size_t n,
             const uint8_t file_key[AGE_FILE_KEY_SIZE], struct cm_err *err)
{
    uint8_t mac_key[AGE_KEY_SIZE], mac[32];
    char mac_b64[MAC_B64_LEN + 1];
    int rc = -1;

    if (buf_append_str(b, INTRO "\n", "age header", err) == -1)
        goto out;
    for (size_t i = 0; i < n; i++) {
        int s = r[i].kind == AGEKEY_SCRYPT
                    ? stanza_scrypt(b, file_key, &r[i], err)
                    : stanza_x25519(b, file_key, r[i].public_key, err);
        if (s == -1)
            goto out;
    }
    if (buf_append_str(b, "---", "age header", err) == -1 ||
        age_hkdf(mac_key, sizeof mac_key, NULL, 0, file_key, AGE_FILE_KEY_SIZE,
                 "header", err) == -1 ||
        age_hmac(mac, mac_key, b->data, b->len, err) == -1)
        goto out;
    b64_encode(mac_b64, mac, sizeof mac, 0);
    if (buf_printf(b, err, " %s\n", mac_b64) == -1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(mac_key, sizeof mac_key);
    return rc;
}

static int
emit(struct age_writer *w, const void *p, size_t len, struct cm_err *err)
{
    if (w->sink(w->sink_ctx, p, len, err) == -1) {
        w->state = W_FAILED;
        return -1;
    }
    w->bytes_out += len;
    return 0;
}

static int
check_recipients(const struct age_recipient *r, size_t n, struct cm_err *err)
{
    if (n == 0)
        return cm_fail(err, CM_EUSAGE, "no recipients");
    if (n > AGE_STANZAS_MAX)
        return cm_fail(err, CM_EUSAGE, "more than %d recipients",
                       AGE_STANZAS_MAX);
    for (size_t i = 0; i < n; i++)
        if (r[i].kind == AGEKEY_SCRYPT && n != 1)
            return cm_fail(err, CM_EUSAGE,
                           "a passphrase recipient must be the only one");
    return 0;
}

int
age_writer_new(const struct age_recipient *r, size_t n, cm_write_fn sink,
               void *sink_ctx, struct age_writer **out, struct cm_err *err)
{
    struct age_writer *w = NULL;
    uint8_t file_key[AGE_FILE_KEY_SIZE], nonce[AGE_NONCE_SIZE];
    struct buf hdr;
    int rc = -1;

    buf_init(&hdr, AGE_HEADER_MAX);
    if (check_recipients(r, n, err) == -1 ||
        (w = cm_calloc(1, sizeof *w, err)) == NULL ||
        (w->aead = age_aead_new(err)) == NULL)
        goto out;
    w->sink = sink;
    w->sink_ctx = sink_ctx;
    if (rnd_bytes(file_key, sizeof file_key, err) == -1 ||
        build_header(&hdr, r, n, file_key, err) == -1 ||
        rnd_bytes(nonce, sizeof nonce, err) == -1 ||
        age_hkdf(w->key, sizeof w->key, nonce, sizeof nonce, file_key,
                 sizeof file_key, "payload", err) == -1 ||
        emit(w, hdr.data, hdr.len, err) == -1 ||
        emit(w, nonce, sizeof nonce, err) == -1)
        goto out;
    *out = w;
    w = NULL;
    rc = 0;
out:
    OPENSSL_cleanse(file_key, sizeof file_key);
    buf_free(&hdr);
    age_writer_free(w);
    return rc;
}

static int
seal_chunk(struct age_writer *w, int last, struct cm_err *err)
{
    uint8_t nonce[AGE_STREAM_NONCE_SIZE];

    if (w->chunk == UINT64_MAX) {
        w->state = W_FAILED;
        return cm_fail(err, CM_EINTERNAL, "age: too many chunks");
    }
    age_chunk_nonce(nonce, w->chunk, last);
    if (age_aead_seal(w->aead, w->key, nonce, w->pt, w->pt_len, w->ct, err) ==
        -1) {
        w->state = W_FAILED;
        return -1;
    }
    if (emit(w, w->ct, w->pt_len + AGE_TAG_SIZE, err) == -1)
        return -1;
    w->chunk++;
    w->pt_len = 0;
    return 0;
}

static int
check_open(const struct age_writer *w, struct cm_err *err)
{
    if (w->state == W_DONE)
        return cm_fail(err, CM_EINTERNAL, "age writer used after finish");
    if (w->state == W_FAILED)
        return cm_fail(err, CM_EINTERNAL, "age writer used after an error");
    return 0;
}

int
age_writer_write(struct age_writer *w, const void *p, size_t len,
                 struct cm_err *err)
{
    const uint8_t *q = p;

    if (check_open(w, err) == -1)
        return -1;
    /* A full chunk is sealed only once more data arrives: the last chunk
     * may be full, and only finish knows which one is last. */
    while (len > 0) {
        size_t take = AGE_CHUNK_SIZE - w->pt_len;
        if (take == 0) {
            if (seal_chunk(w, 0, err) == -1)
                return -1;
            continue;
        }
        if (take > len)
            take = len;
        memcpy(w->pt + w->pt_len, q, take);
        w->pt_len += take;
        q += take;
        len -= take;
    }
    return 0;
}

int
age_writer_finish(struct age_writer *w, struct cm_err *err)
{
    if (check_open(w, err) == -1 || seal_chunk(w, 1, err) == -1)
        return -1;
    w->state = W_DONE;
    return 0;
}

uint64_t
age_writer_bytes_out(const struct age_writer *w)
{
    return w->bytes_out;
}

void
age_writer_free(struct age_writer *w)
{
    if (w == NULL)
        return;
    EVP_CIPHER_CTX_free(w->aead);
    OPENSSL_cleanse(w, sizeof *w);
    free(w);
}

uint64_t
age_ciphertext_size(uint64_t header_len, uint64_t plaintext_len)
{
    uint64_t nchunks =
        plaintext_len == 0 ? 1 : (plaintext_len - 1) / AGE_CHUNK_SIZE + 1;
    uint64_t fixed = AGE_NONCE_SIZE + nchunks * AGE_TAG_SIZE;

    if (header_len > UINT64_MAX - fixed ||
        plaintext_len > UINT64_MAX - fixed - header_len)
        return UINT64_MAX;
    return header_len + fixed + plaintext_len;
}
