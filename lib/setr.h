/*
 * setr: reading a set.  Its MANIFEST, parsed and its signature checked
 * (against a trusted key, or else the key the set names, which proves
 * integrity but not authenticity); its volumes by random access; its
 * catalog as a stream.
 *
 * Nothing read from a volume or the catalog is used before the 1 MiB
 * block(s) holding it match their SHA-256 in the signed MANIFEST: age
 * authenticates chunks, but anyone with a recipient's public key can make
 * an age file, so the signature is what says the bytes are ours.  Blocks
 * are checked once and remembered, so random access costs one hash per
 * block touched.
 */
#ifndef SETR_H
#define SETR_H

#include <stddef.h>
#include <stdint.h>

#include "agekey.h"
#include "catalog.h"
#include "cm.h"
#include "manifest.h"
#include "minisig.h"

struct setr_opts {
    /* The key the set must be signed with; NULL: the set's own
     * signer-public-key (authenticity then not established). */
    const struct minisig_pubkey *trusted;
    /* Decryption identities; NULL for keyless use (MANIFEST only). */
    const struct age_identities *ids;
};

struct setr;

/*
 * Open the set directory ${dir}: read MANIFEST and MANIFEST.minisig
 * (bounded), check the signature and that the trusted comment names this
 * set, and parse MANIFEST.  Errors naming the file: CM_EIO (missing or
 * unreadable), CM_EFORMAT (malformed), CM_ENOKEY (signed by another key
 * than ${opts->trusted}), CM_EAUTH (the signature does not verify).
 */
int setr_open(const char *dir, const struct setr_opts *opts,
              struct setr **out, struct cm_err *err);

const struct manifest *setr_manifest(const struct setr *s);
const char *setr_dir(const struct setr *s);

/* The SHA-256 of the MANIFEST bytes (the chain link of the next set). */
const uint8_t *setr_manifest_sha256(const struct setr *s);

/* 1 if the signature was checked against a trusted key. */
int setr_trusted(const struct setr *s);

/* The trusted comment of the signature. */
const char *setr_trusted_comment(const struct setr *s);

/*
 * Read ${len} bytes at ${off} of volume ${vol}'s tar stream (decrypted and
 * decompressed), touching only the blocks, chunks and frames that hold
 * them.  Needs identities.  Errors: CM_EAUTH for a block that does not
 * match MANIFEST or a chunk that does not authenticate ("vol-0003.tar.zst.
 * age: block 17 does not match MANIFEST"), CM_EFORMAT for a range outside
 * the volume or a bad frame, CM_EIO for a missing or unreadable volume.
 * On an error the set stays usable for other ranges.
 */
int setr_volume_pread(struct setr *s, uint32_t vol, void *p, size_t len,
                      uint64_t off, struct cm_err *err);

/*
 * The uncompressed range [*${start}, *${end}) of the zstd frame holding
 * offset ${off} of volume ${vol}: the unit that is lost together when a
 * chunk is damaged.
 */
int setr_volume_frame(struct setr *s, uint32_t vol, uint64_t off,
                      uint64_t *start, uint64_t *end, struct cm_err *err);

/* The uncompressed size of volume ${vol}'s tar stream. */
int setr_volume_size(struct setr *s, uint32_t vol, uint64_t *size,
                     struct cm_err *err);

/*
 * Open volume ${vol} for reading its tar stream sequentially (blocks
 * checked as they are read): *${read} and *${ctx} form a cm_read_fn.
 * Free with setr_stream_free.  For deep verification and for a restore
 * whose catalog is damaged.
 */
int setr_volume_stream(struct setr *s, uint32_t vol, cm_read_fn *read,
                       void **ctx, struct cm_err *err);
void setr_stream_free(void *ctx);

/* Open the catalog (blocks checked as they are read). */
int setr_catalog_open(struct setr *s, struct catalog_reader **out,
                      struct cm_err *err);

/*
 * The directory holding the listed file ${name}: the set's own, or for a
 * part of a set that spans media (manifest.h) whose file is on another
 * part, that part's directory as found among the holder dirs (below): one
 * named as this set, or a medium holding one.  Whatever is found there is
 * checked block by block against this set's MANIFEST when read.  Returns
 * setr_dir(), or ${buf} (${len} bytes) filled; NULL with CM_EIO naming the
 * part and its medium if that part was not given.
 */
const char *setr_file_dir(const struct setr *s, const char *name, char *buf,
                          size_t len, struct cm_err *err);

/* The name of volume ${vol}: "vol-0003.tar.zst.age" (static buffer). */
const char *setr_volume_name(uint32_t vol, char out[32]);

/*
 * Where else to look for the sets this (incremental) set's objects are
 * held by (holders.h), besides the directory holding it: set directories
 * or media, ${dirs} NULL-terminated (borrowed: they must outlive the set),
 * or NULL.  Not used by setr itself.
 */
void setr_set_holder_dirs(struct setr *s, const char *const *dirs);
const char *const *setr_holder_dirs(const struct setr *s);

/* Close every open volume and free.  NULL-safe. */
void setr_close(struct setr *s);

#endif
