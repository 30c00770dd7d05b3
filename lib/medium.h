/*
 * medium: the signed label at the root of a medium, COLDMAIL-MEDIUM and
 * COLDMAIL-MEDIUM.minisig.  It names the medium (a random id and the
 * operator's label), when and by which host and signing key it was
 * labelled.  A pack writes only to a medium labelled by the same host and
 * key, so a disk from another system, or one an attacker relabelled, is
 * refused.  The label is written once and never changed.
 *
 *   coldmail-medium 1
 *   medium-id 0123456789abcdef0123456789abcdef
 *   label week-2
 *   created 2026-11-28T22:42:38Z
 *   host mail.example.org
 *   signer-key-id 0123456789ABCDEF
 *   end
 */
#ifndef MEDIUM_H
#define MEDIUM_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "minisig.h"

#define MEDIUM_LABEL_FILE "COLDMAIL-MEDIUM"
#define MEDIUM_SIG_FILE "COLDMAIL-MEDIUM.minisig"
#define MEDIUM_ID_SIZE 16
#define MEDIUM_LABEL_MAX 64 /* bytes of the operator's label */
#define MEDIUM_FILE_MAX 4096

struct medium_label {
    uint8_t id[MEDIUM_ID_SIZE];
    char label[MEDIUM_LABEL_MAX + 1];
    int64_t created;
    char host[256];
    char signer_key_id[MINISIG_KEYID_HEX_LEN];
};

/*
 * Is ${label} acceptable: 1 to MEDIUM_LABEL_MAX bytes of letters, digits,
 * '.', '-', '_'?  CM_EUSAGE naming it if not.
 */
int medium_label_check(const char *label, struct cm_err *err);

/* The label text of ${l}, appended to ${out}. */
int medium_format(const struct medium_label *l, struct buf *out,
                  struct cm_err *err);

/* Parse label text (strict).  CM_EFORMAT naming the line. */
int medium_parse(const char *text, size_t len, struct medium_label *l,
                 struct cm_err *err);

/*
 * Write a new label for ${label} and ${host}, signed with ${sk}, at the
 * root of ${medium_dir}: never over an existing one (CM_EUSAGE "already
 * labelled"), the signature written before the label, both fsync'd.
 * Returns the label in ${out}.
 */
int medium_init(const char *medium_dir, const char *label, const char *host,
                const struct minisig_seckey *sk, struct medium_label *out,
                struct cm_err *err);

/*
 * Read and check the label of ${medium_dir}: returns 1 and fills ${out} if
 * there is a label whose signature verifies with ${pk} (or, if ${pk} is
 * NULL, with any key: then only the format is checked), 0 if the medium
 * has no label, -1 on error: CM_EFORMAT (malformed), CM_ENOKEY (labelled
 * with another key), CM_EAUTH (the signature does not verify).
 */
int medium_read(const char *medium_dir, const struct minisig_pubkey *pk,
                struct medium_label *out, struct cm_err *err);

/* The medium id as 32 hex digits. */
void medium_id_hex(const uint8_t id[MEDIUM_ID_SIZE], char out[33]);

#endif
