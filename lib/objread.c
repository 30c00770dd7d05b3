#include "objread.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "manifest.h"
#include "readahead.h"

enum vol_state { VOL_UNKNOWN, VOL_OK, VOL_BAD };

/* A set objects are read from, with what is known of its volumes. */
struct held {
    struct setr *set;
    int owned;
    uint8_t id[MANIFEST_SET_ID_SIZE];
    uint64_t nvols;
    uint8_t *state;        /* enum vol_state per volume, from 1 */
    struct cm_err **why;   /* for VOL_BAD */
    struct cm_err missing; /* a holder that could not be opened */
};

struct objread {
    const struct setr_opts *opts;
    struct held sets[1 + OBJREAD_HOLDERS_MAX];
    size_t nsets;
    uint8_t *buf;
    EVP_MD_CTX *md;
    struct readahead *ra; /* for sets[0], or NULL */
};

static int
held_init(struct held *h, struct setr *set, int owned, struct cm_err *err)
{
    const struct manifest *m = setr_manifest(set);

    memset(h, 0, sizeof *h);
    h->set = set;
    h->owned = owned;
    memcpy(h->id, m->set_id, sizeof h->id);
    h->nvols = m->volumes;
    if ((h->state = cm_calloc(h->nvols + 1, 1, err)) == NULL ||
        (h->why = cm_calloc(h->nvols + 1, sizeof *h->why, err)) == NULL)
        return -1;
    return 0;
}

static void
held_free(struct held *h)
{
    for (uint64_t i = 0; h->why != NULL && i <= h->nvols; i++)
        free(h->why[i]);
    free(h->why);
    free(h->state);
    if (h->owned)
        setr_close(h->set);
    memset(h, 0, sizeof *h);
}

int
objread_new(struct setr *set, const struct setr_opts *opts,
            struct objread **out, struct cm_err *err)
{
    struct objread *r = cm_calloc(1, sizeof *r, err);

    if (r == NULL)
        return -1;
    r->opts = opts;
    r->nsets = 1;
    if (held_init(&r->sets[0], set, 0, err) == -1 ||
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
    for (size_t i = 0; i < r->nsets; i++)
        held_free(&r->sets[i]);
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
    if (setr_open(setr_dir(r->sets[0].set), r->opts, &again, err) == -1)
        return -1;
    return readahead_new(again, &r->ra, err);
}

/* ------------------------------------------------------------------ */
/* Holder sets                                                         */

/* The parent directory of the first set, "." if it has none. */
static void
parent_of(const char *dir, char *out, size_t len)
{
    const char *slash;
    size_t n = strlen(dir);

    while (n > 1 && dir[n - 1] == '/')
        n--;
    slash = memrchr(dir, '/', n);
    if (slash == NULL)
        snprintf(out, len, ".");
    else if (slash == dir)
        snprintf(out, len, "/");
    else
        snprintf(out, len, "%.*s", (int)(slash - dir), dir);
}

/* A set directory named "...-<first 8 hex of ${hex}>" whose id is ${id}. */
static int
open_holder(struct objread *r, const uint8_t *id, const char *hex,
            struct setr **out, struct cm_err *err)
{
    char parent[4096], path[8192], tail[10];
    struct dirent *d;
    DIR *dh;
    int rc = -1;

    parent_of(setr_dir(r->sets[0].set), parent, sizeof parent);
    snprintf(tail, sizeof tail, "-%.8s", hex);
    if ((dh = opendir(parent)) == NULL)
        return cm_fail_errno(err, errno, "%s: cannot list", parent);
    while (rc == -1 && (d = readdir(dh)) != NULL) {
        size_t n = strlen(d->d_name);
        struct cm_err ignored = CM_ERR_INIT;
        struct setr *s = NULL;
        if (n < 9 || strcmp(d->d_name + n - 9, tail) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", parent, d->d_name);
        if (setr_open(path, r->opts, &s, &ignored) == 0 &&
            memcmp(setr_manifest(s)->set_id, id, MANIFEST_SET_ID_SIZE) == 0) {
            *out = s;
            rc = 0;
        } else {
            setr_close(s);
        }
    }
    closedir(dh);
    if (rc == -1)
        cm_fail(err, CM_EIO,
                "held by set %s, which is not in %s (or does not open)", hex,
                parent);
    return rc;
}

static struct held *
find_held(struct objread *r, const uint8_t *id, struct cm_err *err)
{
    char hex[2 * MANIFEST_SET_ID_SIZE + 1];
    struct setr *s = NULL;
    struct held *h;

    for (size_t i = 0; i < r->nsets; i++) {
        h = &r->sets[i];
        if (memcmp(h->id, id, sizeof h->id) != 0)
            continue;
        if (h->set == NULL) {
            *err = h->missing;
            return NULL;
        }
        return h;
    }
    if (r->nsets == CM_ARRAY_LEN(r->sets)) {
        cm_fail(err, CM_EIO, "held by more sets than %d besides this one",
                OBJREAD_HOLDERS_MAX);
        return NULL;
    }
    manifest_set_id_hex(id, hex);
    h = &r->sets[r->nsets];
    if (open_holder(r, id, hex, &s, err) == -1) {
        memset(h, 0, sizeof *h);
        memcpy(h->id, id, sizeof h->id);
        h->missing = *err;
        r->nsets++;
        return NULL;
    }
    if (held_init(h, s, 1, err) == -1) {
        setr_close(s);
        held_free(h);
        return NULL;
    }
    r->nsets++;
    return h;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

/* Is volume ${vol} of ${h} usable?  Probed once. */
static int
check_volume(struct held *h, uint32_t vol, struct cm_err *err)
{
    uint64_t size;

    if (vol == 0 || vol > h->nvols)
        return cm_fail(err, CM_EFORMAT, "volume %" PRIu32 " is not in the set",
                       vol);
    if (h->state[vol] == VOL_OK)
        return 0;
    if (h->state[vol] == VOL_BAD) {
        *err = *h->why[vol];
        return -1;
    }
    if (setr_volume_size(h->set, vol, &size, err) == 0) {
        h->state[vol] = VOL_OK;
        return 0;
    }
    if ((h->why[vol] = malloc(sizeof *h->why[vol])) != NULL) {
        *h->why[vol] = *err;
        h->state[vol] = VOL_BAD;
    }
    return -1;
}

static int
check_place(const struct catalog_entry *e, struct cm_err *err)
{
    if (e->kind != CATALOG_FILE && e->kind != CATALOG_MESSAGE)
        return cm_fail(err, CM_EFORMAT, "not a file or message");
    if (!e->has_sha256)
        return cm_fail(err, CM_EFORMAT, "no SHA-256 in the catalog");
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
read_piece(struct objread *r, struct held *h, uint32_t vol, size_t n,
           uint64_t off, struct cm_err *err)
{
    if (r->ra != NULL && h == &r->sets[0]) {
        struct cm_err ignored = CM_ERR_INIT;
        if (readahead_pread(r->ra, vol, r->buf, n, off, &ignored) == 0)
            return 0;
    }
    return setr_volume_pread(h->set, vol, r->buf, n, off, err);
}

static int
copy_range(struct objread *r, struct held *h, const struct catalog_entry *e,
           cm_write_fn sink, void *ctx, struct cm_err *err)
{
    uint64_t done = 0;

    while (done < e->len) {
        size_t n = e->len - done < OBJREAD_CHUNK ? (size_t)(e->len - done)
                                                 : OBJREAD_CHUNK;
        if (read_piece(r, h, e->vol, n, e->off + done, err) == -1)
            return OBJREAD_LOST;
        if (EVP_DigestUpdate(r->md, r->buf, n) != 1)
            return cm_fail(err, CM_EINTERNAL, "SHA-256 failed");
        if (sink != NULL && sink(ctx, r->buf, n, err) == -1)
            return OBJREAD_SINK_FAILED;
        done += n;
    }
    return 0;
}

static int
copy_checked(struct objread *r, const struct catalog_entry *e, cm_write_fn sink,
             void *ctx, uint8_t actual[32], struct cm_err *err)
{
    uint8_t got[32];
    struct held *h = NULL;
    int rc;

    if (check_place(e, err) == -1)
        return OBJREAD_LOST;
    if (e->size > 0 && ((h = find_held(r, e->set_id, err)) == NULL ||
                        check_volume(h, e->vol, err) == -1))
        return OBJREAD_LOST;
    if (EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1)
        return cm_fail(err, CM_EINTERNAL, "SHA-256 failed");
    if (h != NULL && (rc = copy_range(r, h, e, sink, ctx, err)) != 0)
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
