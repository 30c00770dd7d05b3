/*
 * Messages written into mbox files: the partial mboxes of a layout
 * restore, and the per-folder mboxrd files of RESTORE_MBOX.  A file's size
 * must be known when extract starts it, so every message is first read
 * (and checked) into a counting sink, then read again into the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "mbox.h"
#include "rdquote.h"
#include "restore_int.h"

/* Header bytes searched for Return-Path. */
#define ENVELOPE_SCAN_MAX 65536
#define FROM_LINE_MAX (MBOX_FROM_LINE_MAX + 8)
#define OUT_PATH_MAX 4097

/* ------------------------------------------------------------------ */
/* From_ lines                                                         */

static int
is_addr_char(char ch)
{
    return ch > ' ' && ch < 0x7f && ch != '<' && ch != '>';
}

/* The address in "<addr>" (or a bare addr-spec) of ${s}, into ${out}. */
static int
pick_address(const char *s, size_t len, char *out, size_t outlen)
{
    const char *lt = memrchr(s, '<', len), *gt;
    size_t n;

    if (lt != NULL) {
        gt = memchr(lt, '>', len - (size_t)(lt - s));
        if (gt == NULL)
            return 0;
        s = lt + 1;
        n = (size_t)(gt - s);
        if (n == 0) {
            snprintf(out, outlen, "MAILER-DAEMON");
            return 1;
        }
    } else {
        while (len > 0 && (*s == ' ' || *s == '\t'))
            s++, len--;
        while (len > 0 && strchr(" \t\r", s[len - 1]) != NULL)
            len--;
        n = len;
        if (memchr(s, '@', n) == NULL)
            return 0;
    }
    if (n == 0 || n >= outlen)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_addr_char(s[i]))
            return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

/* The Return-Path of the header at the start of ${p}. */
static int
return_path(const uint8_t *p, size_t len, char *out, size_t outlen)
{
    static const char name[] = "return-path:";
    const char *s = (const char *)p;

    if (len > ENVELOPE_SCAN_MAX)
        len = ENVELOPE_SCAN_MAX;
    while (len > 0 && s[0] != '\n' &&
           !(s[0] == '\r' && len > 1 && s[1] == '\n')) {
        const char *nl = memchr(s, '\n', len);
        size_t line = nl != NULL ? (size_t)(nl - s) : len;
        if (line > sizeof name - 1 &&
            strncasecmp(s, name, sizeof name - 1) == 0)
            return pick_address(s + sizeof name - 1, line - (sizeof name - 1),
                                out, outlen);
        if (nl == NULL)
            break;
        s = nl + 1;
        len -= line + 1;
    }
    return 0;
}

/* "From SENDER Www Mmm dd hh:mm:ss yyyy" for a Maildir or MH message. */
static void
synth_from_line(const struct catalog_entry *e, const uint8_t *p, size_t len,
                char *out, size_t outlen)
{
    char sender[256], when[64];
    time_t t = (time_t)(e->has_date ? e->date : e->mtime);
    struct tm tm;

    if (!return_path(p, len, sender, sizeof sender) &&
        (e->from == NULL ||
         !pick_address(e->from, strlen(e->from), sender, sizeof sender)))
        snprintf(sender, sizeof sender, "MAILER-DAEMON");
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm) == 0)
        snprintf(when, sizeof when, "Thu Jan  1 00:00:00 1970");
    snprintf(out, outlen, "From %s %s", sender, when);
}

/* ------------------------------------------------------------------ */
/* One message into an mbox                                            */

struct msgsink {
    cm_write_fn out;
    void *out_ctx;
    const struct catalog_entry *e;
    int quote; /* a Maildir or MH message: mboxrd quoting */
    int started;
    uint8_t last;
    uint64_t bytes_out;
    struct rdquote q;
};

static int
ms_out(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    struct msgsink *ms = ctx;

    ms->bytes_out += len;
    return ms->out(ms->out_ctx, p, len, err);
}

static int
ms_start(struct msgsink *ms, const uint8_t *p, size_t len, struct cm_err *err)
{
    char line[FROM_LINE_MAX + 2];

    if (!ms->quote && ms->e->mbox_from != NULL)
        snprintf(line, sizeof line - 1, "%s", ms->e->mbox_from);
    else
        synth_from_line(ms->e, p, len, line, sizeof line - 1);
    strcat(line, "\n");
    ms->started = 1;
    return ms_out(ms, line, strlen(line), err);
}

static int
ms_write(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    struct msgsink *ms = ctx;

    if (len == 0)
        return 0;
    if (!ms->started && ms_start(ms, p, len, err) == -1)
        return -1;
    ms->last = ((const uint8_t *)p)[len - 1];
    if (ms->quote)
        return rdquote_feed(&ms->q, p, len, err);
    return ms_out(ms, p, len, err);
}

static int
ms_finish(struct msgsink *ms, struct cm_err *err)
{
    if (!ms->started && ms_start(ms, NULL, 0, err) == -1)
        return -1;
    if (ms->quote && rdquote_finish(&ms->q, err) == -1)
        return -1;
    if (ms->e->size > 0 && ms->last != '\n' && ms_out(ms, "\n", 1, err) == -1)
        return -1;
    return ms_out(ms, "\n", 1, err);
}

static int
is_mbox_message(const struct catalog_entry *e)
{
    return e->in_mbox || (e->store != NULL && strcmp(e->store, "mbox") == 0);
}

/*
 * Write ${e} as an mbox message to ${out}; *${written} bytes went there.
 * Returns as objread_copy().
 */
static int
emit(struct rctx *c, const struct catalog_entry *e, cm_write_fn out,
     void *out_ctx, uint64_t *written, struct cm_err *err)
{
    struct msgsink ms;
    int rc;

    memset(&ms, 0, sizeof ms);
    ms.out = out;
    ms.out_ctx = out_ctx;
    ms.e = e;
    ms.quote = !is_mbox_message(e);
    rdquote_init(&ms.q, ms_out, &ms);
    rc = objread_copy(c->rd, e, ms_write, &ms, NULL, err);
    if (rc == 0 && ms_finish(&ms, err) == -1)
        rc = OBJREAD_SINK_FAILED;
    *written = ms.bytes_out;
    rdquote_free(&ms.q);
    return rc;
}

static int
discard(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    (void)ctx, (void)p, (void)len, (void)err;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Partial mboxes of a layout restore                                  */

/* What a gathered message needs, without the rest of its record. */
struct bmsg {
    uint8_t set_id[CATALOG_SET_ID_SIZE];
    uint8_t sha256[32];
    uint32_t vol;
    uint64_t off, size;
    int64_t date, mtime;
    int has_date, lost;
    char *message_id, *mbox_from, *from;
};

struct rmbox_batch {
    char *path;
    size_t path_len;
    struct extract_meta meta;
    struct bmsg *m;
    size_t n, cap;
};

int
rmbox_batch_new(struct rmbox_batch **out, struct cm_err *err)
{
    return (*out = cm_calloc(1, sizeof **out, err)) == NULL ? -1 : 0;
}

static void
batch_clear(struct rmbox_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->m[i].message_id);
        free(b->m[i].mbox_from);
        free(b->m[i].from);
    }
    b->n = 0;
    free(b->path);
    b->path = NULL;
}

void
rmbox_batch_free(struct rmbox_batch *b)
{
    if (b == NULL)
        return;
    batch_clear(b);
    free(b->m);
    free(b);
}

static int
dup_opt(const char *s, char **out, struct cm_err *err)
{
    *out = NULL;
    return s != NULL && (*out = cm_strdup(s, err)) == NULL ? -1 : 0;
}

/* A record to read ${m} with (borrowing its strings). */
static void
bmsg_entry(const struct rmbox_batch *b, const struct bmsg *m,
           struct catalog_entry *e)
{
    catalog_entry_init(e);
    e->kind = CATALOG_MESSAGE;
    e->path.p = b->path;
    e->path.len = b->path_len;
    e->size = e->len = m->size;
    e->off = m->off;
    e->vol = m->vol;
    e->has_sha256 = 1;
    memcpy(e->sha256, m->sha256, sizeof e->sha256);
    memcpy(e->set_id, m->set_id, sizeof e->set_id);
    e->in_mbox = 1;
    e->has_date = m->has_date;
    e->date = m->date;
    e->mtime = m->mtime;
    e->message_id = m->message_id;
    e->mbox_from = m->mbox_from;
    e->from = m->from;
}

static int
batch_grow(struct rmbox_batch *b, struct cm_err *err)
{
    size_t cap = b->cap ? b->cap * 2 : 64;
    struct bmsg *m = realloc(b->m, cap * sizeof *m);

    if (m == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    b->m = m;
    b->cap = cap;
    return 0;
}

int
rmbox_batch_add(struct rctx *c, const struct catalog_entry *e,
                struct cm_err *err)
{
    struct rmbox_batch *b = c->batch;
    struct bmsg *m;

    if (b->n > 0 && strcmp(b->path, e->path.p) != 0 &&
        rmbox_batch_flush(c, NULL, err) == -1)
        return -1;
    if (b->n == RESTORE_MBOX_BATCH_MAX) {
        cm_fail(err, CM_EUSAGE,
                "more than %d messages of one mbox file selected: restore "
                "the file whole (without message filters)",
                RESTORE_MBOX_BATCH_MAX);
        rs_lost(c, e, err);
        return 0;
    }
    if (b->n == 0) {
        if ((b->path = cm_strdup(e->path.p, err)) == NULL)
            return -1;
        b->path_len = e->path.len;
        rs_meta(e, &b->meta);
    }
    if (b->n == b->cap && batch_grow(b, err) == -1)
        return -1;
    m = &b->m[b->n];
    memset(m, 0, sizeof *m);
    memcpy(m->set_id, e->set_id, sizeof m->set_id);
    memcpy(m->sha256, e->sha256, sizeof m->sha256);
    m->vol = e->vol;
    m->off = e->off;
    m->size = e->size;
    m->date = e->date;
    m->mtime = e->mtime;
    m->has_date = e->has_date;
    b->n++;
    if (dup_opt(e->message_id, &m->message_id, err) == -1 ||
        dup_opt(e->mbox_from, &m->mbox_from, err) == -1 ||
        dup_opt(e->from, &m->from, err) == -1)
        return -1;
    return 0;
}

/* Read every gathered message once: how many are good, and their size. */
static size_t
batch_check(struct rctx *c, uint64_t *size, struct cm_err *err)
{
    struct rmbox_batch *b = c->batch;
    struct catalog_entry e;
    size_t good = 0;
    uint64_t w;

    *size = 0;
    for (size_t i = 0; i < b->n; i++) {
        bmsg_entry(b, &b->m[i], &e);
        if (emit(c, &e, discard, NULL, &w, err) != 0) {
            b->m[i].lost = 1;
            rs_lost(c, &e, err);
            continue;
        }
        *size += w;
        good++;
        rs_progress(c, 0, b->m[i].size);
    }
    return good;
}

static int
batch_write(struct rctx *c, struct extract_file *f, struct cm_err *err)
{
    struct rmbox_batch *b = c->batch;
    struct catalog_entry e;
    uint64_t w;

    for (size_t i = 0; i < b->n; i++) {
        int rc;
        if (b->m[i].lost)
            continue;
        bmsg_entry(b, &b->m[i], &e);
        rc = emit(c, &e, rs_write_file, f, &w, err);
        if (rc == OBJREAD_LOST)
            cm_err_prefix(err, "read well once, then not");
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* The partial mbox of the ${good} messages not lost, ${size} bytes. */
static int
batch_file(struct rctx *c, size_t good, uint64_t size, struct cm_err *err)
{
    struct rmbox_batch *b = c->batch;
    struct extract_file *f = NULL;
    int r;

    if (rs_ancestors(c, b->path, b->path_len, err) == -1 ||
        extract_file_open(c->x, b->path, size, &b->meta, &f, err) == -1)
        return -1;
    if (batch_write(c, f, err) == -1) {
        extract_file_abort(f);
        return -1;
    }
    if ((r = extract_file_commit(f, err)) == -1)
        return -1;
    rs_outcome(c, b->path, r);
    if (r == EXTRACT_CREATED) {
        c->res->mboxes++;
        c->res->messages += good;
        c->res->bytes += size;
    }
    return 0;
}

int
rmbox_batch_flush(struct rctx *c, const struct catalog_entry *file,
                  struct cm_err *err)
{
    struct rmbox_batch *b = c->batch;
    uint64_t size;
    size_t good;
    int rc = 0;

    if (b->n == 0)
        return 0;
    if (file != NULL && file->kind == CATALOG_FILE &&
        strcmp(file->path.p, b->path) == 0)
        rs_meta(file, &b->meta);
    good = batch_check(c, &size, err);
    if (good > 0 && batch_file(c, good, size, err) == -1)
        rc = rs_target_error(c, b->path, NULL, err);
    rs_progress(c, 1, 0);
    batch_clear(b);
    return rc;
}

/* ------------------------------------------------------------------ */
/* --format mbox: one file per folder                                  */

struct plan {
    char *path;
    uint64_t count, size, nwritten, written;
    int64_t mtime;
    struct extract_file *f;
    int done;
    struct plan *next;
};

/* A message that failed in the first pass after some of it was read. */
struct spoiled {
    uint8_t set_id[CATALOG_SET_ID_SIZE];
    uint32_t vol;
    uint64_t off;
};

struct plans {
    struct plan **b;
    size_t nb, n;
    struct spoiled *sp;
    size_t nsp, capsp;
};

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    while (*s != '\0')
        h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
    return h;
}

static struct plan *
plan_find(const struct plans *ps, const char *path)
{
    struct plan *p;

    if (ps->nb == 0)
        return NULL;
    for (p = ps->b[hash_str(path) % ps->nb]; p != NULL; p = p->next)
        if (strcmp(p->path, path) == 0)
            return p;
    return NULL;
}

static int
plans_grow(struct plans *ps, struct cm_err *err)
{
    size_t nb = ps->nb ? ps->nb * 2 : 64;
    struct plan **b = cm_calloc(nb, sizeof *b, err);

    if (b == NULL)
        return -1;
    for (size_t i = 0; i < ps->nb; i++) {
        struct plan *p = ps->b[i], *next;
        for (; p != NULL; p = next) {
            size_t k = hash_str(p->path) % nb;
            next = p->next;
            p->next = b[k];
            b[k] = p;
        }
    }
    free(ps->b);
    ps->b = b;
    ps->nb = nb;
    return 0;
}

static int
plan_add(struct plans *ps, const char *path, uint64_t size, int64_t mtime,
         struct cm_err *err)
{
    struct plan *p = plan_find(ps, path);
    size_t k;

    if (p == NULL) {
        if (ps->n >= ps->nb && plans_grow(ps, err) == -1)
            return -1;
        if ((p = cm_calloc(1, sizeof *p, err)) == NULL)
            return -1;
        if ((p->path = cm_strdup(path, err)) == NULL) {
            free(p);
            return -1;
        }
        p->mtime = mtime;
        k = hash_str(path) % ps->nb;
        p->next = ps->b[k];
        ps->b[k] = p;
        ps->n++;
    }
    p->count++;
    p->size += size;
    if (mtime > p->mtime)
        p->mtime = mtime;
    return 0;
}

static int
cmp_spoiled(const void *a, const void *b)
{
    const struct spoiled *x = a, *y = b;
    int c = memcmp(x->set_id, y->set_id, sizeof x->set_id);

    if (c != 0)
        return c;
    if (x->vol != y->vol)
        return x->vol < y->vol ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

static void
spoiled_key(const struct catalog_entry *e, struct spoiled *k)
{
    memset(k, 0, sizeof *k);
    memcpy(k->set_id, e->set_id, sizeof k->set_id);
    k->vol = e->vol;
    k->off = e->off;
}

static int
spoiled_add(struct plans *ps, const struct catalog_entry *e, struct cm_err *err)
{
    if (ps->nsp == ps->capsp) {
        size_t cap = ps->capsp ? ps->capsp * 2 : 16;
        struct spoiled *sp = realloc(ps->sp, cap * sizeof *sp);
        if (sp == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        ps->sp = sp;
        ps->capsp = cap;
    }
    spoiled_key(e, &ps->sp[ps->nsp++]);
    return 0;
}

static int
spoiled_has(const struct plans *ps, const struct catalog_entry *e)
{
    struct spoiled k;

    if (ps->nsp == 0)
        return 0;
    spoiled_key(e, &k);
    return bsearch(&k, ps->sp, ps->nsp, sizeof k, cmp_spoiled) != NULL;
}

static void
plans_free(struct plans *ps)
{
    free(ps->sp);
    for (size_t i = 0; i < ps->nb; i++) {
        struct plan *p = ps->b[i], *next;
        for (; p != NULL; p = next) {
            next = p->next;
            extract_file_abort(p->f);
            free(p->path);
            free(p);
        }
    }
    free(ps->b);
}

/* Where ${e} goes: see restore.h. */
static int
out_path(const struct catalog_entry *e, char out[OUT_PATH_MAX],
         struct cm_err *err)
{
    const char *slash = strrchr(e->path.p, '/');
    int n = -1;

    if (is_mbox_message(e))
        n = snprintf(out, OUT_PATH_MAX, "%s", e->path.p);
    else if (e->mailbox != NULL && e->folder != NULL)
        n = snprintf(out, OUT_PATH_MAX, "%s/%s.mbox", e->mailbox, e->folder);
    else if (slash != NULL)
        n = snprintf(out, OUT_PATH_MAX, "%.*s.mbox", (int)(slash - e->path.p),
                     e->path.p);
    if (n < 0 || n >= OUT_PATH_MAX)
        return cm_fail(err, CM_EFORMAT, "no mbox file name for it");
    return 0;
}

static int
plan_message(struct rctx *c, struct plans *ps, const struct catalog_entry *e,
             struct cm_err *err)
{
    char path[OUT_PATH_MAX];
    uint64_t w;

    if (out_path(e, path, err) == -1)
        return rs_target_error(c, e->path.p, e->message_id, err);
    if (emit(c, e, discard, NULL, &w, err) != 0) {
        rs_lost(c, e, err);
        return w > 0 ? spoiled_add(ps, e, err) : 0;
    }
    return plan_add(ps, path, w, e->mtime, err);
}

static int
plan_close(struct rctx *c, struct plan *p, struct cm_err *err)
{
    int r;

    p->done = 1;
    r = extract_file_commit(p->f, err);
    p->f = NULL;
    if (r == -1)
        return rs_target_error(c, p->path, NULL, err);
    rs_outcome(c, p->path, r);
    if (r == EXTRACT_CREATED) {
        c->res->mboxes++;
        c->res->messages += p->nwritten;
        c->res->bytes += p->size;
    }
    return 0;
}

static int
plan_fail(struct rctx *c, struct plan *p, struct cm_err *err)
{
    extract_file_abort(p->f);
    p->f = NULL;
    p->done = 1;
    return rs_target_error(c, p->path, NULL, err);
}

static int
write_message(struct rctx *c, struct plans *ps, const struct catalog_entry *e,
              struct cm_err *err)
{
    struct extract_meta m = {0600, 0, 0, 0, 0};
    char path[OUT_PATH_MAX];
    struct plan *p;
    uint64_t w = 0;
    int rc;

    if (out_path(e, path, err) == -1) {
        cm_err_clear(err);
        return 0;
    }
    if ((p = plan_find(ps, path)) == NULL || p->done || spoiled_has(ps, e))
        return 0;
    m.mtime = p->mtime;
    if (p->f == NULL &&
        extract_file_open(c->x, path, p->size, &m, &p->f, err) == -1) {
        p->done = 1;
        return rs_target_error(c, path, NULL, err);
    }
    rc = emit(c, e, rs_write_file, p->f, &w, err);
    p->written += w;
    rs_progress(c, 1, e->size);
    if (rc != 0 && rc != OBJREAD_SINK_FAILED && w == 0) {
        cm_err_clear(err); /* lost the first time too, and told then */
        return 0;
    }
    if (rc != 0)
        return plan_fail(c, p, err);
    if (++p->nwritten == p->count)
        return plan_close(c, p, err);
    return 0;
}

static int
mbox_pass(struct rctx *c, struct plans *ps, int writing, struct cm_err *err)
{
    struct catalog_reader *r = NULL;
    struct catalog_entry e;
    int got = -1, rc = -1;

    catalog_entry_init(&e);
    if (rs_catalog_open(c, &r, err) == -1)
        goto out;
    while ((got = catalog_reader_next(r, &e, err)) == 1) {
        if (rs_check_stop(c, err) == -1)
            goto out;
        if (e.kind != CATALOG_MESSAGE ||
            (c->o->filter != NULL && !filter_match(c->o->filter, &e)))
            continue;
        if ((writing ? write_message(c, ps, &e, err)
                     : plan_message(c, ps, &e, err)) == -1)
            goto out;
    }
    rc = got == 0 ? 0 : -1;
out:
    if (rc == -1 && got == -1 && err->code != CM_EINTERNAL &&
        err->code != CM_EINTR)
        cm_err_prefix(err, "--format mbox needs a readable catalog");
    catalog_entry_free(&e);
    catalog_reader_free(r);
    return rc;
}

int
rmbox_run(struct rctx *c, struct cm_err *err)
{
    struct plans ps;
    int rc = -1;

    memset(&ps, 0, sizeof ps);
    if (mbox_pass(c, &ps, 0, err) == -1)
        goto out;
    if (ps.nsp > 1)
        qsort(ps.sp, ps.nsp, sizeof *ps.sp, cmp_spoiled);
    if (mbox_pass(c, &ps, 1, err) == -1)
        goto out;
    for (size_t i = 0; i < ps.nb; i++)
        for (struct plan *p = ps.b[i]; p != NULL; p = p->next)
            if (p->f != NULL) {
                cm_fail(err, CM_EIO,
                        "fewer messages than the first pass "
                        "found");
                if (plan_fail(c, p, err) == -1)
                    goto out;
            }
    rc = 0;
out:
    plans_free(&ps);
    return rc;
}
