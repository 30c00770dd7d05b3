/*
 * mbox: find the messages in an mbox file without changing a byte.
 *
 * Variants: mboxo (body lines "From " quoted as ">From "), mboxrd (lines
 * ">*From " quoted with one more '>'), mboxcl/mboxcl2 (Content-Length gives
 * each body's length; cl2 does not quote).  The file is fed once, in order,
 * in chunks of any size (the same bytes that go into the tar archive); a
 * Content-Length is trusted only if the bytes it points at are the end of
 * the file or a separator, which the scanner checks through a pread
 * callback.  A separator is a "From " line at the start of the file or
 * after an empty line, that looks like "From <sender> <date>".
 *
 * Each message is reported once complete: the From_ line (without its
 * newline), the byte range of the message proper (after the From_ line, up
 * to but excluding the empty line that precedes the next separator; to the
 * end of file for the last), its SHA-256, and its header fields.
 */
#ifndef MBOX_H
#define MBOX_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "msghdr.h"

/* Longest From_ line kept (longer ones are cut, still a separator). */
#define MBOX_FROM_LINE_MAX 1024

enum mbox_variant {
    MBOX_MBOXO,
    MBOX_MBOXRD,
    MBOX_MBOXCL,
    MBOX_MBOXCL2,
};

struct mbox_message {
    uint64_t index;      /* 0, 1, 2, ... in file order */
    uint64_t from_off;   /* offset of the From_ line */
    const char *from_line;
    uint64_t off, len;   /* the message bytes within the file */
    uint8_t sha256[32];  /* of those bytes */
    const struct msghdr *hdr;
};

/* Called for each message; a non-zero return stops the scan with it. */
typedef int (*mbox_message_fn)(void *ctx, const struct mbox_message *m,
                               struct cm_err *err);

struct mbox_scanner;

/*
 * Does the file start like an mbox (a plausible From_ line first)?
 * ${p} holds the first ${len} bytes.
 */
int mbox_sniff(const uint8_t *p, size_t len);

/*
 * A scanner for a file of ${size} bytes; ${peek} reads bytes at any offset
 * (for Content-Length checks); ${on_message} gets each message.
 */
int mbox_scanner_new(uint64_t size, cm_pread_fn peek, void *peek_ctx,
                     mbox_message_fn on_message, void *ctx,
                     struct mbox_scanner **out, struct cm_err *err);

/* The next ${len} bytes of the file. */
int mbox_scanner_feed(struct mbox_scanner *s, const uint8_t *p, size_t len,
                      struct cm_err *err);

/* End of input: reports the last message. */
int mbox_scanner_finish(struct mbox_scanner *s, struct cm_err *err);

/* The variant seen (meaningful after finish). */
enum mbox_variant mbox_scanner_variant(const struct mbox_scanner *s);

/* "mboxo", "mboxrd", "mboxcl", "mboxcl2". */
const char *mbox_variant_name(enum mbox_variant v);

void mbox_scanner_free(struct mbox_scanner *s);

/*
 * Quote ${len} bytes of a message for an mboxrd file (">" before every line
 * matching ^>*From ) and append to the sink.  For `restore --format mbox`.
 */
int mbox_write_quoted_rd(const uint8_t *p, size_t len, cm_write_fn sink,
                         void *sink_ctx, struct cm_err *err);

#endif
