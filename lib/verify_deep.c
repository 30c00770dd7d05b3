/*
 * verify --deep: every volume decrypted and decompressed in order, its tar
 * entries walked in step with the catalog.  Both are in the same order
 * (per volume, by offset; an mbox file's message records just before the
 * file's own record), so a merge walk needs one record and one entry at a
 * time, whatever the catalog's size.
 *
 * When the sequential stream fails (a damaged block, a chunk that does not
 * authenticate, a bad frame), the rest of that volume is checked by random
 * access, record by record: each object's content range is read through
 * the frames that hold it, so exactly the objects whose bytes are in
 * damaged frames are lost, and the stretches between catalogued entries
 * are walked to find entries the catalog does not list.
 */
#include "verify_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "catalog.h"
#include "tarr.h"

#define DEEP_BUF (1u << 20)
#define DEEP_LOST_MAX 65536 /* damaged frames remembered per volume */
#define DEEP_OTHERS_MAX 64  /* other holder sets counted by name */
#define DEEP_PEERS_OPEN 4   /* other sets given kept open at once */
#define TAR_BLOCK 512

struct range {
    uint64_t a, b; /* [a, b) of a volume's tar stream */
};

/* Records held by a set not among those given. */
struct other {
    uint8_t id[MANIFEST_SET_ID_SIZE];
    uint64_t n;
};

struct deep {
    struct setr *s;
    struct verify_set *vs;
    const struct verify_opts *o;
    const struct verify_peers *peers;
    const uint8_t *set_id;

    /* The catalog, one record at a time. */
    struct catalog_reader *cat;
    struct catalog_entry rec;
    int have_rec;               /* rec read, not yet dealt with */
    int cat_end;                /* no more records */
    int cat_failed;             /* ... because the catalog could not be read */
    uint64_t lineno;            /* rec's line in the catalog */
    uint64_t objects, messages; /* records counted as MANIFEST counts */

    /* The volume being walked. */
    uint32_t vol;
    char volname[32];
    cm_read_fn read;
    void *rctx;
    struct tarr *tar;
    struct tarr_entry ent;
    int have_ent;   /* ent is the entry under the stream's head */
    int tar_end;    /* the archive's end was read */
    int seq_failed; /* the sequential stream broke: random access now */
    struct cm_err seq_err;
    uint64_t next_off; /* where the entry after the last one seen starts */
    struct range *lost;
    size_t nlost;

    /* Other sets given, for records they hold (d->peer the last used). */
    struct setr *peer;
    struct setr *open[DEEP_PEERS_OPEN];
    size_t open_index[DEEP_PEERS_OPEN];
    uint64_t open_used[DEEP_PEERS_OPEN], clock;
    struct other others[DEEP_OTHERS_MAX];
    size_t nothers;
    uint64_t others_more;

    EVP_MD_CTX *h1, *h2, *h3;
    uint8_t *buf;
};

/* BAD: noted; LOST: noted, its bytes are in damaged data; BROKEN: could
 * not be read (not noted yet); UNCHECKED: some of its bytes are held by a
 * set not given (counted, not noted). */
enum outcome { GOOD, BAD, LOST, BROKEN, FATAL, UNCHECKED };

/* Hand an error that ends the check (out of memory) to the caller. */
static int
pass_on(struct cm_err *err, const struct cm_err *why)
{
    *err = *why;
    return -1;
}

static uint64_t
round_block(uint64_t n)
{
    return (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

/* ------------------------------------------------------------------ */
/* Findings about objects                                              */

/* "PATH (message 3) <id>", printable. */
static char *
object_name(const struct catalog_entry *r, struct cm_err *err)
{
    char *path = verify_printable(r->path.p, r->path.len, err), *out;
    char *id = r->message_id
                   ? verify_printable(r->message_id, strlen(r->message_id), err)
                   : NULL;
    size_t n;

    if (path == NULL || (r->message_id && id == NULL)) {
        free(path);
        free(id);
        return NULL;
    }
    n = strlen(path) + (id ? strlen(id) : 0) + 48;
    if ((out = cm_malloc(n, err)) != NULL) {
        int k = snprintf(out, n, "%s", path);
        if (r->in_mbox)
            k += snprintf(out + k, n - (size_t)k, " (message %" PRIu64 ")",
                          r->mbox_index);
        if (id != NULL)
            snprintf(out + k, n - (size_t)k, " %s", id);
    }
    free(path);
    free(id);
    return out;
}

static int
object_finding(struct deep *d, const struct catalog_entry *r,
               enum verify_problem p, const char *holder, const char *what,
               struct cm_err *err)
{
    struct verify_finding proto;
    char *name = object_name(r, err);
    int rc;

    if (name == NULL)
        return -1;
    memset(&proto, 0, sizeof proto);
    proto.what = VERIFY_OBJECT;
    proto.code = CM_DAMAGED;
    proto.problem = p;
    proto.vol = r->vol;
    proto.off = r->off;
    proto.len = r->len;
    proto.path = verify_printable(r->path.p, r->path.len, err);
    proto.message_id = r->message_id;
    rc = proto.path == NULL ? -1
                            : verify_add(d->vs, &proto, err, "%s: %s%s%s", name,
                                         holder ? "held by set " : "",
                                         holder ? holder : "", what);
    free(proto.path);
    free(name);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Random access                                                       */

/* Opening a FIFO would wait forever: only regular files are read. */
static int
is_regular(struct setr *s, const char *name)
{
    char path[8400], dir[4200];
    const char *where = setr_file_dir(s, name, dir, sizeof dir, NULL);
    struct stat st;

    if (where == NULL) /* on a part of the set not given */
        return 0;
    snprintf(path, sizeof path, "%s/%s", where, name);
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Is [a, b) of the current volume in a frame known to be damaged? */
static const struct range *
lost_overlap(const struct deep *d, uint64_t a, uint64_t b)
{
    for (size_t i = 0; i < d->nlost; i++)
        if (d->lost[i].a < b && a < d->lost[i].b)
            return &d->lost[i];
    return NULL;
}

static int
note_lost(struct deep *d, uint64_t a, uint64_t b, struct cm_err *err)
{
    struct range *grown;

    if (lost_overlap(d, a, b) != NULL || d->nlost >= DEEP_LOST_MAX)
        return 0;
    grown = realloc(d->lost, (d->nlost + 1) * sizeof *grown);
    if (grown == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    d->lost = grown;
    d->lost[d->nlost].a = a;
    d->lost[d->nlost].b = b;
    d->nlost++;
    return 0;
}

/*
 * [off, off + len) of ${vol} of ${s} could not be read: find the frames in
 * it that cannot be (for this set's current volume, remembered).
 */
static int
find_lost(struct deep *d, struct setr *s, uint32_t vol, uint64_t off,
          uint64_t len, struct cm_err *err)
{
    uint64_t pos = off, start, end;
    uint8_t probe;

    if (s != d->s || vol != d->vol)
        return 0;
    while (pos < off + len || (len == 0 && pos == off)) {
        struct cm_err ferr = CM_ERR_INIT;
        /* No frame index at all: the whole volume is out of reach. */
        if (setr_volume_frame(s, vol, pos, &start, &end, &ferr) == -1)
            return ferr.code == CM_EINTERNAL ? pass_on(err, &ferr)
                                             : note_lost(d, 0, UINT64_MAX, err);
        if (setr_volume_pread(s, vol, &probe, 1, start, &ferr) == -1 &&
            (ferr.code == CM_EINTERNAL || note_lost(d, start, end, err) == -1))
            return ferr.code == CM_EINTERNAL ? pass_on(err, &ferr) : -1;
        if (end <= pos)
            break;
        pos = end;
    }
    return 0;
}

/*
 * Add [off, off + len) of volume ${vol} of ${s} to ${h}.  GOOD, or BROKEN
 * with ${why} (damaged), or FATAL.
 */
static enum outcome
hash_range(struct deep *d, struct setr *s, uint32_t vol, uint64_t off,
           uint64_t len, EVP_MD_CTX *h, struct cm_err *why, struct cm_err *err)
{
    const struct range *l =
        s == d->s && vol == d->vol ? lost_overlap(d, off, off + len) : NULL;

    if (l != NULL) {
        cm_fail(why, CM_EAUTH,
                "tar bytes %" PRIu64 "-%" PRIu64 " are in damaged data", l->a,
                l->b - 1);
        return BROKEN;
    }
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done < DEEP_BUF ? (size_t)(len - done) : DEEP_BUF;
        if (setr_volume_pread(s, vol, d->buf, n, off + done, why) == -1) {
            if (why->code == CM_EINTERNAL) {
                pass_on(err, why);
                return FATAL;
            }
            return find_lost(d, s, vol, off, len, err) == -1 ? FATAL : BROKEN;
        }
        EVP_DigestUpdate(h, d->buf, n);
        if (d->o->progress != NULL)
            progress_add(d->o->progress, 0, n);
        done += n;
    }
    return GOOD;
}

static int peer_open(struct deep *d, size_t i, struct cm_err *err);
static void count_other(struct deep *d, const uint8_t id[MANIFEST_SET_ID_SIZE]);

/*
 * The set holding segment ${g}: this set, or one given (*${s}); 0 if that
 * set was not given, -1 if it does not open (${why}) or on error.
 */
static int
segment_set(struct deep *d, const struct catalog_segment *g, struct setr **s,
            struct cm_err *why, struct cm_err *err)
{
    if (memcmp(g->set_id, d->set_id, MANIFEST_SET_ID_SIZE) == 0) {
        *s = d->s;
        return 1;
    }
    for (size_t i = 0; i < d->peers->n; i++) {
        if (memcmp(d->peers->list[i].set_id, g->set_id, MANIFEST_SET_ID_SIZE) !=
            0)
            continue;
        if (peer_open(d, i, why) == -1)
            return why->code == CM_EINTERNAL ? pass_on(err, why) : -1;
        *s = d->peer;
        return 1;
    }
    return 0;
}

/*
 * A file stored in segments: read them all, from whichever sets hold them,
 * and check the whole.  UNCHECKED if a holder was not given.
 */
static enum outcome
content_segments(struct deep *d, const struct catalog_entry *r,
                 const char *holder, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    uint8_t digest[32];
    char what[CM_ERR_MSG_MAX + 64], hex[33];
    struct setr *s = NULL;
    enum outcome o;
    int k;

    for (size_t i = 0; i < r->nsegments; i++)
        if (segment_set(d, &r->segments[i], &s, &why, err) == 0) {
            count_other(d, r->segments[i].set_id);
            return UNCHECKED;
        }
    EVP_DigestInit_ex(d->h3, EVP_sha256(), NULL);
    for (size_t i = 0; i < r->nsegments; i++) {
        const struct catalog_segment *g = &r->segments[i];
        if ((k = segment_set(d, g, &s, &why, err)) == -1 &&
            why.code == CM_EINTERNAL)
            return FATAL;
        o = k == 1 ? hash_range(d, s, g->vol, g->off, g->len, d->h3, &why, err)
                   : BROKEN;
        if (o == FATAL)
            return FATAL;
        if (o == BROKEN) {
            manifest_set_id_hex(g->set_id, hex);
            snprintf(what, sizeof what,
                     "lost: segment %zu (set %.8s, vol %" PRIu32
                     ", tar bytes %" PRIu64 "+%" PRIu64 "): %s",
                     i + 1, hex, g->vol, g->off, g->len, why.msg);
            return object_finding(d, r, VERIFY_P_LOST, holder, what, err) == -1
                       ? FATAL
                       : LOST;
        }
    }
    EVP_DigestFinal_ex(d->h3, digest, NULL);
    if (CRYPTO_memcmp(digest, r->sha256, 32) == 0)
        return GOOD;
    return object_finding(d, r, VERIFY_P_CONTENT, holder,
                          "its segments put together do not match its "
                          "catalog SHA-256",
                          err) == -1
               ? FATAL
               : BAD;
}

/* Check a record's content by random access. */
static enum outcome
content_random(struct deep *d, struct setr *s, const struct catalog_entry *r,
               const char *holder, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    uint8_t digest[32];
    enum outcome o;
    char what[160], name[32];

    if (!r->has_sha256)
        return GOOD;
    if (r->nsegments > 0)
        return content_segments(d, r, holder, err);
    EVP_DigestInit_ex(d->h1, EVP_sha256(), NULL);
    o = hash_range(d, s, r->vol, r->off, r->len, d->h1, &why, err);
    if (o == FATAL)
        return FATAL;
    if (o == BROKEN) {
        snprintf(what, sizeof what,
                 "lost: in damaged data (%s, tar bytes %" PRIu64 "-%" PRIu64
                 ")",
                 setr_volume_name(r->vol, name), r->off,
                 r->off + r->len - (r->len > 0));
        return object_finding(d, r, VERIFY_P_LOST, holder, what, err) == -1
                   ? FATAL
                   : LOST;
    }
    EVP_DigestFinal_ex(d->h1, digest, NULL);
    if (CRYPTO_memcmp(digest, r->sha256, 32) == 0)
        return GOOD;
    return object_finding(d, r, VERIFY_P_CONTENT, holder,
                          "content does not match its catalog SHA-256",
                          err) == -1
               ? FATAL
               : BAD;
}

/* A cm_read_fn over a stretch of a volume, by random access. */
struct span {
    struct setr *s;
    uint32_t vol;
    uint64_t pos, end;
    size_t piece; /* most bytes handed out per call */
};

static long
span_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct span *sp = ctx;
    size_t n = len < sp->piece ? len : sp->piece;

    if (sp->pos >= sp->end)
        return 0;
    if (n > sp->end - sp->pos)
        n = (size_t)(sp->end - sp->pos);
    if (setr_volume_pread(sp->s, sp->vol, p, n, sp->pos, err) == -1)
        return -1;
    sp->pos += n;
    return (long)n;
}

static int
span_tar(struct setr *s, uint32_t vol, uint64_t from, size_t piece,
         struct span *sp, struct tarr **out, struct cm_err *err)
{
    struct tarr_opts to;
    char name[32];
    uint64_t size;

    if (setr_volume_size(s, vol, &size, err) == -1)
        return -1;
    sp->s = s;
    sp->vol = vol;
    sp->pos = from;
    sp->end = size;
    sp->piece = piece;
    memset(&to, 0, sizeof to);
    to.name = setr_volume_name(vol, name);
    return tarr_new(&to, span_read, sp, out, err);
}

/* ------------------------------------------------------------------ */
/* Comparing a tar entry with a record                                 */

static int
same_bytes(const struct catalog_bytes *b, const char *p, size_t len)
{
    return p != NULL && b->len == len && memcmp(b->p, p, len) == 0;
}

static int
kind_matches(enum catalog_kind k, enum tarr_type t)
{
    switch (k) {
    case CATALOG_DIR:
        return t == TARR_DIR;
    case CATALOG_FILE:
    case CATALOG_MESSAGE:
        return t == TARR_FILE;
    case CATALOG_SYMLINK:
        return t == TARR_SYMLINK;
    }
    return 0;
}

/*
 * What differs between ${r} and ${e} (whose offsets are absolute).  A
 * record ${held} by another set may have moved, been renamed, or changed
 * mode or owner since that set was made: only where its bytes are counts.
 */
static void
differences(const struct catalog_entry *r, const struct tarr_entry *e, int held,
            char *out, size_t outlen)
{
    uint64_t stored = r->nsegments > 0 ? r->len : r->size;
    size_t n = 0;

#define DIFF(cond, ...)                                                        \
    if ((cond) && n < outlen)                                                  \
    n += (size_t)snprintf(out + n, outlen - n, __VA_ARGS__)
    out[0] = '\0';
    DIFF(!held && !same_bytes(&r->path, e->path, e->path_len), ", path");
    DIFF(!kind_matches(r->kind, e->type), ", kind (%s in the tar entry)",
         tarr_type_name(e->type));
    DIFF(!r->in_mbox && stored != e->size,
         ", size (%" PRIu64 " in the tar entry)", e->size);
    DIFF(r->in_mbox &&
             (r->off < e->data_off || r->off + r->len > e->data_off + e->size),
         ", message range outside the file");
    DIFF(!r->in_mbox && (r->off != e->data_off || r->len != e->size),
         ", content offset (%" PRIu64 " in the tar stream)", e->data_off);
    DIFF(!held && !r->in_mbox && r->mode != e->mode,
         ", mode (%04o in the tar entry)", (unsigned)e->mode);
    DIFF(!held && !r->in_mbox &&
             (r->mtime != e->mtime || r->mtime_ns != e->mtime_ns),
         ", mtime");
    DIFF(!held && !r->in_mbox && (r->uid != e->uid || r->gid != e->gid),
         ", owner");
    DIFF(r->kind == CATALOG_SYMLINK &&
             !same_bytes(&r->link, e->link, e->link_len),
         ", link target");
#undef DIFF
}

static int
compare_entry(struct deep *d, const struct catalog_entry *r,
              const struct tarr_entry *e, const char *holder,
              struct cm_err *err)
{
    char diff[512], what[600];

    differences(r, e, holder != NULL, diff, sizeof diff);
    if (diff[0] == '\0')
        return 0;
    snprintf(what, sizeof what,
             "its tar entry (vol %" PRIu32 ", offset %" PRIu64
             ") differs from the catalog: %s",
             r->vol, e->header_off, diff + 2);
    return object_finding(d, r, VERIFY_P_METADATA, holder, what, err) == -1 ? -1
                                                                            : 1;
}

/*
 * The tar header of record ${r}, read by random access: GOOD, BAD (noted:
 * missing, different, or in damaged data), FATAL.
 */
static enum outcome
header_random(struct deep *d, struct setr *s, const struct catalog_entry *r,
              const char *holder, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    struct tarr *t = NULL;
    struct tarr_entry e;
    struct span sp;
    char what[CM_ERR_MSG_MAX + 64], name[32];
    int n, c;

    if (s == d->s && r->vol == d->vol &&
        lost_overlap(d, r->tar_off, r->tar_off + TAR_BLOCK) != NULL)
        n = cm_fail(&why, CM_EAUTH, "in damaged data");
    else if (span_tar(s, r->vol, r->tar_off, TAR_BLOCK, &sp, &t, &why) == -1)
        n = -1;
    else
        n = tarr_next(t, &e, &why);
    if (n == TARR_ENTRY) {
        e.header_off += r->tar_off;
        e.data_off += r->tar_off;
        c = compare_entry(d, r, &e, holder, err);
        tarr_free(t);
        return c == -1 ? FATAL : c == 0 ? GOOD : BAD;
    }
    tarr_free(t);
    if (why.code == CM_EINTERNAL) {
        pass_on(err, &why);
        return FATAL;
    }
    if (n == -1 && (why.code == CM_EAUTH || why.code == CM_EIO)) {
        if (find_lost(d, s, r->vol, r->tar_off, TAR_BLOCK, err) == -1)
            return FATAL;
        snprintf(what, sizeof what,
                 "its tar header is in damaged data (%s, offset %" PRIu64 ")%s",
                 setr_volume_name(r->vol, name), r->tar_off,
                 r->len > 0 ? "; its content is intact" : "");
        return object_finding(d, r, VERIFY_P_METADATA, holder, what, err) == -1
                   ? FATAL
                   : BAD;
    }
    snprintf(what, sizeof what,
             "no tar entry at vol %" PRIu32 ", offset %" PRIu64
             " (catalog line %" PRIu64 "): %s",
             r->vol, r->tar_off, d->lineno, why.msg[0] ? why.msg : "end");
    return object_finding(d, r, VERIFY_P_NO_ENTRY, holder, what, err) == -1
               ? FATAL
               : BAD;
}

/*
 * A record checked by random access alone: its content, then (unless the
 * content is lost, which says it all) its tar header.
 */
static enum outcome
record_random(struct deep *d, struct setr *s, const struct catalog_entry *r,
              const char *holder, struct cm_err *err)
{
    enum outcome c, h = GOOD;
    char name[32];

    if (r->vol != 0 && !is_regular(s, setr_volume_name(r->vol, name))) {
        int content = r->has_sha256 && r->len > 0;
        if (object_finding(d, r, content ? VERIFY_P_LOST : VERIFY_P_METADATA,
                           holder,
                           content ? "lost: its volume is missing or not a "
                                     "regular file"
                                   : "its tar header cannot be read: its "
                                     "volume is missing or not a regular "
                                     "file",
                           err) == -1)
            return FATAL;
        return content ? LOST : BAD;
    }
    c = content_random(d, s, r, holder, err);
    if (c == FATAL || c == LOST)
        return c;
    if (!r->in_mbox && (h = header_random(d, s, r, holder, err)) == FATAL)
        return FATAL;
    if (h == BAD || c == BAD)
        return BAD;
    return c;
}

/* ------------------------------------------------------------------ */
/* The catalog                                                         */

static void
tally(struct deep *d, enum outcome o)
{
    if (o == GOOD)
        d->vs->deep.checked++;
    else if (o == UNCHECKED)
        d->vs->deep.elsewhere++;
    else
        d->vs->deep.bad++;
}

/* ${why}'s message without a leading "catalog.jsonl.zst.age: ". */
static const char *
catalog_why(const struct cm_err *why)
{
    static const char name[] = "catalog.jsonl.zst.age: ";

    return strncmp(why->msg, name, sizeof name - 1) == 0
               ? why->msg + sizeof name - 1
               : why->msg;
}

static int catalog_finding(struct deep *d, enum cm_code code,
                           struct cm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
catalog_finding(struct deep *d, enum cm_code code, struct cm_err *err,
                const char *fmt, ...)
{
    struct verify_finding proto;
    char text[CM_ERR_MSG_MAX + 256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    memset(&proto, 0, sizeof proto);
    proto.what = VERIFY_CATALOG;
    proto.code = code;
    proto.file = "catalog.jsonl.zst.age";
    return verify_add(d->vs, &proto, err, "%s", text);
}

static int
next_record(struct deep *d, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    int r;

    if (d->cat_end)
        return 0;
    r = catalog_reader_next(d->cat, &d->rec, &why);
    if (r == 1) {
        d->lineno++;
        d->have_rec = 1;
        d->vs->deep.lines++;
        d->objects += !d->rec.in_mbox;
        d->messages += d->rec.kind == CATALOG_MESSAGE;
        return 0;
    }
    d->cat_end = 1;
    if (r == 0)
        return 0;
    if (why.code == CM_EINTERNAL)
        return pass_on(err, &why);
    d->cat_failed = 1;
    return catalog_finding(d, CM_DAMAGED, err,
                           "catalog.jsonl.zst.age: cannot be read past line "
                           "%" PRIu64 ": %s; the records after it are not "
                           "checked",
                           d->lineno, catalog_why(&why));
}

/* Make the set given ${i} d->peer, opening it (the least used closed). */
static int
peer_open(struct deep *d, size_t i, struct cm_err *err)
{
    struct setr_opts so = {d->o->trusted, d->o->ids};
    size_t slot = 0;

    for (size_t k = 0; k < DEEP_PEERS_OPEN; k++) {
        if (d->open[k] != NULL && d->open_index[k] == i) {
            d->open_used[k] = ++d->clock;
            d->peer = d->open[k];
            return 0;
        }
        if (d->open[k] == NULL ||
            (d->open[slot] != NULL && d->open_used[k] < d->open_used[slot]))
            slot = k;
    }
    setr_close(d->open[slot]);
    d->open[slot] = d->peer = NULL;
    if (setr_open(d->peers->list[i].dir, &so, &d->open[slot], err) == -1)
        return -1;
    if (memcmp(setr_manifest(d->open[slot])->set_id, d->peers->list[i].set_id,
               MANIFEST_SET_ID_SIZE) != 0) {
        setr_close(d->open[slot]);
        d->open[slot] = NULL;
        return cm_fail(err, CM_EFORMAT, "%s is not that set",
                       d->peers->list[i].dir);
    }
    d->open_index[slot] = i;
    d->open_used[slot] = ++d->clock;
    d->peer = d->open[slot];
    return 0;
}

static void
count_other(struct deep *d, const uint8_t id[MANIFEST_SET_ID_SIZE])
{
    for (size_t i = 0; i < d->nothers; i++)
        if (memcmp(d->others[i].id, id, MANIFEST_SET_ID_SIZE) == 0) {
            d->others[i].n++;
            return;
        }
    if (d->nothers == DEEP_OTHERS_MAX) {
        d->others_more++;
        return;
    }
    memcpy(d->others[d->nothers].id, id, MANIFEST_SET_ID_SIZE);
    d->others[d->nothers++].n = 1;
}

/* A record held by another set: checked there if that set was given. */
static int
record_elsewhere(struct deep *d, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    char holder[96], hex[33];
    enum outcome o;
    size_t i;

    d->vs->deep.elsewhere++;
    for (i = 0; i < d->peers->n; i++)
        if (memcmp(d->peers->list[i].set_id, d->rec.set_id,
                   MANIFEST_SET_ID_SIZE) == 0)
            break;
    if (i == d->peers->n) {
        count_other(d, d->rec.set_id);
        return 0;
    }
    manifest_set_id_hex(d->rec.set_id, hex);
    snprintf(holder, sizeof holder, "%.8s: ", hex);
    if (peer_open(d, i, &why) == -1) {
        if (why.code == CM_EINTERNAL)
            return pass_on(err, &why);
        tally(d, BAD);
        return object_finding(d, &d->rec, VERIFY_P_LOST, holder, why.msg, err);
    }
    if ((o = record_random(d, d->peer, &d->rec, holder, err)) == FATAL)
        return -1;
    tally(d, o);
    d->vs->deep.elsewhere_checked += o == GOOD;
    return 0;
}

/*
 * The next record of this set for the current volume: 1 (in d->rec), or
 * 0 when there is none (the catalog is done, or the next record is for a
 * later volume).  Records held elsewhere, and records for an earlier
 * volume (out of order), are dealt with on the way.
 */
static int
peek_record(struct deep *d, struct cm_err *err)
{
    enum outcome o;

    for (;;) {
        if (!d->have_rec && next_record(d, err) == -1)
            return -1;
        if (!d->have_rec)
            return 0;
        if (memcmp(d->rec.set_id, d->set_id, MANIFEST_SET_ID_SIZE) != 0) {
            if (record_elsewhere(d, err) == -1)
                return -1;
        } else if (d->rec.vol >= d->vol) {
            return d->rec.vol == d->vol;
        } else {
            if ((o = record_random(d, d->s, &d->rec, NULL, err)) == FATAL)
                return -1;
            tally(d, o);
        }
        d->have_rec = 0;
    }
}

static void
consume(struct deep *d, enum outcome o)
{
    tally(d, o);
    d->have_rec = 0;
}

/* ------------------------------------------------------------------ */
/* Tar entries the catalog does not list                               */

static int
entry_finding(struct deep *d, const struct tarr_entry *e, uint64_t base,
              enum cm_code code, const char *why, struct cm_err *err)
{
    struct verify_finding proto;
    char *path;
    int rc;

    if (d->cat_failed)
        return 0;
    path = e->path ? verify_printable(e->path, e->path_len, err)
                   : cm_strdup("(no name)", err);
    if (path == NULL)
        return -1;
    memset(&proto, 0, sizeof proto);
    proto.what = VERIFY_ENTRY;
    proto.code = code;
    proto.file = d->volname;
    proto.path = path;
    proto.vol = d->vol;
    proto.off = e->data_off + base;
    proto.len = e->size;
    if (why != NULL)
        rc = verify_add(d->vs, &proto, err, "%s", why);
    else
        rc = verify_add(d->vs, &proto, err,
                        "%s: tar entry %s at offset %" PRIu64
                        " is not in the catalog",
                        d->volname, path, e->header_off + base);
    free(path);
    return rc;
}

/* Walk the entries in [from, to) by random access; all are unlisted. */
static int
gap_scan(struct deep *d, uint64_t from, uint64_t to, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    struct tarr *t = NULL;
    struct tarr_entry e;
    struct span sp;
    int n = -1, rc = 0;

    if (from >= to || lost_overlap(d, from, from + TAR_BLOCK) != NULL)
        return 0;
    if (span_tar(d->s, d->vol, from, 65536, &sp, &t, &why) == 0)
        while ((n = tarr_next(t, &e, &why)) == TARR_ENTRY ||
               n == TARR_REFUSED) {
            if (e.header_off + from >= to)
                break;
            d->vs->deep.entries++;
            rc = entry_finding(d, &e, from,
                               n == TARR_REFUSED ? CM_EFORMAT : CM_DAMAGED,
                               n == TARR_REFUSED ? why.msg : NULL, err);
            cm_err_clear(&why);
            if (rc == -1)
                break;
        }
    tarr_free(t);
    if (why.code == CM_EINTERNAL)
        return pass_on(err, &why);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The sequential walk                                                 */

static void
stream_close(struct deep *d)
{
    tarr_free(d->tar);
    setr_stream_free(d->rctx);
    d->tar = NULL;
    d->rctx = NULL;
    d->read = NULL;
}

static int
broke(struct deep *d, struct cm_err *why, struct cm_err *err)
{
    if (why->code == CM_EINTERNAL)
        return pass_on(err, why);
    d->seq_failed = 1;
    d->seq_err = *why;
    return 1;
}

static int
stream_open(struct deep *d, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    struct tarr_opts to;

    memset(&to, 0, sizeof to);
    to.name = d->volname;
    if (setr_volume_stream(d->s, d->vol, &d->read, &d->rctx, &why) == -1 ||
        tarr_new(&to, d->read, d->rctx, &d->tar, &why) == -1)
        return broke(d, &why, err) == -1 ? -1 : 0;
    return 0;
}

/* The next entry: d->have_ent, or d->tar_end, or d->seq_failed. */
static int
next_entry(struct deep *d, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    int n;

    for (;;) {
        n = tarr_next(d->tar, &d->ent, &why);
        if (n == 0) {
            d->tar_end = 1;
            return 0;
        }
        if (n == -1)
            return broke(d, &why, err) == -1 ? -1 : 0;
        d->vs->deep.entries++;
        if (n == TARR_ENTRY) {
            d->have_ent = 1;
            return 0;
        }
        if (entry_finding(d, &d->ent, 0, CM_EFORMAT, why.msg, err) == -1)
            return -1;
        if (d->ent.data_off > d->ent.header_off &&
            d->ent.size < TARR_SIZE_MAX_DEFAULT)
            d->next_off = round_block(d->ent.data_off + d->ent.size);
        cm_err_clear(&why);
    }
}

/* ${n} bytes of the entry's content into h1 (and h2): 0, 1 broke, -1. */
static int
read_content(struct deep *d, uint64_t n, int both, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;

    while (n > 0) {
        size_t want = n < DEEP_BUF ? (size_t)n : DEEP_BUF;
        long got = tarr_read(d->tar, d->buf, want, &why);
        if (got <= 0) {
            if (got == 0)
                cm_fail(&why, CM_EFORMAT,
                        "%s: the tar stream ends inside "
                        "an entry",
                        d->volname);
            return broke(d, &why, err);
        }
        EVP_DigestUpdate(d->h1, d->buf, (size_t)got);
        if (both)
            EVP_DigestUpdate(d->h2, d->buf, (size_t)got);
        if (d->o->progress != NULL)
            progress_add(d->o->progress, 0, (uint64_t)got);
        n -= (uint64_t)got;
    }
    return 0;
}

static int
content_verdict(struct deep *d, EVP_MD_CTX *h, int bad, struct cm_err *err)
{
    uint8_t digest[32];

    EVP_DigestFinal_ex(h, digest, NULL);
    if (d->rec.has_sha256 && CRYPTO_memcmp(digest, d->rec.sha256, 32) != 0) {
        if (object_finding(d, &d->rec, VERIFY_P_CONTENT, NULL,
                           "content does not match its catalog SHA-256",
                           err) == -1)
            return -1;
        bad = 1;
    }
    consume(d, bad ? BAD : GOOD);
    return 0;
}

/*
 * A file record whose tar entry was read (into h1): its content is that
 * entry's, or, stored in segments, theirs put together.
 */
static int
file_verdict(struct deep *d, int bad, struct cm_err *err)
{
    enum outcome o;

    if (d->rec.nsegments == 0)
        return content_verdict(d, d->h1, bad, err);
    if ((o = content_segments(d, &d->rec, NULL, err)) == FATAL)
        return -1;
    consume(d, bad && o != LOST ? BAD : o);
    return 0;
}

static void
entry_done(struct deep *d)
{
    d->have_ent = 0;
    d->next_off = round_block(d->ent.data_off + d->ent.size);
}

static int
match_plain(struct deep *d, struct cm_err *err)
{
    int r, c;

    EVP_DigestInit_ex(d->h1, EVP_sha256(), NULL);
    if ((r = read_content(d, d->ent.size, 0, err)) != 0)
        return r == -1 ? -1 : 0;
    if ((c = compare_entry(d, &d->rec, &d->ent, NULL, err)) == -1)
        return -1;
    entry_done(d);
    return file_verdict(d, c, err);
}

/* An mbox message record, its range inside the current entry. */
static int
match_message(struct deep *d, uint64_t *pos, struct cm_err *err)
{
    const uint64_t data = d->ent.data_off;
    enum outcome o;
    int r;

    if (d->rec.off < data + *pos || d->rec.len > d->ent.size ||
        d->rec.off - data > d->ent.size - d->rec.len) {
        if ((o = record_random(d, d->s, &d->rec, NULL, err)) == FATAL)
            return -1;
        consume(d, o);
        return 0;
    }
    if ((r = read_content(d, d->rec.off - data - *pos, 0, err)) != 0)
        return r;
    *pos = d->rec.off - data;
    EVP_DigestInit_ex(d->h2, EVP_sha256(), NULL);
    if ((r = read_content(d, d->rec.len, 1, err)) != 0)
        return r;
    *pos += d->rec.len;
    return content_verdict(d, d->h2, 0, err);
}

/* An mbox file: its message records, then its own. */
static int
match_mbox(struct deep *d, struct cm_err *err)
{
    const uint64_t hdr = d->ent.header_off;
    uint64_t pos = 0;
    int r = 1, c;

    EVP_DigestInit_ex(d->h1, EVP_sha256(), NULL);
    while (r == 1 && d->rec.tar_off == hdr && d->rec.in_mbox) {
        if ((r = match_message(d, &pos, err)) != 0)
            return r == -1 ? -1 : 0;
        r = peek_record(d, err);
    }
    if (r == -1 || (r = read_content(d, d->ent.size - pos, 0, err)) != 0)
        return r == -1 ? -1 : 0;
    entry_done(d);
    if (!d->have_rec || d->rec.vol != d->vol || d->rec.tar_off != hdr)
        return entry_finding(d, &d->ent, 0, CM_DAMAGED,
                             "the mbox file's own record is missing from "
                             "the catalog",
                             err);
    if ((c = compare_entry(d, &d->rec, &d->ent, NULL, err)) == -1)
        return -1;
    return file_verdict(d, c, err);
}

/* A record whose tar entry is not where it says. */
static int
record_unmatched(struct deep *d, struct cm_err *err)
{
    char what[160];
    enum outcome o = BAD;

    if (d->rec.tar_off < d->next_off) {
        if ((o = record_random(d, d->s, &d->rec, NULL, err)) == FATAL)
            return -1;
    } else {
        snprintf(what, sizeof what,
                 "no tar entry at vol %" PRIu32 ", offset %" PRIu64
                 " (catalog line %" PRIu64 ")",
                 d->rec.vol, d->rec.tar_off, d->lineno);
        if (object_finding(d, &d->rec, VERIFY_P_NO_ENTRY, NULL, what, err) ==
            -1)
            return -1;
    }
    consume(d, o);
    return 0;
}

/* One step of the merge: 1 go on, 0 done (or broke), -1. */
static int
step_seq(struct deep *d, struct cm_err *err)
{
    int r;

    if (!d->have_ent && !d->tar_end && next_entry(d, err) == -1)
        return -1;
    if (d->seq_failed)
        return 0;
    if ((r = peek_record(d, err)) == -1)
        return -1;
    if (!d->have_ent && !r)
        return 0;
    if (d->have_ent && (!r || d->ent.header_off < d->rec.tar_off)) {
        if (entry_finding(d, &d->ent, 0, CM_DAMAGED, NULL, err) == -1)
            return -1;
        entry_done(d);
        return 1;
    }
    if (!d->have_ent || d->rec.tar_off < d->ent.header_off)
        return record_unmatched(d, err) == -1 ? -1 : 1;
    r = d->rec.in_mbox ? match_mbox(d, err) : match_plain(d, err);
    return r == -1 ? -1 : 1;
}

/* After the archive's end: the rest of the stream must read too. */
static int
drain_stream(struct deep *d, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    long n;

    while ((n = d->read(d->rctx, d->buf, DEEP_BUF, &why)) > 0)
        ;
    return n == 0 ? 0 : broke(d, &why, err) == -1 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Random access, once the stream broke                                */

/* Without a catalog: which frames of the rest cannot be read. */
static int
probe_frames(struct deep *d, uint64_t from, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    uint64_t size, start, end;

    if (lost_overlap(d, from, UINT64_MAX) != NULL)
        return 0;
    if (setr_volume_size(d->s, d->vol, &size, &why) == -1)
        return why.code == CM_EINTERNAL ? (*err = why, -1) : 0;
    for (uint64_t pos = from; pos < size; pos = end) {
        if (setr_volume_frame(d->s, d->vol, pos, &start, &end, &why) == -1 ||
            end <= pos)
            break;
        if (find_lost(d, d->s, d->vol, start, end - start, err) == -1)
            return -1;
    }
    return 0;
}

static int
walk_random(struct deep *d, struct cm_err *err)
{
    enum outcome o;
    int r;

    while ((r = peek_record(d, err)) == 1) {
        if (!d->rec.in_mbox && d->rec.tar_off > d->next_off &&
            gap_scan(d, d->next_off, d->rec.tar_off, err) == -1)
            return -1;
        if ((o = record_random(d, d->s, &d->rec, NULL, err)) == FATAL)
            return -1;
        if (!d->rec.in_mbox && d->rec.tar_off >= d->next_off)
            d->next_off = round_block(d->rec.off + d->rec.len);
        consume(d, o);
    }
    if (r == -1)
        return -1;
    if (d->cat_failed)
        return probe_frames(d, d->next_off, err);
    return gap_scan(d, d->next_off, UINT64_MAX, err);
}

static int
by_start(const void *a, const void *b)
{
    const struct range *x = a, *y = b;

    return x->a < y->a ? -1 : x->a > y->a;
}

static int
report_regions(struct deep *d, struct cm_err *err)
{
    struct verify_finding proto;

    memset(&proto, 0, sizeof proto);
    proto.what = VERIFY_REGION;
    proto.code = CM_DAMAGED;
    proto.file = d->volname;
    proto.vol = d->vol;
    if (d->nlost > 1)
        qsort(d->lost, d->nlost, sizeof *d->lost, by_start);
    for (size_t i = 0, j; i < d->nlost; i = j) {
        proto.first_byte = d->lost[i].a;
        proto.last_byte = d->lost[i].b - 1;
        for (j = i + 1; j < d->nlost && d->lost[j].a <= proto.last_byte + 1;
             j++)
            if (d->lost[j].b - 1 > proto.last_byte)
                proto.last_byte = d->lost[j].b - 1;
        if (proto.last_byte == UINT64_MAX - 1
                ? verify_add(d->vs, &proto, err,
                             "%s: cannot be read at all from tar stream byte "
                             "%" PRIu64 " on (damaged)",
                             d->volname, proto.first_byte) == -1
                : verify_add(d->vs, &proto, err,
                             "%s: tar stream bytes %" PRIu64 "-%" PRIu64
                             " cannot be read (damaged)",
                             d->volname, proto.first_byte,
                             proto.last_byte) == -1)
            return -1;
    }
    if (d->seq_failed && d->nlost == 0)
        return verify_add(d->vs, &proto, err,
                          "%s: reading it in order failed (%s), though "
                          "every catalogued object reads",
                          d->volname, d->seq_err.msg);
    return 0;
}

static int
walk_volume(struct deep *d, uint32_t v, struct cm_err *err)
{
    int r = 0;

    d->vol = v;
    setr_volume_name(v, d->volname);
    d->have_ent = d->tar_end = d->seq_failed = 0;
    d->next_off = 0;
    d->nlost = 0;
    cm_err_clear(&d->seq_err);
    d->vs->deep.volumes++;
    if (!is_regular(d->s, d->volname)) {
        cm_fail(&d->seq_err, CM_EIO, "missing or not a regular file");
        d->seq_failed = 1;
        if (note_lost(d, 0, UINT64_MAX, err) == -1)
            return -1;
    } else if (stream_open(d, err) == -1) {
        return -1;
    }
    while (!d->seq_failed && (r = step_seq(d, err)) == 1)
        ;
    if (r == -1 || (!d->seq_failed && drain_stream(d, err) == -1) ||
        (d->seq_failed && walk_random(d, err) == -1))
        return -1;
    stream_close(d);
    return report_regions(d, err);
}

/* ------------------------------------------------------------------ */
/* The whole set                                                       */

static int
open_catalog(struct deep *d, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    const struct catalog_header *h;
    char id[33];

    d->lineno = 1;
    if (!is_regular(d->s, "catalog.jsonl.zst.age"))
        cm_fail(&why, CM_EIO, "missing or not a regular file");
    if (why.code != CM_OK || setr_catalog_open(d->s, &d->cat, &why) == -1) {
        /* A wrong identity is not damage: the run stops, exit 6. */
        if (why.code == CM_EINTERNAL || why.code == CM_ENOKEY)
            return pass_on(err, &why);
        d->cat_end = d->cat_failed = 1;
        return catalog_finding(d, CM_DAMAGED, err,
                               "catalog.jsonl.zst.age: cannot be read (line "
                               "%" PRIu64 "): %s; the volumes are read "
                               "without it",
                               d->lineno, catalog_why(&why));
    }
    h = catalog_reader_header(d->cat);
    if (memcmp(h->set_id, d->set_id, MANIFEST_SET_ID_SIZE) == 0)
        return 0;
    manifest_set_id_hex(h->set_id, id);
    return catalog_finding(d, CM_EFORMAT, err,
                           "catalog.jsonl.zst.age: line %" PRIu64
                           ": the header names another set, %s",
                           d->lineno, id);
}

/* Records left after the last volume: they name no volume of the set. */
static int
drain_records(struct deep *d, struct cm_err *err)
{
    enum outcome o;
    int r;

    d->vol = UINT32_MAX;
    setr_volume_name(d->vol, d->volname);
    while ((r = peek_record(d, err)) == 1) {
        if ((o = record_random(d, d->s, &d->rec, NULL, err)) == FATAL)
            return -1;
        consume(d, o);
    }
    return r;
}

static int
finish_catalog(struct deep *d, struct cm_err *err)
{
    const struct manifest *m = setr_manifest(d->s);
    struct verify_finding proto;
    char hex[33];

    memset(&proto, 0, sizeof proto);
    proto.what = VERIFY_SKIPPED;
    proto.code = CM_OK;
    for (size_t i = 0; i < d->nothers; i++) {
        manifest_set_id_hex(d->others[i].id, hex);
        if (verify_add(d->vs, &proto, err,
                       "%" PRIu64 " catalog records held by set %s, not "
                       "checked (that set was not given)",
                       d->others[i].n, hex) == -1)
            return -1;
    }
    if (d->others_more > 0 &&
        verify_add(d->vs, &proto, err,
                   "%" PRIu64 " more catalog records held by other sets, "
                   "not checked",
                   d->others_more) == -1)
        return -1;
    if (d->cat_failed || strcmp(m->kind, "full") != 0 ||
        (d->objects == m->objects && d->messages == m->messages))
        return 0;
    proto.what = VERIFY_CATALOG;
    proto.code = CM_EFORMAT;
    proto.file = "catalog.jsonl.zst.age";
    return verify_add(d->vs, &proto, err,
                      "catalog.jsonl.zst.age: lists %" PRIu64
                      " objects and %" PRIu64
                      " messages, MANIFEST says %" PRIu64 " and %" PRIu64,
                      d->objects, d->messages, m->objects, m->messages);
}

static int
deep_run(struct deep *d, struct cm_err *err)
{
    const struct manifest *m = setr_manifest(d->s);
    char name[32];

    if ((d->buf = cm_malloc(DEEP_BUF, err)) == NULL)
        return -1;
    if ((d->h1 = EVP_MD_CTX_new()) == NULL ||
        (d->h2 = EVP_MD_CTX_new()) == NULL ||
        (d->h3 = EVP_MD_CTX_new()) == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    if (open_catalog(d, err) == -1)
        return -1;
    for (uint64_t v = 1; v <= m->volumes && v <= m->nfiles; v++)
        if (manifest_find_file(m, setr_volume_name((uint32_t)v, name)) &&
            walk_volume(d, (uint32_t)v, err) == -1)
            return -1;
    if (drain_records(d, err) == -1)
        return -1;
    return finish_catalog(d, err);
}

int
verify_deep_set(struct setr *s, struct verify_set *vs,
                const struct verify_opts *o, const struct verify_peers *peers,
                struct cm_err *err)
{
    struct deep d;
    int rc;

    memset(&d, 0, sizeof d);
    d.s = s;
    d.vs = vs;
    d.o = o;
    d.peers = peers;
    d.set_id = setr_manifest(s)->set_id;
    catalog_entry_init(&d.rec);
    vs->deep.done = 1;
    rc = deep_run(&d, err);
    stream_close(&d);
    catalog_reader_free(d.cat);
    catalog_entry_free(&d.rec);
    for (size_t k = 0; k < DEEP_PEERS_OPEN; k++)
        setr_close(d.open[k]);
    free(d.lost);
    EVP_MD_CTX_free(d.h1);
    EVP_MD_CTX_free(d.h2);
    EVP_MD_CTX_free(d.h3);
    free(d.buf);
    return rc;
}
