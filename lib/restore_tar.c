/*
 * The restore without a catalog: each volume's tar stream read in order,
 * every entry through tarr's refusals and extract's checks.  Only age's
 * authentication and the MANIFEST block hashes vouch for the content.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "restore_int.h"
#include "tarr.h"

#define TAR_CHUNK (1u << 20)
#define TAR_BLOCK 512

/*
 * What tarr reads: the volume's sequential stream, or after damage the
 * same bytes by random access from a later entry on; pos counts the bytes
 * read so far, so a failure is placed.
 */
struct src {
    cm_read_fn rd; /* the stream; NULL: setr_volume_pread */
    void *ctx;
    struct setr *set;
    uint32_t vol;
    uint64_t pos, size;
};

struct tarv {
    struct rctx *c;
    struct src src;
    struct tarr *t;
    const char *name; /* the volume's file name */
    uint8_t *buf;
    char path[TARR_PATH_MAX + 1];
};

static int
selected(const struct tarv *v, const struct tarr_entry *te)
{
    struct catalog_entry e;

    if (v->c->o->filter == NULL)
        return 1;
    catalog_entry_init(&e);
    e.kind = te->type == TARR_DIR       ? CATALOG_DIR
             : te->type == TARR_SYMLINK ? CATALOG_SYMLINK
                                        : CATALOG_FILE;
    e.path.p = (char *)v->path;
    e.path.len = te->path_len;
    return filter_match(v->c->o->filter, &e);
}

/* 1 if the stream broke inside the file's content. */
static int
tar_file(struct tarv *v, const struct tarr_entry *te,
         const struct extract_meta *m, struct cm_err *err)
{
    struct rctx *c = v->c;
    struct extract_file *f = NULL;
    long n;
    int r;

    if (extract_file_open(c->x, v->path, te->size, m, &f, err) == -1)
        return rs_target_error(c, v->path, NULL, err);
    while ((n = tarr_read(v->t, v->buf, TAR_CHUNK, err)) > 0)
        if (extract_file_write(f, v->buf, (size_t)n, err) == -1) {
            extract_file_abort(f);
            return rs_target_error(c, v->path, NULL, err);
        }
    if (n < 0) {
        extract_file_abort(f);
        c->res->lost++;
        c->res->lost_bytes += te->size;
        rs_event(c, RESTORE_LOST, v->path, NULL, err);
        return 1;
    }
    if ((r = extract_file_commit(f, err)) == -1)
        return rs_target_error(c, v->path, NULL, err);
    if (r == EXTRACT_CREATED) {
        c->res->files++;
        c->res->bytes += te->size;
    }
    rs_outcome(c, v->path, r);
    rs_progress(c, 1, te->size);
    return 0;
}

static int
tar_symlink(struct tarv *v, const struct tarr_entry *te,
            const struct extract_meta *m, struct cm_err *err)
{
    int r = extract_symlink(v->c->x, v->path, te->link, te->link_len, m, err);

    if (r == -1)
        return rs_target_error(v->c, v->path, NULL, err);
    if (r == EXTRACT_CREATED)
        v->c->res->symlinks++;
    rs_outcome(v->c, v->path, r);
    rs_progress(v->c, 1, 0);
    return 0;
}

/* -1 to stop, 0, or 1 if the stream broke. */
static int
tar_entry(struct tarv *v, const struct tarr_entry *te, struct cm_err *err)
{
    struct extract_meta m = {te->mode, te->mtime, te->mtime_ns, te->uid,
                             te->gid};

    if (te->path_len > TARR_PATH_MAX)
        return 0;
    memcpy(v->path, te->path, te->path_len);
    v->path[te->path_len] = '\0';
    if (te->type == TARR_DIR &&
        rs_dir_seen(v->c, v->path, te->path_len, &m, err) == -1)
        return -1;
    if (!selected(v, te))
        return 0;
    if (rs_ancestors(v->c, v->path, te->path_len, err) == -1)
        return -1;
    if (te->type == TARR_FILE)
        return tar_file(v, te, &m, err);
    if (te->type == TARR_SYMLINK)
        return tar_symlink(v, te, &m, err);
    return 0;
}

static void
refused(struct tarv *v, const struct tarr_entry *te, struct cm_err *err)
{
    char shown[TARR_PATH_MAX + 1];
    size_t n =
        te->path != NULL && te->path_len <= TARR_PATH_MAX ? te->path_len : 0;

    memcpy(shown, te->path != NULL ? te->path : "", n);
    shown[n] = '\0';
    v->c->res->refused++;
    rs_event(v->c, RESTORE_REFUSED, n > 0 ? shown : v->name, NULL, err);
    cm_err_clear(err);
}

static int
tar_entries(struct tarv *v, struct cm_err *err)
{
    struct tarr_entry te;
    int got;

    while ((got = tarr_next(v->t, &te, err)) != 0) {
        if (rs_check_stop(v->c, err) == -1)
            return -1;
        if (got == -1)
            return 1;
        if (got == TARR_REFUSED) {
            refused(v, &te, err);
            continue;
        }
        got = tar_entry(v, &te, err);
        if (got != 0)
            return got;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reading past damage                                                 */

static long
src_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct src *s = ctx;
    long n;

    if (s->rd != NULL) {
        n = s->rd(s->ctx, p, len, err);
    } else {
        if (len > s->size - s->pos)
            len = (size_t)(s->size - s->pos);
        n = len == 0 ? 0
            : setr_volume_pread(s->set, s->vol, p, len, s->pos, err) == -1
                ? -1
                : (long)len;
    }
    if (n > 0)
        s->pos += (uint64_t)n;
    return n;
}

static uint64_t
octal(const uint8_t *p, size_t len)
{
    uint64_t v = 0;

    for (size_t i = 0; i < len && p[i] >= '0' && p[i] <= '7'; i++)
        v = v * 8 + (uint64_t)(p[i] - '0');
    return v;
}

/*
 * A pax extended header block ("x" or "g"), where an entry starts with all
 * its metadata: resuming at a bare ustar header could lose a long name or
 * the nanoseconds that its pax header held.
 */
static int
is_pax_header(const uint8_t h[TAR_BLOCK])
{
    uint64_t sum = 0;

    if (memcmp(h + 257, "ustar", 5) != 0 || (h[156] != 'x' && h[156] != 'g'))
        return 0;
    for (size_t i = 0; i < TAR_BLOCK; i++)
        sum += i >= 148 && i < 156 ? ' ' : h[i];
    return sum == octal(h + 148, 8);
}

/* The first entry at or after ${from} that can be read: 0 and *${at}. */
static int
find_entry(struct tarv *v, uint64_t from, uint64_t *at)
{
    uint8_t h[TAR_BLOCK];
    uint64_t o = (from + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;

    while (o + TAR_BLOCK <= v->src.size) {
        struct cm_err e = CM_ERR_INIT;
        uint64_t start, end;
        if (setr_volume_pread(v->src.set, v->src.vol, h, TAR_BLOCK, o, &e) ==
            0) {
            if (is_pax_header(h)) {
                *at = o;
                return 0;
            }
            o += TAR_BLOCK;
            continue;
        }
        /* The whole frame is lost with the chunk: skip it. */
        if (setr_volume_frame(v->src.set, v->src.vol, o, &start, &end, &e) ==
                -1 ||
            end <= o)
            return -1;
        o = (end + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
    }
    return -1;
}

/* Tell what was lost from ${from} on, and where reading goes on, if. */
static void
lost_range(struct tarv *v, uint64_t from, int resumed, uint64_t at,
           struct cm_err *err)
{
    if (resumed)
        cm_err_prefix(err,
                      "tar stream bytes %llu-%llu are lost (without "
                      "the catalog their objects cannot be named); "
                      "reading goes on at the next entry",
                      (unsigned long long)from, (unsigned long long)at - 1);
    else
        cm_err_prefix(err,
                      "the rest of this volume is lost, from tar "
                      "stream byte %llu (without the catalog its "
                      "objects cannot be named)",
                      (unsigned long long)from);
    v->c->res->lost++;
    rs_event(v->c, RESTORE_LOST, v->name, NULL, err);
    cm_err_clear(err);
}

/* After the stream broke: go on at the next readable entry, if any. */
static int
resume(struct tarv *v, struct cm_err *err)
{
    struct tarr_opts to = {v->name, 0, 0};
    uint64_t broke = v->src.pos, at = 0;
    int found;

    if (err->code == CM_EINTERNAL || err->code == CM_EINTR)
        return -1;
    found = v->src.size > 0 && find_entry(v, broke, &at) == 0;
    lost_range(v, broke, found, at, err);
    tarr_free(v->t);
    v->t = NULL;
    if (!found)
        return 0;
    v->src.rd = NULL;
    v->src.pos = at;
    if (tarr_new(&to, src_read, &v->src, &v->t, err) == -1)
        return -1;
    return 1;
}

static int
tar_volume(struct rctx *c, uint32_t vol, uint8_t *buf, struct cm_err *err)
{
    struct tarr_opts to = {NULL, 0, 0};
    struct tarv v;
    char name[32];
    void *ctx = NULL;
    int rc = -1;

    memset(&v, 0, sizeof v);
    v.c = c;
    v.buf = buf;
    v.name = to.name = setr_volume_name(vol, name);
    v.src.set = c->o->set;
    v.src.vol = vol;
    if (setr_volume_stream(c->o->set, vol, &v.src.rd, &ctx, err) == -1) {
        if (err->code == CM_EINTERNAL)
            return -1;
        c->res->lost++;
        rs_event(c, RESTORE_LOST, name, NULL, err);
        cm_err_clear(err);
        return 0;
    }
    v.src.ctx = ctx;
    if (setr_volume_size(c->o->set, vol, &v.src.size, err) == -1)
        cm_err_clear(err); /* no random access: no resuming */
    if (tarr_new(&to, src_read, &v.src, &v.t, err) == 0)
        while ((rc = tar_entries(&v, err)) == 1 && (rc = resume(&v, err)) == 1)
            ;
    tarr_free(v.t);
    setr_stream_free(ctx);
    return rc;
}

int
rtar_run(struct rctx *c, struct cm_err *err)
{
    const struct manifest *m = setr_manifest(c->o->set);
    struct cm_err note = CM_ERR_INIT;
    uint8_t *buf;
    int rc = 0;

    cm_fail(&note, CM_DAMAGED,
            "the catalog is unusable: restoring from the volumes' tar "
            "streams instead; no per-object SHA-256 check is possible "
            "beyond the MANIFEST block hashes and age authentication");
    rs_event(c, RESTORE_WARNING, NULL, NULL, &note);
    if ((buf = cm_malloc(TAR_CHUNK, err)) == NULL)
        return -1;
    for (uint64_t vol = 1; rc == 0 && vol <= m->volumes; vol++)
        rc = tar_volume(c, (uint32_t)vol, buf, err);
    cm_free_secret(buf, TAR_CHUNK);
    return rc;
}
