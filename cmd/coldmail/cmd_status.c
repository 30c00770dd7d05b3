/*
 * coldmail status: the media of the rotation, what is due, what needs
 * attention.  Options in coldmail(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cmds.h"
#include "config.h"
#include "state.h"
#include "status.h"
#include "when.h"

/* With --check: exit status when there are warnings (as in coldmail(1)). */
#define STATUS_EXIT_WARNINGS 1

struct status_cli {
    char *state_dir;
    char *config;
    int json, check, help;
};

enum { OPT_STATE_DIR = 1000, OPT_CONFIG, OPT_JSON, OPT_CHECK };

static const struct poptOption status_options[] = {
    {"state-dir", 0, POPT_ARG_STRING, NULL, OPT_STATE_DIR,
     "the pack host's state (default: the config's, or /var/lib/coldmail)",
     "DIR"},
    {"config", 0, POPT_ARG_STRING, NULL, OPT_CONFIG,
     "configuration file (default /etc/coldmail/coldmail.conf, if present)",
     "FILE"},
    {"json", 0, POPT_ARG_NONE, NULL, OPT_JSON,
     "print the report as one JSON object", NULL},
    {"check", 0, POPT_ARG_NONE, NULL, OPT_CHECK,
     "exit 1 if there are warnings (for monitoring)", NULL},
    {"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help", NULL},
    POPT_TABLEEND};

static int
status_option(void *ctx, poptContext pc, int val, struct cm_err *err)
{
    struct status_cli *o = ctx;

    switch (val) {
    case OPT_STATE_DIR:
        return cli_take_once(pc, &o->state_dir, "--state-dir", err);
    case OPT_CONFIG:
        return cli_take_once(pc, &o->config, "--config", err);
    case OPT_JSON:
        o->json = 1;
        return 0;
    case OPT_CHECK:
        o->check = 1;
        return 0;
    case 'h':
        o->help = 1;
        return 0;
    }
    return cm_fail(err, CM_EINTERNAL, "unhandled option %d", val);
}

static json_t *
iso_or_null(int64_t t)
{
    char when[WHEN_ISO_LEN];

    if (t == 0)
        return json_null();
    when_format_iso(when, t);
    return json_string(when);
}

static json_t *
json_newest(const struct status_set *s)
{
    if (!s->present)
        return json_null();
    return json_pack("{s:s, s:s, s:s, s:I, s:o, s:I}", "set", s->name, "set_id",
                     s->set_id, "kind", s->kind, "sequence",
                     (json_int_t)s->sequence, "created",
                     iso_or_null(s->created), "bytes", (json_int_t)s->bytes);
}

static json_t *
json_medium(const struct status_report *r, const struct status_medium *m)
{
    int known = m->medium_id[0] != '\0', sized = known && m->bytes_total;
    json_t *w = json_array();

    for (size_t i = 0; i < r->nwarnings; i++)
        if (strcmp(r->warnings[i].medium, m->label) == 0)
            json_array_append_new(
                w, json_string(status_warning_name(r->warnings[i].kind)));
    return json_pack(
        "{s:s, s:s?, s:b, s:o, s:s?, s:o, s:o, s:o, s:o, s:I, s:o, s:o, "
        "s:o, s:o}",
        "label", m->label, "medium_id", known ? m->medium_id : NULL,
        "in_rotation", m->order >= 0 && r->cycle > 0, "order",
        m->order >= 0 ? json_integer(m->order) : json_null(), "last_path",
        m->last_path[0] ? m->last_path : NULL, "last_seen",
        iso_or_null(m->last_seen), "bytes_total",
        sized ? json_integer((json_int_t)m->bytes_total) : json_null(),
        "bytes_free",
        sized ? json_integer((json_int_t)m->bytes_free) : json_null(),
        "bytes_used",
        sized ? json_integer((json_int_t)(m->bytes_total - m->bytes_free))
              : json_null(),
        "sets", (json_int_t)m->sets, "newest_set", json_newest(&m->newest),
        "age_seconds", m->newest.present ? json_integer(m->age) : json_null(),
        "verified_at", iso_or_null(m->verified_at), "warnings", w);
}

static json_t *
json_due(const struct status_report *r)
{
    if (!r->has_due)
        return json_null();
    return json_pack("{s:s, s:o, s:b, s:s}", "label", r->due, "due_at",
                     iso_or_null(r->due_at), "overdue", r->now > r->due_at,
                     "why", r->due_why);
}

static void
print_json(const struct status_report *r, const char *state_dir)
{
    json_t *media = json_array(), *warnings = json_array(), *o;
    char rot[32], *text;

    for (size_t i = 0; i < r->nmedia; i++)
        json_array_append_new(media, json_medium(r, &r->media[i]));
    for (size_t i = 0; i < r->nwarnings; i++)
        json_array_append_new(
            warnings,
            json_pack("{s:s, s:s?, s:s}", "kind",
                      status_warning_name(r->warnings[i].kind), "medium",
                      r->warnings[i].medium[0] ? r->warnings[i].medium : NULL,
                      "message", r->warnings[i].msg));
    config_format_duration(r->rotation, rot, sizeof rot);
    o = json_pack("{s:o, s:s, s:o, s:s, s:I, s:I, s:I, s:o, s:o, s:b}",
                  "due_next", json_due(r), "state_dir", state_dir, "now",
                  iso_or_null(r->now), "rotation", rot, "rotation_seconds",
                  (json_int_t)r->rotation, "cycle", (json_int_t)r->cycle,
                  "chain_head", (json_int_t)r->head_sequence, "media", media,
                  "warnings", warnings, "ok", r->nwarnings == 0);
    text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text != NULL)
        printf("%s\n", text);
    free(text);
    json_decref(o);
}

static void
print_medium(const struct status_medium *m)
{
    char created[WHEN_ISO_LEN] = "-", verified[WHEN_ISO_LEN] = "never";
    char age[16] = "-", used[32] = "-", free_[32] = "-";

    if (m->newest.present) {
        when_format_iso(created, m->newest.created);
        status_format_age(m->age, age, sizeof age);
    }
    if (m->verified_at != 0)
        when_format_iso(verified, m->verified_at);
    if (m->bytes_total != 0) {
        cli_format_bytes(m->bytes_total - m->bytes_free, used, sizeof used);
        cli_format_bytes(m->bytes_free, free_, sizeof free_);
    }
    printf("%-12s %4llu  %-20s  %-11s %5s  %9s  %9s  %s%s\n", m->label,
           (unsigned long long)m->sets, created,
           m->newest.present ? m->newest.kind : "-", age, used, free_, verified,
           m->medium_id[0] ? "" : "  (never seen)");
}

static void
print_text(const struct status_report *r, const char *state_dir,
           const struct config *conf)
{
    char rot[32], turn[32], due[WHEN_ISO_LEN], late[16];

    config_format_duration(r->rotation, rot, sizeof rot);
    config_format_duration((int64_t)r->cycle * r->rotation, turn, sizeof turn);
    printf("state %s; a set every %s, %s%zu media (each every %s)\n\n",
           state_dir, rot, conf->nmedia ? "rotating " : "", r->cycle, turn);
    printf("%-12s %4s  %-20s  %-11s %5s  %9s  %9s  %s\n", "medium", "sets",
           "newest set (UTC)", "kind", "age", "used", "free", "verified (UTC)");
    for (size_t i = 0; i < r->nmedia; i++)
        print_medium(&r->media[i]);
    if (r->has_due) {
        when_format_iso(due, r->due_at);
        status_format_age(r->now - r->due_at, late, sizeof late);
        printf("\ndue next: %s (%s), %s %s%s%s\n", r->due, r->due_why,
               r->now > r->due_at ? "due since" : "due", due,
               r->now > r->due_at ? ", overdue by " : "",
               r->now > r->due_at ? late : "");
    }
    if (r->nwarnings == 0) {
        printf("\nno warnings\n");
        return;
    }
    printf("\n%zu warning%s:\n", r->nwarnings, r->nwarnings == 1 ? "" : "s");
    for (size_t i = 0; i < r->nwarnings; i++)
        printf("  %s: %s\n", status_warning_name(r->warnings[i].kind),
               r->warnings[i].msg);
}

static int
status_main(const struct status_cli *o, struct cm_err *err)
{
    struct status_report *r = NULL;
    struct status_opts so;
    struct config conf;
    int rc = -1;

    memset(&so, 0, sizeof so);
    if (config_load(o->config ? o->config : CONFIG_DEFAULT_PATH,
                    o->config != NULL, &conf, err) == -1)
        return -1;
    so.state_dir = o->state_dir     ? o->state_dir
                   : conf.state_dir ? conf.state_dir
                                    : STATE_DEFAULT_DIR;
    so.media = (const char *const *)conf.media;
    so.nmedia = conf.nmedia;
    so.rotation =
        conf.rotation_seconds ? conf.rotation_seconds : CONFIG_ROTATION_DEFAULT;
    so.now = when_now();
    if (status_run(&so, &r, err) == 0) {
        if (o->json)
            print_json(r, so.state_dir);
        else
            print_text(r, so.state_dir, &conf);
        rc = o->check && r->nwarnings > 0 ? STATUS_EXIT_WARNINGS : 0;
    }
    status_report_free(r);
    config_free(&conf);
    return rc;
}

int
cmd_status(int argc, const char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct status_cli o;
    const char **args;
    poptContext pc;
    int nargs, rc = 0;

    memset(&o, 0, sizeof o);
    pc = poptGetContext("coldmail status", argc, argv, status_options, 0);
    poptSetOtherOptionHelp(pc, "[--state-dir DIR] [--config FILE] [--json] "
                               "[--check]");
    if (cli_parse(pc, status_option, &o, &err) == -1)
        goto out;
    if (o.help) {
        poptPrintHelp(pc, stdout, 0);
        goto out;
    }
    args = cli_args(pc, &nargs);
    if (nargs != 0)
        cm_fail(&err, CM_EUSAGE, "status takes no arguments (\"%s\")", args[0]);
    else
        rc = status_main(&o, &err);
out:
    free(o.state_dir);
    free(o.config);
    poptFreeContext(pc);
    return err.code != CM_OK ? cli_report(&err) : rc;
}
