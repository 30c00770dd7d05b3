/*
 * coldmail prune: free space on a medium by removing its oldest whole
 * chains.  Options in coldmail(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "config.h"
#include "hold.h"
#include "minisig.h"
#include "prune.h"
#include "state.h"
#include "when.h"

struct prune_cli {
    char *keep;
    char *state_dir;
    char *config;
    char *signing_key;
    int dry_run, help;
};

enum { OPT_KEEP = 1000, OPT_STATE_DIR, OPT_CONFIG, OPT_DRY_RUN };

static const struct poptOption prune_options[] = {
    {"keep", 0, POPT_ARG_STRING, NULL, OPT_KEEP,
     "restorable points to keep (at least 1)", "N"},
    {"dry-run", 'n', POPT_ARG_NONE, NULL, OPT_DRY_RUN,
     "show what would be removed, remove nothing", NULL},
    {"signing-key", 's', POPT_ARG_STRING, NULL, 's',
     "verify hold files and the medium label with this key's public half "
     "(default: the config's)",
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
prune_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct prune_cli *o = ctx;

    switch (val) {
    case OPT_KEEP:
        return cli_take_once(pc, &o->keep, "--keep", err);
    case 's':
        return cli_take_once(pc, &o->signing_key, "--signing-key", err);
    case OPT_STATE_DIR:
        return cli_take_once(pc, &o->state_dir, "--state-dir", err);
    case OPT_CONFIG:
        return cli_take_once(pc, &o->config, "--config", err);
    case OPT_DRY_RUN:
        o->dry_run = 1;
        return 0;
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

struct shown {
    int dry_run;
    unsigned keep;
};

static const char *
fate_text(const struct prune_set *s, const struct shown *sh, char *buf,
          size_t len)
{
    switch (s->fate) {
    case PRUNE_REMOVE:
        return "";
    case PRUNE_KEEP_POINT:
        snprintf(buf, len, "one of the %u newest restorable points", sh->keep);
        return buf;
    case PRUNE_KEEP_CHAIN:
        return "in the chain of a kept or held set";
    case PRUNE_KEEP_HELD:
        snprintf(buf, len, "held: %s",
                 s->hold_reason && *s->hold_reason ? s->hold_reason
                                                   : "(see warnings)");
        return buf;
    case PRUNE_KEEP_BROKEN:
        return "not restorable: a set it builds on is missing";
    case PRUNE_KEEP_PART:
        return "part of a set that spans media, newer than the points kept";
    }
    return "";
}

static void
on_set(void *ctx, const struct prune_set *s)
{
    const struct shown *sh = ctx;
    char when[WHEN_ISO_LEN], size[32], why[HOLD_REASON_MAX + 16];
    const char *verb = s->fate != PRUNE_REMOVE ? "keep"
                       : sh->dry_run           ? "would remove"
                                               : "remove";

    when_format_iso(when, s->created);
    cli_format_bytes(s->bytes, size, sizeof size);
    printf("%-12s %-20s %-11s %5llu %9s  %s%s%s\n", verb, when, s->kind,
           (unsigned long long)s->sequence, size, s->name,
           s->fate == PRUNE_REMOVE ? "" : "  # ",
           fate_text(s, sh, why, sizeof why));
}

static void
on_warn(void *ctx, const char *msg)
{
    (void)ctx;
    cli_warn("%s", msg);
}

static void
print_summary(const struct prune_result *r, int dry_run)
{
    char freed[32];

    cli_format_bytes(r->bytes_freed, freed, sizeof freed);
    printf("%s%s %u set%s (%u whole chain%s), %s %s; kept %u set%s, %u "
           "restorable point%s",
           dry_run ? "dry run: " : "", dry_run ? "would remove" : "removed",
           r->removed, r->removed == 1 ? "" : "s", r->chains_removed,
           r->chains_removed == 1 ? "" : "s", freed,
           dry_run ? "to free" : "freed", r->sets - r->removed,
           r->sets - r->removed == 1 ? "" : "s",
           r->points - r->points_removed,
           r->points - r->points_removed == 1 ? "" : "s");
    if (r->held > 0)
        printf(", %u set%s under hold", r->held, r->held == 1 ? "" : "s");
    printf("%s\n",
           r->used_state ? "" : " (no state: worked from the medium alone)");
}

static int
prune_main(const struct prune_cli *o, const char *medium, struct cm_err *err)
{
    struct minisig_seckey sk;
    struct minisig_pubkey pk;
    struct prune_opts po;
    struct prune_result res;
    struct config conf;
    struct shown sh;
    const char *key;
    long keep;
    int rc = -1;

    memset(&po, 0, sizeof po);
    memset(&sk, 0, sizeof sk);
    if (config_load(o->config ? o->config : CONFIG_DEFAULT_PATH,
                    o->config != NULL, &conf, err) == -1)
        return -1;
    if (o->keep == NULL) {
        cm_fail(err, CM_EUSAGE, "prune needs --keep N");
        goto out;
    }
    if (cli_parse_long(o->keep, "--keep", 1, 1000000, &keep, err) == -1)
        goto out;
    key = o->signing_key ? o->signing_key : conf.signing_key;
    if (key != NULL) {
        if (minisig_seckey_load(key, &sk, err) == -1)
            goto out;
        minisig_seckey_pubkey(&sk, &pk);
        po.signer = &pk;
    }
    sh.dry_run = o->dry_run;
    sh.keep = (unsigned)keep;
    po.medium_dir = medium;
    po.keep = (unsigned)keep;
    po.dry_run = o->dry_run;
    po.state_dir = o->state_dir     ? o->state_dir
                   : conf.state_dir ? conf.state_dir
                                    : STATE_DEFAULT_DIR;
    po.on_set = on_set;
    po.warn = on_warn;
    po.ctx = &sh;
    if ((rc = prune_run(&po, &res, err)) == 0)
        print_summary(&res, o->dry_run);
out:
    minisig_seckey_wipe(&sk);
    config_free(&conf);
    return rc;
}

int
cmd_prune(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct prune_cli o;
    const char **args;
    poptContext pc;
    int nargs;

    memset(&o, 0, sizeof o);
    pc = poptGetContext("coldmail prune", argc, argv, prune_options, 0);
    poptSetOtherOptionHelp(pc, "MEDIUM_DIR --keep N [--dry-run] "
                               "[--state-dir DIR] [-s SIGNING_KEY]");
    if (cli_parse(pc, prune_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs != 1)
        cm_fail(&err, CM_EUSAGE, "usage: coldmail prune MEDIUM_DIR --keep N");
    else
        prune_main(&o, args[0], &err);
out:
    free(o.keep);
    free(o.state_dir);
    free(o.config);
    free(o.signing_key);
    poptFreeContext(pc);
    return cli_report(&err);
}
