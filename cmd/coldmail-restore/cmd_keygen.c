/*
 * coldmail-restore keygen: a decryption identity in age-keygen's format,
 * optionally itself encrypted with a passphrase (an age scrypt file, as
 * `age -p` writes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "age.h"
#include "agekey.h"
#include "buf.h"
#include "cli.h"
#include "cmds.h"
#include "io.h"
#include "passphrase.h"
#include "when.h"

struct keygen_opts {
    char *output;
    char *passphrase_file;
    int passphrase;
    int help;
};

static const struct poptOption keygen_options[] = {
    {"output", 'o', POPT_ARG_STRING, NULL, 'o',
     "write the identity to FILE (mode 0600; never overwritten)", "FILE"},
    {"passphrase", 'p', POPT_ARG_NONE, NULL, 'p',
     "encrypt the identity file with a passphrase asked on the terminal",
     NULL},
    {"passphrase-file", 0, POPT_ARG_STRING, NULL, 'P',
     "encrypt the identity file with the passphrase in FILE's first line",
     "FILE"},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
keygen_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct keygen_opts *o = ctx;

    switch (val) {
    case 'o':
        return cli_take_once(pc, &o->output, "--output", err);
    case 'P':
        return cli_take_once(pc, &o->passphrase_file, "--passphrase-file",
                             err);
    case 'p':
        o->passphrase = 1;
        return 0;
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

static int
append_to_buf(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    return buf_append(ctx, p, len, "encrypted identity", err);
}

/* Ask twice on the terminal, or read the file. */
static int
read_new_passphrase(const struct keygen_opts *o,
                    char pass[AGEKEY_PASSPHRASE_MAX + 1], struct cm_err *err)
{
    char again[AGEKEY_PASSPHRASE_MAX + 1];
    int rc = -1;

    if (o->passphrase_file != NULL)
        return passphrase_from_file(o->passphrase_file, pass,
                                    AGEKEY_PASSPHRASE_MAX + 1, err);
    if (passphrase_from_tty("Passphrase for the new identity", pass,
                            AGEKEY_PASSPHRASE_MAX + 1, err) == -1 ||
        passphrase_from_tty("Same passphrase again", again, sizeof again,
                            err) == -1)
        goto out;
    if (strcmp(pass, again) != 0) {
        cm_fail(err, CM_EUSAGE, "the two passphrases differ");
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(again, sizeof again);
    return rc;
}

/* Encrypt ${text} in place of itself with a passphrase (scrypt). */
static int
encrypt_with_passphrase(const struct keygen_opts *o, struct buf *text,
                        struct cm_err *err)
{
    char pass[AGEKEY_PASSPHRASE_MAX + 1];
    struct age_recipient r;
    struct age_writer *w = NULL;
    struct buf out;
    int rc = -1;

    buf_init_secret(&out, 1 << 20);
    if (read_new_passphrase(o, pass, err) == -1 ||
        agekey_recipient_scrypt(pass, AGEKEY_SCRYPT_LOG_N, &r, err) == -1 ||
        age_writer_new(&r, 1, append_to_buf, &out, &w, err) == -1 ||
        age_writer_write(w, text->data, text->len, err) == -1 ||
        age_writer_finish(w, err) == -1)
        goto out;
    buf_free(text);
    *text = out;
    buf_init_secret(&out, 1);
    rc = 0;
out:
    age_writer_free(w);
    OPENSSL_cleanse(pass, sizeof pass);
    OPENSSL_cleanse(&r, sizeof r);
    buf_free(&out);
    return rc;
}

static int
keygen_run(const struct keygen_opts *o, struct cm_err *err)
{
    char secret[AGEKEY_IDENTITY_LEN], recipient[AGEKEY_RECIPIENT_LEN];
    char created[WHEN_ISO_LEN];
    struct age_identity id;
    struct age_recipient r;
    struct buf text;
    int rc = -1;

    memset(&id, 0, sizeof id);

    buf_init_secret(&text, 4096);
    /* Fail before asking for a passphrase, not after. */
    if (access(o->output, F_OK) == 0) {
        cm_fail(err, CM_EIO, "%s: already exists, refusing to overwrite",
                o->output);
        goto out;
    }
    if (agekey_identity_generate(&id, err) == -1 ||
        agekey_identity_recipient(&id, &r, err) == -1)
        goto out;
    agekey_identity_format(&id, secret);
    agekey_recipient_format(&r, recipient);
    when_format_iso(created, when_now());
    if (buf_printf(&text, err, "# created: %s\n# public key: %s\n%s\n",
                   created, recipient, secret) == -1)
        goto out;
    if ((o->passphrase || o->passphrase_file != NULL) &&
        encrypt_with_passphrase(o, &text, err) == -1)
        goto out;
    if (io_write_file_excl(o->output, text.data, text.len, 0600, err) == -1)
        goto out;
    fprintf(stderr, "Identity written to %s%s. Keep it offline, in the "
                    "vault.\n",
            o->output,
            o->passphrase || o->passphrase_file ? " (passphrase-protected)"
                                                : "");
    printf("%s\n", recipient);
    rc = 0;
out:
    OPENSSL_cleanse(secret, sizeof secret);
    agekey_identity_wipe(&id);
    buf_free(&text);
    return rc;
}

int
cmd_keygen(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct keygen_opts o = {NULL, NULL, 0, 0};
    poptContext pc;
    int nargs;

    pc = poptGetContext("coldmail-restore keygen", argc, argv, keygen_options,
                        0);
    poptSetOtherOptionHelp(pc, "-o FILE [-p | --passphrase-file FILE]");
    if (cli_parse(pc, keygen_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    cli_args(pc, &nargs);
    if (nargs != 0)
        cm_fail(&err, CM_EUSAGE, "keygen takes no arguments (see --help)");
    else if (o.output == NULL)
        cm_fail(&err, CM_EUSAGE, "keygen needs -o FILE");
    else
        keygen_run(&o, &err);
out:
    free(o.output);
    free(o.passphrase_file);
    poptFreeContext(pc);
    return cli_report(&err);
}
