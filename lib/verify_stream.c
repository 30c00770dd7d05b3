/*
 * verify of a tape stream (verify.h, tape.h): every file hashed as it
 * streams by, then the set checked as a directory is, against what was
 * seen.  The stream is read once, in order.
 */
#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "blockhash.h"
#include "io.h"
#include "tapein.h"

#define CHUNK (1u << 20)

/* A file as it came by. */
struct seen {
    char name[TAPEIN_NAME_MAX];
    uint64_t size; /* bytes read */
    int complete;  /* read to the end its header announced */
    uint8_t sha256[32];
    uint8_t (*blocks)[32];
    uint64_t nblocks;
};

struct streamed {
    struct seen *files;
    size_t n;
    char problem[CM_ERR_MSG_MAX + 256];
    char set_dir[4400]; /* MANIFEST and its signature, kept */
    char top[4096];
};

static struct seen *
find_seen(const struct streamed *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->files[i].name, name) == 0)
            return &s->files[i];
    return NULL;
}

static void note_problem(struct streamed *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The first problem with the stream as a whole is the one reported. */
static void
note_problem(struct streamed *s, const char *fmt, ...)
{
    va_list ap;

    if (s->problem[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(s->problem, sizeof s->problem, fmt, ap);
    va_end(ap);
}

/*
 * Hash the current file of ${t}: ${f} gets what was read.  0; 1 if the
 * stream broke (${serr}); -1 (${err}).
 */
static int
hash_file(struct tapein *t, const struct tapein_member *m, uint8_t *chunk,
          struct seen *f, struct cm_err *serr, struct cm_err *err)
{
    struct blockhash *h = NULL;
    const uint8_t(*blocks)[32];
    long n;
    int rc = -1;

    snprintf(f->name, sizeof f->name, "%s", m->name);
    if (blockhash_new(MANIFEST_BLOCK_SIZE, &h, err) == -1)
        return -1;
    while ((n = tapein_read(t, chunk, CHUNK, serr)) > 0)
        if (blockhash_update(h, chunk, (size_t)n, err) == -1)
            goto out;
    if (blockhash_final(h, f->sha256, err) == -1)
        goto out;
    f->size = blockhash_bytes(h);
    f->complete = n == 0 && f->size == m->size;
    blocks = blockhash_blocks(h, &f->nblocks);
    if (f->nblocks > 0) {
        if ((f->blocks = cm_malloc(f->nblocks * 32, err)) == NULL)
            goto out;
        memcpy(f->blocks, blocks, f->nblocks * 32);
    }
    rc = n == -1 ? 1 : 0;
out:
    blockhash_free(h);
    return rc;
}

/* MANIFEST or its signature: kept in the set directory, bounded.  As
 * hash_file. */
static int
keep_file(struct streamed *s, struct tapein *t, const struct tapein_member *m,
          struct cm_err *serr, struct cm_err *err)
{
    size_t max =
        strcmp(m->name, "MANIFEST") == 0 ? MANIFEST_MAX : MINISIG_FILE_MAX;
    char path[4600];
    struct buf b;
    struct stat st;
    long n;
    int rc = -1;

    snprintf(path, sizeof path, "%s/%s", s->set_dir, m->name);
    if (lstat(path, &st) == 0) {
        note_problem(s, "%s appears twice in the stream; the first was kept",
                     m->name);
        return 0;
    }
    buf_init(&b, max);
    if (m->size > max) {
        note_problem(s, "%s is too large (over %zu bytes); not read", m->name,
                     max);
        rc = 0;
        goto out;
    }
    if (buf_reserve(&b, m->size > 0 ? (size_t)m->size : 1, m->name, err) == -1)
        goto out;
    while ((n = tapein_read(t, b.data + b.len, b.cap - b.len, serr)) > 0)
        b.len += (size_t)n;
    if (n == -1) {
        rc = 1;
        goto out;
    }
    rc = io_write_file_excl(path, b.data, b.len, 0600, err);
out:
    buf_free(&b);
    return rc;
}

static int
add_seen(struct streamed *s, struct seen **out, struct cm_err *err)
{
    struct seen *grown = realloc(s->files, (s->n + 1) * sizeof *grown);

    if (grown == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    s->files = grown;
    *out = memset(&grown[s->n++], 0, sizeof *grown);
    return 0;
}

static int
make_set_dir(struct streamed *s, const char *tmp_dir, const char *set_name,
             struct cm_err *err)
{
    snprintf(s->top, sizeof s->top, "%s/coldmail-verify.XXXXXX", tmp_dir);
    if (mkdtemp(s->top) == NULL) {
        s->top[0] = '\0';
        return cm_fail_errno(err, errno, "%s: cannot make a directory",
                             tmp_dir);
    }
    snprintf(s->set_dir, sizeof s->set_dir, "%s/%s", s->top, set_name);
    if (mkdir(s->set_dir, 0700) == -1)
        return cm_fail_errno(err, errno, "%s", s->set_dir);
    return 0;
}

/* Read the whole stream; a stream that breaks off is a problem noted. */
static int
read_stream(struct streamed *s, const char *path, const char *tmp_dir,
            struct cm_err *err)
{
    struct cm_err serr = CM_ERR_INIT;
    struct tapein *t = NULL;
    struct tapein_member m;
    struct seen *f = NULL;
    uint8_t *chunk = NULL;
    int got, r, rc = -1;

    if (tapein_open(path, &t, err) == -1 ||
        (chunk = cm_malloc(CHUNK, err)) == NULL)
        goto out;
    while ((got = tapein_next(t, &m, &serr)) == 1) {
        if (s->set_dir[0] == '\0' &&
            make_set_dir(s, tmp_dir, m.set_name, err) == -1)
            goto out;
        if (strcmp(m.name, "MANIFEST") == 0 ||
            strcmp(m.name, "MANIFEST.minisig") == 0)
            r = keep_file(s, t, &m, &serr, err);
        else if (find_seen(s, m.name) != NULL) {
            note_problem(s,
                         "%s appears twice in the stream; the first was "
                         "checked",
                         m.name);
            continue;
        } else
            r = add_seen(s, &f, err) == -1
                    ? -1
                    : hash_file(t, &m, chunk, f, &serr, err);
        if (r == -1)
            goto out;
        if (r == 1)
            break;
    }
    if (serr.code != CM_OK && s->set_dir[0] == '\0') {
        *err = serr;
        goto out;
    }
    if (s->set_dir[0] == '\0') {
        cm_fail(err, CM_EFORMAT, "%s: no coldmail set in the stream",
                tapein_name(t));
        goto out;
    }
    if (serr.code != CM_OK) {
        note_problem(s,
                     "the stream breaks off after %" PRIu64 " bytes (%s); "
                     "what follows was not read",
                     tapein_offset(t), serr.msg);
    }
    rc = 0;
out:
    free(chunk);
    tapein_free(t);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The files, to verify.c                                              */

static int
note_bad(struct filecheck_report *r, uint64_t block, struct cm_err *err)
{
    uint64_t *grown = realloc(r->bad_blocks, (r->nbad + 1) * sizeof *grown);

    if (grown == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    grown[r->nbad++] = block;
    r->bad_blocks = grown;
    return 0;
}

static int
scan(void *ctx, const struct manifest_file *f, struct filecheck_report *r,
     struct cm_err *err)
{
    const struct seen *s = find_seen(ctx, f->name);

    memset(r, 0, sizeof *r);
    if (s == NULL) {
        r->missing = 1;
        return 0;
    }
    r->size = s->size;
    r->size_ok = s->complete && s->size == f->size;
    r->sha256_ok = r->size_ok && CRYPTO_memcmp(s->sha256, f->sha256, 32) == 0;
    for (uint64_t i = 0; i < f->nblocks; i++)
        if ((i >= s->nblocks ||
             CRYPTO_memcmp(s->blocks[i], f->blocks[i], 32) != 0) &&
            note_bad(r, i, err) == -1)
            return -1;
    return 0;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
extra(void *ctx, const struct manifest *m, char ***names, size_t *n,
      struct cm_err *err)
{
    const struct streamed *s = ctx;
    char **list = cm_calloc(s->n + 1, sizeof *list, err);

    *names = list;
    *n = 0;
    if (list == NULL)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        if (manifest_find_file(m, s->files[i].name) != NULL)
            continue;
        if ((list[*n] = cm_strdup(s->files[i].name, err)) == NULL)
            return -1;
        (*n)++;
    }
    qsort(list, *n, sizeof *list, by_name);
    return 0;
}

static void
streamed_free(struct streamed *s)
{
    char path[4600];

    for (size_t i = 0; i < s->n; i++)
        free(s->files[i].blocks);
    free(s->files);
    if (s->set_dir[0] != '\0') {
        snprintf(path, sizeof path, "%s/MANIFEST", s->set_dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/MANIFEST.minisig", s->set_dir);
        unlink(path);
        rmdir(s->set_dir);
    }
    if (s->top[0] != '\0')
        rmdir(s->top);
}

int
verify_stream(const char *path, const char *tmp_dir,
              const struct verify_opts *o, struct verify_result *r,
              struct cm_err *err)
{
    struct streamed *s = cm_calloc(1, sizeof *s, err);
    struct verify_source src;
    struct verify_opts so = *o;
    const char *dir;
    int rc = -1;

    memset(r, 0, sizeof *r);
    if (s == NULL)
        return -1;
    if (o->deep) {
        cm_fail(err, CM_EUSAGE,
                "--deep does not read a tape stream: unpack it with tar -x "
                "(or restore it) and verify the directory");
        goto out;
    }
    if (read_stream(s, path, tmp_dir, err) == -1)
        goto out;
    src.scan = scan;
    src.extra = extra;
    src.problem = s->problem[0] != '\0' ? s->problem : NULL;
    src.ctx = s;
    so.source = &src;
    dir = s->set_dir;
    rc = verify_run(&dir, 1, &so, r, err);
out:
    streamed_free(s);
    free(s);
    return rc;
}
