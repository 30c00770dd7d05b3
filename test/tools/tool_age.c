/*
 * tool_age: a test helper around lib/age and lib/agekey, for the interop
 * and shell tests.  Not installed.
 *
 *   tool_age encrypt [-r RECIPIENT]... [-R FILE]... [--passphrase-file F]
 *                    [--work-factor N] < in > out
 *   tool_age decrypt [-i IDFILE]... [--passphrase-file F] < in > out
 *   tool_age pread -i IDFILE... [--passphrase-file F] FILE OFF LEN > out
 *   tool_age keygen
 *
 * The exit status is the cm_code; the message goes to stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "age.h"
#include "agekey.h"
#include "buf.h"
#include "io.h"

#define ARGS_MAX 64

struct opts {
    const char *recipients[ARGS_MAX];
    size_t nrecipients;
    const char *rfiles[ARGS_MAX];
    size_t nrfiles;
    const char *idfiles[ARGS_MAX];
    size_t nidfiles;
    const char *passfile;
    int work_factor;
    char **rest;
    int nrest;
};

static long
read_fd(void *ctx, void *p, size_t len, struct cm_err *err)
{
    return (long)io_read_full(*(int *)ctx, p, len, "(stdin)", err);
}

static int
write_fd(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    return io_write_all(*(int *)ctx, p, len, "(stdout)", err);
}

static int
usage(struct cm_err *err)
{
    return cm_fail(err, CM_EUSAGE,
                   "usage: tool_age encrypt|decrypt|pread|keygen [options]");
}

static int
add_arg(const char **list, size_t *n, const char *v, struct cm_err *err)
{
    if (*n == ARGS_MAX)
        return cm_fail(err, CM_EUSAGE, "too many options");
    list[(*n)++] = v;
    return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o, struct cm_err *err)
{
    int i;

    memset(o, 0, sizeof *o);
    o->work_factor = AGEKEY_SCRYPT_LOG_N;
    for (i = 2; i < argc && argv[i][0] == '-'; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r;
        if (v == NULL)
            return usage(err);
        if (strcmp(a, "-r") == 0)
            r = add_arg(o->recipients, &o->nrecipients, v, err);
        else if (strcmp(a, "-R") == 0)
            r = add_arg(o->rfiles, &o->nrfiles, v, err);
        else if (strcmp(a, "-i") == 0)
            r = add_arg(o->idfiles, &o->nidfiles, v, err);
        else if (strcmp(a, "--passphrase-file") == 0)
            r = (o->passfile = v) != NULL ? 0 : -1;
        else if (strcmp(a, "--work-factor") == 0)
            r = (o->work_factor = atoi(v)) > 0 ? 0 : usage(err);
        else
            r = usage(err);
        if (r == -1)
            return -1;
    }
    o->rest = argv + i;
    o->nrest = argc - i;
    return 0;
}

/* The first line of ${path}, into a caller's fixed buffer. */
static int
read_passphrase(const char *path, char *buf, size_t size, struct cm_err *err)
{
    struct buf b;
    int rc = -1;
    size_t n;

    buf_init_secret(&b, AGEKEY_PASSPHRASE_MAX + 2);
    if (io_read_file(path, AGEKEY_PASSPHRASE_MAX + 2, &b, err) == -1)
        goto out;
    for (n = 0; n < b.len && b.data[n] != '\n' && b.data[n] != '\r'; n++)
        ;
    if (n >= size) {
        cm_fail(err, CM_EUSAGE, "%s: passphrase too long", path);
        goto out;
    }
    memcpy(buf, b.data, n);
    buf[n] = '\0';
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

static int
pass_from_file(void *ctx, char *buf, size_t size, const char *prompt,
               struct cm_err *err)
{
    (void)prompt;
    return read_passphrase(ctx, buf, size, err);
}

static int
load_ids(const struct opts *o, struct age_identities *ids, struct cm_err *err)
{
    struct agekey_passphrase_source pp = {pass_from_file, (void *)o->passfile};
    char pass[AGEKEY_PASSPHRASE_MAX + 1];
    struct age_identity id;
    int rc = -1;

    memset(&id, 0, sizeof id);
    for (size_t i = 0; i < o->nidfiles; i++)
        if (agekey_identities_load(o->idfiles[i], o->passfile ? &pp : NULL, ids,
                                   err) == -1)
            goto out;
    if (o->passfile != NULL &&
        (read_passphrase(o->passfile, pass, sizeof pass, err) == -1 ||
         agekey_identity_scrypt(pass, &id, err) == -1 ||
         agekey_identities_add(ids, &id, err) == -1))
        goto out;
    if (ids->n == 0) {
        cm_fail(err, CM_EUSAGE, "no identities (-i or --passphrase-file)");
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(pass, sizeof pass);
    agekey_identity_wipe(&id);
    return rc;
}

static int
load_recipients(const struct opts *o, struct age_recipients *rs,
                struct cm_err *err)
{
    char pass[AGEKEY_PASSPHRASE_MAX + 1];
    struct age_recipient r;
    int rc = -1;

    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < o->nrecipients; i++)
        if (agekey_recipient_parse(o->recipients[i], &r, err) == -1 ||
            agekey_recipients_add(rs, &r, err) == -1)
            goto out;
    for (size_t i = 0; i < o->nrfiles; i++)
        if (agekey_recipients_load(o->rfiles[i], rs, err) == -1)
            goto out;
    if (o->passfile != NULL &&
        (read_passphrase(o->passfile, pass, sizeof pass, err) == -1 ||
         agekey_recipient_scrypt(pass, o->work_factor, &r, err) == -1 ||
         agekey_recipients_add(rs, &r, err) == -1))
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(pass, sizeof pass);
    OPENSSL_cleanse(&r, sizeof r);
    return rc;
}

static int
cmd_encrypt(const struct opts *o, struct cm_err *err)
{
    struct age_recipients rs = {NULL, 0};
    struct age_writer *w = NULL;
    uint8_t *buf = NULL;
    int in = 0, out = 1, rc = -1;
    ssize_t n = 0;

    if (load_recipients(o, &rs, err) == -1 ||
        age_writer_new(rs.r, rs.n, write_fd, &out, &w, err) == -1 ||
        (buf = cm_malloc(1 << 20, err)) == NULL)
        goto out;
    while ((n = io_read_full(in, buf, 1 << 20, "(stdin)", err)) > 0)
        if (age_writer_write(w, buf, (size_t)n, err) == -1)
            goto out;
    if (n == 0 && age_writer_finish(w, err) == 0)
        rc = 0;
out:
    cm_free_secret(buf, 1 << 20);
    age_writer_free(w);
    agekey_recipients_free(&rs);
    return rc;
}

static int
cmd_decrypt(const struct opts *o, struct cm_err *err)
{
    struct age_identities ids = {NULL, 0};
    int in = 0, out = 1, rc = -1;

    if (load_ids(o, &ids, err) == -1)
        goto out;
    rc = age_decrypt_stream(read_fd, &in, "(stdin)", &ids, write_fd, &out, err);
out:
    agekey_identities_free(&ids);
    return rc;
}

static int
parse_u64(const char *s, uint64_t *v, struct cm_err *err)
{
    char *end;

    errno = 0;
    *v = strtoull(s, &end, 10);
    if (errno != 0 || *s == '\0' || *end != '\0' || *s == '-')
        return cm_fail(err, CM_EUSAGE, "not a number: %s", s);
    return 0;
}

static int
cmd_pread(const struct opts *o, struct cm_err *err)
{
    struct age_identities ids = {NULL, 0};
    struct age_reader *r = NULL;
    uint64_t off = 0, len = 0;
    uint8_t *buf = NULL;
    int rc = -1;

    if (o->nrest != 3)
        return usage(err);
    if (parse_u64(o->rest[1], &off, err) == -1 ||
        parse_u64(o->rest[2], &len, err) == -1 ||
        load_ids(o, &ids, err) == -1 ||
        age_reader_open(o->rest[0], &ids, &r, err) == -1)
        goto out;
    if (len > (uint64_t)1 << 30) {
        cm_fail(err, CM_EUSAGE, "length too large");
        goto out;
    }
    if ((buf = cm_malloc((size_t)len, err)) == NULL ||
        age_reader_pread(r, buf, (size_t)len, off, err) == -1 ||
        io_write_all(1, buf, (size_t)len, "(stdout)", err) == -1)
        goto out;
    rc = 0;
out:
    cm_free_secret(buf, (size_t)len);
    age_reader_free(r);
    agekey_identities_free(&ids);
    return rc;
}

static int
cmd_keygen(struct cm_err *err)
{
    char secret[AGEKEY_IDENTITY_LEN], pub[AGEKEY_RECIPIENT_LEN], when[32];
    struct age_identity id;
    struct age_recipient r;
    time_t now = time(NULL);
    int rc = -1;

    if (agekey_identity_generate(&id, err) == -1 ||
        agekey_identity_recipient(&id, &r, err) == -1)
        goto out;
    agekey_identity_format(&id, secret);
    agekey_recipient_format(&r, pub);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    printf("# created: %s\n# public key: %s\n%s\n", when, pub, secret);
    rc = fflush(stdout) == 0 ? 0 : cm_fail(err, CM_EIO, "stdout: write");
out:
    OPENSSL_cleanse(secret, sizeof secret);
    agekey_identity_wipe(&id);
    return rc;
}

int
main(int argc, char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct opts o;
    int rc = -1;

    if (argc < 2)
        usage(&err);
    else if (strcmp(argv[1], "keygen") == 0)
        rc = cmd_keygen(&err);
    else if (parse_opts(argc, argv, &o, &err) == -1)
        rc = -1;
    else if (strcmp(argv[1], "encrypt") == 0)
        rc = cmd_encrypt(&o, &err);
    else if (strcmp(argv[1], "decrypt") == 0)
        rc = cmd_decrypt(&o, &err);
    else if (strcmp(argv[1], "pread") == 0)
        rc = cmd_pread(&o, &err);
    else
        usage(&err);
    if (rc == 0)
        return 0;
    fprintf(stderr, "tool_age: %s\n", err.msg);
    return err.code != CM_OK ? (int)err.code : CM_EINTERNAL;
}
