/*
 * filter: which catalog records ls, cat and restore select.
 *
 * Criteria (all given ones must hold):
 *
 *   --folder NAME    the message's folder is NAME exactly ("INBOX", "Sent",
 *                    "Lists.coldmail", an mbox file's path below its store).
 *                    A folder is known by its messages: its directory is
 *                    learned from them in a first pass over the catalog
 *                    (filter_learn), and a non-message object belongs to
 *                    the folder when it is that directory, a file directly
 *                    in it, its cur/, new/ or tmp/ (Maildir), or directly in
 *                    one of those.  Sub-folders are not part of a folder.
 *                    The same NAME in several mailboxes (every user's INBOX
 *                    in a provider tree) selects all of them; add --path to
 *                    pick one.
 *   --path GLOB      fnmatch(3) without flags ('*' also matches '/') on the
 *                    catalog path, or on any leading directory of it: a
 *                    directory's path selects everything below it.
 *   --since DATE     the message's Date is at or after DATE.
 *   --until DATE     the message's Date is at or before DATE; a DATE without
 *                    a time ("2024-03-31") includes that whole day (UTC).
 *                    Dates as when_parse() takes them.  A message whose Date
 *                    could not be parsed has none and matches neither.
 *   --from TEXT      TEXT is a substring of the decoded From, ignoring case
 *   --subject TEXT   likewise, of the decoded Subject.  Case is folded for
 *                    ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic
 *                    letters; other characters compare exactly.
 *   --message-id ID  the Message-ID is ID, with or without the angle
 *                    brackets (both sides trimmed of white space and one
 *                    pair of <>), compared exactly.
 *
 * --since, --until, --from, --subject and --message-id are about messages:
 * when any of them is given, non-message objects (directories, other files,
 * symlinks, whole mbox files) are never selected.  --folder and --path
 * apply to every kind of object.
 */
#ifndef FILTER_H
#define FILTER_H

#include <stdint.h>

#include "catalog.h"
#include "cm.h"

/* The criteria as given on the command line; NULL for absent. */
struct filter_opts {
    const char *folder;
    const char *path;
    const char *since;
    const char *until;
    const char *from;
    const char *subject;
    const char *message_id;
};

struct filter;

/*
 * A filter for ${o} (strings copied).  CM_EUSAGE naming the option for a
 * date when_parse() refuses, an empty value, or --since after --until;
 * CM_EINTERNAL if out of memory.  *${out} is freed with filter_free().
 */
int filter_new(const struct filter_opts *o, struct filter **out,
               struct cm_err *err);

void filter_free(struct filter *f);

/* 1 if no criterion was given (everything is selected). */
int filter_is_empty(const struct filter *f);

/* 1 if a message-only criterion was given (see above). */
int filter_messages_only(const struct filter *f);

/* 1 if only --path (or nothing) was given. */
int filter_path_only(const struct filter *f);

/*
 * 1 if --folder was given: then every record of the catalog must be passed
 * to filter_learn() and filter_learn_done() called, before filter_match().
 */
int filter_needs_learning(const struct filter *f);

/* Learn the directory of ${e}'s folder if ${e} is a message of it. */
int filter_learn(struct filter *f, const struct catalog_entry *e,
                 struct cm_err *err);

/* End of learning.  CM_EINTERNAL if out of memory. */
int filter_learn_done(struct filter *f, struct cm_err *err);

/* 1 if ${e} is selected, 0 if not. */
int filter_match(const struct filter *f, const struct catalog_entry *e);

/*
 * For ${msg}, a message inside an mbox file: 1 if the mbox file's own
 * record will be selected (its messages then need no record of their own),
 * 0 if not.
 */
int filter_match_mbox_file(const struct filter *f,
                           const struct catalog_entry *msg);

/* 1 if ${path} (a catalog path) matches ${glob} as --path does. */
int filter_path_matches(const char *glob, const char *path);

/*
 * Fold the case of the UTF-8 text ${s} in place, as --from and --subject
 * compare (the length never changes).  Exposed for tests.
 */
void filter_fold_case(char *s);

/*
 * The Message-ID ${id} without surrounding white space and one pair of
 * angle brackets, as [*${start}, *${start} + *${len}).
 */
void filter_message_id_core(const char *id, const char **start, size_t *len);

#endif
