#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "config.h"
#include "state.h"
#include "when.h"

struct ctx {
    const struct status_opts *o;
    struct status_report *r;
    sqlite3 *db;
};

const char *
status_warning_name(enum status_warning_kind k)
{
    switch (k) {
    case STATUS_RUN_OVERDUE:
        return "run-overdue";
    case STATUS_OVERDUE:
        return "overdue";
    case STATUS_NEVER_WRITTEN:
        return "never-written";
    case STATUS_NEVER_VERIFIED:
        return "never-verified";
    case STATUS_NEARLY_FULL:
        return "nearly-full";
    case STATUS_CHAIN_BREAK:
        return "chain-break";
    case STATUS_CHAIN_GAP:
        return "chain-gap";
    case STATUS_BASE_MISSING:
        return "base-missing";
    }
    return "unknown";
}

void
status_format_age(int64_t s, char *out, size_t outlen)
{
    if (s >= 2 * 86400)
        snprintf(out, outlen, "%lldd", (long long)(s / 86400));
    else if (s >= 3600)
        snprintf(out, outlen, "%lldh", (long long)(s / 3600));
    else
        snprintf(out, outlen, "%lldm", (long long)(s > 0 ? s / 60 : 0));
}

void
status_report_free(struct status_report *r)
{
    if (r == NULL)
        return;
    free(r->media);
    free(r->warnings);
    free(r);
}

static int
db_fail(struct ctx *c, struct cm_err *err)
{
    return cm_fail(err, CM_EIO, "%s/state.db: cannot read: %s", c->o->state_dir,
                   sqlite3_errmsg(c->db));
}

static int add_warning(struct ctx *c, enum status_warning_kind kind,
                       const char *medium, struct cm_err *err, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));

static int
add_warning(struct ctx *c, enum status_warning_kind kind, const char *medium,
            struct cm_err *err, const char *fmt, ...)
{
    struct status_report *r = c->r;
    struct status_warning *grown, *w;
    va_list ap;

    grown = realloc(r->warnings, (r->nwarnings + 1) * sizeof *grown);
    if (grown == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    r->warnings = grown;
    w = &grown[r->nwarnings++];
    w->kind = kind;
    snprintf(w->medium, sizeof w->medium, "%s", medium ? medium : "");
    va_start(ap, fmt);
    vsnprintf(w->msg, sizeof w->msg, fmt, ap);
    va_end(ap);
    return 0;
}

static struct status_medium *
add_medium(struct ctx *c, struct cm_err *err)
{
    struct status_report *r = c->r;
    struct status_medium *grown;

    grown = realloc(r->media, (r->nmedia + 1) * sizeof *grown);
    if (grown == NULL) {
        cm_fail(err, CM_EINTERNAL, "out of memory");
        return NULL;
    }
    r->media = grown;
    memset(&grown[r->nmedia], 0, sizeof *grown);
    grown[r->nmedia].order = -1;
    return &grown[r->nmedia++];
}

static void
copy_text(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const char *v = (const char *)sqlite3_column_text(st, col);

    snprintf(out, outlen, "%s", v ? v : "");
}

static int
prepare(struct ctx *c, const char *sql, sqlite3_stmt **st, struct cm_err *err)
{
    if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_fail(c, err);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Media                                                               */

static int
newest_set(struct ctx *c, struct status_medium *m, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    const char *dir, *slash;
    int r;

    if (prepare(c,
                "SELECT set_dir, set_id, kind, sequence, created, "
                "bytes_written FROM sets WHERE medium_id = ? AND removed = 0 "
                "ORDER BY sequence DESC LIMIT 1",
                &st, err) == -1)
        return -1;
    sqlite3_bind_text(st, 1, m->medium_id, -1, SQLITE_TRANSIENT);
    if ((r = sqlite3_step(st)) == SQLITE_ROW) {
        dir = (const char *)sqlite3_column_text(st, 0);
        slash = dir ? strrchr(dir, '/') : NULL;
        snprintf(m->newest.name, sizeof m->newest.name, "%s",
                 slash ? slash + 1
                 : dir ? dir
                       : "");
        copy_text(st, 1, m->newest.set_id, sizeof m->newest.set_id);
        copy_text(st, 2, m->newest.kind, sizeof m->newest.kind);
        m->newest.sequence = (uint64_t)sqlite3_column_int64(st, 3);
        m->newest.created = sqlite3_column_int64(st, 4);
        m->newest.bytes = (uint64_t)sqlite3_column_int64(st, 5);
        m->newest.present = 1;
        m->age = c->r->now - m->newest.created;
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_fail(c, err);
}

/* Sets on the medium, last verification, bytes written since last seen. */
static int
medium_counts(struct ctx *c, struct status_medium *m, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    uint64_t since;
    int64_t verified;

    if (prepare(c,
                "SELECT sum(removed = 0), max(coalesce(verified_at, "
                "created)), sum(CASE WHEN removed = 0 AND created >= ?2 "
                "THEN bytes_written ELSE 0 END) FROM sets WHERE medium_id = "
                "?1",
                &st, err) == -1)
        return -1;
    sqlite3_bind_text(st, 1, m->medium_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, m->last_seen);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_fail(c, err);
    }
    m->sets = (uint64_t)sqlite3_column_int64(st, 0);
    verified = sqlite3_column_int64(st, 1);
    since = (uint64_t)sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
    if (verified > m->verified_at)
        m->verified_at = verified;
    m->bytes_free = m->bytes_free > since ? m->bytes_free - since : 0;
    return 0;
}

static int
load_media(struct ctx *c, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    struct status_medium *m;
    int r;

    if (prepare(c,
                "SELECT medium_id, label, last_path, last_seen, bytes_total, "
                "bytes_free, verified_at FROM media ORDER BY label, "
                "medium_id",
                &st, err) == -1)
        return -1;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if ((m = add_medium(c, err)) == NULL)
            break;
        copy_text(st, 0, m->medium_id, sizeof m->medium_id);
        copy_text(st, 1, m->label, sizeof m->label);
        copy_text(st, 2, m->last_path, sizeof m->last_path);
        m->last_seen = sqlite3_column_int64(st, 3);
        m->bytes_total = (uint64_t)sqlite3_column_int64(st, 4);
        m->bytes_free = (uint64_t)sqlite3_column_int64(st, 5);
        m->verified_at = sqlite3_column_int64(st, 6);
    }
    sqlite3_finalize(st);
    if (err->code != CM_OK)
        return -1;
    if (r != SQLITE_DONE)
        return db_fail(c, err);
    for (size_t i = 0; i < c->r->nmedia; i++)
        if (newest_set(c, &c->r->media[i], err) == -1 ||
            medium_counts(c, &c->r->media[i], err) == -1)
            return -1;
    return 0;
}

/* Place the configured media in the rotation; unseen ones are added. */
static int
place_rotation(struct ctx *c, struct cm_err *err)
{
    const struct status_opts *o = c->o;

    for (size_t i = 0; i < o->nmedia; i++) {
        int found = 0;
        for (size_t j = 0; j < c->r->nmedia; j++)
            if (strcmp(c->r->media[j].label, o->media[i]) == 0) {
                c->r->media[j].order = (int)i;
                found = 1;
            }
        if (!found) {
            struct status_medium *m = add_medium(c, err);
            if (m == NULL)
                return -1;
            snprintf(m->label, sizeof m->label, "%s", o->media[i]);
            m->order = (int)i;
        }
    }
    c->r->cycle = o->nmedia;
    if (o->nmedia == 0)
        for (size_t j = 0; j < c->r->nmedia; j++)
            c->r->media[j].order = (int)j;
    if (o->nmedia == 0)
        c->r->cycle = c->r->nmedia;
    return 0;
}

/* ------------------------------------------------------------------ */
/* What is due                                                         */

static void
due_in_order(struct status_report *r, const struct status_opts *o)
{
    const struct status_medium *last = NULL;

    for (size_t i = 0; i < r->nmedia; i++) {
        const struct status_medium *m = &r->media[i];
        if (m->order >= 0 && m->newest.present &&
            (last == NULL || m->newest.created > last->newest.created))
            last = m;
    }
    r->has_due = 1;
    if (last == NULL) {
        snprintf(r->due, sizeof r->due, "%s", o->media[0]);
        r->due_at = r->now;
        snprintf(r->due_why, sizeof r->due_why,
                 "first in the rotation; nothing written yet");
        return;
    }
    snprintf(r->due, sizeof r->due, "%s",
             o->media[((size_t)last->order + 1) % o->nmedia]);
    r->due_at = last->newest.created + r->rotation;
    snprintf(r->due_why, sizeof r->due_why, "after %s in the rotation",
             last->label);
}

static void
due_least_recent(struct status_report *r)
{
    const struct status_medium *pick = NULL;

    for (size_t i = 0; i < r->nmedia; i++) {
        const struct status_medium *m = &r->media[i];
        int64_t t = m->newest.present ? m->newest.created : INT64_MIN;
        if (pick == NULL ||
            t < (pick->newest.present ? pick->newest.created : INT64_MIN))
            pick = m;
    }
    if (pick == NULL)
        return;
    r->has_due = 1;
    snprintf(r->due, sizeof r->due, "%s", pick->label);
    r->due_at = r->newest_created ? r->newest_created + r->rotation : r->now;
    snprintf(r->due_why, sizeof r->due_why,
             "least recently written (no rotation order configured)");
}

/* ------------------------------------------------------------------ */
/* The chain                                                           */

static int
chain_head(struct ctx *c, int64_t *first, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;

    if (prepare(c,
                "SELECT coalesce(max(sequence), 0), coalesce(max(created), "
                "0), coalesce(min(created), 0) FROM sets",
                &st, err) == -1)
        return -1;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_fail(c, err);
    }
    c->r->head_sequence = (uint64_t)sqlite3_column_int64(st, 0);
    c->r->newest_created = sqlite3_column_int64(st, 1);
    *first = sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
    return 0;
}

static int
chain_breaks(struct ctx *c, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    char medium[MEDIUM_LABEL_MAX + 1], why[256];
    int r;

    if (prepare(c,
                "SELECT sequence, medium, chain_break FROM sets WHERE "
                "chain_break IS NOT NULL AND removed = 0 ORDER BY sequence",
                &st, err) == -1)
        return -1;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        copy_text(st, 1, medium, sizeof medium);
        copy_text(st, 2, why, sizeof why);
        if (add_warning(c, STATUS_CHAIN_BREAK, medium, err,
                        "the chain restarts at sequence %lld on %s: %s",
                        (long long)sqlite3_column_int64(st, 0), medium,
                        why) == -1)
            break;
    }
    sqlite3_finalize(st);
    if (err->code != CM_OK)
        return -1;
    return r == SQLITE_DONE ? 0 : db_fail(c, err);
}

static int
gap(struct ctx *c, long long from, long long to, struct cm_err *err)
{
    if (from == to)
        return add_warning(c, STATUS_CHAIN_GAP, NULL, err,
                           "no record of the set with sequence %lld", from);
    return add_warning(c, STATUS_CHAIN_GAP, NULL, err,
                       "no record of the sets with sequence %lld to %lld", from,
                       to);
}

static int
chain_gaps(struct ctx *c, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    long long prev = 0, seq;
    unsigned gaps = 0;
    int r;

    if (prepare(c, "SELECT sequence FROM sets ORDER BY sequence", &st, err) ==
        -1)
        return -1;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 0);
        if (prev != 0 && seq > prev + 1 && gaps++ < STATUS_GAPS_MAX &&
            gap(c, prev + 1, seq - 1, err) == -1)
            break;
        prev = seq;
    }
    sqlite3_finalize(st);
    if (err->code != CM_OK)
        return -1;
    if (r != SQLITE_DONE)
        return db_fail(c, err);
    if (gaps > STATUS_GAPS_MAX)
        return add_warning(c, STATUS_CHAIN_GAP, NULL, err,
                           "%u more gaps in the sequence numbers",
                           gaps - STATUS_GAPS_MAX);
    return 0;
}

static int
bases_missing(struct ctx *c, const struct status_medium *m, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    int r;

    if (prepare(c,
                "SELECT s.sequence, s.base FROM sets s WHERE s.medium_id = ? "
                "AND s.removed = 0 AND s.base IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM sets b WHERE b.set_id = s.base AND "
                "b.removed = 0 AND b.medium_id = s.medium_id) ORDER BY "
                "s.sequence",
                &st, err) == -1)
        return -1;
    sqlite3_bind_text(st, 1, m->medium_id, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (add_warning(c, STATUS_BASE_MISSING, m->label, err,
                        "%s: the set with sequence %lld builds on set %.8s, "
                        "which is no longer on the medium: it cannot be "
                        "restored",
                        m->label, (long long)sqlite3_column_int64(st, 0),
                        (const char *)sqlite3_column_text(st, 1)) == -1)
            break;
    sqlite3_finalize(st);
    if (err->code != CM_OK)
        return -1;
    return r == SQLITE_DONE ? 0 : db_fail(c, err);
}

/* ------------------------------------------------------------------ */
/* Warnings per medium                                                 */

static int
warn_overdue(struct ctx *c, const struct status_medium *m, int64_t first,
             struct cm_err *err)
{
    const struct status_report *r = c->r;
    int64_t turn = (int64_t)r->cycle * r->rotation;
    char a[32], t[32], when[WHEN_ISO_LEN];

    if (m->order < 0 || r->cycle == 0)
        return 0;
    config_format_duration(turn, t, sizeof t);
    if (m->newest.present && m->age > turn) {
        status_format_age(m->age, a, sizeof a);
        return add_warning(c, STATUS_OVERDUE, m->label, err,
                           "%s: not written for %s (its turn comes every "
                           "%s)",
                           m->label, a, t);
    }
    if (!m->newest.present && m->sets == 0 && first != 0 &&
        r->now - first > turn) {
        when_format_iso(when, first);
        return add_warning(c, STATUS_NEVER_WRITTEN, m->label, err,
                           "%s: never written, though the rotation began "
                           "%s (a turn every %s)",
                           m->label, when, t);
    }
    return 0;
}

static int
warn_medium(struct ctx *c, const struct status_medium *m, int64_t first,
            struct cm_err *err)
{
    uint64_t free_ = m->bytes_free, total = m->bytes_total;
    char f[32];

    if (warn_overdue(c, m, first, err) == -1)
        return -1;
    if (m->medium_id[0] == '\0')
        return 0;
    if (m->verified_at == 0 &&
        add_warning(c, STATUS_NEVER_VERIFIED, m->label, err,
                    "%s: never verified (no set was written and read back "
                    "on it)",
                    m->label) == -1)
        return -1;
    if (total > 0 && (free_ < total / 100 * STATUS_NEARLY_FULL_PERCENT ||
                      (m->newest.present && free_ < m->newest.bytes))) {
        snprintf(f, sizeof f, "%.1f%%", 100.0 * (double)free_ / (double)total);
        if (add_warning(c, STATUS_NEARLY_FULL, m->label, err,
                        "%s: nearly full: %s free when last seen, the newest "
                        "set took %llu bytes (coldmail prune %s --keep N "
                        "frees space)",
                        m->label, f, (unsigned long long)m->newest.bytes,
                        m->last_path[0] ? m->last_path : "MEDIUM_DIR") == -1)
            return -1;
    }
    return bases_missing(c, m, err);
}

static int
warnings(struct ctx *c, int64_t first, struct cm_err *err)
{
    struct status_report *r = c->r;
    char when[WHEN_ISO_LEN], per[32];

    if (r->newest_created != 0 && r->now > r->newest_created + r->rotation) {
        when_format_iso(when, r->newest_created);
        config_format_duration(r->rotation, per, sizeof per);
        if (add_warning(c, STATUS_RUN_OVERDUE, NULL, err,
                        "no set written since %s (one is due every %s): %s "
                        "is due",
                        when, per, r->has_due ? r->due : "a medium") == -1)
            return -1;
    }
    for (size_t i = 0; i < r->nmedia; i++)
        if (warn_medium(c, &r->media[i], first, err) == -1)
            return -1;
    if (chain_breaks(c, err) == -1 || chain_gaps(c, err) == -1)
        return -1;
    return 0;
}

int
status_run(const struct status_opts *o, struct status_report **out,
           struct cm_err *err)
{
    struct state *s = NULL;
    struct ctx c = {o, NULL, NULL};
    int64_t first = 0;
    int rc = -1;

    if (!state_exists(o->state_dir))
        return cm_fail(err, CM_EUSAGE,
                       "%s: no coldmail state here (wrong --state-dir? "
                       "after losing it: coldmail state rebuild "
                       "MEDIUM_DIR...)",
                       o->state_dir);
    if ((c.r = cm_calloc(1, sizeof *c.r, err)) == NULL ||
        state_open(o->state_dir, 1, &s, err) == -1)
        goto out;
    c.db = state_db(s);
    c.r->now = o->now;
    c.r->rotation = o->rotation;
    if (load_media(&c, err) == -1 || place_rotation(&c, err) == -1 ||
        chain_head(&c, &first, err) == -1)
        goto out;
    if (o->nmedia > 0)
        due_in_order(c.r, o);
    else
        due_least_recent(c.r);
    if (warnings(&c, first, err) == -1)
        goto out;
    *out = c.r;
    c.r = NULL;
    rc = 0;
out:
    status_report_free(c.r);
    state_close(s);
    return rc;
}
