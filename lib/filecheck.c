#include "filecheck.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "blockhash.h"
#include "io.h"

static int
note_bad(struct filecheck_report *r, uint64_t block, struct cm_err *err)
{
    uint64_t *grown;

    if (r->nbad > 0 && r->bad_blocks[r->nbad - 1] == block)
        return 0;
    grown = realloc(r->bad_blocks, (r->nbad + 1) * sizeof *grown);
    if (grown == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    grown[r->nbad++] = block;
    r->bad_blocks = grown;
    return 0;
}

/* Hash each block of the file against ${f}; feed the whole hash too. */
static int
check_blocks(int fd, const char *path, const struct manifest_file *f,
             uint32_t block_size, EVP_MD_CTX *whole,
             struct filecheck_report *r, struct cm_err *err)
{
    uint8_t *block = NULL, digest[32];
    uint64_t nblocks = r->size / block_size + (r->size % block_size != 0);
    int rc = -1;

    if ((block = cm_malloc(block_size, err)) == NULL)
        return -1;
    for (uint64_t i = 0; i < nblocks; i++) {
        struct cm_err rerr = CM_ERR_INIT;
        uint64_t off = i * block_size;
        size_t want = r->size - off < block_size ? (size_t)(r->size - off)
                                                 : block_size;
        ssize_t n = io_pread_full(fd, block, want, off, path, &rerr);
        if (n != (ssize_t)want) {
            r->read_errors++;
            r->sha256_ok = 0;
            if (i < f->nblocks && note_bad(r, i, err) == -1)
                goto out;
            continue;
        }
        EVP_DigestUpdate(whole, block, want);
        EVP_Digest(block, want, digest, NULL, EVP_sha256(), NULL);
        if (i >= f->nblocks)
            continue;
        if (CRYPTO_memcmp(digest, f->blocks[i], 32) != 0 &&
            note_bad(r, i, err) == -1)
            goto out;
    }
    /* Blocks that MANIFEST lists but the file no longer has. */
    for (uint64_t i = nblocks; i < f->nblocks; i++)
        if (note_bad(r, i, err) == -1)
            goto out;
    rc = 0;
out:
    free(block);
    return rc;
}

static int
check_open_file(int fd, const char *path, const struct manifest_file *f,
                int uncached, struct filecheck_report *r, struct cm_err *err)
{
    uint8_t digest[32];
    EVP_MD_CTX *whole = EVP_MD_CTX_new();
    int rc = -1;

    if (whole == NULL || EVP_DigestInit_ex(whole, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(whole);
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    }
    if (uncached)
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    r->size_ok = r->size == f->size;
    r->sha256_ok = 1;
    if (check_blocks(fd, path, f, MANIFEST_BLOCK_SIZE, whole, r, err) == -1)
        goto out;
    EVP_DigestFinal_ex(whole, digest, NULL);
    if (!r->size_ok || CRYPTO_memcmp(digest, f->sha256, 32) != 0)
        r->sha256_ok = 0;
    rc = 0;
out:
    EVP_MD_CTX_free(whole);
    return rc;
}

int
filecheck_file(const char *dir, const struct manifest_file *f, int uncached,
               struct filecheck_report *r, struct cm_err *err)
{
    char path[4096];
    struct stat st;
    int fd, rc;

    memset(r, 0, sizeof *r);
    snprintf(path, sizeof path, "%s/%s", dir, f->name);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        if (errno == ENOENT)
            r->missing = 1;
        else
            r->not_regular = 1;
        return 0;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        r->not_regular = 1;
        close(fd);
        return 0;
    }
    r->size = (uint64_t)st.st_size;
    rc = check_open_file(fd, path, f, uncached, r, err);
    close(fd);
    return rc;
}

int
filecheck_ok(const struct filecheck_report *r)
{
    return !r->missing && !r->not_regular && r->size_ok && r->sha256_ok &&
           r->nbad == 0 && r->read_errors == 0;
}

int
filecheck_describe(const struct manifest_file *f,
                   const struct filecheck_report *r, struct buf *out,
                   struct cm_err *err)
{
    const uint64_t bs = MANIFEST_BLOCK_SIZE;

    if (r->missing)
        return buf_printf(out, err, "%s: missing\n", f->name);
    if (r->not_regular)
        return buf_printf(out, err, "%s: not a regular file\n", f->name);
    if (!r->size_ok &&
        buf_printf(out, err,
                   "%s: size is %" PRIu64 " bytes, MANIFEST says %" PRIu64
                   "\n",
                   f->name, r->size, f->size) == -1)
        return -1;
    for (size_t i = 0; i < r->nbad;) {
        size_t j = i;
        uint64_t last_byte;
        while (j + 1 < r->nbad && r->bad_blocks[j + 1] == r->bad_blocks[j] + 1)
            j++;
        last_byte = (r->bad_blocks[j] + 1) * bs - 1;
        if (last_byte >= f->size)
            last_byte = f->size ? f->size - 1 : 0;
        if (i == j)
            buf_printf(out, err,
                       "%s: block %" PRIu64 " (bytes %" PRIu64 "-%" PRIu64
                       ") does not match\n",
                       f->name, r->bad_blocks[i], r->bad_blocks[i] * bs,
                       last_byte);
        else
            buf_printf(out, err,
                       "%s: blocks %" PRIu64 "-%" PRIu64 " (bytes %" PRIu64
                       "-%" PRIu64 ") do not match\n",
                       f->name, r->bad_blocks[i], r->bad_blocks[j],
                       r->bad_blocks[i] * bs, last_byte);
        i = j + 1;
    }
    if (r->nbad == 0 && r->size_ok && !r->sha256_ok)
        return buf_printf(out, err, "%s: SHA-256 does not match\n", f->name);
    return err != NULL && err->code != CM_OK ? -1 : 0;
}

void
filecheck_report_free(struct filecheck_report *r)
{
    if (r == NULL)
        return;
    free(r->bad_blocks);
    memset(r, 0, sizeof *r);
}

static int
readback_blocks(int fd, const char *path, const char *name, uint64_t size,
                const uint64_t *crcs, uint64_t n, struct cm_err *err)
{
    uint8_t *block = cm_malloc(MANIFEST_BLOCK_SIZE, err);
    uint64_t bad = 0, first_bad = 0;

    if (block == NULL)
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t off = i * MANIFEST_BLOCK_SIZE;
        size_t want = size - off < MANIFEST_BLOCK_SIZE ? (size_t)(size - off)
                                                      : MANIFEST_BLOCK_SIZE;
        ssize_t got = io_pread_full(fd, block, want, off, path, err);
        if (got < 0) {
            free(block);
            return cm_err_prefix(err, "read-back");
        }
        if ((size_t)got != want || blockhash_crc64(block, want) != crcs[i]) {
            if (bad++ == 0)
                first_bad = i;
        }
    }
    free(block);
    if (bad > 0)
        return cm_fail(err, CM_EIO,
                       "read-back from the medium does not match what was "
                       "written: %s: %" PRIu64 " block(s) differ, the first "
                       "at byte %" PRIu64,
                       name, bad, first_bad * MANIFEST_BLOCK_SIZE);
    return 0;
}

int
filecheck_readback(const char *dir, const char *name, uint64_t size,
                   const uint64_t *crcs, uint64_t n, struct cm_err *err)
{
    char path[4096];
    struct stat st;
    int fd, rc;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if ((fd = io_open(path, O_RDONLY | O_NOFOLLOW, 0, err)) == -1)
        return cm_err_prefix(err, "read-back");
    if (fstat(fd, &st) == -1 || (uint64_t)st.st_size != size ||
        n != size / MANIFEST_BLOCK_SIZE + (size % MANIFEST_BLOCK_SIZE != 0)) {
        close(fd);
        return cm_fail(err, CM_EIO,
                       "read-back from the medium does not match what was "
                       "written: %s: size is not %" PRIu64,
                       name, size);
    }
    /* Written and fsync'd: drop the cached pages so the medium answers. */
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    rc = readback_blocks(fd, path, name, size, crcs, n, err);
    close(fd);
    return rc;
}
