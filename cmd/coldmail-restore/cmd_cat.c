/*
 * coldmail-restore cat: one message or file to standard output,
 * byte-identical, reading only the chunks and frames that hold it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "io.h"
#include "query.h"
#include "setargs.h"

#define CAT_MESSAGE_ID 0x300
#define CAT_PATH 0x301

struct cat_opts {
    struct setargs set;
    char *message_id;
    char *path;
    int help;
};

static struct poptOption cat_options[] = {
    {NULL, 0, POPT_ARG_INCLUDE_TABLE, setargs_options, 0, "Keys:", NULL},
    {NULL, 0, POPT_ARG_INCLUDE_TABLE, setargs_at_options, 0,
     "Point in time:", NULL},
    {"message-id", 0, POPT_ARG_STRING, NULL, CAT_MESSAGE_ID,
     "the message with this Message-ID (<> optional; the first if several)",
     "ID"},
    {"path", 0, POPT_ARG_STRING, NULL, CAT_PATH,
     "the message or file at exactly this catalog path", "PATH"},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
cat_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct cat_opts *o = ctx;
    int r;

    if ((r = setargs_take(&o->set, pc, val, err)) != 0)
        return r == -1 ? -1 : 0;
    switch (val) {
    case CAT_MESSAGE_ID:
        return cli_take_once(pc, &o->message_id, "--message-id", err);
    case CAT_PATH:
        return cli_take_once(pc, &o->path, "--path", err);
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

static int
to_stdout(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    (void)ctx;
    return io_write_all(1, p, len, "standard output", err);
}

static int
cat_run(const struct cat_opts *o, const char *const *args, int nargs,
        struct cm_err *err)
{
    struct query_cat_opts q = {NULL, NULL, o->path, o->message_id};
    struct query_cat_result res;
    struct setargs_set s;
    int rc;

    if ((o->path == NULL) == (o->message_id == NULL))
        return cm_fail(err, CM_EUSAGE,
                       "cat needs --message-id ID or --path PATH (one)");
    if (setargs_open(&o->set, args, (size_t)nargs, &s, err) == -1)
        return -1;
    q.set = s.set;
    q.set_opts = &s.opts;
    rc = query_cat(&q, to_stdout, NULL, &res, err);
    if (rc == 0 && res.matches > 1)
        cli_warn("%llu messages match --message-id %s; wrote the first, %s",
                 (unsigned long long)res.matches, o->message_id, res.path);
    setargs_close(&s);
    return rc;
}

int
cmd_cat(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct cat_opts o;
    poptContext pc;
    const char **args;
    int nargs;

    memset(&o, 0, sizeof o);
    pc = poptGetContext("coldmail-restore cat", argc, argv, cat_options, 0);
    poptSetOtherOptionHelp(
        pc, "-i IDENTITY_FILE (--message-id ID | --path PATH) [--at DATE] "
            "SET_DIR [SET_DIR|MEDIUM_DIR...]");
    if (cli_parse(pc, cat_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs < 1)
        cm_fail(&err, CM_EUSAGE, "cat needs a SET_DIR (see --help)");
    else
        cat_run(&o, args, nargs, &err);
out:
    setargs_free(&o.set);
    free(o.message_id);
    free(o.path);
    poptFreeContext(pc);
    return cli_report(&err);
}
