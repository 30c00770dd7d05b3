/*
 * manifest: the MANIFEST of a set, the root of trust.  Plain UTF-8 text,
 * one "key value" line each, in a fixed order, ending with "end"; the exact
 * grammar is in coldmail-format(5).  It names every other file of the set
 * with its size and SHA-256, and the SHA-256 of every 1 MiB block of each,
 * so that damage is located to the block without any key; and it links to
 * the previous MANIFEST of the same host (sequence number and SHA-256), so
 * that a missing, replaced or rolled-back set shows.  It says nothing about
 * message content.
 */
#ifndef MANIFEST_H
#define MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cm.h"

#define MANIFEST_VERSION 1
#define MANIFEST_BLOCK_SIZE (1u << 20)
/* Largest MANIFEST read (a 16 TiB set of 1 MiB blocks needs ~1.4 GiB; this
 * bounds what a hostile medium can make us allocate). */
#define MANIFEST_MAX (256u << 20)
#define MANIFEST_FILES_MAX 100000
#define MANIFEST_RECIPIENTS_MAX 256
#define MANIFEST_STORES_MAX 256
#define MANIFEST_TEXT_MAX 256 /* host, label, store names and paths */
#define MANIFEST_SET_ID_SIZE 16
/* k + m of a parity stripe at most (GF(2^8) Reed-Solomon). */
#define MANIFEST_PARITY_FRAGMENTS_MAX 255
/* Parts of a set that spans media, at most. */
#define MANIFEST_PARTS_MAX 256

struct manifest_file {
    char *name;            /* "vol-0001.tar.zst.age", ... */
    uint64_t size;
    uint8_t sha256[32];
    uint64_t nblocks;      /* ceil(size / block_size); 0 for an empty file */
    uint8_t (*blocks)[32]; /* SHA-256 of each block, nblocks of them */
    /* A parity file (its "parity-of" line): the file it protects, listed
     * before it, and the layout (parity.h); NULL for any other file. */
    char *parity_of;
    uint32_t parity_k, parity_m; /* data and parity blocks per stripe */
    uint64_t parity_stripes;
};

struct manifest_store {
    char *name; /* top-level directory in the volumes */
    char *path; /* where it was on the pack host */
};

/*
 * One part of a set that spans media (its "part-medium" line): the medium
 * it went to and how many volumes it holds (the volumes are numbered
 * across the parts, part 1 holding the first ones).
 */
struct manifest_part {
    uint8_t medium_id[16];
    uint64_t volumes;
    char *label; /* the medium's label */
};

struct manifest {
    int version;
    uint8_t set_id[MANIFEST_SET_ID_SIZE];
    char *host;
    int64_t created;
    char *label;         /* may be empty */
    char *medium;        /* medium label, or empty */
    int has_medium_id;
    uint8_t medium_id[16];  /* the medium's id (its signed label) */
    uint64_t sequence;   /* 1, 2, ... per host */
    int has_previous;
    uint8_t previous[32];  /* SHA-256 of the previous MANIFEST */
    int has_previous_medium;
    uint8_t previous_medium[16]; /* the medium the previous set went to */
    char *chain_break;   /* why the chain restarted here, or NULL */
    char *kind;          /* "full" or "incremental" */
    int has_base;
    uint8_t base[MANIFEST_SET_ID_SIZE];
    /* Spanning: this MANIFEST is part ${part} (from 1) of a set written
     * across media, listing the files of parts 1..part; 0 for a set on
     * one medium.  last_part: its "parts-total" line (the set ends here,
     * with its catalog). */
    uint32_t part;
    int last_part;
    struct manifest_part *parts; /* parts 1..part, nparts == part */
    size_t nparts;
    char **recipients;   /* "age1..." */
    size_t nrecipients;
    struct manifest_store *stores;
    size_t nstores;
    char signer_key_id[17];     /* 16 upper-case hex digits */
    char signer_public_key[57]; /* minisign base64 */
    uint64_t volumes;
    uint64_t objects;
    uint64_t messages;
    uint64_t bytes_in;
    uint32_t block_size;
    struct manifest_file *files;
    size_t nfiles;
};

/* An empty manifest (everything zero/NULL, version and block size set). */
void manifest_init(struct manifest *m);

/* Free everything hanging off ${m}; ${m} is empty again.  NULL-safe. */
void manifest_free(struct manifest *m);

/*
 * Add a file entry (name copied); returns it, with its block array sized
 * for ${size} and zeroed, for the caller to fill.  NULL on error.
 */
struct manifest_file *manifest_add_file(struct manifest *m, const char *name,
                                        uint64_t size, struct cm_err *err);

/* Add a recipient or a store (strings copied). */
int manifest_add_recipient(struct manifest *m, const char *recipient,
                           struct cm_err *err);
int manifest_add_store(struct manifest *m, const char *name, const char *path,
                       struct cm_err *err);

/* Set a text field (host, label, medium, kind), checked: one line of
 * printable UTF-8, at most MANIFEST_TEXT_MAX bytes.  CM_EUSAGE otherwise. */
int manifest_set_text(char **field, const char *value, const char *what,
                      struct cm_err *err);

/* The file entry called ${name}, or NULL. */
const struct manifest_file *manifest_find_file(const struct manifest *m,
                                               const char *name);

/*
 * Mark ${f} (just added) as the parity of the listed file ${of} with the
 * given layout.  CM_EFORMAT if ${of} is not listed, is a parity file or
 * already has one, or the numbers are out of range (k, m >= 1, k + m <=
 * MANIFEST_PARITY_FRAGMENTS_MAX, stripes >= 1).
 */
int manifest_set_parity(struct manifest *m, struct manifest_file *f,
                        const char *of, uint32_t k, uint32_t parity,
                        uint64_t stripes, struct cm_err *err);

/* The parity file protecting the file ${name}, or NULL. */
const struct manifest_file *manifest_parity_for(const struct manifest *m,
                                                const char *name);

/*
 * Add part ${m->nparts + 1} of a set that spans media (the label copied,
 * checked as a medium label).  CM_EUSAGE, CM_EINTERNAL.
 */
int manifest_add_part(struct manifest *m, const uint8_t medium_id[16],
                      uint64_t volumes, const char *label, struct cm_err *err);

/*
 * The part of a spanning set that holds the listed file ${name}: for a
 * volume "vol-NNNN.tar.zst.age" and its parity file, the part whose volumes
 * include NNNN; for any other file, ${m->part}.  0 if ${m} is not a part.
 */
uint32_t manifest_file_part(const struct manifest *m, const char *name);

/* The MANIFEST text of ${m}, appended to ${out}. */
int manifest_format(const struct manifest *m, struct buf *out,
                    struct cm_err *err);

/*
 * Parse MANIFEST text.  Strict: every line is known, in order, once where
 * once is meant, every length bounded; CM_EFORMAT naming the line number
 * ("MANIFEST: line 12: ...") otherwise.  ${name} prefixes messages.
 */
int manifest_parse(const char *text, size_t len, const char *name,
                   struct manifest *m, struct cm_err *err);

/* The set id as 32 lower-case hex digits (and a NUL). */
void manifest_set_id_hex(const uint8_t id[MANIFEST_SET_ID_SIZE],
                         char out[2 * MANIFEST_SET_ID_SIZE + 1]);

/* Parse 32 hex digits into a set id.  CM_EFORMAT. */
int manifest_set_id_parse(const char *hex, uint8_t id[MANIFEST_SET_ID_SIZE],
                          struct cm_err *err);

/*
 * The trusted comment signed with the MANIFEST (one line): set id, host,
 * sequence and creation time.  Room for MINISIG_COMMENT_MAX + 1 bytes.
 */
void manifest_trusted_comment(const struct manifest *m, char *out,
                              size_t outlen);

#endif
