#include "sealed.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "age.h"
#include "blockhash.h"
#include "io.h"
#include "readback.h"
#include "zframe.h"


struct sealed {
    char *path;
    int fd;
    int finished;
    uint64_t header_len; /* the age header and nonce, written at create */
    struct blockhash *hash;
    struct readback *rb;
    struct age_writer *age;
    struct zframe_writer *z;
};

/* The end of the pipeline: hash, then write to the medium. */
static int
to_file(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    struct sealed *s = ctx;

    const uint64_t *crcs;
    uint64_t n;

    if (blockhash_update(s->hash, p, len, err) == -1 ||
        io_write_all(s->fd, p, len, s->path, err) == -1)
        return -1;
    crcs = blockhash_crcs(s->hash, &n);
    readback_wrote(s->rb, blockhash_bytes(s->hash), crcs, n);
    return 0;
}

static int
to_age(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    struct sealed *s = ctx;

    return age_writer_write(s->age, p, len, err);
}

int
sealed_create(const char *dir, const char *name,
              const struct sealed_opts *opts, struct sealed **out,
              struct cm_err *err)
{
    struct zframe_writer_opts zo = {opts->level, opts->threads,
                                    opts->frame_size};
    struct sealed *s = cm_calloc(1, sizeof *s, err);
    size_t len;

    if (s == NULL)
        return -1;
    s->fd = -1;
    len = strlen(dir) + strlen(name) + 2;
    if ((s->path = cm_malloc(len, err)) == NULL)
        goto fail;
    snprintf(s->path, len, "%s/%s", dir, name);
    if (blockhash_new(MANIFEST_BLOCK_SIZE, &s->hash, err) == -1)
        goto fail;
    s->fd = io_open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644,
                    err);
    if (s->fd == -1 || readback_start(s->fd, s->path, name, &s->rb, err) == -1)
        goto fail;
    if (age_writer_new(opts->recipients, opts->nrecipients, to_file, s,
                       &s->age, err) == -1 ||
        zframe_writer_new(&zo, to_age, s, &s->z, err) == -1)
        goto fail;
    s->header_len = age_writer_bytes_out(s->age) + AGE_NONCE_SIZE;
    *out = s;
    return 0;
fail:
    sealed_free(s);
    return -1;
}

int
sealed_write(struct sealed *s, const void *p, size_t len, struct cm_err *err)
{
    return zframe_writer_write(s->z, p, len, err);
}

int
sealed_write_fn(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    return sealed_write(ctx, p, len, err);
}

uint64_t
sealed_bytes_in(const struct sealed *s)
{
    return zframe_writer_bytes_in(s->z);
}

uint64_t
sealed_header_bound(size_t nrecipients)
{
    /* "age-encryption.org/v1", a 98-byte X25519 stanza each, the MAC line,
     * the nonce; rounded up generously. */
    return 256 + 128 * (uint64_t)nrecipients;
}

uint64_t
sealed_extra_bound(uint64_t plaintext)
{
    uint64_t frames = plaintext / ZFRAME_FRAME_SIZE + 1;
    uint64_t compressed = ZSTD_compressBound(ZFRAME_FRAME_SIZE) * frames;

    if (plaintext < ZFRAME_FRAME_SIZE)
        compressed = ZSTD_compressBound((size_t)plaintext) + 64;
    /* age adds a 16-byte tag per 64 KiB chunk. */
    return compressed + (compressed / AGE_CHUNK_SIZE + 1) * AGE_TAG_SIZE;
}

uint64_t
sealed_size_bound(const struct sealed *s)
{
    uint64_t z = zframe_writer_size_bound(s->z);

    return s->header_len + z + (z / AGE_CHUNK_SIZE + 1) * AGE_TAG_SIZE;
}

int
sealed_finish(struct sealed *s, struct manifest *m, uint64_t **crcs_out,
              struct cm_err *err)
{
    struct manifest_file *f;
    const uint8_t(*blocks)[32];
    const char *name = strrchr(s->path, '/') + 1;
    uint8_t whole[32];
    uint64_t nblocks;

    const uint64_t *crcs;
    uint64_t ncrcs;

    if (zframe_writer_finish(s->z, err) == -1 ||
        age_writer_finish(s->age, err) == -1 ||
        blockhash_final(s->hash, whole, err) == -1 ||
        io_fsync(s->fd, s->path, err) == -1)
        return -1;
    crcs = blockhash_crcs(s->hash, &ncrcs);
    if (readback_finish(s->rb, blockhash_bytes(s->hash), crcs, ncrcs, err) ==
        -1)
        return -1;
    if (io_close(s->fd, s->path, err) == -1) {
        s->fd = -1;
        return -1;
    }
    s->fd = -1;
    f = manifest_add_file(m, name, blockhash_bytes(s->hash), err);
    if (f == NULL)
        return -1;
    blocks = blockhash_blocks(s->hash, &nblocks);
    if (nblocks != f->nblocks)
        return cm_fail(err, CM_EINTERNAL, "%s: block count mismatch",
                       s->path);
    memcpy(f->sha256, whole, 32);
    memcpy(f->blocks, blocks, nblocks * 32);
    if (crcs_out != NULL) {
        if ((*crcs_out = cm_calloc(nblocks, sizeof **crcs_out, err)) == NULL)
            return -1;
        memcpy(*crcs_out, crcs, nblocks * sizeof **crcs_out);
    }
    s->finished = 1;
    return 0;
}

void
sealed_free(struct sealed *s)
{
    if (s == NULL)
        return;
    zframe_writer_free(s->z);
    readback_free(s->rb);
    age_writer_free(s->age);
    blockhash_free(s->hash);
    if (s->fd != -1)
        io_close(s->fd, s->path, NULL);
    if (!s->finished && s->path != NULL)
        unlink(s->path);
    free(s->path);
    free(s);
}
