#include "manifest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enc.h"
#include "when.h"

void
manifest_init(struct manifest *m)
{
    memset(m, 0, sizeof *m);
    m->version = MANIFEST_VERSION;
    m->block_size = MANIFEST_BLOCK_SIZE;
}

void
manifest_free(struct manifest *m)
{
    if (m == NULL)
        return;
    free(m->host);
    free(m->label);
    free(m->medium);
    free(m->chain_break);
    free(m->kind);
    for (size_t i = 0; i < m->nrecipients; i++)
        free(m->recipients[i]);
    free(m->recipients);
    for (size_t i = 0; i < m->nstores; i++) {
        free(m->stores[i].name);
        free(m->stores[i].path);
    }
    free(m->stores);
    for (size_t i = 0; i < m->nfiles; i++) {
        free(m->files[i].name);
        free(m->files[i].blocks);
    }
    free(m->files);
    manifest_init(m);
}

static uint64_t
blocks_for(uint64_t size, uint32_t block_size)
{
    return size / block_size + (size % block_size != 0);
}

struct manifest_file *
manifest_add_file(struct manifest *m, const char *name, uint64_t size,
                  struct cm_err *err)
{
    struct manifest_file *files, *f;
    uint64_t nblocks = blocks_for(size, m->block_size);

    if (m->nfiles >= MANIFEST_FILES_MAX) {
        cm_fail(err, CM_EFORMAT, "more than %d files in a set",
                MANIFEST_FILES_MAX);
        return NULL;
    }
    if (nblocks > MANIFEST_MAX / 64) {
        cm_fail(err, CM_EFORMAT, "%s: too many blocks", name);
        return NULL;
    }
    files = realloc(m->files, (m->nfiles + 1) * sizeof *files);
    if (files == NULL) {
        cm_fail(err, CM_EINTERNAL, "out of memory");
        return NULL;
    }
    m->files = files;
    f = &files[m->nfiles];
    memset(f, 0, sizeof *f);
    f->size = size;
    f->nblocks = nblocks;
    f->name = cm_strdup(name, err);
    f->blocks = cm_calloc(nblocks, sizeof *f->blocks, err);
    if (f->name == NULL || f->blocks == NULL) {
        free(f->name);
        free(f->blocks);
        return NULL;
    }
    m->nfiles++;
    return f;
}

/* One line of printable UTF-8 (no control characters), bounded. */
static int
text_ok(const char *s, size_t len)
{
    if (len > MANIFEST_TEXT_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

int
manifest_set_text(char **field, const char *value, const char *what,
                  struct cm_err *err)
{
    char *copy;

    if (!text_ok(value, strlen(value)))
        return cm_fail(err, CM_EUSAGE,
                       "%s must be one line of at most %d printable bytes",
                       what, MANIFEST_TEXT_MAX);
    if ((copy = cm_strdup(value, err)) == NULL)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

static int
push_string(char ***list, size_t *n, size_t max, const char *s,
            const char *what, struct cm_err *err)
{
    char **grown, *copy;

    if (*n >= max)
        return cm_fail(err, CM_EFORMAT, "more than %zu %ss", max, what);
    if ((copy = cm_strdup(s, err)) == NULL)
        return -1;
    grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (grown == NULL) {
        free(copy);
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    }
    grown[(*n)++] = copy;
    *list = grown;
    return 0;
}

int
manifest_add_recipient(struct manifest *m, const char *recipient,
                       struct cm_err *err)
{
    return push_string(&m->recipients, &m->nrecipients,
                       MANIFEST_RECIPIENTS_MAX, recipient, "recipient", err);
}

int
manifest_add_store(struct manifest *m, const char *name, const char *path,
                   struct cm_err *err)
{
    struct manifest_store *grown;
    char *n = NULL, *p = NULL;

    if (m->nstores >= MANIFEST_STORES_MAX)
        return cm_fail(err, CM_EUSAGE, "more than %d stores",
                       MANIFEST_STORES_MAX);
    if (strchr(name, ' ') != NULL || strchr(name, '/') != NULL ||
        *name == '\0' || !text_ok(name, strlen(name)))
        return cm_fail(err, CM_EUSAGE, "bad store name \"%s\"", name);
    if (manifest_set_text(&n, name, "store name", err) == -1 ||
        manifest_set_text(&p, path, "store path", err) == -1)
        goto fail;
    grown = realloc(m->stores, (m->nstores + 1) * sizeof *grown);
    if (grown == NULL) {
        cm_fail(err, CM_EINTERNAL, "out of memory");
        goto fail;
    }
    m->stores = grown;
    m->stores[m->nstores].name = n;
    m->stores[m->nstores].path = p;
    m->nstores++;
    return 0;
fail:
    free(n);
    free(p);
    return -1;
}

const struct manifest_file *
manifest_find_file(const struct manifest *m, const char *name)
{
    for (size_t i = 0; i < m->nfiles; i++)
        if (strcmp(m->files[i].name, name) == 0)
            return &m->files[i];
    return NULL;
}

void
manifest_set_id_hex(const uint8_t id[MANIFEST_SET_ID_SIZE],
                    char out[2 * MANIFEST_SET_ID_SIZE + 1])
{
    hex_encode(out, id, MANIFEST_SET_ID_SIZE);
}

int
manifest_set_id_parse(const char *hex, uint8_t id[MANIFEST_SET_ID_SIZE],
                      struct cm_err *err)
{
    return hex_decode(id, MANIFEST_SET_ID_SIZE, hex, strlen(hex), "set id",
                      err);
}

void
manifest_trusted_comment(const struct manifest *m, char *out, size_t outlen)
{
    char id[2 * MANIFEST_SET_ID_SIZE + 1];

    manifest_set_id_hex(m->set_id, id);
    snprintf(out, outlen,
             "timestamp:%" PRId64 "\tfile:MANIFEST\tcoldmail-set:%s\t"
             "seq:%" PRIu64,
             m->created, id, m->sequence);
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */

static int
format_file(const struct manifest_file *f, struct buf *out,
            struct cm_err *err)
{
    char hex[65];

    hex_encode(hex, f->sha256, 32);
    if (buf_printf(out, err, "file %s %" PRIu64 " %s\n", f->name, f->size,
                   hex) == -1)
        return -1;
    for (uint64_t i = 0; i < f->nblocks; i++) {
        hex_encode(hex, f->blocks[i], 32);
        if (buf_printf(out, err, "block %" PRIu64 " %s\n", i, hex) == -1)
            return -1;
    }
    return 0;
}

static int
format_head(const struct manifest *m, struct buf *out, struct cm_err *err)
{
    char id[2 * MANIFEST_SET_ID_SIZE + 1], created[WHEN_ISO_LEN], hex[65];

    manifest_set_id_hex(m->set_id, id);
    when_format_iso(created, m->created);
    if (buf_printf(out, err, "coldmail-manifest %d\nset-id %s\nhost %s\n"
                             "created %s\n",
                   m->version, id, m->host, created) == -1)
        return -1;
    if (m->label != NULL && *m->label != '\0' &&
        buf_printf(out, err, "label %s\n", m->label) == -1)
        return -1;
    if (m->medium != NULL && *m->medium != '\0' &&
        buf_printf(out, err, "medium %s\n", m->medium) == -1)
        return -1;
    hex_encode(hex, m->medium_id, 16);
    if (m->has_medium_id && buf_printf(out, err, "medium-id %s\n", hex) == -1)
        return -1;
    hex_encode(hex, m->previous, 32);
    if (buf_printf(out, err, "sequence %" PRIu64 "\nprevious %s\n",
                   m->sequence, m->has_previous ? hex : "none") == -1)
        return -1;
    hex_encode(hex, m->previous_medium, 16);
    if (m->has_previous_medium &&
        buf_printf(out, err, "previous-medium %s\n", hex) == -1)
        return -1;
    if (m->chain_break != NULL &&
        buf_printf(out, err, "chain-break %s\n", m->chain_break) == -1)
        return -1;
    if (buf_printf(out, err, "kind %s\n", m->kind) == -1)
        return -1;
    manifest_set_id_hex(m->base, id);
    if (m->has_base && buf_printf(out, err, "base %s\n", id) == -1)
        return -1;
    return 0;
}

int
manifest_format(const struct manifest *m, struct buf *out,
                struct cm_err *err)
{
    if (format_head(m, out, err) == -1)
        return -1;
    for (size_t i = 0; i < m->nstores; i++)
        if (buf_printf(out, err, "store %s %s\n", m->stores[i].name,
                       m->stores[i].path) == -1)
            return -1;
    for (size_t i = 0; i < m->nrecipients; i++)
        if (buf_printf(out, err, "recipient %s\n", m->recipients[i]) == -1)
            return -1;
    if (buf_printf(out, err,
                   "signer-key-id %s\nsigner-public-key %s\n"
                   "volumes %" PRIu64 "\nobjects %" PRIu64
                   "\nmessages %" PRIu64 "\nbytes-in %" PRIu64
                   "\nblock-size %" PRIu32 "\n",
                   m->signer_key_id, m->signer_public_key, m->volumes,
                   m->objects, m->messages, m->bytes_in, m->block_size) == -1)
        return -1;
    for (size_t i = 0; i < m->nfiles; i++)
        if (format_file(&m->files[i], out, err) == -1)
            return -1;
    return buf_append_str(out, "end\n", "MANIFEST", err);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

struct cursor {
    const char *p, *end;
    const char *name;
    unsigned long lineno;
    const char *key; /* the current line, split at its first space */
    size_t key_len;
    const char *val;
    size_t val_len;
    int at_end;
};

static int
next_line(struct cursor *c, struct cm_err *err)
{
    const char *nl, *sp;

    if (c->p >= c->end) {
        c->at_end = 1;
        return cm_fail(err, CM_EFORMAT, "%s: ends without an \"end\" line",
                       c->name);
    }
    c->lineno++;
    nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    if (nl == NULL)
        return cm_fail(err, CM_EFORMAT, "%s: line %lu: no newline", c->name,
                       c->lineno);
    sp = memchr(c->p, ' ', (size_t)(nl - c->p));
    c->key = c->p;
    c->key_len = (size_t)((sp ? sp : nl) - c->p);
    c->val = sp ? sp + 1 : nl;
    c->val_len = (size_t)(nl - c->val);
    c->p = nl + 1;
    for (const char *q = c->key; q < nl; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            return cm_fail(err, CM_EFORMAT,
                           "%s: line %lu: control character", c->name,
                           c->lineno);
    return 0;
}

static int
key_is(const struct cursor *c, const char *key)
{
    return c->key_len == strlen(key) && memcmp(c->key, key, c->key_len) == 0;
}

static int
bad(const struct cursor *c, struct cm_err *err, const char *what)
{
    return cm_fail(err, CM_EFORMAT, "%s: line %lu: %s", c->name, c->lineno,
                   what);
}

/* Read the next line, which must have key ${key}. */
static int
expect(struct cursor *c, const char *key, struct cm_err *err)
{
    char what[96];

    if (next_line(c, err) == -1)
        return -1;
    if (!key_is(c, key)) {
        snprintf(what, sizeof what, "expected \"%s\"", key);
        return bad(c, err, what);
    }
    return 0;
}

static int
value_text(const struct cursor *c, char **out, struct cm_err *err)
{
    char *s;

    if (c->val_len > MANIFEST_TEXT_MAX)
        return bad(c, err, "value too long");
    if ((s = cm_malloc(c->val_len + 1, err)) == NULL)
        return -1;
    memcpy(s, c->val, c->val_len);
    s[c->val_len] = '\0';
    free(*out);
    *out = s;
    return 0;
}

static int
value_u64(const struct cursor *c, uint64_t *out, struct cm_err *err)
{
    uint64_t v = 0;

    if (c->val_len == 0 || c->val_len > 20 ||
        (c->val_len > 1 && c->val[0] == '0'))
        return bad(c, err, "bad number");
    for (size_t i = 0; i < c->val_len; i++) {
        unsigned d = (unsigned)(c->val[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return bad(c, err, "bad number");
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int
value_hex(const struct cursor *c, uint8_t *out, size_t n, struct cm_err *err)
{
    struct cm_err ignored = CM_ERR_INIT;

    if (hex_decode(out, n, c->val, c->val_len, "hash", &ignored) == -1)
        return bad(c, err, "bad hex value");
    return 0;
}

/* Optional line: if the next line has ${key}, consume it and return 1. */
static int
optional(struct cursor *c, const char *key, struct cm_err *err)
{
    struct cursor save = *c;

    if (next_line(c, err) == -1)
        return -1;
    if (key_is(c, key))
        return 1;
    *c = save;
    return 0;
}

static int
parse_head(struct cursor *c, struct manifest *m, struct cm_err *err)
{
    char *text = NULL;
    int64_t t;
    int rc = -1, r;

    if (expect(c, "coldmail-manifest", err) == -1)
        goto out;
    if (c->val_len != 1 || c->val[0] != '1') {
        bad(c, err, "unsupported format version (this coldmail reads 1)");
        goto out;
    }
    if (expect(c, "set-id", err) == -1 ||
        value_hex(c, m->set_id, sizeof m->set_id, err) == -1 ||
        expect(c, "host", err) == -1 || value_text(c, &m->host, err) == -1 ||
        expect(c, "created", err) == -1 || value_text(c, &text, err) == -1)
        goto out;
    if (when_parse(text, &t, NULL) == -1) {
        bad(c, err, "bad date");
        goto out;
    }
    m->created = t;
    if ((r = optional(c, "label", err)) == -1 ||
        (r == 1 && value_text(c, &m->label, err) == -1))
        goto out;
    if ((r = optional(c, "medium", err)) == -1 ||
        (r == 1 && value_text(c, &m->medium, err) == -1))
        goto out;
    if ((r = optional(c, "medium-id", err)) == -1 ||
        (r == 1 && value_hex(c, m->medium_id, 16, err) == -1))
        goto out;
    m->has_medium_id = r;
    rc = 0;
out:
    free(text);
    return rc;
}

static int
parse_chain(struct cursor *c, struct manifest *m, struct cm_err *err)
{
    int r;

    if (expect(c, "sequence", err) == -1 ||
        value_u64(c, &m->sequence, err) == -1)
        return -1;
    if (m->sequence == 0)
        return bad(c, err, "sequence starts at 1");
    if (expect(c, "previous", err) == -1)
        return -1;
    if (c->val_len == 4 && memcmp(c->val, "none", 4) == 0)
        m->has_previous = 0;
    else if (value_hex(c, m->previous, 32, err) == -1)
        return -1;
    else
        m->has_previous = 1;
    if ((r = optional(c, "previous-medium", err)) == -1 ||
        (r == 1 && value_hex(c, m->previous_medium, 16, err) == -1))
        return -1;
    m->has_previous_medium = r;
    if ((r = optional(c, "chain-break", err)) == -1 ||
        (r == 1 && value_text(c, &m->chain_break, err) == -1))
        return -1;
    if (expect(c, "kind", err) == -1 || value_text(c, &m->kind, err) == -1)
        return -1;
    if (strcmp(m->kind, "full") != 0 && strcmp(m->kind, "incremental") != 0)
        return bad(c, err, "kind must be full or incremental");
    if ((r = optional(c, "base", err)) == -1)
        return -1;
    if (r == 1 && value_hex(c, m->base, sizeof m->base, err) == -1)
        return -1;
    m->has_base = r;
    if (m->has_base != (strcmp(m->kind, "incremental") == 0))
        return bad(c, err, "an incremental set needs a base, a full one none");
    return 0;
}

static int
parse_lists(struct cursor *c, struct manifest *m, struct cm_err *err)
{
    int r;

    while ((r = optional(c, "store", err)) == 1) {
        char *text = NULL, *sp;
        if (value_text(c, &text, err) == -1)
            return -1;
        sp = strchr(text, ' ');
        if (sp == NULL) {
            free(text);
            return bad(c, err, "store needs a name and a path");
        }
        *sp = '\0';
        r = manifest_add_store(m, text, sp + 1, err);
        free(text);
        if (r == -1)
            return bad(c, err, "bad store");
    }
    if (r == -1)
        return -1;
    if (m->nstores == 0)
        return bad(c, err, "no store line");
    while ((r = optional(c, "recipient", err)) == 1) {
        char *text = NULL;
        if (value_text(c, &text, err) == -1)
            return -1;
        r = manifest_add_recipient(m, text, err);
        free(text);
        if (r == -1)
            return -1;
    }
    if (r == -1)
        return -1;
    if (m->nrecipients == 0)
        return bad(c, err, "no recipient line");
    return 0;
}

static int
parse_signer_and_counts(struct cursor *c, struct manifest *m,
                        struct cm_err *err)
{
    uint64_t block_size;

    if (expect(c, "signer-key-id", err) == -1)
        return -1;
    if (c->val_len != 16)
        return bad(c, err, "key id must be 16 hex digits");
    memcpy(m->signer_key_id, c->val, 16);
    m->signer_key_id[16] = '\0';
    if (expect(c, "signer-public-key", err) == -1)
        return -1;
    if (c->val_len != 56)
        return bad(c, err, "public key must be 56 base64 characters");
    memcpy(m->signer_public_key, c->val, 56);
    m->signer_public_key[56] = '\0';
    if (expect(c, "volumes", err) == -1 ||
        value_u64(c, &m->volumes, err) == -1 ||
        expect(c, "objects", err) == -1 ||
        value_u64(c, &m->objects, err) == -1 ||
        expect(c, "messages", err) == -1 ||
        value_u64(c, &m->messages, err) == -1 ||
        expect(c, "bytes-in", err) == -1 ||
        value_u64(c, &m->bytes_in, err) == -1 ||
        expect(c, "block-size", err) == -1 ||
        value_u64(c, &block_size, err) == -1)
        return -1;
    if (block_size != MANIFEST_BLOCK_SIZE)
        return bad(c, err, "unsupported block size");
    m->block_size = (uint32_t)block_size;
    return 0;
}

/* "file NAME SIZE SHA256" */
static int
parse_file_line(struct cursor *c, struct manifest *m,
                struct manifest_file **out, struct cm_err *err)
{
    const char *sp1, *sp2, *end = c->val + c->val_len;
    struct cursor num = *c;
    char name[64];
    uint64_t size;
    struct manifest_file *f = NULL;

    sp1 = memchr(c->val, ' ', c->val_len);
    sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
    if (sp2 == NULL || (size_t)(sp1 - c->val) >= sizeof name ||
        sp1 == c->val)
        return bad(c, err, "expected \"file NAME SIZE SHA256\"");
    memcpy(name, c->val, (size_t)(sp1 - c->val));
    name[sp1 - c->val] = '\0';
    for (const char *q = name; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
              (*q >= '0' && *q <= '9') ||
              *q == '.' || *q == '-' || *q == '_'))
            return bad(c, err, "bad file name");
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        manifest_find_file(m, name) != NULL)
        return bad(c, err, "bad or repeated file name");
    num.val = sp1 + 1;
    num.val_len = (size_t)(sp2 - sp1 - 1);
    if (value_u64(&num, &size, err) == -1)
        return -1;
    if ((f = manifest_add_file(m, name, size, err)) == NULL)
        return bad(c, err, "bad file entry");
    num.val = sp2 + 1;
    num.val_len = (size_t)(end - sp2 - 1);
    if (value_hex(&num, f->sha256, 32, err) == -1)
        return -1;
    *out = f;
    return 0;
}

/* "block INDEX SHA256", INDEX counting from 0 for the file above. */
static int
parse_block_line(struct cursor *c, struct manifest_file *f, uint64_t want,
                 struct cm_err *err)
{
    const char *sp = memchr(c->val, ' ', c->val_len);
    struct cursor part = *c;
    uint64_t idx;

    if (sp == NULL)
        return bad(c, err, "expected \"block INDEX SHA256\"");
    part.val_len = (size_t)(sp - c->val);
    if (value_u64(&part, &idx, err) == -1)
        return -1;
    if (idx != want)
        return bad(c, err, "blocks out of order");
    part.val = sp + 1;
    part.val_len = c->val_len - (size_t)(sp - c->val) - 1;
    return value_hex(&part, f->blocks[idx], 32, err);
}

static int
parse_files(struct cursor *c, struct manifest *m, struct cm_err *err)
{
    struct manifest_file *f = NULL;

    for (;;) {
        if (next_line(c, err) == -1)
            return -1;
        if (key_is(c, "end"))
            break;
        if (!key_is(c, "file"))
            return bad(c, err, "expected \"file\" or \"end\"");
        if (parse_file_line(c, m, &f, err) == -1)
            return -1;
        for (uint64_t i = 0; i < f->nblocks; i++)
            if (expect(c, "block", err) == -1 ||
                parse_block_line(c, f, i, err) == -1)
                return -1;
    }
    if (c->val_len != 0 || c->p != c->end)
        return bad(c, err, "text after \"end\"");
    return 0;
}

int
manifest_parse(const char *text, size_t len, const char *name,
               struct manifest *m, struct cm_err *err)
{
    struct cursor c;

    memset(&c, 0, sizeof c);
    c.p = text;
    c.end = text + len;
    c.name = name;
    manifest_init(m);
    if (len > MANIFEST_MAX) {
        cm_fail(err, CM_EFORMAT, "%s: larger than %u bytes", name,
                MANIFEST_MAX);
        goto fail;
    }
    if (parse_head(&c, m, err) == -1 || parse_chain(&c, m, err) == -1 ||
        parse_lists(&c, m, err) == -1 ||
        parse_signer_and_counts(&c, m, err) == -1 ||
        parse_files(&c, m, err) == -1)
        goto fail;
    return 0;
fail:
    manifest_free(m);
    return -1;
}
