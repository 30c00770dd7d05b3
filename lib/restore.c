#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "manifest.h"
#include "restore_int.h"

/* ------------------------------------------------------------------ */
/* Events and counts                                                   */

void
rs_event(struct rctx *c, enum restore_event_kind kind, const char *path,
         const char *message_id, const struct cm_err *why)
{
    struct restore_event ev = {kind, path, message_id,
                               why != NULL ? why->msg : NULL};

    if (c->o->event != NULL)
        c->o->event(c->o->ctx, &ev);
}

void
rs_lost(struct rctx *c, const struct catalog_entry *e, struct cm_err *err)
{
    c->res->lost++;
    c->res->lost_bytes += e->size;
    if (e->kind == CATALOG_MESSAGE)
        c->res->lost_messages++;
    rs_event(c, RESTORE_LOST, e->path.p, e->message_id, err);
    cm_err_clear(err);
}

int
rs_target_error(struct rctx *c, const char *path, const char *message_id,
                struct cm_err *err)
{
    if (err->code == CM_ENOSPC || err->code == CM_EINTR ||
        err->code == CM_EINTERNAL)
        return -1;
    if (err->code == CM_EFORMAT) {
        c->res->refused++;
        rs_event(c, RESTORE_REFUSED, path, message_id, err);
    } else {
        c->res->failed++;
        rs_event(c, RESTORE_FAILED, path, message_id, err);
    }
    cm_err_clear(err);
    return 0;
}

void
rs_outcome(struct rctx *c, const char *path, int result)
{
    if (result == EXTRACT_PRESENT) {
        c->res->present++;
    } else if (result == EXTRACT_CONFLICT) {
        c->res->conflicts++;
        rs_event(c, RESTORE_CONFLICT, path, NULL, NULL);
    }
}

int
rs_check_stop(const struct rctx *c, struct cm_err *err)
{
    if (c->o->interrupted != NULL && *c->o->interrupted)
        return cm_fail(err, CM_EINTR, "interrupted");
    return 0;
}

void
rs_progress(struct rctx *c, uint64_t items, uint64_t bytes)
{
    if (c->o->progress != NULL)
        c->o->progress(c->o->ctx, items, bytes);
}

void
rs_meta(const struct catalog_entry *e, struct extract_meta *m)
{
    m->mode = e->mode;
    m->mtime = e->mtime;
    m->mtime_ns = e->mtime_ns;
    m->uid = e->uid;
    m->gid = e->gid;
}

int
rs_write_file(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    return extract_file_write(ctx, p, len, err);
}

/* ------------------------------------------------------------------ */
/* Ancestor directories                                                */

static int
is_ancestor(const struct rdir *d, const char *path, size_t len)
{
    return d->len < len && path[d->len] == '/' &&
           memcmp(d->path, path, d->len) == 0;
}

static void
pop_to(struct rctx *c, const char *path, size_t len)
{
    while (c->depth > 0 && !is_ancestor(&c->stack[c->depth - 1], path, len))
        free(c->stack[--c->depth].path);
}

int
rs_dir_seen(struct rctx *c, const char *path, size_t len,
            const struct extract_meta *m, struct cm_err *err)
{
    struct rdir *d;

    pop_to(c, path, len);
    if (c->depth == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        if (cap > EXTRACT_DEPTH_MAX + 1)
            return 0; /* deeper than extract goes: left to it */
        d = realloc(c->stack, cap * sizeof *d);
        if (d == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        c->stack = d;
        c->cap = cap;
    }
    d = &c->stack[c->depth];
    if ((d->path = cm_malloc(len + 1, err)) == NULL)
        return -1;
    memcpy(d->path, path, len);
    d->path[len] = '\0';
    d->len = len;
    d->meta = *m;
    d->done = 0;
    c->depth++;
    return 0;
}

static int
make_dir(struct rctx *c, struct rdir *d, struct cm_err *err)
{
    int r = extract_dir(c->x, d->path, &d->meta, err);

    d->done = 1;
    if (r == -1)
        return rs_target_error(c, d->path, NULL, err);
    if (r == EXTRACT_CREATED)
        c->res->dirs++;
    rs_outcome(c, d->path, r);
    rs_progress(c, 1, 0);
    return 0;
}

int
rs_ancestors(struct rctx *c, const char *path, size_t len, struct cm_err *err)
{
    struct rdir *top;

    /* The top may be the object itself (a directory just seen). */
    if (c->depth > 0) {
        top = &c->stack[c->depth - 1];
        if (!(top->len == len && memcmp(top->path, path, len) == 0))
            pop_to(c, path, len);
    }
    for (size_t i = 0; i < c->depth; i++)
        if (!c->stack[i].done && make_dir(c, &c->stack[i], err) == -1)
            return -1;
    return 0;
}

static void
stack_free(struct rctx *c)
{
    while (c->depth > 0)
        free(c->stack[--c->depth].path);
    free(c->stack);
    c->stack = NULL;
    c->cap = 0;
}

/* ------------------------------------------------------------------ */
/* One record                                                          */

static int
restore_symlink(struct rctx *c, const struct catalog_entry *e,
                struct cm_err *err)
{
    struct extract_meta m;
    int r;

    rs_meta(e, &m);
    r = extract_symlink(c->x, e->path.p, e->link.p, e->link.len, &m, err);
    if (r == -1)
        return rs_target_error(c, e->path.p, NULL, err);
    if (r == EXTRACT_CREATED)
        c->res->symlinks++;
    rs_outcome(c, e->path.p, r);
    rs_progress(c, 1, 0);
    return 0;
}

static int
restore_file(struct rctx *c, const struct catalog_entry *e, struct cm_err *err)
{
    struct extract_file *f = NULL;
    struct extract_meta m;
    int r;

    rs_meta(e, &m);
    if (extract_file_open(c->x, e->path.p, e->size, &m, &f, err) == -1)
        return rs_target_error(c, e->path.p, e->message_id, err);
    r = objread_copy(c->rd, e, rs_write_file, f, NULL, err);
    if (r != 0) {
        extract_file_abort(f);
        rs_progress(c, 1, e->size);
        if (r == OBJREAD_SINK_FAILED)
            return rs_target_error(c, e->path.p, e->message_id, err);
        if (err->code == CM_EINTERNAL)
            return -1;
        rs_lost(c, e, err);
        return 0;
    }
    if ((r = extract_file_commit(f, err)) == -1)
        return rs_target_error(c, e->path.p, e->message_id, err);
    if (r == EXTRACT_CREATED) {
        c->res->bytes += e->size;
        if (e->kind == CATALOG_MESSAGE)
            c->res->messages++;
        else
            c->res->files++;
    }
    rs_outcome(c, e->path.p, r);
    rs_progress(c, 1, e->size);
    return 0;
}

static int
restore_entry(struct rctx *c, const struct catalog_entry *e, struct cm_err *err)
{
    const struct filter *f = c->o->filter;

    if (e->in_mbox) {
        if (f != NULL && !filter_match_mbox_file(f, e) && filter_match(f, e))
            return rmbox_batch_add(c, e, err);
        return 0;
    }
    if (rmbox_batch_flush(c, e, err) == -1)
        return -1;
    if (e->kind == CATALOG_DIR) {
        struct extract_meta m;
        rs_meta(e, &m);
        if (rs_dir_seen(c, e->path.p, e->path.len, &m, err) == -1)
            return -1;
    }
    if (f != NULL && !filter_match(f, e))
        return 0;
    if (rs_ancestors(c, e->path.p, e->path.len, err) == -1)
        return -1;
    switch (e->kind) {
    case CATALOG_DIR:
        return 0; /* created as the top of the stack */
    case CATALOG_SYMLINK:
        return restore_symlink(c, e, err);
    case CATALOG_FILE:
    case CATALOG_MESSAGE:
        return restore_file(c, e, err);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The catalog                                                         */

int
rs_catalog_open(struct rctx *c, struct catalog_reader **out, struct cm_err *err)
{
    const struct manifest *m = setr_manifest(c->o->set);
    struct catalog_reader *r;

    if (setr_catalog_open(c->o->set, &r, err) == -1)
        return -1;
    if (memcmp(catalog_reader_header(r)->set_id, m->set_id,
               MANIFEST_SET_ID_SIZE) != 0) {
        catalog_reader_free(r);
        return cm_fail(err, CM_EFORMAT,
                       "catalog.jsonl.zst.age: its header names another set");
    }
    *out = r;
    return 0;
}

/* Feed the whole catalog to the filter's folder learning. */
static int
learn_folders(struct rctx *c, struct cm_err *err)
{
    struct catalog_reader *r = NULL;
    struct catalog_entry e;
    int got, rc = -1;

    catalog_entry_init(&e);
    if (rs_catalog_open(c, &r, err) == -1)
        goto out;
    while ((got = catalog_reader_next(r, &e, err)) == 1)
        if (filter_learn(c->o->filter, &e, err) == -1)
            goto out;
    if (got == -1)
        goto out;
    rc = filter_learn_done(c->o->filter, err);
out:
    if (rc == -1 && err->code != CM_EINTERNAL)
        cm_err_prefix(err, "--folder needs a readable catalog");
    catalog_entry_free(&e);
    catalog_reader_free(r);
    return rc;
}

/*
 * Returns 0 at the catalog's end, -1 to stop, 1 if the catalog could not
 * be read (${err} says why): the caller falls back to the volumes.
 */
static int
layout_from_catalog(struct rctx *c, struct cm_err *err)
{
    struct catalog_reader *r = NULL;
    struct catalog_entry e;
    int got, rc = -1;

    catalog_entry_init(&e);
    if (rs_catalog_open(c, &r, err) == -1) {
        rc = err->code == CM_EINTERNAL ? -1 : 1;
        goto out;
    }
    while ((got = catalog_reader_next(r, &e, err)) == 1) {
        io_test_pause(e.path.p);
        if (rs_check_stop(c, err) == -1 || restore_entry(c, &e, err) == -1)
            goto out;
    }
    if (got == -1 && err->code != CM_EINTERNAL) {
        struct cm_err broken = *err;
        cm_err_clear(err);
        if (rmbox_batch_flush(c, NULL, err) == -1)
            goto out;
        *err = broken;
        rc = 1;
        goto out;
    }
    if (got == 0)
        rc = rmbox_batch_flush(c, NULL, err);
out:
    catalog_entry_free(&e);
    catalog_reader_free(r);
    return rc;
}

static int
fall_back(struct rctx *c, struct cm_err *err)
{
    struct cm_err why = *err;
    const struct filter *f = c->o->filter;

    /* No identity opens the catalog, so none opens the volumes (they are
     * encrypted to the same recipients): a wrong key, not damage. */
    if (why.code == CM_ENOKEY)
        return -1;
    cm_err_clear(err);
    c->res->catalog_unusable = 1;
    rs_event(c, RESTORE_WARNING, NULL, NULL, &why);
    if (setr_manifest(c->o->set)->has_base) {
        struct cm_err inc = CM_ERR_INIT;
        cm_fail(&inc, CM_DAMAGED,
                "this is an incremental set: without its catalog, only what "
                "it stores itself (what changed since its base) is restored, "
                "and an mbox file kept in pieces only in part");
        rs_event(c, RESTORE_WARNING, NULL, NULL, &inc);
    }
    if (f != NULL && !filter_path_only(f))
        return cm_fail(err, CM_EFORMAT,
                       "the catalog is unusable (%s); without it only "
                       "--path can be applied: restore without the other "
                       "filters",
                       why.msg);
    return rtar_run(c, err);
}

/* ------------------------------------------------------------------ */
/* The whole run                                                       */

static int
sync_target(const char *target, struct cm_err *err)
{
    int fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd == -1)
        return cm_fail_errno(err, errno, "%s: cannot open", target);
    if (syncfs(fd) == -1)
        rc = cm_fail_errno(err, errno, "%s: syncfs", target);
    close(fd);
    return rc;
}

static int
run_format(struct rctx *c, struct cm_err *err)
{
    int r;

    if (c->o->format == RESTORE_MBOX)
        return rmbox_run(c, err);
    r = layout_from_catalog(c, err);
    if (r == 1)
        return fall_back(c, err);
    return r;
}

static int
finish(struct rctx *c, struct cm_err *err)
{
    if (extract_finish(c->x, err) == -1 &&
        rs_target_error(c, c->o->target, NULL, err) == -1)
        return -1;
    if (!c->o->fsync && sync_target(c->o->target, err) == -1)
        return -1;
    return 0;
}

int
restore_run(const struct restore_opts *o, struct restore_result *res,
            struct cm_err *err)
{
    struct rctx c;
    int flags = EXTRACT_OWNER, rc = -1;

    memset(&c, 0, sizeof c);
    memset(res, 0, sizeof *res);
    c.o = o;
    c.res = res;
    if (o->merge)
        flags |= EXTRACT_MERGE;
    if (!o->fsync)
        flags |= EXTRACT_NO_FSYNC;
    if (!o->merge && extract_target_is_empty(o->target, err) != 1) {
        if (err->code == CM_OK)
            cm_fail(err, CM_EUSAGE,
                    "%s is not empty (use --merge to restore into it)",
                    o->target);
        return -1;
    }
    if (o->filter != NULL && filter_needs_learning(o->filter) &&
        learn_folders(&c, err) == -1)
        return -1;
    if (extract_open(o->target, flags, &c.x, err) == -1 ||
        objread_new(o->set, o->set_opts, &c.rd, err) == -1 ||
        objread_readahead(c.rd, err) == -1 ||
        rmbox_batch_new(&c.batch, err) == -1)
        goto out;
    if (run_format(&c, err) == -1 || finish(&c, err) == -1)
        goto out;
    rc = 0;
out:
    rmbox_batch_free(c.batch);
    stack_free(&c);
    objread_free(c.rd);
    extract_free(c.x);
    return rc;
}

enum cm_code
restore_status(const struct restore_result *res)
{
    if (res->failed > 0)
        return CM_EIO;
    if (res->lost > 0 || res->refused > 0 || res->catalog_unusable)
        return CM_DAMAGED;
    if (res->conflicts > 0)
        return CM_ECONFLICT;
    return CM_OK;
}
