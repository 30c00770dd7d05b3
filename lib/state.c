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

struct state {
    char *dir;
    int lock_fd;
    sqlite3 *db;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS sets ("
    " sequence INTEGER PRIMARY KEY,"
    " set_id TEXT NOT NULL UNIQUE,"
    " manifest_sha256 TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " base TEXT,"
    " medium TEXT,"
    " set_dir TEXT NOT NULL,"
    " messages INTEGER NOT NULL,"
    " bytes_in INTEGER NOT NULL);";

static int
db_fail(struct state *s, struct cm_err *err, const char *what)
{
    return cm_fail(err, CM_EIO, "%s/state.db: %s: %s", s->dir, what,
                   sqlite3_errmsg(s->db));
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
        ssize_t n = pread(s->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (errno == EWOULDBLOCK)
            return cm_fail(err, CM_EBUSY,
                           "%s: another coldmail run holds the lock%s%s%s",
                           s->dir, *pid ? " (pid " : "", pid,
                           *pid ? ")" : "");
        return cm_fail_errno(err, errno, "%s: cannot lock", path);
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
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(s->db, "PRAGMA synchronous=FULL;", NULL, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot set up");
    return 0;
}

int
state_open(const char *dir, struct state **out, struct cm_err *err)
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
    if (access(dir, W_OK) == -1) {
        cm_fail_errno(err, errno, "state directory %s: not writable", dir);
        goto fail;
    }
    if (take_lock(s, err) == -1 || open_db(s, err) == -1)
        goto fail;
    *out = s;
    return 0;
fail:
    state_close(s);
    return -1;
}

int
state_chain_head(struct state *s, struct state_chain_head *head,
                 struct cm_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1, r;

    memset(head, 0, sizeof *head);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT sequence, manifest_sha256 FROM sets "
                           "ORDER BY sequence DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot read the chain");
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *hex = (const char *)sqlite3_column_text(st, 1);
        head->sequence = (uint64_t)sqlite3_column_int64(st, 0);
        if (hex == NULL ||
            hex_decode(head->manifest_sha256, 32, hex, strlen(hex),
                       "state manifest hash", err) == -1)
            goto out;
        head->has_manifest = 1;
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
state_record_set(struct state *s, const struct manifest *m,
                 const uint8_t manifest_sha256[32], const char *set_dir,
                 struct cm_err *err)
{
    char id[33], base[33], sha[65];
    sqlite3_stmt *st = NULL;
    int rc = -1;

    manifest_set_id_hex(m->set_id, id);
    manifest_set_id_hex(m->base, base);
    hex_encode(sha, manifest_sha256, 32);
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO sets (sequence, set_id, "
                           "manifest_sha256, created, kind, base, medium, "
                           "set_dir, messages, bytes_in) VALUES "
                           "(?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "cannot record the set");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)m->sequence);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, sha, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, m->created);
    sqlite3_bind_text(st, 5, m->kind, -1, SQLITE_TRANSIENT);
    if (m->has_base)
        sqlite3_bind_text(st, 6, base, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, m->medium ? m->medium : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 8, set_dir, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)m->messages);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)m->bytes_in);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_fail(s, err, "cannot record the set");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

void
state_close(struct state *s)
{
    if (s == NULL)
        return;
    if (s->db != NULL)
        sqlite3_close(s->db);
    if (s->lock_fd != -1)
        close(s->lock_fd);
    free(s->dir);
    free(s);
}
