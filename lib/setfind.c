#include "setfind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "io.h"
#include "mediumscan.h"

struct setfind {
    struct setfind_set *sets;
    size_t n, cap;
};

int
setfind_new(struct setfind **out, struct cm_err *err)
{
    struct setfind *f = cm_calloc(1, sizeof *f, err);

    if (f == NULL)
        return -1;
    *out = f;
    return 0;
}

void
setfind_free(struct setfind *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->sets[i].dir);
    free(f->sets);
    free(f);
}

size_t
setfind_count(const struct setfind *f)
{
    return f->n;
}

const struct setfind_set *
setfind_get(const struct setfind *f, size_t i)
{
    return i < f->n ? &f->sets[i] : NULL;
}

static int
add_one(struct setfind *f, const char *dir, const struct manifest *m,
        struct cm_err *err)
{
    struct setfind_set *s;

    if (f->n >= SETFIND_SETS_MAX)
        return cm_fail(err, CM_EUSAGE, "more than %d sets", SETFIND_SETS_MAX);
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        s = realloc(f->sets, cap * sizeof *s);
        if (s == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        f->sets = s;
        f->cap = cap;
    }
    s = &f->sets[f->n];
    if ((s->dir = cm_strdup(dir, err)) == NULL)
        return -1;
    memcpy(s->id, m->set_id, sizeof s->id);
    s->created = m->created;
    s->sequence = m->sequence;
    f->n++;
    return 0;
}

static int
on_set(void *ctx, const struct mediumscan_set *s, struct cm_err *err)
{
    return add_one(ctx, s->dir, s->m, err);
}

/* The set directory ${dir}: 1 added, 0 its MANIFEST does not parse. */
static int
add_set_dir(struct setfind *f, const char *dir, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    char path[4200];
    struct manifest m;
    struct buf text;
    int rc = 0;

    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    buf_init(&text, MANIFEST_MAX);
    manifest_init(&m);
    if (io_read_file(path, MANIFEST_MAX, &text, &why) == 0 &&
        manifest_parse((const char *)text.data, text.len, path, &m, &why) == 0)
        rc = add_one(f, dir, &m, err) == -1 ? -1 : 1;
    manifest_free(&m);
    buf_free(&text);
    return rc;
}

int
setfind_add(struct setfind *f, const char *path, int quiet, struct cm_err *err)
{
    char manifest[4200];
    struct cm_err why = CM_ERR_INIT;
    struct stat st;

    if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
        if (quiet)
            return 0;
        return cm_fail(err, CM_EUSAGE, "%s: not a set or medium directory",
                       path);
    }
    snprintf(manifest, sizeof manifest, "%s/MANIFEST", path);
    if (lstat(manifest, &st) == 0)
        return add_set_dir(f, path, err) == -1 ? -1 : 0;
    if (mediumscan_sets(path, on_set, NULL, f, &why) == 0)
        return 0;
    if (why.code == CM_EINTERNAL || why.code == CM_EUSAGE) {
        *err = why;
        return -1;
    }
    if (quiet)
        return 0;
    return cm_fail(err, CM_EUSAGE, "%s: neither a set nor a medium (%s)", path,
                   why.msg);
}

const struct setfind_set *
setfind_newest(const struct setfind *f, int64_t at)
{
    const struct setfind_set *best = NULL;

    for (size_t i = 0; i < f->n; i++) {
        const struct setfind_set *s = &f->sets[i];
        if (s->created > at)
            continue;
        if (best == NULL || s->created > best->created ||
            (s->created == best->created && s->sequence > best->sequence))
            best = s;
    }
    return best;
}
