/*
 * passphrase: read a passphrase into the caller's fixed buffer, from the
 * terminal with echo off, or from the first line of a file.  The caller
 * wipes the buffer (OPENSSL_cleanse) when done.
 */
#ifndef PASSPHRASE_H
#define PASSPHRASE_H

#include <stddef.h>

#include "cm.h"

/*
 * Prompt on /dev/tty with ${prompt} and read one line without echo into
 * ${buf} (${size} bytes, NUL-terminated, newline removed).  CM_EUSAGE if
 * there is no terminal, or the passphrase is empty or too long.
 */
int passphrase_from_tty(const char *prompt, char *buf, size_t size,
                        struct cm_err *err);

/*
 * The first line of the file ${path} (without its newline) into ${buf}.
 * CM_EIO if unreadable, CM_EFORMAT if empty or too long.
 */
int passphrase_from_file(const char *path, char *buf, size_t size,
                         struct cm_err *err);

/*
 * An agekey_passphrase_source callback (see agekey.h): from the file named
 * by ${ctx} (a const char *) if not NULL, else from the terminal.
 */
int passphrase_get(void *ctx, char *buf, size_t size, const char *prompt,
                   struct cm_err *err);

#endif
