/*
 * coldmail-restore repair: rebuild the damaged blocks of a set from its
 * parity, without any decryption key; into a copy, or in place once the
 * repaired files are checked.  Options in coldmail-restore(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "cmds.h"
#include "minisig.h"
#include "repair.h"

#define R_IN_PLACE 0x400

struct repair_cli {
    char *pubkey, *pubkey_file, *output;
    int in_place, dry_run, help;
};

static struct poptOption repair_options[] = {
    {"public-key", 'P', POPT_ARG_STRING, NULL, 'P',
     "the trusted signing key (minisign base64)", "KEY"},
    {"public-key-file", 'p', POPT_ARG_STRING, NULL, 'p',
     "the trusted signing key, from a minisign .pub file", "FILE"},
    {"output", 'o', POPT_ARG_STRING, NULL, 'o',
     "write the repaired set to REPAIRED_DIR/SET_NAME (a full copy)",
     "REPAIRED_DIR"},
    {"in-place", 0, POPT_ARG_NONE, NULL, R_IN_PLACE,
     "replace each damaged file once its repaired copy is checked", NULL},
    {"dry-run", 'n', POPT_ARG_NONE, NULL, 'n',
     "only say what parity can repair", NULL},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
repair_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct repair_cli *o = ctx;

    switch (val) {
    case 'P':
        return cli_take_once(pc, &o->pubkey, "--public-key", err);
    case 'p':
        return cli_take_once(pc, &o->pubkey_file, "--public-key-file", err);
    case 'o':
        return cli_take_once(pc, &o->output, "--output", err);
    case R_IN_PLACE:
        o->in_place = 1;
        return 0;
    case 'n':
        o->dry_run = 1;
        return 0;
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

static int
load_key(const struct repair_cli *c, struct minisig_pubkey *pk,
         struct repair_opts *ro, struct cm_err *err)
{
    if (c->pubkey != NULL && c->pubkey_file != NULL)
        return cm_fail(err, CM_EUSAGE, "give -P or -p, not both");
    if (c->pubkey != NULL &&
        minisig_pubkey_parse(c->pubkey, strlen(c->pubkey), pk, err) == -1)
        return cm_err_prefix(err, "-P");
    if (c->pubkey_file != NULL &&
        minisig_pubkey_load(c->pubkey_file, pk, err) == -1)
        return -1;
    if (c->pubkey != NULL || c->pubkey_file != NULL)
        ro->trusted = pk;
    else
        cli_warn("AUTHENTICITY NOT CHECKED: no trusted signing key was "
                 "given (-P or -p); the set is checked against the key "
                 "its own MANIFEST names");
    return 0;
}

static int
repair_main(const struct repair_cli *c, const char *dir, struct cm_err *err)
{
    struct minisig_pubkey pk;
    struct repair_opts ro;
    struct repair_result r;
    struct buf text;
    int rc = -1;

    memset(&ro, 0, sizeof ro);
    buf_init(&text, 64u << 20);
    ro.out_dir = c->output;
    ro.in_place = c->in_place;
    ro.dry_run = c->dry_run;
    if (load_key(c, &pk, &ro, err) == -1 || repair_run(dir, &ro, &r, err) == -1)
        goto out;
    if (repair_format_text(&r, &text, err) == 0 &&
        fwrite(text.data, 1, text.len, stdout) != text.len)
        cm_fail(err, CM_EIO, "standard output: write failed");
    if (err->code == CM_OK)
        rc = (int)r.code;
    repair_result_free(&r);
out:
    buf_free(&text);
    return rc;
}

int
cmd_repair(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct repair_cli c;
    const char **args;
    poptContext pc;
    int nargs, rc = -1;

    memset(&c, 0, sizeof c);
    pc = poptGetContext("coldmail-restore repair", argc, argv, repair_options,
                        0);
    poptSetOtherOptionHelp(pc, "[-P KEY | -p KEYFILE] SET_DIR "
                               "(-o REPAIRED_DIR | --in-place | -n)");
    if (cli_parse(pc, repair_option, &c, &err) == -1)
        goto out;
    if (c.help) {
        poptPrintHelp(pc, stdout, 0);
        rc = 0;
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs != 1)
        cm_fail(&err, CM_EUSAGE, "repair needs one SET_DIR");
    else
        rc = repair_main(&c, args[0], &err);
out:
    free(c.pubkey);
    free(c.pubkey_file);
    free(c.output);
    poptFreeContext(pc);
    return rc >= 0 ? rc : cli_report(&err);
}
