/*
 * coldmail-restore ls: list what a set holds, from its catalog: path,
 * size, date, From, Subject and flags, as a table or as JSON Lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "catalog.h"
#include "cli.h"
#include "cmds.h"
#include "filterargs.h"
#include "query.h"
#include "setargs.h"

#define LS_JSON 0x300
#define FROM_WIDTH 24
#define SUBJECT_WIDTH 32

struct ls_opts {
    struct setargs set;
    struct filterargs filter;
    int json;
    int help;
};

static struct poptOption ls_options[] = {
    {NULL, 0, POPT_ARG_INCLUDE_TABLE, setargs_options, 0, "Keys:", NULL},
    {NULL, 0, POPT_ARG_INCLUDE_TABLE, setargs_at_options, 0,
     "Point in time:", NULL},
    {NULL, 0, POPT_ARG_INCLUDE_TABLE, filterargs_options, 0, "Filters:", NULL},
    {"json", 0, POPT_ARG_NONE, NULL, LS_JSON,
     "one JSON object per line: the catalog record (coldmail-format(5))", NULL},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
ls_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct ls_opts *o = ctx;
    int r;

    if ((r = setargs_take(&o->set, pc, val, err)) != 0 ||
        (r = filterargs_take(&o->filter, pc, val, err)) != 0)
        return r == -1 ? -1 : 0;
    switch (val) {
    case LS_JSON:
        o->json = 1;
        return 0;
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

/* Bytes that could move a terminal are shown as \ooo. */
static void
put_escaped(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            printf("\\%03o", c);
        else
            putchar(c);
    }
}

/* ${s} in ${width} columns (one per UTF-8 character), cut with '~'. */
static void
put_cell(const char *s, int width)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    int cols = 0;

    while (*p != '\0' && cols < width) {
        size_t n = 1;
        while ((p[n] & 0xC0) == 0x80)
            n++;
        if (cols == width - 1 && p[n] != '\0') {
            putchar('~');
            cols++;
            break;
        }
        if (*p < 0x20 || *p == 0x7f)
            putchar(' ');
        else
            fwrite(p, 1, n, stdout);
        p += n;
        cols++;
    }
    printf("%*s", width - cols + 1, "");
}

static const char *
kind_tag(const struct catalog_entry *e)
{
    switch (e->kind) {
    case CATALOG_DIR:
        return "<dir>";
    case CATALOG_SYMLINK:
        return "<link>";
    case CATALOG_FILE:
        return e->mbox_variant != NULL ? "<mbox>" : "<file>";
    case CATALOG_MESSAGE:
        break;
    }
    return e->flags != NULL ? e->flags : "";
}

static int
print_row(void *ctx, const struct catalog_entry *e, struct cm_err *err)
{
    char date[32] = "-";
    time_t t = (time_t)e->date;
    struct tm tm;

    (void)ctx, (void)err;
    if (e->kind == CATALOG_MESSAGE && e->has_date && gmtime_r(&t, &tm) != NULL)
        strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
    printf("%-16s %10llu %-6s ", date, (unsigned long long)e->size,
           kind_tag(e));
    put_cell(e->from, FROM_WIDTH);
    put_cell(e->subject, SUBJECT_WIDTH);
    put_escaped(e->path.p, e->path.len);
    if (e->in_mbox)
        printf("[%llu]", (unsigned long long)e->mbox_index);
    if (e->kind == CATALOG_SYMLINK) {
        fputs(" -> ", stdout);
        put_escaped(e->link.p, e->link.len);
    }
    putchar('\n');
    return 0;
}

static int
print_json(void *ctx, const struct catalog_entry *e, struct cm_err *err)
{
    struct buf *line = ctx;

    buf_reset(line);
    if (catalog_entry_format(e, line, err) == -1)
        return -1;
    fwrite(line->data, 1, line->len, stdout);
    return 0;
}

static int
ls_run(const struct ls_opts *o, const char *const *args, int nargs,
       struct cm_err *err)
{
    struct setargs_set s;
    struct filter *f = NULL;
    struct buf line;
    int rc = -1;

    buf_init(&line, 2 * CATALOG_LINE_MAX);
    if (filterargs_build(&o->filter, &f, err) == -1 ||
        setargs_open(&o->set, args, (size_t)nargs, &s, err) == -1)
        goto out;
    if (!o->json)
        printf("%-16s %10s %-6s %-*s %-*s %s\n", "DATE (UTC)", "SIZE", "FLAGS",
               FROM_WIDTH, "FROM", SUBJECT_WIDTH, "SUBJECT", "PATH");
    rc = query_list(s.set, f, o->json ? print_json : print_row, &line, err);
    setargs_close(&s);
    if (fflush(stdout) == EOF && rc == 0)
        rc = cm_fail(err, CM_EIO, "standard output: write failed");
out:
    buf_free(&line);
    filter_free(f);
    return rc;
}

int
cmd_ls(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct ls_opts o;
    const char **args;
    poptContext pc;
    int nargs;

    memset(&o, 0, sizeof o);
    pc = poptGetContext("coldmail-restore ls", argc, argv, ls_options, 0);
    poptSetOtherOptionHelp(pc,
                           "-i IDENTITY_FILE [filters] [--json] [--at DATE] "
                           "SET_DIR [SET_DIR|MEDIUM_DIR...]");
    if (cli_parse(pc, ls_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs < 1)
        cm_fail(&err, CM_EUSAGE, "ls needs a SET_DIR (see --help)");
    else
        ls_run(&o, args, nargs, &err);
out:
    setargs_free(&o.set);
    filterargs_free(&o.filter);
    poptFreeContext(pc);
    return cli_report(&err);
}
