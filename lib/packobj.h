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

#endif
