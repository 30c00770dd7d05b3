#include "setargs.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "ids.h"
#include "manifest.h"

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

int
setargs_open(const struct setargs *a, const char *dir, struct setargs_set *s,
             struct cm_err *err)
{
    memset(s, 0, sizeof *s);
    if (a->nidentities == 0 && a->passphrase_file == NULL)
        return cm_fail(err, CM_EUSAGE, "needs -i IDENTITY_FILE");
    if (load_trusted(a, s, err) == -1 ||
        ids_load(a->identities, a->nidentities, a->passphrase_file, 1, &s->ids,
                 err) == -1)
        goto fail;
    s->opts.ids = &s->ids;
    if (setr_open(dir, &s->opts, &s->set, err) == -1)
        goto fail;
    if (!setr_trusted(s->set))
        warn_untrusted(s->set);
    return 0;
fail:
    setargs_close(s);
    return -1;
}

void
setargs_close(struct setargs_set *s)
{
    setr_close(s->set);
    agekey_identities_free(&s->ids);
    OPENSSL_cleanse(&s->pk, sizeof s->pk);
    memset(s, 0, sizeof *s);
}
