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
        free(m->files[i].parity_of);
    }
    free(m->files);
    for (size_t i = 0; i < m->nparts; i++)
        free(m->parts[i].label);
    free(m->parts);
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

/* A medium label: 1 to 64 letters, digits, '.', '-', '_' (medium.h). */
static int
label_ok(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' ||
              s[i] == '_'))
            return 0;
    return 1;
}

int
manifest_add_part(struct manifest *m, const uint8_t medium_id[16],
                  uint64_t volumes, const char *label, struct cm_err *err)
{
    struct manifest_part *grown;
    char *copy;

    if (m->nparts >= MANIFEST_PARTS_MAX)
        return cm_fail(err, CM_EUSAGE, "more than %d parts",
                       MANIFEST_PARTS_MAX);
    if (!label_ok(label, strlen(label)))
        return cm_fail(err, CM_EUSAGE, "bad medium label \"%s\"", label);
    if ((copy = cm_strdup(label, err)) == NULL)
        return -1;
    grown = realloc(m->parts, (m->nparts + 1) * sizeof *grown);
    if (grown == NULL) {
        free(copy);
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    }
    m->parts = grown;
    memcpy(grown[m->nparts].medium_id, medium_id, 16);
    grown[m->nparts].volumes = volumes;
    grown[m->nparts].label = copy;
    m->nparts++;
    return 0;
}

/* The volume number of "vol-NNNN.tar.zst.age" or its ".par", or 0. */
static uint64_t
volume_of(const char *name)
{
    uint64_t n = 0;
    const char *p = name + 4;

    if (strncmp(name, "vol-", 4) != 0)
        return 0;
    for (; *p >= '0' && *p <= '9' && n < UINT32_MAX; p++)
        n = n * 10 + (uint64_t)(*p - '0');
    if (strcmp(p, ".tar.zst.age") != 0 && strcmp(p, ".tar.zst.age.par") != 0)
        return 0;
    return n;
}

uint32_t
manifest_file_part(const struct manifest *m, const char *name)
{
    uint64_t vol = volume_of(name), last = 0;

    if (m->part == 0)
        return 0;
    for (size_t i = 0; vol > 0 && i < m->nparts; i++) {
        last += m->parts[i].volumes;
        if (vol <= last)
            return (uint32_t)i + 1;
    }
    return m->part;
}

const struct manifest_file *
manifest_find_file(const struct manifest *m, const char *name)
{
    for (size_t i = 0; i < m->nfiles; i++)
        if (strcmp(m->files[i].name, name) == 0)
            return &m->files[i];
    return NULL;
}

const struct manifest_file *
manifest_parity_for(const struct manifest *m, const char *name)
{
    for (size_t i = 0; i < m->nfiles; i++)
        if (m->files[i].parity_of != NULL &&
            strcmp(m->files[i].parity_of, name) == 0)
            return &m->files[i];
    return NULL;
}

int
manifest_set_parity(struct manifest *m, struct manifest_file *f,
                    const char *of, uint32_t k, uint32_t parity,
                    uint64_t stripes, struct cm_err *err)
{
    const struct manifest_file *data = manifest_find_file(m, of);

    if (data == NULL || data == f || data->parity_of != NULL ||
        manifest_parity_for(m, of) != NULL)
        return cm_fail(err, CM_EFORMAT,
                       "%s: parity of \"%s\", which is not a listed file "
                       "without parity",
                       f->name, of);
    if (k < 1 || parity < 1 || k > MANIFEST_PARITY_FRAGMENTS_MAX ||
        parity > MANIFEST_PARITY_FRAGMENTS_MAX - k || stripes < 1)
        return cm_fail(err, CM_EFORMAT, "%s: parity layout out of range",
                       f->name);
    if ((f->parity_of = cm_strdup(of, err)) == NULL)
        return -1;
    f->parity_k = k;
    f->parity_m = parity;
    f->parity_stripes = stripes;
    return 0;
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
    if (m->part > 0) {
        size_t n = strlen(out);
        snprintf(out + n, outlen - n, "\tpart:%" PRIu32, m->part);
    }
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
    if (f->parity_of != NULL &&
        buf_printf(out, err, "parity-of %s %" PRIu32 " %" PRIu32 " %" PRIu64
                             "\n",
                   f->parity_of, f->parity_k, f->parity_m,
                   f->parity_stripes) == -1)
        return -1;
    for (uint64_t i = 0; i < f->nblocks; i++) {
        hex_encode(hex, f->blocks[i], 32);
        if (buf_printf(out, err, "block %" PRIu64 " %s\n", i, hex) == -1)
            return -1;
    }
    return 0;
}

static int
format_parts(const struct manifest *m, struct buf *out, struct cm_err *err)
{
    char hex[33];

    if (m->part == 0)
        return 0;
    if (buf_printf(out, err, "part %" PRIu32 "\n", m->part) == -1 ||
        (m->last_part &&
         buf_printf(out, err, "parts-total %" PRIu32 "\n", m->part) == -1))
        return -1;
    for (size_t i = 0; i < m->nparts; i++) {
        hex_encode(hex, m->parts[i].medium_id, 16);
        if (buf_printf(out, err, "part-medium %zu %s %" PRIu64 " %s\n", i + 1,
                       hex, m->parts[i].volumes, m->parts[i].label) == -1)
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
    return format_parts(m, out, err);
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

/* "part-medium N MEDIUM_ID VOLUMES LABEL" for part ${n}. */
static int
parse_part_medium(struct cursor *c, struct manifest *m, uint64_t n,
                  struct cm_err *err)
{
    const char *p = c->val, *end = c->val + c->val_len, *sp;
    struct cursor field[3];
    uint8_t id[16];
    char label[65];
    uint64_t num, vols;

    for (int i = 0; i < 3; i++) {
        sp = memchr(p, ' ', (size_t)(end - p));
        if (sp == NULL)
            return bad(c, err,
                       "expected \"part-medium N MEDIUM_ID VOLUMES LABEL\"");
        field[i] = *c;
        field[i].val = p;
        field[i].val_len = (size_t)(sp - p);
        p = sp + 1;
    }
    if (value_u64(&field[0], &num, err) == -1 ||
        value_hex(&field[1], id, sizeof id, err) == -1 ||
        value_u64(&field[2], &vols, err) == -1)
        return -1;
    if (num != n)
        return bad(c, err, "part-medium lines out of order");
    if (!label_ok(p, (size_t)(end - p)))
        return bad(c, err, "bad medium label");
    memcpy(label, p, (size_t)(end - p));
    label[end - p] = '\0';
    for (size_t i = 0; i < m->nparts; i++)
        if (memcmp(m->parts[i].medium_id, id, 16) == 0)
            return bad(c, err, "two parts on one medium");
    return manifest_add_part(m, id, vols, label, err);
}

static int
parse_parts(struct cursor *c, struct manifest *m, struct cm_err *err)
{
    uint64_t part, total;
    int r;

    if ((r = optional(c, "part", err)) != 1)
        return r;
    if (value_u64(c, &part, err) == -1)
        return -1;
    if (part == 0 || part > MANIFEST_PARTS_MAX)
        return bad(c, err, "part out of range");
    m->part = (uint32_t)part;
    if ((r = optional(c, "parts-total", err)) == -1 ||
        (r == 1 && value_u64(c, &total, err) == -1))
        return -1;
    if (r == 1 && (total != part || part < 2))
        return bad(c, err,
                   "parts-total must be the number of this part, the last (2 "
                   "or more)");
    m->last_part = r;
    for (uint64_t i = 1; i <= part; i++)
        if (expect(c, "part-medium", err) == -1 ||
            parse_part_medium(c, m, i, err) == -1)
            return -1;
    if (!m->has_medium_id ||
        memcmp(m->parts[part - 1].medium_id, m->medium_id, 16) != 0)
        return bad(c, err, "the part's medium is not the medium-id above");
    return 0;
}

/* The parts hold the set's volumes so far, each once. */
static int
check_part_volumes(const struct cursor *c, const struct manifest *m,
                   struct cm_err *err)
{
    uint64_t sum = 0;

    if (m->part == 0)
        return 0;
    for (size_t i = 0; i < m->nparts; i++) {
        if (m->parts[i].volumes > m->volumes - sum)
            return bad(c, err, "the parts hold more volumes than \"volumes\"");
        sum += m->parts[i].volumes;
    }
    if (sum != m->volumes)
        return bad(c, err, "the parts do not hold all the volumes");
    return 0;
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
    return parse_parts(c, m, err);
}

static int
parse_lists(struct cursor *c, struct manifest *m, struct cm_err *err)
{
    int r;

    while ((r = optional(c, "store", err)) == 1) {
        struct cm_err why = CM_ERR_INIT;
        char *text = NULL, *sp;
        if (value_text(c, &text, err) == -1)
            return -1;
        sp = strchr(text, ' ');
        if (sp == NULL) {
            free(text);
            return bad(c, err, "store needs a name and a path");
        }
        *sp = '\0';
        /* manifest_add_store's CM_EUSAGE is for the pack's arguments; in
         * a MANIFEST a bad store is malformed input. */
        r = manifest_add_store(m, text, sp + 1, &why);
        free(text);
        if (r == -1 && why.code == CM_EINTERNAL)
            return cm_fail(err, CM_EINTERNAL, "%s", why.msg);
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
    return check_part_volumes(c, m, err);
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

/* A field of "parity-of NAME K M STRIPES": the text up to the next space
 * (or the end), which *${p} moves past. */
static int
next_field(const struct cursor *c, const char **p, struct cursor *field,
           struct cm_err *err)
{
    const char *end = c->val + c->val_len, *sp;

    if (*p >= end)
        return bad(c, err, "expected \"parity-of NAME K M STRIPES\"");
    sp = memchr(*p, ' ', (size_t)(end - *p));
    *field = *c;
    field->val = *p;
    field->val_len = (size_t)((sp ? sp : end) - *p);
    *p = sp ? sp + 1 : end;
    return 0;
}

static int
parse_parity_line(struct cursor *c, struct manifest *m,
                  struct manifest_file *f, struct cm_err *err)
{
    struct cm_err why = CM_ERR_INIT;
    const char *p = c->val;
    struct cursor name, field;
    uint64_t v[3];
    char of[64];

    if (next_field(c, &p, &name, err) == -1)
        return -1;
    if (name.val_len == 0 || name.val_len >= sizeof of)
        return bad(c, err, "bad parity-of file name");
    memcpy(of, name.val, name.val_len);
    of[name.val_len] = '\0';
    for (int i = 0; i < 3; i++)
        if (next_field(c, &p, &field, err) == -1 ||
            value_u64(&field, &v[i], err) == -1)
            return -1;
    if (p != c->val + c->val_len)
        return bad(c, err, "text after \"parity-of NAME K M STRIPES\"");
    if (v[0] > MANIFEST_PARITY_FRAGMENTS_MAX ||
        v[1] > MANIFEST_PARITY_FRAGMENTS_MAX)
        return bad(c, err, "parity layout out of range");
    if (manifest_set_parity(m, f, of, (uint32_t)v[0], (uint32_t)v[1], v[2],
                            &why) == -1) {
        if (why.code == CM_EINTERNAL)
            return cm_fail(err, why.code, "%s", why.msg);
        return bad(c, err, why.msg);
    }
    return 0;
}

static int
parse_files(struct cursor *c, struct manifest *m, struct cm_err *err)
{
    struct manifest_file *f = NULL;
    int r;

    for (;;) {
        if (next_line(c, err) == -1)
            return -1;
        if (key_is(c, "end"))
            break;
        if (!key_is(c, "file"))
            return bad(c, err, "expected \"file\" or \"end\"");
        if (parse_file_line(c, m, &f, err) == -1)
            return -1;
        if ((r = optional(c, "parity-of", err)) == -1 ||
            (r == 1 && parse_parity_line(c, m, f, err) == -1))
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
