/*
 * Random access: the chunk layout follows from the file size alone, so any
 * byte range maps to the chunks covering it; each is authenticated (with
 * the last flag only for the final one) before any of it is copied out.
 */
#include "age.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "age_internal.h"
#include "io.h"

struct age_reader {
    int fd, own_fd;
    cm_pread_fn src; /* instead of fd, when opened on a source */
    void *src_ctx;
    char *name;
    uint64_t file_size, payload_off, nchunks, claimed;
    uint8_t key[AGE_KEY_SIZE];
    EVP_CIPHER_CTX *aead;
    int have_cache, size_checked;
    uint64_t cached;
    size_t cached_len;
    uint8_t ct[AGE_CHUNK_CT_SIZE];
    uint8_t pt[AGE_CHUNK_SIZE];
};

/* Read ${len} bytes at ${off}, from the descriptor or the source. */
static ssize_t
rd(struct age_reader *r, void *p, size_t len, uint64_t off, struct cm_err *err)
{
    if (r->src == NULL)
        return io_pread_full(r->fd, p, len, off, r->name, err);
    if (r->src(r->src_ctx, p, len, off, err) == -1)
        return -1;
    return (ssize_t)len;
}

/* Chunk count and plaintext size from ${len} payload bytes (nonce off). */
static int
layout(struct age_reader *r, uint64_t len, struct cm_err *err)
{
    uint64_t n, last;

    if (len == 0)
        return cm_fail(err, CM_EFORMAT,
                       "%s: no payload after the nonce (truncated file)",
                       r->name);
    n = (len - 1) / AGE_CHUNK_CT_SIZE + 1;
    last = len - (n - 1) * AGE_CHUNK_CT_SIZE;
    if (last < AGE_TAG_SIZE || (last == AGE_TAG_SIZE && n > 1))
        return cm_fail(err, CM_EFORMAT,
                       "%s: payload of %" PRIu64
                       " bytes is not a valid age payload size "
                       "(truncated or extended file)",
                       r->name, len);
    r->nchunks = n;
    r->claimed = len - n * AGE_TAG_SIZE;
    return 0;
}

static int
read_header(struct age_reader *r, const struct age_identities *ids,
            uint8_t file_key[AGE_FILE_KEY_SIZE], struct cm_err *err)
{
    size_t want =
        r->file_size < AGE_HEADER_MAX ? (size_t)r->file_size : AGE_HEADER_MAX;
    struct age_header h;
    uint8_t *head = NULL;
    ssize_t n;
    int rc = -1;

    memset(&h, 0, sizeof h);
    if ((head = cm_malloc(want, err)) == NULL ||
        (n = rd(r, head, want, 0, err)) < 0)
        goto out;
    if ((size_t)n != want) {
        cm_fail(err, CM_EIO, "%s: file shrank while being read", r->name);
        goto out;
    }
    if (age_is_armored(head, want)) {
        cm_fail(err, CM_EFORMAT,
                "%s: an armored age file cannot be read at random; "
                "decrypt it as a stream",
                r->name);
        goto out;
    }
    if (age_header_parse(head, want, r->name, &h, err) == -1 ||
        age_header_unwrap(&h, head, ids, r->name, file_key, err) == -1)
        goto out;
    r->payload_off = h.len + AGE_NONCE_SIZE;
    rc = 0;
out:
    age_header_free(&h);
    free(head);
    return rc;
}

static int
start_payload(struct age_reader *r, const uint8_t file_key[AGE_FILE_KEY_SIZE],
              struct cm_err *err)
{
    uint8_t nonce[AGE_NONCE_SIZE];
    ssize_t n;

    if (r->file_size < r->payload_off)
        return cm_fail(err, CM_EFORMAT,
                       "%s: payload nonce is missing or truncated", r->name);
    n = rd(r, nonce, sizeof nonce, r->payload_off - AGE_NONCE_SIZE, err);
    if (n < 0)
        return -1;
    if ((size_t)n != sizeof nonce)
        return cm_fail(err, CM_EIO, "%s: file shrank while being read",
                       r->name);
    if (age_hkdf(r->key, sizeof r->key, nonce, sizeof nonce, file_key,
                 AGE_FILE_KEY_SIZE, "payload", err) == -1)
        return -1;
    return layout(r, r->file_size - r->payload_off, err);
}

int
age_reader_open_fd(int fd, const char *name, const struct age_identities *ids,
                   struct age_reader **out, struct cm_err *err)
{
    struct age_reader *r = NULL;
    uint8_t file_key[AGE_FILE_KEY_SIZE];
    struct stat st;
    int rc = -1;

    if ((r = cm_calloc(1, sizeof *r, err)) == NULL)
        goto out;
    r->fd = fd;
    if ((r->name = cm_strdup(name ? name : "(input)", err)) == NULL ||
        (r->aead = age_aead_new(err)) == NULL)
        goto out;
    if (fstat(fd, &st) == -1) {
        cm_fail_errno(err, errno, "%s: cannot stat", r->name);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        cm_fail(err, CM_EFORMAT, "%s: not a regular file", r->name);
        goto out;
    }
    r->file_size = (uint64_t)st.st_size;
    if (read_header(r, ids, file_key, err) == -1 ||
        start_payload(r, file_key, err) == -1)
        goto out;
    *out = r;
    r = NULL;
    rc = 0;
out:
    OPENSSL_cleanse(file_key, sizeof file_key);
    age_reader_free(r);
    return rc;
}

int
age_reader_open_src(cm_pread_fn src, void *src_ctx, uint64_t size,
                    const char *name, const struct age_identities *ids,
                    struct age_reader **out, struct cm_err *err)
{
    struct age_reader *r = NULL;
    uint8_t file_key[AGE_FILE_KEY_SIZE];
    int rc = -1;

    if ((r = cm_calloc(1, sizeof *r, err)) == NULL)
        goto out;
    r->fd = -1;
    r->src = src;
    r->src_ctx = src_ctx;
    r->file_size = size;
    if ((r->name = cm_strdup(name ? name : "(input)", err)) == NULL ||
        (r->aead = age_aead_new(err)) == NULL)
        goto out;
    if (read_header(r, ids, file_key, err) == -1 ||
        start_payload(r, file_key, err) == -1)
        goto out;
    *out = r;
    r = NULL;
    rc = 0;
out:
    OPENSSL_cleanse(file_key, sizeof file_key);
    age_reader_free(r);
    return rc;
}

int
age_reader_open(const char *path, const struct age_identities *ids,
                struct age_reader **out, struct cm_err *err)
{
    struct age_reader *r = NULL;
    int fd = io_open(path, O_RDONLY, 0, err);

    if (fd == -1)
        return -1;
    if (age_reader_open_fd(fd, path, ids, &r, err) == -1) {
        io_close(fd, path, NULL);
        return -1;
    }
    r->own_fd = 1;
    *out = r;
    return 0;
}

uint64_t
age_reader_chunk_of(uint64_t off)
{
    return off / AGE_CHUNK_SIZE;
}

uint64_t
age_reader_nchunks(const struct age_reader *r)
{
    return r->nchunks;
}

uint64_t
age_reader_claimed_size(const struct age_reader *r)
{
    return r->claimed;
}

void
age_reader_chunk_span(const struct age_reader *r, uint64_t idx, uint64_t *start,
                      uint64_t *end)
{
    if (idx >= r->nchunks) {
        *start = *end = r->file_size;
        return;
    }
    *start = r->payload_off + idx * AGE_CHUNK_CT_SIZE;
    *end = r->file_size - *start < AGE_CHUNK_CT_SIZE
               ? r->file_size
               : *start + AGE_CHUNK_CT_SIZE;
}

/* Decrypt chunk ${idx} into r->pt, unless it is there already. */
static int
load_chunk(struct age_reader *r, uint64_t idx, struct cm_err *err)
{
    uint8_t nonce[AGE_STREAM_NONCE_SIZE];
    uint64_t start, end;
    ssize_t n;
    int rc;

    if (r->have_cache && r->cached == idx)
        return 0;
    r->have_cache = 0;
    age_reader_chunk_span(r, idx, &start, &end);
    n = rd(r, r->ct, (size_t)(end - start), start, err);
    if (n < 0)
        return -1;
    if ((uint64_t)n != end - start)
        return cm_fail(err, CM_EAUTH,
                       "%s: chunk %" PRIu64 ": truncated (file shrank)",
                       r->name, idx);
    age_chunk_nonce(nonce, idx, idx == r->nchunks - 1);
    rc = age_aead_open(r->aead, r->key, nonce, r->ct, (size_t)n, r->pt, err);
    if (rc == 1)
        return cm_fail(err, CM_EAUTH,
                       "%s: chunk %" PRIu64 ": authentication failed", r->name,
                       idx);
    if (rc == -1)
        return -1;
    r->cached = idx;
    r->cached_len = (size_t)n - AGE_TAG_SIZE;
    r->have_cache = 1;
    return 0;
}

int
age_reader_size(struct age_reader *r, uint64_t *size, struct cm_err *err)
{
    if (!r->size_checked) {
        if (load_chunk(r, r->nchunks - 1, err) == -1)
            return -1;
        r->size_checked = 1;
    }
    *size = r->claimed;
    return 0;
}

int
age_reader_pread(struct age_reader *r, void *p, size_t len, uint64_t off,
                 struct cm_err *err)
{
    uint8_t *q = p;

    if (off > r->claimed || len > r->claimed - off)
        return cm_fail(err, CM_EFORMAT,
                       "%s: range %" PRIu64 "+%zu is past the end (%" PRIu64
                       " bytes)",
                       r->name, off, len, r->claimed);
    while (len > 0) {
        uint64_t idx = off / AGE_CHUNK_SIZE;
        size_t in = (size_t)(off % AGE_CHUNK_SIZE), take;

        if (load_chunk(r, idx, err) == -1)
            return -1;
        if (in >= r->cached_len)
            return cm_fail(err, CM_EINTERNAL,
                           "%s: chunk %" PRIu64 ": offset outside the chunk",
                           r->name, idx);
        take = r->cached_len - in < len ? r->cached_len - in : len;
        memcpy(q, r->pt + in, take);
        q += take;
        off += take;
        len -= take;
    }
    return 0;
}

int
age_reader_pread_fn(void *ctx, void *p, size_t len, uint64_t off,
                    struct cm_err *err)
{
    return age_reader_pread(ctx, p, len, off, err);
}

void
age_reader_free(struct age_reader *r)
{
    if (r == NULL)
        return;
    if (r->own_fd)
        io_close(r->fd, r->name, NULL);
    EVP_CIPHER_CTX_free(r->aead);
    free(r->name);
    OPENSSL_cleanse(r, sizeof *r);
    free(r);
}
