/*
 * maildir: Maildir and Maildir++ names.  A Maildir is a directory holding
 * cur/ and new/ (tmp/ optional); Maildir++ sub-folders are its
 * sub-directories whose names start with '.' and that hold cur/ and new/.
 * Message file names are "<unique>[:2,<flags>]" (or with '!' or ';' in
 * place of ':' on some systems).
 */
#ifndef MAILDIR_H
#define MAILDIR_H

#include <stddef.h>

#include "cm.h"

#define MAILDIR_FLAGS_MAX 32

struct maildir_name {
    size_t unique_len;             /* bytes of the name before the info */
    int has_info;                  /* ":2," present */
    char flags[MAILDIR_FLAGS_MAX]; /* the flag letters after ":2,", NUL-ended */
    long long size_hint;           /* ",S=<n>" in the unique part, or -1 */
};

/*
 * Split a message file name.  The unique part is ${name}[0, unique_len):
 * up to the first ':', or else up to the last "!2," or ";2,".  The flags
 * are the ASCII letters after "2," as written (at most
 * MAILDIR_FLAGS_MAX - 1 kept).  Returns 0, or -1 with CM_EFORMAT if ${name}
 * cannot be a message name (empty, starts with '.', holds '/').
 */
int maildir_name_parse(const char *name, struct maildir_name *out,
                       struct cm_err *err);

/*
 * Does the directory ${path} (relative to ${dirfd}; "." for ${dirfd}
 * itself) hold cur/ and new/ (directories, not symlinks)?  1 or 0.
 */
int maildir_is_maildir(int dirfd, const char *path);

/*
 * The IMAP folder name of a Maildir++ directory named ${dirname} inside its
 * Maildir root: "INBOX" for the root itself (${dirname} NULL), else the name
 * without its leading dot (".Lists.foo" -> "Lists.foo").  Caller frees.
 */
char *maildir_folder_name(const char *dirname, struct cm_err *err);

/*
 * A message seen as ${subdir}/${name} (subdir "cur" or "new") in the Maildir
 * folder at ${folder_path} has gone.  Look for the same unique part under
 * cur/ and new/ (a flag change or a delivery moved it).  Returns 1 and the
 * new path relative to ${folder_path} ("cur/<name>") in *${found} (caller
 * frees), 0 if the message is gone (expunged; also if the folder is gone or
 * ${name} is no message name), -1 with CM_EIO if a directory cannot be
 * read.
 */
int maildir_find_moved(const char *folder_path, const char *name, char **found,
                       struct cm_err *err);

/* As maildir_find_moved(), for the folder open at ${folder_fd}. */
int maildir_find_moved_at(int folder_fd, const char *name, char **found,
                          struct cm_err *err);

#endif
