/*
 * packspan: the next medium of a set that spans media (setw.h), for the
 * pack.  With --next-medium CMD, the command is run (/bin/sh -c CMD; its
 * standard output, first line, is the next medium's directory; a non-zero
 * exit stops the run); else, at a terminal, the operator is asked to mount
 * the next medium and press Enter (or type its directory, or q to stop).
 * The command gets in its environment COLDMAIL_PART (the number of the
 * part to come), COLDMAIL_SET (the set's name), COLDMAIL_FULL_MEDIUM and
 * COLDMAIL_FULL_LABEL (the medium just filled).
 *
 * The next medium is checked as the first one is: a directory, writable,
 * with a label signed by this key for this host, and not one of the set's
 * media already.  Leftover incomplete sets on it are removed, and the
 * state notes it as seen.  A medium that fails a check is refused with the
 * reason: the operator is asked again; the command's run stops.
 */
#ifndef PACKSPAN_H
#define PACKSPAN_H

#include "packobj.h"
#include "setw.h"

/* A setw next_medium callback; ${ctx} is the struct packer. */
int packspan_next(void *ctx, const struct setw_part *done,
                  struct setw_medium *next, struct cm_err *err);

#endif
