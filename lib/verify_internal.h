/*
 * verify_internal: what verify.c, verify_deep.c and verify_report.c share.
 * Not for use outside lib/verify*.c.
 */
#ifndef VERIFY_INTERNAL_H
#define VERIFY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "setr.h"
#include "verify.h"

/* The sets of a run, by id, for catalog lines held by another set. */
struct verify_peer {
    uint8_t set_id[MANIFEST_SET_ID_SIZE]; /* as MANIFEST claims (unchecked) */
    const char *dir;
};

struct verify_peers {
    const struct verify_peer *list;
    size_t n;
};

/*
 * Add a finding to ${vs}: a copy of ${proto} (its strings copied) with the
 * printf-style text; ${vs->code} becomes the worse of it and
 * ${proto->code}.  Past VERIFY_FINDINGS_MAX findings only the count and
 * the code change.  CM_EINTERNAL.
 */
int verify_add(struct verify_set *vs, const struct verify_finding *proto,
               struct cm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The worse of two outcome codes (CM_EAUTH > CM_EFORMAT > CM_DAMAGED). */
enum cm_code verify_worse(enum cm_code a, enum cm_code b);

/*
 * ${len} bytes at ${p} as a printable, valid UTF-8 string (control bytes,
 * backslashes and invalid UTF-8 as \xNN), malloc'ed.  NULL if out of
 * memory (CM_EINTERNAL).
 */
char *verify_printable(const void *p, size_t len, struct cm_err *err);

/* ${err}'s message without a leading "${dir}/". */
const char *verify_strip_dir(const struct cm_err *err, const char *dir);

/*
 * The deep check of the open set ${s} (opened with identities): findings
 * and counts into ${vs}.  Returns -1 only when it cannot go on at all
 * (CM_EINTERNAL); damage is a finding.
 */
int verify_deep_set(struct setr *s, struct verify_set *vs,
                    const struct verify_opts *o,
                    const struct verify_peers *peers, struct cm_err *err);

#endif
