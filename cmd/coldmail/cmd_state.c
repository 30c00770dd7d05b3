/*
 * coldmail state rebuild: the state's media and chain records from the
 * MANIFESTs on the media, without any key.  Options in coldmail(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "config.h"
#include "rebuild.h"
#include "state.h"

struct state_cli {
    char *state_dir;
    char *config;
    int help;
};

enum { OPT_STATE_DIR = 1000, OPT_CONFIG };

static const struct poptOption state_options[] = {
    {"state-dir", 0, POPT_ARG_STRING, NULL, OPT_STATE_DIR,
     "the pack host's state (default: the config's, or /var/lib/coldmail)",
     "DIR"},
    {"config", 0, POPT_ARG_STRING, NULL, OPT_CONFIG,
     "configuration file (default /etc/coldmail/coldmail.conf, if present)",
     "FILE"},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
state_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct state_cli *o = ctx;

    switch (val) {
    case OPT_STATE_DIR:
        return cli_take_once(pc, &o->state_dir, "--state-dir", err);
    case OPT_CONFIG:
        return cli_take_once(pc, &o->config, "--config", err);
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

static void
on_medium(void *ctx, const struct rebuild_medium *m)
{
    (void)ctx;
    printf("%s: %s%s%s: %u set%s, %u recorded anew", m->dir,
           m->label[0] ? "medium \"" : "no label", m->label,
           m->label[0] ? "\"" : "", m->sets, m->sets == 1 ? "" : "s", m->added);
    if (m->gone > 0)
        printf(", %u no longer there (marked removed)", m->gone);
    if (m->conflicts > 0)
        printf(", %u in conflict with the chain", m->conflicts);
    printf("; the next pack on it writes %s\n",
           m->has_index ? "an incremental set if it can"
                        : "a full set (no object listing)");
}

static void
on_warn(void *ctx, const char *msg)
{
    (void)ctx;
    cli_warn("%s", msg);
}

static void
print_summary(const struct rebuild_result *r)
{
    printf("state rebuilt from %u medi%s: %u sets, %u recorded anew\n",
           r->media, r->media == 1 ? "um" : "a", r->sets, r->added);
    if (r->head_sequence > 0)
        printf("chain head: sequence %llu on %s; if a newer set is on a "
               "medium not given here, rebuild with it too before the next "
               "pack\n",
               (unsigned long long)r->head_sequence,
               r->head_medium[0] ? r->head_medium : "an unlabelled medium");
    printf("note: the object listings incrementals build on are in the "
           "encrypted catalogs and cannot be rebuilt; a medium without one "
           "gets a full set on its next pack\n");
}

static int
state_main(const struct state_cli *o, const char **media, int n,
           struct cm_err *err)
{
    struct rebuild_result res;
    struct rebuild_opts ro;
    struct config conf;
    int rc;

    memset(&ro, 0, sizeof ro);
    if (config_load(o->config ? o->config : CONFIG_DEFAULT_PATH,
                    o->config != NULL, &conf, err) == -1)
        return -1;
    ro.state_dir = o->state_dir     ? o->state_dir
                   : conf.state_dir ? conf.state_dir
                                    : STATE_DEFAULT_DIR;
    ro.media = media;
    ro.nmedia = (size_t)n;
    ro.on_medium = on_medium;
    ro.warn = on_warn;
    rc = rebuild_run(&ro, &res, err);
    if (rc == 0 || err->code == CM_ECONFLICT)
        print_summary(&res);
    config_free(&conf);
    return rc;
}

int
cmd_state(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct state_cli o;
    const char **args;
    poptContext pc;
    int nargs;

    memset(&o, 0, sizeof o);
    pc = poptGetContext("coldmail state", argc, argv, state_options, 0);
    poptSetOtherOptionHelp(pc, "rebuild MEDIUM_DIR... [--state-dir DIR]");
    if (cli_parse(pc, state_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs >= 2 && strcmp(args[0], "rebuild") == 0)
        state_main(&o, args + 1, nargs - 1, &err);
    else
        cm_fail(&err, CM_EUSAGE,
                "usage: coldmail state rebuild MEDIUM_DIR... "
                "[--state-dir DIR]");
out:
    free(o.state_dir);
    free(o.config);
    poptFreeContext(pc);
    return cli_report(&err);
}
