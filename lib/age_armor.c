/*
 * The input layer of age_stream, and age's ASCII armor: PEM with type
 * "AGE ENCRYPTED FILE", 64-column lines of canonical padded base64, a
 * shorter last line, no headers, LF or CRLF, and only white space around
 * it.  Decoded one line at a time: constant memory.
 */
#include "age.h"

#include <limits.h>
#include <string.h>

#include "age_internal.h"
#include "enc.h"

enum { IN_UNKNOWN, IN_BINARY, IN_ARMOR };
enum { A_BEGIN, A_BODY, A_DONE };

#define LINE_TOO_LONG (-2)

void
age_in_init(struct age_in *in, cm_read_fn src, void *src_ctx, const char *name)
{
    memset(in, 0, sizeof *in);
    in->src = src;
    in->src_ctx = src_ctx;
    in->name = name;
    in->mode = IN_UNKNOWN;
    in->astate = A_BEGIN;
}

void
age_in_init_armor(struct age_in *in, cm_read_fn src, void *src_ctx,
                  const char *name)
{
    age_in_init(in, src, src_ctx, name);
    in->mode = IN_ARMOR;
}

static int
armor_fail(struct age_in *in, struct cm_err *err, const char *fault)
{
    return cm_fail(err, CM_EFORMAT, "%s: invalid armor: %s", in->name, fault);
}

/* Make raw bytes available: 1, 0 at the end of the input, or -1. */
static int
fill(struct age_in *in, struct cm_err *err)
{
    long n;

    if (in->rpos < in->rlen)
        return 1;
    if (in->raw_eof)
        return 0;
    n = in->src(in->src_ctx, in->raw, sizeof in->raw, err);
    if (n < 0)
        return -1;
    if ((size_t)n > sizeof in->raw)
        return cm_fail(err, CM_EINTERNAL, "%s: read returned too much",
                       in->name);
    if (n == 0) {
        in->raw_eof = 1;
        return 0;
    }
    in->rpos = 0;
    in->rlen = (size_t)n;
    return 1;
}

static int
is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/*
 * The next line without "\n" or "\r\n" (the last line may lack them):
 * 1, 0 at the end of the input, LINE_TOO_LONG past ${max} bytes, or -1.
 */
static int
get_line(struct age_in *in, char *line, size_t max, size_t *n,
         struct cm_err *err)
{
    size_t len = 0;
    int r;

    for (;;) {
        uint8_t c;
        if ((r = fill(in, err)) < 0)
            return -1;
        if (r == 0 && len == 0)
            return 0;
        if (r == 0)
            break;
        c = in->raw[in->rpos++];
        if (c == '\n')
            break;
        if (len == max)
            return LINE_TOO_LONG;
        line[len++] = (char)c;
    }
    if (len > 0 && line[len - 1] == '\r')
        len--;
    *n = len;
    return 1;
}

static int
is_line(const char *line, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(line, want, n) == 0;
}

static int
armor_begin(struct age_in *in, struct cm_err *err)
{
    char line[AGE_ARMOR_SPACE_MAX + 1];
    size_t n = 0, k;
    int r;

    for (;;) {
        r = get_line(in, line, sizeof line, &n, err);
        if (r == -1)
            return -1;
        if (r == 0)
            return armor_fail(in, err, "no BEGIN line (not an age file)");
        for (k = 0; r == 1 && k < n && is_space((uint8_t)line[k]); k++)
            ;
        if (r == 1 && k == n) {
            in->space += n + 1;
            if (in->space > AGE_ARMOR_SPACE_MAX)
                return armor_fail(in, err, "too much leading white space");
            continue;
        }
        if (r != 1 || !is_line(line, n, AGE_ARMOR_BEGIN))
            return armor_fail(in, err,
                              "first line is not \"" AGE_ARMOR_BEGIN
                              "\" (not an age file)");
        in->astate = A_BODY;
        return 0;
    }
}

/* After the END line: only a little white space may follow. */
static int
armor_end(struct age_in *in, struct cm_err *err)
{
    size_t space = 0;
    int r;

    in->astate = A_DONE;
    while ((r = fill(in, err)) == 1) {
        if (!is_space(in->raw[in->rpos++]))
            return armor_fail(in, err, "data after the END line");
        if (++space >= AGE_ARMOR_SPACE_MAX)
            return armor_fail(in, err, "too much trailing white space");
    }
    return r;
}

/* A short (last) line must be followed by the END line. */
static int
armor_expect_end(struct age_in *in, struct cm_err *err)
{
    char line[AGE_ARMOR_COLUMNS + 1];
    size_t n = 0;
    int r = get_line(in, line, sizeof line, &n, err);

    if (r == -1)
        return -1;
    if (r != 1 || !is_line(line, n, AGE_ARMOR_END))
        return armor_fail(in, err, "short line not followed by the END line");
    return armor_end(in, err);
}

/* Decode the next line into in->out: 1, 0 at the END line, or -1. */
static int
armor_next(struct age_in *in, struct cm_err *err)
{
    char line[AGE_ARMOR_COLUMNS + 1];
    struct cm_err e = CM_ERR_INIT;
    size_t n = 0;
    long d;
    int r;

    if (in->astate == A_BEGIN && armor_begin(in, err) == -1)
        return -1;
    if (in->astate == A_DONE)
        return 0;
    r = get_line(in, line, sizeof line, &n, err);
    if (r == -1)
        return -1;
    if (r == LINE_TOO_LONG || (r == 1 && n > AGE_ARMOR_COLUMNS))
        return armor_fail(in, err, "line longer than 64 columns");
    if (r == 0)
        return armor_fail(in, err, "no END line (truncated)");
    if (is_line(line, n, AGE_ARMOR_END))
        return armor_end(in, err) == -1 ? -1 : 0;
    if (n == 0)
        return armor_fail(in, err, "empty line");
    d = b64_decode(in->out, sizeof in->out, line, n, B64_PADDED, "base64", &e);
    if (d < 0)
        return armor_fail(in, err, e.msg);
    in->opos = 0;
    in->olen = (size_t)d;
    if (in->olen < AGE_ARMOR_LINE_BYTES && armor_expect_end(in, err) == -1)
        return -1;
    return 1;
}

static long
read_armor(struct age_in *in, void *p, size_t len, struct cm_err *err)
{
    size_t take;
    int r;

    while (in->opos == in->olen)
        if ((r = armor_next(in, err)) <= 0)
            return r;
    take = in->olen - in->opos < len ? in->olen - in->opos : len;
    memcpy(p, in->out + in->opos, take);
    in->opos += take;
    return (long)take;
}

static long
read_binary(struct age_in *in, void *p, size_t len, struct cm_err *err)
{
    size_t take;
    long n;
    int r;

    if (in->rpos == in->rlen && !in->raw_eof && len >= sizeof in->raw) {
        n = in->src(in->src_ctx, p, len > LONG_MAX ? LONG_MAX : len, err);
        if (n == 0)
            in->raw_eof = 1;
        if (n > 0 && (size_t)n > len)
            return cm_fail(err, CM_EINTERNAL, "%s: read returned too much",
                           in->name);
        return n;
    }
    if ((r = fill(in, err)) <= 0)
        return r;
    take = in->rlen - in->rpos < len ? in->rlen - in->rpos : len;
    memcpy(p, in->raw + in->rpos, take);
    in->rpos += take;
    return (long)take;
}

long
age_in_read(struct age_in *in, void *p, size_t len, struct cm_err *err)
{
    int r;

    if (len == 0)
        return 0;
    if (in->mode == IN_UNKNOWN) {
        if ((r = fill(in, err)) < 0)
            return -1;
        /* A binary age file starts "age-encryption.org/"; anything else
         * is armor (or garbage, which the armor decoder reports). */
        in->mode = r == 0 || in->raw[in->rpos] == 'a' ? IN_BINARY : IN_ARMOR;
    }
    if (in->mode == IN_BINARY)
        return read_binary(in, p, len, err);
    return read_armor(in, p, len, err);
}

long
age_in_read_full(struct age_in *in, void *p, size_t len, struct cm_err *err)
{
    uint8_t *q = p;
    size_t got = 0;
    long n;

    if (len > LONG_MAX)
        len = LONG_MAX;
    while (got < len) {
        n = age_in_read(in, q + got, len - got, err);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (long)got;
}

struct memsrc {
    const uint8_t *p;
    size_t len, pos;
};

static long
mem_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct memsrc *m = ctx;
    size_t take = m->len - m->pos < len ? m->len - m->pos : len;

    (void)err;
    memcpy(p, m->p + m->pos, take);
    m->pos += take;
    return (long)take;
}

long
age_armor_decode(const uint8_t *p, size_t len, uint8_t *out, size_t outmax,
                 const char *name, struct cm_err *err)
{
    struct memsrc m = {p, len, 0};
    struct age_in in;
    uint8_t extra;
    long n;

    if (outmax > LONG_MAX)
        outmax = LONG_MAX;
    age_in_init_armor(&in, mem_read, &m, name);
    n = age_in_read_full(&in, out, outmax, err);
    if (n < 0)
        return -1;
    if ((size_t)n == outmax && age_in_read(&in, &extra, 1, err) != 0)
        return cm_fail(err, CM_EFORMAT,
                       "%s: armored data is larger than %zu bytes", name,
                       outmax);
    return n;
}

int
age_is_armored(const uint8_t *p, size_t len)
{
    size_t i = 0, blen = strlen(AGE_ARMOR_BEGIN);

    while (i < len && is_space(p[i]))
        i++;
    return len - i >= blen && memcmp(p + i, AGE_ARMOR_BEGIN, blen) == 0;
}
