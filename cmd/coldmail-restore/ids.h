/* Loading the decryption identities every vault-side verb takes (-i). */
#ifndef COLDMAIL_RESTORE_IDS_H
#define COLDMAIL_RESTORE_IDS_H

#include <stddef.h>

#include "agekey.h"
#include "cm.h"

/*
 * Load every identity file of ${paths} (${n} of them) into ${ids}.
 * Passphrase-encrypted identity files take their passphrase from
 * ${passphrase_file} if not NULL, else from the terminal.  With
 * ${passphrase_file} and ${scrypt_too}, a scrypt identity for that
 * passphrase is added as well (to decrypt passphrase-encrypted files).
 */
int ids_load(char *const *paths, size_t n, const char *passphrase_file,
             int scrypt_too, struct age_identities *ids, struct cm_err *err);

#endif
