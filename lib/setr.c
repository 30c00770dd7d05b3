#include "setr.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "age.h"
#include "blockhash.h"
#include "buf.h"
#include "io.h"
#include "zframe.h"

#define CACHED_BLOCKS 2
#define OPEN_VOLUMES 2

/*
 * A file of the set seen through MANIFEST: every block read is hashed and
 * compared before any of its bytes are handed out.
 */
struct blocksrc {
    const struct manifest_file *f;
    char *path;
    int fd;
    uint64_t pos; /* for sequential reading */
    struct {
        uint8_t *data;
        uint64_t index;
        size_t len;
        int valid;
        unsigned long used;
    } cache[CACHED_BLOCKS];
    unsigned long clock;
};

struct volume {
    uint32_t no;
    struct blocksrc src;
    struct age_reader *age;
    struct zframe_reader *z;
    unsigned long used;
};

struct setr {
    char *dir;
    struct manifest m;
    uint8_t manifest_sha256[32];
    int trusted;
    char comment[MINISIG_COMMENT_MAX + 1];
    const struct age_identities *ids;
    const char *const *holder_dirs;
    struct volume *vols[OPEN_VOLUMES];
    unsigned long clock;
};

/* ------------------------------------------------------------------ */
/* Block-checked files                                                 */

static void
blocksrc_close(struct blocksrc *b)
{
    if (b->fd != -1)
        close(b->fd);
    for (int i = 0; i < CACHED_BLOCKS; i++)
        free(b->cache[i].data);
    free(b->path);
    memset(b, 0, sizeof *b);
    b->fd = -1;
}

static int
blocksrc_open(struct blocksrc *b, const char *dir,
              const struct manifest_file *f, struct cm_err *err)
{
    size_t n = strlen(dir) + strlen(f->name) + 2;
    struct stat st;

    memset(b, 0, sizeof *b);
    b->fd = -1;
    b->f = f;
    if ((b->path = cm_malloc(n, err)) == NULL)
        return -1;
    snprintf(b->path, n, "%s/%s", dir, f->name);
    for (int i = 0; i < CACHED_BLOCKS; i++)
        if ((b->cache[i].data = cm_malloc(MANIFEST_BLOCK_SIZE, err)) == NULL)
            goto fail;
    /* O_NONBLOCK, then a regular file: a FIFO must not hang a restore. */
    b->fd = io_open(b->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, err);
    if (b->fd == -1)
        goto fail;
    if (fstat(b->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        cm_fail(err, CM_EFORMAT, "%s: not a regular file", b->path);
        goto fail;
    }
    return 0;
fail:
    blocksrc_close(b);
    return -1;
}

/* Block ${index}, read, hashed and compared; from the cache if there. */
static int
load_block(struct blocksrc *b, uint64_t index, int *slot, struct cm_err *err)
{
    uint64_t off = index * MANIFEST_BLOCK_SIZE;
    size_t want;
    uint8_t digest[32];
    ssize_t n;
    int victim = 0;

    for (int i = 0; i < CACHED_BLOCKS; i++) {
        if (b->cache[i].valid && b->cache[i].index == index) {
            b->cache[i].used = ++b->clock;
            *slot = i;
            return 0;
        }
        if (b->cache[i].used < b->cache[victim].used)
            victim = i;
    }
    if (index >= b->f->nblocks)
        return cm_fail(err, CM_EFORMAT, "%s: read past the end",
                       b->f->name);
    want = b->f->size - off < MANIFEST_BLOCK_SIZE
               ? (size_t)(b->f->size - off)
               : MANIFEST_BLOCK_SIZE;
    b->cache[victim].valid = 0;
    n = io_pread_full(b->fd, b->cache[victim].data, want, off, b->path, err);
    if (n < 0)
        return -1;
    blockhash_sha256(b->cache[victim].data, (size_t)n, digest);
    if ((size_t)n != want ||
        CRYPTO_memcmp(digest, b->f->blocks[index], 32) != 0)
        return cm_fail(err, CM_EAUTH,
                       "%s: block %" PRIu64 " (bytes %" PRIu64 "-%" PRIu64
                       ") does not match MANIFEST",
                       b->f->name, index, off, off + want - 1);
    b->cache[victim].index = index;
    b->cache[victim].len = want;
    b->cache[victim].valid = 1;
    b->cache[victim].used = ++b->clock;
    *slot = victim;
    return 0;
}

static int
blocksrc_pread(void *ctx, void *p, size_t len, uint64_t off,
               struct cm_err *err)
{
    struct blocksrc *b = ctx;
    uint8_t *out = p;

    if (off > b->f->size || len > b->f->size - off)
        return cm_fail(err, CM_EFORMAT, "%s: read past the end", b->f->name);
    while (len > 0) {
        uint64_t index = off / MANIFEST_BLOCK_SIZE;
        size_t in = (size_t)(off % MANIFEST_BLOCK_SIZE), take;
        int slot = 0;
        if (load_block(b, index, &slot, err) == -1)
            return -1;
        take = b->cache[slot].len - in;
        if (take > len)
            take = len;
        memcpy(out, b->cache[slot].data + in, take);
        out += take;
        off += take;
        len -= take;
    }
    return 0;
}

static long
blocksrc_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct blocksrc *b = ctx;
    uint64_t left = b->f->size - b->pos;

    if (len > left)
        len = (size_t)left;
    if (len == 0)
        return 0;
    if (blocksrc_pread(b, p, len, b->pos, err) == -1)
        return -1;
    b->pos += len;
    return (long)len;
}

/* ------------------------------------------------------------------ */
/* Opening a set                                                       */

static int
read_small(const char *dir, const char *name, size_t max, struct buf *out,
           struct cm_err *err)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return io_read_file(path, max, out, err);
}

/* The trusted comment must name this set, so a signature cannot be moved. */
static int
check_comment(const struct setr *s, struct cm_err *err)
{
    char want[MINISIG_COMMENT_MAX + 1];

    manifest_trusted_comment(&s->m, want, sizeof want);
    /* The timestamp is the creation time; compare the whole line. */
    if (strcmp(want, s->comment) != 0)
        return cm_fail(err, CM_EAUTH,
                       "%s/MANIFEST.minisig: the trusted comment \"%s\" does "
                       "not describe this MANIFEST",
                       s->dir, s->comment);
    return 0;
}

/*
 * The signature of ${text} by ${trusted}, or (NULL) by the key MANIFEST
 * names, which must then be parsed already.  Every way it can fail is
 * CM_EAUTH, as verify reports it: a signature by another key than the
 * trusted one too (minisig's CM_ENOKEY would read as "no identity").
 */
static int
check_signature(struct setr *s, const struct buf *text, const struct buf *sig,
                const struct minisig_pubkey *trusted, struct cm_err *err)
{
    struct minisig_pubkey own;
    const struct minisig_pubkey *pk = trusted;

    if (pk == NULL) {
        if (minisig_pubkey_parse(s->m.signer_public_key,
                                 strlen(s->m.signer_public_key), &own,
                                 err) == -1)
            return cm_err_prefix(err, "%s/MANIFEST: signer-public-key",
                                 s->dir);
        pk = &own;
    }
    if (minisig_verify(pk, text->data, text->len, (const char *)sig->data,
                       sig->len, s->comment, err) == -1) {
        if (err != NULL && err->code != CM_EINTERNAL)
            err->code = CM_EAUTH;
        return cm_err_prefix(err, "%s/MANIFEST.minisig", s->dir);
    }
    s->trusted = trusted != NULL;
    return 0;
}

/* MANIFEST.minisig; a set without one is not authentic (CM_EAUTH). */
static int
read_signature(const char *dir, struct buf *sig, struct cm_err *err)
{
    if (read_small(dir, "MANIFEST.minisig", MINISIG_FILE_MAX, sig, err) == 0)
        return 0;
    if (err != NULL && err->sys_errno == ENOENT) {
        cm_err_clear(err);
        return cm_fail(err, CM_EAUTH,
                       "%s/MANIFEST.minisig: missing: the set is not signed",
                       dir);
    }
    return -1;
}

int
setr_open(const char *dir, const struct setr_opts *opts, struct setr **out,
          struct cm_err *err)
{
    struct setr *s = cm_calloc(1, sizeof *s, err);
    struct buf text, sig;
    char name[4200];

    buf_init(&text, MANIFEST_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    if (s == NULL)
        goto fail;
    manifest_init(&s->m);
    s->ids = opts->ids;
    if ((s->dir = cm_strdup(dir, err)) == NULL ||
        read_small(dir, "MANIFEST", MANIFEST_MAX, &text, err) == -1 ||
        read_signature(dir, &sig, err) == -1)
        goto fail;
    /* With a trusted key the signature is checked before MANIFEST is
     * parsed: a changed MANIFEST is not authentic, whatever it holds. */
    snprintf(name, sizeof name, "%s/MANIFEST", dir);
    if ((opts->trusted != NULL &&
         check_signature(s, &text, &sig, opts->trusted, err) == -1) ||
        manifest_parse((const char *)text.data, text.len, name, &s->m, err) ==
            -1 ||
        (opts->trusted == NULL &&
         check_signature(s, &text, &sig, NULL, err) == -1) ||
        check_comment(s, err) == -1)
        goto fail;
    blockhash_sha256(text.data, text.len, s->manifest_sha256);
    buf_free(&text);
    buf_free(&sig);
    *out = s;
    return 0;
fail:
    buf_free(&text);
    buf_free(&sig);
    setr_close(s);
    return -1;
}

const struct manifest *
setr_manifest(const struct setr *s)
{
    return &s->m;
}

const char *
setr_dir(const struct setr *s)
{
    return s->dir;
}

const uint8_t *
setr_manifest_sha256(const struct setr *s)
{
    return s->manifest_sha256;
}

int
setr_trusted(const struct setr *s)
{
    return s->trusted;
}

const char *
setr_trusted_comment(const struct setr *s)
{
    return s->comment;
}

void
setr_set_holder_dirs(struct setr *s, const char *const *dirs)
{
    s->holder_dirs = dirs;
}

const char *const *
setr_holder_dirs(const struct setr *s)
{
    return s->holder_dirs;
}

const char *
setr_volume_name(uint32_t vol, char out[32])
{
    snprintf(out, 32, "vol-%04" PRIu32 ".tar.zst.age", vol);
    return out;
}

/* ------------------------------------------------------------------ */
/* Volumes                                                             */

static void
volume_free(struct volume *v)
{
    if (v == NULL)
        return;
    zframe_reader_free(v->z);
    age_reader_free(v->age);
    blocksrc_close(&v->src);
    free(v);
}

static const struct manifest_file *
find_listed(const struct setr *s, const char *name, struct cm_err *err)
{
    const struct manifest_file *f = manifest_find_file(&s->m, name);

    if (f == NULL)
        cm_fail(err, CM_EFORMAT, "%s: %s is not listed in MANIFEST", s->dir,
                name);
    return f;
}

static int
is_file(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

const char *
setr_file_dir(const struct setr *s, const char *name, char *buf, size_t len,
              struct cm_err *err)
{
    uint32_t part = manifest_file_part(&s->m, name);
    const char *set_name = strrchr(s->dir, '/');
    char path[8400];

    if (part == 0 || part == s->m.part)
        return s->dir;
    set_name = set_name != NULL ? set_name + 1 : s->dir;
    for (const char *const *h = s->holder_dirs; h != NULL && *h != NULL; h++) {
        const char *base = strrchr(*h, '/');
        base = base != NULL ? base + 1 : *h;
        snprintf(path, sizeof path, "%s/%s", *h, name);
        if (strcmp(base, set_name) == 0 && is_file(path)) {
            snprintf(buf, len, "%s", *h);
            return buf;
        }
        snprintf(path, sizeof path, "%s/%s/%s", *h, set_name, name);
        if (is_file(path)) {
            snprintf(buf, len, "%s/%s", *h, set_name);
            return buf;
        }
    }
    cm_fail(err, CM_EIO,
            "%s is on part %" PRIu32 " of the set (medium %s), which was "
            "not given",
            name, part, s->m.parts[part - 1].label);
    return NULL;
}

/* Open the zstd layer: by the seek table, or by walking the frames. */
static int
open_frames(struct volume *v, const char *name, struct cm_err *err)
{
    struct cm_err first = CM_ERR_INIT;
    uint64_t size;

    if (age_reader_size(v->age, &size, &first) == 0 &&
        zframe_reader_open(age_reader_pread_fn, v->age, size, name, &v->z,
                           &first) == 0)
        return 0;
    /* The end is damaged: what came before may still be whole. */
    size = age_reader_claimed_size(v->age);
    if (zframe_reader_open_scan(age_reader_pread_fn, v->age, size, name,
                                &v->z, err) == 0 &&
        zframe_reader_nframes(v->z) > 0)
        return 0;
    zframe_reader_free(v->z);
    v->z = NULL;
    cm_err_clear(err);
    *err = first;
    return -1;
}

static int
volume_open(struct setr *s, uint32_t no, struct volume **out,
            struct cm_err *err)
{
    const struct manifest_file *f;
    struct volume *v;
    char name[32], dirbuf[4200];
    const char *dir;

    if (s->ids == NULL)
        return cm_fail(err, CM_EUSAGE, "reading volumes needs an identity");
    if (no == 0 || no > s->m.volumes)
        return cm_fail(err, CM_EFORMAT, "%s: no volume %" PRIu32, s->dir, no);
    setr_volume_name(no, name);
    if ((f = find_listed(s, name, err)) == NULL ||
        (v = cm_calloc(1, sizeof *v, err)) == NULL)
        return -1;
    v->no = no;
    v->src.fd = -1;
    if ((dir = setr_file_dir(s, name, dirbuf, sizeof dirbuf, err)) == NULL ||
        blocksrc_open(&v->src, dir, f, err) == -1 ||
        age_reader_open_src(blocksrc_pread, &v->src, f->size, f->name, s->ids,
                            &v->age, err) == -1 ||
        open_frames(v, f->name, err) == -1) {
        volume_free(v);
        return -1;
    }
    *out = v;
    return 0;
}

static int
get_volume(struct setr *s, uint32_t no, struct volume **out,
           struct cm_err *err)
{
    int victim = 0;

    for (int i = 0; i < OPEN_VOLUMES; i++) {
        if (s->vols[i] != NULL && s->vols[i]->no == no) {
            s->vols[i]->used = ++s->clock;
            *out = s->vols[i];
            return 0;
        }
        if (s->vols[i] == NULL ||
            (s->vols[victim] != NULL && s->vols[i]->used < s->vols[victim]->used))
            victim = i;
    }
    volume_free(s->vols[victim]);
    s->vols[victim] = NULL;
    if (volume_open(s, no, &s->vols[victim], err) == -1)
        return -1;
    s->vols[victim]->used = ++s->clock;
    *out = s->vols[victim];
    return 0;
}

int
setr_volume_pread(struct setr *s, uint32_t vol, void *p, size_t len,
                  uint64_t off, struct cm_err *err)
{
    struct volume *v;

    if (get_volume(s, vol, &v, err) == -1)
        return -1;
    return zframe_reader_pread(v->z, p, len, off, err);
}

int
setr_volume_size(struct setr *s, uint32_t vol, uint64_t *size,
                 struct cm_err *err)
{
    struct volume *v;

    if (get_volume(s, vol, &v, err) == -1)
        return -1;
    *size = zframe_reader_size(v->z);
    return 0;
}

int
setr_volume_frame(struct setr *s, uint32_t vol, uint64_t off,
                  uint64_t *start, uint64_t *end, struct cm_err *err)
{
    struct zframe_info info;
    struct volume *v;
    size_t i;

    if (get_volume(s, vol, &v, err) == -1)
        return -1;
    i = zframe_reader_frame_of(v->z, off);
    if (i >= zframe_reader_nframes(v->z))
        return cm_fail(err, CM_EFORMAT, "offset %" PRIu64 " is past the end",
                       off);
    zframe_reader_frame(v->z, i, &info);
    *start = info.d_off;
    *end = info.d_off + info.d_size;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sequential streams                                                  */

struct stream {
    struct blocksrc src;
    struct age_stream *age;
    struct zframe_stream *z;
};

void
setr_stream_free(void *ctx)
{
    struct stream *st = ctx;

    if (st == NULL)
        return;
    zframe_stream_free(st->z);
    age_stream_free(st->age);
    blocksrc_close(&st->src);
    free(st);
}

static long
read_age(void *ctx, void *p, size_t len, struct cm_err *err)
{
    return age_stream_read(ctx, p, len, err);
}

static long
read_stream(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct stream *st = ctx;

    return zframe_stream_read(st->z, p, len, err);
}

/* A decrypted, decompressed, block-checked stream of a listed file. */
static int
open_stream(struct setr *s, const char *name, struct stream **out,
            struct cm_err *err)
{
    const struct manifest_file *f;
    struct stream *st;
    char dirbuf[4200];
    const char *dir;

    if (s->ids == NULL)
        return cm_fail(err, CM_EUSAGE, "reading %s needs an identity", name);
    if ((f = find_listed(s, name, err)) == NULL ||
        (st = cm_calloc(1, sizeof *st, err)) == NULL)
        return -1;
    st->src.fd = -1;
    if ((dir = setr_file_dir(s, name, dirbuf, sizeof dirbuf, err)) == NULL ||
        blocksrc_open(&st->src, dir, f, err) == -1 ||
        age_stream_open(blocksrc_read, &st->src, f->name, s->ids, &st->age,
                        err) == -1 ||
        zframe_stream_new(read_age, st->age, f->name, 0, &st->z, err) == -1) {
        setr_stream_free(st);
        return -1;
    }
    *out = st;
    return 0;
}

int
setr_volume_stream(struct setr *s, uint32_t vol, cm_read_fn *read,
                   void **ctx, struct cm_err *err)
{
    struct stream *st;
    char name[32];

    if (vol == 0 || vol > s->m.volumes)
        return cm_fail(err, CM_EFORMAT, "%s: no volume %" PRIu32, s->dir,
                       vol);
    if (open_stream(s, setr_volume_name(vol, name), &st, err) == -1)
        return -1;
    *read = read_stream;
    *ctx = st;
    return 0;
}

int
setr_catalog_open(struct setr *s, struct catalog_reader **out,
                  struct cm_err *err)
{
    struct stream *st;

    if (open_stream(s, "catalog.jsonl.zst.age", &st, err) == -1)
        return -1;
    if (catalog_reader_open_src(read_stream, st, setr_stream_free,
                                "catalog.jsonl.zst.age", out, err) == -1) {
        setr_stream_free(st);
        return -1;
    }
    return 0;
}

void
setr_close(struct setr *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < OPEN_VOLUMES; i++)
        volume_free(s->vols[i]);
    manifest_free(&s->m);
    free(s->dir);
    free(s);
}
