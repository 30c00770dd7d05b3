/*
 * coldmail hold: put a set under legal hold (prune never removes it), or
 * release it.  Options in coldmail(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "config.h"
#include "hold.h"
#include "minisig.h"
#include "state.h"

struct hold_cli {
    char *reason;
    char *signing_key;
    char *state_dir;
    char *config;
    int release, help;
};

enum { OPT_REASON = 1000, OPT_RELEASE, OPT_STATE_DIR, OPT_CONFIG };

static const struct poptOption hold_options[] = {
    {"reason", 0, POPT_ARG_STRING, NULL, OPT_REASON,
     "why the set is held (one line, recorded and signed)", "TEXT"},
    {"release", 0, POPT_ARG_NONE, NULL, OPT_RELEASE,
     "release the hold (removes the hold file)", NULL},
    {"signing-key", 's', POPT_ARG_STRING, NULL, 's',
     "sign (or, to release, check) the hold with this key (default: the "
     "config's)",
     "FILE"},
    {"state-dir", 0, POPT_ARG_STRING, NULL, OPT_STATE_DIR,
     "the pack host's state (default: the config's, or /var/lib/coldmail)",
     "DIR"},
    {"config", 0, POPT_ARG_STRING, NULL, OPT_CONFIG,
     "configuration file (default /etc/coldmail/coldmail.conf, if present)",
     "FILE"},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
hold_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct hold_cli *o = ctx;

    switch (val) {
    case OPT_REASON:
        return cli_take_once(pc, &o->reason, "--reason", err);
    case 's':
        return cli_take_once(pc, &o->signing_key, "--signing-key", err);
    case OPT_STATE_DIR:
        return cli_take_once(pc, &o->state_dir, "--state-dir", err);
    case OPT_CONFIG:
        return cli_take_once(pc, &o->config, "--config", err);
    case OPT_RELEASE:
        o->release = 1;
        return 0;
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

static void
print_outcome(const struct hold_cli *o, const struct hold_result *r)
{
    static const char *const state_note[] = {
        "the set is not in the state (held on the medium only)",
        "no state found (held on the medium only)", "recorded in the state"};

    if (o->release)
        printf("released %s (it was held: %s); removed %s\n", r->hold.set,
               r->hold.reason, r->hold_path);
    else
        printf("held %s (reason: %s): %s written\n", r->hold.set,
               r->hold.reason, r->hold_path);
    printf("%s\n", o->release && r->in_state == 1
                       ? "the release is recorded in the state"
                       : state_note[r->in_state + 1]);
}

static int
hold_main(const struct hold_cli *o, const char *set_dir, struct cm_err *err)
{
    struct minisig_seckey sk;
    struct hold_result res;
    struct hold_opts ho;
    struct config conf;
    const char *key;
    int rc = -1;

    memset(&sk, 0, sizeof sk);
    memset(&ho, 0, sizeof ho);
    if (config_load(o->config ? o->config : CONFIG_DEFAULT_PATH,
                    o->config != NULL, &conf, err) == -1)
        return -1;
    key = o->signing_key ? o->signing_key : conf.signing_key;
    if (key == NULL) {
        cm_fail(err, CM_EUSAGE, "hold needs -s SIGNING_KEY");
        goto out;
    }
    if (o->release == (o->reason != NULL)) {
        cm_fail(err, CM_EUSAGE,
                o->release ? "--release takes no --reason"
                           : "hold needs --reason TEXT");
        goto out;
    }
    if (minisig_seckey_load(key, &sk, err) == -1)
        goto out;
    ho.set_dir = set_dir;
    ho.reason = o->reason;
    ho.release = o->release;
    ho.signer = &sk;
    ho.state_dir = o->state_dir     ? o->state_dir
                   : conf.state_dir ? conf.state_dir
                                    : STATE_DEFAULT_DIR;
    if ((rc = hold_run(&ho, &res, err)) == 0)
        print_outcome(o, &res);
out:
    minisig_seckey_wipe(&sk);
    config_free(&conf);
    return rc;
}

int
cmd_hold(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct hold_cli o;
    const char **args;
    poptContext pc;
    int nargs;

    memset(&o, 0, sizeof o);
    pc = poptGetContext("coldmail hold", argc, argv, hold_options, 0);
    poptSetOtherOptionHelp(pc, "SET_DIR --reason TEXT -s SIGNING_KEY | "
                               "SET_DIR --release -s SIGNING_KEY");
    if (cli_parse(pc, hold_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs != 1)
        cm_fail(&err, CM_EUSAGE,
                "usage: coldmail hold SET_DIR --reason TEXT -s SIGNING_KEY");
    else
        hold_main(&o, args[0], &err);
out:
    free(o.reason);
    free(o.signing_key);
    free(o.state_dir);
    free(o.config);
    poptFreeContext(pc);
    return cli_report(&err);
}
