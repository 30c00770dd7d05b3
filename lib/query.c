#include "query.h"

#include <stdio.h>
#include <string.h>

#include "manifest.h"
#include "objread.h"

static int
open_catalog(struct setr *set, struct catalog_reader **out, struct cm_err *err)
{
    struct catalog_reader *r;

    if (setr_catalog_open(set, &r, err) == -1)
        return -1;
    if (memcmp(catalog_reader_header(r)->set_id, setr_manifest(set)->set_id,
               MANIFEST_SET_ID_SIZE) != 0) {
        catalog_reader_free(r);
        return cm_fail(err, CM_EFORMAT,
                       "catalog.jsonl.zst.age: its header names another set");
    }
    *out = r;
    return 0;
}

/* A substring every candidate line holds, or none. */
struct needle {
    const char *p;
    size_t len;
};

static int
has_needle(void *ctx, const char *line, size_t len)
{
    const struct needle *n = ctx;

    return memmem(line, len, n->p, n->len) != NULL;
}

/*
 * Every record to ${fn} (or to the filter's learning, with ${learn}); with
 * ${needle}, only the lines that hold it are even parsed.
 */
static int
each_record(struct setr *set, struct filter *filter, int learn, query_fn fn,
            void *ctx, struct needle *needle, struct cm_err *err)
{
    struct catalog_reader *r = NULL;
    struct catalog_entry e;
    int got, rc = -1;

    catalog_entry_init(&e);
    if (open_catalog(set, &r, err) == -1)
        goto out;
    if (needle != NULL && needle->len > 0)
        catalog_reader_set_prefilter(r, has_needle, needle);
    while ((got = catalog_reader_next(r, &e, err)) == 1) {
        int stop;
        if (learn) {
            if (filter_learn(filter, &e, err) == -1)
                goto out;
            continue;
        }
        if (filter != NULL && !filter_match(filter, &e))
            continue;
        if ((stop = fn(ctx, &e, err)) == -1)
            goto out;
        if (stop == 1)
            break;
    }
    rc = got == -1 ? -1 : 0;
    if (rc == 0 && learn)
        rc = filter_learn_done(filter, err);
out:
    catalog_entry_free(&e);
    catalog_reader_free(r);
    return rc;
}

int
query_list(struct setr *set, struct filter *filter, query_fn fn, void *ctx,
           struct cm_err *err)
{
    if (filter != NULL && filter_needs_learning(filter) &&
        each_record(set, filter, 1, NULL, NULL, NULL, err) == -1)
        return -1;
    return each_record(set, filter, 0, fn, ctx, NULL, err);
}

/* ------------------------------------------------------------------ */
/* cat                                                                 */

struct cat {
    const struct query_cat_opts *o;
    struct query_cat_result *res;
    struct objread *rd;
    cm_write_fn sink;
    void *sink_ctx;
    int written;
};

static int
cat_matches(const struct query_cat_opts *o, const struct catalog_entry *e)
{
    const char *a, *b;
    size_t la, lb;

    if (o->path != NULL)
        return !e->in_mbox && e->path.len == strlen(o->path) &&
               memcmp(e->path.p, o->path, e->path.len) == 0;
    if (e->kind != CATALOG_MESSAGE || e->message_id == NULL)
        return 0;
    filter_message_id_core(o->message_id, &a, &la);
    filter_message_id_core(e->message_id, &b, &lb);
    return la == lb && memcmp(a, b, la) == 0;
}

static int
cat_record(void *ctx, const struct catalog_entry *e, struct cm_err *err)
{
    struct cat *c = ctx;
    int rc;

    if (!cat_matches(c->o, e))
        return 0;
    c->res->matches++;
    if (c->written)
        return 0;
    if (e->kind != CATALOG_FILE && e->kind != CATALOG_MESSAGE)
        return cm_fail(err, CM_EUSAGE, "%s: a %s has no content to show",
                       e->path.p, catalog_kind_name(e->kind));
    snprintf(c->res->path, sizeof c->res->path, "%s", e->path.p);
    c->written = 1;
    rc = objread_copy(c->rd, e, c->sink, c->sink_ctx, NULL, err);
    if (rc != 0)
        return rc == OBJREAD_SINK_FAILED ? -1
                                         : cm_err_prefix(err, "%s", e->path.p);
    /* A path is unique; a Message-ID may not be: count the others. */
    return c->o->path != NULL ? 1 : 0;
}

/*
 * What the JSON text of a matching line must hold: the path or the
 * Message-ID as they are, when JSON writes them unescaped.
 */
static void
cat_needle(const struct query_cat_opts *o, struct needle *n)
{
    n->len = 0;
    if (o->path != NULL) {
        n->p = o->path;
        n->len = strlen(o->path);
    } else {
        filter_message_id_core(o->message_id, &n->p, &n->len);
    }
    for (size_t i = 0; i < n->len; i++)
        if ((unsigned char)n->p[i] < 0x20 || n->p[i] == '"' || n->p[i] == '\\')
            n->len = 0;
}

int
query_cat(const struct query_cat_opts *o, cm_write_fn sink, void *sink_ctx,
          struct query_cat_result *res, struct cm_err *err)
{
    struct needle needle;
    struct cat c;
    int rc = -1;

    memset(&c, 0, sizeof c);
    memset(res, 0, sizeof *res);
    c.o = o;
    c.res = res;
    c.sink = sink;
    c.sink_ctx = sink_ctx;
    if ((o->path == NULL) == (o->message_id == NULL))
        return cm_fail(err, CM_EUSAGE,
                       "cat needs exactly one of --path and --message-id");
    if (objread_new(o->set, o->set_opts, &c.rd, err) == -1)
        goto out;
    cat_needle(o, &needle);
    if (each_record(o->set, NULL, 0, cat_record, &c, &needle, err) == -1)
        goto out;
    if (!c.written) {
        cm_fail(err, CM_EUSAGE, "no object matches %s %s",
                o->path != NULL ? "--path" : "--message-id",
                o->path != NULL ? o->path : o->message_id);
        goto out;
    }
    rc = 0;
out:
    objread_free(c.rd);
    return rc;
}
