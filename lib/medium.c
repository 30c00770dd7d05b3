#include "medium.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "enc.h"
#include "io.h"
#include "rnd.h"
#include "when.h"

int
medium_label_check(const char *label, struct cm_err *err)
{
    size_t n = strlen(label);

    if (n == 0 || n > MEDIUM_LABEL_MAX)
        goto bad;
    for (const char *c = label; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' ||
              *c == '_'))
            goto bad;
    return 0;
bad:
    return cm_fail(err, CM_EUSAGE,
                   "medium label \"%s\": use 1 to %d letters, digits, '.', "
                   "'-' or '_'",
                   label, MEDIUM_LABEL_MAX);
}

void
medium_id_hex(const uint8_t id[MEDIUM_ID_SIZE], char out[33])
{
    hex_encode(out, id, MEDIUM_ID_SIZE);
}

int
medium_format(const struct medium_label *l, struct buf *out,
              struct cm_err *err)
{
    char id[33], created[WHEN_ISO_LEN];

    medium_id_hex(l->id, id);
    when_format_iso(created, l->created);
    return buf_printf(out, err,
                      "coldmail-medium 1\nmedium-id %s\nlabel %s\n"
                      "created %s\nhost %s\nsigner-key-id %s\nend\n",
                      id, l->label, created, l->host, l->signer_key_id);
}

/* Copy the value of line "${key} VALUE\n" at *${p} into ${out}. */
static int
take_line(const char **p, const char *end, const char *key, char *out,
          size_t outlen, int lineno, struct cm_err *err)
{
    size_t klen = strlen(key);
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t vlen;

    if (nl == NULL || (size_t)(nl - *p) <= klen ||
        strncmp(*p, key, klen) != 0 || (*p)[klen] != ' ')
        return cm_fail(err, CM_EFORMAT, "%s: line %d: expected \"%s\"",
                       MEDIUM_LABEL_FILE, lineno, key);
    vlen = (size_t)(nl - *p) - klen - 1;
    if (vlen >= outlen || memchr(*p + klen + 1, '\0', vlen) != NULL)
        return cm_fail(err, CM_EFORMAT, "%s: line %d: bad value",
                       MEDIUM_LABEL_FILE, lineno);
    memcpy(out, *p + klen + 1, vlen);
    out[vlen] = '\0';
    *p = nl + 1;
    return 0;
}

int
medium_parse(const char *text, size_t len, struct medium_label *l,
             struct cm_err *err)
{
    const char *p = text, *end = text + len;
    char version[8], id[40], created[32];

    memset(l, 0, sizeof *l);
    if (take_line(&p, end, "coldmail-medium", version, sizeof version, 1,
                  err) == -1 ||
        take_line(&p, end, "medium-id", id, sizeof id, 2, err) == -1 ||
        take_line(&p, end, "label", l->label, sizeof l->label, 3, err) ==
            -1 ||
        take_line(&p, end, "created", created, sizeof created, 4, err) ==
            -1 ||
        take_line(&p, end, "host", l->host, sizeof l->host, 5, err) == -1 ||
        take_line(&p, end, "signer-key-id", l->signer_key_id,
                  sizeof l->signer_key_id, 6, err) == -1)
        return -1;
    if (strcmp(version, "1") != 0)
        return cm_fail(err, CM_EFORMAT, "%s: unsupported version %s",
                       MEDIUM_LABEL_FILE, version);
    if (hex_decode(l->id, MEDIUM_ID_SIZE, id, strlen(id), "medium-id",
                   err) == -1 ||
        when_parse(created, &l->created, NULL) == -1 ||
        medium_label_check(l->label, NULL) == -1 ||
        strlen(l->signer_key_id) != 16)
        return cm_fail(err, CM_EFORMAT, "%s: bad value", MEDIUM_LABEL_FILE);
    if ((size_t)(end - p) != 4 || memcmp(p, "end\n", 4) != 0)
        return cm_fail(err, CM_EFORMAT, "%s: line 7: expected \"end\"",
                       MEDIUM_LABEL_FILE);
    return 0;
}

int
medium_init(const char *medium_dir, const char *label, const char *host,
            const struct minisig_seckey *sk, struct medium_label *out,
            struct cm_err *err)
{
    char path[4096], sig_path[4096], comment[MINISIG_COMMENT_MAX + 1];
    struct medium_label l;
    struct minisig_pubkey pk;
    struct buf text, sig;
    int rc = -1;

    buf_init(&text, MEDIUM_FILE_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    memset(&l, 0, sizeof l);
    if (medium_label_check(label, err) == -1)
        goto out;
    snprintf(path, sizeof path, "%s/%s", medium_dir, MEDIUM_LABEL_FILE);
    snprintf(sig_path, sizeof sig_path, "%s/%s", medium_dir, MEDIUM_SIG_FILE);
    if (access(path, F_OK) == 0 || access(sig_path, F_OK) == 0) {
        cm_fail(err, CM_EUSAGE, "%s: the medium is already labelled",
                medium_dir);
        goto out;
    }
    if (rnd_bytes(l.id, sizeof l.id, err) == -1)
        goto out;
    snprintf(l.label, sizeof l.label, "%s", label);
    snprintf(l.host, sizeof l.host, "%s", host);
    l.created = when_now();
    minisig_seckey_pubkey(sk, &pk);
    minisig_keyid_hex(pk.keyid, l.signer_key_id);
    snprintf(comment, sizeof comment, "coldmail medium label %s", label);
    if (medium_format(&l, &text, err) == -1 ||
        minisig_sign(sk, text.data, text.len, "coldmail medium label",
                     comment, &sig, err) == -1 ||
        io_write_file_excl(sig_path, sig.data, sig.len, 0644, err) == -1)
        goto out;
    if (io_write_file_excl(path, text.data, text.len, 0644, err) == -1) {
        unlink(sig_path);
        goto out;
    }
    if (io_fsync_dir(medium_dir, err) == -1)
        goto out;
    *out = l;
    rc = 0;
out:
    buf_free(&text);
    buf_free(&sig);
    return rc;
}

int
medium_read(const char *medium_dir, const struct minisig_pubkey *pk,
            struct medium_label *out, struct cm_err *err)
{
    char path[4096];
    struct buf text, sig;
    int rc = -1;

    buf_init(&text, MEDIUM_FILE_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    snprintf(path, sizeof path, "%s/%s", medium_dir, MEDIUM_LABEL_FILE);
    if (access(path, F_OK) == -1 && errno == ENOENT) {
        rc = 0;
        goto out;
    }
    if (io_read_file(path, MEDIUM_FILE_MAX, &text, err) == -1 ||
        medium_parse((const char *)text.data, text.len, out, err) == -1)
        goto out;
    if (pk != NULL) {
        snprintf(path, sizeof path, "%s/%s", medium_dir, MEDIUM_SIG_FILE);
        if (io_read_file(path, MINISIG_FILE_MAX, &sig, err) == -1 ||
            minisig_verify(pk, text.data, text.len, (const char *)sig.data,
                           sig.len, NULL, err) == -1) {
            cm_err_prefix(err, "%s", path);
            goto out;
        }
    }
    rc = 1;
out:
    buf_free(&text);
    buf_free(&sig);
    return rc;
}
