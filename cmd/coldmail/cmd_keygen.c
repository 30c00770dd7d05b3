/* coldmail keygen: the signing key pair, in minisign's file formats. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmds.h"
#include "minisig.h"

struct keygen_opts {
    char *output;
    int help;
};

static const struct poptOption keygen_options[] = {
    {"output", 'o', POPT_ARG_STRING, NULL, 'o',
     "write the secret key to FILE (mode 0600) and the public key to "
     "FILE.pub",
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
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

static int
keygen_run(const struct keygen_opts *o, struct cm_err *err)
{
    struct minisig_pubkey pk;
    char b64[MINISIG_PUBKEY_B64_LEN], keyid[MINISIG_KEYID_HEX_LEN];

    if (minisig_keygen_files(o->output, &pk, err) == -1)
        return -1;
    minisig_pubkey_base64(&pk, b64);
    minisig_keyid_hex(pk.keyid, keyid);
    fprintf(stderr,
            "Signing key written to %s (keep it on the pack host only).\n"
            "Public key written to %s.pub (key id %s); give it to the "
            "vault.\n",
            o->output, o->output, keyid);
    printf("%s\n", b64);
    return 0;
}

int
cmd_keygen(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct keygen_opts o = {NULL, 0};
    poptContext pc;
    int nargs;

    pc = poptGetContext("coldmail keygen", argc, argv, keygen_options, 0);
    poptSetOtherOptionHelp(pc, "-o FILE");
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
    poptFreeContext(pc);
    return cli_report(&err);
}
