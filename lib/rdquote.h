/*
 * rdquote: mboxrd quoting (">" before every line matching ^>*From ) of a
 * message that arrives in pieces of any size, as restore --format mbox
 * reads it, in bounded memory.
 *
 * mbox_write_quoted_rd() decides a line's quoting from the line's start,
 * so it is given whole lines; the start of a line cut by a piece boundary
 * is carried over to the next piece.  A line longer than RDQUOTE_CARRY_MAX
 * is decided on its first RDQUOTE_CARRY_MAX bytes (which would only be
 * wrong for a line of that many '>' followed by "From "), and the rest
 * passed through.  The output is then the same as mbox_write_quoted_rd()
 * of the whole message, however it was cut.
 */
#ifndef RDQUOTE_H
#define RDQUOTE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cm.h"

#define RDQUOTE_CARRY_MAX 65536

struct rdquote {
    cm_write_fn out;
    void *ctx;
    int mid_line; /* inside a line whose quoting is decided */
    struct buf carry;
};

/* Start quoting a message into ${out}(${ctx}, ...). */
void rdquote_init(struct rdquote *q, cm_write_fn out, void *ctx);

/* The next ${len} bytes of the message.  0, or -1 with the sink's error. */
int rdquote_feed(struct rdquote *q, const uint8_t *p, size_t len,
                 struct cm_err *err);

/* End of the message: what is carried goes out.  Ready for another. */
int rdquote_finish(struct rdquote *q, struct cm_err *err);

void rdquote_free(struct rdquote *q);

#endif
