#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "enc.h"
#include "manifest.h"
#include "minisig.h"
#include "objread.h"
#include "when.h"

/* ------------------------------------------------------------------ */
/* Sampling                                                            */

void
audit_rng_seed(struct audit_rng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t
audit_rng_next(struct audit_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t
audit_rng_below(struct audit_rng *r, uint64_t n)
{
    uint64_t threshold = (0 - n) % n; /* 2^64 mod n */
    uint64_t x;

    do
        x = audit_rng_next(r);
    while (x < threshold);
    return x % n;
}

void
audit_reservoir_init(struct audit_reservoir *s, uint64_t n, uint64_t seed)
{
    audit_rng_seed(&s->rng, seed);
    s->n = n;
    s->seen = 0;
}

int64_t
audit_reservoir_offer(struct audit_reservoir *s)
{
    uint64_t i = s->seen++, j;

    if (i < s->n)
        return (int64_t)i;
    j = audit_rng_below(&s->rng, i + 1);
    return j < s->n ? (int64_t)j : -1;
}

/* ------------------------------------------------------------------ */
/* The sample                                                          */

const char *
audit_result_name(enum audit_result r)
{
    switch (r) {
    case AUDIT_OK:
        return "ok";
    case AUDIT_MISMATCH:
        return "mismatch";
    case AUDIT_UNREADABLE:
        return "unreadable";
    }
    return "?";
}

static void
item_clear(struct audit_item *it)
{
    free(it->path);
    free(it->message_id);
    free(it->error);
    memset(it, 0, sizeof *it);
}

void
audit_report_free(struct audit_report *rep)
{
    if (rep == NULL)
        return;
    for (size_t i = 0; i < rep->nitems; i++)
        item_clear(&rep->items[i]);
    free(rep->items);
    rep->items = NULL;
    rep->nitems = 0;
}

static int
item_set(struct audit_item *it, uint64_t index, const struct catalog_entry *e,
         struct cm_err *err)
{
    item_clear(it);
    it->index = index;
    it->in_mbox = e->in_mbox;
    it->mbox_index = e->mbox_index;
    it->has_date = e->has_date;
    it->date = e->date;
    it->size = e->size;
    memcpy(it->sha256, e->sha256, sizeof it->sha256);
    memcpy(it->set_id, e->set_id, sizeof it->set_id);
    it->vol = e->vol;
    it->off = e->off;
    it->len = e->len;
    if ((it->path = cm_strdup(e->path.p, err)) == NULL ||
        (e->message_id != NULL &&
         (it->message_id = cm_strdup(e->message_id, err)) == NULL))
        return -1;
    return 0;
}

/* The sampled records, into rep->items (unordered). */
static int
draw(const struct audit_opts *o, struct audit_report *rep, struct cm_err *err)
{
    struct audit_reservoir res;
    struct catalog_reader *r = NULL;
    struct catalog_entry e;
    int got, rc = -1;

    catalog_entry_init(&e);
    audit_reservoir_init(&res, o->sample, o->seed);
    if ((rep->items = cm_calloc(o->sample, sizeof *rep->items, err)) == NULL ||
        setr_catalog_open(o->set, &r, err) == -1)
        goto out;
    while ((got = catalog_reader_next(r, &e, err)) == 1) {
        int64_t slot;
        if (e.kind != CATALOG_MESSAGE)
            continue;
        if ((slot = audit_reservoir_offer(&res)) < 0)
            continue;
        if (item_set(&rep->items[slot], res.seen - 1, &e, err) == -1)
            goto out;
        if ((size_t)slot >= rep->nitems)
            rep->nitems = (size_t)slot + 1;
    }
    rep->population = res.seen;
    rc = got == 0 ? 0 : -1;
out:
    catalog_entry_free(&e);
    catalog_reader_free(r);
    return rc;
}

static int
cmp_place(const void *a, const void *b)
{
    const struct audit_item *x = a, *y = b;
    int c = memcmp(x->set_id, y->set_id, sizeof x->set_id);

    if (c != 0)
        return c;
    if (x->vol != y->vol)
        return x->vol < y->vol ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int
cmp_index(const void *a, const void *b)
{
    const struct audit_item *x = a, *y = b;

    return x->index < y->index ? -1 : x->index > y->index;
}

/* Read one sampled message and judge it. */
static int
check_item(struct objread *rd, struct audit_item *it, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    struct catalog_entry e;
    int rc;

    catalog_entry_init(&e);
    e.kind = CATALOG_MESSAGE;
    e.path.p = it->path;
    e.path.len = strlen(it->path);
    e.size = it->size;
    e.has_sha256 = 1;
    memcpy(e.sha256, it->sha256, sizeof e.sha256);
    memcpy(e.set_id, it->set_id, sizeof e.set_id);
    e.vol = it->vol;
    e.off = it->off;
    e.len = it->len;
    rc = objread_copy(rd, &e, NULL, NULL, it->actual, &why);
    if (rc == 0) {
        it->result = AUDIT_OK;
        it->has_actual = 1;
        return 0;
    }
    if (why.code == CM_EINTERNAL) {
        *err = why;
        return -1;
    }
    it->has_actual = rc == OBJREAD_MISMATCH;
    it->result = it->has_actual ? AUDIT_MISMATCH : AUDIT_UNREADABLE;
    return (it->error = cm_strdup(why.msg, err)) == NULL ? -1 : 0;
}

static void
describe_set(const struct audit_opts *o, struct audit_report *rep)
{
    const struct manifest *m = setr_manifest(o->set);

    manifest_set_id_hex(m->set_id, rep->set_id);
    hex_encode(rep->manifest_sha256, setr_manifest_sha256(o->set), 32);
    memcpy(rep->signer_key_id, m->signer_key_id, sizeof rep->signer_key_id);
    rep->trusted = setr_trusted(o->set);
    rep->seed = o->seed;
    rep->requested = o->sample;
}

int
audit_run(const struct audit_opts *o, struct audit_report *rep,
          struct cm_err *err)
{
    struct objread *rd = NULL;
    int rc = -1;

    memset(rep, 0, sizeof *rep);
    if (o->sample == 0 || o->sample > AUDIT_SAMPLE_MAX)
        return cm_fail(err, CM_EUSAGE, "--sample must be 1 to %d",
                       AUDIT_SAMPLE_MAX);
    describe_set(o, rep);
    if (draw(o, rep, err) == -1 ||
        objread_new(o->set, o->set_opts, &rd, err) == -1)
        goto out;
    qsort(rep->items, rep->nitems, sizeof *rep->items, cmp_place);
    for (size_t i = 0; i < rep->nitems; i++) {
        if (check_item(rd, &rep->items[i], err) == -1)
            goto out;
        if (rep->items[i].result == AUDIT_OK)
            rep->passed++;
        else
            rep->failed++;
        if (o->progress != NULL)
            o->progress(o->ctx, &rep->items[i]);
    }
    qsort(rep->items, rep->nitems, sizeof *rep->items, cmp_index);
    rc = 0;
out:
    objread_free(rd);
    return rc;
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

static json_t *
text_or_b64(const char *s)
{
    json_t *j = json_string(s);
    char *b;

    if (j != NULL)
        return j;
    /* Not UTF-8: give the bytes in base64, as the catalog does. */
    b = malloc(b64_encoded_len(strlen(s), 1) + 1);
    if (b == NULL)
        return NULL;
    b64_encode(b, (const uint8_t *)s, strlen(s), 1);
    j = json_pack("{s:s}", "base64", b);
    free(b);
    return j;
}

static json_t *
item_json(const struct audit_item *it)
{
    char sha[65], actual[65], date[WHEN_ISO_LEN];
    json_t *o;

    hex_encode(sha, it->sha256, 32);
    if (it->has_date)
        when_format_iso(date, it->date);
    o = json_pack("{s:I, s:o}", "index", (json_int_t)it->index, "path",
                  text_or_b64(it->path));
    if (o == NULL)
        return NULL;
    if (it->in_mbox)
        json_object_set_new(o, "mbox_index",
                            json_integer((json_int_t)it->mbox_index));
    if (it->message_id != NULL)
        json_object_set_new(o, "message_id", text_or_b64(it->message_id));
    if (it->has_date)
        json_object_set_new(o, "date", json_string(date));
    json_object_set_new(o, "size", json_integer((json_int_t)it->size));
    json_object_set_new(o, "sha256", json_string(sha));
    json_object_set_new(o, "result",
                        json_string(audit_result_name(it->result)));
    if (it->result == AUDIT_OK)
        return o;
    if (it->has_actual) {
        hex_encode(actual, it->actual, 32);
        json_object_set_new(o, "actual_sha256", json_string(actual));
    }
    if (it->error != NULL)
        json_object_set_new(o, "error", text_or_b64(it->error));
    return o;
}

static json_t *
report_json(const struct audit_report *rep)
{
    json_t *msgs = json_array(), *o;
    char seed[24];

    for (size_t i = 0; msgs != NULL && i < rep->nitems; i++)
        if (json_array_append_new(msgs, item_json(&rep->items[i])) == -1) {
            json_decref(msgs);
            return NULL;
        }
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)rep->seed);
    o = json_pack("{s:i, s:s, s:s, s:s, s:b, s:s, s:I, s:I, s:o, "
                  "s:{s:I, s:I, s:I}}",
                  "coldmail_audit", 1, "set_id", rep->set_id, "manifest_sha256",
                  rep->manifest_sha256, "signer_key_id", rep->signer_key_id,
                  "trusted", rep->trusted, "seed", seed, "sample",
                  (json_int_t)rep->requested, "population",
                  (json_int_t)rep->population, "messages", msgs, "summary",
                  "sampled", (json_int_t)rep->nitems, "passed",
                  (json_int_t)rep->passed, "failed", (json_int_t)rep->failed);
    return o;
}

int
audit_report_json(const struct audit_report *rep, struct buf *out,
                  struct cm_err *err)
{
    json_t *o = report_json(rep);
    char *text = NULL;
    int rc = -1;

    if (o == NULL ||
        (text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
        cm_fail(err, CM_EINTERNAL, "out of memory");
        goto out;
    }
    if (buf_append_str(out, text, "audit report", err) == -1 ||
        buf_append_byte(out, '\n', "audit report", err) == -1)
        goto out;
    rc = 0;
out:
    free(text);
    json_decref(o);
    return rc;
}
