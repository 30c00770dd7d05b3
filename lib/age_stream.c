/*
 * Sequential decryption: header from the stream (binary or armored), then
 * one chunk at a time, each authenticated before any of it is released.
 */
#include "age.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "age_internal.h"
#include "buf.h"

#define INTRO "age-encryption.org/v1\n"

enum { S_BODY, S_EOF, S_FAILED };

struct age_stream {
    char *name;
    struct age_in in;
    EVP_CIPHER_CTX *aead;
    uint8_t key[AGE_KEY_SIZE];
    uint64_t chunk; /* index of the next chunk */
    int state;
    struct cm_err fail; /* repeated by every read once S_FAILED */
    size_t pt_pos, pt_len;
    uint8_t pt[AGE_CHUNK_SIZE];
    uint8_t ct[AGE_CHUNK_CT_SIZE];
};

/*
 * Read the header through its MAC line, byte by byte so that nothing of
 * the payload is consumed.  Fails early on a wrong first line.
 */
static int
read_header(struct age_stream *s, struct buf *hdr, struct cm_err *err)
{
    size_t line_start = 0;
    uint8_t c;
    long n;

    for (;;) {
        if (hdr->len == AGE_HEADER_MAX)
            return cm_fail(err, CM_EFORMAT,
                           "%s: header is larger than %d bytes", s->name,
                           AGE_HEADER_MAX);
        if ((n = age_in_read(&s->in, &c, 1, err)) < 0)
            return -1;
        if (n == 0 && hdr->len == 0)
            return cm_fail(err, CM_EFORMAT, "%s: empty file, not an age file",
                           s->name);
        if (n == 0)
            return cm_fail(err, CM_EFORMAT, "%s: header is truncated", s->name);
        if (buf_append_byte(hdr, c, "age header", err) == -1)
            return -1;
        if (hdr->len < sizeof INTRO && c != (uint8_t)INTRO[hdr->len - 1])
            return cm_fail(err, CM_EFORMAT,
                           "%s: not an age v1 file (bad first line)", s->name);
        if (c != '\n')
            continue;
        if (hdr->len - line_start > 3 &&
            memcmp(hdr->data + line_start, "---", 3) == 0)
            return 0;
        line_start = hdr->len;
    }
}

static int
start_payload(struct age_stream *s, const uint8_t file_key[AGE_FILE_KEY_SIZE],
              struct cm_err *err)
{
    uint8_t nonce[AGE_NONCE_SIZE];
    long n = age_in_read_full(&s->in, nonce, sizeof nonce, err);

    if (n < 0)
        return -1;
    if ((size_t)n < sizeof nonce)
        return cm_fail(err, CM_EFORMAT,
                       "%s: payload nonce is missing or truncated", s->name);
    return age_hkdf(s->key, sizeof s->key, nonce, sizeof nonce, file_key,
                    AGE_FILE_KEY_SIZE, "payload", err);
}

int
age_stream_open(cm_read_fn src, void *src_ctx, const char *name,
                const struct age_identities *ids, struct age_stream **out,
                struct cm_err *err)
{
    struct age_stream *s = NULL;
    struct age_header h;
    uint8_t file_key[AGE_FILE_KEY_SIZE];
    struct buf hdr;
    int rc = -1;

    memset(&h, 0, sizeof h);
    buf_init(&hdr, AGE_HEADER_MAX);
    if ((s = cm_calloc(1, sizeof *s, err)) == NULL ||
        (s->name = cm_strdup(name ? name : "(input)", err)) == NULL ||
        (s->aead = age_aead_new(err)) == NULL)
        goto out;
    age_in_init(&s->in, src, src_ctx, s->name);
    if (read_header(s, &hdr, err) == -1 ||
        age_header_parse(hdr.data, hdr.len, s->name, &h, err) == -1 ||
        age_header_unwrap(&h, hdr.data, ids, s->name, file_key, err) == -1 ||
        start_payload(s, file_key, err) == -1)
        goto out;
    s->state = S_BODY;
    *out = s;
    s = NULL;
    rc = 0;
out:
    OPENSSL_cleanse(file_key, sizeof file_key);
    age_header_free(&h);
    buf_free(&hdr);
    age_stream_free(s);
    return rc;
}

static int
open_chunk(struct age_stream *s, size_t len, int last)
{
    uint8_t nonce[AGE_STREAM_NONCE_SIZE];

    age_chunk_nonce(nonce, s->chunk, last);
    return age_aead_open(s->aead, s->key, nonce, s->ct, len, s->pt, &s->fail);
}

/* After the final chunk the input must end. */
static int
check_end(struct age_stream *s)
{
    uint8_t extra;
    long n = age_in_read(&s->in, &extra, 1, &s->fail);

    if (n < 0)
        return -1;
    if (n > 0)
        return cm_fail(&s->fail, CM_EAUTH,
                       "%s: chunk %" PRIu64
                       ": data after the final chunk (extended file)",
                       s->name, s->chunk - 1);
    s->state = S_EOF;
    return 0;
}

/*
 * Decrypt the next chunk into s->pt.  A short chunk is the last one; a
 * full one is the last one if it only opens with the last flag.  The
 * plaintext of the final chunk stays readable even if data follows it
 * (it is authentic; the error comes after it, as age does).
 */
static int
next_chunk(struct age_stream *s)
{
    struct cm_err *err = &s->fail;
    size_t len;
    long n;
    int last, r;

    if ((n = age_in_read_full(&s->in, s->ct, sizeof s->ct, err)) < 0)
        return -1;
    len = (size_t)n;
    if (len == 0)
        return cm_fail(err, CM_EAUTH,
                       "%s: chunk %" PRIu64 ": missing (truncated file)",
                       s->name, s->chunk);
    last = len < sizeof s->ct;
    if (last && len < AGE_TAG_SIZE)
        return cm_fail(err, CM_EAUTH,
                       "%s: chunk %" PRIu64 ": truncated (shorter than a tag)",
                       s->name, s->chunk);
    if (last && len == AGE_TAG_SIZE && s->chunk > 0)
        return cm_fail(err, CM_EAUTH,
                       "%s: chunk %" PRIu64 ": empty final chunk", s->name,
                       s->chunk);
    if ((r = open_chunk(s, len, last)) == 1 && !last)
        r = open_chunk(s, len, last = 1);
    if (r == -1)
        return -1;
    if (r == 1)
        return cm_fail(err, CM_EAUTH,
                       "%s: chunk %" PRIu64 ": authentication failed", s->name,
                       s->chunk);
    s->pt_pos = 0;
    s->pt_len = len - AGE_TAG_SIZE;
    s->chunk++;
    return last ? check_end(s) : 0;
}

static long
report(const struct age_stream *s, struct cm_err *err)
{
    if (err != NULL && err->code == CM_OK)
        *err = s->fail;
    return -1;
}

long
age_stream_read(struct age_stream *s, void *p, size_t len, struct cm_err *err)
{
    size_t take;

    while (s->pt_pos == s->pt_len) {
        if (s->state == S_FAILED)
            return report(s, err);
        if (s->state == S_EOF || len == 0)
            return 0;
        if (s->chunk == UINT64_MAX) {
            cm_fail(&s->fail, CM_EFORMAT, "%s: too many chunks", s->name);
            s->state = S_FAILED;
        } else if (next_chunk(s) == -1) {
            s->state = S_FAILED;
        }
    }
    take = s->pt_len - s->pt_pos;
    if (take > len)
        take = len;
    if (take > LONG_MAX)
        take = LONG_MAX;
    memcpy(p, s->pt + s->pt_pos, take);
    s->pt_pos += take;
    return (long)take;
}

void
age_stream_free(struct age_stream *s)
{
    if (s == NULL)
        return;
    EVP_CIPHER_CTX_free(s->aead);
    free(s->name);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

int
age_decrypt_stream(cm_read_fn src, void *src_ctx, const char *name,
                   const struct age_identities *ids, cm_write_fn sink,
                   void *sink_ctx, struct cm_err *err)
{
    struct age_stream *s = NULL;
    uint8_t *buf = NULL;
    long n = -1;
    int rc = -1;

    if (age_stream_open(src, src_ctx, name, ids, &s, err) == -1 ||
        (buf = cm_malloc(AGE_CHUNK_SIZE, err)) == NULL)
        goto out;
    while ((n = age_stream_read(s, buf, AGE_CHUNK_SIZE, err)) > 0)
        if (sink(sink_ctx, buf, (size_t)n, err) == -1)
            goto out;
    if (n == 0)
        rc = 0;
out:
    cm_free_secret(buf, AGE_CHUNK_SIZE);
    age_stream_free(s);
    return rc;
}
