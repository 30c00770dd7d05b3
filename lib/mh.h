/*
 * mh: MH folders.  A directory is an MH folder if it holds a
 * .mh_sequences file, or if every visible regular file in it has a message
 * name (at least one does) and the lowest-numbered of them starts like a
 * mail message (a header field line).  Messages are the files with message
 * names; sequences (unseen, flagged, replied) come from .mh_sequences.
 */
#ifndef MH_H
#define MH_H

#include <stddef.h>

#include "cm.h"

struct mh_sequences;

/*
 * Is the directory ${path} (relative to ${dirfd}; "." for ${dirfd} itself,
 * not followed if a symlink) an MH folder?  1, 0 (also if it is gone or is
 * no directory), or -1 with CM_EIO if it or its first message cannot be
 * read (the message names the file, relative to ${path}).
 */
int mh_is_folder(int dirfd, const char *path, struct cm_err *err);

/*
 * Is ${name} an MH message name: all digits, no leading zero, not "0", at
 * most 18 digits?
 */
int mh_is_message_name(const char *name);

/*
 * Read the .mh_sequences of the folder at ${path} (relative to ${dirfd});
 * a missing file gives empty sequences.  Entries are "name: 1 3-5 ...",
 * continued on lines that start with white space; other sequences and
 * anything unreadable as a number or range are ignored.  Errors: CM_EFORMAT
 * if the file is larger than 64 KiB, CM_EIO if it cannot be read.  Free
 * *${out} with mh_sequences_free.
 */
int mh_sequences_load(int dirfd, const char *path, struct mh_sequences **out,
                      struct cm_err *err);

/*
 * Maildir-style flag letters for message ${number}, in Maildir order: 'F'
 * if in "flagged", 'R' if in "replied", 'S' unless in "unseen".  Into
 * ${out}, room for ${outlen} bytes with the NUL (cut if shorter).
 */
void mh_sequences_flags(const struct mh_sequences *s, unsigned long number,
                        char *out, size_t outlen);

/* Free ${s}.  NULL-safe. */
void mh_sequences_free(struct mh_sequences *s);

#endif
