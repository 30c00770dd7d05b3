/*
 * coldmail-restore verify: are the sets intact and authentic, and does the
 * chain of custody across them hold?  Without any key: signatures, every
 * file and block against MANIFEST, the hash chain.  With --deep and the
 * identity: every object against the catalog as well.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"
#include "ids.h"
#include "setargs.h"
#include "tapein.h"
#include "verify.h"

enum {
    OPT_JSON = 1000,
    OPT_DEEP,
    OPT_THREADS,
    OPT_CHAIN,
};

struct verify_cli {
    struct setargs keys; /* -P, -p, -i, --passphrase-file */
    char *threads;
    int json, deep, chain, help;
};

static struct poptOption verify_options[] = {
    {NULL, 0, POPT_ARG_INCLUDE_TABLE, setargs_options, 0,
     "keys (-i and --passphrase-file only with --deep):", NULL},
    {"json", 0, POPT_ARG_NONE, NULL, OPT_JSON,
     "print the report as one JSON object", NULL},
    {"deep", 0, POPT_ARG_NONE, NULL, OPT_DEEP,
     "also decrypt everything and check every object against the catalog "
     "(needs -i)",
     NULL},
    {"chain", 0, POPT_ARG_NONE, NULL, OPT_CHAIN,
     "only the signatures, MANIFESTs and the chain of custody across the "
     "sets given (quick: no file is read)",
     NULL},
    {"threads", 0, POPT_ARG_STRING, NULL, OPT_THREADS,
     "hashing threads, 1 or 2 (default 2)", "N"},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
verify_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct verify_cli *o = ctx;
    int taken = setargs_take(&o->keys, pc, val, err);

    if (taken != 0)
        return taken == 1 ? 0 : -1;
    switch (val) {
    case OPT_THREADS:
        return cli_take_once(pc, &o->threads, "--threads", err);
    case OPT_JSON:
        o->json = 1;
        return 0;
    case OPT_DEEP:
        o->deep = 1;
        return 0;
    case OPT_CHAIN:
        o->chain = 1;
        return 0;
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

/* Where the report goes, set by set. */
struct shown {
    const struct verify_opts *vo;
    int json, first;
    struct progress *pg;
};

static int
print_buf(struct shown *sh, struct buf *b, struct cm_err *err)
{
    if (sh->pg != NULL)
        progress_clear(sh->pg);
    if (b->len > 0 && fwrite(b->data, 1, b->len, stdout) != b->len)
        return cm_fail(err, CM_EIO, "standard output: write failed");
    fflush(stdout);
    return 0;
}

/* The JSON object opens with the first set (or the end): an error before
 * that leaves standard output empty. */
static int
json_begin(struct shown *sh, struct buf *b, struct cm_err *err)
{
    return sh->json && sh->first ? verify_format_json_begin(sh->vo, b, err) : 0;
}

static int
show_set(void *ctx, const struct verify_set *s, struct cm_err *err)
{
    struct shown *sh = ctx;
    struct buf b;
    int rc;

    buf_init(&b, 64u << 20);
    rc = json_begin(sh, &b, err);
    if (rc == 0)
        rc = sh->json ? verify_format_json_set(s, sh->first, &b, err)
                      : verify_format_set_text(s, &b, err);
    sh->first = 0;
    if (rc == 0)
        rc = print_buf(sh, &b, err);
    buf_free(&b);
    return rc;
}

static int
show_end(struct shown *sh, const struct verify_result *r, struct cm_err *err)
{
    struct buf b;
    int rc;

    buf_init(&b, 64u << 20);
    rc = json_begin(sh, &b, err);
    if (rc == 0)
        rc = sh->json ? verify_format_json_end(r, &b, err)
                      : verify_format_end_text(r, &b, err);
    if (rc == 0)
        rc = print_buf(sh, &b, err);
    buf_free(&b);
    return rc;
}

static void
warn_untrusted(void)
{
    cli_warn("AUTHENTICITY IS NOT CHECKED: no trusted key was given (-P KEY "
             "or -p FILE).");
    cli_warn("Each set is checked only against the public key written in "
             "its own MANIFEST:");
    cli_warn("that proves it intact, NOT that you wrote it. Anyone can sign "
             "a set with their own key.");
}

/* Options into library terms: the trusted key, identities, threads. */
static int
load_keys(const struct verify_cli *c, struct minisig_pubkey *pk,
          struct age_identities *ids, struct verify_opts *vo,
          struct cm_err *err)
{
    const struct setargs *a = &c->keys;
    long threads = 2;

    if (a->pubkey != NULL && a->pubkey_file != NULL)
        return cm_fail(err, CM_EUSAGE, "give -P or -p, not both");
    if ((a->nidentities > 0 || a->passphrase_file != NULL) && !c->deep)
        return cm_fail(err, CM_EUSAGE,
                       "-i and --passphrase-file are only used with --deep");
    if (c->deep && a->nidentities == 0 && a->passphrase_file == NULL)
        return cm_fail(err, CM_EUSAGE, "--deep needs an identity (-i)");
    if (c->threads != NULL &&
        cli_parse_long(c->threads, "--threads", 1, 2, &threads, err) == -1)
        return -1;
    vo->threads = (int)threads;
    if (a->pubkey != NULL &&
        minisig_pubkey_parse(a->pubkey, strlen(a->pubkey), pk, err) == -1)
        return cm_err_prefix(err, "-P");
    if (a->pubkey_file != NULL &&
        minisig_pubkey_load(a->pubkey_file, pk, err) == -1)
        return -1;
    if (a->pubkey != NULL || a->pubkey_file != NULL)
        vo->trusted = pk;
    vo->deep = c->deep;
    vo->chain_only = c->chain;
    if (c->deep && ids_load(a->identities, a->nidentities, a->passphrase_file,
                            1, ids, err) == -1)
        return -1;
    vo->ids = ids;
    return 0;
}

/* Directories, or one tape stream (tape.h): "-", a device or a file. */
static int
run(const char *const *args, int nargs, const struct verify_opts *vo,
    struct verify_result *r, struct cm_err *err)
{
    const char *tmp = getenv("TMPDIR");

    for (int i = 0; i < nargs; i++)
        if (tapein_is_stream(args[i]) && nargs > 1)
            return cm_fail(err, CM_EUSAGE,
                           "%s: a tape stream is verified on its own", args[i]);
    if (nargs == 1 && tapein_is_stream(args[0]))
        return verify_stream(args[0], tmp != NULL && *tmp ? tmp : "/tmp", vo, r,
                             err);
    return verify_run(args, (size_t)nargs, vo, r, err);
}

static int
verify_main(const struct verify_cli *c, const char *const *args, int nargs,
            struct cm_err *err)
{
    struct progress_opts po = {stderr, PROGRESS_AUTO, 0, NULL, "verify"};
    struct age_identities ids = {NULL, 0};
    struct shown sh = {NULL, c->json, 1, NULL};
    struct verify_result r;
    struct verify_opts vo;
    struct minisig_pubkey pk;
    int rc = -1;

    memset(&vo, 0, sizeof vo);
    memset(&r, 0, sizeof r);
    if (load_keys(c, &pk, &ids, &vo, err) == -1)
        goto out;
    if (!isatty(2))
        po.out = NULL;
    if (progress_new(&po, &sh.pg, err) == -1)
        goto out;
    vo.progress = sh.pg;
    vo.on_set = show_set;
    vo.ctx = &sh;
    sh.vo = &vo;
    if (vo.trusted == NULL)
        warn_untrusted();
    if (run(args, nargs, &vo, &r, err) == -1)
        goto out;
    progress_finish(sh.pg);
    if (show_end(&sh, &r, err) == -1)
        goto out;
    rc = (int)r.code;
out:
    verify_result_free(&r);
    progress_free(sh.pg);
    agekey_identities_free(&ids);
    return rc;
}

int
cmd_verify(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct verify_cli c;
    const char **args;
    poptContext pc;
    int nargs, rc = -1;

    memset(&c, 0, sizeof c);
    pc = poptGetContext("coldmail-restore verify", argc, argv, verify_options,
                        0);
    poptSetOtherOptionHelp(pc, "[-P PUBKEY | -p PUBKEY_FILE] [--json] "
                               "[--chain | --deep -i IDENTITY...] "
                               "SET_DIR|MEDIUM_DIR...|-|DEVICE");
    if (cli_parse(pc, verify_option, &c, &err) == -1)
        goto out;
    if (c.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs == 0)
        cm_fail(&err, CM_EUSAGE, "verify needs a SET_DIR or MEDIUM_DIR");
    else
        rc = verify_main(&c, args, nargs, &err);
out:
    setargs_free(&c.keys);
    free(c.threads);
    poptFreeContext(pc);
    return rc >= 0 ? rc : cli_report(&err);
}
