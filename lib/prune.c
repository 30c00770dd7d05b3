#include "prune.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "hold.h"
#include "io.h"
#include "manifest.h"
#include "medium.h"
#include "mediumscan.h"
#include "state.h"

/* One set of the medium, as its MANIFEST says. */
struct pset {
    char *name;
    char kind[16];
    uint8_t id[MANIFEST_SET_ID_SIZE];
    int has_base;
    uint8_t base[MANIFEST_SET_ID_SIZE];
    uint8_t sha[32];
    uint64_t sequence;
    int64_t created;
    uint64_t bytes;
    uint32_t part; /* of a set that spans media; 0 if it does not */
    long root; /* index of its chain's full set; -1 if broken */
    int point; /* a kept point */
    int held;
    char reason[HOLD_REASON_MAX + 1];
    enum prune_fate fate;
};

struct pruner {
    const struct prune_opts *o;
    struct prune_result *res;
    struct state *state;
    struct pset *sets;
    size_t n, cap;
    int warned_unchecked;
};

static void warn(struct pruner *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
warn(struct pruner *p, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (p->o->warn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->o->warn(p->o->ctx, msg);
}

static int
add_set(void *ctx, const struct mediumscan_set *s, struct cm_err *err)
{
    struct pruner *p = ctx;
    struct pset *ps;

    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct pset *grown;
        if (cap > PRUNE_SETS_MAX)
            return cm_fail(err, CM_EFORMAT, "%s: more than %d sets",
                           p->o->medium_dir, PRUNE_SETS_MAX);
        if ((grown = realloc(p->sets, cap * sizeof *grown)) == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        p->sets = grown;
        p->cap = cap;
    }
    ps = &p->sets[p->n];
    memset(ps, 0, sizeof *ps);
    if ((ps->name = cm_strdup(s->name, err)) == NULL)
        return -1;
    p->n++;
    snprintf(ps->kind, sizeof ps->kind, "%s", s->m->kind);
    memcpy(ps->id, s->m->set_id, sizeof ps->id);
    ps->has_base = s->m->has_base;
    memcpy(ps->base, s->m->base, sizeof ps->base);
    memcpy(ps->sha, s->manifest_sha256, 32);
    ps->sequence = s->m->sequence;
    ps->created = s->m->created;
    ps->part = s->m->part;
    ps->bytes = mediumscan_dir_bytes(s->dir);
    return 0;
}

static void
note_unreadable(void *ctx, const char *name, const struct cm_err *why)
{
    warn(ctx, "%s: kept, its MANIFEST cannot be read: %s", name, why->msg);
}

/* Oldest first: creation time, then sequence, then name. */
static int
by_age(const void *a, const void *b)
{
    const struct pset *x = a, *y = b;

    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    if (x->sequence != y->sequence)
        return x->sequence < y->sequence ? -1 : 1;
    return strcmp(x->name, y->name);
}

static long
find_id(const struct pruner *p, const uint8_t id[MANIFEST_SET_ID_SIZE])
{
    for (size_t i = 0; i < p->n; i++)
        if (memcmp(p->sets[i].id, id, MANIFEST_SET_ID_SIZE) == 0)
            return (long)i;
    return -1;
}

/* Follow the bases of set ${i} back to a full set on the medium. */
static long
chain_root(const struct pruner *p, size_t i)
{
    long at = (long)i;

    for (size_t steps = 0; steps <= p->n; steps++) {
        const struct pset *s = &p->sets[at];
        if (strcmp(s->kind, "full") == 0 && !s->has_base)
            return at;
        if (!s->has_base || (at = find_id(p, s->base)) == -1)
            return -1;
    }
    return -1; /* a loop of bases: a hostile or broken medium */
}

/* ------------------------------------------------------------------ */
/* Holds                                                               */

static int
check_hold(struct pruner *p, struct pset *s, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    char id[33], reason[HOLD_REASON_MAX + 1];
    struct hold h;
    int r;

    switch (
        hold_check(p->o->medium_dir, s->name, p->o->signer, s->sha, &h, &why)) {
    case HOLD_NONE:
        break;
    case HOLD_BAD:
        warn(p, "%s: kept: its hold file does not verify (%s)", s->name,
             why.msg);
        s->held = 1;
        break;
    case HOLD_UNCHECKED:
        if (!p->warned_unchecked++)
            warn(p, "hold files are honoured but not verified: no signing "
                    "key given (-s)");
        /* fall through */
    case HOLD_VALID:
        s->held = 1;
        snprintf(s->reason, sizeof s->reason, "%s", h.reason);
        break;
    }
    if (p->state == NULL)
        return 0;
    manifest_set_id_hex(s->id, id);
    if ((r = state_set_held(p->state, id, reason, sizeof reason, err)) == -1)
        return -1;
    if (r == 1 && !s->held) {
        warn(p,
             "%s: kept: held in the state, but there is no hold file on "
             "the medium",
             s->name);
        s->held = 1;
        snprintf(s->reason, sizeof s->reason, "%s", reason);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The plan                                                            */

static void
mark_points(struct pruner *p)
{
    unsigned kept = 0;

    for (size_t i = p->n; i-- > 0;) {
        if (p->sets[i].root == -1 || p->sets[i].part != 0)
            continue;
        p->res->points++;
        if (kept < p->o->keep) {
            p->sets[i].point = 1;
            kept++;
        }
    }
    p->res->points_kept = kept;
}

/* Is the chain rooted at ${root} to be kept (a point or a hold in it)? */
static int
chain_kept(const struct pruner *p, long root)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->sets[i].root == root && (p->sets[i].point || p->sets[i].held))
            return 1;
    return 0;
}

/* The index of the oldest kept point (the sets are oldest first), or n. */
static size_t
oldest_point(const struct pruner *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->sets[i].point)
            return i;
    return p->n;
}

static void
decide(struct pruner *p)
{
    size_t oldest = oldest_point(p);

    for (size_t i = 0; i < p->n; i++) {
        struct pset *s = &p->sets[i];
        int kept = s->root != -1 && chain_kept(p, s->root);
        if (s->root == (long)i)
            p->res->chains++;
        if (s->held)
            s->fate = PRUNE_KEEP_HELD;
        else if (s->root == -1)
            s->fate = PRUNE_KEEP_BROKEN;
        else if (s->point)
            s->fate = PRUNE_KEEP_POINT;
        else if (s->part != 0 && (oldest == p->n || i > oldest))
            s->fate = PRUNE_KEEP_PART;
        else
            s->fate = kept ? PRUNE_KEEP_CHAIN : PRUNE_REMOVE;
        p->res->held += s->held != 0;
        if (s->fate == PRUNE_REMOVE) {
            p->res->removed++;
            p->res->points_removed += s->part == 0;
            p->res->bytes_freed += s->bytes;
            p->res->chains_removed += s->root == (long)i;
        }
    }
}

static int
plan(struct pruner *p, struct cm_err *err)
{
    for (size_t i = 0; i < p->n; i++) {
        if (check_hold(p, &p->sets[i], err) == -1)
            return -1;
        p->sets[i].root = chain_root(p, i);
        if (p->sets[i].root == -1)
            warn(p,
                 "%s: kept: not restorable, a set it builds on is not "
                 "on the medium",
                 p->sets[i].name);
    }
    mark_points(p);
    decide(p);
    for (size_t i = 0; i < p->n && p->o->on_set != NULL; i++) {
        const struct pset *s = &p->sets[i];
        struct prune_set out = {
            s->name,     s->kind,
            s->sequence, s->created,
            s->bytes,    s->root == -1 ? NULL : p->sets[s->root].name,
            s->fate,     s->held ? s->reason : NULL};
        p->o->on_set(p->o->ctx, &out);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Removal                                                             */

static int
unlink_in(int dfd, const char *dir, const char *name, struct cm_err *err)
{
    if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
        return cm_fail_errno(err, errno, "%s/%s: cannot remove", dir, name);
    return 0;
}

/* Delete a renamed set: MANIFEST first, then every file, then itself. */
static int
finish_removal(const char *dir, struct cm_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = -1;

    if (d == NULL)
        return cm_fail_errno(err, errno, "%s: cannot open", dir);
    if (unlink_in(dirfd(d), dir, "MANIFEST.minisig", err) == -1 ||
        unlink_in(dirfd(d), dir, "MANIFEST", err) == -1)
        goto out;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlink_in(dirfd(d), dir, de->d_name, err) == -1)
            goto out;
    }
    rc = 0;
out:
    closedir(d);
    if (rc == 0 && rmdir(dir) == -1)
        rc = cm_fail_errno(err, errno, "%s: cannot remove", dir);
    return rc;
}

static int
remove_set(struct pruner *p, const struct pset *s, struct cm_err *err)
{
    const char *medium = p->o->medium_dir;
    char from[4096], to[4200], id[33];
    struct cm_err ignored = CM_ERR_INIT;
    struct hold h;

    /* A hold placed since the plan was made wins. */
    if (hold_check(medium, s->name, NULL, NULL, &h, &ignored) != HOLD_NONE)
        return cm_fail(err, CM_EUSAGE, "%s: held while pruning; stopped",
                       s->name);
    snprintf(from, sizeof from, "%s/%s", medium, s->name);
    snprintf(to, sizeof to, "%s%s", from, PRUNE_REMOVING_SUFFIX);
    if (io_rename(from, to, err) == -1 || io_fsync_dir(medium, err) == -1 ||
        finish_removal(to, err) == -1 || io_fsync_dir(medium, err) == -1)
        return -1;
    if (p->state == NULL)
        return 0;
    manifest_set_id_hex(s->id, id);
    return state_set_removed(p->state, id, err);
}

static int
is_removing(const char *name)
{
    size_t n = strlen(name), s = strlen(PRUNE_REMOVING_SUFFIX);

    return strncmp(name, "coldmail-", 9) == 0 && n > s &&
           strcmp(name + n - s, PRUNE_REMOVING_SUFFIX) == 0;
}

/* Directories an interrupted prune was removing. */
static int
finish_leftovers(struct pruner *p, struct cm_err *err)
{
    DIR *d = opendir(p->o->medium_dir);
    struct dirent *de;
    char path[4096];
    int rc = 0;

    if (d == NULL)
        return cm_fail_errno(err, errno, "%s: cannot list the medium",
                             p->o->medium_dir);
    while (rc == 0 && (de = readdir(d)) != NULL) {
        struct stat st;
        if (!is_removing(de->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", p->o->medium_dir, de->d_name);
        if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode))
            continue;
        warn(p, "%s: %s the removal an interrupted prune began", de->d_name,
             p->o->dry_run ? "would finish" : "finishing");
        if (!p->o->dry_run)
            rc = finish_removal(path, err);
    }
    closedir(d);
    return rc;
}

static int
execute(struct pruner *p, struct cm_err *err)
{
    for (size_t i = p->n; i-- > 0;)
        if (p->sets[i].fate == PRUNE_REMOVE &&
            remove_set(p, &p->sets[i], err) == -1)
            return -1;
    return 0;
}

/* The medium's new sizes, for status. */
static void
note_sizes(struct pruner *p)
{
    struct cm_err ignored = CM_ERR_INIT;
    struct medium_label l;
    struct statvfs vfs;

    if (p->state == NULL ||
        medium_read(p->o->medium_dir, NULL, &l, &ignored) != 1 ||
        statvfs(p->o->medium_dir, &vfs) == -1)
        return;
    state_medium_seen(p->state, &l, p->o->medium_dir,
                      (uint64_t)vfs.f_blocks * vfs.f_frsize,
                      (uint64_t)vfs.f_bavail * vfs.f_frsize, &ignored);
}

static int
check_medium(const struct prune_opts *o, struct cm_err *err)
{
    struct medium_label l;
    struct stat st;

    if (o->keep == 0)
        return cm_fail(err, CM_EUSAGE,
                       "--keep must be at least 1 (prune never empties a "
                       "medium)");
    if (stat(o->medium_dir, &st) == -1 || !S_ISDIR(st.st_mode))
        return cm_fail(err, CM_EUSAGE, "%s: not a directory", o->medium_dir);
    if (o->signer != NULL &&
        medium_read(o->medium_dir, o->signer, &l, err) == -1)
        return cm_err_prefix(err,
                             "%s: not pruned: the medium's label does not "
                             "verify with the signing key",
                             o->medium_dir);
    return 0;
}

int
prune_run(const struct prune_opts *o, struct prune_result *res,
          struct cm_err *err)
{
    struct pruner p;
    int rc = -1;

    memset(&p, 0, sizeof p);
    memset(res, 0, sizeof *res);
    p.o = o;
    p.res = res;
    if (check_medium(o, err) == -1)
        goto out;
    if (o->state_dir != NULL && state_exists(o->state_dir)) {
        if (state_open(o->state_dir, o->dry_run, &p.state, err) == -1)
            goto out;
        res->used_state = 1;
    }
    if (finish_leftovers(&p, err) == -1 ||
        mediumscan_sets(o->medium_dir, add_set, note_unreadable, &p, err) == -1)
        goto out;
    qsort(p.sets, p.n, sizeof *p.sets, by_age);
    res->sets = (unsigned)p.n;
    if (plan(&p, err) == -1 || (!o->dry_run && execute(&p, err) == -1))
        goto out;
    rc = 0;
out:
    if (!o->dry_run)
        note_sizes(&p);
    for (size_t i = 0; i < p.n; i++)
        free(p.sets[i].name);
    free(p.sets);
    state_close(p.state);
    return rc;
}
