/*
 * msghdr: the few header fields the catalog keeps of a message (Message-ID,
 * Date, From, Subject), read from its header block with hard bounds, and
 * RFC 2047 encoded-words decoded to UTF-8.
 *
 * Real mail is messy: a missing or unparsable field is not an error.  Every
 * string handed out is valid UTF-8 (it goes into JSON); when a value could
 * not be decoded exactly (unknown charset, invalid bytes, raw 8-bit text
 * that is not UTF-8) the decoded string holds U+FFFD for what was lost and
 * the raw bytes are kept beside it.
 */
#ifndef MSGHDR_H
#define MSGHDR_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

/* Header bytes examined at most; fields beyond are not seen. */
#define MSGHDR_SCAN_MAX (256 * 1024)
/* Longest field value kept (bytes, after unfolding); longer is cut. */
#define MSGHDR_FIELD_MAX 4096

struct msghdr_field {
    char *value;    /* decoded, valid UTF-8, NUL-terminated; NULL if absent */
    uint8_t *raw;   /* raw unfolded bytes when decoding was lossy, else NULL */
    size_t raw_len;
};

struct msghdr {
    char *message_id;   /* as written, trimmed, valid UTF-8; NULL if absent */
    struct msghdr_field from;
    struct msghdr_field subject;
    char *date_raw;     /* the Date value as written (valid UTF-8), or NULL */
    int has_date;       /* date below is meaningful */
    int64_t date;       /* seconds since the epoch, UTC */
};

/*
 * Parse the header block at the start of ${p} (${len} bytes, of which at
 * most MSGHDR_SCAN_MAX are looked at; the block ends at the first empty
 * line, CRLF or LF).  Fills ${h} (free with msghdr_free).  Fails only when
 * out of memory (CM_EINTERNAL).
 */
int msghdr_parse(const uint8_t *p, size_t len, struct msghdr *h,
                 struct cm_err *err);

/* Free the strings of ${h}.  NULL-safe. */
void msghdr_free(struct msghdr *h);

/*
 * Offset just past the header block's terminating empty line within ${p},
 * or 0 if no complete header block lies within ${len} bytes.  Lets a
 * reader know when it has read enough to call msghdr_parse.
 */
size_t msghdr_block_end(const uint8_t *p, size_t len);

/*
 * Decode an unstructured header value (RFC 2047 encoded-words, raw UTF-8,
 * raw 8-bit) into NUL-terminated UTF-8 at *${out} (caller frees).  Sets
 * *${lossy} if anything could not be represented exactly.  CM_EINTERNAL
 * only.  Exposed for tests and fuzzing.
 */
int msghdr_decode(const uint8_t *in, size_t len, char **out, int *lossy,
                  struct cm_err *err);

#endif
