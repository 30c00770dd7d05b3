/*
 * when: the clock, and the date formats of MANIFESTs, catalogs and filters.
 * COLDMAIL_TEST_NOW (seconds since the epoch) fixes the clock for tests.
 */
#ifndef WHEN_H
#define WHEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cm.h"

/* The current time, or COLDMAIL_TEST_NOW if set. */
int64_t when_now(void);

#define WHEN_ISO_LEN 21 /* "2026-11-28T22:42:38Z" and NUL */
#define WHEN_STAMP_LEN 17 /* "20261128T224238Z" and NUL */

/* ${t} as "YYYY-MM-DDThh:mm:ssZ" (UTC). */
void when_format_iso(char out[WHEN_ISO_LEN], int64_t t);

/* ${t} as "YYYYMMDDThhmmssZ" (UTC), for set directory names. */
void when_format_stamp(char out[WHEN_STAMP_LEN], int64_t t);

/*
 * Parse a date given on a command line or stored in a MANIFEST:
 * "YYYY-MM-DD" (midnight UTC), "YYYY-MM-DDThh:mm[:ss]Z", or
 * "YYYY-MM-DD hh:mm[:ss]" (UTC).  0, or -1 with CM_EFORMAT.
 */
int when_parse(const char *s, int64_t *out, struct cm_err *err);

/*
 * Parse an RFC 5322 Date header value ("Tue, 1 Jul 2003 10:52:37 +0200",
 * obsolete forms and zone names tolerated).  Returns 0 and the UTC time, or
 * -1 (no error object: a bad Date header is ordinary in real mail).
 */
int when_parse_rfc5322(const char *s, size_t len, int64_t *out);

#endif
