#include "rebuild.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <sqlite3.h>

#include "manifest.h"
#include "mediumscan.h"
#include "state.h"

struct rebuilder {
    const struct rebuild_opts *o;
    struct rebuild_result *res;
    struct state *state;
    struct rebuild_medium *m;
    char (*found)[33]; /* set ids found on the current medium */
    size_t nfound, cap;
};

static void warn(const struct rebuilder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
warn(const struct rebuilder *b, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (b->o->warn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->o->warn(b->o->ctx, msg);
}

static int
note_found(struct rebuilder *b, const char *id, struct cm_err *err)
{
    if (b->nfound == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        char(*grown)[33] = realloc(b->found, cap * sizeof *grown);
        if (grown == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        b->found = grown;
        b->cap = cap;
    }
    snprintf(b->found[b->nfound++], 33, "%s", id);
    return 0;
}

static int
import_set(void *ctx, const struct mediumscan_set *s, struct cm_err *err)
{
    struct rebuilder *b = ctx;
    char id[33], mid[33];
    const char *medium_id = b->m->medium_id[0] ? b->m->medium_id : NULL;
    int r;

    /* A set that spans media is recorded from its last part only. */
    if (s->m->part > 0 && !s->m->last_part)
        return 0;
    manifest_set_id_hex(s->m->set_id, id);
    if (medium_id == NULL && s->m->has_medium_id) {
        medium_id_hex(s->m->medium_id, mid);
        medium_id = mid;
    }
    b->m->sets++;
    r = state_set_import(b->state, s->m, s->manifest_sha256, s->dir, medium_id,
                         mediumscan_dir_bytes(s->dir), err);
    if (r == -1 && err->code == CM_ECONFLICT) {
        warn(b, "%s: not recorded: %s", s->name, err->msg);
        cm_err_clear(err);
        b->m->conflicts++;
        return 0;
    }
    if (r == -1)
        return -1;
    b->m->added += (unsigned)r;
    return note_found(b, id, err);
}

static void
note_unreadable(void *ctx, const char *name, const struct cm_err *why)
{
    warn(ctx, "%s: not recorded, its MANIFEST cannot be read: %s", name,
         why->msg);
}

static int
was_found(const struct rebuilder *b, const char *id)
{
    for (size_t i = 0; i < b->nfound; i++)
        if (strcmp(b->found[i], id) == 0)
            return 1;
    return 0;
}

/* Sets the state lists on this medium that are not on it any more. */
static int
mark_gone(struct rebuilder *b, struct cm_err *err)
{
    sqlite3 *db = state_db(b->state);
    sqlite3_stmt *st = NULL;
    char(*gone)[33] = NULL;
    size_t n = 0;
    int r, rc = -1;

    if (b->m->medium_id[0] == '\0')
        return 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT set_id FROM sets WHERE medium_id = ? AND "
                           "removed = 0",
                           -1, &st, NULL) != SQLITE_OK)
        return cm_fail(err, CM_EIO, "state: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, b->m->medium_id, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        char(*grown)[33];
        if (id == NULL || was_found(b, id))
            continue;
        if ((grown = realloc(gone, (n + 1) * sizeof *grown)) == NULL) {
            cm_fail(err, CM_EINTERNAL, "out of memory");
            goto out;
        }
        gone = grown;
        snprintf(gone[n++], 33, "%s", id);
    }
    if (r != SQLITE_DONE) {
        cm_fail(err, CM_EIO, "state: %s", sqlite3_errmsg(db));
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (state_set_removed(b->state, gone[i], err) == -1)
            goto out;
    b->m->gone = (unsigned)n;
    rc = 0;
out:
    sqlite3_finalize(st);
    free(gone);
    return rc;
}

static int
read_label(struct rebuilder *b, const char *dir, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    struct medium_label l;
    struct statvfs vfs;
    int r = medium_read(dir, NULL, &l, &why);

    if (r == -1)
        warn(b,
             "%s: the medium label cannot be read (%s); sets are "
             "recorded with the medium id their MANIFEST names",
             dir, why.msg);
    if (r != 1)
        return 0;
    snprintf(b->m->label, sizeof b->m->label, "%s", l.label);
    medium_id_hex(l.id, b->m->medium_id);
    if (statvfs(dir, &vfs) == -1)
        memset(&vfs, 0, sizeof vfs);
    return state_medium_seen(b->state, &l, dir,
                             (uint64_t)vfs.f_blocks * vfs.f_frsize,
                             (uint64_t)vfs.f_bavail * vfs.f_frsize, err);
}

static int
exec(struct rebuilder *b, const char *sql, struct cm_err *err)
{
    sqlite3 *db = state_db(b->state);

    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return cm_fail(err, CM_EIO, "%s/state.db: %s", b->o->state_dir,
                       sqlite3_errmsg(db));
    return 0;
}

static int
rebuild_medium(struct rebuilder *b, const char *dir, struct cm_err *err)
{
    struct rebuild_medium m;
    struct stat st;

    if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
        return cm_fail(err, CM_EUSAGE, "%s: not a directory", dir);
    memset(&m, 0, sizeof m);
    m.dir = dir;
    b->m = &m;
    b->nfound = 0;
    if (exec(b, "BEGIN IMMEDIATE;", err) == -1)
        return -1;
    if (read_label(b, dir, err) == -1 ||
        mediumscan_sets(dir, import_set, note_unreadable, b, err) == -1 ||
        mark_gone(b, err) == -1 ||
        (m.medium_id[0] &&
         state_has_index(b->state, m.medium_id, &m.has_index, err) == -1) ||
        exec(b, "COMMIT;", err) == -1) {
        sqlite3_exec(state_db(b->state), "ROLLBACK;", NULL, NULL, NULL);
        return -1;
    }
    b->res->media++;
    b->res->sets += m.sets;
    b->res->added += m.added;
    b->res->conflicts += m.conflicts;
    if (b->o->on_medium != NULL)
        b->o->on_medium(b->o->ctx, &m);
    return 0;
}

int
rebuild_run(const struct rebuild_opts *o, struct rebuild_result *res,
            struct cm_err *err)
{
    struct rebuilder b;
    struct state_chain_head head;
    int rc = -1;

    memset(&b, 0, sizeof b);
    memset(res, 0, sizeof *res);
    b.o = o;
    b.res = res;
    if (o->nmedia == 0)
        return cm_fail(err, CM_EUSAGE, "state rebuild needs MEDIUM_DIR...");
    if (state_open(o->state_dir, 0, &b.state, err) == -1)
        goto out;
    for (size_t i = 0; i < o->nmedia; i++)
        if (rebuild_medium(&b, o->media[i], err) == -1)
            goto out;
    if (state_chain_head(b.state, &head, err) == -1)
        goto out;
    res->head_sequence = head.sequence;
    snprintf(res->head_medium, sizeof res->head_medium, "%s", head.medium);
    rc = 0;
    if (res->conflicts > 0)
        rc = cm_fail(err, CM_ECONFLICT,
                     "%u set(s) not recorded: their sequence number is "
                     "recorded for another set (check with "
                     "coldmail-restore verify --chain)",
                     res->conflicts);
out:
    free(b.found);
    state_close(b.state);
    return rc;
}
