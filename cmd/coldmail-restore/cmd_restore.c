/*
 * coldmail-restore restore: recreate the stores of a set (or the part the
 * filters select) under a target directory, in their own layout or as one
 * mbox file per folder; lists what was lost or left alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "cmds.h"
#include "filterargs.h"
#include "manifest.h"
#include "progress.h"
#include "restore.h"
#include "setargs.h"
#include "tapein.h"

#define R_FORMAT 0x300
#define R_MERGE 0x301
#define R_FSYNC 0x302
#define R_PROGRESS 0x303
#define R_SPOOL_DIR 0x304
#define LIST_MAX (4u << 20) /* bytes of each list kept for the summary */

struct restore_cli {
    struct setargs set;
    struct filterargs filter;
    char *output;
    char *format;
    char *spool_dir;
    int merge, fsync, progress, quiet, help;
};

static struct poptOption restore_options[] = {
    {NULL, 0, POPT_ARG_INCLUDE_TABLE, setargs_options, 0, "Keys:", NULL},
    {NULL, 0, POPT_ARG_INCLUDE_TABLE, setargs_at_options, 0,
     "Point in time:", NULL},
    {NULL, 0, POPT_ARG_INCLUDE_TABLE, filterargs_options, 0, "Filters:", NULL},
    {"output", 'o', POPT_ARG_STRING, NULL, 'o',
     "restore under TARGET (created if missing; must be empty)", "TARGET"},
    {"format", 0, POPT_ARG_STRING, NULL, R_FORMAT,
     "maildir: the stores' own layout (default); mbox: one mboxrd file per "
     "folder",
     "maildir|mbox"},
    {"merge", 0, POPT_ARG_NONE, NULL, R_MERGE,
     "restore into a non-empty TARGET; never overwrite a different file", NULL},
    {"fsync", 0, POPT_ARG_NONE, NULL, R_FSYNC,
     "fsync every file (default: one syncfs at the end)", NULL},
    {"spool-dir", 0, POPT_ARG_STRING, NULL, R_SPOOL_DIR,
     "a tape stream (- or a device) is unpacked here first; needs room "
     "for the whole set (default $TMPDIR or /var/tmp)",
     "DIR"},
    {"progress", 0, POPT_ARG_NONE, NULL, R_PROGRESS,
     "show progress even when standard error is not a terminal", NULL},
    {"quiet", 'q', POPT_ARG_NONE, NULL, 'q',
     "no progress and no summary, only warnings and errors", NULL},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
restore_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct restore_cli *o = ctx;
    int r;

    if ((r = setargs_take(&o->set, pc, val, err)) != 0 ||
        (r = filterargs_take(&o->filter, pc, val, err)) != 0)
        return r == -1 ? -1 : 0;
    switch (val) {
    case 'o':
        return cli_take_once(pc, &o->output, "--output", err);
    case R_FORMAT:
        return cli_take_once(pc, &o->format, "--format", err);
    case R_SPOOL_DIR:
        return cli_take_once(pc, &o->spool_dir, "--spool-dir", err);
    case R_MERGE:
        o->merge = 1;
        return 0;
    case R_FSYNC:
        o->fsync = 1;
        return 0;
    case R_PROGRESS:
        o->progress = 1;
        return 0;
    case 'q':
        o->quiet = 1;
        return 0;
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

/* ------------------------------------------------------------------ */
/* What is shown                                                       */

/* The lists printed at the end, by restore_event_kind. */
struct shown {
    struct progress *pg;
    struct buf list[RESTORE_WARNING];
    uint64_t unlisted[RESTORE_WARNING];
};

static void
append_escaped(struct buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '\\')
            buf_printf(b, NULL, "\\%03o", c);
        else
            buf_append_byte(b, c, "list", NULL);
    }
}

static void
on_event(void *ctx, const struct restore_event *ev)
{
    struct shown *sh = ctx;
    struct buf *b;
    size_t mark;

    if (ev->kind == RESTORE_WARNING) {
        progress_clear(sh->pg);
        cli_warn("%s", ev->why);
        return;
    }
    b = &sh->list[ev->kind];
    mark = b->len;
    buf_append_str(b, "  ", "list", NULL);
    append_escaped(b, ev->path != NULL ? ev->path : "?");
    if (ev->message_id != NULL) {
        buf_append_str(b, " (Message-ID ", "list", NULL);
        append_escaped(b, ev->message_id);
        buf_append_byte(b, ')', "list", NULL);
    }
    if (ev->why != NULL) {
        buf_append_str(b, ": ", "list", NULL);
        append_escaped(b, ev->why);
    }
    if (buf_append_byte(b, '\n', "list", NULL) == -1) {
        b->len = mark; /* full: counted instead */
        sh->unlisted[ev->kind]++;
    }
}

static void
on_progress(void *ctx, uint64_t items, uint64_t bytes)
{
    struct shown *sh = ctx;

    progress_add(sh->pg, items, bytes);
}

static int
open_progress(const struct restore_cli *o, struct shown *sh, struct cm_err *err)
{
    struct progress_opts po = {stderr, PROGRESS_AUTO, 0, NULL, "restore"};

    if (o->quiet)
        po.out = NULL;
    else if (o->progress && !isatty(2)) {
        po.mode = PROGRESS_PLAIN;
        po.interval = 10;
    } else if (!isatty(2)) {
        po.out = NULL;
    }
    return progress_new(&po, &sh->pg, err);
}

static void
print_list(const struct shown *sh, enum restore_event_kind k, uint64_t count,
           const char *title)
{
    if (count == 0)
        return;
    fprintf(stderr, "%s (%llu):\n", title, (unsigned long long)count);
    fwrite(sh->list[k].data, 1, sh->list[k].len, stderr);
    if (sh->unlisted[k] > 0)
        fprintf(stderr, "  ... and %llu more\n",
                (unsigned long long)sh->unlisted[k]);
}

static void
print_summary(const struct restore_cli *o, const struct restore_result *r,
              const struct shown *sh)
{
    char bytes[32], lost[32];

    cli_format_bytes(r->bytes, bytes, sizeof bytes);
    cli_format_bytes(r->lost_bytes, lost, sizeof lost);
    fprintf(stderr,
            "restored %llu messages, %llu other files, %llu mbox files, "
            "%llu directories, %llu symlinks (%s) into %s\n",
            (unsigned long long)r->messages, (unsigned long long)r->files,
            (unsigned long long)r->mboxes, (unsigned long long)r->dirs,
            (unsigned long long)r->symlinks, bytes, o->output);
    if (r->present > 0)
        fprintf(stderr, "already there and identical: %llu\n",
                (unsigned long long)r->present);
    if (r->catalog_unusable)
        fprintf(stderr, "THE CATALOG WAS UNUSABLE: restored from the "
                        "volumes' tar streams without per-object checks\n");
    if (r->lost > 0)
        fprintf(stderr,
                "LOST: %llu objects (%llu messages, %s) could not "
                "be read or did not match; nothing of them was "
                "written\n",
                (unsigned long long)r->lost,
                (unsigned long long)r->lost_messages, lost);
    print_list(sh, RESTORE_LOST, r->lost, "lost");
    print_list(sh, RESTORE_REFUSED, r->refused, "refused (unsafe)");
    print_list(sh, RESTORE_FAILED, r->failed, "could not be written");
    print_list(sh, RESTORE_CONFLICT, r->conflicts,
               "left untouched: an existing file differs from the set");
    if (restore_status(r) == CM_DAMAGED)
        fprintf(stderr, "completed with losses\n");
}

/* ------------------------------------------------------------------ */

static int
parse_format(const char *s, enum restore_format *out, struct cm_err *err)
{
    if (s == NULL || strcmp(s, "maildir") == 0)
        *out = RESTORE_LAYOUT;
    else if (strcmp(s, "mbox") == 0)
        *out = RESTORE_MBOX;
    else
        return cm_fail(err, CM_EUSAGE, "--format %s: maildir or mbox", s);
    return 0;
}

static void
set_totals(struct shown *sh, const struct restore_opts *ro)
{
    const struct manifest *m = setr_manifest(ro->set);

    if ((ro->filter == NULL || filter_is_empty(ro->filter)) &&
        ro->format == RESTORE_LAYOUT)
        progress_set_total(sh->pg, m->objects, m->bytes_in);
}

/* The exit status of a restore that ran to its end, or -1. */
static int
restore_main(const struct restore_cli *o, const char *const *args, int nargs,
             struct cm_err *err)
{
    struct restore_opts ro;
    struct restore_result res;
    struct setargs_set s;
    struct shown sh;
    int rc = -1;

    memset(&ro, 0, sizeof ro);
    memset(&sh, 0, sizeof sh);
    memset(&s, 0, sizeof s);
    for (size_t k = 0; k < RESTORE_WARNING; k++)
        buf_init(&sh.list[k], LIST_MAX);
    if (o->output == NULL) {
        cm_fail(err, CM_EUSAGE, "restore needs -o TARGET");
        goto out;
    }
    if (parse_format(o->format, &ro.format, err) == -1 ||
        filterargs_build(&o->filter, &ro.filter, err) == -1 ||
        setargs_open(&o->set, args, (size_t)nargs, &s, err) == -1 ||
        open_progress(o, &sh, err) == -1)
        goto out;
    ro.set = s.set;
    ro.set_opts = &s.opts;
    ro.target = o->output;
    ro.merge = o->merge;
    ro.fsync = o->fsync;
    ro.event = on_event;
    ro.progress = on_progress;
    ro.ctx = &sh;
    ro.interrupted = cli_catch_interrupts();
    set_totals(&sh, &ro);
    if (restore_run(&ro, &res, err) == 0)
        rc = (int)restore_status(&res);
    progress_finish(sh.pg);
    if (rc >= 0 && !o->quiet)
        print_summary(o, &res, &sh);
out:
    progress_free(sh.pg);
    for (size_t k = 0; k < RESTORE_WARNING; k++)
        buf_free(&sh.list[k]);
    filter_free(ro.filter);
    setargs_close(&s);
    return rc;
}

/*
 * A tape stream (tape.h) is unpacked into the spool, read once and in
 * order, then restored from there as a set directory; every block is
 * checked against the signed MANIFEST as it is read back.
 */
static int
restore_stream(const struct restore_cli *o, const char **args, int nargs,
               struct cm_err *err)
{
    const char *tmp = getenv("TMPDIR");
    const char *spool = o->spool_dir != NULL          ? o->spool_dir
                        : tmp != NULL && *tmp != '\0' ? tmp
                                                      : "/var/tmp";
    const char *stream = args[0];
    char set_dir[4400];
    int status;

    if (o->output == NULL)
        return cm_fail(err, CM_EUSAGE, "restore needs -o TARGET");
    if (!o->quiet)
        fprintf(stderr, "%s: unpacking the tape stream %s into %s\n",
                cli_progname,
                strcmp(stream, "-") == 0 ? "(standard input)" : stream, spool);
    if (tapein_unpack(stream, spool, set_dir, sizeof set_dir, err) == -1)
        return -1;
    args[0] = set_dir;
    status = restore_main(o, args, nargs, err);
    args[0] = stream;
    tapein_unpack_remove(set_dir);
    return status;
}

int
cmd_restore(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct restore_cli o;
    const char **args;
    poptContext pc;
    int nargs, status = 0;

    memset(&o, 0, sizeof o);
    pc = poptGetContext("coldmail-restore restore", argc, argv, restore_options,
                        0);
    poptSetOtherOptionHelp(pc, "-i IDENTITY_FILE -o TARGET [filters] "
                               "[--format maildir|mbox] [--merge] [--at DATE] "
                               "SET_DIR [SET_DIR|MEDIUM_DIR...]");
    if (cli_parse(pc, restore_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs < 1)
        cm_fail(&err, CM_EUSAGE, "restore needs a SET_DIR (see --help)");
    else if (tapein_is_stream(args[0]))
        status = restore_stream(&o, args, nargs, &err);
    else
        status = restore_main(&o, args, nargs, &err);
out:
    setargs_free(&o.set);
    filterargs_free(&o.filter);
    free(o.output);
    free(o.format);
    free(o.spool_dir);
    poptFreeContext(pc);
    if (err.code != CM_OK)
        return cli_report(&err);
    return status; /* the summary said why */
}
