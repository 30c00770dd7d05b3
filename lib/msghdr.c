#include "msghdr.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "enc.h"
#include "when.h"

/* Longest charset name looked up (longer ones are unknown charsets). */
#define CHARSET_MAX 40
/* Longest charset label in an encoded-word, and longest encoded-word. */
#define EWORD_CHARSET_MAX 80
#define EWORD_MAX 1024
/* Bytes of a value unfolded before it is cut at a character boundary. */
#define UNFOLD_MAX (MSGHDR_FIELD_MAX + 4)

static const uint8_t replacement[3] = {0xef, 0xbf, 0xbd}; /* U+FFFD */

/* Decoded text being built: valid UTF-8, cut at MSGHDR_FIELD_MAX. */
struct out {
    struct buf b;
    int lossy;
    int full;
};

/* Append one whole character; once the ceiling is reached, drop the rest. */
static int
emit(struct out *o, const void *p, size_t n, struct cm_err *err)
{
    if (o->full || o->b.len + n > MSGHDR_FIELD_MAX) {
        o->full = 1;
        return 0;
    }
    return buf_append(&o->b, p, n, "header value", err);
}

static int
emit_lost(struct out *o, struct cm_err *err)
{
    o->lossy = 1;
    return emit(o, replacement, sizeof replacement, err);
}

/* C0 controls but tab, DEL, and C1 controls (U+0080..U+009F). */
static int
is_control(const uint8_t *p, size_t len)
{
    if (len == 1)
        return (p[0] < 0x20 && p[0] != '\t') || p[0] == 0x7f;
    return len == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

/* Append UTF-8 text, replacing invalid bytes and control characters. */
static int
emit_utf8(struct out *o, const uint8_t *p, size_t n, struct cm_err *err)
{
    size_t i = 0, len, bad;

    while (i < n && !o->full) {
        len = enc_utf8_check(p + i, n - i, &bad);
        if (len == 0 || is_control(p + i, len)) {
            if (emit_lost(o, err) == -1)
                return -1;
            i += len == 0 ? bad : len;
            continue;
        }
        if (emit(o, p + i, len, err) == -1)
            return -1;
        i += len;
    }
    return 0;
}

/* windows-1252 0x80..0x9f; 0 marks the five undefined bytes. */
static const uint16_t cp1252_high[32] = {
    0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017d, 0,
    0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178};

static size_t
utf8_encode(uint8_t out[4], uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (uint8_t)(0xe0 | cp >> 12);
    out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp & 0x3f));
    return 3;
}

/* Raw 8-bit text that is not UTF-8: read it as windows-1252. */
static int
emit_cp1252(struct out *o, const uint8_t *p, size_t n, struct cm_err *err)
{
    uint8_t u[4];
    uint32_t cp;

    for (size_t i = 0; i < n && !o->full; i++) {
        cp = p[i];
        if (cp >= 0x80 && cp < 0xa0)
            cp = cp1252_high[cp - 0x80];
        if (cp == 0 || (cp < 0x80 && is_control(p + i, 1))) {
            if (emit_lost(o, err) == -1)
                return -1;
            continue;
        }
        if (emit(o, u, utf8_encode(u, cp), err) == -1)
            return -1;
    }
    return 0;
}

static int
is_valid_utf8(const uint8_t *p, size_t n)
{
    size_t len;

    for (size_t i = 0; i < n; i += len)
        if ((len = enc_utf8_len(p + i, n - i)) == 0)
            return 0;
    return 1;
}

/* ${n} bytes at ${p} hold only 7-bit bytes and an ISO-2022-JP escape. */
static int
looks_iso2022jp(const uint8_t *p, size_t n)
{
    int esc = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x80)
            return 0;
        if (p[i] == 0x1b && i + 2 < n && p[i + 1] == '$' &&
            (p[i + 2] == 'B' || p[i + 2] == '@'))
            esc = 1;
    }
    return esc;
}

/*
 * Charset labels mail uses, mapped to the glibc converter that decodes
 * them best: supersets, as the WHATWG Encoding Standard does.
 */
static const struct {
    const char *label, *iconv_name;
} charset_aliases[] = {
    {"utf8", "UTF-8"},
    {"us-ascii", "CP1252"},
    {"ascii", "CP1252"},
    {"iso-8859-1", "CP1252"},
    {"iso8859-1", "CP1252"},
    {"latin1", "CP1252"},
    {"ks_c_5601-1987", "CP949"},
    {"ks_c_5601", "CP949"},
    {"ksc5601", "CP949"},
    {"ksc_5601", "CP949"},
    {"euc-kr", "CP949"},
    {"x-euc-kr", "CP949"},
    {"gb2312", "GB18030"},
    {"gbk", "GB18030"},
    {"x-gbk", "GB18030"},
    {"cp936", "GB18030"},
    {"euc-cn", "GB18030"},
    {"gb_2312-80", "GB18030"},
    {"shift_jis", "CP932"},
    {"shift-jis", "CP932"},
    {"x-sjis", "CP932"},
    {"sjis", "CP932"},
    {"ms_kanji", "CP932"},
    {"windows-31j", "CP932"},
    {"iso-2022-jp", "ISO-2022-JP-2"},
    {"big5", "BIG5-HKSCS"},
    {"x-big5", "BIG5-HKSCS"},
    {"iso-8859-8-i", "ISO-8859-8"},
    {"tis-620", "CP874"},
    {"windows-874", "CP874"},
    {"x-mac-roman", "MACINTOSH"},
};

/*
 * The converter name for the charset of an encoded-word: the RFC 2231
 * language ("utf-8*sl") dropped, aliases applied.  NULL if the name is not
 * a plain token (it is then an unknown charset).
 */
static const char *
charset_name(const char *label, char out[CHARSET_MAX + 1])
{
    size_t n = strcspn(label, "*");

    if (n == 0 || n > CHARSET_MAX)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = label[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("-_.:+", c) != NULL))
            return NULL;
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[n] = '\0';
    for (size_t i = 0; i < CM_ARRAY_LEN(charset_aliases); i++)
        if (strcmp(out, charset_aliases[i].label) == 0)
            return charset_aliases[i].iconv_name;
    if (strcmp(out, "utf-8") == 0)
        return "UTF-8";
    return out;
}

/* Bytes in a charset we cannot convert: keep ASCII and valid UTF-8. */
static int
emit_unknown(struct out *o, const uint8_t *p, size_t n, struct cm_err *err)
{
    o->lossy = 1;
    return emit_utf8(o, p, n, err);
}

/* Run iconv over all of ${p}; undecodable bytes become U+FFFD. */
static int
convert_with(iconv_t cd, struct out *o, const uint8_t *p, size_t n,
             struct cm_err *err)
{
    char tmp[1024], *in = (char *)p, *op;
    size_t inleft = n, outleft, r;
    int flushed = 0, e;

    while (!flushed && !o->full) {
        op = tmp;
        outleft = sizeof tmp;
        if (inleft > 0) {
            r = iconv(cd, &in, &inleft, &op, &outleft);
        } else {
            r = iconv(cd, NULL, NULL, &op, &outleft);
            flushed = 1;
        }
        e = errno;
        if (emit_utf8(o, (uint8_t *)tmp, sizeof tmp - outleft, err) == -1)
            return -1;
        if (r != (size_t)-1 || e == E2BIG)
            continue;
        if (emit_lost(o, err) == -1)
            return -1;
        if (e != EILSEQ) /* EINVAL: cut short at the end */
            inleft = 0;
        else if (inleft > 0) {
            in++;
            inleft--;
        }
    }
    return 0;
}

/* Decode ${n} bytes in charset ${label} into ${o}. */
static int
emit_charset(struct out *o, const char *label, const uint8_t *p, size_t n,
             struct cm_err *err)
{
    char name_buf[CHARSET_MAX + 1];
    const char *name = charset_name(label, name_buf);
    iconv_t cd;
    int rc;

    if (name != NULL && strcmp(name, "UTF-8") == 0)
        return emit_utf8(o, p, n, err);
    if (name == NULL || (cd = iconv_open("UTF-8", name)) == (iconv_t)-1)
        return emit_unknown(o, p, n, err);
    rc = convert_with(cd, o, p, n, err);
    iconv_close(cd);
    return rc;
}

/* An encoded-word "=?charset?enc?text?=" found in a header value. */
struct eword {
    size_t start, end; /* of the whole word */
    char charset[EWORD_CHARSET_MAX + 1];
    char enc; /* 'B' or 'Q' */
    size_t text, text_len;
};

static int
b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* The encoded text of a B word holds base64 characters and '=' only. */
static int
b64_text_ok(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '=' && b64_value(p[i]) < 0)
            return 0;
    return 1;
}

/* Is there a well-formed encoded-word at ${p}[${at}]?  Fills ${w}. */
static int
eword_at(const uint8_t *p, size_t n, size_t at, struct eword *w)
{
    size_t i = at + 2, cs = i, q;

    if (at + 2 > n || p[at] != '=' || p[at + 1] != '?')
        return 0;
    if (n - at > EWORD_MAX)
        n = at + EWORD_MAX;
    while (i < n && p[i] > ' ' && p[i] < 0x7f && p[i] != '?')
        i++;
    if (i == cs || i - cs >= sizeof w->charset || i + 3 > n || p[i] != '?' ||
        strchr("BbQq", p[i + 1]) == NULL || p[i + 2] != '?')
        return 0;
    memcpy(w->charset, p + cs, i - cs);
    w->charset[i - cs] = '\0';
    w->enc = (char)(p[i + 1] & ~0x20);
    q = i + 3;
    for (i = q; i < n && p[i] > ' ' && p[i] < 0x7f && p[i] != '?'; i++)
        ;
    if (i + 1 >= n || p[i] != '?' || p[i + 1] != '=')
        return 0;
    if (w->enc == 'B' && !b64_text_ok(p + q, i - q))
        return 0;
    w->start = at;
    w->end = i + 2;
    w->text = q;
    w->text_len = i - q;
    return 1;
}

/* The next encoded-word at or after ${from}; 0 if none. */
static int
eword_next(const uint8_t *p, size_t n, size_t from, struct eword *w)
{
    for (size_t i = from; i + 1 < n; i++)
        if (p[i] == '=' && p[i + 1] == '?' && eword_at(p, n, i, w))
            return 1;
    return 0;
}

static int
hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (uint8_t)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode the text of ${w} (B or Q) and append the bytes to ${run}. */
static int
eword_decode(const uint8_t *p, const struct eword *w, struct buf *run,
             struct cm_err *err)
{
    const uint8_t *t = p + w->text;
    uint32_t acc = 0;
    int bits = 0, hi, lo;
    uint8_t c;

    for (size_t i = 0; i < w->text_len; i++) {
        if (w->enc == 'B') {
            if (t[i] == '=')
                continue;
            acc = acc << 6 | (uint32_t)b64_value(t[i]);
            if ((bits += 6) < 8)
                continue;
            bits -= 8;
            c = (uint8_t)(acc >> bits);
        } else if (t[i] == '_') {
            c = ' ';
        } else if (t[i] == '=' && i + 2 < w->text_len &&
                   (hi = hex_value(t[i + 1])) >= 0 &&
                   (lo = hex_value(t[i + 2])) >= 0) {
            c = (uint8_t)(hi << 4 | lo);
            i += 2;
        } else {
            c = t[i];
        }
        if (buf_append_byte(run, c, "encoded-word", err) == -1)
            return -1;
    }
    return 0;
}

/* Same charset, ignoring case and an RFC 2231 language? */
static int
same_charset(const char *a, const char *b)
{
    size_t la = strcspn(a, "*"), lb = strcspn(b, "*");

    return la == lb && strncasecmp(a, b, la) == 0;
}

static int
all_space(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return 0;
    return 1;
}

/* How text outside encoded-words is read. */
enum raw_mode { RAW_UTF8, RAW_CP1252, RAW_JIS };

static int
emit_raw(struct out *o, enum raw_mode mode, const uint8_t *p, size_t n,
         struct cm_err *err)
{
    if (mode == RAW_UTF8)
        return emit_utf8(o, p, n, err);
    o->lossy = 1;
    if (mode == RAW_JIS)
        return emit_charset(o, "iso-2022-jp", p, n, err);
    return emit_cp1252(o, p, n, err);
}

/*
 * Text outside encoded-words is UTF-8 if all of it is valid UTF-8, else
 * windows-1252 (or ISO-2022-JP when it carries its escapes).
 */
static enum raw_mode
raw_mode_of(const uint8_t *p, size_t n)
{
    struct eword w;
    size_t pos = 0, end;
    int utf8 = 1, jis = 0;

    while (pos < n) {
        end = eword_next(p, n, pos, &w) ? w.start : n;
        utf8 = utf8 && is_valid_utf8(p + pos, end - pos);
        jis = jis || looks_iso2022jp(p + pos, end - pos);
        pos = end == n ? n : w.end;
    }
    if (jis && utf8)
        return RAW_JIS;
    return utf8 ? RAW_UTF8 : RAW_CP1252;
}

/* Flush a run of adjacent same-charset encoded-words. */
static int
flush_run(struct out *o, struct buf *run, const char *charset,
          struct cm_err *err)
{
    int rc = 0;

    if (run->len > 0)
        rc = emit_charset(o, charset, run->data, run->len, err);
    buf_reset(run);
    return rc;
}

/*
 * Decode a header value into ${o}: raw text as raw_mode_of() says, runs of
 * encoded-words through their charsets; the white space between two
 * encoded-words is dropped (RFC 2047 section 6.2).
 */
static int
decode_into(struct out *o, const uint8_t *p, size_t n, struct cm_err *err)
{
    enum raw_mode mode = raw_mode_of(p, n);
    char charset[EWORD_CHARSET_MAX + 1] = "";
    struct buf run;
    struct eword w;
    size_t pos = 0, end;
    int found, in_run = 0, rc = -1;

    buf_init(&run, MSGHDR_FIELD_MAX);
    while (pos < n) {
        found = eword_next(p, n, pos, &w);
        end = found ? w.start : n;
        if (!(in_run && found && all_space(p + pos, end - pos))) {
            if (flush_run(o, &run, charset, err) == -1 ||
                emit_raw(o, mode, p + pos, end - pos, err) == -1)
                goto out;
            in_run = 0;
        }
        if (!found)
            break;
        if (in_run && !same_charset(charset, w.charset) &&
            flush_run(o, &run, charset, err) == -1)
            goto out;
        memcpy(charset, w.charset, sizeof charset);
        if (eword_decode(p, &w, &run, err) == -1)
            goto out;
        in_run = 1;
        pos = w.end;
    }
    rc = flush_run(o, &run, charset, err);
out:
    buf_free(&run);
    return rc;
}

/* Cut ${n} to at most ${max}, backing off to a UTF-8 character start. */
static size_t
cut_len(const uint8_t *p, size_t n, size_t max)
{
    size_t cut = max;

    if (n <= max)
        return n;
    while (cut > max - 3 && cut > 0 && (p[cut] & 0xc0) == 0x80)
        cut--;
    return (p[cut] & 0xc0) == 0x80 ? max : cut;
}

/* Hand the text of ${o} out as a NUL-terminated string. */
static char *
out_take(struct out *o, struct cm_err *err)
{
    if (buf_cstr(&o->b, err) == NULL)
        return NULL;
    return (char *)buf_take(&o->b, NULL);
}

int
msghdr_decode(const uint8_t *in, size_t len, char **out, int *lossy,
              struct cm_err *err)
{
    struct out o = {{0}, 0, 0};
    char *s;

    buf_init(&o.b, MSGHDR_FIELD_MAX);
    if (decode_into(&o, in, cut_len(in, len, MSGHDR_FIELD_MAX), err) == -1 ||
        (s = out_take(&o, err)) == NULL) {
        buf_free(&o.b);
        return -1;
    }
    *out = s;
    *lossy = o.lossy;
    return 0;
}

/* Raw text as valid UTF-8 (Message-ID, Date): no encoded-words. */
static char *
raw_text(const uint8_t *p, size_t n, struct cm_err *err)
{
    struct out o = {{0}, 0, 0};
    char *s;

    buf_init(&o.b, MSGHDR_FIELD_MAX);
    if (emit_raw(&o, is_valid_utf8(p, n) ? RAW_UTF8 : RAW_CP1252, p, n, err) ==
            -1 ||
        (s = out_take(&o, err)) == NULL) {
        buf_free(&o.b);
        return NULL;
    }
    return s;
}

size_t
msghdr_block_end(const uint8_t *p, size_t len)
{
    size_t i = 0;
    const uint8_t *nl;

    while (i < len) {
        if (p[i] == '\n')
            return i + 1;
        if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
            return i + 2;
        nl = memchr(p + i, '\n', len - i);
        if (nl == NULL)
            return 0;
        i = (size_t)(nl - p) + 1;
    }
    return 0;
}

/* One header field: its name and its raw (folded) value bytes. */
struct field {
    const uint8_t *name, *value;
    size_t name_len, value_len;
};

static size_t
line_end(const uint8_t *p, size_t n, size_t at)
{
    const uint8_t *nl = memchr(p + at, '\n', n - at);

    return nl == NULL ? n : (size_t)(nl - p) + 1;
}

static int
is_blank_line(const uint8_t *p, size_t n, size_t at)
{
    return p[at] == '\n' || (p[at] == '\r' && at + 1 < n && p[at + 1] == '\n');
}

/* "name:" at the start of the line at ${at}?  The name has no spaces. */
static int
field_name(const uint8_t *p, size_t end, size_t at, struct field *f)
{
    size_t i = at, name_end;

    while (i < end && p[i] > ' ' && p[i] < 0x7f && p[i] != ':')
        i++;
    name_end = i;
    while (i < end && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (name_end == at || i >= end || p[i] != ':')
        return 0;
    f->name = p + at;
    f->name_len = name_end - at;
    f->value = p + i + 1;
    return 1;
}

/*
 * The next field of the header block from *${pos}; lines that are not
 * fields are skipped.  0 at the end of the block.
 */
static int
next_field(const uint8_t *p, size_t n, size_t *pos, struct field *f)
{
    size_t at = *pos, end;

    while (at < n && !is_blank_line(p, n, at)) {
        end = line_end(p, n, at);
        while (end < n && (p[end] == ' ' || p[end] == '\t'))
            end = line_end(p, n, end);
        if (p[at] != ' ' && p[at] != '\t' && field_name(p, end, at, f)) {
            f->value_len = (size_t)(p + end - f->value);
            *pos = end;
            return 1;
        }
        at = end;
    }
    *pos = at;
    return 0;
}

/*
 * Unfold a raw value (drop the line breaks, keep the white space after
 * them), trim white space, cut at MSGHDR_FIELD_MAX on a character boundary.
 * ${out} has room for UNFOLD_MAX bytes.
 */
static void
unfold(const struct field *f, uint8_t *out, size_t *out_len)
{
    const uint8_t *v = f->value;
    size_t n = 0, len = f->value_len;

    for (size_t i = 0; i < len && n < UNFOLD_MAX; i++) {
        if (v[i] == '\n' || (v[i] == '\r' && i + 1 < len && v[i + 1] == '\n'))
            continue;
        if (n == 0 && (v[i] == ' ' || v[i] == '\t'))
            continue;
        out[n++] = v[i];
    }
    n = cut_len(out, n, MSGHDR_FIELD_MAX);
    while (n > 0 &&
           (out[n - 1] == ' ' || out[n - 1] == '\t' || out[n - 1] == '\r'))
        n--;
    *out_len = n;
}

/* Decode an unstructured field, keeping the raw bytes if lossy. */
static int
decode_field(const uint8_t *v, size_t n, struct msghdr_field *f,
             struct cm_err *err)
{
    int lossy;

    if (msghdr_decode(v, n, &f->value, &lossy, err) == -1)
        return -1;
    if (lossy) {
        f->raw = cm_malloc(n, err);
        if (f->raw == NULL)
            return -1;
        memcpy(f->raw, v, n);
        f->raw_len = n;
    }
    return 0;
}

static int
name_is(const struct field *f, const char *name)
{
    return f->name_len == strlen(name) &&
           strncasecmp((const char *)f->name, name, f->name_len) == 0;
}

/* Fill the member of ${h} that ${f} is for, if it is the first one seen. */
static int
take_field(struct msghdr *h, const struct field *f, uint8_t *tmp,
           struct cm_err *err)
{
    size_t n;

    if (name_is(f, "message-id") && h->message_id == NULL) {
        unfold(f, tmp, &n);
        return (h->message_id = raw_text(tmp, n, err)) == NULL ? -1 : 0;
    }
    if (name_is(f, "date") && h->date_raw == NULL) {
        unfold(f, tmp, &n);
        h->has_date = when_parse_rfc5322((const char *)tmp, n, &h->date) == 0;
        return (h->date_raw = raw_text(tmp, n, err)) == NULL ? -1 : 0;
    }
    if (name_is(f, "from") && h->from.value == NULL) {
        unfold(f, tmp, &n);
        return decode_field(tmp, n, &h->from, err);
    }
    if (name_is(f, "subject") && h->subject.value == NULL) {
        unfold(f, tmp, &n);
        return decode_field(tmp, n, &h->subject, err);
    }
    return 0;
}

int
msghdr_parse(const uint8_t *p, size_t len, struct msghdr *h, struct cm_err *err)
{
    struct msghdr r;
    struct field f;
    uint8_t *tmp;
    size_t pos = 0, n = len < MSGHDR_SCAN_MAX ? len : MSGHDR_SCAN_MAX;
    int rc = -1;

    memset(&r, 0, sizeof r);
    if ((tmp = cm_malloc(UNFOLD_MAX, err)) == NULL)
        return -1;
    while (next_field(p, n, &pos, &f))
        if (take_field(&r, &f, tmp, err) == -1)
            goto out;
    *h = r;
    rc = 0;
out:
    if (rc == -1)
        msghdr_free(&r);
    free(tmp);
    return rc;
}

void
msghdr_free(struct msghdr *h)
{
    if (h == NULL)
        return;
    free(h->message_id);
    free(h->from.value);
    free(h->from.raw);
    free(h->subject.value);
    free(h->subject.raw);
    free(h->date_raw);
    memset(h, 0, sizeof *h);
}
