/*
 * setw: writing one set onto a medium, and committing it.
 *
 * The set is written under "<name>.incomplete", volume after volume (a
 * new volume starts when the next object could push the current one past
 * the volume size), each volume fsync'd and read back from the medium,
 * bypassing the page cache, and compared with the block hashes computed
 * while writing; then, with parity_percent, its parity file is written and
 * read back (parity.h).  Then the catalog (and its parity), RESTORE.txt,
 * and the signed MANIFEST;
 * then the directory is fsync'd and renamed to its final name, and the
 * medium directory fsync'd.  Until that rename nothing looks like a set;
 * on any failure the incomplete directory is removed.
 */
#ifndef SETW_H
#define SETW_H

#include <stddef.h>
#include <stdint.h>

#include "agekey.h"
#include "catalog.h"
#include "cm.h"
#include "manifest.h"
#include "minisig.h"
#include "tarw.h"

#define SETW_NAME_MAX 160

/* Spanning: the next medium, as setw_opts.next_medium finds it. */
struct setw_medium {
    char dir[4096];
    char label[65];
    uint8_t id[16];
};

/* Spanning: a part just committed, for setw_opts.next_medium. */
struct setw_part {
    uint32_t part;       /* its number, from 1 */
    const char *set_dir; /* where it is now: the full medium's */
    const char *medium_dir;
    const char *label;        /* that medium's */
    const struct manifest *m; /* its MANIFEST: parts so far */
};

struct setw_opts {
    const char *medium_dir;
    const char *host;          /* for MANIFEST and the directory name */
    int64_t created;
    const struct age_recipients *recipients;
    const struct minisig_seckey *signer;
    uint64_t volume_size;
    int level;
    int threads;
    const char *label;         /* may be NULL */
    const char *medium_label;  /* may be NULL */
    int has_medium_id;
    uint8_t medium_id[16];
    int incremental;           /* with its base: */
    uint8_t base[16];
    int has_previous_medium;
    uint8_t previous_medium[16];
    uint64_t sequence;
    int has_previous;
    uint8_t previous[32];
    const char *chain_break;   /* NULL unless the chain restarts here */
    unsigned parity_percent;   /* parity per volume and catalog (parity.h);
                                  0: none */
    /* Tape (tape.h): called for each file of the set once it is complete
     * in the set directory ${dir}, in stream order: a volume once its
     * parity is made, then its parity file; the catalog, then its parity;
     * RESTORE.txt; MANIFEST.minisig; MANIFEST; all before the directory is
     * renamed.  The callback may remove the file.  NULL: none. */
    int (*on_file)(void *ctx, const char *dir, const char *set_name,
                   const char *name, struct cm_err *err);
    void *on_file_ctx;
    /* Spanning media (a full set only).  A volume then also ends when the
     * medium could not take more (free space, test hook
     * COLDMAIL_TEST_MEDIUM_SIZE below); when not even the next object
     * fits on it, the part written so far is committed there under the
     * set's name with its own signed MANIFEST (its "part" lines listing
     * the parts so far, coldmail-format(5)), and ${next_medium} is asked
     * for the next medium: 0 with ${next} filled (a labelled medium of
     * this host and key, not one of the set's parts yet), or -1 to stop
     * (the set is then incomplete; the parts committed stay).  The
     * catalog waits in a private directory under ${spool_dir} until the
     * last part, which holds it.  NULL: a full medium fails the run. */
    int (*next_medium)(void *ctx, const struct setw_part *done,
                       struct setw_medium *next, struct cm_err *err);
    void *next_medium_ctx;
    const char *spool_dir;
};

/* Where an object's bytes went. */
struct setw_place {
    uint32_t vol;
    uint64_t tar_off, data_off;
};

struct setw_result {
    char set_dir[4096];        /* final path of the set */
    char set_name[SETW_NAME_MAX];
    uint8_t manifest_sha256[32];
    uint64_t volumes;
    uint64_t bytes_written;    /* all files of the set */
    uint32_t parts;            /* media the set spans (1: one) */
};

struct setw;

/*
 * Create the incomplete set directory and open the catalog.  ${m} is not
 * needed yet: counts come at commit.  CM_EIO/CM_ENOSPC naming the medium.
 */
int setw_begin(const struct setw_opts *opts, struct setw **out,
               struct cm_err *err);

/* The set id (random, 16 bytes). */
const uint8_t *setw_set_id(const struct setw *w);

/* Record a store (name and path on this host) in MANIFEST. */
int setw_add_store(struct setw *w, const char *name, const char *path,
                   struct cm_err *err);

/*
 * Could an object of ${size} bytes at ${path} fit in an empty volume of
 * ${volume_size} bytes encrypted to ${nrecipients}?  CM_EUSAGE naming it
 * and the size needed if not.
 */
int setw_check_fits(uint64_t volume_size, size_t nrecipients,
                    const char *path, uint64_t size, struct cm_err *err);

/*
 * Start an object: pick its volume (starting a new one if the current one
 * could pass the volume size; CM_EUSAGE if the object could not fit even in
 * an empty volume, naming it), write its tar header, and say where it is.
 */
int setw_object_begin(struct setw *w, const struct tarw_entry *e,
                      struct setw_place *place, struct cm_err *err);

/* Content of the current object. */
int setw_object_data(struct setw *w, const void *p, size_t len,
                     struct cm_err *err);

/* End the current object. */
int setw_object_end(struct setw *w, struct cm_err *err);

/*
 * Append a catalog line for ${e}; its holder set id is filled in here
 * unless it has one (a line carried over by an incremental set).  Counts
 * the object (and the message, for kind message).
 */
int setw_catalog_add(struct setw *w, struct catalog_entry *e,
                     struct cm_err *err);

/*
 * Add a catalog line as it is: ${len} bytes at ${line}, one JSON record
 * without its newline, written before by setw_catalog_add (an unchanged
 * object of an incremental set, whose line is not parsed again).  Counted
 * as a message if ${message}, as an object unless ${in_mbox} (a message
 * inside an mbox file).  CM_EINTERNAL, CM_EIO.
 */
int setw_catalog_add_line(struct setw *w, const char *line, size_t len,
                          int message, int in_mbox, struct cm_err *err);

/* The line the last setw_catalog_add wrote, without its newline. */
const char *setw_last_line(const struct setw *w, size_t *len);

/* Note ${n} more content bytes taken from the store (for MANIFEST). */
void setw_count_bytes_in(struct setw *w, uint64_t n);

/* Plaintext bytes so far and on-medium bytes so far (for progress). */
uint64_t setw_bytes_written(const struct setw *w);

/* The MANIFEST as it stands (complete after setw_commit). */
const struct manifest *setw_manifest(const struct setw *w);

/*
 * Finish the last volume and the catalog, read everything back, write
 * RESTORE.txt and the signed MANIFEST, and rename the set into place.  If
 * the medium directory cannot be fsync'd after the rename (the rename may
 * not last), the rename is undone and the set removed.
 */
int setw_commit(struct setw *w, struct setw_result *res, struct cm_err *err);

/*
 * Spanning: where part ${part} (from 1, up to setw_result.parts) was
 * committed, or NULL.
 */
const char *setw_part_dir(const struct setw *w, uint32_t part);

/*
 * Test hook: COLDMAIL_TEST_MEDIUM_SIZE=BYTES makes every medium hold at
 * most BYTES, counted as the sizes of the files under it (instead of
 * statvfs), so that spanning is tested on plain directories.
 */

/*
 * Free; if not committed, remove the incomplete directory (and everything
 * in it: only files this writer created).  NULL-safe.
 */
void setw_free(struct setw *w);

/*
 * Remove leftover "coldmail-*.incomplete" directories of earlier runs from
 * ${medium_dir}, holding only set files.  Reports each through ${note}.
 */
int setw_clean_incomplete(const char *medium_dir,
                          void (*note)(void *ctx, const char *name),
                          void *ctx, struct cm_err *err);

#endif
