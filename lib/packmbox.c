/*
 * packmbox: mbox files in incrementals, record by record.
 *
 * Every time an mbox file is stored whole, its records (see packobj.h) go
 * into the listing by SHA-256.  When the file has changed since the
 * medium's newest set, it is scanned and each record looked up: those the
 * medium holds are referenced where they are, the others stored anew in a
 * tar entry that holds only them.  The file's catalog record lists the
 * pieces in file order ("segments"); its sha256 is still the whole file's.
 * An append stores the new messages; an expunge stores nothing but the
 * record.
 *
 * The file is read three times, the last two from the page cache: a scan
 * for the records, a pass hashing them (and keeping the new ones aside),
 * and, once the tar entry is written, a scan for the message records.  A
 * file that changes meanwhile (its size, mtime or ctime), that has more
 * than PACKMBOX_RECORDS_MAX messages or more than PACKMBOX_NEW_MAX new
 * bytes, that no record of is on the medium, or whose pieces would be more
 * than CATALOG_SEGMENTS_MAX, is stored whole instead.
 */
#include "packobj.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "blockhash.h"
#include "enc.h"
#include "io.h"

/* ------------------------------------------------------------------ */
/* The records of a scan                                               */

int
packmbox_recs_add(struct packmbox_recs *rs, const struct mbox_message *mm,
                  struct cm_err *err)
{
    struct packmbox_rec *grown;

    if (rs->overflow)
        return 0;
    if (rs->n == PACKMBOX_RECORDS_MAX) {
        packmbox_recs_free(rs);
        rs->overflow = 1;
        return 0;
    }
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 64;
        if ((grown = realloc(rs->r, cap * sizeof *grown)) == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        rs->r = grown;
        rs->cap = cap;
    }
    rs->r[rs->n].from_off = mm->from_off;
    rs->r[rs->n].off = mm->off;
    rs->r[rs->n].len = mm->len;
    memcpy(rs->r[rs->n].sha256, mm->sha256, 32);
    rs->n++;
    return 0;
}

void
packmbox_recs_free(struct packmbox_recs *rs)
{
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

/* The pieces tiling the file: a prefix (bytes before the first From_
 * line) if there is one, then one record per message. */
struct tiling {
    const struct packmbox_recs *rs;
    uint64_t size;
    size_t prefix; /* 1 if piece 0 is a prefix */
    size_t n;      /* pieces */
};

static void
tiling_init(struct tiling *t, const struct packmbox_recs *rs, uint64_t size)
{
    t->rs = rs;
    t->size = size;
    t->prefix = rs->n > 0 && rs->r[0].from_off > 0;
    t->n = rs->n + t->prefix;
}

/* Piece ${k}: [*start, *end), and its message (NULL for the prefix). */
static const struct packmbox_rec *
piece(const struct tiling *t, size_t k, uint64_t *start, uint64_t *end)
{
    size_t i = k - t->prefix;

    if (t->prefix && k == 0) {
        *start = 0;
        *end = t->rs->r[0].from_off;
        return NULL;
    }
    *start = t->rs->r[i].from_off;
    *end = i + 1 < t->rs->n ? t->rs->r[i + 1].from_off : t->size;
    return &t->rs->r[i];
}

/* ------------------------------------------------------------------ */
/* The listing: "R" path NUL sha256 -> "SETID VOL TAR_OFF OFF"         */

struct where {
    uint8_t set[16];
    uint32_t vol;
    uint64_t tar_off, off;
};

static int
record_key(struct buf *key, const char *path, const uint8_t sha[32],
           struct cm_err *err)
{
    buf_reset(key);
    if (buf_append_byte(key, 'R', "key", err) == -1 ||
        buf_append(key, path, strlen(path) + 1, "key", err) == -1)
        return -1;
    return sha == NULL ? 0 : buf_append(key, sha, 32, "key", err);
}

static int
stage_record(struct packer *p, const uint8_t sha[32], uint64_t len,
             const struct where *w, struct cm_err *err)
{
    char hex[33], line[128];
    struct buf key;
    int rc;

    buf_init(&key, 8192);
    hex_encode(hex, w->set, 16);
    snprintf(line, sizeof line, "%s %" PRIu32 " %" PRIu64 " %" PRIu64, hex,
             w->vol, w->tar_off, w->off);
    rc = record_key(&key, (const char *)p->path.data, sha, err);
    if (rc == 0)
        rc = state_object_put(p->state, key.data, key.len, len, 0, 0, line,
                              strlen(line), err);
    buf_free(&key);
    return rc;
}

static int
parse_where(const char *line, struct where *w)
{
    char hex[33];
    unsigned long long tar_off, off;
    unsigned vol;
    int n = -1;

    if (sscanf(line, "%32[0-9a-f] %u %llu %llu%n", hex, &vol, &tar_off, &off,
               &n) != 4 ||
        n < 0 || line[n] != '\0' || strlen(hex) != 32 || vol == 0 ||
        hex_decode(w->set, 16, hex, 32, "record", NULL) == -1)
        return -1;
    w->vol = vol;
    w->tar_off = tar_off;
    w->off = off;
    return 0;
}

/* Does the medium hold a record of ${len} bytes with ${sha}?  1, 0, -1. */
static int
lookup_record(struct packer *p, const uint8_t sha[32], uint64_t len,
              struct where *w, struct cm_err *err)
{
    struct state_object row = {0, 0, 0, NULL};
    struct buf key;
    int r;

    buf_init(&key, 8192);
    r = record_key(&key, (const char *)p->path.data, sha, err);
    if (r == 0)
        r = state_object_get(p->state, p->medium_id, key.data, key.len, &row,
                             err);
    if (r == 1 && (row.size != len || parse_where(row.line, w) == -1))
        r = 0;
    free(row.line);
    buf_free(&key);
    return r;
}

int
packmbox_carry(struct packer *p, struct cm_err *err)
{
    struct buf key;
    int rc;

    if (p->state == NULL)
        return 0;
    buf_init(&key, 8192);
    rc = record_key(&key, (const char *)p->path.data, NULL, err);
    if (rc == 0)
        rc = state_object_carry(p->state, p->medium_id, key.data, key.len, err);
    buf_free(&key);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reading the file                                                    */

static int
same_file(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Hashers of one file's pieces. */
struct hashers {
    EVP_MD_CTX *piece, *msg, *whole;
};

static int
hashers_new(struct hashers *h, struct cm_err *err)
{
    h->piece = EVP_MD_CTX_new();
    h->msg = EVP_MD_CTX_new();
    h->whole = EVP_MD_CTX_new();
    if (h->piece == NULL || h->msg == NULL || h->whole == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    return EVP_DigestInit_ex(h->whole, EVP_sha256(), NULL) == 1
               ? 0
               : cm_fail(err, CM_EINTERNAL, "SHA-256 failed");
}

static void
hashers_free(struct hashers *h)
{
    EVP_MD_CTX_free(h->piece);
    EVP_MD_CTX_free(h->msg);
    EVP_MD_CTX_free(h->whole);
}

/*
 * Hash [start, end) of ${fd} (and add it to the whole file's hash), and
 * check that the message ${m} in it still has its SHA-256.  0, 1 if the
 * file is not as the scan saw it, -1 on error.
 */
static int
hash_piece(struct packer *p, int fd, uint64_t start, uint64_t end,
           const struct packmbox_rec *m, struct hashers *h, uint8_t sha[32],
           struct cm_err *err)
{
    const char *path = (const char *)p->path.data;
    uint8_t msg[32];

    EVP_DigestInit_ex(h->piece, EVP_sha256(), NULL);
    EVP_DigestInit_ex(h->msg, EVP_sha256(), NULL);
    for (uint64_t pos = start; pos < end;) {
        size_t want = end - pos < PACKOBJ_READ_CHUNK ? (size_t)(end - pos)
                                                     : PACKOBJ_READ_CHUNK;
        ssize_t n = io_pread_full(fd, p->chunk, want, pos, path, err);
        if (n < 0)
            return -1;
        if ((size_t)n != want)
            return 1;
        EVP_DigestUpdate(h->piece, p->chunk, want);
        if (h->whole != NULL)
            EVP_DigestUpdate(h->whole, p->chunk, want);
        if (m != NULL && pos + want > m->off && pos < m->off + m->len) {
            uint64_t a = m->off > pos ? m->off : pos;
            uint64_t b =
                m->off + m->len < pos + want ? m->off + m->len : pos + want;
            EVP_DigestUpdate(h->msg, p->chunk + (a - pos), (size_t)(b - a));
        }
        pos += want;
    }
    EVP_DigestFinal_ex(h->piece, sha, NULL);
    EVP_DigestFinal_ex(h->msg, msg, NULL);
    return m != NULL && CRYPTO_memcmp(msg, m->sha256, 32) != 0;
}

static int
peek(void *ctx, void *buf, size_t len, uint64_t off, struct cm_err *err)
{
    int fd = *(int *)ctx;
    ssize_t n = io_pread_full(fd, buf, len, off, "mbox", err);

    if (n < 0)
        return -1;
    if ((size_t)n != len)
        return cm_fail(err, CM_EFORMAT, "past the end of the mbox");
    return 0;
}

/*
 * Run an mbox scanner over the ${size} bytes of ${fd}, from its start,
 * calling ${fn}.  0; 1 if the file does not scan as an mbox of that size;
 * -1 on error (the callback's, or CM_EIO).
 */
static int
scan(struct packer *p, int fd, uint64_t size, mbox_message_fn fn, void *ctx,
     enum mbox_variant *variant, struct cm_err *err)
{
    const char *path = (const char *)p->path.data;
    struct mbox_scanner *sc = NULL;
    struct cm_err why = CM_ERR_INIT;
    int rc = -1, pfd = fd;

    if (mbox_scanner_new(size, peek, &pfd, fn, ctx, &sc, err) == -1)
        return -1;
    for (uint64_t pos = 0; pos < size;) {
        size_t want = size - pos < PACKOBJ_READ_CHUNK ? (size_t)(size - pos)
                                                      : PACKOBJ_READ_CHUNK;
        ssize_t n = io_pread_full(fd, p->chunk, want, pos, path, err);
        if (n < 0)
            goto out;
        if ((size_t)n != want || mbox_scanner_feed(sc, p->chunk, want, &why))
            break;
        pos += want;
    }
    if (why.code == CM_OK && mbox_scanner_finish(sc, &why) == 0) {
        *variant = mbox_scanner_variant(sc);
        rc = 0;
    } else if (why.code == CM_OK || why.code == CM_EFORMAT) {
        rc = 1; /* changed under us, or not an mbox after all */
    } else {
        *err = why;
    }
out:
    mbox_scanner_free(sc);
    return rc;
}

/* ------------------------------------------------------------------ */
/* A file stored whole: its records into the listing                   */

int
packmbox_stage_whole(struct packer *p, int fd, const struct stat *before,
                     const struct packmbox_recs *rs,
                     const struct setw_place *place, struct cm_err *err)
{
    struct hashers h = {NULL, NULL, NULL};
    struct tiling t;
    uint8_t(*sha)[32] = NULL;
    struct where w;
    struct stat now;
    int rc = -1, r = 0;

    if (p->state == NULL || rs->overflow || rs->n == 0)
        return 0;
    tiling_init(&t, rs, (uint64_t)before->st_size);
    if ((sha = cm_calloc(t.n, sizeof *sha, err)) == NULL ||
        hashers_new(&h, err) == -1)
        goto out;
    EVP_MD_CTX_free(h.whole);
    h.whole = NULL;
    for (size_t k = 0; k < t.n && r == 0; k++) {
        uint64_t a, b;
        const struct packmbox_rec *m = piece(&t, k, &a, &b);
        if ((r = hash_piece(p, fd, a, b, m, &h, sha[k], err)) == -1)
            goto out;
    }
    /* Only what is sure to be what was stored goes into the listing. */
    if (r != 0 || fstat(fd, &now) == -1 || !same_file(before, &now)) {
        rc = 0;
        goto out;
    }
    memcpy(w.set, setw_set_id(p->w), 16);
    w.vol = place->vol;
    w.tar_off = place->tar_off;
    for (size_t k = 0; k < t.n; k++) {
        uint64_t a, b;
        piece(&t, k, &a, &b);
        w.off = place->data_off + a;
        if (stage_record(p, sha[k], b - a, &w, err) == -1)
            goto out;
    }
    rc = 0;
out:
    hashers_free(&h);
    free(sha);
    return rc;
}

/* ------------------------------------------------------------------ */
/* A changed file: its pieces                                          */

/* A run of pieces stored together: on the medium already, or new. */
struct seg {
    struct catalog_segment g; /* for a new one: g.off within the spool */
    uint64_t tar_off;
    uint64_t file_off; /* where it starts in the file */
    int fresh;
};

/* What a changed file is made of. */
struct plan {
    struct tiling t;
    struct seg *segs;
    size_t nsegs, cap;
    uint32_t *seg_of;         /* the segment of each piece */
    struct buf spool;         /* the new pieces, in file order */
    uint8_t (*fresh_sha)[32]; /* the new pieces' SHA-256 ... */
    size_t *fresh_piece;      /* ... and which pieces they are */
    size_t nfresh;
    uint64_t reused;    /* bytes on the medium already */
    uint8_t sha256[32]; /* of the whole file */
};

static void
plan_free(struct plan *pl)
{
    free(pl->segs);
    free(pl->seg_of);
    buf_free(&pl->spool);
    free(pl->fresh_sha);
    free(pl->fresh_piece);
}

static int
add_seg(struct plan *pl, const struct seg *s, struct cm_err *err)
{
    struct seg *last = pl->nsegs ? &pl->segs[pl->nsegs - 1] : NULL, *grown;

    if (last != NULL && last->fresh == s->fresh &&
        (s->fresh || (memcmp(last->g.set_id, s->g.set_id, 16) == 0 &&
                      last->g.vol == s->g.vol && last->tar_off == s->tar_off &&
                      last->g.off + last->g.len == s->g.off))) {
        last->g.len += s->g.len;
        return 0;
    }
    if (pl->nsegs == CATALOG_SEGMENTS_MAX)
        return 1;
    if (pl->nsegs == pl->cap) {
        size_t cap = pl->cap ? 2 * pl->cap : 16;
        if ((grown = realloc(pl->segs, cap * sizeof *grown)) == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        pl->segs = grown;
        pl->cap = cap;
    }
    pl->segs[pl->nsegs++] = *s;
    return 0;
}

/* Piece ${k}, [a, b), is new: keep its bytes (checked) and its hash. */
static int
keep_fresh(struct plan *pl, struct packer *p, int fd, size_t k, uint64_t a,
           uint64_t b, const uint8_t sha[32], struct cm_err *err)
{
    uint8_t again[32];
    size_t at = pl->spool.len;
    ssize_t n;

    if (b - a > PACKMBOX_NEW_MAX - at)
        return 1;
    if (buf_reserve(&pl->spool, (size_t)(b - a), "new records", err) == -1)
        return -1;
    n = io_pread_full(fd, pl->spool.data + at, (size_t)(b - a), a,
                      (const char *)p->path.data, err);
    if (n < 0)
        return -1;
    blockhash_sha256(pl->spool.data + at, (size_t)n, again);
    if ((uint64_t)n != b - a || memcmp(again, sha, 32) != 0)
        return 1;
    pl->spool.len += (size_t)n;
    pl->fresh_piece[pl->nfresh] = k;
    memcpy(pl->fresh_sha[pl->nfresh++], sha, 32);
    return 0;
}

/* One piece: looked up, referenced or kept.  0, 1 (store whole), -1. */
static int
plan_piece(struct plan *pl, struct packer *p, int fd, size_t k,
           struct hashers *h, struct cm_err *err)
{
    uint8_t sha[32];
    struct where w;
    struct seg s;
    uint64_t a, b;
    const struct packmbox_rec *m = piece(&pl->t, k, &a, &b);
    int r;

    if (b == a) /* an empty prefix cannot be; nothing to store anyway */
        return 1;
    if ((r = hash_piece(p, fd, a, b, m, h, sha, err)) != 0 ||
        (r = lookup_record(p, sha, b - a, &w, err)) == -1)
        return r;
    memset(&s, 0, sizeof s);
    s.file_off = a;
    s.g.len = b - a;
    if (r == 1) {
        memcpy(s.g.set_id, w.set, 16);
        s.g.vol = w.vol;
        s.g.off = w.off;
        s.tar_off = w.tar_off;
        pl->reused += b - a;
        if (stage_record(p, sha, b - a, &w, err) == -1)
            return -1;
    } else {
        s.fresh = 1;
        s.g.off = pl->spool.len;
        if ((r = keep_fresh(pl, p, fd, k, a, b, sha, err)) != 0)
            return r;
    }
    if ((r = add_seg(pl, &s, err)) != 0)
        return r;
    pl->seg_of[k] = (uint32_t)(pl->nsegs - 1);
    return 0;
}

/* Every piece; 0 if the file is to be stored in segments. */
static int
plan_pieces(struct plan *pl, struct packer *p, int fd,
            const struct stat *before, struct cm_err *err)
{
    struct hashers h = {NULL, NULL, NULL};
    struct stat now;
    int r = 0;

    buf_init(&pl->spool, PACKMBOX_NEW_MAX);
    if ((pl->seg_of = cm_calloc(pl->t.n, sizeof *pl->seg_of, err)) == NULL ||
        (pl->fresh_sha = cm_calloc(pl->t.n, sizeof *pl->fresh_sha, err)) ==
            NULL ||
        (pl->fresh_piece = cm_calloc(pl->t.n, sizeof *pl->fresh_piece, err)) ==
            NULL ||
        hashers_new(&h, err) == -1)
        r = -1;
    for (size_t k = 0; r == 0 && k < pl->t.n; k++)
        r = plan_piece(pl, p, fd, k, &h, err);
    if (r == 0)
        EVP_DigestFinal_ex(h.whole, pl->sha256, NULL);
    hashers_free(&h);
    if (r != 0)
        return r;
    if (fstat(fd, &now) == -1 || !same_file(before, &now) || pl->reused == 0)
        return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* A changed file: stored                                              */

struct pass2 {
    struct packer *p;
    const struct catalog_entry *file;
    const struct plan *pl;
    int changed; /* a message is not where the first scan saw it */
};

static int
note_message(void *ctx, const struct mbox_message *mm, struct cm_err *err)
{
    struct pass2 *c = ctx;
    const struct packmbox_recs *rs = c->pl->t.rs;
    const struct packmbox_rec *r = mm->index < rs->n ? &rs->r[mm->index] : NULL;
    const struct seg *s;
    struct catalog_entry ce;
    int rc = -1;

    if (r == NULL || r->from_off != mm->from_off || r->off != mm->off ||
        r->len != mm->len || memcmp(r->sha256, mm->sha256, 32) != 0) {
        c->changed = 1;
        return 0;
    }
    s = &c->pl->segs[c->pl->seg_of[mm->index + c->pl->t.prefix]];
    catalog_entry_init(&ce);
    if (packobj_mbox_entry(c->file, mm, &ce, err) == -1)
        goto out;
    memcpy(ce.set_id, s->g.set_id, 16);
    ce.vol = s->g.vol;
    ce.tar_off = s->tar_off;
    ce.off = s->g.off + (mm->off - s->file_off);
    rc = packobj_add_mbox_message(c->p, &ce, err);
out:
    catalog_entry_free(&ce);
    return rc;
}

/* The new pieces' segments and records now that they have a place. */
static int
place_fresh(struct plan *pl, struct packer *p, const struct setw_place *place,
            struct cm_err *err)
{
    struct where w;

    for (size_t i = 0; i < pl->nsegs; i++) {
        struct seg *s = &pl->segs[i];
        if (!s->fresh)
            continue;
        memcpy(s->g.set_id, setw_set_id(p->w), 16);
        s->g.vol = place->vol;
        s->g.off += place->data_off;
        s->tar_off = place->tar_off;
    }
    memcpy(w.set, setw_set_id(p->w), 16);
    w.vol = place->vol;
    w.tar_off = place->tar_off;
    for (size_t i = 0; i < pl->nfresh; i++) {
        uint64_t a, b;
        const struct seg *s = &pl->segs[pl->seg_of[pl->fresh_piece[i]]];
        piece(&pl->t, pl->fresh_piece[i], &a, &b);
        w.off = s->g.off + (a - s->file_off);
        if (stage_record(p, pl->fresh_sha[i], b - a, &w, err) == -1)
            return -1;
    }
    return 0;
}

/* The file's record, but for its variant (known after the last scan). */
static int
file_record(const struct walk_entry *e, const struct plan *pl,
            struct catalog_entry *ce, struct cm_err *err)
{
    ce->kind = CATALOG_FILE;
    ce->size = pl->t.size;
    ce->len = pl->spool.len;
    ce->has_sha256 = 1;
    memcpy(ce->sha256, pl->sha256, 32);
    if ((e->folder != NULL &&
         (ce->folder = cm_strdup(e->folder, err)) == NULL) ||
        (ce->segments = cm_calloc(pl->nsegs, sizeof *ce->segments, err)) ==
            NULL)
        return -1;
    for (size_t i = 0; i < pl->nsegs; i++)
        ce->segments[i] = pl->segs[i].g;
    ce->nsegments = pl->nsegs;
    return 0;
}

/* Write the new pieces, catalogue the messages and the file. */
static int
store(struct packer *p, const struct walk_entry *e, int fd,
      const struct stat *st, struct plan *pl, struct cm_err *err)
{
    struct pass2 c = {p, NULL, pl, 0};
    struct setw_place place;
    struct catalog_entry ce;
    struct tarw_entry te;
    enum mbox_variant v = MBOX_MBOXO;
    int rc = -1, r;

    catalog_entry_init(&ce);
    memset(&te, 0, sizeof te);
    te.kind = TARW_FILE;
    te.size = pl->spool.len;
    packobj_fill_common(p, &ce, &te, st);
    if (setw_object_begin(p->w, &te, &place, err) == -1 ||
        packobj_finish_entry(&ce, &te, &place, err) == -1 ||
        (pl->spool.len > 0 &&
         setw_object_data(p->w, pl->spool.data, pl->spool.len, err) == -1) ||
        setw_object_end(p->w, err) == -1 ||
        place_fresh(pl, p, &place, err) == -1 ||
        file_record(e, pl, &ce, err) == -1)
        goto out;
    c.file = &ce;
    if ((r = scan(p, fd, pl->t.size, note_message, &c, &v, err)) == -1)
        goto out;
    if (r == 1 || c.changed) {
        p->res->changed++;
        packobj_warn(p, (const char *)p->path.data,
                     "changed while being read; the messages that moved are "
                     "not catalogued one by one (the file is whole)");
    }
    if ((ce.mbox_variant = cm_strdup(mbox_variant_name(v), err)) == NULL ||
        setw_catalog_add(p->w, &ce, err) == -1 ||
        packobj_stage(p, pl->t.size, st, err) == -1)
        goto out;
    rc = 0;
out:
    catalog_entry_free(&ce);
    return rc;
}

static int
on_record(void *ctx, const struct mbox_message *mm, struct cm_err *err)
{
    return packmbox_recs_add(ctx, mm, err);
}

/* The first scan: 0, 1 if the file is to be stored whole, -1. */
static int
scan_records(struct packer *p, int fd, uint64_t size, struct packmbox_recs *rs,
             struct cm_err *err)
{
    enum mbox_variant v;
    int r = scan(p, fd, size, on_record, rs, &v, err);

    return r != 0 ? r : rs->overflow || rs->n == 0;
}

int
packmbox_changed(struct packer *p, const struct walk_entry *e,
                 const struct catalog_entry *old, struct cm_err *err)
{
    const char *path = (const char *)p->path.data;
    struct packmbox_recs rs;
    struct plan pl;
    struct stat st;
    int fd, r, rc = -1;

    memset(&rs, 0, sizeof rs);
    memset(&pl, 0, sizeof pl);
    if (p->state == NULL)
        return PACKMBOX_WHOLE;
    if ((fd = packobj_open_source(e->dirfd, e->name, path, err)) == -1) {
        cm_err_clear(err); /* the whole file's path says it again */
        return PACKMBOX_WHOLE;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        rc = PACKMBOX_WHOLE;
        goto out;
    }
    if ((r = scan_records(p, fd, (uint64_t)st.st_size, &rs, err)) == 0) {
        tiling_init(&pl.t, &rs, (uint64_t)st.st_size);
        r = plan_pieces(&pl, p, fd, &st, err);
    }
    if (r != 0) {
        rc = r == -1 ? -1 : PACKMBOX_WHOLE;
        goto out;
    }
    if (CRYPTO_memcmp(pl.sha256, old->sha256, 32) == 0) {
        rc = PACKMBOX_SAME;
        goto out;
    }
    if (store(p, e, fd, &st, &pl, err) == -1)
        goto out;
    setw_count_bytes_in(p->w, pl.spool.len);
    p->res->bytes_in += pl.spool.len;
    p->res->reused_bytes += pl.reused;
    p->res->mbox_files++;
    packobj_progress(p, (uint64_t)st.st_size);
    rc = PACKMBOX_DONE;
out:
    close(fd);
    plan_free(&pl);
    packmbox_recs_free(&rs);
    return rc;
}
