/*
 * mh: MH folders.  A directory is an MH folder if it holds a
 * .mh_sequences file, or if every visible regular file in it has an
 * all-digit name (at least one) and the first of them starts like a mail
 * message (a header line).  Messages are the all-digit files; sequences
 * (unseen, flagged, replied, ...) come from .mh_sequences.
 */
#ifndef MH_H
#define MH_H

#include <stddef.h>

#include "cm.h"

struct mh_sequences;

/* Is the directory ${path} (relative to ${dirfd}) an MH folder? */
int mh_is_folder(int dirfd, const char *path);

/* Is ${name} an MH message name (all digits, no leading zero, not "0")? */
int mh_is_message_name(const char *name);

/*
 * Read the .mh_sequences of the folder at ${path} (relative to ${dirfd});
 * a missing file gives empty sequences.  Bounded (64 KiB).  Free with
 * mh_sequences_free.
 */
int mh_sequences_load(int dirfd, const char *path, struct mh_sequences **out,
                      struct cm_err *err);

/*
 * Maildir-style flag letters for message ${number}: 'S' unless in
 * "unseen", 'F' if in "flagged", 'R' if in "replied".  Into ${out}, room for
 * ${outlen} bytes with the NUL.
 */
void mh_sequences_flags(const struct mh_sequences *s, unsigned long number,
                        char *out, size_t outlen);

void mh_sequences_free(struct mh_sequences *s);

#endif
