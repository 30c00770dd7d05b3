#include "chain.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct chain {
    struct chain_row *rows;
    size_t nrows, cap;
    struct chain_finding *findings;
    size_t nfindings, fcap;
    size_t problems;
    int checked;
};

int
chain_new(struct chain **out, struct cm_err *err)
{
    struct chain *c = cm_calloc(1, sizeof *c, err);

    if (c == NULL)
        return -1;
    *out = c;
    return 0;
}

static void
set_free(struct chain_set *s)
{
    free((void *)s->name);
    free((void *)s->where);
    free((void *)s->medium);
    free((void *)s->host);
    free((void *)s->chain_break);
}

static int
set_copy(struct chain_set *to, const struct chain_set *from, struct cm_err *err)
{
    *to = *from;
    to->name = to->where = to->medium = to->host = to->chain_break = NULL;
    to->key_id[sizeof to->key_id - 1] = '\0';
    to->medium_id[sizeof to->medium_id - 1] = '\0';
    to->previous_medium[sizeof to->previous_medium - 1] = '\0';
    if ((to->name = cm_strdup(from->name, err)) == NULL ||
        (to->where = cm_strdup(from->where ? from->where : "", err)) == NULL ||
        (to->medium = cm_strdup(from->medium ? from->medium : "-", err)) ==
            NULL ||
        (to->host = cm_strdup(from->host, err)) == NULL ||
        (from->chain_break != NULL &&
         (to->chain_break = cm_strdup(from->chain_break, err)) == NULL)) {
        set_free(to);
        return -1;
    }
    return 0;
}

int
chain_add(struct chain *c, const struct chain_set *s, struct cm_err *err)
{
    if (c->checked)
        return cm_fail(err, CM_EUSAGE, "chain_add after chain_check");
    if (c->nrows >= CHAIN_SETS_MAX)
        return cm_fail(err, CM_EUSAGE, "more than %d sets to check",
                       CHAIN_SETS_MAX);
    if (c->nrows == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct chain_row *rows = realloc(c->rows, cap * sizeof *rows);
        if (rows == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        c->rows = rows;
        c->cap = cap;
    }
    memset(&c->rows[c->nrows], 0, sizeof c->rows[c->nrows]);
    if (set_copy(&c->rows[c->nrows].set, s, err) == -1)
        return -1;
    c->rows[c->nrows].link = CHAIN_LINK_UNKNOWN;
    c->nrows++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Findings                                                            */

static int add_finding(struct chain *c, enum chain_kind kind, int problem,
                       const struct chain_row *r, const struct chain_row *other,
                       uint64_t seq_last, struct cm_err *err, const char *fmt,
                       ...) __attribute__((format(printf, 8, 9)));

static int
add_finding(struct chain *c, enum chain_kind kind, int problem,
            const struct chain_row *r, const struct chain_row *other,
            uint64_t seq_last, struct cm_err *err, const char *fmt, ...)
{
    struct chain_finding *f;
    char text[1024];
    va_list ap;
    int n;

    if (c->nfindings == c->fcap) {
        size_t cap = c->fcap ? 2 * c->fcap : 8;
        f = realloc(c->findings, cap * sizeof *f);
        if (f == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        c->findings = f;
        c->fcap = cap;
    }
    n = snprintf(text, sizeof text, "host %s: ", r->set.host);
    va_start(ap, fmt);
    vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
    va_end(ap);
    f = &c->findings[c->nfindings];
    memset(f, 0, sizeof *f);
    if ((f->text = cm_strdup(text, err)) == NULL)
        return -1;
    f->kind = kind;
    f->problem = problem;
    f->host = r->set.host;
    f->sequence = r->set.sequence;
    f->sequence_last = seq_last ? seq_last : r->set.sequence;
    f->set = r->set.name;
    f->other = other != NULL ? other->set.name : NULL;
    c->nfindings++;
    c->problems += problem != 0;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Ordering                                                            */

static int
cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static int
cmp_tail(const struct chain_row *a, const struct chain_row *b)
{
    int d;

    if ((d = memcmp(a->set.manifest_sha256, b->set.manifest_sha256, 32)))
        return d;
    if ((d = (a->link == CHAIN_LINK_DUPLICATE) -
             (b->link == CHAIN_LINK_DUPLICATE)))
        return d;
    if ((d = strcmp(a->set.name, b->set.name)))
        return d;
    return strcmp(a->set.where, b->set.where);
}

/* host, MANIFEST hash, name, where: identical MANIFESTs side by side. */
static int
by_hash(const void *pa, const void *pb)
{
    const struct chain_row *a = pa, *b = pb;
    int d;

    if ((d = strcmp(a->set.host, b->set.host)))
        return d;
    return cmp_tail(a, b);
}

/* host, creation time, sequence: the order the host made them in. */
static int
by_time(const void *pa, const void *pb)
{
    const struct chain_row *a = pa, *b = pb;
    int d;

    if ((d = strcmp(a->set.host, b->set.host)))
        return d;
    if ((d = a->set.created < b->set.created   ? -1
             : a->set.created > b->set.created ? 1
                                               : 0))
        return d;
    if ((d = cmp_u64(a->set.sequence, b->set.sequence)))
        return d;
    return cmp_tail(a, b);
}

/* host, run, sequence: the table's order. */
static int
by_run(const void *pa, const void *pb)
{
    const struct chain_row *a = pa, *b = pb;
    int d;

    if ((d = strcmp(a->set.host, b->set.host)))
        return d;
    if ((d = cmp_u64(a->run, b->run)))
        return d;
    if ((d = cmp_u64(a->set.sequence, b->set.sequence)))
        return d;
    return by_time(pa, pb);
}

static size_t
host_end(const struct chain *c, size_t a)
{
    size_t b = a + 1;

    while (b < c->nrows &&
           strcmp(c->rows[b].set.host, c->rows[a].set.host) == 0)
        b++;
    return b;
}

/* Rows sorted by_hash: the second and later copies of a MANIFEST. */
static void
mark_duplicates(struct chain *c)
{
    for (size_t i = 1; i < c->nrows; i++) {
        struct chain_row *r = &c->rows[i], *q = &c->rows[i - 1];
        if (strcmp(r->set.host, q->set.host) == 0 &&
            memcmp(r->set.manifest_sha256, q->set.manifest_sha256, 32) == 0)
            r->link = CHAIN_LINK_DUPLICATE;
    }
}

/* Rows of one host sorted by_time: a new run at each restart. */
static void
assign_runs(struct chain *c, size_t a, size_t b)
{
    size_t run = 0;
    int seen = 0;

    for (size_t i = a; i < b; i++) {
        struct chain_row *r = &c->rows[i];
        if (r->link == CHAIN_LINK_DUPLICATE) {
            r->run = run;
            continue;
        }
        if (seen && (r->set.chain_break != NULL || !r->set.has_previous))
            run++;
        r->run = run;
        seen = 1;
    }
}

/* ------------------------------------------------------------------ */
/* Checking one host's rows (sorted by_run)                            */

static const struct chain_row *
find_by_hash(const struct chain *c, size_t a, size_t b, const uint8_t h[32])
{
    for (size_t i = a; i < b; i++)
        if (c->rows[i].link != CHAIN_LINK_DUPLICATE &&
            memcmp(c->rows[i].set.manifest_sha256, h, 32) == 0)
            return &c->rows[i];
    return NULL;
}

/* A set of the same run as row ${i} with sequence one less. */
static const struct chain_row *
find_before(const struct chain *c, size_t a, size_t i)
{
    const struct chain_row *r = &c->rows[i];

    for (size_t j = i; j-- > a;) {
        const struct chain_row *q = &c->rows[j];
        if (q->run != r->run || q->set.sequence + 1 < r->set.sequence)
            break;
        if (q->link != CHAIN_LINK_DUPLICATE &&
            q->set.sequence + 1 == r->set.sequence)
            return q;
    }
    return NULL;
}

static void
short_hex(char out[17], const uint8_t h[32])
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 0; i < 8; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[16] = '\0';
}

static int
link_previous(struct chain *c, size_t a, size_t b, size_t i, struct cm_err *err)
{
    struct chain_row *r = &c->rows[i];
    const struct chain_row *p = find_by_hash(c, a, b, r->set.previous);
    char want[17], have[17];

    if (p != NULL && p->set.sequence + 1 == r->set.sequence) {
        r->link = CHAIN_LINK_OK;
        return 0;
    }
    if (p != NULL) {
        r->link = CHAIN_LINK_BAD_SEQUENCE;
        return add_finding(c, CHAIN_BAD_SEQUENCE, 1, r, p, 0, err,
                           "%s (sequence %" PRIu64 ") names %s (sequence "
                           "%" PRIu64 ") as its previous set",
                           r->set.name, r->set.sequence, p->set.name,
                           p->set.sequence);
    }
    if ((p = find_before(c, a, i)) == NULL) {
        r->link = CHAIN_LINK_UNKNOWN;
        return 0;
    }
    r->link = CHAIN_LINK_MISMATCH;
    short_hex(want, r->set.previous);
    short_hex(have, p->set.manifest_sha256);
    return add_finding(c, CHAIN_MISMATCH, 1, r, p, 0, err,
                       "%s (sequence %" PRIu64 ") does not follow %s "
                       "(sequence %" PRIu64 "): it names a previous "
                       "MANIFEST %s..., that one's is %s... (replaced or "
                       "forged predecessor)",
                       r->set.name, r->set.sequence, p->set.name,
                       p->set.sequence, want, have);
}

static int
link_start(struct chain *c, struct chain_row *r, int first, struct cm_err *err)
{
    if (first && r->set.sequence == 1) {
        r->link = CHAIN_LINK_FIRST;
        return 0;
    }
    r->link = CHAIN_LINK_RESTART;
    if (first)
        return add_finding(c, CHAIN_RESTART, 1, r, NULL, 0, err,
                           "%s has sequence %" PRIu64 " but no previous "
                           "set, and no recorded chain-break",
                           r->set.name, r->set.sequence);
    return add_finding(c, CHAIN_RESTART, 1, r, NULL, 0, err,
                       "the chain restarts at %s (sequence %" PRIu64
                       ", no previous set) without a recorded chain-break",
                       r->set.name, r->set.sequence);
}

static int
link_row(struct chain *c, size_t a, size_t b, size_t i, int first,
         struct cm_err *err)
{
    struct chain_row *r = &c->rows[i];

    if (r->set.has_previous) {
        if (link_previous(c, a, b, i, err) == -1)
            return -1;
    } else if (r->set.chain_break == NULL) {
        if (link_start(c, r, first, err) == -1)
            return -1;
    }
    if (r->set.chain_break == NULL)
        return 0;
    if (r->link != CHAIN_LINK_MISMATCH && r->link != CHAIN_LINK_BAD_SEQUENCE)
        r->link = CHAIN_LINK_BREAK;
    return add_finding(c, CHAIN_BREAK, 0, r, NULL, 0, err,
                       "chain-break recorded at %s (sequence %" PRIu64 "): %s",
                       r->set.name, r->set.sequence, r->set.chain_break);
}

/* ${r} follows ${q} (the row before it in the table). */
static int
check_pair(struct chain *c, struct chain_row *q, struct chain_row *r,
           struct cm_err *err)
{
    uint64_t lo = q->set.sequence + 1, hi = r->set.sequence - 1;
    char range[64];

    if (q->run == r->run && q->set.sequence == r->set.sequence) {
        r->fork = 1;
        q->fork = 1;
        if (add_finding(c, CHAIN_FORK, 1, r, q, 0, err,
                        "sequence %" PRIu64 " is claimed by two sets, %s "
                        "and %s (fork)",
                        r->set.sequence, q->set.name, r->set.name) == -1)
            return -1;
    } else if (q->run == r->run && r->set.sequence > q->set.sequence + 1) {
        if (lo == hi)
            snprintf(range, sizeof range, "sequence %" PRIu64, lo);
        else
            snprintf(range, sizeof range, "sequences %" PRIu64 "-%" PRIu64, lo,
                     hi);
        if (add_finding(c, CHAIN_GAP, 1, r, q, hi, err,
                        "%s missing between %s (%" PRIu64 ") and %s (%" PRIu64
                        ")",
                        range, q->set.name, q->set.sequence, r->set.name,
                        r->set.sequence) == -1)
            return -1;
        c->findings[c->nfindings - 1].sequence = lo;
    }
    if (strcmp(q->set.key_id, r->set.key_id) == 0)
        return 0;
    r->key_changed = 1;
    return add_finding(c, CHAIN_KEY_CHANGE,
                       !(q->run != r->run && r->set.chain_break != NULL), r, q,
                       0, err,
                       "%s (sequence %" PRIu64 ") is signed by key %s, %s "
                       "(sequence %" PRIu64 ") by key %s",
                       r->set.name, r->set.sequence, r->set.key_id, q->set.name,
                       q->set.sequence, q->set.key_id);
}

static int
note_duplicate(struct chain *c, size_t a, size_t b, const struct chain_row *r,
               struct cm_err *err)
{
    const struct chain_row *q = find_by_hash(c, a, b, r->set.manifest_sha256);

    return add_finding(c, CHAIN_DUPLICATE, 0, r, q, 0, err,
                       "%s is given twice (in %s and in %s): the same "
                       "MANIFEST",
                       r->set.name, q != NULL ? q->set.where : "?",
                       r->set.where);
}

static int
check_key(struct chain *c, const struct chain_row *r, struct cm_err *err)
{
    if (!r->set.unknown_key)
        return 0;
    return add_finding(c, CHAIN_UNKNOWN_KEY, 1, r, NULL, 0, err,
                       "%s (sequence %" PRIu64 ") is signed by key %s, "
                       "which is not the trusted key",
                       r->set.name, r->set.sequence, r->set.key_id);
}

/* (run, sequence) of ${a} before that of ${b}? */
static int
older(const struct chain_row *a, size_t run, uint64_t sequence)
{
    return a->run < run || (a->run == run && a->set.sequence < sequence);
}

/*
 * The newest set given that went to medium ${id} (by its MANIFEST), among
 * one host's rows; NULL if none.
 */
static const struct chain_row *
newest_on(const struct chain *c, size_t a, size_t b, const char *id)
{
    const struct chain_row *n = NULL;

    for (size_t i = a; i < b; i++) {
        const struct chain_row *q = &c->rows[i];
        if (strcmp(q->set.medium_id, id) == 0 &&
            (n == NULL || older(n, q->run, q->set.sequence)))
            n = q;
    }
    return n;
}

/*
 * Row ${i} says the set before it went to medium X: if X is known here and
 * everything of it is older than that set, X was rolled back.  The latest
 * such claim about X speaks for it.
 */
static int
check_rollback(struct chain *c, size_t a, size_t b, size_t i,
               struct cm_err *err)
{
    const struct chain_row *r = &c->rows[i], *n;
    const char *x = r->set.previous_medium;
    uint64_t want = r->set.sequence - 1;

    if (*x == '\0' || r->set.sequence < 2 || r->set.chain_break != NULL)
        return 0;
    for (size_t j = i + 1; j < b; j++)
        if (c->rows[j].link != CHAIN_LINK_DUPLICATE &&
            strcmp(c->rows[j].set.previous_medium, x) == 0 &&
            c->rows[j].set.chain_break == NULL)
            return 0; /* a later claim about X */
    if ((n = newest_on(c, a, b, x)) == NULL || !older(n, r->run, want))
        return 0;
    return add_finding(c, CHAIN_ROLLBACK, 1, r, n, 0, err,
                       "medium %s (%s) rolled back: its newest set is "
                       "sequence %" PRIu64 " (%s), but sequence %" PRIu64
                       " was written to it (so says %s, sequence %" PRIu64 ")",
                       n->set.medium, n->set.where, n->set.sequence,
                       n->set.name, want, r->set.name, r->set.sequence);
}

static int
check_host(struct chain *c, size_t a, size_t b, struct cm_err *err)
{
    struct chain_row *prev = NULL;

    for (size_t i = a; i < b; i++) {
        struct chain_row *r = &c->rows[i];
        if (r->link == CHAIN_LINK_DUPLICATE) {
            if (note_duplicate(c, a, b, r, err) == -1)
                return -1;
            continue;
        }
        if (link_row(c, a, b, i, prev == NULL, err) == -1 ||
            check_key(c, r, err) == -1)
            return -1;
        if (prev != NULL && check_pair(c, prev, r, err) == -1)
            return -1;
        prev = r;
    }
    for (size_t i = a; i < b; i++)
        if (c->rows[i].link != CHAIN_LINK_DUPLICATE &&
            check_rollback(c, a, b, i, err) == -1)
            return -1;
    return 0;
}

int
chain_check(struct chain *c, struct cm_err *err)
{
    if (c->checked)
        return cm_fail(err, CM_EUSAGE, "chain_check called twice");
    c->checked = 1;
    if (c->nrows == 0)
        return 0;
    qsort(c->rows, c->nrows, sizeof *c->rows, by_hash);
    mark_duplicates(c);
    qsort(c->rows, c->nrows, sizeof *c->rows, by_time);
    for (size_t a = 0, b; a < c->nrows; a = b)
        assign_runs(c, a, b = host_end(c, a));
    qsort(c->rows, c->nrows, sizeof *c->rows, by_run);
    for (size_t a = 0, b; a < c->nrows; a = b)
        if (check_host(c, a, b = host_end(c, a), err) == -1)
            return -1;
    return 0;
}

size_t
chain_nrows(const struct chain *c)
{
    return c->nrows;
}

const struct chain_row *
chain_row(const struct chain *c, size_t i)
{
    return i < c->nrows ? &c->rows[i] : NULL;
}

size_t
chain_nfindings(const struct chain *c)
{
    return c->nfindings;
}

const struct chain_finding *
chain_finding(const struct chain *c, size_t i)
{
    return i < c->nfindings ? &c->findings[i] : NULL;
}

size_t
chain_problems(const struct chain *c)
{
    return c->problems;
}

const char *
chain_link_name(enum chain_link l)
{
    switch (l) {
    case CHAIN_LINK_FIRST:
        return "first";
    case CHAIN_LINK_OK:
        return "ok";
    case CHAIN_LINK_UNKNOWN:
        return "unknown";
    case CHAIN_LINK_BREAK:
        return "break";
    case CHAIN_LINK_RESTART:
        return "restart";
    case CHAIN_LINK_MISMATCH:
        return "mismatch";
    case CHAIN_LINK_BAD_SEQUENCE:
        return "bad-sequence";
    case CHAIN_LINK_DUPLICATE:
        return "duplicate";
    }
    return "?";
}

const char *
chain_kind_name(enum chain_kind k)
{
    static const char *const names[] = {
        [CHAIN_GAP] = "gap",
        [CHAIN_MISMATCH] = "mismatch",
        [CHAIN_BAD_SEQUENCE] = "bad-sequence",
        [CHAIN_FORK] = "fork",
        [CHAIN_RESTART] = "restart",
        [CHAIN_KEY_CHANGE] = "key-change",
        [CHAIN_BREAK] = "break",
        [CHAIN_DUPLICATE] = "duplicate",
        [CHAIN_UNKNOWN_KEY] = "unknown-key",
        [CHAIN_ROLLBACK] = "rollback",
    };

    return (size_t)k < CM_ARRAY_LEN(names) ? names[k] : "?";
}

static int
link_is_problem(enum chain_link l)
{
    return l == CHAIN_LINK_RESTART || l == CHAIN_LINK_MISMATCH ||
           l == CHAIN_LINK_BAD_SEQUENCE;
}

/* "ok", "MISMATCH, FORK", "unknown (sequence 3 not given)". */
static void
link_text(const struct chain_row *r, char *out, size_t outlen)
{
    size_t n;

    snprintf(out, outlen, "%s", chain_link_name(r->link));
    if (link_is_problem(r->link))
        for (char *p = out; *p; p++)
            *p = (char)toupper((unsigned char)*p);
    n = strlen(out);
    if (r->link == CHAIN_LINK_UNKNOWN && r->set.sequence > 1)
        snprintf(out + n, outlen - n, " (sequence %" PRIu64 " not given)",
                 r->set.sequence - 1);
    n = strlen(out);
    if (r->fork)
        snprintf(out + n, outlen - n, ", FORK");
    n = strlen(out);
    if (r->key_changed)
        snprintf(out + n, outlen - n, ", KEY CHANGE");
    n = strlen(out);
    if (r->set.unknown_key)
        snprintf(out + n, outlen - n, ", UNKNOWN KEY");
}

static int
format_rows(const struct chain *c, struct buf *out, struct cm_err *err)
{
    int hw = 4, nw = 3, mw = 6;
    char link[128];

    for (size_t i = 0; i < c->nrows; i++) {
        int h = (int)strlen(c->rows[i].set.host);
        int n = (int)strlen(c->rows[i].set.name);
        int m = (int)strlen(c->rows[i].set.medium);
        hw = h > hw ? (h < 64 ? h : 64) : hw;
        nw = n > nw ? (n < 160 ? n : 160) : nw;
        mw = m > mw ? (m < 64 ? m : 64) : mw;
    }
    if (buf_printf(out, err, "  %-*s  %5s  %-*s  %-*s  %-16s  %s\n", hw, "HOST",
                   "SEQ", nw, "SET", mw, "MEDIUM", "SIGNER", "LINK") == -1)
        return -1;
    for (size_t i = 0; i < c->nrows; i++) {
        const struct chain_row *r = &c->rows[i];
        link_text(r, link, sizeof link);
        if (buf_printf(out, err,
                       "  %-*s  %5" PRIu64 "  %-*s  %-*s  %-16s  %s%s\n", hw,
                       r->set.host, r->set.sequence, nw, r->set.name, mw,
                       r->set.medium, r->set.key_id, link,
                       r->set.authentic ? "" : " (signature failed)") == -1)
            return -1;
    }
    return 0;
}

int
chain_format_text(const struct chain *c, struct buf *out, struct cm_err *err)
{
    if (format_rows(c, out, err) == -1)
        return -1;
    for (size_t i = 0; i < c->nfindings; i++)
        if (buf_printf(out, err, "  %s: %s\n",
                       c->findings[i].problem ? "PROBLEM" : "note",
                       c->findings[i].text) == -1)
            return -1;
    return 0;
}

void
chain_free(struct chain *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nrows; i++)
        set_free(&c->rows[i].set);
    for (size_t i = 0; i < c->nfindings; i++)
        free(c->findings[i].text);
    free(c->rows);
    free(c->findings);
    free(c);
}
