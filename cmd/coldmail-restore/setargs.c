#include "setargs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "cli.h"
#include "ids.h"
#include "io.h"
#include "manifest.h"
#include "setfind.h"
#include "when.h"

struct poptOption setargs_options[] = {
    {"identity", 'i', POPT_ARG_STRING, NULL, SETARGS_IDENTITY,
     "decrypt with the identities in FILE (repeatable)", "FILE"},
    {"passphrase-file", 0, POPT_ARG_STRING, NULL, SETARGS_PASSPHRASE_FILE,
     "passphrase for passphrase-encrypted identity files or sets", "FILE"},
    {"public-key", 'P', POPT_ARG_STRING, NULL, SETARGS_PUBKEY,
     "the trusted signing key (minisign base64)", "KEY"},
    {"public-key-file", 'p', POPT_ARG_STRING, NULL, SETARGS_PUBKEY_FILE,
     "the trusted signing key, from a minisign .pub file", "FILE"},
    POPT_TABLEEND};

struct poptOption setargs_at_options[] = {
    {"at", 0, POPT_ARG_STRING, NULL, SETARGS_AT,
     "the newest set created on or before DATE (YYYY-MM-DD[Thh:mm[:ss]Z], "
     "or now) among the SET_DIRs given, sets or media",
     "DATE"},
    POPT_TABLEEND};

int
setargs_take(struct setargs *a, poptContext pc, int val, struct cm_err *err)
{
    int rc;

    switch (val) {
    case SETARGS_IDENTITY:
        rc = cli_take_many(pc, &a->identities, &a->nidentities, err);
        break;
    case SETARGS_PASSPHRASE_FILE:
        rc = cli_take_once(pc, &a->passphrase_file, "--passphrase-file", err);
        break;
    case SETARGS_PUBKEY:
        rc = cli_take_once(pc, &a->pubkey, "--public-key", err);
        break;
    case SETARGS_PUBKEY_FILE:
        rc = cli_take_once(pc, &a->pubkey_file, "--public-key-file", err);
        break;
    case SETARGS_AT:
        rc = cli_take_once(pc, &a->at, "--at", err);
        break;
    default:
        return 0;
    }
    return rc == -1 ? -1 : 1;
}

void
setargs_free(struct setargs *a)
{
    cli_free_list(a->identities, a->nidentities);
    free(a->passphrase_file);
    free(a->pubkey);
    free(a->pubkey_file);
    free(a->at);
    memset(a, 0, sizeof *a);
}

static int
load_trusted(const struct setargs *a, struct setargs_set *s, struct cm_err *err)
{
    if (a->pubkey != NULL && a->pubkey_file != NULL)
        return cm_fail(err, CM_EUSAGE, "give -P or -p, not both");
    if (a->pubkey != NULL &&
        minisig_pubkey_parse(a->pubkey, strlen(a->pubkey), &s->pk, err) == -1)
        return cm_err_prefix(err, "-P");
    if (a->pubkey_file != NULL &&
        minisig_pubkey_load(a->pubkey_file, &s->pk, err) == -1)
        return -1;
    if (a->pubkey != NULL || a->pubkey_file != NULL)
        s->opts.trusted = &s->pk;
    return 0;
}

static void
warn_untrusted(const struct setr *set)
{
    cli_warn("AUTHENTICITY NOT CHECKED: no trusted signing key was given "
             "(-P or -p); %s is signed by the key it names itself (key id "
             "%s), which proves it is intact, not who made it",
             setr_dir(set), setr_manifest(set)->signer_key_id);
}

/* --at DATE: a date alone means the end of that day (UTC). */
static int
parse_at(const char *s, int64_t *out, struct cm_err *err)
{
    if (strcmp(s, "now") == 0) {
        *out = when_now();
        return 0;
    }
    if (when_parse(s, out, err) == -1)
        return cm_err_prefix(err, "--at");
    if (strlen(s) == 10)
        *out += 86399;
    return 0;
}

/* The set to read: the first argument, or the one --at picks. */
static int
pick(const struct setargs *a, const char *const *args, size_t nargs, char **dir,
     struct cm_err *err)
{
    const struct setfind_set *best;
    struct setfind *f = NULL;
    char when[WHEN_ISO_LEN];
    struct stat st;
    int64_t at;
    int rc = -1;

    if (a->at == NULL) {
        char manifest[4200];
        snprintf(manifest, sizeof manifest, "%s/MANIFEST", args[0]);
        if (stat(args[0], &st) == 0 && S_ISDIR(st.st_mode) &&
            lstat(manifest, &st) == -1)
            return cm_fail(err, CM_EUSAGE,
                           "%s holds no MANIFEST: give a set directory, or "
                           "--at DATE (or --at now) to pick a set of a medium",
                           args[0]);
        return (*dir = cm_strdup(args[0], err)) == NULL ? -1 : 0;
    }
    if (parse_at(a->at, &at, err) == -1 || setfind_new(&f, err) == -1)
        return -1;
    for (size_t i = 0; i < nargs; i++)
        if (setfind_add(f, args[i], 0, err) == -1)
            goto out;
    when_format_iso(when, at);
    if ((best = setfind_newest(f, at)) == NULL) {
        cm_fail(err, CM_EUSAGE,
                "no set created on or before %s among the %zu "
                "found",
                when, setfind_count(f));
        goto out;
    }
    when_format_iso(when, best->created);
    fprintf(stderr, "%s: --at %s: set %s (sequence %llu, created %s)\n",
            cli_progname, a->at, best->dir, (unsigned long long)best->sequence,
            when);
    rc = (*dir = cm_strdup(best->dir, err)) == NULL ? -1 : 0;
out:
    setfind_free(f);
    return rc;
}

/* Is ${dir}/MANIFEST the last part of the set ${id}?  (Not checked yet:
 * setr_open does that.) */
static int
is_last_part(const char *dir, const uint8_t id[MANIFEST_SET_ID_SIZE])
{
    char path[4200];
    struct buf text;
    struct manifest m;
    int yes = 0;

    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    buf_init(&text, MANIFEST_MAX);
    if (io_read_file(path, MANIFEST_MAX, &text, NULL) == 0 &&
        manifest_parse((const char *)text.data, text.len, "MANIFEST", &m,
                       NULL) == 0) {
        yes = m.last_part && memcmp(m.set_id, id, MANIFEST_SET_ID_SIZE) == 0;
        manifest_free(&m);
    }
    buf_free(&text);
    return yes;
}

/*
 * ${set} is a part of a set that spans media, not the last: the last part
 * (which holds the catalog) among ${args}, set directories or media, into
 * *${dir}; CM_EUSAGE if it is not there.
 */
static int
last_part(const struct setr *set, const char *const *args, size_t nargs,
          char **dir, struct cm_err *err)
{
    const struct manifest *m = setr_manifest(set);
    const char *name = strrchr(setr_dir(set), '/');
    char path[4200];

    name = name != NULL ? name + 1 : setr_dir(set);
    for (size_t i = 0; i < nargs; i++) {
        snprintf(path, sizeof path, "%s/%s", args[i], name);
        if (is_last_part(args[i], m->set_id) || is_last_part(path, m->set_id)) {
            free(*dir);
            *dir = cm_strdup(is_last_part(args[i], m->set_id) ? args[i] : path,
                             err);
            return *dir == NULL ? -1 : 0;
        }
    }
    return cm_fail(err, CM_EUSAGE,
                   "%s is part %" PRIu32 " of a set that spans media; its "
                   "catalog is on the last part: give that part's "
                   "directory too (with the others)",
                   setr_dir(set), m->part);
}

int
setargs_open(const struct setargs *a, const char *const *args, size_t nargs,
             struct setargs_set *s, struct cm_err *err)
{
    char *dir = NULL;

    memset(s, 0, sizeof *s);
    if (nargs == 0)
        return cm_fail(err, CM_EUSAGE, "needs a SET_DIR");
    if (a->nidentities == 0 && a->passphrase_file == NULL)
        return cm_fail(err, CM_EUSAGE, "needs -i IDENTITY_FILE");
    if ((s->holder_dirs = cm_calloc(nargs + 1, sizeof *s->holder_dirs, err)) ==
        NULL)
        return -1;
    for (size_t i = 0; i < nargs; i++)
        s->holder_dirs[i] = args[i];
    if (pick(a, args, nargs, &dir, err) == -1 ||
        load_trusted(a, s, err) == -1 ||
        ids_load(a->identities, a->nidentities, a->passphrase_file, 1, &s->ids,
                 err) == -1)
        goto fail;
    s->opts.ids = &s->ids;
    if (setr_open(dir, &s->opts, &s->set, err) == -1)
        goto fail;
    if (setr_manifest(s->set)->part > 0 && !setr_manifest(s->set)->last_part) {
        if (last_part(s->set, args, nargs, &dir, err) == -1)
            goto fail;
        setr_close(s->set);
        s->set = NULL;
        if (setr_open(dir, &s->opts, &s->set, err) == -1)
            goto fail;
    }
    setr_set_holder_dirs(s->set, s->holder_dirs);
    if (!setr_trusted(s->set))
        warn_untrusted(s->set);
    free(dir);
    return 0;
fail:
    free(dir);
    setargs_close(s);
    return -1;
}

void
setargs_close(struct setargs_set *s)
{
    setr_close(s->set);
    free(s->holder_dirs);
    agekey_identities_free(&s->ids);
    OPENSSL_cleanse(&s->pk, sizeof s->pk);
    memset(s, 0, sizeof *s);
}
