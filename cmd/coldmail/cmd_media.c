/*
 * coldmail media init|ls: label a medium, and list the sets it holds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cmds.h"
#include "manifest.h"
#include "medium.h"
#include "mediumscan.h"
#include "minisig.h"
#include "when.h"

struct media_opts {
    char *label;
    char *signing_key;
    char *host;
    int json;
    int help;
};

enum { OPT_LABEL = 1000, OPT_HOST, OPT_JSON };

static const struct poptOption media_options[] = {
    {"label", 0, POPT_ARG_STRING, NULL, OPT_LABEL,
     "init: the medium's label (letters, digits, '.', '-', '_')", "NAME"},
    {"signing-key", 's', POPT_ARG_STRING, NULL, 's',
     "init: sign the label with this key (the one pack uses)", "FILE"},
    {"host", 0, POPT_ARG_STRING, NULL, OPT_HOST,
     "init: the owning host's name (default: this host's name)", "NAME"},
    {"json", 0, POPT_ARG_NONE, NULL, OPT_JSON,
     "ls: one JSON object per set on standard output", NULL},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
media_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct media_opts *o = ctx;

    switch (val) {
    case OPT_LABEL:
        return cli_take_once(pc, &o->label, "--label", err);
    case 's':
        return cli_take_once(pc, &o->signing_key, "--signing-key", err);
    case OPT_HOST:
        return cli_take_once(pc, &o->host, "--host", err);
    case OPT_JSON:
        o->json = 1;
        return 0;
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

static int
media_init(const struct media_opts *o, const char *dir, struct cm_err *err)
{
    struct minisig_seckey sk;
    struct medium_label l;
    char host[256], id[33];
    int rc = -1;

    memset(&sk, 0, sizeof sk);
    if (o->label == NULL || o->signing_key == NULL)
        return cm_fail(err, CM_EUSAGE,
                       "media init needs --label NAME and -s SIGNING_KEY");
    if (o->host != NULL)
        snprintf(host, sizeof host, "%s", o->host);
    else if (gethostname(host, sizeof host - 1) == -1)
        snprintf(host, sizeof host, "localhost");
    /* The same plain form pack records. */
    for (char *c = host; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' ||
              *c == '_'))
            *c = '-';
    host[63] = '\0';
    if (minisig_seckey_load(o->signing_key, &sk, err) == -1 ||
        medium_init(dir, o->label, host, &sk, &l, err) == -1)
        goto out;
    medium_id_hex(l.id, id);
    printf("labelled %s as \"%s\" (medium id %s, host %s, key %s)\n", dir,
           l.label, id, l.host, l.signer_key_id);
    rc = 0;
out:
    minisig_seckey_wipe(&sk);
    return rc;
}

static uint64_t
set_bytes(const struct manifest *m)
{
    uint64_t n = 0;

    for (size_t i = 0; i < m->nfiles; i++)
        n += m->files[i].size;
    return n;
}

struct ls_ctx {
    int json;
    unsigned long count;
};

static int
print_set(void *ctx, const struct mediumscan_set *s, struct cm_err *err)
{
    struct ls_ctx *c = ctx;
    const struct manifest *m = s->m;
    char created[WHEN_ISO_LEN], base[33] = "-", size[32];
    json_t *o;
    char *text;

    (void)err;
    when_format_iso(created, m->created);
    if (m->has_base)
        manifest_set_id_hex(m->base, base);
    c->count++;
    if (!c->json) {
        cli_format_bytes(set_bytes(m), size, sizeof size);
        printf("%-20s %-11s %5" PRIu64 " %-8.8s %8" PRIu64 " %10s  %s\n",
               created, m->kind, m->sequence, base, m->messages, size,
               s->name);
        return 0;
    }
    o = json_pack("{s:s, s:s, s:s, s:I, s:s?, s:I, s:I, s:s, s:b}", "set",
                  s->name, "created", created, "kind", m->kind, "sequence",
                  (json_int_t)m->sequence, "base", m->has_base ? base : NULL,
                  "messages", (json_int_t)m->messages, "bytes",
                  (json_int_t)set_bytes(m), "verified_at", created,
                  "chain_break", m->chain_break != NULL);
    text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text != NULL)
        printf("%s\n", text);
    free(text);
    json_decref(o);
    return 0;
}

static void
print_bad(void *ctx, const char *name, const struct cm_err *why)
{
    (void)ctx;
    cli_warn("%s: not listed: %s", name, why->msg);
}

static int
media_ls(const struct media_opts *o, const char *dir, struct cm_err *err)
{
    struct ls_ctx c = {o->json, 0};
    struct medium_label l;
    int r;

    r = medium_read(dir, NULL, &l, err);
    if (r == -1)
        return -1;
    if (!o->json) {
        if (r == 1)
            printf("medium \"%s\" of host %s, labelled %s\n", l.label, l.host,
                   l.signer_key_id);
        else
            printf("%s: no medium label\n", dir);
        printf("%-20s %-11s %5s %-8s %8s %10s  %s\n", "created (UTC)", "kind",
               "seq", "base", "messages", "size", "set");
    }
    if (mediumscan_sets(dir, print_set, print_bad, &c, err) == -1)
        return -1;
    if (!o->json && c.count == 0)
        printf("(no sets)\n");
    return 0;
}

int
cmd_media(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct media_opts o;
    const char **args;
    poptContext pc;
    int nargs;

    memset(&o, 0, sizeof o);
    pc = poptGetContext("coldmail media", argc, argv, media_options, 0);
    poptSetOtherOptionHelp(
        pc, "init MEDIUM_DIR --label NAME -s SIGNING_KEY | ls MEDIUM_DIR");
    if (cli_parse(pc, media_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs == 2 && strcmp(args[0], "init") == 0)
        media_init(&o, args[1], &err);
    else if (nargs == 2 && strcmp(args[0], "ls") == 0)
        media_ls(&o, args[1], &err);
    else
        cm_fail(&err, CM_EUSAGE,
                "usage: coldmail media init MEDIUM_DIR --label NAME -s KEY, "
                "or coldmail media ls MEDIUM_DIR");
out:
    free(o.label);
    free(o.signing_key);
    free(o.host);
    poptFreeContext(pc);
    return cli_report(&err);
}
