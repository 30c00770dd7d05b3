/*
 * msghdr: the few header fields the catalog keeps of a message (Message-ID,
 * Date, From, Subject), read from its header block with hard bounds, and
 * RFC 2047 encoded-words decoded to UTF-8.
 *
 * Real mail is messy: a missing or unparsable field is not an error.  Every
 * string handed out is valid UTF-8 (it goes into JSON): strictly (no
 * overlong forms, no surrogates), without NUL or control characters other
 * than tab, and at most MSGHDR_FIELD_MAX bytes.  When a value could not be
 * decoded exactly (unknown charset, invalid bytes, control characters, raw
 * 8-bit text that is not UTF-8) the decoded string holds U+FFFD for what
 * was lost and the raw bytes are kept beside it.
 *
 * Field names match case-insensitively, the first occurrence wins; values
 * are unfolded (line breaks dropped, the white space after them kept) and
 * trimmed.  Encoded-words are decoded wherever they stand (also inside
 * quotes and comments, as mailers write them); adjacent ones, separated by
 * white space only, are joined without it, and their bytes are joined
 * before conversion when their charsets are the same (a character split
 * across two words survives).  Charsets go through iconv(3), with labels
 * mapped to the supersets mail means by them (ks_c_5601-1987 and euc-kr to
 * CP949, gb2312 and gbk to GB18030, shift_jis to CP932, iso-8859-1 and
 * us-ascii to windows-1252, ...).  Raw 8-bit text is kept if it is valid
 * UTF-8 and read as windows-1252 otherwise (lossy), or as ISO-2022-JP when
 * it is 7-bit with that charset's escapes (lossy).
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
    char *value;  /* decoded, valid UTF-8, NUL-terminated; NULL if absent */
    uint8_t *raw; /* raw unfolded bytes when decoding was lossy, else NULL */
    size_t raw_len;
};

struct msghdr {
    char *message_id; /* as written, unfolded, trimmed; NULL if absent */
    struct msghdr_field from;
    struct msghdr_field subject;
    char *date_raw; /* the Date value as written (valid UTF-8), or NULL */
    int has_date;   /* date below is meaningful */
    int64_t date;   /* seconds since the epoch, UTC */
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
 * *${lossy} if anything could not be represented exactly.  At most
 * MSGHDR_FIELD_MAX bytes of ${in} are read and of *${out} written (cut on a
 * character boundary).  CM_EINTERNAL only.  Exposed for tests and fuzzing.
 */
int msghdr_decode(const uint8_t *in, size_t len, char **out, int *lossy,
                  struct cm_err *err);

#endif
