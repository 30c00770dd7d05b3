/*
 * mbox: find the messages in an mbox file without changing a byte.
 *
 * Variants: mboxo (body lines "From " quoted as ">From "), mboxrd (lines
 * ">*From " quoted with one more '>'), mboxcl/mboxcl2 (Content-Length gives
 * each body's length; cl2 does not quote).  The file is fed once, in order,
 * in chunks of any size (the same bytes that go into the tar archive), in
 * constant memory whatever the line lengths.
 *
 * A separator is a From_ line: "From <sender> <date>" (a ctime-like date),
 * "From -" with or without a date (Netscape, Thunderbird), or "From
 * <addr@host>" (Gmail exports); "From Russia with love" is not one.  It
 * must be at the start of the file (after a UTF-8 BOM, if any) or follow an
 * empty line (LF or CRLF); one that follows no empty line counts only if
 * the next line is a header field (some writers leave the empty line out;
 * this needs the peek callback).  Inside a body that a Content-Length
 * delimits there is no separator.
 *
 * A Content-Length is trusted only if the bytes it points at are the end
 * of the file, or end a line and are followed by an optional empty line and
 * then the end of the file or a From_ line; the scanner checks this through
 * the peek callback before the body comes.
 *
 * Each message is reported once complete: the From_ line (without its
 * newline), the byte range of the message proper (after the From_ line, up
 * to but excluding the empty line that precedes the next separator; for the
 * last, to the end of the file less a final empty line, unless a trusted
 * Content-Length says otherwise), its SHA-256, and its header fields.  So
 * the file is tiled by: bytes before the first From_ line (no message),
 * then for each message its From_ line and line end, the message, and the
 * separating empty line (0, 1 or 2 bytes).
 *
 * The variant (after finish): mboxcl2 if every message had a trusted
 * Content-Length and the bodies hold unquoted "From " lines or no quoted
 * ones; mboxcl if every one did and bodies hold ">From " lines; else
 * mboxrd if a body line matches ^>>+From ; else mboxo.
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
    uint64_t index;        /* 0, 1, 2, ... in file order */
    uint64_t from_off;     /* offset of the From_ line */
    const char *from_line; /* at most MBOX_FROM_LINE_MAX bytes, printable
                              ASCII: other bytes shown as '?' */
    uint64_t off, len;     /* the message bytes within the file */
    uint8_t sha256[32];    /* of those bytes */
    const struct msghdr *hdr;
};

/*
 * Called for each message; ${m} and what it points to are valid during the
 * call only.  A non-zero return stops the scan: the feed or finish that
 * called it returns -1, with the error the callback set.
 */
typedef int (*mbox_message_fn)(void *ctx, const struct mbox_message *m,
                               struct cm_err *err);

struct mbox_scanner;

/*
 * Does the file start like an mbox: a From_ line first (after a BOM, if
 * any), and then, if ${p} holds it, an empty line or a header field?  ${p}
 * holds the first ${len} bytes (MBOX_FROM_LINE_MAX + 1024 are plenty).
 */
int mbox_sniff(const uint8_t *p, size_t len);

/*
 * A scanner for a file of ${size} bytes; ${peek} reads bytes at any offset
 * (for Content-Length checks; NULL: no Content-Length is trusted unless it
 * points at the end of the file); ${on_message} gets each message.  Free
 * with mbox_scanner_free.  CM_EINTERNAL only.
 */
int mbox_scanner_new(uint64_t size, cm_pread_fn peek, void *peek_ctx,
                     mbox_message_fn on_message, void *ctx,
                     struct mbox_scanner **out, struct cm_err *err);

/*
 * The next ${len} bytes of the file.  0, or -1: CM_EFORMAT if the bytes
 * run past the size given; a peek or callback error; after an error, every
 * call fails.
 */
int mbox_scanner_feed(struct mbox_scanner *s, const uint8_t *p, size_t len,
                      struct cm_err *err);

/*
 * End of input: reports the last message.  CM_EFORMAT if fewer bytes came
 * than the size given.  Call once.
 */
int mbox_scanner_finish(struct mbox_scanner *s, struct cm_err *err);

/* The variant seen (meaningful after finish). */
enum mbox_variant mbox_scanner_variant(const struct mbox_scanner *s);

/* "mboxo", "mboxrd", "mboxcl", "mboxcl2". */
const char *mbox_variant_name(enum mbox_variant v);

void mbox_scanner_free(struct mbox_scanner *s);

/*
 * Quote ${len} bytes of a message for an mboxrd file (">" before every line
 * matching ^>*From ) and append to the sink.  For `restore --format mbox`;
 * the caller writes the From_ line before and the empty line after.  ${p}
 * is taken to start a line, and a line is judged on the bytes of it that
 * ${p} holds.  0, or -1 with the sink's error.
 */
int mbox_write_quoted_rd(const uint8_t *p, size_t len, cm_write_fn sink,
                         void *sink_ctx, struct cm_err *err);

#endif
