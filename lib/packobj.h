/*
 * packobj: how the pack reads and archives each object of a store: its
 * tar entry, its content streamed once (read, hashed, parsed, archived)
 * and its catalog line(s).  Internal to the pack; pack.c drives it.
 */
#ifndef PACKOBJ_H
#define PACKOBJ_H

#include <stdint.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "buf.h"
#include "catalog.h"
#include "cm.h"
#include "mbox.h"
#include "mh.h"
#include "pack.h"
#include "setw.h"
#include "state.h"
#include "walk.h"

#define PACKOBJ_OWNER_CACHE 8
#define PACKOBJ_READ_CHUNK (256 * 1024)

struct packobj_owner {
    uint32_t id;
    char name[64];
    int known;
};

struct packer {
    const struct pack_opts *o;
    struct pack_result *res;
    struct setw *w;
    struct state *state;
    const char *store_root; /* the store's path as given */
    const char *store_name; /* top-level directory in the set */
    uint64_t store_files;   /* regular files and messages seen in it */
    struct buf path;        /* "store_name/relpath" of the current object */
    uint8_t *chunk;
    EVP_MD_CTX *sha;
    struct packobj_owner users[PACKOBJ_OWNER_CACHE];
    struct packobj_owner groups[PACKOBJ_OWNER_CACHE];
    struct pack_progress prog;
    char *mh_folder;        /* relpath of the MH folder whose sequences... */
    struct mh_sequences *mh_seq; /* ...are loaded here */
    int counting;           /* pass 1: only count */
    int incremental;        /* look objects up in the medium's listing */
    char medium_id[33];
    struct buf key;         /* the current object's listing key */
};

/* Open a source file read-only, not following a symlink (O_NOATIME where
 * allowed).  The descriptor, or -1 (CM_EIO naming ${path}). */
int packobj_open_source(int dirfd, const char *name, const char *path,
                        struct cm_err *err);

/* The tar entry's and catalog entry's path-independent metadata from
 * ${st}. */
void packobj_fill_common(struct packer *p, struct catalog_entry *ce,
                         struct tarw_entry *te, const struct stat *st);

/* Copy what the tar entry and catalog entry share, and the placement. */
int packobj_finish_entry(struct catalog_entry *ce, const struct tarw_entry *te,
                         const struct setw_place *place, struct cm_err *err);

/* Set p->path to "store_name/${relpath}". */
int packobj_set_path(struct packer *p, const char *relpath,
                     struct cm_err *err);

/* Archive and catalogue a directory, a symlink, or a regular file. */
int packobj_add_dir(struct packer *p, const struct walk_entry *e,
                    struct cm_err *err);
int packobj_add_symlink(struct packer *p, const struct walk_entry *e,
                        struct cm_err *err);
int packobj_add_file(struct packer *p, const struct walk_entry *e,
                     struct cm_err *err);

/* The name of user (or with ${is_group}, group) ${id}, or NULL. */
const char *packobj_owner_name(struct packer *p, uint32_t id, int is_group);

/* Tell the caller "${path}: ${why}" (not while counting). */
void packobj_warn(struct packer *p, const char *path, const char *why);

/* Count an object done, for the progress display. */
void packobj_progress(struct packer *p, uint64_t bytes);

/*
 * Put the line setw_catalog_add just wrote into the staged listing under
 * p->key, with the object's size and mtime.  A no-op when p->key is empty.
 */
int packobj_stage(struct packer *p, uint64_t size, const struct stat *st,
                  struct cm_err *err);

/* The listing key of message ${index} of the mbox file ${path}. */
int packobj_mbox_key(struct buf *key, const char *path, uint64_t index,
                     struct cm_err *err);

/*
 * Fill the catalog record ${ce} (initialised) of message ${mm} of the mbox
 * file whose record is ${f}: everything but where its bytes are (set, vol,
 * tar_off, off).
 */
int packobj_mbox_entry(const struct catalog_entry *f,
                       const struct mbox_message *mm, struct catalog_entry *ce,
                       struct cm_err *err);

/* Catalogue and stage the message record ${ce}; count it. */
int packobj_add_mbox_message(struct packer *p, struct catalog_entry *ce,
                             struct cm_err *err);

/* Stage the line just written as message ${index} of mbox file ${path}. */
int packobj_stage_mbox_message(struct packer *p, const char *path,
                               uint64_t index, struct cm_err *err);

/*
 * Fill the message fields of ${ce} that depend on where the file is now:
 * store, mailbox, folder, subdir, flags (from ${name} in ${subdir}).
 */
int packobj_message_place(struct packer *p, const struct walk_entry *e,
                          const char *name, const char *subdir,
                          struct catalog_entry *ce, struct cm_err *err);

/*
 * Incrementals: the listing key of entry ${e} into p->key (Maildir
 * messages: mailbox, unique name and size; other files: the path).
 */
int packreuse_key(struct packer *p, const struct walk_entry *e,
                  struct cm_err *err);

/*
 * If the medium's listing has the current object unchanged, catalogue it
 * pointing at the bytes already on the medium and return 1; 0 if it must
 * be packed; -1 on error.
 */
int packreuse_try(struct packer *p, const struct walk_entry *e,
                  struct cm_err *err);

/* ------------------------------------------------------------------ */
/* packmbox: mbox files record by record (coldmail-format(5), segments) */

/*
 * An mbox file is tiled by its records: the bytes before the first From_
 * line (if any), then each message's From_ line through the end of the
 * separator that follows it, [from_off, next from_off).  The listing keeps
 * each record's SHA-256 (key "R" path NUL sha256) and where its bytes
 * are, so that when the file changes, the records the medium already
 * holds are referenced and only new ones are stored.
 */

/* Most messages of one mbox file followed record by record (more: the file
 * is stored whole whenever it changes). */
#define PACKMBOX_RECORDS_MAX (1u << 19)
/* Most new bytes of a changed mbox file kept aside to store (more: the
 * file is stored whole). */
#define PACKMBOX_NEW_MAX (64u << 20)

/* A message as the scan found it: its record starts at from_off. */
struct packmbox_rec {
    uint64_t from_off, off, len;
    uint8_t sha256[32];
};

struct packmbox_recs {
    struct packmbox_rec *r;
    size_t n, cap;
    int overflow; /* more than PACKMBOX_RECORDS_MAX: not kept */
};

/* Note message ${mm}.  CM_EINTERNAL only. */
int packmbox_recs_add(struct packmbox_recs *rs, const struct mbox_message *mm,
                      struct cm_err *err);
void packmbox_recs_free(struct packmbox_recs *rs);

/*
 * The mbox file open as ${fd} (fstat'ed as ${before} when opened) was just
 * stored whole in the entry at ${place}: stage its records, unless the file
 * changed meanwhile or the records were not all kept.  Reads the file again
 * (from the page cache) to hash them.
 */
int packmbox_stage_whole(struct packer *p, int fd, const struct stat *before,
                         const struct packmbox_recs *rs,
                         const struct setw_place *place, struct cm_err *err);

/* Returns of packmbox_changed(). */
#define PACKMBOX_WHOLE 0 /* store the file whole */
#define PACKMBOX_DONE 1  /* stored in segments, catalogued, staged */
#define PACKMBOX_SAME 2  /* its content is ${old}'s after all */

/*
 * The mbox file ${e} (p->path, p->key set), whose record in the medium's
 * listing is ${old}, changed size or mtime: scan it, look each record up,
 * and if enough of it is on the medium store only the new records,
 * cataloguing the file with its segments.  -1 on error (CM_EIO, ...).
 */
int packmbox_changed(struct packer *p, const struct walk_entry *e,
                     const struct catalog_entry *old, struct cm_err *err);

/* Stage the records of the unchanged mbox file p->path along. */
int packmbox_carry(struct packer *p, struct cm_err *err);

#endif
