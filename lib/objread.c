#include "objread.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "holders.h"
#include "readahead.h"

struct objread {
    const struct setr_opts *opts;
    struct setr *first;
    struct holders *holders;
    uint8_t *buf;
    EVP_MD_CTX *md;
    struct readahead *ra; /* for the first set, or NULL */
};

int
objread_new(struct setr *set, const struct setr_opts *opts,
            struct objread **out, struct cm_err *err)
{
    struct objread *r = cm_calloc(1, sizeof *r, err);

    if (r == NULL)
        return -1;
    r->opts = opts;
    r->first = set;
    if (holders_new(set, opts, &r->holders, err) == -1 ||
        (r->buf = cm_malloc(OBJREAD_CHUNK, err)) == NULL)
        goto fail;
    if ((r->md = EVP_MD_CTX_new()) == NULL) {
        cm_fail(err, CM_EINTERNAL, "out of memory");
        goto fail;
    }
    *out = r;
    return 0;
fail:
    objread_free(r);
    return -1;
}

void
objread_free(struct objread *r)
{
    if (r == NULL)
        return;
    readahead_free(r->ra);
    holders_free(r->holders);
    EVP_MD_CTX_free(r->md);
    cm_free_secret(r->buf, OBJREAD_CHUNK);
    free(r);
}

int
objread_readahead(struct objread *r, struct cm_err *err)
{
    struct setr *again = NULL;

    if (r->ra != NULL)
        return 0;
    if (setr_open(setr_dir(r->first), r->opts, &again, err) == -1)
        return -1;
    return readahead_new(again, &r->ra, err);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

static int
check_place(const struct catalog_entry *e, struct cm_err *err)
{
    if (e->kind != CATALOG_FILE && e->kind != CATALOG_MESSAGE)
        return cm_fail(err, CM_EFORMAT, "not a file or message");
    if (!e->has_sha256)
        return cm_fail(err, CM_EFORMAT, "no SHA-256 in the catalog");
    if (e->nsegments > 0)
        return 0; /* the parser checked that they add up */
    if (e->len != e->size)
        return cm_fail(err, CM_EFORMAT,
                       "catalog length %" PRIu64 " is not its size %" PRIu64,
                       e->len, e->size);
    if (e->size > 0 && e->vol == 0)
        return cm_fail(err, CM_EFORMAT, "no volume in the catalog");
    return 0;
}

/* Through the read-ahead when it has it; exactly, when it fails there. */
static int
read_piece(struct objread *r, struct setr *s, uint32_t vol, size_t n,
           uint64_t off, struct cm_err *err)
{
    if (r->ra != NULL && s == r->first) {
        struct cm_err ignored = CM_ERR_INIT;
        if (readahead_pread(r->ra, vol, r->buf, n, off, &ignored) == 0)
            return 0;
    }
    return setr_volume_pread(s, vol, r->buf, n, off, err);
}

/* ${len} bytes at ${off} of volume ${vol} of set ${id}, hashed and sunk. */
static int
copy_range(struct objread *r, const uint8_t id[16], uint32_t vol, uint64_t off,
           uint64_t len, cm_write_fn sink, void *ctx, struct cm_err *err)
{
    uint64_t done = 0;
    struct setr *s;

    while (done < len) {
        size_t n =
            len - done < OBJREAD_CHUNK ? (size_t)(len - done) : OBJREAD_CHUNK;
        /* Asked again each time: another set may have been opened since. */
        if ((s = holders_volume(r->holders, id, vol, err)) == NULL ||
            read_piece(r, s, vol, n, off + done, err) == -1)
            return err->code == CM_EINTERNAL ? -1 : OBJREAD_LOST;
        if (EVP_DigestUpdate(r->md, r->buf, n) != 1)
            return cm_fail(err, CM_EINTERNAL, "SHA-256 failed");
        if (sink != NULL && sink(ctx, r->buf, n, err) == -1)
            return OBJREAD_SINK_FAILED;
        done += n;
    }
    return 0;
}

static int
copy_content(struct objread *r, const struct catalog_entry *e, cm_write_fn sink,
             void *ctx, struct cm_err *err)
{
    int rc;

    if (e->nsegments == 0)
        return e->size == 0 ? 0
                            : copy_range(r, e->set_id, e->vol, e->off, e->len,
                                         sink, ctx, err);
    for (size_t i = 0; i < e->nsegments; i++) {
        const struct catalog_segment *g = &e->segments[i];
        if ((rc = copy_range(r, g->set_id, g->vol, g->off, g->len, sink, ctx,
                             err)) != 0)
            return rc;
    }
    return 0;
}

static int
copy_checked(struct objread *r, const struct catalog_entry *e, cm_write_fn sink,
             void *ctx, uint8_t actual[32], struct cm_err *err)
{
    uint8_t got[32];
    int rc;

    if (check_place(e, err) == -1)
        return OBJREAD_LOST;
    if (EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1)
        return cm_fail(err, CM_EINTERNAL, "SHA-256 failed");
    if ((rc = copy_content(r, e, sink, ctx, err)) != 0)
        return rc;
    if (EVP_DigestFinal_ex(r->md, got, NULL) != 1)
        return cm_fail(err, CM_EINTERNAL, "SHA-256 failed");
    if (actual != NULL)
        memcpy(actual, got, sizeof got);
    if (CRYPTO_memcmp(got, e->sha256, sizeof got) != 0) {
        cm_fail(err, CM_EAUTH,
                "content does not match its SHA-256 in the catalog");
        return OBJREAD_MISMATCH;
    }
    return 0;
}

int
objread_copy(struct objread *r, const struct catalog_entry *e, cm_write_fn sink,
             void *sink_ctx, uint8_t actual[32], struct cm_err *err)
{
    return copy_checked(r, e, sink, sink_ctx, actual, err);
}
