#include "mbox.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "buf.h"

/* Bytes of a line kept to classify it: a whole From_ line and its ending. */
#define LINE_KEEP (MBOX_FROM_LINE_MAX + 2)
/* Bytes peeked at a Content-Length end: '\n', an empty line, a From_ line. */
#define PEEK_MAX (1 + 2 + LINE_KEEP)
/* A Content-Length at or past this is not believed (10^15 bytes). */
#define CL_MAX 1000000000000000LL

static const uint8_t bom[3] = {0xef, 0xbb, 0xbf};

enum line_state {
    LS_START, /* at the start of a line */
    LS_HEAD,  /* the first bytes of a line, kept in line[] until classified */
    LS_BODY,  /* the rest of a line of the current message */
    LS_FROM,  /* the rest of a From_ line longer than LINE_KEEP */
};

enum line_kind { K_MORE, K_PLAIN, K_BLANK, K_FROM, K_QFROM };

/* Where a From_ line is a separator. */
enum { SEP_NEVER, SEP_IF_FIELD_NEXT, SEP_YES };

/* Bytes peeked after a From_ line that follows no empty line. */
#define FIELD_PEEK 80

struct mbox_scanner {
    uint64_t size, pos;
    cm_pread_fn peek;
    void *peek_ctx;
    mbox_message_fn on_message;
    void *ctx;

    enum line_state ls;
    uint64_t line_off;
    size_t line_len, line_bom;
    uint8_t line[LINE_KEEP];
    int may_sep; /* the line at line_off may be a separator: SEP_* */

    /* An empty line held back: it is a separator's if a From_ line follows. */
    int blank;
    uint64_t blank_off;
    size_t blank_len;

    /*
     * The current message.  While ${skipping}, the bytes up to ${cl_end}
     * are body, as a checked Content-Length says: no separator there.
     */
    int in_msg, in_header, cl_ok, skipping;
    uint64_t from_off, msg_off, cl_end;
    char from_line[MBOX_FROM_LINE_MAX + 1];
    EVP_MD_CTX *md;
    struct buf head;
    struct msghdr hdr;

    /* Evidence for the variant. */
    uint64_t n_msgs, n_cl_ok, n_rd, n_cl_quoted, n_cl_unquoted;
    int stopped;
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr",
                                          "may", "jun", "jul", "aug",
                                          "sep", "oct", "nov", "dec"};

static int
is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int
is_alpha(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Holds "h:mm" and a month name or a four-digit year, as a ctime does. */
static int
looks_like_date(const uint8_t *p, size_t n)
{
    int time = 0, month = 0, year = 0;
    size_t i = 0, j;

    while (i < n) {
        for (j = i; j < n && is_alpha(p[j]); j++)
            ;
        for (size_t m = 0; j - i >= 3 && m < 12; m++)
            if (strncasecmp((const char *)p + i, month_names[m], 3) == 0)
                month = 1;
        if (j == i)
            for (; j < n && is_digit(p[j]); j++)
                ;
        if (j - i == 4 && is_digit(p[i]))
            year = 1;
        if (j > i && is_digit(p[j - 1]) && j + 2 < n && p[j] == ':' &&
            is_digit(p[j + 1]) && is_digit(p[j + 2]))
            time = 1;
        i = j > i ? j : i + 1;
    }
    return time && (month || year);
}

/*
 * Is the line at ${l} (${n} bytes without its newline; ${cut} if it went
 * on) a From_ line "From <sender> <date>"?  Also taken: "From -" with or
 * without a date (Netscape, Thunderbird), and "From <addr@host>" without a
 * date (as in Gmail exports).  "From Russia with love" is not.
 */
static int
from_plausible(const uint8_t *l, size_t n, int cut)
{
    size_t i = 5, s0 = 5, s1;
    int at;

    if (n > 0 && l[n - 1] == '\r')
        n--;
    if (n < 6 || memcmp(l, "From ", 5) != 0)
        return 0;
    if (l[i] == '"')
        while (++i < n && l[i] != '"')
            ;
    while (i < n && l[i] != ' ' && l[i] != '\t')
        i++;
    s1 = i;
    if (s1 == s0)
        return 0;
    at = memchr(l + s0, '@', s1 - s0) != NULL;
    while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
    if (s1 - s0 == 1 && l[s0] == '-')
        return 1;
    if (looks_like_date(l + i, n - i))
        return 1;
    return at && (i == n || cut);
}

/* Length of a UTF-8 BOM at ${p}: 3, 0 if none, -1 if it may be one. */
static int
bom_len(const uint8_t *p, size_t n)
{
    size_t k = n < 3 ? n : 3;

    if (memcmp(p, bom, k) != 0)
        return 0;
    return k == 3 ? 3 : -1;
}

/* "Name:" starts the line: a header field. */
static int
is_field_line(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n && p[i] > ' ' && p[i] < 0x7f && p[i] != ':')
        i++;
    return i > 0 && i < n && p[i] == ':';
}

int
mbox_sniff(const uint8_t *p, size_t len)
{
    int b = bom_len(p, len);
    const uint8_t *l, *nl, *next;
    size_t n, rest;

    if (b < 0)
        return 0;
    l = p + b;
    n = len - (size_t)b;
    nl = memchr(l, '\n', n < LINE_KEEP ? n : LINE_KEEP);
    if (nl == NULL)
        return from_plausible(l, n < LINE_KEEP ? n : LINE_KEEP, 1);
    if (!from_plausible(l, (size_t)(nl - l), 0))
        return 0;
    next = nl + 1;
    rest = (size_t)(l + n - next);
    if (rest == 0 || memchr(next, '\n', rest) == NULL)
        return 1;
    return next[0] == '\n' ||
           (next[0] == '\r' && rest > 1 && next[1] == '\n') ||
           is_field_line(next, rest);
}

/* What the first ${n} bytes of a line say it is; K_MORE if undecided. */
static enum line_kind
line_kind(const uint8_t *l, size_t n, size_t *gt)
{
    static const char from[] = "From ";
    size_t i = 0;

    if (n == 0)
        return K_MORE;
    if (l[0] == '\n')
        return K_BLANK;
    if (l[0] == '\r')
        return n < 2 ? K_MORE : l[1] == '\n' ? K_BLANK : K_PLAIN;
    while (i < n && l[i] == '>')
        i++;
    for (size_t k = 0; k < 5; k++) {
        if (i + k >= n)
            return K_MORE;
        if (l[i + k] != (uint8_t)from[k])
            return K_PLAIN;
    }
    *gt = i;
    return i == 0 ? K_FROM : K_QFROM;
}

/* The decimal number that is all of the value at ${p}, or -1. */
static long long
cl_value(const uint8_t *p, size_t n)
{
    long long v = -1;
    size_t k = 0;

    while (k < n && (p[k] == ' ' || p[k] == '\t'))
        k++;
    for (; k < n && is_digit(p[k]) && v < CL_MAX; k++)
        v = (v < 0 ? 0 : v * 10) + (p[k] - '0');
    while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
        k++;
    return k < n && p[k] == '\n' ? v : -1;
}

/* The first "Content-Length:" of a header block, or -1 if none. */
static long long
content_length(const uint8_t *p, size_t n)
{
    static const char name[] = "content-length";
    const size_t nlen = sizeof name - 1;
    const uint8_t *nl;
    size_t i = 0, k;

    while (i < n && p[i] != '\n' &&
           !(p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')) {
        if (n - i > nlen && strncasecmp((const char *)p + i, name, nlen) == 0) {
            for (k = i + nlen; k < n && (p[k] == ' ' || p[k] == '\t'); k++)
                ;
            if (k < n && p[k] == ':')
                return cl_value(p + k + 1, n - k - 1);
        }
        if ((nl = memchr(p + i, '\n', n - i)) == NULL)
            break;
        i = (size_t)(nl - p) + 1;
    }
    return -1;
}

/*
 * Does a message body that ends at ${target} end where a Content-Length
 * says: at the end of the file, or before an (optional) empty line and a
 * From_ line, after a complete line?
 */
static int
cl_target_ok(struct mbox_scanner *s, uint64_t target, struct cm_err *err)
{
    uint8_t b[PEEK_MAX];
    size_t n, bl = 0;
    const uint8_t *nl;

    if (target == s->size)
        return 1;
    if (s->peek == NULL || target == 0)
        return 0;
    n = s->size - (target - 1) < PEEK_MAX ? (size_t)(s->size - (target - 1))
                                          : PEEK_MAX;
    if (s->peek(s->peek_ctx, b, n, target - 1, err) == -1)
        return -1;
    if (b[0] != '\n')
        return 0;
    if (n > 1 && b[1] == '\n')
        bl = 1;
    else if (n > 2 && b[1] == '\r' && b[2] == '\n')
        bl = 2;
    if (1 + bl == n)
        return 1;
    nl = memchr(b + 1 + bl, '\n', n - 1 - bl);
    if (nl == NULL)
        return from_plausible(b + 1 + bl, n - 1 - bl, target + n - 1 < s->size);
    return from_plausible(b + 1 + bl, (size_t)(nl - (b + 1 + bl)), 0);
}

/* The header block is complete (or cut): parse it, check Content-Length. */
static int
end_header(struct mbox_scanner *s, int body_follows, struct cm_err *err)
{
    long long cl;
    int ok;

    s->in_header = 0;
    if (msghdr_parse(s->head.data, s->head.len, &s->hdr, err) == -1)
        return -1;
    if (!body_follows)
        return 0;
    cl = content_length(s->head.data, s->head.len);
    if (cl < 0 || (uint64_t)cl > s->size - s->pos)
        return 0;
    ok = cl_target_ok(s, s->pos + (uint64_t)cl, err);
    if (ok == -1)
        return -1;
    if (ok) {
        s->cl_ok = 1;
        s->skipping = 1;
        s->cl_end = s->pos + (uint64_t)cl;
    }
    return 0;
}

/* Bytes that belong to the current message (dropped before the first). */
static int
to_msg(struct mbox_scanner *s, const uint8_t *p, size_t n, struct cm_err *err)
{
    size_t room;

    if (!s->in_msg || n == 0)
        return 0;
    if (EVP_DigestUpdate(s->md, p, n) != 1)
        return cm_fail(err, CM_EINTERNAL, "mbox: SHA-256 failed");
    if (!s->in_header)
        return 0;
    room = MSGHDR_SCAN_MAX - s->head.len;
    if (buf_append(&s->head, p, n < room ? n : room, "header", err) == -1)
        return -1;
    if (s->head.len == MSGHDR_SCAN_MAX)
        return end_header(s, 0, err);
    return 0;
}

/* The held empty line was not a separator's: it is message text. */
static int
flush_blank(struct mbox_scanner *s, struct cm_err *err)
{
    static const uint8_t crlf[2] = {'\r', '\n'};

    if (!s->blank)
        return 0;
    s->blank = 0;
    return to_msg(s, crlf + 2 - s->blank_len, s->blank_len, err);
}

static int
finish_message(struct mbox_scanner *s, uint64_t end, struct cm_err *err)
{
    struct mbox_message m;
    unsigned int mdlen = 0;
    int rc;

    if (s->in_header && end_header(s, 0, err) == -1)
        return -1;
    if (EVP_DigestFinal_ex(s->md, m.sha256, &mdlen) != 1 || mdlen != 32)
        return cm_fail(err, CM_EINTERNAL, "mbox: SHA-256 failed");
    m.index = s->n_msgs;
    m.from_off = s->from_off;
    m.from_line = s->from_line;
    m.off = s->msg_off;
    m.len = end - s->msg_off;
    m.hdr = &s->hdr;
    s->n_msgs++;
    s->n_cl_ok += (uint64_t)s->cl_ok;
    rc = s->on_message(s->ctx, &m, err);
    msghdr_free(&s->hdr);
    s->in_msg = 0;
    if (rc == 0)
        return 0;
    s->stopped = 1;
    return cm_fail(err, CM_EINTERNAL, "mbox: scan stopped at message %llu",
                   (unsigned long long)m.index);
}

/* Keep the From_ line: printable ASCII, others shown as '?'. */
static void
keep_from_line(struct mbox_scanner *s)
{
    const uint8_t *l = s->line + s->line_bom;
    size_t n = s->line_len - s->line_bom, i;

    while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
        n--;
    if (n > MBOX_FROM_LINE_MAX)
        n = MBOX_FROM_LINE_MAX;
    for (i = 0; i < n; i++)
        s->from_line[i] = l[i] >= 0x20 && l[i] < 0x7f ? (char)l[i] : '?';
    s->from_line[i] = '\0';
}

static int
on_separator(struct mbox_scanner *s, int complete, struct cm_err *err)
{
    uint64_t end = s->blank ? s->blank_off : s->line_off;

    s->blank = 0;
    if (s->in_msg && finish_message(s, end, err) == -1)
        return -1;
    if (EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
        return cm_fail(err, CM_EINTERNAL, "mbox: SHA-256 failed");
    keep_from_line(s);
    s->from_off = s->line_off + s->line_bom;
    s->msg_off = s->pos;
    s->in_msg = 1;
    s->in_header = 1;
    s->cl_ok = 0;
    buf_reset(&s->head);
    s->ls = complete ? LS_START : LS_FROM;
    return 0;
}

static int
on_blank(struct mbox_scanner *s, struct cm_err *err)
{
    s->ls = LS_START;
    if (s->skipping)
        return to_msg(s, s->line, s->line_len, err);
    if (flush_blank(s, err) == -1)
        return -1;
    if (s->in_msg && s->in_header) {
        if (end_header(s, 1, err) == -1)
            return -1;
        if (s->skipping)
            return to_msg(s, s->line, s->line_len, err);
    }
    s->blank = 1;
    s->blank_off = s->line_off;
    s->blank_len = s->line_len;
    return 0;
}

static int
on_text(struct mbox_scanner *s, int complete, struct cm_err *err)
{
    s->ls = complete ? LS_START : LS_BODY;
    if (flush_blank(s, err) == -1)
        return -1;
    return to_msg(s, s->line, s->line_len, err);
}

/*
 * A From_ line that follows no empty line (some writers leave it out) is a
 * separator only if a header field comes next.
 */
static int
field_next(struct mbox_scanner *s, struct cm_err *err)
{
    uint8_t b[FIELD_PEEK];
    size_t n =
        s->size - s->pos < sizeof b ? (size_t)(s->size - s->pos) : sizeof b;

    if (s->peek == NULL || n == 0)
        return 0;
    if (s->peek(s->peek_ctx, b, n, s->pos, err) == -1)
        return -1;
    return is_field_line(b, n);
}

/* A complete or cut From_ line: a separator here? */
static int
is_separator(struct mbox_scanner *s, size_t b, int complete, int eof,
             struct cm_err *err)
{
    size_t n = s->line_len - b - (size_t)complete;

    if (!from_plausible(s->line + b, n, !complete && !eof))
        return 0;
    if (s->may_sep == SEP_YES)
        return 1;
    return complete ? field_next(s, err) : 0;
}

/*
 * Decide what the line in line[] is, if it can be told yet; ${eof} when no
 * more bytes will come.
 */
static int
classify(struct mbox_scanner *s, int eof, struct cm_err *err)
{
    int complete = s->line_len > 0 && s->line[s->line_len - 1] == '\n';
    int done = complete || eof || s->line_len == LINE_KEEP, b = 0;
    enum line_kind k;
    size_t gt = 0;

    if (s->line_off == 0 && (b = bom_len(s->line, s->line_len)) < 0)
        return done ? on_text(s, complete, err) : 0;
    s->line_bom = (size_t)b;
    k = line_kind(s->line + b, s->line_len - (size_t)b, &gt);
    if (b > 0 && k != K_FROM && k != K_MORE)
        k = K_PLAIN; /* a BOM matters only before the first From_ line */
    if (k == K_MORE && !done)
        return 0;
    if (k == K_BLANK)
        return on_blank(s, err);
    if (k == K_FROM && s->may_sep != SEP_NEVER) {
        if (!done)
            return 0;
        switch (is_separator(s, (size_t)b, complete, eof, err)) {
        case -1:
            return -1;
        case 1:
            return on_separator(s, complete, err);
        }
    }
    if (s->skipping) {
        s->n_cl_quoted += k == K_QFROM;
        s->n_cl_unquoted += k == K_FROM;
    } else {
        s->n_rd += k == K_QFROM && gt >= 2;
    }
    return on_text(s, complete, err);
}

/* A line starts at s->pos. */
static void
line_start(struct mbox_scanner *s)
{
    if (s->skipping && s->pos == s->cl_end) {
        /* A checked Content-Length ends here: a From_ line may follow. */
        s->skipping = 0;
        s->blank = 1;
        s->blank_off = s->pos;
        s->blank_len = 0;
    }
    s->line_off = s->pos;
    s->line_len = 0;
    s->line_bom = 0;
    if (s->skipping)
        s->may_sep = SEP_NEVER;
    else
        s->may_sep = s->pos == 0 || s->blank ? SEP_YES : SEP_IF_FIELD_NEXT;
    s->ls = LS_HEAD;
}

/* Could a line starting with byte ${c} be anything but message text? */
static int
may_matter(const struct mbox_scanner *s, uint8_t c)
{
    return c == '\n' || c == '\r' || c == '>' || c == 'F' ||
           (s->pos == 0 && c == bom[0]);
}

/* Consume up to ${len} bytes of a line's head; returns the count, or -1. */
static long
step_head(struct mbox_scanner *s, const uint8_t *p, size_t len,
          struct cm_err *err)
{
    const uint8_t *nl;
    size_t take;

    if (s->line_len == 0 && !may_matter(s, p[0])) {
        if (on_text(s, 0, err) == -1)
            return -1;
        return 0;
    }
    nl = memchr(p, '\n', len);
    take = nl != NULL ? (size_t)(nl - p) + 1 : len;
    if (take > LINE_KEEP - s->line_len)
        take = LINE_KEEP - s->line_len;
    memcpy(s->line + s->line_len, p, take);
    s->line_len += take;
    s->pos += take;
    if (classify(s, 0, err) != 0)
        return -1;
    return (long)take;
}

/* Consume the rest of a line: message text, or a long From_ line. */
static long
step_rest(struct mbox_scanner *s, const uint8_t *p, size_t len,
          struct cm_err *err)
{
    const uint8_t *nl = memchr(p, '\n', len);
    size_t take = nl != NULL ? (size_t)(nl - p) + 1 : len;

    if (s->ls == LS_BODY && to_msg(s, p, take, err) == -1)
        return -1;
    s->pos += take;
    if (nl != NULL) {
        if (s->ls == LS_FROM)
            s->msg_off = s->pos;
        s->ls = LS_START;
    }
    return (long)take;
}

int
mbox_scanner_feed(struct mbox_scanner *s, const uint8_t *p, size_t len,
                  struct cm_err *err)
{
    long n;
    size_t avail;

    if (s->stopped)
        return cm_fail(err, CM_EINTERNAL, "mbox: scan already stopped");
    if (len > s->size - s->pos)
        return cm_fail(err, CM_EFORMAT,
                       "mbox: more bytes than the %llu announced",
                       (unsigned long long)s->size);
    while (len > 0) {
        if (s->skipping && s->pos == s->cl_end && s->ls != LS_START)
            s->skipping = 0; /* the bytes differ from those peeked at */
        if (s->ls == LS_START)
            line_start(s);
        avail = len;
        if (s->skipping && s->cl_end - s->pos < avail)
            avail = (size_t)(s->cl_end - s->pos);
        n = s->ls == LS_HEAD ? step_head(s, p, avail, err)
                             : step_rest(s, p, avail, err);
        if (n < 0) {
            s->stopped = 1;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
mbox_scanner_finish(struct mbox_scanner *s, struct cm_err *err)
{
    if (s->stopped)
        return cm_fail(err, CM_EINTERNAL, "mbox: scan already stopped");
    s->stopped = 1;
    if (s->pos != s->size)
        return cm_fail(err, CM_EFORMAT, "mbox: %llu bytes read, %llu announced",
                       (unsigned long long)s->pos, (unsigned long long)s->size);
    if (s->ls == LS_HEAD && classify(s, 1, err) != 0)
        return -1;
    if (s->ls == LS_FROM)
        s->msg_off = s->pos;
    if (!s->in_msg)
        return 0;
    /* A final empty line is the last separator's, as between messages. */
    return finish_message(s, s->blank ? s->blank_off : s->pos, err);
}

int
mbox_scanner_new(uint64_t size, cm_pread_fn peek, void *peek_ctx,
                 mbox_message_fn on_message, void *ctx,
                 struct mbox_scanner **out, struct cm_err *err)
{
    struct mbox_scanner *s = cm_calloc(1, sizeof *s, err);

    if (s == NULL)
        return -1;
    if ((s->md = EVP_MD_CTX_new()) == NULL) {
        free(s);
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    }
    s->size = size;
    s->peek = peek;
    s->peek_ctx = peek_ctx;
    s->on_message = on_message;
    s->ctx = ctx;
    s->ls = LS_START;
    buf_init(&s->head, MSGHDR_SCAN_MAX);
    *out = s;
    return 0;
}

enum mbox_variant
mbox_scanner_variant(const struct mbox_scanner *s)
{
    if (s->n_msgs > 0 && s->n_cl_ok == s->n_msgs)
        return s->n_cl_unquoted > 0 || s->n_cl_quoted == 0 ? MBOX_MBOXCL2
                                                           : MBOX_MBOXCL;
    return s->n_rd > 0 ? MBOX_MBOXRD : MBOX_MBOXO;
}

const char *
mbox_variant_name(enum mbox_variant v)
{
    switch (v) {
    case MBOX_MBOXO:
        return "mboxo";
    case MBOX_MBOXRD:
        return "mboxrd";
    case MBOX_MBOXCL:
        return "mboxcl";
    case MBOX_MBOXCL2:
        return "mboxcl2";
    }
    return "mbox";
}

void
mbox_scanner_free(struct mbox_scanner *s)
{
    if (s == NULL)
        return;
    EVP_MD_CTX_free(s->md);
    buf_free(&s->head);
    msghdr_free(&s->hdr);
    free(s);
}

/* Does the line at ${p} match ^>*From ? */
static int
needs_quote(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n && p[i] == '>')
        i++;
    return n - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

int
mbox_write_quoted_rd(const uint8_t *p, size_t len, cm_write_fn sink,
                     void *sink_ctx, struct cm_err *err)
{
    size_t run = 0, at = 0;
    const uint8_t *nl;

    while (at < len) {
        if (needs_quote(p + at, len - at)) {
            if ((at > run && sink(sink_ctx, p + run, at - run, err) == -1) ||
                sink(sink_ctx, ">", 1, err) == -1)
                return -1;
            run = at;
        }
        nl = memchr(p + at, '\n', len - at);
        at = nl == NULL ? len : (size_t)(nl - p) + 1;
    }
    return run < len ? sink(sink_ctx, p + run, len - run, err) : 0;
}
