/*
 * catalog: the JSON Lines records of a set's catalog, one per archived
 * object (directory, file, symlink, message), and the reader and writer of
 * catalog.jsonl.zst.age.  Fields are listed in coldmail-format(5).
 *
 * Line 1 is a header {"coldmail_catalog":1,"set":...}, the last line a
 * trailer {"coldmail_catalog_end":N} with the number of records, so that a
 * catalog cut short is noticed even before the age layer says so.
 */
#ifndef CATALOG_H
#define CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "age.h"
#include "buf.h"
#include "cm.h"

/* Longest catalog line read. */
#define CATALOG_LINE_MAX (1u << 20)
#define CATALOG_SET_ID_SIZE 16
/* Most segments of one file (coldmail-format(5), "segments"). */
#define CATALOG_SEGMENTS_MAX 8192

enum catalog_kind {
    CATALOG_DIR,
    CATALOG_FILE,
    CATALOG_MESSAGE,
    CATALOG_SYMLINK,
};

/* A piece of a file stored in pieces: ${len} bytes at ${off} of volume
 * ${vol}'s tar stream in set ${set_id}. */
struct catalog_segment {
    uint8_t set_id[CATALOG_SET_ID_SIZE];
    uint32_t vol;
    uint64_t off, len;
};

/* Raw bytes that may or may not be UTF-8 (paths, link targets). */
struct catalog_bytes {
    char *p;    /* NUL-terminated for convenience; may hold no NUL inside */
    size_t len;
};

struct catalog_entry {
    enum catalog_kind kind;
    struct catalog_bytes path; /* relative, with the store name first */
    uint64_t size;
    uint32_t mode;             /* permission bits (07777) */
    int64_t mtime;
    uint32_t mtime_ns;
    uint32_t uid, gid;
    char *user, *group;        /* may be NULL */
    int has_sha256;
    uint8_t sha256[32];        /* of the content (files, messages) */
    struct catalog_bytes link; /* symlink target */

    /* Where the bytes are. */
    uint8_t set_id[CATALOG_SET_ID_SIZE];
    uint32_t vol;              /* 1, 2, ...; 0 for none */
    uint64_t tar_off;          /* the entry's first tar header block */
    uint64_t off, len;         /* content in the volume's tar stream */

    /* Messages. */
    char *store;               /* "maildir", "mh" or "mbox" */
    char *mailbox;             /* Maildir or MH root, relative */
    char *folder;
    char *subdir;              /* "cur" or "new" */
    char *flags;               /* Maildir flag letters */
    char *message_id;
    int has_date;
    int64_t date;
    char *date_raw;
    char *from, *subject;      /* UTF-8 */
    struct catalog_bytes from_raw, subject_raw; /* when decoding was lossy */

    /* Messages inside an mbox file, and mbox files themselves. */
    int in_mbox;
    uint64_t mbox_index, mbox_off;
    char *mbox_from;           /* the From_ line */
    char *mbox_variant;        /* on the mbox file's own line */

    /* An mbox file of an incremental set stored in pieces: the file is
     * their concatenation, in order (sizes adding up to size; sha256 is
     * the whole file's).  set, vol, tar_off, off and len then describe
     * the tar entry of this set holding only the pieces stored anew, and
     * len need not be size.  NULL and 0 for every other record. */
    struct catalog_segment *segments;
    size_t nsegments;
};

struct catalog_header {
    int version;
    uint8_t set_id[CATALOG_SET_ID_SIZE];
    char *host;
    int64_t created;
};

/* Zero an entry (ready to fill or parse into). */
void catalog_entry_init(struct catalog_entry *e);

/* Free what hangs off ${e}; it is zeroed again.  NULL-safe. */
void catalog_entry_free(struct catalog_entry *e);

/* Copy ${len} bytes into a catalog_bytes (NUL added). */
int catalog_bytes_set(struct catalog_bytes *b, const void *p, size_t len,
                      struct cm_err *err);

/* "dir", "file", "message", "symlink". */
const char *catalog_kind_name(enum catalog_kind k);

/* Append ${e} as one JSON line (with its newline) to ${out}. */
int catalog_entry_format(const struct catalog_entry *e, struct buf *out,
                         struct cm_err *err);

/*
 * Parse one line (without its newline) into ${e} (initialised by the
 * caller, freed by catalog_entry_free).  Strict about types and bounds;
 * paths are checked to be relative without "." or ".." components or NUL.
 * CM_EFORMAT naming "line ${lineno}".
 */
int catalog_entry_parse(const char *line, size_t len, unsigned long lineno,
                        struct catalog_entry *e, struct cm_err *err);

/* The header and trailer lines. */
int catalog_header_format(const struct catalog_header *h, struct buf *out,
                          struct cm_err *err);
int catalog_header_parse(const char *line, size_t len,
                         struct catalog_header *h, struct cm_err *err);
void catalog_header_free(struct catalog_header *h);
int catalog_trailer_format(uint64_t count, struct buf *out,
                           struct cm_err *err);
/* 1 and the count if ${line} is a trailer, 0 if not, -1 if malformed. */
int catalog_trailer_parse(const char *line, size_t len, uint64_t *count,
                          struct cm_err *err);

/*
 * Is ${path} a safe relative path: not empty, no leading '/', no "." or
 * ".." component, no empty component, no NUL?
 */
int catalog_path_is_safe(const char *path, size_t len);

/* ------------------------------------------------------------------ */
/* Reading catalog.jsonl.zst.age                                       */

struct catalog_reader;

/*
 * Open the catalog file at ${path} with ${ids}; reads the header line.
 * Errors: as age and zframe, and CM_EFORMAT for a bad header.
 */
int catalog_reader_open(const char *path, const struct age_identities *ids,
                        struct catalog_reader **out, struct cm_err *err);

/*
 * Read catalog lines (plain JSON Lines text) from ${read}/${ctx}.  Once
 * this succeeded, catalog_reader_free calls ${free_ctx}(${ctx}) (if not
 * NULL); if it fails, ${ctx} is still the caller's to free.  ${name} names the catalog in
 * errors.  Reads the header line.
 */
int catalog_reader_open_src(cm_read_fn read, void *ctx,
                            void (*free_ctx)(void *ctx), const char *name,
                            struct catalog_reader **out, struct cm_err *err);

/* The header read at open. */
const struct catalog_header *
catalog_reader_header(const struct catalog_reader *r);

/*
 * The next record into ${e} (catalog_entry_free'd and refilled).  Returns
 * 1, 0 at the trailer (after checking the count and that nothing follows),
 * or -1: CM_EFORMAT for a bad line or count, CM_EAUTH/CM_EFORMAT from the
 * layers below for damage.
 */
int catalog_reader_next(struct catalog_reader *r, struct catalog_entry *e,
                        struct cm_err *err);

/*
 * From now on, skip without parsing every record line for which
 * ${accept}(${ctx}, line, len) returns 0; it sees the raw JSON text of the
 * line (without its newline).  Skipped lines still count for the trailer.
 * For a caller that looks for a few records among millions and can tell
 * candidates by a substring (cat).  NULL: parse every line.
 */
void catalog_reader_set_prefilter(struct catalog_reader *r,
                                  int (*accept)(void *ctx, const char *line,
                                                size_t len),
                                  void *ctx);

void catalog_reader_free(struct catalog_reader *r);

#endif
