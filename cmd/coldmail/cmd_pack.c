/*
 * coldmail pack: mail stores into a signed, encrypted, verified set on a
 * medium.  Options in coldmail(1).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "agekey.h"
#include "cli.h"
#include "cmds.h"
#include "config.h"
#include "io.h"
#include "minisig.h"
#include "pack.h"
#include "parity.h"
#include "progress.h"
#include "state.h"
#include "tape.h"

struct pack_cli {
    char *output;
    char **recipients;
    size_t nrecipients;
    char **recipient_files;
    size_t nrecipient_files;
    char *signing_key;
    char *volume_size;
    char **excludes;
    size_t nexcludes;
    char *level;
    char *threads;
    char *label;
    char *state_dir;
    char *host;
    char *init_label;
    char *max_chain;
    char *config;
    char *parity;
    char *tape;
    char *block_size;
    char *spool_dir;
    char *tape_label;
    char *next_medium;
    int progress, quiet, json, dry_run, full, help;
};

enum {
    OPT_VOLUME_SIZE = 1000,
    OPT_EXCLUDE,
    OPT_LEVEL,
    OPT_THREADS,
    OPT_LABEL,
    OPT_STATE_DIR,
    OPT_HOST,
    OPT_PROGRESS,
    OPT_QUIET,
    OPT_JSON,
    OPT_DRY_RUN,
    OPT_INIT_LABEL,
    OPT_FULL,
    OPT_MAX_CHAIN,
    OPT_CONFIG,
    OPT_PARITY,
    OPT_TAPE,
    OPT_BLOCK_SIZE,
    OPT_SPOOL_DIR,
    OPT_TAPE_LABEL,
    OPT_NEXT_MEDIUM,
};

static const struct poptOption pack_options[] = {
    {"output", 'o', POPT_ARG_STRING, NULL, 'o',
     "the medium: a directory (the set is created inside it); -: a tape "
     "stream on standard output",
     "MEDIUM_DIR"},
    {"tape", 0, POPT_ARG_STRING, NULL, OPT_TAPE,
     "write the set as one tar stream to DEVICE (a tape, or a file "
     "standing in for one)",
     "DEVICE"},
    {"block-size", 0, POPT_ARG_STRING, NULL, OPT_BLOCK_SIZE,
     "tape: bytes per write (k, M suffixes; default 256k)", "SIZE"},
    {"tape-label", 0, POPT_ARG_STRING, NULL, OPT_TAPE_LABEL,
     "tape: the label recorded as the set's medium", "NAME"},
    {"spool-dir", 0, POPT_ARG_STRING, NULL, OPT_SPOOL_DIR,
     "tape: where each file waits until it is streamed; spanning media: "
     "where the catalog waits (default $TMPDIR or /var/tmp)",
     "DIR"},
    {"next-medium", 0, POPT_ARG_STRING, NULL, OPT_NEXT_MEDIUM,
     "when the medium is full, run CMD: it prints the next medium's "
     "directory",
     "CMD"},
    {"recipient", 'r', POPT_ARG_STRING, NULL, 'r',
     "encrypt to this age recipient (age1...; repeatable)", "RECIPIENT"},
    {"recipients-file", 'R', POPT_ARG_STRING, NULL, 'R',
     "encrypt to the recipients listed in FILE (repeatable)", "FILE"},
    {"signing-key", 's', POPT_ARG_STRING, NULL, 's',
     "sign MANIFEST with this key (from coldmail keygen)", "FILE"},
    {"volume-size", 0, POPT_ARG_STRING, NULL, OPT_VOLUME_SIZE,
     "largest volume file (k, M, G, T suffixes; default 4G)", "SIZE"},
    {"parity", 0, POPT_ARG_STRING, NULL, OPT_PARITY,
     "Reed-Solomon parity per volume, in percent (default 5; 0: none)",
     "PERCENT"},
    {"exclude", 0, POPT_ARG_STRING, NULL, OPT_EXCLUDE,
     "skip paths matching GLOB (repeatable)", "GLOB"},
    {"level", 0, POPT_ARG_STRING, NULL, OPT_LEVEL,
     "zstd compression level, 1-19 (default 3)", "N"},
    {"threads", 0, POPT_ARG_STRING, NULL, OPT_THREADS,
     "compression threads (default: one per core)", "N"},
    {"label", 0, POPT_ARG_STRING, NULL, OPT_LABEL,
     "a label written into MANIFEST", "TEXT"},
    {"state-dir", 0, POPT_ARG_STRING, NULL, OPT_STATE_DIR,
     "the pack host's state (default /var/lib/coldmail)", "DIR"},
    {"host", 0, POPT_ARG_STRING, NULL, OPT_HOST,
     "host name to record (default: this host's name)", "NAME"},
    {"init-label", 0, POPT_ARG_STRING, NULL, OPT_INIT_LABEL,
     "label the medium NAME if it has no label yet", "NAME"},
    {"full", 0, POPT_ARG_NONE, NULL, OPT_FULL,
     "write a full set even if the medium holds one to build on", NULL},
    {"max-chain", 0, POPT_ARG_STRING, NULL, OPT_MAX_CHAIN,
     "incremental sets after a full one before the next full (default 6)",
     "N"},
    {"config", 0, POPT_ARG_STRING, NULL, OPT_CONFIG,
     "configuration file (default /etc/coldmail/coldmail.conf, if present)",
     "FILE"},
    {"progress", 0, POPT_ARG_NONE, NULL, OPT_PROGRESS,
     "show progress even when standard error is not a terminal", NULL},
    {"quiet", 'q', POPT_ARG_NONE, NULL, OPT_QUIET,
     "no progress and no summary, only errors", NULL},
    {"json", 0, POPT_ARG_NONE, NULL, OPT_JSON,
     "print the summary as one JSON object on standard output", NULL},
    {"dry-run", 'n', POPT_ARG_NONE, NULL, OPT_DRY_RUN,
     "only walk the stores and report what would be packed", NULL},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
pack_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct pack_cli *o = ctx;

    switch (val) {
    case 'o':
        return cli_take_once(pc, &o->output, "--output", err);
    case 'r':
        return cli_take_many(pc, &o->recipients, &o->nrecipients, err);
    case 'R':
        return cli_take_many(pc, &o->recipient_files, &o->nrecipient_files,
                             err);
    case 's':
        return cli_take_once(pc, &o->signing_key, "--signing-key", err);
    case OPT_VOLUME_SIZE:
        return cli_take_once(pc, &o->volume_size, "--volume-size", err);
    case OPT_EXCLUDE:
        return cli_take_many(pc, &o->excludes, &o->nexcludes, err);
    case OPT_LEVEL:
        return cli_take_once(pc, &o->level, "--level", err);
    case OPT_THREADS:
        return cli_take_once(pc, &o->threads, "--threads", err);
    case OPT_LABEL:
        return cli_take_once(pc, &o->label, "--label", err);
    case OPT_STATE_DIR:
        return cli_take_once(pc, &o->state_dir, "--state-dir", err);
    case OPT_HOST:
        return cli_take_once(pc, &o->host, "--host", err);
    case OPT_INIT_LABEL:
        return cli_take_once(pc, &o->init_label, "--init-label", err);
    case OPT_MAX_CHAIN:
        return cli_take_once(pc, &o->max_chain, "--max-chain", err);
    case OPT_CONFIG:
        return cli_take_once(pc, &o->config, "--config", err);
    case OPT_PARITY:
        return cli_take_once(pc, &o->parity, "--parity", err);
    case OPT_TAPE:
        return cli_take_once(pc, &o->tape, "--tape", err);
    case OPT_BLOCK_SIZE:
        return cli_take_once(pc, &o->block_size, "--block-size", err);
    case OPT_SPOOL_DIR:
        return cli_take_once(pc, &o->spool_dir, "--spool-dir", err);
    case OPT_TAPE_LABEL:
        return cli_take_once(pc, &o->tape_label, "--tape-label", err);
    case OPT_NEXT_MEDIUM:
        return cli_take_once(pc, &o->next_medium, "--next-medium", err);
    case OPT_FULL:
        o->full = 1;
        return 0;
    case OPT_PROGRESS:
        o->progress = 1;
        return 0;
    case OPT_QUIET:
        o->quiet = 1;
        return 0;
    case OPT_JSON:
        o->json = 1;
        return 0;
    case OPT_DRY_RUN:
        o->dry_run = 1;
        return 0;
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

static void
free_cli(struct pack_cli *o)
{
    free(o->output);
    cli_free_list(o->recipients, o->nrecipients);
    cli_free_list(o->recipient_files, o->nrecipient_files);
    free(o->signing_key);
    free(o->volume_size);
    cli_free_list(o->excludes, o->nexcludes);
    free(o->level);
    free(o->threads);
    free(o->label);
    free(o->state_dir);
    free(o->host);
    free(o->init_label);
    free(o->max_chain);
    free(o->config);
    free(o->parity);
    free(o->tape);
    free(o->block_size);
    free(o->spool_dir);
    free(o->tape_label);
    free(o->next_medium);
}

/* The configuration file fills in what the command line left out. */
static int
apply_config(struct pack_cli *o, const struct config *c, struct cm_err *err)
{
    if (config_default(&o->signing_key, c->signing_key, err) == -1 ||
        config_default(&o->state_dir, c->state_dir, err) == -1 ||
        config_default(&o->volume_size, c->volume_size, err) == -1 ||
        config_default(&o->level, c->level, err) == -1 ||
        config_default(&o->max_chain, c->max_chain, err) == -1 ||
        config_default(&o->label, c->label, err) == -1 ||
        config_list_add(&o->excludes, &o->nexcludes, c->excludes, c->nexcludes,
                        err) == -1)
        return -1;
    if (o->nrecipients == 0 && o->nrecipient_files == 0 &&
        c->recipients_file != NULL)
        return config_list_add(&o->recipient_files, &o->nrecipient_files,
                               &c->recipients_file, 1, err);
    return 0;
}

static int
load_recipients(const struct pack_cli *o, struct age_recipients *rs,
                struct cm_err *err)
{
    struct age_recipient r;

    for (size_t i = 0; i < o->nrecipients; i++) {
        /* Never echo what may be a secret key given by mistake. */
        if (strncasecmp(o->recipients[i], "AGE-SECRET-KEY-", 15) == 0)
            return cm_fail(err, CM_EFORMAT,
                           "-r: that is a secret identity, not a recipient; "
                           "the packer takes only public recipients "
                           "(age1...), never a key that can decrypt");
        if (agekey_recipient_parse(o->recipients[i], &r, err) == -1)
            return cm_err_prefix(err, "-r %.12s...", o->recipients[i]);
        if (agekey_recipients_add(rs, &r, err) == -1)
            return -1;
    }
    for (size_t i = 0; i < o->nrecipient_files; i++)
        if (agekey_recipients_load(o->recipient_files[i], rs, err) == -1)
            return -1;
    if (rs->n == 0)
        return cm_fail(err, CM_EUSAGE,
                       "no recipient: give -r age1... or -R FILE");
    return 0;
}

static int
numeric_options(const struct pack_cli *o, struct pack_opts *po,
                struct cm_err *err)
{
    long v;

    po->volume_size = PACK_DEFAULT_VOLUME_SIZE;
    po->level = PACK_DEFAULT_LEVEL;
    po->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (po->threads < 1)
        po->threads = 1;
    if (o->volume_size != NULL &&
        cli_parse_size(o->volume_size, "--volume-size", &po->volume_size,
                       err) == -1)
        return -1;
    if (o->level != NULL) {
        if (cli_parse_long(o->level, "--level", 1, 19, &v, err) == -1)
            return -1;
        po->level = (int)v;
    }
    if (o->threads != NULL) {
        if (cli_parse_long(o->threads, "--threads", 1, 256, &v, err) == -1)
            return -1;
        po->threads = (int)v;
    }
    po->parity_percent = PARITY_DEFAULT_PERCENT;
    if (o->parity != NULL) {
        if (cli_parse_long(o->parity, "--parity", 0, PARITY_PERCENT_MAX, &v,
                           err) == -1)
            return -1;
        po->parity_percent = (unsigned)v;
    }
    po->max_chain = PACK_DEFAULT_MAX_CHAIN;
    if (o->max_chain != NULL) {
        if (cli_parse_long(o->max_chain, "--max-chain", 0, 10000, &v, err) ==
            -1)
            return -1;
        po->max_chain = (int)v;
    }
    return 0;
}

/* Tape output and spanning media into pack_opts (tape.h, setw.h). */
static int
media_options(const struct pack_cli *o, struct pack_opts *po,
              struct cm_err *err)
{
    const char *tmp = getenv("TMPDIR");
    uint64_t bs = TAPE_BLOCK_DEFAULT;

    if (o->tape != NULL && o->output != NULL)
        return cm_fail(err, CM_EUSAGE, "give -o or --tape, not both");
    po->medium_dir = o->output;
    po->spool_dir = o->spool_dir != NULL          ? o->spool_dir
                    : tmp != NULL && *tmp != '\0' ? tmp
                                                  : "/var/tmp";
    po->tape = o->tape;
    if (o->output != NULL && strcmp(o->output, TAPE_STDIO) == 0)
        po->tape = TAPE_STDIO;
    if (po->tape == NULL) {
        if (o->block_size != NULL || o->tape_label != NULL)
            return cm_fail(err, CM_EUSAGE,
                           "--block-size and --tape-label are for tape "
                           "output (-o - or --tape DEVICE)");
        po->next_medium = o->next_medium;
        po->interactive = io_isatty(0) == 1 && io_isatty(2) == 1;
        return 0;
    }
    if (o->next_medium != NULL || o->init_label != NULL)
        return cm_fail(err, CM_EUSAGE,
                       "--next-medium and --init-label are for media "
                       "directories, not tape output");
    if (o->json && strcmp(po->tape, TAPE_STDIO) == 0)
        return cm_fail(err, CM_EUSAGE,
                       "--json with -o -: standard output carries the "
                       "stream");
    if (o->block_size != NULL &&
        cli_parse_size(o->block_size, "--block-size", &bs, err) == -1)
        return -1;
    if (bs % 512 != 0 || bs > TAPE_BLOCK_MAX)
        return cm_fail(err, CM_EUSAGE,
                       "--block-size %s: a multiple of 512 bytes, at most "
                       "16M",
                       o->block_size);
    po->block_size = (size_t)bs;
    po->medium_dir = po->spool_dir;
    po->tape_label = o->tape_label;
    po->full = 1;
    /* A reader that goes away must fail the run, not kill it. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* The progress display, fed with the pack's running totals. */
struct shown {
    struct progress *pg;
    uint64_t objects, bytes;
};

static void
on_warn(void *ctx, const char *msg)
{
    struct shown *sh = ctx;

    progress_clear(sh->pg);
    cli_warn("%s", msg);
}

static void
on_progress(void *ctx, const struct pack_progress *p)
{
    struct shown *sh = ctx;

    progress_set_total(sh->pg, p->objects_total, p->bytes_total);
    progress_add(sh->pg, p->objects_done - sh->objects,
                 p->bytes_done - sh->bytes);
    sh->objects = p->objects_done;
    sh->bytes = p->bytes_done;
}

static int
open_progress(const struct pack_cli *o, struct shown *sh, struct cm_err *err)
{
    struct progress_opts po = {stderr, PROGRESS_AUTO, 0, NULL, "pack"};

    if (o->quiet || o->json)
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
print_json(const struct pack_result *r, int dry_run)
{
    json_t *o = json_pack(
        "{s:s?, s:s?, s:s?, s:s?, s:s?, s:b, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:b, s:b, s:I, "
        "s:I}",
        "set_dir", dry_run ? NULL : r->set_dir, "set_id",
        dry_run ? NULL : r->set_id, "kind", dry_run ? NULL : r->kind,
        "base_set", *r->base_set ? r->base_set : NULL, "medium",
        dry_run ? NULL : r->medium, "chain_break", r->chain_break,
        "sequence", (json_int_t)r->sequence, "reused", (json_int_t)r->reused,
        "reused_bytes", (json_int_t)r->reused_bytes,
        "messages", (json_int_t)r->messages, "files", (json_int_t)r->files,
        "mbox_files", (json_int_t)r->mbox_files, "dirs",
        (json_int_t)r->dirs, "symlinks", (json_int_t)r->symlinks, "bytes_in",
        (json_int_t)r->bytes_in, "bytes_written",
        (json_int_t)r->bytes_written, "volumes", (json_int_t)r->volumes,
        "moved", (json_int_t)r->moved, "gone", (json_int_t)r->gone,
        "changed", (json_int_t)r->changed, "skipped", (json_int_t)r->skipped,
        "seconds", r->seconds, "verified", r->verified, "dry_run", dry_run,
        "parts", (json_int_t)r->parts, "tape_bytes", (json_int_t)r->tape_bytes);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    if (text != NULL)
        printf("%s\n", text);
    free(text);
    json_decref(o);
}

static void
print_summary(const struct pack_result *r, int dry_run)
{
    char in[32], out[32];

    cli_format_bytes(r->bytes_in, in, sizeof in);
    cli_format_bytes(r->bytes_written, out, sizeof out);
    if (dry_run) {
        fprintf(stderr,
                "dry run: would pack %llu message files, %llu mbox files, "
                "%llu other files, %llu directories (%s); largest object "
                "%s (%llu bytes)\n",
                (unsigned long long)r->messages,
                (unsigned long long)r->mbox_files,
                (unsigned long long)r->files, (unsigned long long)r->dirs, in,
                r->largest_path, (unsigned long long)r->largest);
        return;
    }
    fprintf(stderr,
            "packed %llu messages, %llu other files (%s) in %.1f s\n"
            "wrote a %s set on medium %s: %llu volume(s), %s in all, to "
            "%s\n",
            (unsigned long long)r->messages,
            (unsigned long long)(r->files + r->mbox_files), in, r->seconds,
            r->kind, *r->medium != '\0' ? r->medium : "(unlabelled tape)",
            (unsigned long long)r->volumes, out,
            r->set_dir);
    if (r->parts > 1)
        fprintf(stderr,
                "the set spans %u media: parts 1 to %u went to the media "
                "announced above, the last (with the catalog) to %s\n",
                (unsigned)r->parts, (unsigned)r->parts - 1, r->medium);
    if (*r->base_set)
        fprintf(stderr,
                "incremental on set %.8s: %llu objects unchanged, already "
                "on the medium\n",
                r->base_set, (unsigned long long)r->reused);
    if (r->chain_break)
        fprintf(stderr, "note: no record of earlier sets in the state "
                        "directory: the chain restarts with this set\n");
    if (r->moved || r->gone || r->changed || r->skipped)
        fprintf(stderr,
                "during the pack: %llu moved, %llu expunged, %llu changed, "
                "%llu skipped\n",
                (unsigned long long)r->moved, (unsigned long long)r->gone,
                (unsigned long long)r->changed,
                (unsigned long long)r->skipped);
    if (r->tape_bytes > 0) {
        fprintf(stderr,
                "tape: %llu bytes streamed; every file was read back from "
                "the spool before it was streamed; sequence %llu\n"
                "check the tape with: coldmail-restore verify DEVICE (or - "
                "for standard input)\n",
                (unsigned long long)r->tape_bytes,
                (unsigned long long)r->sequence);
        return;
    }
    fprintf(stderr, "verified: every file was read back from the medium and "
                    "matches; sequence %llu\n",
            (unsigned long long)r->sequence);
}

static int
pack_main(const struct pack_cli *o, const char **stores, struct cm_err *err)
{
    struct age_recipients rs = {NULL, 0};
    struct minisig_seckey sk;
    struct pack_opts po;
    struct pack_result res;
    struct shown sh = {NULL, 0, 0};
    int rc = -1;

    memset(&po, 0, sizeof po);
    memset(&sk, 0, sizeof sk);
    if (!o->dry_run && o->output == NULL && o->tape == NULL) {
        cm_fail(err, CM_EUSAGE, "pack needs -o MEDIUM_DIR (or --tape)");
        goto out;
    }
    if (!o->dry_run && o->signing_key == NULL) {
        cm_fail(err, CM_EUSAGE, "pack needs -s SIGNING_KEY");
        goto out;
    }
    if (numeric_options(o, &po, err) == -1 ||
        media_options(o, &po, err) == -1 ||
        (!o->dry_run && (load_recipients(o, &rs, err) == -1 ||
                         minisig_seckey_load(o->signing_key, &sk, err) == -1)))
        goto out;
    if (open_progress(o, &sh, err) == -1)
        goto out;
    po.stores = stores;
    po.excludes = (const char *const *)o->excludes;
    po.recipients = &rs;
    po.signer = &sk;
    po.state_dir = o->state_dir ? o->state_dir : STATE_DEFAULT_DIR;
    po.host = o->host;
    po.label = o->label;
    po.dry_run = o->dry_run;
    po.init_label = o->init_label;
    po.full |= o->full;
    po.progress = on_progress;
    po.warn = on_warn;
    po.ctx = &sh;
    po.interrupted = cli_catch_interrupts();
    rc = pack_run(&po, &res, err);
    progress_clear(sh.pg);
    if (rc == 0 && o->json)
        print_json(&res, o->dry_run);
    else if (rc == 0 && !o->quiet)
        print_summary(&res, o->dry_run);
out:
    progress_free(sh.pg);
    minisig_seckey_wipe(&sk);
    agekey_recipients_free(&rs);
    return rc;
}

int
cmd_pack(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct pack_cli o;
    struct config conf;
    const char **args;
    poptContext pc;
    int nargs;

    memset(&o, 0, sizeof o);
    config_init(&conf);
    pc = poptGetContext("coldmail pack", argc, argv, pack_options, 0);
    poptSetOtherOptionHelp(
        pc, "-o MEDIUM_DIR -r RECIPIENT... -s SIGNING_KEY [OPTIONS] STORE...");
    if (cli_parse(pc, pack_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    if (config_load(o.config ? o.config : CONFIG_DEFAULT_PATH,
                    o.config != NULL, &conf, &err) == -1 ||
        apply_config(&o, &conf, &err) == -1)
        goto out;
    args = cli_args(pc, &nargs);
    if (nargs == 0 && conf.nstores > 0)
        args = (const char **)conf.stores;
    if (nargs == 0 && conf.nstores == 0)
        cm_fail(&err, CM_EUSAGE, "pack needs at least one STORE");
    else
        pack_main(&o, args, &err);
out:
    config_free(&conf);
    free_cli(&o);
    poptFreeContext(pc);
    return cli_report(&err);
}
