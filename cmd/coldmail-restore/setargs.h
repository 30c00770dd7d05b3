/*
 * setargs: the options and arguments of every vault verb that reads a
 * set's content (ls, cat, restore, audit): decryption identities, the
 * trusted signing key, --at DATE, and the SET_DIR arguments: the set to
 * read (the first, or with --at the newest set created on or before DATE
 * among all of them, sets or media), and where the sets an incremental
 * set's objects are held by may be (the others; holders.h).
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
#define SETARGS_AT 0x101

struct setargs {
    char **identities;
    size_t nidentities;
    char *passphrase_file;
    char *pubkey;      /* -P */
    char *pubkey_file; /* -p */
    char *at;          /* --at */
};

/* -i, --passphrase-file, -P, -p; and --at: for POPT_ARG_INCLUDE_TABLE. */
extern struct poptOption setargs_options[];
extern struct poptOption setargs_at_options[];

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
    const char **holder_dirs; /* NULL-terminated; the strings borrowed */
};

/*
 * Load the identities (at least one is needed: CM_EUSAGE) and the trusted
 * key, and open the set (signature checked): ${args}[0], which must be a
 * set directory, or with --at the newest set created on or before that
 * date among all ${nargs} ${args} (set directories or media; the set
 * picked is named on standard error).  The ${args} (borrowed: they must
 * outlive ${s}) are where its holders are looked for.  Without a trusted
 * key a loud warning goes to standard error.  CM_EUSAGE for no argument,
 * a first argument that is no set without --at, a bad date or no set at
 * or before it; the errors of setr_open.  Close with setargs_close().
 */
int setargs_open(const struct setargs *a, const char *const *args, size_t nargs,
                 struct setargs_set *s, struct cm_err *err);

void setargs_close(struct setargs_set *s);

#endif
