/*
 * coldmail-restore decrypt: any age file to plaintext, streaming.  Only
 * authenticated chunks are written; a file that fails part-way leaves no
 * output file behind (with -o), and an error naming the chunk.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "age.h"
#include "cli.h"
#include "cmds.h"
#include "ids.h"
#include "io.h"
#include "passphrase.h"

struct decrypt_opts {
    char **identities;
    size_t nidentities;
    char *passphrase_file;
    char *output;
    int help;
};

static const struct poptOption decrypt_options[] = {
    {"identity", 'i', POPT_ARG_STRING, NULL, 'i',
     "decrypt with the identities in FILE (repeatable)", "FILE"},
    {"passphrase-file", 0, POPT_ARG_STRING, NULL, 'P',
     "passphrase for passphrase-encrypted files or identity files", "FILE"},
    {"output", 'o', POPT_ARG_STRING, NULL, 'o',
     "write the plaintext to FILE (created, never overwritten) instead of "
     "standard output",
     "FILE"},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
decrypt_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct decrypt_opts *o = ctx;

    switch (val) {
    case 'i':
        return cli_take_many(pc, &o->identities, &o->nidentities, err);
    case 'P':
        return cli_take_once(pc, &o->passphrase_file, "--passphrase-file",
                             err);
    case 'o':
        return cli_take_once(pc, &o->output, "--output", err);
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

struct fd_io {
    int fd;
    const char *name;
};

static long
read_fd(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct fd_io *in = ctx;

    return (long)io_read_full(in->fd, p, len, in->name, err);
}

static int
write_fd(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    struct fd_io *out = ctx;

    return io_write_all(out->fd, p, len, out->name, err);
}

/* No identity given: the file must be passphrase-encrypted; ask for it. */
static int
ask_passphrase_identity(struct age_identities *ids, struct cm_err *err)
{
    char pass[AGEKEY_PASSPHRASE_MAX + 1];
    struct age_identity id;
    int rc = -1;

    memset(&id, 0, sizeof id);
    if (passphrase_from_tty("Passphrase", pass, sizeof pass, err) == -1 ||
        agekey_identity_scrypt(pass, &id, err) == -1 ||
        agekey_identities_add(ids, &id, err) == -1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(pass, sizeof pass);
    agekey_identity_wipe(&id);
    return rc;
}

static int
decrypt_run(const struct decrypt_opts *o, const char *input,
            struct cm_err *err)
{
    struct age_identities ids = {NULL, 0};
    struct fd_io in = {0, "standard input"}, out = {1, "standard output"};
    int rc = -1;

    if (ids_load(o->identities, o->nidentities, o->passphrase_file, 1, &ids,
                 err) == -1)
        goto out;
    if (ids.n == 0 && ask_passphrase_identity(&ids, err) == -1)
        goto out;
    if (input != NULL) {
        in.name = input;
        if ((in.fd = io_open(input, O_RDONLY, 0, err)) == -1)
            goto out;
    }
    if (o->output != NULL) {
        out.name = o->output;
        out.fd = io_open(o->output, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                         0600, err);
        if (out.fd == -1)
            goto out;
    }
    if (age_decrypt_stream(read_fd, &in, in.name, &ids, write_fd, &out,
                           err) == -1)
        goto out;
    if (o->output != NULL && io_fsync(out.fd, out.name, err) == -1)
        goto out;
    rc = 0;
out:
    if (input != NULL && in.fd > 0)
        io_close(in.fd, in.name, NULL);
    if (o->output != NULL && out.fd > 1) {
        if (io_close(out.fd, out.name, err) == -1)
            rc = -1;
        if (rc == -1)
            unlink(o->output);
    }
    agekey_identities_free(&ids);
    return rc;
}

int
cmd_decrypt(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct decrypt_opts o = {NULL, 0, NULL, NULL, 0};
    const char **args;
    poptContext pc;
    int nargs;

    pc = poptGetContext("coldmail-restore decrypt", argc, argv,
                        decrypt_options, 0);
    poptSetOtherOptionHelp(pc, "-i IDENTITY_FILE... [-o OUT] [FILE]");
    if (cli_parse(pc, decrypt_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs > 1)
        cm_fail(&err, CM_EUSAGE, "decrypt takes at most one FILE");
    else
        decrypt_run(&o, nargs == 1 ? args[0] : NULL, &err);
out:
    cli_free_list(o.identities, o.nidentities);
    free(o.passphrase_file);
    free(o.output);
    poptFreeContext(pc);
    return cli_report(&err);
}
