/*
 * cli: what both front ends share: option values (sizes, counts), popt
 * plumbing that refuses repeated options, and the one way errors are shown.
 */
#ifndef CLI_H
#define CLI_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <popt.h>

#include "cm.h"

/* The program name used in messages ("coldmail", "coldmail-restore"). */
extern const char *cli_progname;

/*
 * Parse a size with an optional k/M/G/T suffix (powers of 1024; "4G",
 * "512M", "1000").  CM_EUSAGE naming ${option} on anything else, zero, or
 * overflow.
 */
int cli_parse_size(const char *s, const char *option, uint64_t *out,
                   struct cm_err *err);

/* Parse a decimal integer in [${min}, ${max}].  CM_EUSAGE naming ${option}. */
int cli_parse_long(const char *s, const char *option, long min, long max,
                   long *out, struct cm_err *err);

/*
 * Store the current option's argument (poptGetOptArg) into *${slot}, which
 * must still be NULL: a repeated option is CM_EUSAGE ("--label given twice").
 * The caller frees *${slot}.
 */
int cli_take_once(poptContext pc, char **slot, const char *option,
                  struct cm_err *err);

/*
 * Append the current option's argument to the NULL-terminated array
 * *${list} (*${n} entries); for repeatable options (-r, -i, --exclude).
 */
int cli_take_many(poptContext pc, char ***list, size_t *n,
                  struct cm_err *err);

/* Free a list built by cli_take_many.  NULL-safe. */
void cli_free_list(char **list, size_t n);

/*
 * Run popt over ${argv}: calls ${on_option}(ctx, pc, val) for each option
 * value; afterwards the remaining arguments are in poptGetArgs(pc).  Turns
 * popt's own errors ("unknown option --x") into CM_EUSAGE.  Returns 0 or -1.
 */
int cli_parse(poptContext pc, int (*on_option)(void *ctx, poptContext pc,
                                               int val, struct cm_err *err),
              void *ctx, struct cm_err *err);

/* The remaining (non-option) arguments and their count. */
const char **cli_args(poptContext pc, int *count);

/* ${n} bytes for people: "812 B", "1.2 MB", "4.6 GB" (powers of 1000). */
void cli_format_bytes(uint64_t n, char *out, size_t outlen);

/* Print "${cli_progname}: error: <msg>" on stderr and return err->code. */
int cli_report(const struct cm_err *err);

/* Print "${cli_progname}: warning: <fmt>" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * From now on SIGINT, SIGTERM and SIGHUP only set a flag, returned here:
 * a long run (pack, restore) polls it and stops cleanly, leaving nothing
 * half-written that looks whole.
 */
volatile sig_atomic_t *cli_catch_interrupts(void);

#endif
