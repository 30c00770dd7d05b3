/*
 * filterargs: the filter options of ls and restore (--folder, --path,
 * --since, --until, --from, --subject, --message-id); lib/filter.h says
 * what they select.
 */
#ifndef COLDMAIL_RESTORE_FILTERARGS_H
#define COLDMAIL_RESTORE_FILTERARGS_H

#include <popt.h>

#include "cm.h"
#include "filter.h"

/* popt vals, 0x200 and up. */
enum filterargs_val {
    FILTERARGS_FOLDER = 0x200,
    FILTERARGS_PATH,
    FILTERARGS_SINCE,
    FILTERARGS_UNTIL,
    FILTERARGS_FROM,
    FILTERARGS_SUBJECT,
    FILTERARGS_MESSAGE_ID,
};

struct filterargs {
    char *folder, *path, *since, *until, *from, *subject, *message_id;
};

/* For POPT_ARG_INCLUDE_TABLE. */
extern struct poptOption filterargs_options[];

/* Take option ${val}: 1 if it is a filter option, 0 if not, -1. */
int filterargs_take(struct filterargs *a, poptContext pc, int val,
                    struct cm_err *err);

/* The filter (always one; empty if no option was given). */
int filterargs_build(const struct filterargs *a, struct filter **out,
                     struct cm_err *err);

void filterargs_free(struct filterargs *a);

#endif
