/* verify's reports: text for people, JSON for programs. */
#include "verify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "enc.h"
#include "verify_internal.h"
#include "when.h"

const char *
verify_what_name(enum verify_what w)
{
    static const char *const names[] = {
        [VERIFY_SIGNATURE] = "signature",
        [VERIFY_MANIFEST] = "manifest",
        [VERIFY_MISSING] = "missing",
        [VERIFY_NOT_REGULAR] = "not-regular",
        [VERIFY_SIZE] = "size",
        [VERIFY_BLOCKS] = "blocks",
        [VERIFY_SHA256] = "sha256",
        [VERIFY_READ_ERROR] = "read-error",
        [VERIFY_UNEXPECTED] = "unexpected",
        [VERIFY_NAME] = "name",
        [VERIFY_OBJECT] = "object",
        [VERIFY_ENTRY] = "entry",
        [VERIFY_REGION] = "region",
        [VERIFY_CATALOG] = "catalog",
        [VERIFY_SKIPPED] = "skipped",
        [VERIFY_REPAIR] = "repair",
        [VERIFY_PART] = "part",
        [VERIFY_STREAM] = "stream",
    };

    return (size_t)w < CM_ARRAY_LEN(names) ? names[w] : "?";
}

const char *
verify_problem_name(enum verify_problem p)
{
    static const char *const names[] = {
        [VERIFY_P_NONE] = "none",         [VERIFY_P_LOST] = "lost",
        [VERIFY_P_CONTENT] = "content",   [VERIFY_P_METADATA] = "metadata",
        [VERIFY_P_NO_ENTRY] = "no-entry", [VERIFY_P_UNORDERED] = "unordered",
    };

    return (size_t)p < CM_ARRAY_LEN(names) ? names[p] : "?";
}

static const char *
sig_name(enum verify_sig s)
{
    return s == VERIFY_SIG_TRUSTED   ? "trusted"
           : s == VERIFY_SIG_OWN_KEY ? "own-key"
                                     : "failed";
}

static const char *
result_name(enum cm_code c)
{
    switch (c) {
    case CM_OK:
        return "ok";
    case CM_DAMAGED:
        return "damaged";
    case CM_EFORMAT:
        return "malformed";
    case CM_EAUTH:
        return "not-authentic";
    default:
        return cm_code_name(c);
    }
}

/* ------------------------------------------------------------------ */
/* Text                                                                */

int
verify_format_set_text(const struct verify_set *s, struct buf *out,
                       struct cm_err *err)
{
    if (buf_printf(out, err, "%s %s\n", s->code == CM_OK ? "OK " : "DAMAGED",
                   s->name) == -1)
        return -1;
    for (size_t i = 0; i < s->nfindings; i++)
        if (buf_printf(out, err, "  %s\n", s->findings[i].text) == -1)
            return -1;
    if (s->omitted > 0 &&
        buf_printf(out, err, "  ... and %" PRIu64 " more findings not listed\n",
                   s->omitted) == -1)
        return -1;
    return 0;
}

static int
format_deep_summary(const struct verify_result *r, struct buf *out,
                    struct cm_err *err)
{
    const struct verify_deep *d = &r->deep_total;

    if (!r->deep)
        return 0;
    if (buf_printf(out, err,
                   "deep: %" PRIu64 " catalog records, %" PRIu64
                   " good, %" PRIu64 " not good; %" PRIu64
                   " tar entries in %" PRIu64 " volume%s",
                   d->lines, d->checked, d->bad, d->entries, d->volumes,
                   d->volumes == 1 ? "" : "s") == -1)
        return -1;
    if (d->elsewhere > 0 &&
        buf_printf(out, err,
                   "; %" PRIu64 " records held by other sets, %" PRIu64
                   " of them checked",
                   d->elsewhere, d->elsewhere_checked) == -1)
        return -1;
    return buf_printf(out, err, "\n");
}

static int
format_summary(const struct verify_result *r, struct buf *out,
               struct cm_err *err)
{
    char bytes[32];
    size_t problems = r->chain ? chain_problems(r->chain) : 0;

    cli_format_bytes(r->bytes, bytes, sizeof bytes);
    if (buf_printf(out, err,
                   "summary: %zu set%s checked: %zu OK, %zu damaged; "
                   "chain: %zu problem%s; %s read\n",
                   r->sets, r->sets == 1 ? "" : "s", r->ok, r->sets - r->ok,
                   problems, problems == 1 ? "" : "s", bytes) == -1 ||
        format_deep_summary(r, out, err) == -1)
        return -1;
    if (r->chain_only &&
        buf_printf(out, err,
                   "--chain: signatures, MANIFESTs and the chain only; the "
                   "sets' files were not read\n") == -1)
        return -1;
    if (!r->untrusted)
        return buf_printf(out, err,
                          "authenticity: checked against the trusted key "
                          "%s\n",
                          r->trusted_key);
    return buf_printf(out, err,
                      "authenticity: NOT CHECKED: no trusted key was given "
                      "(-P or -p), so each set was checked only against the "
                      "key written in its own MANIFEST\n");
}

int
verify_format_end_text(const struct verify_result *r, struct buf *out,
                       struct cm_err *err)
{
    if (r->chain != NULL && chain_nrows(r->chain) > 0 &&
        (buf_printf(out, err, "\nchain of custody:\n") == -1 ||
         chain_format_text(r->chain, out, err) == -1))
        return -1;
    if (r->nnotes > 0 && buf_printf(out, err, "\nnotes:\n") == -1)
        return -1;
    for (size_t i = 0; i < r->nnotes; i++)
        if (buf_printf(out, err, "  %s\n", r->notes[i]) == -1)
            return -1;
    if (buf_printf(out, err, "\n") == -1)
        return -1;
    return format_summary(r, out, err);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

/* A JSON string of ${s}, which need not be valid UTF-8. */
static json_t *
jstr(const char *s)
{
    struct cm_err ignored = CM_ERR_INIT;
    json_t *j;
    char *p;

    if (s == NULL)
        return json_null();
    if ((j = json_string(s)) != NULL)
        return j;
    if ((p = verify_printable(s, strlen(s), &ignored)) == NULL)
        return NULL;
    j = json_string(p);
    free(p);
    return j;
}

static json_t *
jhex(const uint8_t *p, size_t n)
{
    char hex[2 * 32 + 1];

    hex_encode(hex, p, n);
    return json_string(hex);
}

static json_t *
jtime(int64_t t)
{
    char iso[WHEN_ISO_LEN];

    when_format_iso(iso, t);
    return json_string(iso);
}

static void
jset(json_t *o, const char *key, json_t *v)
{
    json_object_set_new(o, key, v != NULL ? v : json_null());
}

static json_t *
jint(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static int
emit(json_t *j, struct buf *out, struct cm_err *err)
{
    char *text;
    int rc;

    if (j == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (text == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    rc = buf_append_str(out, text, "report", err);
    free(text);
    return rc;
}

static void
finding_object_fields(json_t *o, const struct verify_finding *f)
{
    if (f->what == VERIFY_BLOCKS) {
        jset(o, "first_block", jint(f->first));
        jset(o, "last_block", jint(f->last));
    }
    if (f->what == VERIFY_BLOCKS || f->what == VERIFY_REGION) {
        jset(o, "first_byte", jint(f->first_byte));
        jset(o, "last_byte", jint(f->last_byte));
    }
    if (f->what == VERIFY_OBJECT || f->what == VERIFY_ENTRY)
        jset(o, "problem", json_string(verify_problem_name(f->problem)));
    if (f->path != NULL)
        jset(o, "path", jstr(f->path));
    if (f->message_id != NULL)
        jset(o, "message_id", jstr(f->message_id));
    if (f->what == VERIFY_OBJECT || f->what == VERIFY_ENTRY ||
        f->what == VERIFY_REGION) {
        jset(o, "vol", jint(f->vol));
        if (f->what != VERIFY_REGION) {
            jset(o, "off", jint(f->off));
            jset(o, "len", jint(f->len));
        }
    }
}

static json_t *
finding_json(const struct verify_finding *f)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    jset(o, "what", json_string(verify_what_name(f->what)));
    jset(o, "code", json_integer(f->code));
    jset(o, "file", jstr(f->file));
    finding_object_fields(o, f);
    jset(o, "text", jstr(f->text));
    return o;
}

static json_t *
deep_json(const struct verify_deep *d)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    jset(o, "volumes", jint(d->volumes));
    jset(o, "entries", jint(d->entries));
    jset(o, "records", jint(d->lines));
    jset(o, "good", jint(d->checked));
    jset(o, "not_good", jint(d->bad));
    jset(o, "held_elsewhere", jint(d->elsewhere));
    jset(o, "held_elsewhere_checked", jint(d->elsewhere_checked));
    return o;
}

static void
manifest_fields(json_t *o, const struct verify_set *s)
{
    const struct manifest *m = s->m;
    char id[33];

    if (m == NULL)
        return;
    manifest_set_id_hex(m->set_id, id);
    jset(o, "set_id", json_string(id));
    jset(o, "host", jstr(m->host));
    jset(o, "sequence", jint(m->sequence));
    jset(o, "created", jtime(m->created));
    jset(o, "kind", jstr(m->kind));
    jset(o, "signer_key_id", jstr(m->signer_key_id));
    jset(o, "manifest_sha256", jhex(s->manifest_sha256, 32));
}

int
verify_format_json_set(const struct verify_set *s, int first, struct buf *out,
                       struct cm_err *err)
{
    json_t *o = json_object(), *list = json_array();

    if (o == NULL || list == NULL) {
        json_decref(o);
        json_decref(list);
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    }
    jset(o, "set", jstr(s->name));
    jset(o, "dir", jstr(s->dir));
    jset(o, "status", json_string(s->code == CM_OK ? "ok" : "damaged"));
    jset(o, "code", json_integer(s->code));
    jset(o, "signature", json_string(sig_name(s->sig)));
    manifest_fields(o, s);
    jset(o, "files_checked", jint(s->files));
    jset(o, "bytes_checked", jint(s->bytes));
    for (size_t i = 0; i < s->nfindings; i++)
        json_array_append_new(list, finding_json(&s->findings[i]));
    jset(o, "findings", list);
    jset(o, "findings_omitted", jint(s->omitted));
    jset(o, "deep", s->deep.done ? deep_json(&s->deep) : json_null());
    if (!first && buf_append_str(out, ",\n", "report", err) == -1) {
        json_decref(o);
        return -1;
    }
    return emit(o, out, err);
}

int
verify_format_json_begin(const struct verify_opts *o, struct buf *out,
                         struct cm_err *err)
{
    char id[MINISIG_KEYID_HEX_LEN];

    if (o->trusted != NULL)
        minisig_keyid_hex(o->trusted->keyid, id);
    return buf_printf(out, err,
                      "{\"coldmail_verify\":1,\"trusted_key\":%s%s%s,"
                      "\"deep\":%s,\"sets\":[\n",
                      o->trusted ? "\"" : "", o->trusted ? id : "null",
                      o->trusted ? "\"" : "", o->deep ? "true" : "false");
}

static json_t *
chain_row_json(const struct chain_row *r)
{
    json_t *o = json_object();
    char id[33];

    if (o == NULL)
        return NULL;
    manifest_set_id_hex(r->set.set_id, id);
    jset(o, "host", jstr(r->set.host));
    jset(o, "sequence", jint(r->set.sequence));
    jset(o, "set", jstr(r->set.name));
    jset(o, "where", jstr(r->set.where));
    jset(o, "medium",
         strcmp(r->set.medium, "-") == 0 ? json_null() : jstr(r->set.medium));
    jset(o, "set_id", json_string(id));
    jset(o, "created", jtime(r->set.created));
    jset(o, "signer_key_id", jstr(r->set.key_id));
    jset(o, "manifest_sha256", jhex(r->set.manifest_sha256, 32));
    jset(o, "previous",
         r->set.has_previous ? jhex(r->set.previous, 32) : json_null());
    jset(o, "chain_break", jstr(r->set.chain_break));
    jset(o, "run", jint(r->run));
    jset(o, "link", json_string(chain_link_name(r->link)));
    jset(o, "fork", json_boolean(r->fork));
    jset(o, "key_changed", json_boolean(r->key_changed));
    jset(o, "authentic", json_boolean(r->set.authentic));
    jset(o, "unknown_key", json_boolean(r->set.unknown_key));
    jset(o, "medium_id",
         r->set.medium_id[0] ? json_string(r->set.medium_id) : json_null());
    jset(o, "previous_medium",
         r->set.previous_medium[0] ? json_string(r->set.previous_medium)
                                   : json_null());
    return o;
}

static json_t *
chain_finding_json(const struct chain_finding *f)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    jset(o, "kind", json_string(chain_kind_name(f->kind)));
    jset(o, "problem", json_boolean(f->problem));
    jset(o, "host", jstr(f->host));
    jset(o, "sequence", jint(f->sequence));
    jset(o, "sequence_last", jint(f->sequence_last));
    jset(o, "set", jstr(f->set));
    jset(o, "other", jstr(f->other));
    jset(o, "text", jstr(f->text));
    return o;
}

static json_t *
chain_json(const struct chain *c)
{
    json_t *o = json_object(), *rows = json_array(), *fs = json_array();

    if (o == NULL || rows == NULL || fs == NULL) {
        json_decref(o);
        json_decref(rows);
        json_decref(fs);
        return NULL;
    }
    for (size_t i = 0; c != NULL && i < chain_nrows(c); i++)
        json_array_append_new(rows, chain_row_json(chain_row(c, i)));
    for (size_t i = 0; c != NULL && i < chain_nfindings(c); i++)
        json_array_append_new(fs, chain_finding_json(chain_finding(c, i)));
    jset(o, "sets", rows);
    jset(o, "findings", fs);
    jset(o, "problems", jint(c != NULL ? chain_problems(c) : 0));
    return o;
}

static json_t *
summary_json(const struct verify_result *r)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    jset(o, "sets", jint(r->sets));
    jset(o, "ok", jint(r->ok));
    jset(o, "damaged", jint(r->sets - r->ok));
    jset(o, "not_authentic", jint(r->auth_failed));
    jset(o, "chain_problems", jint(r->chain ? chain_problems(r->chain) : 0));
    jset(o, "trusted_key",
         r->untrusted ? json_null() : json_string(r->trusted_key));
    jset(o, "bytes_checked", jint(r->bytes));
    jset(o, "deep", r->deep ? deep_json(&r->deep_total) : json_null());
    jset(o, "result", json_string(result_name(r->code)));
    jset(o, "exit", json_integer(r->code));
    return o;
}

int
verify_format_json_end(const struct verify_result *r, struct buf *out,
                       struct cm_err *err)
{
    json_t *notes = json_array();

    if (notes == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    for (size_t i = 0; i < r->nnotes; i++)
        json_array_append_new(notes, jstr(r->notes[i]));
    if (buf_append_str(out, "\n],\"notes\":", "report", err) == -1 ||
        emit(notes, out, err) == -1 ||
        buf_append_str(out, ",\"chain\":", "report", err) == -1 ||
        emit(chain_json(r->chain), out, err) == -1 ||
        buf_append_str(out, ",\"summary\":", "report", err) == -1 ||
        emit(summary_json(r), out, err) == -1)
        return -1;
    return buf_append_str(out, "}\n", "report", err);
}
