/*
 * audit: the compliance spot-check.  Pick N messages of a set at random,
 * read each by random access, and compare its SHA-256 with the catalog's.
 *
 * The pick is reproducible: the generator is SplitMix64 (Steele, Lea and
 * Flood, 2014) started from the 64-bit seed; a number below n is drawn by
 * rejection (a draw r is kept if r >= 2^64 mod n, and r mod n used), and
 * the messages (catalog records of kind "message", those inside mbox files
 * included) are sampled in catalog order with reservoir sampling
 * (Vitter's Algorithm R): message i (from 0) takes slot i while i < N,
 * after that slot j = below(i + 1) if j < N.  Every message has the same
 * chance, N of them are kept whatever the set's size, and the same seed
 * and catalog give the same sample.  Memory is O(N).
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "cm.h"
#include "setr.h"

/* Largest sample. */
#define AUDIT_SAMPLE_MAX 1000000

/* SplitMix64. */
struct audit_rng {
    uint64_t state;
};

void audit_rng_seed(struct audit_rng *r, uint64_t seed);
uint64_t audit_rng_next(struct audit_rng *r);
/* Uniform in [0, ${n}), ${n} > 0. */
uint64_t audit_rng_below(struct audit_rng *r, uint64_t n);

/* Reservoir sampling of ${n} items over a stream. */
struct audit_reservoir {
    struct audit_rng rng;
    uint64_t n;    /* slots */
    uint64_t seen; /* items offered so far */
};

void audit_reservoir_init(struct audit_reservoir *s, uint64_t n, uint64_t seed);

/*
 * Offer the next item: the slot (< n) it must be stored in, replacing what
 * is there, or -1 if it is not kept.
 */
int64_t audit_reservoir_offer(struct audit_reservoir *s);

enum audit_result {
    AUDIT_OK,
    AUDIT_MISMATCH,   /* read whole, but the SHA-256 differs */
    AUDIT_UNREADABLE, /* damaged, missing, or not authenticated */
};

struct audit_item {
    uint64_t index; /* among the set's messages, from 0, in catalog order */
    char *path;
    int in_mbox;
    uint64_t mbox_index; /* a message inside an mbox file: its index */
    char *message_id;    /* or NULL */
    int has_date;
    int64_t date;
    uint64_t size;
    uint8_t sha256[32]; /* the catalog's */
    enum audit_result result;
    int has_actual;
    uint8_t actual[32]; /* what was read */
    char *error;        /* why, unless AUDIT_OK */
    /* where it is (kept for reading) */
    uint8_t set_id[CATALOG_SET_ID_SIZE];
    uint32_t vol;
    uint64_t off, len;
};

struct audit_opts {
    struct setr *set;
    const struct setr_opts *set_opts;
    uint64_t sample; /* N, 1..AUDIT_SAMPLE_MAX */
    uint64_t seed;
    /* Called after each message is checked (may be NULL). */
    void (*progress)(void *ctx, const struct audit_item *it);
    void *ctx;
};

struct audit_report {
    char set_id[2 * CATALOG_SET_ID_SIZE + 1];
    char manifest_sha256[65];
    char signer_key_id[17];
    int trusted; /* the signature was checked against a trusted key */
    uint64_t seed;
    uint64_t requested;
    uint64_t population;      /* messages in the catalog */
    struct audit_item *items; /* in catalog order */
    size_t nitems;
    uint64_t passed, failed;
};

/*
 * Run the audit as ${o} says into ${rep} (free with audit_report_free
 * whatever the outcome).  Returns 0 when every sampled message was checked
 * (passed or not: see rep->failed); -1 if the audit could not run:
 * CM_EUSAGE for a sample out of range, the catalog's errors (an unreadable
 * catalog fails the audit), CM_EINTERNAL.
 */
int audit_run(const struct audit_opts *o, struct audit_report *rep,
              struct cm_err *err);

void audit_report_free(struct audit_report *rep);

/* "ok", "mismatch", "unreadable". */
const char *audit_result_name(enum audit_result r);

/*
 * The report as JSON text (one object, pretty-printed, ending in a
 * newline) appended to ${out}: set_id, manifest_sha256, signer_key_id,
 * trusted, seed, sample requested, population, messages (each: index,
 * path, mbox_index (inside an mbox file), message_id, date, size,
 * sha256, result, and actual_sha256 and
 * error when it failed) and summary {sampled, passed, failed}.
 */
int audit_report_json(const struct audit_report *rep, struct buf *out,
                      struct cm_err *err);

#endif
