#include "rdquote.h"

#include "buf.h"
#include "check.h"
#include "mbox.h"

static int
to_buf(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    return buf_append(ctx, p, len, "out", err);
}

/* ${msg} quoted whole, and fed in pieces cut by ${cuts}. */
static void
same_quoting(const char *msg, size_t len, const size_t *cuts, size_t ncuts)
{
    struct cm_err err = CM_ERR_INIT;
    struct buf whole, pieces;
    struct rdquote q;
    size_t at = 0;

    buf_init(&whole, 1 << 24);
    buf_init(&pieces, 1 << 24);
    CHECK(mbox_write_quoted_rd((const uint8_t *)msg, len, to_buf, &whole,
                               &err) == 0);
    rdquote_init(&q, to_buf, &pieces);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        if (end > len)
            end = len;
        if (end < at)
            continue;
        CHECK(rdquote_feed(&q, (const uint8_t *)msg + at, end - at, &err) == 0);
        at = end;
    }
    CHECK(rdquote_finish(&q, &err) == 0);
    CHECK_INT_EQ(pieces.len, whole.len);
    CHECK(pieces.len == whole.len &&
          memcmp(pieces.data, whole.data, whole.len) == 0);
    rdquote_free(&q);
    buf_free(&whole);
    buf_free(&pieces);
}

static void
test_every_cut(void)
{
    static const char msg[] = "Subject: x\n\nFrom here\n>From there\n"
                              ">>From everywhere\nnot From\n>>>Fro\nFrom";
    size_t len = sizeof msg - 1;

    for (size_t a = 0; a <= len; a++)
        for (size_t b = a; b <= len; b++) {
            size_t cuts[2] = {a, b};
            same_quoting(msg, len, cuts, 2);
        }
}

static void
test_quoted(void)
{
    struct cm_err err = CM_ERR_INIT;
    static const char msg[] = "a\nFrom x\n>From y\nFromage\n";
    static const char want[] = "a\n>From x\n>>From y\nFromage\n";
    struct buf out;
    struct rdquote q;

    buf_init(&out, 4096);
    rdquote_init(&q, to_buf, &out);
    for (size_t i = 0; i < sizeof msg - 1; i++)
        CHECK(rdquote_feed(&q, (const uint8_t *)msg + i, 1, &err) == 0);
    CHECK(rdquote_finish(&q, &err) == 0);
    CHECK(out.len == sizeof want - 1 && memcmp(out.data, want, out.len) == 0);
    rdquote_free(&q);
    buf_free(&out);
}

/* Lines longer than the carry, cut anywhere. */
static void
test_long_lines(void)
{
    size_t len = 3 * RDQUOTE_CARRY_MAX + 100;
    char *msg = malloc(len);
    size_t cuts[4] = {5, RDQUOTE_CARRY_MAX - 2, RDQUOTE_CARRY_MAX + 7,
                      2 * RDQUOTE_CARRY_MAX + 1};

    memset(msg, 'x', len);
    memcpy(msg, "From ", 5);
    msg[RDQUOTE_CARRY_MAX + 3] = '\n';
    memcpy(msg + RDQUOTE_CARRY_MAX + 4, ">From ", 6);
    msg[len - 1] = '\n';
    same_quoting(msg, len, cuts, 4);
    same_quoting(msg, len, NULL, 0);
    free(msg);
}

int
main(void)
{
    test_every_cut();
    test_quoted();
    test_long_lines();
    return check_report();
}
