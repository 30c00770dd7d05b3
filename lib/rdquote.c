#include "rdquote.h"

#include <string.h>

#include "mbox.h"

void
rdquote_init(struct rdquote *q, cm_write_fn out, void *ctx)
{
    q->out = out;
    q->ctx = ctx;
    q->mid_line = 0;
    buf_init(&q->carry, RDQUOTE_CARRY_MAX);
}

void
rdquote_free(struct rdquote *q)
{
    buf_free(&q->carry);
}

static int
quote(struct rdquote *q, const uint8_t *p, size_t len, struct cm_err *err)
{
    return mbox_write_quoted_rd(p, len, q->out, q->ctx, err);
}

/* The rest of a decided line goes through as it is. */
static long
pass(struct rdquote *q, const uint8_t *p, size_t len, struct cm_err *err)
{
    const uint8_t *nl = memchr(p, '\n', len);
    size_t n = nl != NULL ? (size_t)(nl - p) + 1 : len;

    if (q->out(q->ctx, p, n, err) == -1)
        return -1;
    if (nl != NULL)
        q->mid_line = 0;
    return (long)n;
}

/* Add to the carried line start; quote it once its line is complete. */
static long
extend(struct rdquote *q, const uint8_t *p, size_t len, struct cm_err *err)
{
    const uint8_t *nl = memchr(p, '\n', len);
    size_t n = nl != NULL ? (size_t)(nl - p) + 1 : len;

    if (q->carry.len + n > RDQUOTE_CARRY_MAX) {
        if (quote(q, q->carry.data, q->carry.len, err) == -1)
            return -1;
        buf_reset(&q->carry);
        q->mid_line = 1;
        return 0;
    }
    if (buf_append(&q->carry, p, n, "line", err) == -1)
        return -1;
    if (nl != NULL) {
        if (quote(q, q->carry.data, q->carry.len, err) == -1)
            return -1;
        buf_reset(&q->carry);
    }
    return (long)n;
}

/* At a line start: whole lines now, the unfinished one carried. */
static long
lines(struct rdquote *q, const uint8_t *p, size_t len, struct cm_err *err)
{
    const uint8_t *nl = memrchr(p, '\n', len);

    if (nl != NULL) {
        size_t n = (size_t)(nl - p) + 1;
        return quote(q, p, n, err) == -1 ? -1 : (long)n;
    }
    if (len <= RDQUOTE_CARRY_MAX)
        return buf_append(&q->carry, p, len, "line", err) == -1 ? -1
                                                                : (long)len;
    q->mid_line = 1;
    return quote(q, p, len, err) == -1 ? -1 : (long)len;
}

int
rdquote_feed(struct rdquote *q, const uint8_t *p, size_t len,
             struct cm_err *err)
{
    while (len > 0) {
        long n;
        if (q->mid_line)
            n = pass(q, p, len, err);
        else if (q->carry.len > 0)
            n = extend(q, p, len, err);
        else
            n = lines(q, p, len, err);
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
rdquote_finish(struct rdquote *q, struct cm_err *err)
{
    int rc = 0;

    if (q->carry.len > 0)
        rc = quote(q, q->carry.data, q->carry.len, err);
    buf_reset(&q->carry);
    q->mid_line = 0;
    return rc;
}
