/*
 * verify: are sets intact and authentic, and does the chain of custody
 * across them hold?  What `coldmail-restore verify` runs.
 *
 * Without any decryption key, per set: the MANIFEST signature (against a
 * trusted key, or else the set's own signer-public-key, which proves the
 * set intact but not authentic), the signature's trusted comment against
 * MANIFEST, MANIFEST's own consistency (volumes vol-0001..N listed, the
 * catalog listed, the signer key id, the directory name), every listed
 * file's size, SHA-256 and 1 MiB blocks, missing files and unexpected
 * ones; for damage in a set with parity files, whether `repair` can
 * rebuild it (parity_assess, parity.h).  Across the sets: the hash chain
 * (chain.h).  With identities and
 * deep: every volume decrypted and decompressed in order and its tar
 * entries walked in step with the catalog (both are in the same order, so
 * memory stays bounded whatever the size): every entry is catalogued with
 * the same path, kind, size, mode, mtime and offsets, every catalogued
 * object's content has its SHA-256 (a message inside an mbox file: its
 * byte range), and nothing catalogued is missing.  Damage does not stop
 * the check: past a damaged region the volume is read by random access,
 * object by object, so exactly the objects whose bytes are in damaged
 * data are named.
 *
 * Findings are kept per set (at most VERIFY_FINDINGS_MAX; more are
 * counted) and handed to the caller set by set; the library prints
 * nothing.  The outcome code is the worst finding: CM_EAUTH over
 * CM_EFORMAT over CM_DAMAGED.
 */
#ifndef VERIFY_H
#define VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "agekey.h"
#include "buf.h"
#include "chain.h"
#include "cm.h"
#include "filecheck.h"
#include "manifest.h"
#include "minisig.h"
#include "progress.h"

#define VERIFY_FINDINGS_MAX 10000 /* listed per set; more are counted */
#define VERIFY_SETS_MAX 10000     /* sets in one run */

/* What a finding is about (the JSON "what"). */
enum verify_what {
    VERIFY_SIGNATURE,   /* MANIFEST.minisig: missing, malformed, another
                           key, does not verify, trusted comment */
    VERIFY_MANIFEST,    /* MANIFEST: missing, malformed, inconsistent */
    VERIFY_MISSING,     /* a listed file is not there */
    VERIFY_NOT_REGULAR, /* a listed name is a directory, link, ... */
    VERIFY_SIZE,        /* a listed file has another size */
    VERIFY_BLOCKS,      /* a run of blocks does not match */
    VERIFY_SHA256,      /* the whole-file hash does not match (only) */
    VERIFY_READ_ERROR,  /* blocks that could not be read at all */
    VERIFY_UNEXPECTED,  /* a file in the set directory not in MANIFEST */
    VERIFY_NAME,        /* the directory name is not the MANIFEST's */
    VERIFY_OBJECT,      /* deep: an archived object */
    VERIFY_ENTRY,       /* deep: a tar entry not in the catalog */
    VERIFY_REGION,      /* deep: unreadable bytes of a volume's stream */
    VERIFY_CATALOG,     /* deep: the catalog itself */
    VERIFY_SKIPPED,     /* deep: not done, and why */
    VERIFY_REPAIR,      /* whether `repair` can rebuild a damaged file
                           from parity (parity.h) */
    VERIFY_PART,        /* a part of a set that spans media: which, and
                           where the others are (code CM_OK) */
    VERIFY_STREAM,      /* a tape stream: malformed, or breaks off */
};

/* For VERIFY_OBJECT: what is wrong with it. */
enum verify_problem {
    VERIFY_P_NONE,
    VERIFY_P_LOST,      /* its bytes are in damaged data */
    VERIFY_P_CONTENT,   /* readable, but not the catalogued SHA-256 */
    VERIFY_P_METADATA,  /* its tar entry differs from the catalog */
    VERIFY_P_NO_ENTRY,  /* no tar entry where the catalog says */
    VERIFY_P_UNORDERED, /* catalog out of order: not checked */
};

struct verify_finding {
    enum verify_what what;
    enum cm_code code;              /* CM_DAMAGED, CM_EFORMAT or CM_EAUTH */
    char *file;                     /* the set's file concerned, or NULL */
    uint64_t first, last;           /* VERIFY_BLOCKS: block indexes */
    uint64_t first_byte, last_byte; /* VERIFY_BLOCKS, VERIFY_REGION */
    /* VERIFY_OBJECT, VERIFY_ENTRY: */
    enum verify_problem problem;
    char *path;       /* printable (\xNN escapes) */
    char *message_id; /* or NULL */
    uint32_t vol;
    uint64_t off, len; /* content in the volume's tar stream */
    char *text;        /* one line for people, without indentation */
};

enum verify_sig {
    VERIFY_SIG_FAILED,  /* missing, malformed, another key, bad */
    VERIFY_SIG_OWN_KEY, /* verifies with the set's own key only */
    VERIFY_SIG_TRUSTED, /* verifies with the trusted key */
};

/* Counts of a deep check. */
struct verify_deep {
    int done;                   /* the deep check ran */
    uint64_t volumes;           /* volumes walked */
    uint64_t entries;           /* tar entries seen */
    uint64_t lines;             /* catalog records read */
    uint64_t checked;           /* records whose object was checked and good */
    uint64_t bad;               /* records whose object is not good */
    uint64_t elsewhere;         /* records held by other sets, not checked */
    uint64_t elsewhere_checked; /* records held by other sets given, good */
};

/* One set's outcome, handed to verify_opts.on_set. */
struct verify_set {
    const char *dir;   /* as given or found */
    const char *name;  /* its last component */
    enum cm_code code; /* CM_OK or the worst finding's code */
    enum verify_sig sig;
    const struct manifest *m; /* NULL if MANIFEST could not be parsed; not
                                 authentic unless sig != FAILED */
    uint8_t manifest_sha256[32];
    uint64_t files, bytes; /* listed files checked, bytes hashed */
    struct verify_finding *findings;
    size_t nfindings;
    uint64_t omitted; /* findings past VERIFY_FINDINGS_MAX */
    struct verify_deep deep;
};

/*
 * Where a set's files are read from, when not from its directory: a tape
 * stream read before (verify_stream).  The set directory then holds only
 * MANIFEST and MANIFEST.minisig.
 */
struct verify_source {
    /* Check ${f} as filescan_file() (filescan.h) would.  0, or -1 only
     * when the check cannot run (CM_EINTERNAL). */
    int (*scan)(void *ctx, const struct manifest_file *f,
                struct filecheck_report *r, struct cm_err *err);
    /* The names found that ${m} does not list (nor MANIFEST and its
     * signature), sorted, malloc'ed.  CM_EINTERNAL. */
    int (*extra)(void *ctx, const struct manifest *m, char ***names,
                 size_t *n, struct cm_err *err);
    /* What went wrong with the stream as a whole, or NULL. */
    const char *problem;
    void *ctx;
};

struct verify_opts {
    /* The key every set must be signed with; NULL: each set's own key. */
    const struct minisig_pubkey *trusted;
    /* With deep: the identities to decrypt with. */
    const struct age_identities *ids;
    int deep;
    /* Only the signatures, MANIFESTs and the chain: no file is read. */
    int chain_only;
    int threads;               /* hashing threads, 1 or 2; 0: 2 */
    struct progress *progress; /* NULL: none */
    /* NULL: the sets' directories; else where the files are (a stream). */
    const struct verify_source *source;
    /* Called after each set, in order; a -1 stops the run. */
    int (*on_set)(void *ctx, const struct verify_set *s, struct cm_err *err);
    void *ctx;
};

/* What the whole run found. */
struct verify_result {
    size_t sets;        /* sets checked */
    size_t ok;          /* of which nothing was found */
    size_t auth_failed; /* of which the signature failed */
    int untrusted;      /* sets were checked with their own keys */
    char trusted_key[MINISIG_KEYID_HEX_LEN]; /* its id, or "" */
    int deep;                                /* a deep check was asked for */
    int chain_only;                          /* only the chain was checked */
    struct verify_deep deep_total; /* the sets' deep counts added up */
    struct chain *chain;           /* the chain table and findings */
    char **notes;                  /* "ignored: DIR (an unfinished set)" ... */
    size_t nnotes;
    enum cm_code code; /* the exit status: CM_OK, CM_DAMAGED,
                          CM_EFORMAT or CM_EAUTH */
    uint64_t bytes;    /* bytes hashed */
};

/*
 * Verify the sets at ${paths} (${n} of them): each a set directory (it
 * holds MANIFEST, MANIFEST.minisig, or is named coldmail-*), or a medium
 * directory whose coldmail-* entries are sets (those named *.incomplete
 * are left out, with a note).  Each set's outcome goes to ${o->on_set} as
 * soon as it is known; the run's is in ${r} (free with
 * verify_result_free).  Returns 0 when the verification ran, whatever it
 * found (${r->code}); -1 when it could not: CM_EUSAGE (a path that is no
 * set or medium, a medium with no set, deep without identities), or the
 * error of on_set, or CM_EINTERNAL.
 */
int verify_run(const char *const *paths, size_t n, const struct verify_opts *o,
               struct verify_result *r, struct cm_err *err);

void verify_result_free(struct verify_result *r);

/*
 * Verify the set written as a tape stream (tape.h) at ${path} ("-":
 * standard input), read once, in order, never seeking: each file hashed
 * as it streams by (whole and per 1 MiB block), then MANIFEST's signature
 * checked and everything compared, as verify_run does for a directory and
 * with the same findings, plus VERIFY_STREAM when the stream is malformed
 * or breaks off.  MANIFEST and its signature are kept in a private
 * directory under ${tmp_dir} meanwhile.  Not with deep (CM_EUSAGE).
 * Returns as verify_run.
 */
int verify_stream(const char *path, const char *tmp_dir,
                  const struct verify_opts *o, struct verify_result *r,
                  struct cm_err *err);

/* "signature", "manifest", "missing", ... (the JSON "what"). */
const char *verify_what_name(enum verify_what w);

/* "lost", "content", "metadata", "no-entry", "unordered". */
const char *verify_problem_name(enum verify_problem p);

/*
 * Text report.  A set: "OK  NAME" or "DAMAGED NAME", then its findings
 * indented by two spaces.  The end: the chain table and findings, the
 * notes, and a summary line.
 */
int verify_format_set_text(const struct verify_set *s, struct buf *out,
                           struct cm_err *err);
int verify_format_end_text(const struct verify_result *r, struct buf *out,
                           struct cm_err *err);

/*
 * JSON report (fields in coldmail-restore(1)): one object, written in
 * three parts so that sets stream out one by one.  _begin opens it and its
 * "sets" array, _set adds a set (${first}: the first one), _end closes the
 * array and adds "notes", "chain" and "summary".
 */
int verify_format_json_begin(const struct verify_opts *o, struct buf *out,
                             struct cm_err *err);
int verify_format_json_set(const struct verify_set *s, int first,
                           struct buf *out, struct cm_err *err);
int verify_format_json_end(const struct verify_result *r, struct buf *out,
                           struct cm_err *err);

#endif
