#include "catalog.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "enc.h"
#include "io.h"
#include "when.h"
#include "zframe.h"

/* Longest string field kept from a catalog line (paths are longer). */
#define FIELD_MAX 8192
#define PATH_MAX_BYTES 4096

void
catalog_entry_init(struct catalog_entry *e)
{
    memset(e, 0, sizeof *e);
}

void
catalog_entry_free(struct catalog_entry *e)
{
    if (e == NULL)
        return;
    free(e->path.p);
    free(e->link.p);
    free(e->user);
    free(e->group);
    free(e->store);
    free(e->mailbox);
    free(e->folder);
    free(e->subdir);
    free(e->flags);
    free(e->message_id);
    free(e->date_raw);
    free(e->from);
    free(e->subject);
    free(e->from_raw.p);
    free(e->subject_raw.p);
    free(e->mbox_from);
    free(e->mbox_variant);
    free(e->segments);
    catalog_entry_init(e);
}

int
catalog_bytes_set(struct catalog_bytes *b, const void *p, size_t len,
                  struct cm_err *err)
{
    char *copy = cm_malloc(len + 1, err);

    if (copy == NULL)
        return -1;
    memcpy(copy, p, len);
    copy[len] = '\0';
    free(b->p);
    b->p = copy;
    b->len = len;
    return 0;
}

const char *
catalog_kind_name(enum catalog_kind k)
{
    switch (k) {
    case CATALOG_DIR:
        return "dir";
    case CATALOG_FILE:
        return "file";
    case CATALOG_MESSAGE:
        return "message";
    case CATALOG_SYMLINK:
        return "symlink";
    }
    return "?";
}

int
catalog_path_is_safe(const char *path, size_t len)
{
    size_t start = 0;

    if (len == 0 || len > PATH_MAX_BYTES || path[0] == '/' ||
        memchr(path, '\0', len) != NULL)
        return 0;
    while (start <= len) {
        const char *slash = memchr(path + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - path) : len;
        size_t n = end - start;
        if (n == 0 || (n == 1 && path[start] == '.') ||
            (n == 2 && path[start] == '.' && path[start + 1] == '.'))
            return 0;
        start = end + 1;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */

static int
is_utf8(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    int ok = j != NULL;

    json_decref(j);
    return ok;
}

/* Set ${key} to the bytes as a string if they are UTF-8, else ${key}_b64. */
static int
set_bytes(json_t *o, const char *key, const char *p, size_t len)
{
    char key_b64[64], *text;
    int rc;

    if (is_utf8(p, len))
        return json_object_set_new(o, key, json_stringn(p, len));
    snprintf(key_b64, sizeof key_b64, "%s_b64", key);
    text = malloc(b64_encoded_len(len, 1) + 1);
    if (text == NULL)
        return -1;
    b64_encode(text, (const uint8_t *)p, len, 1);
    rc = json_object_set_new(o, key_b64, json_string(text));
    free(text);
    return rc;
}

static int
set_str(json_t *o, const char *key, const char *s)
{
    if (s == NULL)
        return 0;
    return set_bytes(o, key, s, strlen(s));
}

static int
set_int(json_t *o, const char *key, uint64_t v)
{
    return json_object_set_new(o, key, json_integer((json_int_t)v));
}

static int
set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char hex[65];

    hex_encode(hex, p, n);
    return json_object_set_new(o, key, json_string(hex));
}

static int
format_message_fields(const struct catalog_entry *e, json_t *o)
{
    char date[WHEN_ISO_LEN];
    int bad = 0;

    bad |= set_str(o, "store", e->store);
    bad |= set_str(o, "mailbox", e->mailbox);
    bad |= set_str(o, "folder", e->folder);
    bad |= set_str(o, "subdir", e->subdir);
    bad |= set_str(o, "flags", e->flags);
    bad |= set_str(o, "message_id", e->message_id);
    if (e->has_date) {
        when_format_iso(date, e->date);
        bad |= set_str(o, "date", date);
    }
    bad |= set_str(o, "date_raw", e->date_raw);
    bad |= set_str(o, "from", e->from);
    bad |= set_str(o, "subject", e->subject);
    if (e->from_raw.p != NULL)
        bad |= set_bytes(o, "from_raw", e->from_raw.p, e->from_raw.len);
    if (e->subject_raw.p != NULL)
        bad |= set_bytes(o, "subject_raw", e->subject_raw.p,
                         e->subject_raw.len);
    return bad ? -1 : 0;
}

/* [["SETID",vol,off,len],...] */
static json_t *
segments_to_json(const struct catalog_entry *e)
{
    json_t *a = json_array();
    char hex[2 * CATALOG_SET_ID_SIZE + 1];

    for (size_t i = 0; a != NULL && i < e->nsegments; i++) {
        const struct catalog_segment *g = &e->segments[i];
        hex_encode(hex, g->set_id, CATALOG_SET_ID_SIZE);
        if (json_array_append_new(
                a, json_pack("[sIII]", hex, (json_int_t)g->vol,
                             (json_int_t)g->off, (json_int_t)g->len)) == -1) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *
entry_to_json(const struct catalog_entry *e)
{
    json_t *o = json_object();
    int bad = 0;

    if (o == NULL)
        return NULL;
    bad |= set_str(o, "kind", catalog_kind_name(e->kind));
    bad |= set_bytes(o, "path", e->path.p, e->path.len);
    bad |= set_int(o, "size", e->size);
    bad |= set_int(o, "mode", e->mode);
    bad |= json_object_set_new(o, "mtime", json_integer(e->mtime));
    if (e->mtime_ns != 0)
        bad |= set_int(o, "mtime_ns", e->mtime_ns);
    bad |= set_int(o, "uid", e->uid);
    bad |= set_int(o, "gid", e->gid);
    bad |= set_str(o, "user", e->user);
    bad |= set_str(o, "group", e->group);
    if (e->has_sha256)
        bad |= set_hex(o, "sha256", e->sha256, 32);
    if (e->link.p != NULL)
        bad |= set_bytes(o, "link", e->link.p, e->link.len);
    bad |= set_hex(o, "set", e->set_id, CATALOG_SET_ID_SIZE);
    bad |= set_int(o, "vol", e->vol);
    bad |= set_int(o, "tar_off", e->tar_off);
    bad |= set_int(o, "off", e->off);
    bad |= set_int(o, "len", e->len);
    if (e->kind == CATALOG_MESSAGE)
        bad |= format_message_fields(e, o);
    if (e->in_mbox) {
        bad |= set_int(o, "mbox_index", e->mbox_index);
        bad |= set_int(o, "mbox_off", e->mbox_off);
        bad |= set_str(o, "mbox_from", e->mbox_from);
    }
    bad |= set_str(o, "mbox_variant", e->mbox_variant);
    if (e->nsegments > 0)
        bad |= json_object_set_new(o, "segments", segments_to_json(e));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int
append_json_line(json_t *o, struct buf *out, struct cm_err *err)
{
    char *text;
    int rc;

    if (o == NULL)
        return cm_fail(err, CM_EINTERNAL, "cannot build a catalog line");
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (text == NULL)
        return cm_fail(err, CM_EINTERNAL, "cannot format a catalog line");
    rc = buf_append_str(out, text, "catalog line", err);
    free(text);
    if (rc == -1)
        return -1;
    return buf_append_byte(out, '\n', "catalog line", err);
}

int
catalog_entry_format(const struct catalog_entry *e, struct buf *out,
                     struct cm_err *err)
{
    return append_json_line(entry_to_json(e), out, err);
}

int
catalog_header_format(const struct catalog_header *h, struct buf *out,
                      struct cm_err *err)
{
    char created[WHEN_ISO_LEN];
    json_t *o = json_object();

    if (o == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    when_format_iso(created, h->created);
    if (set_int(o, "coldmail_catalog", (uint64_t)h->version) ||
        set_hex(o, "set", h->set_id, CATALOG_SET_ID_SIZE) ||
        set_str(o, "host", h->host) || set_str(o, "created", created)) {
        json_decref(o);
        return cm_fail(err, CM_EINTERNAL, "cannot build the catalog header");
    }
    return append_json_line(o, out, err);
}

int
catalog_trailer_format(uint64_t count, struct buf *out, struct cm_err *err)
{
    json_t *o = json_object();

    if (o == NULL || set_int(o, "coldmail_catalog_end", count)) {
        json_decref(o);
        return cm_fail(err, CM_EINTERNAL, "cannot build the catalog trailer");
    }
    return append_json_line(o, out, err);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

struct line_ctx {
    json_t *o;
    unsigned long lineno;
    struct cm_err *err;
};

static int
lbad(const struct line_ctx *c, const char *key, const char *what)
{
    return cm_fail(c->err, CM_EFORMAT, "catalog line %lu: \"%s\" %s",
                   c->lineno, key, what);
}

static int
get_u64(const struct line_ctx *c, const char *key, uint64_t max, int required,
        uint64_t *out)
{
    json_t *v = json_object_get(c->o, key);

    if (v == NULL)
        return required ? lbad(c, key, "is missing") : 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max)
        return lbad(c, key, "is not a number in range");
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int
get_i64(const struct line_ctx *c, const char *key, int64_t *out)
{
    json_t *v = json_object_get(c->o, key);

    if (v == NULL)
        return lbad(c, key, "is missing");
    if (!json_is_integer(v))
        return lbad(c, key, "is not a number");
    *out = json_integer_value(v);
    return 0;
}

/* A string field, or the base64 of raw bytes under ${key}_b64. */
static int
get_bytes(const struct line_ctx *c, const char *key, size_t max,
          struct catalog_bytes *out, int *found)
{
    char key_b64[64];
    json_t *v = json_object_get(c->o, key);

    *found = 0;
    if (v != NULL) {
        if (!json_is_string(v) || json_string_length(v) > max)
            return lbad(c, key, "is not a string of bounded length");
        *found = 1;
        return catalog_bytes_set(out, json_string_value(v),
                                 json_string_length(v), c->err);
    }
    snprintf(key_b64, sizeof key_b64, "%s_b64", key);
    v = json_object_get(c->o, key_b64);
    if (v == NULL)
        return 0;
    if (!json_is_string(v) || json_string_length(v) > 2 * max)
        return lbad(c, key_b64, "is not a string of bounded length");
    {
        size_t inlen = json_string_length(v);
        uint8_t *raw = malloc(inlen / 4 * 3 + 3);
        long n;
        if (raw == NULL)
            return cm_fail(c->err, CM_EINTERNAL, "out of memory");
        n = b64_decode(raw, inlen / 4 * 3 + 3, json_string_value(v), inlen,
                       B64_PADDED, key_b64, NULL);
        if (n < 0 || (size_t)n > max || memchr(raw, '\0', (size_t)n)) {
            free(raw);
            return lbad(c, key_b64, "is not valid base64 of a string");
        }
        *found = 1;
        n = catalog_bytes_set(out, raw, (size_t)n, c->err);
        free(raw);
        return (int)n;
    }
}

static int
get_str(const struct line_ctx *c, const char *key, char **out)
{
    struct catalog_bytes b = {NULL, 0};
    int found;

    if (get_bytes(c, key, FIELD_MAX, &b, &found) == -1)
        return -1;
    if (found && memchr(b.p, '\0', b.len) != NULL) {
        free(b.p);
        return lbad(c, key, "holds a NUL");
    }
    free(*out);
    *out = b.p;
    return 0;
}

static int
get_hex(const struct line_ctx *c, const char *key, uint8_t *out, size_t n,
        int *found)
{
    json_t *v = json_object_get(c->o, key);

    *found = 0;
    if (v == NULL)
        return 0;
    if (!json_is_string(v) ||
        hex_decode(out, n, json_string_value(v), json_string_length(v), key,
                   NULL) == -1)
        return lbad(c, key, "is not a hex string of the right length");
    *found = 1;
    return 0;
}

static int
parse_kind(const struct line_ctx *c, enum catalog_kind *kind)
{
    static const enum catalog_kind kinds[] = {CATALOG_DIR, CATALOG_FILE,
                                              CATALOG_MESSAGE,
                                              CATALOG_SYMLINK};
    const char *s = json_string_value(json_object_get(c->o, "kind"));

    for (size_t i = 0; s != NULL && i < CM_ARRAY_LEN(kinds); i++)
        if (strcmp(s, catalog_kind_name(kinds[i])) == 0) {
            *kind = kinds[i];
            return 0;
        }
    return lbad(c, "kind", "is missing or unknown");
}

static int
parse_common(const struct line_ctx *c, struct catalog_entry *e)
{
    uint64_t v = 0;
    int found;

    if (parse_kind(c, &e->kind) == -1 ||
        get_bytes(c, "path", PATH_MAX_BYTES, &e->path, &found) == -1)
        return -1;
    if (!found || !catalog_path_is_safe(e->path.p, e->path.len))
        return lbad(c, "path", "is missing or not a safe relative path");
    if (get_u64(c, "size", INT64_MAX, 1, &e->size) == -1 ||
        get_u64(c, "mode", 07777, 1, &v) == -1)
        return -1;
    e->mode = (uint32_t)v;
    if (get_i64(c, "mtime", &e->mtime) == -1)
        return -1;
    v = 0;
    if (get_u64(c, "mtime_ns", 999999999, 0, &v) == -1)
        return -1;
    e->mtime_ns = (uint32_t)v;
    if (get_u64(c, "uid", UINT32_MAX, 1, &v) == -1)
        return -1;
    e->uid = (uint32_t)v;
    if (get_u64(c, "gid", UINT32_MAX, 1, &v) == -1)
        return -1;
    e->gid = (uint32_t)v;
    if (get_str(c, "user", &e->user) == -1 ||
        get_str(c, "group", &e->group) == -1 ||
        get_hex(c, "sha256", e->sha256, 32, &e->has_sha256) == -1 ||
        get_bytes(c, "link", PATH_MAX_BYTES, &e->link, &found) == -1)
        return -1;
    if ((e->kind == CATALOG_SYMLINK) != (found != 0))
        return lbad(c, "link", "belongs to symlinks, and only to them");
    if ((e->kind == CATALOG_FILE || e->kind == CATALOG_MESSAGE) &&
        !e->has_sha256)
        return lbad(c, "sha256", "is missing");
    return 0;
}

static int
parse_location(const struct line_ctx *c, struct catalog_entry *e)
{
    uint64_t vol = 0;
    int found;

    if (get_hex(c, "set", e->set_id, CATALOG_SET_ID_SIZE, &found) == -1)
        return -1;
    if (!found)
        return lbad(c, "set", "is missing");
    if (get_u64(c, "vol", 999999, 1, &vol) == -1 ||
        get_u64(c, "tar_off", INT64_MAX, 1, &e->tar_off) == -1 ||
        get_u64(c, "off", INT64_MAX, 1, &e->off) == -1 ||
        get_u64(c, "len", INT64_MAX, 1, &e->len) == -1)
        return -1;
    e->vol = (uint32_t)vol;
    if (e->off > INT64_MAX - e->len)
        return lbad(c, "len", "runs past any volume");
    if ((e->kind == CATALOG_FILE || e->kind == CATALOG_MESSAGE) &&
        e->len != e->size && e->nsegments == 0)
        return lbad(c, "len", "differs from size");
    return 0;
}

static int
parse_segment(const struct line_ctx *c, json_t *v, struct catalog_segment *g)
{
    json_t *n;

    if (!json_is_array(v) || json_array_size(v) != 4 ||
        !json_is_string(json_array_get(v, 0)) ||
        hex_decode(g->set_id, CATALOG_SET_ID_SIZE,
                   json_string_value(json_array_get(v, 0)),
                   json_string_length(json_array_get(v, 0)), "segment",
                   NULL) == -1)
        return lbad(c, "segments", "holds a malformed segment");
    for (size_t i = 1; i < 4; i++) {
        n = json_array_get(v, i);
        if (!json_is_integer(n) || json_integer_value(n) < 0)
            return lbad(c, "segments", "holds a malformed segment");
    }
    if (json_integer_value(json_array_get(v, 1)) < 1 ||
        json_integer_value(json_array_get(v, 1)) > 999999 ||
        json_integer_value(json_array_get(v, 3)) < 1)
        return lbad(c, "segments", "holds an empty segment or a bad volume");
    g->vol = (uint32_t)json_integer_value(json_array_get(v, 1));
    g->off = (uint64_t)json_integer_value(json_array_get(v, 2));
    g->len = (uint64_t)json_integer_value(json_array_get(v, 3));
    if (g->off > INT64_MAX - g->len)
        return lbad(c, "segments", "holds a segment past any volume");
    return 0;
}

/* "segments": only on a file record, adding up to its size. */
static int
parse_segments(const struct line_ctx *c, struct catalog_entry *e)
{
    json_t *a = json_object_get(c->o, "segments");
    uint64_t total = 0;
    size_t n;

    if (a == NULL)
        return 0;
    n = json_is_array(a) ? json_array_size(a) : 0;
    if (n == 0 || n > CATALOG_SEGMENTS_MAX)
        return lbad(c, "segments", "is not a list of 1 to 8192 segments");
    if (e->kind != CATALOG_FILE)
        return lbad(c, "segments", "belongs to files only");
    if ((e->segments = calloc(n, sizeof *e->segments)) == NULL)
        return cm_fail(c->err, CM_EINTERNAL, "out of memory");
    e->nsegments = n;
    for (size_t i = 0; i < n; i++) {
        if (parse_segment(c, json_array_get(a, i), &e->segments[i]) == -1)
            return -1;
        if (e->segments[i].len > e->size - total)
            return lbad(c, "segments", "add up to more than the size");
        total += e->segments[i].len;
    }
    if (total != e->size)
        return lbad(c, "segments", "do not add up to the size");
    return 0;
}

static int
parse_message(const struct line_ctx *c, struct catalog_entry *e)
{
    const char *date;
    int64_t t;
    int found;

    if (get_str(c, "store", &e->store) == -1 ||
        get_str(c, "mailbox", &e->mailbox) == -1 ||
        get_str(c, "folder", &e->folder) == -1 ||
        get_str(c, "subdir", &e->subdir) == -1 ||
        get_str(c, "flags", &e->flags) == -1 ||
        get_str(c, "message_id", &e->message_id) == -1 ||
        get_str(c, "date_raw", &e->date_raw) == -1 ||
        get_str(c, "from", &e->from) == -1 ||
        get_str(c, "subject", &e->subject) == -1 ||
        get_bytes(c, "from_raw", FIELD_MAX, &e->from_raw, &found) == -1 ||
        get_bytes(c, "subject_raw", FIELD_MAX, &e->subject_raw, &found) == -1)
        return -1;
    date = json_string_value(json_object_get(c->o, "date"));
    if (date != NULL) {
        if (when_parse(date, &t, NULL) == -1)
            return lbad(c, "date", "is not a date");
        e->has_date = 1;
        e->date = t;
    }
    return 0;
}

static int
parse_mbox(const struct line_ctx *c, struct catalog_entry *e)
{
    e->in_mbox = json_object_get(c->o, "mbox_index") != NULL;
    if (e->in_mbox &&
        (get_u64(c, "mbox_index", INT64_MAX, 1, &e->mbox_index) == -1 ||
         get_u64(c, "mbox_off", INT64_MAX, 1, &e->mbox_off) == -1 ||
         get_str(c, "mbox_from", &e->mbox_from) == -1))
        return -1;
    if (e->in_mbox && e->kind != CATALOG_MESSAGE)
        return lbad(c, "mbox_index", "belongs to messages only");
    return get_str(c, "mbox_variant", &e->mbox_variant);
}

static json_t *
load_object(const char *line, size_t len, unsigned long lineno,
            struct cm_err *err)
{
    json_error_t jerr;
    json_t *o;

    if (len > CATALOG_LINE_MAX) {
        cm_fail(err, CM_EFORMAT, "catalog line %lu: longer than %u bytes",
                lineno, CATALOG_LINE_MAX);
        return NULL;
    }
    o = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK,
                   &jerr);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        cm_fail(err, CM_EFORMAT, "catalog line %lu: not a JSON object (%s)",
                lineno, o == NULL ? jerr.text : "other value");
        return NULL;
    }
    return o;
}

int
catalog_entry_parse(const char *line, size_t len, unsigned long lineno,
                    struct catalog_entry *e, struct cm_err *err)
{
    struct line_ctx c = {NULL, lineno, err};
    int rc = -1;

    if ((c.o = load_object(line, len, lineno, err)) == NULL)
        return -1;
    if (parse_common(&c, e) == -1 || parse_mbox(&c, e) == -1 ||
        parse_segments(&c, e) == -1 || parse_location(&c, e) == -1 ||
        (e->kind == CATALOG_MESSAGE && parse_message(&c, e) == -1))
        goto out;
    rc = 0;
out:
    json_decref(c.o);
    return rc;
}

int
catalog_header_parse(const char *line, size_t len, struct catalog_header *h,
                     struct cm_err *err)
{
    struct line_ctx c = {NULL, 1, err};
    uint64_t version = 0;
    const char *created;
    int found, rc = -1;

    memset(h, 0, sizeof *h);
    if ((c.o = load_object(line, len, 1, err)) == NULL)
        return -1;
    if (get_u64(&c, "coldmail_catalog", 1000, 1, &version) == -1)
        goto out;
    if (version != 1) {
        cm_fail(err, CM_EFORMAT, "catalog: unsupported version %" PRIu64,
                version);
        goto out;
    }
    h->version = 1;
    if (get_hex(&c, "set", h->set_id, CATALOG_SET_ID_SIZE, &found) == -1 ||
        get_str(&c, "host", &h->host) == -1)
        goto out;
    created = json_string_value(json_object_get(c.o, "created"));
    if (!found || h->host == NULL || created == NULL ||
        when_parse(created, &h->created, NULL) == -1) {
        cm_fail(err, CM_EFORMAT, "catalog line 1: not a catalog header");
        goto out;
    }
    rc = 0;
out:
    json_decref(c.o);
    if (rc == -1)
        catalog_header_free(h);
    return rc;
}

void
catalog_header_free(struct catalog_header *h)
{
    if (h == NULL)
        return;
    free(h->host);
    memset(h, 0, sizeof *h);
}

int
catalog_trailer_parse(const char *line, size_t len, uint64_t *count,
                      struct cm_err *err)
{
    static const char prefix[] = "{\"coldmail_catalog_end\":";
    struct line_ctx c = {NULL, 0, err};
    int rc = -1;

    if (len < sizeof prefix - 1 || memcmp(line, prefix, sizeof prefix - 1))
        return 0;
    if ((c.o = load_object(line, len, 0, err)) == NULL)
        return -1;
    if (json_object_size(c.o) == 1 &&
        get_u64(&c, "coldmail_catalog_end", INT64_MAX, 1, count) == 0)
        rc = 1;
    else
        cm_fail(err, CM_EFORMAT, "catalog: bad trailer line");
    json_decref(c.o);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */

struct catalog_reader {
    char *path;
    cm_read_fn read;
    void *ctx;
    void (*free_ctx)(void *ctx);
    struct catalog_header header;
    struct buf pending; /* bytes read but not yet split into lines */
    size_t pos;         /* start of the next line in pending */
    int eof;
    int done;
    unsigned long lineno;
    uint64_t count;
    int (*accept)(void *ctx, const char *line, size_t len);
    void *accept_ctx;
};

/* The next line, without its newline, in [*line, *line + *len). */
static int
next_raw_line(struct catalog_reader *r, const char **line, size_t *len,
              struct cm_err *err)
{
    for (;;) {
        /* NULL + 0 is undefined: nothing was read yet. */
        uint8_t *start = r->pending.data ? r->pending.data + r->pos : NULL;
        size_t avail = r->pending.len - r->pos;
        uint8_t *nl = avail ? memchr(start, '\n', avail) : NULL;
        long n;

        if (nl != NULL) {
            *line = (const char *)start;
            *len = (size_t)(nl - start);
            r->pos += *len + 1;
            r->lineno++;
            return 1;
        }
        if (r->eof)
            return avail == 0 ? 0
                              : cm_fail(err, CM_EFORMAT,
                                        "%s: last line has no newline",
                                        r->path);
        if (r->pos > 0) {
            memmove(r->pending.data, start, avail);
            r->pending.len = avail;
            r->pos = 0;
        }
        if (buf_reserve(&r->pending, 65536, "catalog line", err) == -1)
            return cm_err_prefix(err, "%s", r->path);
        n = r->read(r->ctx, r->pending.data + r->pending.len, 65536, err);
        if (n < 0)
            return -1;
        if (n == 0)
            r->eof = 1;
        r->pending.len += (size_t)n;
    }
}

int
catalog_reader_open_src(cm_read_fn read, void *ctx,
                        void (*free_ctx)(void *ctx), const char *name,
                        struct catalog_reader **out, struct cm_err *err)
{
    struct catalog_reader *r;
    const char *line;
    size_t len;

    if ((r = cm_calloc(1, sizeof *r, err)) == NULL)
        return -1;
    buf_init(&r->pending, CATALOG_LINE_MAX + 65536);
    r->read = read;
    r->ctx = ctx;
    if ((r->path = cm_strdup(name, err)) == NULL)
        goto fail;
    if (next_raw_line(r, &line, &len, err) != 1) {
        cm_fail(err, CM_EFORMAT, "%s: empty catalog", name);
        goto fail;
    }
    if (catalog_header_parse(line, len, &r->header, err) == -1) {
        cm_err_prefix(err, "%s", name);
        goto fail;
    }
    /* Only a reader that opened owns ${ctx}; on failure the caller frees. */
    r->free_ctx = free_ctx;
    *out = r;
    return 0;
fail:
    catalog_reader_free(r);
    return -1;
}

/* catalog_reader_open's stack: file > age > zstd frames. */
struct file_src {
    int fd;
    char *path;
    struct age_stream *age;
    struct zframe_stream *zs;
};

static void
file_src_free(void *ctx)
{
    struct file_src *f = ctx;

    if (f == NULL)
        return;
    zframe_stream_free(f->zs);
    age_stream_free(f->age);
    if (f->fd != -1)
        io_close(f->fd, f->path, NULL);
    free(f->path);
    free(f);
}

static long
read_fd(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct file_src *f = ctx;

    return (long)io_read_full(f->fd, p, len, f->path, err);
}

static long
read_age(void *ctx, void *p, size_t len, struct cm_err *err)
{
    return age_stream_read(ctx, p, len, err);
}

static long
read_file_src(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct file_src *f = ctx;

    return zframe_stream_read(f->zs, p, len, err);
}

int
catalog_reader_open(const char *path, const struct age_identities *ids,
                    struct catalog_reader **out, struct cm_err *err)
{
    struct file_src *f = cm_calloc(1, sizeof *f, err);

    if (f == NULL)
        return -1;
    f->fd = -1;
    if ((f->path = cm_strdup(path, err)) == NULL ||
        (f->fd = io_open(path, O_RDONLY, 0, err)) == -1 ||
        age_stream_open(read_fd, f, path, ids, &f->age, err) == -1 ||
        zframe_stream_new(read_age, f->age, path, 0, &f->zs, err) == -1 ||
        catalog_reader_open_src(read_file_src, f, file_src_free, path, out,
                                err) == -1) {
        file_src_free(f);
        return -1;
    }
    return 0;
}

const struct catalog_header *
catalog_reader_header(const struct catalog_reader *r)
{
    return &r->header;
}

int
catalog_reader_next(struct catalog_reader *r, struct catalog_entry *e,
                    struct cm_err *err)
{
    const char *line;
    size_t len;
    uint64_t count;
    int got;

    catalog_entry_free(e);
    if (r->done)
        return 0;
again:
    got = next_raw_line(r, &line, &len, err);
    if (got == 0)
        return cm_fail(err, CM_EFORMAT, "%s: catalog ends without its trailer",
                       r->path);
    if (got == -1)
        return -1;
    got = catalog_trailer_parse(line, len, &count, err);
    if (got == -1)
        return cm_err_prefix(err, "%s", r->path);
    if (got == 1) {
        if (count != r->count)
            return cm_fail(err, CM_EFORMAT,
                           "%s: trailer counts %" PRIu64 " records, found "
                           "%" PRIu64,
                           r->path, count, r->count);
        if (next_raw_line(r, &line, &len, err) != 0)
            return cm_fail(err, CM_EFORMAT, "%s: data after the trailer",
                           r->path);
        r->done = 1;
        return 0;
    }
    if (r->accept != NULL && !r->accept(r->accept_ctx, line, len)) {
        r->count++;
        goto again;
    }
    if (catalog_entry_parse(line, len, r->lineno, e, err) == -1)
        return cm_err_prefix(err, "%s", r->path);
    r->count++;
    return 1;
}

void
catalog_reader_set_prefilter(struct catalog_reader *r,
                             int (*accept)(void *ctx, const char *line,
                                           size_t len),
                             void *ctx)
{
    r->accept = accept;
    r->accept_ctx = ctx;
}

void
catalog_reader_free(struct catalog_reader *r)
{
    if (r == NULL)
        return;
    if (r->free_ctx != NULL)
        r->free_ctx(r->ctx);
    catalog_header_free(&r->header);
    buf_free(&r->pending);
    free(r->path);
    free(r);
}
