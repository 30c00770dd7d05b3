#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "enc.h"
#include "io.h"
#include "when.h"

struct state {
    char *dir;
    int lock_fd;
    sqlite3 *db;
    int in_pack;
    sqlite3_stmt *get, *put, *keep; /* prepared once: called per object */
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS media ("
    " medium_id TEXT PRIMARY KEY,"
    " label TEXT NOT NULL,"
    " host TEXT,"
    " created INTEGER,"
    " last_path TEXT,"
    " last_seen INTEGER,"
    " bytes_total INTEGER,"
    " bytes_free INTEGER,"
    " verified_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS sets ("
    " sequence INTEGER PRIMARY KEY,"
    " set_id TEXT NOT NULL UNIQUE,"
    " manifest_sha256 TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " base TEXT,"
    " medium_id TEXT,"
    " medium TEXT,"
    " set_dir TEXT NOT NULL,"
    " messages INTEGER NOT NULL,"
    " objects INTEGER NOT NULL,"
    " bytes_in INTEGER NOT NULL,"
    " bytes_written INTEGER NOT NULL,"
    " chain_break TEXT,"
    " held INTEGER NOT NULL DEFAULT 0,"
    " hold_reason TEXT,"
    " removed INTEGER NOT NULL DEFAULT 0,"
    " verified_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS objects ("
    " medium_id TEXT NOT NULL,"
    " key BLOB NOT NULL,"
    " size INTEGER NOT NULL,"
    " mtime INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL,"
    " line TEXT NOT NULL,"
    " PRIMARY KEY (medium_id, key)) WITHOUT ROWID;"
    /* Appended to in walk order, indexed once at commit; a row without a
     * line keeps the listing's row of that key as it is. */
    "CREATE TEMP TABLE IF NOT EXISTS staged ("
    " key BLOB NOT NULL,"
    " size INTEGER NOT NULL,"
    " mtime INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL,"
    " line TEXT);";

static int
db_fail(struct state *s, struct cm_err *err, const char *what)
{
    return cm_fail(err, CM_EIO, "%s/state.db: %s: %s", s->dir, what,
                   sqlite3_errmsg(s->db));
}

static int
exec(struct state *s, const char *sql, struct cm_err *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot update");
    return 0;
}

static int
take_lock(struct state *s, struct cm_err *err)
{
    char path[4096], pid[32];

    snprintf(path, sizeof path, "%s/lock", s->dir);
    s->lock_fd = io_open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600, err);
    if (s->lock_fd == -1)
        return -1;
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == -1) {
        int e = errno;
        ssize_t n = pread(s->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (e == EWOULDBLOCK)
            return cm_fail(err, CM_EBUSY,
                           "%s: another coldmail run holds the lock%s%s%s",
                           s->dir, *pid ? " (pid " : "", pid,
                           *pid ? ")" : "");
        return cm_fail_errno(err, e, "%s: cannot lock", path);
    }
    snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(s->lock_fd, 0) == -1 ||
        pwrite(s->lock_fd, pid, strlen(pid), 0) < 0)
        return cm_fail_errno(err, errno, "%s: cannot write", path);
    return 0;
}

static int
open_db(struct state *s, struct cm_err *err)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/state.db", s->dir);
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot open");
    sqlite3_busy_timeout(s->db, 10000);
    /* A pack looks up and stages one row per object: pages are read
     * through a mapping, and a pack's staging stays in memory up to a
     * bound (SQLite spills beyond it). */
    if (exec(s, "PRAGMA journal_mode=WAL;", err) == -1 ||
        exec(s, "PRAGMA synchronous=FULL;", err) == -1 ||
        exec(s, "PRAGMA mmap_size=268435456;", err) == -1 ||
        exec(s, "PRAGMA cache_size=-16384;", err) == -1 ||
        exec(s, schema, err) == -1 ||
        exec(s, "PRAGMA temp.cache_size=-65536;", err) == -1)
        return -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT size, mtime, mtime_ns, line FROM objects "
                           "WHERE medium_id = ? AND key = ?",
                           -1, &s->get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "INSERT INTO staged (key, size, mtime, mtime_ns, "
                           "line) VALUES (?,?,?,?,?)",
                           -1, &s->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "INSERT INTO staged (key, size, mtime, mtime_ns, "
                           "line) VALUES (?,0,0,0,NULL)",
                           -1, &s->keep, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot prepare");
    return 0;
}

int
state_open(const char *dir, int shared, struct state **out,
           struct cm_err *err)
{
    struct state *s = cm_calloc(1, sizeof *s, err);
    struct stat st;

    if (s == NULL)
        return -1;
    s->lock_fd = -1;
    if ((s->dir = cm_strdup(dir, err)) == NULL)
        goto fail;
    if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        cm_fail_errno(err, errno, "state directory %s: cannot create", dir);
        goto fail;
    }
    if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
        cm_fail(err, CM_EIO, "state directory %s: not a directory", dir);
        goto fail;
    }
    if (!shared && access(dir, W_OK) == -1) {
        cm_fail_errno(err, errno, "state directory %s: not writable", dir);
        goto fail;
    }
    if ((!shared && take_lock(s, err) == -1) || open_db(s, err) == -1)
        goto fail;
    *out = s;
    return 0;
fail:
    state_close(s);
    return -1;
}

struct sqlite3 *
state_db(struct state *s)
{
    return s->db;
}

static int
column_hash(sqlite3_stmt *st, int col, uint8_t out[32], struct cm_err *err)
{
    const char *hex = (const char *)sqlite3_column_text(st, col);

    if (hex == NULL)
        return cm_fail(err, CM_EFORMAT, "state: missing hash");
    return hex_decode(out, 32, hex, strlen(hex), "state hash", err);
}

static void
column_copy(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const char *v = (const char *)sqlite3_column_text(st, col);

    snprintf(out, outlen, "%s", v ? v : "");
}

int
state_chain_head(struct state *s, struct state_chain_head *head,
                 struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1, r;

    memset(head, 0, sizeof *head);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT sequence, manifest_sha256, medium_id, "
                           "medium FROM sets ORDER BY sequence DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot read the chain");
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        head->sequence = (uint64_t)sqlite3_column_int64(st, 0);
        if (column_hash(st, 1, head->manifest_sha256, err) == -1)
            goto out;
        head->has_manifest = 1;
        column_copy(st, 2, head->medium_id, sizeof head->medium_id);
        column_copy(st, 3, head->medium, sizeof head->medium);
    } else if (r != SQLITE_DONE) {
        db_fail(s, err, "cannot read the chain");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int
state_medium_seen(struct state *s, const struct medium_label *l,
                  const char *path, uint64_t bytes_total, uint64_t bytes_free,
                  struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    char id[33];
    int rc = -1;

    medium_id_hex(l->id, id);
    if (sqlite3_prepare_v2(
            s->db,
            "INSERT INTO media (medium_id, label, host, created, last_path, "
            "last_seen, bytes_total, bytes_free) VALUES (?,?,?,?,?,?,?,?) "
            "ON CONFLICT(medium_id) DO UPDATE SET "
            "last_path = excluded.last_path, last_seen = excluded.last_seen, "
            "bytes_total = excluded.bytes_total, "
            "bytes_free = excluded.bytes_free",
            -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot record the medium");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, l->label, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, l->host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, l->created);
    sqlite3_bind_text(st, 5, path, -1, SQLITE_TRANSIENT);
    /* The same clock as the sets' times, which status compares it with. */
    sqlite3_bind_int64(st, 6, when_now());
    sqlite3_bind_int64(st, 7, (sqlite3_int64)bytes_total);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)bytes_free);
    if (sqlite3_step(st) != SQLITE_DONE)
        db_fail(s, err, "cannot record the medium");
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

static int
count_incrementals(struct state *s, const char *medium_id, uint64_t newest,
                   uint64_t *n, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(
            s->db,
            "SELECT count(*) FROM sets WHERE medium_id = ?1 AND removed = 0 "
            "AND kind = 'incremental' AND sequence <= ?2 AND sequence > "
            "(SELECT coalesce(max(sequence), 0) FROM sets WHERE medium_id = "
            "?1 AND removed = 0 AND kind = 'full')",
            -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot read the sets");
    sqlite3_bind_text(st, 1, medium_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)newest);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *n = (uint64_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        db_fail(s, err, "cannot read the sets");
    }
    sqlite3_finalize(st);
    return rc;
}

int
state_newest_on_medium(struct state *s, const char *medium_id,
                       struct state_set *out, int *found,
                       uint64_t *incrementals, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1, r;

    memset(out, 0, sizeof *out);
    *found = 0;
    *incrementals = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT sequence, set_id, set_dir, kind, "
                           "manifest_sha256, created FROM sets WHERE "
                           "medium_id = ? AND removed = 0 ORDER BY sequence "
                           "DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot read the sets");
    sqlite3_bind_text(st, 1, medium_id, -1, SQLITE_TRANSIENT);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->sequence = (uint64_t)sqlite3_column_int64(st, 0);
        column_copy(st, 1, out->set_id, sizeof out->set_id);
        column_copy(st, 2, out->set_dir, sizeof out->set_dir);
        column_copy(st, 3, out->kind, sizeof out->kind);
        if (column_hash(st, 4, out->manifest_sha256, err) == -1)
            goto out;
        out->created = sqlite3_column_int64(st, 5);
        *found = 1;
    } else if (r != SQLITE_DONE) {
        db_fail(s, err, "cannot read the sets");
        goto out;
    }
    if (*found &&
        count_incrementals(s, medium_id, out->sequence, incrementals, err) ==
            -1)
        goto out;
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int
state_has_index(struct state *s, const char *medium_id, int *has,
                struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT 1 FROM objects WHERE medium_id = ? LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot read the listing");
    sqlite3_bind_text(st, 1, medium_id, -1, SQLITE_TRANSIENT);
    switch (sqlite3_step(st)) {
    case SQLITE_ROW:
        *has = 1;
        rc = 0;
        break;
    case SQLITE_DONE:
        *has = 0;
        rc = 0;
        break;
    default:
        db_fail(s, err, "cannot read the listing");
    }
    sqlite3_finalize(st);
    return rc;
}

int
state_pack_begin(struct state *s, struct cm_err *err)
{
    if (exec(s,
             "BEGIN IMMEDIATE; DROP INDEX IF EXISTS temp.staged_key; "
             "DELETE FROM staged;",
             err) == -1)
        return -1;
    s->in_pack = 1;
    return 0;
}

int
state_object_get(struct state *s, const char *medium_id, const void *key,
                 size_t keylen, struct state_object *out, struct cm_err *err)
{
    int r, rc = -1;

    sqlite3_reset(s->get);
    sqlite3_bind_text(s->get, 1, medium_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s->get, 2, key, (int)keylen, SQLITE_TRANSIENT);
    r = sqlite3_step(s->get);
    if (r == SQLITE_DONE)
        rc = 0;
    else if (r != SQLITE_ROW)
        db_fail(s, err, "cannot read the listing");
    else {
        out->size = (uint64_t)sqlite3_column_int64(s->get, 0);
        out->mtime = sqlite3_column_int64(s->get, 1);
        out->mtime_ns = (uint32_t)sqlite3_column_int64(s->get, 2);
        out->line = cm_strdup((const char *)sqlite3_column_text(s->get, 3),
                              err);
        rc = out->line == NULL ? -1 : 1;
    }
    sqlite3_reset(s->get);
    return rc;
}

int
state_object_put(struct state *s, const void *key, size_t keylen,
                 uint64_t size, int64_t mtime, uint32_t mtime_ns,
                 const char *line, size_t linelen, struct cm_err *err)
{
    int rc = 0;

    sqlite3_reset(s->put);
    sqlite3_bind_blob(s->put, 1, key, (int)keylen, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s->put, 2, (sqlite3_int64)size);
    sqlite3_bind_int64(s->put, 3, mtime);
    sqlite3_bind_int64(s->put, 4, mtime_ns);
    sqlite3_bind_text(s->put, 5, line, (int)linelen, SQLITE_TRANSIENT);
    if (sqlite3_step(s->put) != SQLITE_DONE)
        rc = db_fail(s, err, "cannot stage the listing");
    sqlite3_reset(s->put);
    return rc;
}

int
state_object_keep(struct state *s, const void *key, size_t keylen,
                  struct cm_err *err)
{
    int rc = 0;

    sqlite3_reset(s->keep);
    sqlite3_bind_blob(s->keep, 1, key, (int)keylen, SQLITE_TRANSIENT);
    if (sqlite3_step(s->keep) != SQLITE_DONE)
        rc = db_fail(s, err, "cannot stage the listing");
    sqlite3_reset(s->keep);
    return rc;
}

int
state_object_carry(struct state *s, const char *medium_id, const void *prefix,
                   size_t len, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    uint8_t end[4096];
    int rc = -1;

    if (len == 0 || len > sizeof end ||
        ((const uint8_t *)prefix)[len - 1] == 0xff)
        return cm_fail(err, CM_EINTERNAL, "state: bad key prefix");
    memcpy(end, prefix, len);
    end[len - 1]++;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO staged (key, size, mtime, mtime_ns, "
                           "line) SELECT key, 0, 0, 0, NULL FROM objects "
                           "WHERE medium_id = ? AND key >= ? AND key < ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot stage the listing");
    sqlite3_bind_text(st, 1, medium_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, prefix, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, end, (int)len, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        db_fail(s, err, "cannot stage the listing");
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

static int
insert_set(struct state *s, const struct manifest *m,
           const uint8_t manifest_sha256[32], const char *set_dir,
           const char *medium_id, uint64_t bytes_written, struct cm_err *err)
{
    char id[33], base[33], sha[65];
    sqlite3_stmt *st = NULL;
    int rc = -1;

    manifest_set_id_hex(m->set_id, id);
    manifest_set_id_hex(m->base, base);
    hex_encode(sha, manifest_sha256, 32);
    if (sqlite3_prepare_v2(
            s->db,
            "INSERT INTO sets (sequence, set_id, manifest_sha256, created, "
            "kind, base, medium_id, medium, set_dir, messages, objects, "
            "bytes_in, bytes_written, chain_break) VALUES "
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot record the set");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)m->sequence);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, sha, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, m->created);
    sqlite3_bind_text(st, 5, m->kind, -1, SQLITE_TRANSIENT);
    if (m->has_base)
        sqlite3_bind_text(st, 6, base, -1, SQLITE_TRANSIENT);
    if (medium_id != NULL)
        sqlite3_bind_text(st, 7, medium_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 8, m->medium ? m->medium : "", -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, set_dir, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)m->messages);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)m->objects);
    sqlite3_bind_int64(st, 12, (sqlite3_int64)m->bytes_in);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)bytes_written);
    if (m->chain_break != NULL)
        sqlite3_bind_text(st, 14, m->chain_break, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        db_fail(s, err, "cannot record the set");
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

/*
 * The medium's listing becomes the staged one.  Only what changed is
 * written (rows kept as they are carry no line): an incremental set of a
 * store that barely changed rewrites next to nothing.  Of a key staged
 * twice, the last line counts.
 */
static int
swap_listing(struct state *s, const char *medium_id, struct cm_err *err)
{
    sqlite3_stmt *del = NULL, *ins = NULL;
    int rc = -1;

    if (exec(s, "CREATE INDEX IF NOT EXISTS temp.staged_key ON staged (key);",
             err) == -1)
        return -1;
    if (sqlite3_prepare_v2(s->db,
                           "DELETE FROM objects WHERE medium_id = ?1 AND key "
                           "NOT IN (SELECT key FROM temp.staged)",
                           -1, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO objects (medium_id, key, "
                           "size, mtime, mtime_ns, line) SELECT ?1, key, "
                           "size, mtime, mtime_ns, line FROM temp.staged "
                           "WHERE line IS NOT NULL ORDER BY rowid",
                           -1, &ins, NULL) != SQLITE_OK) {
        db_fail(s, err, "cannot replace the listing");
        goto out;
    }
    sqlite3_bind_text(del, 1, medium_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 1, medium_id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(del) != SQLITE_DONE || sqlite3_step(ins) != SQLITE_DONE) {
        db_fail(s, err, "cannot replace the listing");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    return rc;
}

int
state_pack_commit(struct state *s, const struct manifest *m,
                  const uint8_t manifest_sha256[32], const char *set_dir,
                  const char *medium_id, uint64_t bytes_written,
                  struct cm_err *err)
{
    if (!s->in_pack && state_pack_begin(s, err) == -1)
        return -1;
    if (insert_set(s, m, manifest_sha256, set_dir, medium_id, bytes_written,
                   err) == -1 ||
        (medium_id != NULL && swap_listing(s, medium_id, err) == -1) ||
        exec(s, "DELETE FROM staged; COMMIT;", err) == -1) {
        state_pack_abort(s);
        return -1;
    }
    s->in_pack = 0;
    return 0;
}

void
state_pack_abort(struct state *s)
{
    if (s == NULL || !s->in_pack)
        return;
    sqlite3_exec(s->db, "ROLLBACK;", NULL, NULL, NULL);
    s->in_pack = 0;
}

void
state_close(struct state *s)
{
    if (s == NULL)
        return;
    state_pack_abort(s);
    sqlite3_finalize(s->get);
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->keep);
    if (s->db != NULL)
        sqlite3_close(s->db);
    if (s->lock_fd != -1)
        close(s->lock_fd);
    free(s->dir);
    free(s);
}

/* ------------------------------------------------------------------ */
/* Rotation: state rebuild, prune, hold                                */

static int
step_done(struct state *s, sqlite3_stmt *st, const char *what,
          struct cm_err *err)
{
    int r = sqlite3_step(st);

    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : db_fail(s, err, what);
}

/* The set id recorded with ${sequence} into ${id}: 1, 0 if none, -1. */
static int
set_at_sequence(struct state *s, uint64_t sequence, char id[33],
                struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    int r;

    if (sqlite3_prepare_v2(s->db, "SELECT set_id FROM sets WHERE sequence = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot read the sets");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)sequence);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        column_copy(st, 0, id, 33);
    sqlite3_finalize(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return db_fail(s, err, "cannot read the sets");
    return r == SQLITE_ROW;
}

int
state_set_import(struct state *s, const struct manifest *m,
                 const uint8_t manifest_sha256[32], const char *set_dir,
                 const char *medium_id, uint64_t bytes, struct cm_err *err)
{
    char id[33], known[33];
    sqlite3_stmt *st = NULL;
    int r;

    manifest_set_id_hex(m->set_id, id);
    if ((r = set_at_sequence(s, m->sequence, known, err)) == -1)
        return -1;
    if (r == 1 && strcmp(known, id) != 0)
        return cm_fail(err, CM_ECONFLICT,
                       "sequence %llu is recorded for set %s, not %s (a "
                       "fork in the chain?)",
                       (unsigned long long)m->sequence, known, id);
    if (r == 0)
        return insert_set(s, m, manifest_sha256, set_dir, medium_id, bytes,
                          err) == -1
                   ? -1
                   : 1;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE sets SET removed = 0, set_dir = ? WHERE "
                           "set_id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot record the set");
    sqlite3_bind_text(st, 1, set_dir, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    return step_done(s, st, "cannot record the set", err);
}

int
state_forget_listing(struct state *s, const char *medium_id, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(s->db, "DELETE FROM objects WHERE medium_id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot update the listing");
    sqlite3_bind_text(st, 1, medium_id, -1, SQLITE_TRANSIENT);
    return step_done(s, st, "cannot update the listing", err);
}

int
state_set_removed(struct state *s, const char *set_id, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(s->db,
                           "UPDATE sets SET removed = 1 WHERE set_id = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot record the removal");
    sqlite3_bind_text(st, 1, set_id, -1, SQLITE_TRANSIENT);
    return step_done(s, st, "cannot record the removal", err);
}

int
state_set_hold(struct state *s, const char *set_id, int held,
               const char *reason, int *found, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(s->db,
                           "UPDATE sets SET held = ?, hold_reason = "
                           "coalesce(?, hold_reason) WHERE set_id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot record the hold");
    sqlite3_bind_int(st, 1, held ? 1 : 0);
    if (reason != NULL)
        sqlite3_bind_text(st, 2, reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, set_id, -1, SQLITE_TRANSIENT);
    if (step_done(s, st, "cannot record the hold", err) == -1)
        return -1;
    *found = sqlite3_changes(s->db) > 0;
    return 0;
}

int
state_set_held(struct state *s, const char *set_id, char *reason,
               size_t reasonlen, struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    int r, held = 0;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT hold_reason FROM sets WHERE set_id = ? AND "
                           "held != 0",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot read the holds");
    sqlite3_bind_text(st, 1, set_id, -1, SQLITE_TRANSIENT);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        column_copy(st, 0, reason, reasonlen);
        held = 1;
    }
    sqlite3_finalize(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return db_fail(s, err, "cannot read the holds");
    return held;
}

int
state_exists(const char *dir)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/state.db", dir);
    return access(path, F_OK) == 0;
}
