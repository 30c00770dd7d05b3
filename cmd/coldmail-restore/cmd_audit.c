/*
 * coldmail-restore audit: the compliance spot-check.  N messages picked at
 * random (reproducibly with --seed), each read by random access and its
 * SHA-256 compared with the catalog; a text report, and JSON with
 * --report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "cli.h"
#include "cmds.h"
#include "io.h"
#include "rnd.h"
#include "setargs.h"
#include "when.h"

#define A_SAMPLE 0x300
#define A_SEED 0x301
#define A_REPORT 0x302
#define REPORT_MAX (1u << 30)

struct audit_cli {
    struct setargs set;
    char *sample, *seed, *report;
    int help;
};

static struct poptOption audit_options[] = {
    {NULL, 0, POPT_ARG_INCLUDE_TABLE, setargs_options, 0, "Keys:", NULL},
    {NULL, 0, POPT_ARG_INCLUDE_TABLE, setargs_at_options, 0,
     "Point in time:", NULL},
    {"sample", 0, POPT_ARG_STRING, NULL, A_SAMPLE,
     "check N messages picked at random", "N"},
    {"seed", 0, POPT_ARG_STRING, NULL, A_SEED,
     "pick with this seed (0 to 2^64-1) to repeat an audit; default random",
     "S"},
    {"report", 0, POPT_ARG_STRING, NULL, A_REPORT,
     "also write the report as JSON to FILE (replaced if it exists)", "FILE"},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
audit_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct audit_cli *o = ctx;
    int r;

    if ((r = setargs_take(&o->set, pc, val, err)) != 0)
        return r == -1 ? -1 : 0;
    switch (val) {
    case A_SAMPLE:
        return cli_take_once(pc, &o->sample, "--sample", err);
    case A_SEED:
        return cli_take_once(pc, &o->seed, "--seed", err);
    case A_REPORT:
        return cli_take_once(pc, &o->report, "--report", err);
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

static int
parse_seed(const char *s, uint64_t *out, struct cm_err *err)
{
    unsigned long long v;
    char *end;

    if (s == NULL)
        return rnd_bytes(out, sizeof *out, err);
    errno = 0;
    v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0)
        return cm_fail(err, CM_EUSAGE, "--seed %s: a number 0 to 2^64-1", s);
    *out = v;
    return 0;
}

static int
numbers(const struct audit_cli *o, struct audit_opts *ao, struct cm_err *err)
{
    long n;

    if (o->sample == NULL)
        return cm_fail(err, CM_EUSAGE, "audit needs --sample N");
    if (cli_parse_long(o->sample, "--sample", 1, AUDIT_SAMPLE_MAX, &n, err) ==
        -1)
        return -1;
    ao->sample = (uint64_t)n;
    return parse_seed(o->seed, &ao->seed, err);
}

static void
print_item(const struct audit_item *it)
{
    char date[WHEN_ISO_LEN] = "-", where[32] = "";

    if (it->has_date)
        when_format_iso(date, it->date);
    if (it->in_mbox)
        snprintf(where, sizeof where, "[%llu]",
                 (unsigned long long)it->mbox_index);
    printf("%-10s %-20s %s%s %s\n", audit_result_name(it->result), date,
           it->path, where, it->message_id ? it->message_id : "-");
    if (it->result != AUDIT_OK && it->error != NULL)
        printf("           %s\n", it->error);
}

static void
print_report(const char *dir, const struct audit_report *r)
{
    printf("audit of %s\n", dir);
    printf("set id:          %s\n", r->set_id);
    printf("MANIFEST SHA-256: %s\n", r->manifest_sha256);
    printf("signed by key:   %s (%s)\n", r->signer_key_id,
           r->trusted ? "the trusted key given"
                      : "NOT checked against a trusted key");
    printf("seed:            %llu (repeat with --seed %llu)\n",
           (unsigned long long)r->seed, (unsigned long long)r->seed);
    printf("messages:        %llu in the set, %llu sampled\n\n",
           (unsigned long long)r->population, (unsigned long long)r->nitems);
    for (size_t i = 0; i < r->nitems; i++)
        print_item(&r->items[i]);
    printf("\n%s: %llu passed, %llu failed\n",
           r->failed == 0 ? "PASSED" : "FAILED", (unsigned long long)r->passed,
           (unsigned long long)r->failed);
}

/* Written beside, then renamed: a report is whole or absent. */
static int
write_report(const char *path, const struct audit_report *r, struct cm_err *err)
{
    char tmp[4200];
    struct buf text;
    int rc = -1;

    buf_init(&text, REPORT_MAX);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    if (audit_report_json(r, &text, err) == -1 ||
        io_write_file_excl(tmp, text.data, text.len, 0644, err) == -1)
        goto out;
    if (io_rename(tmp, path, err) == -1) {
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    buf_free(&text);
    return rc;
}

/* The exit status, or -1. */
static int
audit_main(const struct audit_cli *o, const char *const *args, int nargs,
           struct cm_err *err)
{
    struct audit_opts ao;
    struct audit_report rep;
    struct setargs_set s;
    int rc = -1;

    memset(&ao, 0, sizeof ao);
    memset(&rep, 0, sizeof rep);
    if (numbers(o, &ao, err) == -1 ||
        setargs_open(&o->set, args, (size_t)nargs, &s, err) == -1)
        return -1;
    ao.set = s.set;
    ao.set_opts = &s.opts;
    if (audit_run(&ao, &rep, err) == 0) {
        print_report(setr_dir(s.set), &rep);
        fflush(stdout);
        if (o->report == NULL || write_report(o->report, &rep, err) == 0)
            rc = rep.failed == 0 ? CM_OK : CM_DAMAGED;
    }
    audit_report_free(&rep);
    setargs_close(&s);
    return rc;
}

int
cmd_audit(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct audit_cli o;
    const char **args;
    poptContext pc;
    int nargs, status = 0;

    memset(&o, 0, sizeof o);
    pc = poptGetContext("coldmail-restore audit", argc, argv, audit_options, 0);
    poptSetOtherOptionHelp(
        pc, "-i IDENTITY_FILE --sample N [--seed S] [--report FILE] "
            "[--at DATE] SET_DIR [SET_DIR|MEDIUM_DIR...]");
    if (cli_parse(pc, audit_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs < 1)
        cm_fail(&err, CM_EUSAGE, "audit needs a SET_DIR (see --help)");
    else
        status = audit_main(&o, args, nargs, &err);
out:
    setargs_free(&o.set);
    free(o.sample);
    free(o.seed);
    free(o.report);
    poptFreeContext(pc);
    if (err.code != CM_OK)
        return cli_report(&err);
    return status;
}
