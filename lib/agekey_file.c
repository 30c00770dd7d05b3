/*
 * Identity and recipients files.  Lines end in LF or CRLF; "#" starts a
 * comment line.  Error messages name the file and line, never its text:
 * a mistyped line may still hold most of a secret key.
 */
#include "agekey.h"

#include <string.h>

#include <openssl/crypto.h>

#include "age.h"
#include "buf.h"
#include "io.h"

#define BINARY_INTRO "age-encryption.org/"
/* Longest recipient line looked at (an age1 recipient is 62). */
#define RECIPIENT_LINE_MAX 256

struct lines {
    const char *p;
    size_t len, pos, lineno;
};

/* The next line without "\n" or "\r\n"; 0 at the end. */
static int
next_line(struct lines *ls, const char **line, size_t *n)
{
    const char *nl;
    size_t rest;

    if (ls->pos >= ls->len)
        return 0;
    rest = ls->len - ls->pos;
    *line = ls->p + ls->pos;
    nl = memchr(*line, '\n', rest);
    *n = nl ? (size_t)(nl - *line) : rest;
    ls->pos += *n + (nl ? 1 : 0);
    if (*n > 0 && (*line)[*n - 1] == '\r')
        (*n)--;
    ls->lineno++;
    return 1;
}

static int
skip_line(const char *line, size_t n)
{
    return n == 0 || line[0] == '#';
}

static int
parse_identity_line(const char *path, const struct lines *ls, const char *line,
                    size_t n, struct age_identity *id, struct cm_err *err)
{
    char s[AGEKEY_IDENTITY_LEN];
    struct cm_err e = CM_ERR_INIT;
    int rc = -1;

    if (n >= sizeof s || memchr(line, '\0', n) != NULL) {
        cm_fail(err, CM_EFORMAT,
                "%s: line %zu: not an age identity (AGE-SECRET-KEY-1...)", path,
                ls->lineno);
        goto out;
    }
    memcpy(s, line, n);
    s[n] = '\0';
    if (agekey_identity_parse(s, id, &e) == -1) {
        cm_fail(err, CM_EFORMAT, "%s: line %zu: %s", path, ls->lineno, e.msg);
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(s, sizeof s);
    return rc;
}

static int
parse_identities(const char *path, const uint8_t *p, size_t len,
                 struct age_identities *out, struct cm_err *err)
{
    struct lines ls = {(const char *)p, len, 0, 0};
    struct age_identity id;
    const char *line;
    size_t n;
    int rc = -1;

    while (next_line(&ls, &line, &n)) {
        if (skip_line(line, n))
            continue;
        if (out->n == AGEKEY_FILE_KEYS_MAX) {
            cm_fail(err, CM_EFORMAT, "%s: line %zu: more than %d identities",
                    path, ls.lineno, AGEKEY_FILE_KEYS_MAX);
            goto out;
        }
        if (parse_identity_line(path, &ls, line, n, &id, err) == -1 ||
            agekey_identities_add(out, &id, err) == -1)
            goto out;
    }
    if (out->n == 0) {
        cm_fail(err, CM_EFORMAT, "%s: no identities in the file", path);
        goto out;
    }
    rc = 0;
out:
    agekey_identity_wipe(&id);
    return rc;
}

struct memsrc {
    const uint8_t *p;
    size_t len, pos;
};

static long
mem_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct memsrc *m = ctx;
    size_t take = m->len - m->pos < len ? m->len - m->pos : len;

    (void)err;
    memcpy(p, m->p + m->pos, take);
    m->pos += take;
    return (long)take;
}

static int
buf_sink(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    return buf_append(ctx, p, len, "decrypted identity file", err);
}

static int
ask_passphrase(const char *path, const struct agekey_passphrase_source *pp,
               struct age_identities *ids, struct cm_err *err)
{
    char pass[AGEKEY_PASSPHRASE_MAX + 1];
    struct age_identity id;
    int rc = -1;

    memset(&id, 0, sizeof id);
    if (pp == NULL || pp->get == NULL) {
        cm_fail(err, CM_EUSAGE,
                "%s: the identity file is encrypted and no passphrase "
                "source was given",
                path);
        goto out;
    }
    memset(pass, 0, sizeof pass);
    if (pp->get(pp->ctx, pass, sizeof pass, path, err) == -1)
        goto out;
    pass[sizeof pass - 1] = '\0';
    if (agekey_identity_scrypt(pass, &id, err) == -1 ||
        agekey_identities_add(ids, &id, err) == -1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(pass, sizeof pass);
    agekey_identity_wipe(&id);
    return rc;
}

/* The plaintext of a passphrase-encrypted identity file into ${plain}. */
static int
decrypt_file(const char *path, const struct agekey_passphrase_source *pp,
             const struct buf *file, struct buf *plain, struct cm_err *err)
{
    struct age_identities ids = {NULL, 0};
    struct memsrc m = {file->data, file->len, 0};
    struct cm_err e = CM_ERR_INIT;
    int rc = -1;

    if (ask_passphrase(path, pp, &ids, err) == -1)
        goto out;
    if (age_decrypt_stream(mem_read, &m, path, &ids, buf_sink, plain, &e) ==
        -1) {
        if (e.code == CM_ENOKEY)
            cm_fail(err, CM_EAUTH,
                    "%s: wrong passphrase (or the file is not encrypted "
                    "with a passphrase)",
                    path);
        else
            *err = e;
        goto out;
    }
    rc = 0;
out:
    agekey_identities_free(&ids);
    return rc;
}

static int
is_age_file(const struct buf *b)
{
    size_t n = strlen(BINARY_INTRO);

    return (b->len >= n && memcmp(b->data, BINARY_INTRO, n) == 0) ||
           age_is_armored(b->data, b->len);
}

int
agekey_identities_load(const char *path,
                       const struct agekey_passphrase_source *pp,
                       struct age_identities *ids, struct cm_err *err)
{
    struct age_identities got = {NULL, 0};
    struct buf file, plain;
    int rc = -1;

    buf_init_secret(&file, AGEKEY_FILE_MAX);
    buf_init_secret(&plain, AGEKEY_FILE_MAX);
    if (io_read_file(path, AGEKEY_FILE_MAX, &file, err) == -1)
        goto out;
    if (is_age_file(&file)) {
        if (decrypt_file(path, pp, &file, &plain, err) == -1 ||
            parse_identities(path, plain.data, plain.len, &got, err) == -1)
            goto out;
    } else if (parse_identities(path, file.data, file.len, &got, err) == -1) {
        goto out;
    }
    for (size_t i = 0; i < got.n; i++)
        if (agekey_identities_add(ids, &got.ids[i], err) == -1)
            goto out;
    rc = 0;
out:
    agekey_identities_free(&got);
    buf_free(&plain);
    buf_free(&file);
    return rc;
}

static int
parse_recipient_line(const char *path, const struct lines *ls, const char *line,
                     size_t n, struct age_recipient *r, struct cm_err *err)
{
    char s[RECIPIENT_LINE_MAX + 1];
    struct cm_err e = CM_ERR_INIT;

    if (n >= 4 && memcmp(line, "ssh-", 4) == 0)
        return cm_fail(err, CM_EFORMAT,
                       "%s: line %zu: SSH recipients are not supported", path,
                       ls->lineno);
    if (n > RECIPIENT_LINE_MAX || memchr(line, '\0', n) != NULL)
        return cm_fail(err, CM_EFORMAT,
                       "%s: line %zu: not an age recipient (age1...)", path,
                       ls->lineno);
    memcpy(s, line, n);
    s[n] = '\0';
    if (agekey_recipient_parse(s, r, &e) == -1)
        return cm_fail(err, CM_EFORMAT, "%s: line %zu: %s", path, ls->lineno,
                       e.msg);
    return 0;
}

int
agekey_recipients_load(const char *path, struct age_recipients *rs,
                       struct cm_err *err)
{
    struct age_recipients got = {NULL, 0};
    struct age_recipient r;
    struct lines ls;
    struct buf file;
    const char *line;
    size_t n;
    int rc = -1;

    buf_init(&file, AGEKEY_FILE_MAX);
    if (io_read_file(path, AGEKEY_FILE_MAX, &file, err) == -1)
        goto out;
    ls = (struct lines){(const char *)file.data, file.len, 0, 0};
    while (next_line(&ls, &line, &n)) {
        if (skip_line(line, n))
            continue;
        if (got.n == AGEKEY_FILE_KEYS_MAX) {
            cm_fail(err, CM_EFORMAT, "%s: line %zu: more than %d recipients",
                    path, ls.lineno, AGEKEY_FILE_KEYS_MAX);
            goto out;
        }
        if (parse_recipient_line(path, &ls, line, n, &r, err) == -1 ||
            agekey_recipients_add(&got, &r, err) == -1)
            goto out;
    }
    if (got.n == 0) {
        cm_fail(err, CM_EFORMAT, "%s: no recipients in the file", path);
        goto out;
    }
    for (size_t i = 0; i < got.n; i++)
        if (agekey_recipients_add(rs, &got.r[i], err) == -1)
            goto out;
    rc = 0;
out:
    agekey_recipients_free(&got);
    buf_free(&file);
    return rc;
}
