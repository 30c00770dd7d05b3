/*
 * setargs: the options of every vault verb that reads a set's content
 * (ls, cat, restore, audit): decryption identities and the trusted signing
 * key, and opening the set with them.
 */
#ifndef COLDMAIL_RESTORE_SETARGS_H
#define COLDMAIL_RESTORE_SETARGS_H

#include <stddef.h>

#include <popt.h>

#include "agekey.h"
#include "cm.h"
#include "minisig.h"
#include "setr.h"

/* popt vals of the options below. */
#define SETARGS_IDENTITY 'i'
#define SETARGS_PUBKEY 'P'
#define SETARGS_PUBKEY_FILE 'p'
#define SETARGS_PASSPHRASE_FILE 0x100

struct setargs {
    char **identities;
    size_t nidentities;
    char *passphrase_file;
    char *pubkey;      /* -P */
    char *pubkey_file; /* -p */
};

/* -i, --passphrase-file, -P, -p: for POPT_ARG_INCLUDE_TABLE. */
extern struct poptOption setargs_options[];

/* Take option ${val}: 1 if it is one of setargs_options, 0 if not, -1. */
int setargs_take(struct setargs *a, poptContext pc, int val,
                 struct cm_err *err);

void setargs_free(struct setargs *a);

/* An open set and what it was opened with. */
struct setargs_set {
    struct age_identities ids;
    struct minisig_pubkey pk;
    struct setr_opts opts;
    struct setr *set;
};

/*
 * Load the identities (at least one is needed: CM_EUSAGE) and the trusted
 * key, and open the set ${dir} (signature checked).  Without a trusted key
 * a loud warning goes to standard error.  Close with setargs_close().
 */
int setargs_open(const struct setargs *a, const char *dir,
                 struct setargs_set *s, struct cm_err *err);

void setargs_close(struct setargs_set *s);

#endif
