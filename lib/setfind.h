/*
 * setfind: the sets among directories named on a command line, each a set
 * directory or a medium holding sets (mediumscan.h), indexed by what their
 * MANIFESTs claim: set id, creation time, base.  Nothing is checked here
 * (no signature, no key): a caller opens what it picks with setr_open,
 * which checks.  For restore --at (the newest set on or before a date) and
 * for finding the sets an incremental set's objects are held by
 * (holders.h).
 */
#ifndef SETFIND_H
#define SETFIND_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "manifest.h"

/* Most sets one index takes (CM_EUSAGE beyond). */
#define SETFIND_SETS_MAX 100000

/* What one set's MANIFEST claims, and where the set is. */
struct setfind_set {
    char *dir;
    uint8_t id[MANIFEST_SET_ID_SIZE];
    int64_t created;
    uint64_t sequence;
};

struct setfind;

/* An empty index.  CM_EINTERNAL.  Free with setfind_free. */
int setfind_new(struct setfind **out, struct cm_err *err);

/*
 * Add the set at ${path}, or, if ${path} holds no MANIFEST, every set on
 * the medium ${path} (those whose MANIFEST does not parse are left out).
 * With ${quiet}, a path that is neither (or cannot be listed) adds
 * nothing; else CM_EUSAGE.  CM_EINTERNAL; CM_EUSAGE past SETFIND_SETS_MAX.
 */
int setfind_add(struct setfind *f, const char *path, int quiet,
                struct cm_err *err);

/* The number of sets found, and each of them (in the order found). */
size_t setfind_count(const struct setfind *f);
const struct setfind_set *setfind_get(const struct setfind *f, size_t i);

/*
 * The newest set (by its MANIFEST's created time, then sequence) created
 * at or before ${at}, or NULL if there is none.
 */
const struct setfind_set *setfind_newest(const struct setfind *f, int64_t at);

void setfind_free(struct setfind *f);

#endif
