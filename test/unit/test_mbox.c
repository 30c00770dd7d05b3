/*
 * test_mbox: the mbox scanner on real mbox files (mimekit, mime4j) checked
 * against offsets established independently, and on hand-made files for
 * each variant, Content-Length case and edge; the result must not depend
 * on how the input is cut into chunks.
 */
#include "mbox.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/evp.h>

#include "buf.h"
#include "check.h"
#include "io.h"

#define MIMEKIT "/mail/mimekit/UnitTests/TestData/mbox/"
#define RLUG "/mail/mime4j/mbox/src/test/resources/test-1/mbox.rlug"

struct msg {
    uint64_t index, from_off, off, len;
    uint8_t sha256[32];
    char from[MBOX_FROM_LINE_MAX + 1];
    char subject[128];
};

struct scan {
    struct msg *m;
    size_t n;
    enum mbox_variant variant;
    long stop_at; /* make the callback fail at this index, or -1 */
};

struct src {
    const uint8_t *p;
    size_t len;
};

static const char *
testdata(void)
{
    const char *d = getenv("TESTDATA");

    return d != NULL ? d : "test/data";
}

static int
peek_buf(void *ctx, void *p, size_t len, uint64_t off, struct cm_err *err)
{
    const struct src *s = ctx;

    if (off > s->len || len > s->len - off)
        return cm_fail(err, CM_EFORMAT, "peek past the end");
    memcpy(p, s->p + off, len);
    return 0;
}

static int
collect(void *ctx, const struct mbox_message *m, struct cm_err *err)
{
    struct scan *s = ctx;
    struct msg *x;

    if (s->stop_at >= 0 && m->index == (uint64_t)s->stop_at)
        return cm_fail(err, CM_EIO, "stop here");
    x = realloc(s->m, (s->n + 1) * sizeof *s->m);
    if (x == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    s->m = x;
    x = &s->m[s->n++];
    x->index = m->index;
    x->from_off = m->from_off;
    x->off = m->off;
    x->len = m->len;
    memcpy(x->sha256, m->sha256, 32);
    snprintf(x->from, sizeof x->from, "%s", m->from_line);
    snprintf(x->subject, sizeof x->subject, "%s",
             m->hdr->subject.value ? m->hdr->subject.value : "");
    return 0;
}

/* Scan ${len} bytes fed ${chunk} at a time (0: all at once). */
static int
scan_buf(const uint8_t *p, size_t len, size_t chunk, struct scan *out,
         struct cm_err *err)
{
    struct src src = {p, len};
    struct mbox_scanner *s = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->stop_at = -1;
    if (chunk == 0)
        chunk = len > 0 ? len : 1;
    if (mbox_scanner_new(len, peek_buf, &src, collect, out, &s, err) == -1)
        return -1;
    for (size_t at = 0; at < len; at += chunk)
        if (mbox_scanner_feed(s, p + at, len - at < chunk ? len - at : chunk,
                              err) == -1)
            goto out;
    if (mbox_scanner_finish(s, err) == -1)
        goto out;
    out->variant = mbox_scanner_variant(s);
    rc = 0;
out:
    mbox_scanner_free(s);
    return rc;
}

static void
scan_free(struct scan *s)
{
    free(s->m);
    s->m = NULL;
    s->n = 0;
}

static int
same_scan(const struct scan *a, const struct scan *b)
{
    if (a->n != b->n || a->variant != b->variant)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->m[i].from_off != b->m[i].from_off ||
            a->m[i].off != b->m[i].off || a->m[i].len != b->m[i].len ||
            memcmp(a->m[i].sha256, b->m[i].sha256, 32) != 0 ||
            strcmp(a->m[i].from, b->m[i].from) != 0 ||
            strcmp(a->m[i].subject, b->m[i].subject) != 0)
            return 0;
    return 1;
}

/*
 * The messages tile the file: before the first From_ line nothing that
 * is a message, then From_ line, message, separator (an empty line or
 * nothing), From_ line, ...; the last message ends at the end of the file
 * or before a final empty line.  Each SHA-256 is that of its range.
 */
static void
check_tiling(const uint8_t *p, size_t len, const struct scan *s)
{
    uint8_t md[32];
    unsigned int mdlen;

    for (size_t i = 0; i < s->n; i++) {
        const struct msg *m = &s->m[i];
        uint64_t end = m->off + m->len,
                 next = i + 1 < s->n ? s->m[i + 1].from_off : len;
        size_t fl = strlen(m->from);

        CHECK_INT_EQ(m->index, i);
        CHECK(m->from_off + 5 <= m->off && m->off <= end && end <= next);
        CHECK(memcmp(p + m->from_off, "From ", 5) == 0);
        /* From_ line, its line end, then the message. */
        CHECK(m->off == m->from_off + fl + 1 ||
              m->off == m->from_off + fl + 2 || fl == MBOX_FROM_LINE_MAX ||
              m->off == len);
        CHECK(p[m->off - 1] == '\n' || m->off == len);
        /* Between the message and the next From_ line: "", "\n", "\r\n". */
        CHECK(next - end <= 2);
        if (next - end == 1)
            CHECK(p[end] == '\n');
        if (next - end == 2)
            CHECK(p[end] == '\r' && p[end + 1] == '\n');
        CHECK(EVP_Digest(p + m->off, m->len, md, &mdlen, EVP_sha256(), NULL) ==
              1);
        CHECK_MEM_EQ(md, m->sha256, 32);
    }
}

/* Scan in chunks of 1, 7, 4096 and whole: all give the same result. */
static void
scan_all_ways(const uint8_t *p, size_t len, struct scan *out)
{
    static const size_t chunks[] = {1, 7, 4096, 65536};
    struct cm_err err = CM_ERR_INIT;
    struct scan other;

    CHECK(scan_buf(p, len, 0, out, &err) == 0);
    check_tiling(p, len, out);
    for (size_t i = 0; i < CM_ARRAY_LEN(chunks); i++) {
        cm_err_clear(&err);
        CHECK(scan_buf(p, len, chunks[i], &other, &err) == 0);
        if (!same_scan(out, &other))
            fprintf(stderr, "chunk size %zu differs\n", chunks[i]);
        CHECK(same_scan(out, &other));
        scan_free(&other);
    }
}

static void
scan_str(const char *text, struct scan *out)
{
    scan_all_ways((const uint8_t *)text, strlen(text), out);
}

static int
load(const char *rel, struct buf *b)
{
    struct cm_err err = CM_ERR_INIT;
    char path[1024];

    snprintf(path, sizeof path, "%s%s", testdata(), rel);
    buf_init(b, 1 << 24);
    if (io_read_file(path, 1 << 24, b, &err) == -1) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(0);
        return -1;
    }
    return 0;
}

/* Count "From " at the start of the file and after "\n" (an upper bound). */
static size_t
count_from_lines(const uint8_t *p, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i + 5 <= len; i++)
        if ((i == 0 || p[i - 1] == '\n') && memcmp(p + i, "From ", 5) == 0)
            n++;
    return n;
}

/*
 * Compare with MimeKit's offsets (JSON): the same From_ lines and message
 * starts.  MimeKit ends a message one byte early when no empty line comes
 * before the next From_ line (it drops the message's last newline); we
 * keep it.
 */
static void
check_mimekit_offsets(const char *json_rel, const struct buf *b,
                      const struct scan *s)
{
    char path[1024];
    json_error_t jerr;
    json_t *a, *o;
    size_t i;

    snprintf(path, sizeof path, "%s%s", testdata(), json_rel);
    a = json_load_file(path, 0, &jerr);
    CHECK(a != NULL && json_is_array(a));
    if (a == NULL)
        return;
    CHECK_INT_EQ(json_array_size(a), s->n);
    json_array_foreach(a, i, o)
    {
        json_int_t marker, begin, end;
        uint64_t our_end;

        if (i >= s->n)
            break;
        marker = json_integer_value(json_object_get(o, "mboxMarkerOffset"));
        begin = json_integer_value(json_object_get(o, "beginOffset"));
        end = json_integer_value(json_object_get(o, "endOffset"));
        our_end = s->m[i].off + s->m[i].len;
        CHECK_INT_EQ(s->m[i].from_off, marker);
        CHECK_INT_EQ(s->m[i].off, begin);
        if (i + 1 < s->n && s->m[i + 1].from_off == our_end)
            CHECK(our_end == (uint64_t)end + 1 && b->data[end] == '\n');
        else
            CHECK_INT_EQ(our_end, end);
    }
    json_decref(a);
}

static void
test_mimekit(void)
{
    struct scan s;
    struct buf b;

    if (load(MIMEKIT "content-length.mbox.txt", &b) == 0) {
        scan_all_ways(b.data, b.len, &s);
        CHECK_INT_EQ(s.n, 29);
        CHECK_INT_EQ(count_from_lines(b.data, b.len), 29);
        check_mimekit_offsets(MIMEKIT "content-length.unix-offsets.json", &b,
                              &s);
        /* Some Content-Lengths lie (the first three), so: not mboxcl. */
        CHECK_INT_EQ(s.variant, MBOX_MBOXO);
        CHECK_STR_EQ(s.m[0].from, "From - ");
        CHECK_STR_EQ(s.m[3].from, "From - Mon Jun  3 12:50:27 1996");
        CHECK_STR_EQ(s.m[0].subject, "Re: mailusr1@navstar1 3.0b6gold #1");
        scan_free(&s);
    }
    buf_free(&b);
    if (load(MIMEKIT "issue1189.mbox.txt", &b) == 0) {
        scan_all_ways(b.data, b.len, &s);
        CHECK_INT_EQ(s.n, 4);
        check_mimekit_offsets(MIMEKIT "issue1189.unix-offsets.json", &b, &s);
        CHECK_STR_EQ(s.m[3].subject, "Message 4");
        CHECK_STR_EQ(s.m[1].from, "From 1844347839636459560@xxx");
        scan_free(&s);
    }
    buf_free(&b);
    /* Three "From - " lines, none after an empty line (counted by hand). */
    if (load(MIMEKIT "simple.mbox.txt", &b) == 0) {
        scan_all_ways(b.data, b.len, &s);
        CHECK_INT_EQ(s.n, 3);
        CHECK_INT_EQ(s.m[1].from_off, 526);
        CHECK_INT_EQ(s.m[2].from_off, 1029);
        scan_free(&s);
    }
    buf_free(&b);
    /* A BOM, and "From Russia with love" in bodies: two messages. */
    if (load(MIMEKIT "unmunged.mbox.txt", &b) == 0) {
        scan_all_ways(b.data, b.len, &s);
        CHECK_INT_EQ(s.n, 2);
        CHECK_INT_EQ(s.m[0].from_off, 3);
        CHECK_STR_EQ(s.m[0].from, "From -");
        CHECK_INT_EQ(s.m[1].from_off, 245);
        CHECK_INT_EQ(s.m[1].off + s.m[1].len, b.len);
        CHECK(mbox_sniff(b.data, b.len));
        scan_free(&s);
    }
    buf_free(&b);
}

/* mime4j split mbox.rlug into mbox.rlug-N: each message and a newline. */
static void
test_mime4j(void)
{
    struct buf b, part;
    struct scan s;
    char rel[256];

    if (load(RLUG, &b) != 0) {
        buf_free(&b);
        return;
    }
    scan_all_ways(b.data, b.len, &s);
    CHECK_INT_EQ(s.n, 5);
    CHECK_INT_EQ(count_from_lines(b.data, b.len), 5);
    CHECK_INT_EQ(s.variant, MBOX_MBOXO);
    for (size_t i = 0; i < s.n && i < 5; i++) {
        snprintf(rel, sizeof rel, RLUG "-%zu", i);
        if (load(rel, &part) == 0) {
            CHECK_INT_EQ(part.len, s.m[i].len + 1);
            CHECK(part.len == s.m[i].len + 1 &&
                  memcmp(part.data, b.data + s.m[i].off, s.m[i].len) == 0 &&
                  part.data[s.m[i].len] == '\n');
        }
        buf_free(&part);
    }
    CHECK_STR_EQ(s.m[0].from, "From news@gmane.org Tue Mar 04 03:33:20 2003");
    scan_free(&s);
    buf_free(&b);
}

#define F1 "From alice@example.org Mon Jan  1 00:00:00 2001\n"
#define F2 "From bob@example.org Tue Jan  2 00:00:00 2001\n"
#define F3 "From carol@example.org Wed Jan  3 00:00:00 2001\n"

static void
test_edges(void)
{
    struct scan s;

    scan_str("", &s);
    CHECK_INT_EQ(s.n, 0);
    CHECK_INT_EQ(s.variant, MBOX_MBOXO);
    scan_free(&s);

    /* No separator at all: no message. */
    scan_str("Subject: hi\n\nFrom me to you\n", &s);
    CHECK_INT_EQ(s.n, 0);
    scan_free(&s);

    /* One message without a final newline. */
    scan_str(F1 "Subject: one\n\nbody", &s);
    CHECK_INT_EQ(s.n, 1);
    CHECK_INT_EQ(s.m[0].off, strlen(F1));
    CHECK_INT_EQ(s.m[0].len, strlen("Subject: one\n\nbody"));
    CHECK_STR_EQ(s.m[0].subject, "one");
    scan_free(&s);

    /* A final empty line is the separator's, as between messages. */
    scan_str(F1 "Subject: one\n\nbody\n\n" F2 "Subject: two\n\nbody\n\n", &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_INT_EQ(s.m[0].len, strlen("Subject: one\n\nbody\n"));
    CHECK_INT_EQ(s.m[1].len, strlen("Subject: two\n\nbody\n"));
    scan_free(&s);

    /* Empty messages, and a From_ line at the very end. */
    scan_str(F1 "\n" F2 "\n" F3, &s);
    CHECK_INT_EQ(s.n, 3);
    CHECK(s.n == 3 && s.m[0].len == 0 && s.m[1].len == 0 && s.m[2].len == 0 &&
          s.m[2].off == strlen(F1 "\n" F2 "\n" F3));
    scan_free(&s);
    scan_str(F1 "\n"
                "From x@y",
             &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_STR_EQ(s.n == 2 ? s.m[1].from : "", "From x@y");
    scan_free(&s);

    /* CRLF line ends throughout. */
    scan_str("From a@b Mon Jan  1 00:00:00 2001\r\nSubject: one\r\n\r\nx\r\n"
             "\r\nFrom c@d Mon Jan  1 00:00:00 2001\r\nSubject: two\r\n\r\n"
             "y\r\n",
             &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_STR_EQ(s.m[0].from, "From a@b Mon Jan  1 00:00:00 2001");
    CHECK_INT_EQ(s.m[0].len, strlen("Subject: one\r\n\r\nx\r\n"));
    CHECK_STR_EQ(s.m[1].subject, "two");
    scan_free(&s);
}

static void
test_separators(void)
{
    struct scan s;

    /* Lines that look like separators but are not. */
    scan_str(F1 "Subject: s\n\nFrom Russia with love\n\nFrom \n\nFrom  x\n\n"
                "From nobody\n\nFrom nobody at 12:00\n\ntext\n" F2 "hello\n",
             &s);
    CHECK_INT_EQ(s.n, 1);
    scan_free(&s);
    /* Without an empty line before, a From_ line needs a header after. */
    scan_str(F1 "Subject: s\n\nno blank line before:\n" F2 "Subject: t\n", &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_STR_EQ(s.n == 2 ? s.m[1].subject : "", "t");
    scan_free(&s);
    scan_str(F1 "\nFrom -\n\nFrom MAILER-DAEMON Fri Jul  8 12:08:34 2011\n"
                "\nFrom a@b\n\nFrom \"quoted name\"@x Mon Jan  1 00:00:00 2001"
                "\n",
             &s);
    CHECK_INT_EQ(s.n, 5);
    scan_free(&s);

    /* A BOM, then an empty line: text before the first From_ line. */
    scan_str("\xef\xbb\xbf\n" F1 "Subject: x\n", &s);
    CHECK_INT_EQ(s.n, 1);
    CHECK_INT_EQ(s.n == 1 ? s.m[0].from_off : 0, 4);
    scan_free(&s);
    scan_str("\xef\xbb\xbf" F1 "Subject: x\n", &s);
    CHECK_INT_EQ(s.n == 1 ? s.m[0].from_off : 0, 3);
    scan_free(&s);

    /* Text before the first From_ line belongs to no message. */
    scan_str("preamble\n\n" F1 "Subject: x\n", &s);
    CHECK_INT_EQ(s.n, 1);
    CHECK_INT_EQ(s.m[0].from_off, 10);
    scan_free(&s);

    /* A From_ line longer than MBOX_FROM_LINE_MAX is cut, still one. */
    {
        char big[3000];
        memcpy(big, "From a@b ", 9);
        memset(big + 9, 'x', 2000);
        snprintf(big + 2009, sizeof big - 2009, "\nSubject: long\n\nz\n");
        scan_str(big, &s);
        CHECK_INT_EQ(s.n, 1);
        CHECK_INT_EQ(strlen(s.m[0].from), MBOX_FROM_LINE_MAX);
        CHECK_INT_EQ(s.m[0].off, 2010);
        CHECK_STR_EQ(s.m[0].subject, "long");
        scan_free(&s);
    }

    /* Non-ASCII in a From_ line is shown as '?'. */
    scan_str("From \xc3\xa9@x Mon Jan  1 00:00:00 2001\n\n", &s);
    CHECK_STR_EQ(s.n == 1 ? s.m[0].from : "",
                 "From ??@x Mon Jan  1 00:00:00 2001");
    scan_free(&s);
}

static void
test_stops(void)
{
    struct cm_err err = CM_ERR_INIT;

    /* The callback stops the scan; feeding more then fails. */
    {
        const char *t = F1 "\n" F2 "\n" F3;
        struct mbox_scanner *sc;
        struct scan got = {NULL, 0, MBOX_MBOXO, 1};
        CHECK(mbox_scanner_new(strlen(t), NULL, NULL, collect, &got, &sc,
                               &err) == 0);
        CHECK(mbox_scanner_feed(sc, (const uint8_t *)t, strlen(t), &err) == -1);
        CHECK_STR_HAS(err.msg, "stop here");
        CHECK_INT_EQ(got.n, 1);
        cm_err_clear(&err);
        CHECK(mbox_scanner_finish(sc, &err) == -1);
        mbox_scanner_free(sc);
        scan_free(&got);
    }
    /* More or fewer bytes than announced. */
    {
        struct mbox_scanner *sc;
        struct scan got = {NULL, 0, MBOX_MBOXO, -1};
        cm_err_clear(&err);
        CHECK(mbox_scanner_new(3, NULL, NULL, collect, &got, &sc, &err) == 0);
        CHECK(mbox_scanner_feed(sc, (const uint8_t *)"From", 4, &err) == -1);
        CHECK_INT_EQ(err.code, CM_EFORMAT);
        mbox_scanner_free(sc);
        cm_err_clear(&err);
        CHECK(mbox_scanner_new(9, NULL, NULL, collect, &got, &sc, &err) == 0);
        CHECK(mbox_scanner_feed(sc, (const uint8_t *)"From", 4, &err) == 0);
        CHECK(mbox_scanner_finish(sc, &err) == -1);
        CHECK_INT_EQ(err.code, CM_EFORMAT);
        mbox_scanner_free(sc);
        scan_free(&got);
    }
    mbox_scanner_free(NULL);
}

static void
test_variants(void)
{
    struct scan s;

    scan_str(F1 "Subject: a\n\n>From the start\n\n" F2 "Subject: b\n\nx\n", &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_INT_EQ(s.variant, MBOX_MBOXO);
    scan_free(&s);

    scan_str(F1 "Subject: a\n\n>From the start\n>>From quoted\n\n" F2 "x\n",
             &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_INT_EQ(s.variant, MBOX_MBOXRD);
    scan_free(&s);

    /* mboxcl2: exact Content-Lengths and unquoted "From " in bodies. */
    {
        static const char b1[] = "body\n\nFrom here on, all is body\nend\n";
        static const char b2[] = "From x\n";
        char t[1024];
        snprintf(t, sizeof t,
                 F1 "Subject: a\nContent-Length: %zu\n\n%s\n" F2
                    "Content-Length: %zu\n\n%s\n" F3
                    "Subject: c\ncontent-length:  0 \n\n",
                 strlen(b1), b1, strlen(b2), b2);
        scan_str(t, &s);
        CHECK_INT_EQ(s.n, 3);
        CHECK_INT_EQ(s.variant, MBOX_MBOXCL2);
        CHECK_INT_EQ(s.m[0].len,
                     strlen("Subject: a\nContent-Length: 36\n\n") + strlen(b1));
        CHECK_INT_EQ(s.m[1].len, strlen("Content-Length: 7\n\n") + 7);
        scan_free(&s);

        /* mboxcl: exact Content-Lengths and ">From " quoting. */
        snprintf(t, sizeof t,
                 F1 "Content-Length: %zu\n\n>From the start\nbody\n\n" F2
                    "Content-Length: 2\n\nx\n",
                 strlen(">From the start\nbody\n"));
        scan_str(t, &s);
        CHECK_INT_EQ(s.n, 2);
        CHECK_INT_EQ(s.variant, MBOX_MBOXCL);
        scan_free(&s);
    }

    /* Content-Length straight before a From_ line, no empty line. */
    scan_str(F1 "Content-Length: 2\n\nx\n" F2 "Content-Length: 2\n\ny\n", &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_INT_EQ(s.variant, MBOX_MBOXCL2);
    scan_free(&s);

    /* CRLF with Content-Length. */
    scan_str("From a@b Mon Jan  1 00:00:00 2001\r\nContent-Length: 15\r\n\r\n"
             "From inside\r\n\r\n\r\n"
             "From c@d Mon Jan  1 00:00:00 2001\r\nContent-Length: 3\r\n\r\n"
             "y\r\n",
             &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_INT_EQ(s.variant, MBOX_MBOXCL2);
    scan_free(&s);
}

static void
test_lying_content_length(void)
{
    struct scan s;

    /* Too long: it points into the next message's headers. */
    scan_str(F1 "Content-Length: 30\n\nbody\n\n" F2 "Subject: second\n\nx\n",
             &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_INT_EQ(s.variant, MBOX_MBOXO);
    CHECK_STR_EQ(s.n == 2 ? s.m[1].subject : "", "second");
    scan_free(&s);
    /* Too short: mid-body. */
    scan_str(F1 "Content-Length: 3\n\nbody\n\n" F2 "x\n", &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_INT_EQ(s.m[0].len, strlen("Content-Length: 3\n\nbody\n"));
    scan_free(&s);
    /* Past the end of the file, absurdly large, not a number. */
    scan_str(F1 "Content-Length: 1000\n\nbody\n\n" F2 "x\n", &s);
    CHECK_INT_EQ(s.n, 2);
    scan_free(&s);
    scan_str(F1 "Content-Length: 99999999999999999999999\n\nbody\n\n" F2 "x\n",
             &s);
    CHECK_INT_EQ(s.n, 2);
    scan_free(&s);
    scan_str(F1 "Content-Length: -5\n\nbody\n\n" F2 "Content-Length: 2x\n\n"
                "x\n",
             &s);
    CHECK_INT_EQ(s.n, 2);
    scan_free(&s);
    /* Pointing exactly at a From_ line inside the same message's body is
     * trusted: it is a separator there either way. */
    scan_str(F1 "Content-Length: 0\n\n" F2 "x\n", &s);
    CHECK_INT_EQ(s.n, 2);
    scan_free(&s);
    /* Valid for one message, not the other: not mboxcl2. */
    scan_str(F1 "Content-Length: 5\n\nbody\n\n" F2 "Content-Length: 9\n\nx\n",
             &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_INT_EQ(s.variant, MBOX_MBOXO);
    scan_free(&s);
}

static int
feed_repeated(struct mbox_scanner *s, uint8_t c, size_t total, EVP_MD_CTX *md,
              struct cm_err *err)
{
    uint8_t chunk[65536];

    memset(chunk, c, sizeof chunk);
    for (size_t done = 0; done < total; done += sizeof chunk) {
        size_t n = total - done < sizeof chunk ? total - done : sizeof chunk;
        if (md != NULL)
            EVP_DigestUpdate(md, chunk, n);
        if (mbox_scanner_feed(s, chunk, n, err) == -1)
            return -1;
    }
    return 0;
}

static long
max_rss_kb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A 100 MB line without a newline, then a 100 MB From_ line: streamed. */
static void
test_huge_lines(void)
{
    static const char head[] = F1 "Subject: big\n\n";
    static const char mid[] = "\n\nFrom a@b ";
    const size_t huge = 100u << 20;
    struct cm_err err = CM_ERR_INIT;
    struct mbox_scanner *s = NULL;
    struct scan got = {NULL, 0, MBOX_MBOXO, -1};
    uint64_t size = strlen(head) + huge + strlen(mid) + huge;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t want[32];
    long rss = max_rss_kb();

    CHECK(mbox_scanner_new(size, NULL, NULL, collect, &got, &s, &err) == 0);
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, "Subject: big\n\n", 14);
    CHECK(mbox_scanner_feed(s, (const uint8_t *)head, strlen(head), &err) == 0);
    CHECK(feed_repeated(s, 'x', huge, md, &err) == 0);
    EVP_DigestUpdate(md, "\n", 1);
    CHECK(mbox_scanner_feed(s, (const uint8_t *)mid, strlen(mid), &err) == 0);
    CHECK(feed_repeated(s, 'y', huge, NULL, &err) == 0);
    CHECK(mbox_scanner_finish(s, &err) == 0);
    EVP_DigestFinal_ex(md, want, NULL);
    CHECK_INT_EQ(got.n, 2);
    if (got.n == 2) {
        CHECK_INT_EQ(got.m[0].len, 14 + huge + 1);
        CHECK_MEM_EQ(got.m[0].sha256, want, 32);
        CHECK_INT_EQ(strlen(got.m[1].from), MBOX_FROM_LINE_MAX);
        CHECK_INT_EQ(got.m[1].off, size);
        CHECK_INT_EQ(got.m[1].len, 0);
    }
    /* Memory did not grow with the line (generous: sanitizers). */
    CHECK(max_rss_kb() - rss < 32 * 1024);
    mbox_scanner_free(s);
    EVP_MD_CTX_free(md);
    scan_free(&got);
}

static void
test_sniff(void)
{
    CHECK(mbox_sniff((const uint8_t *)F1 "Subject: x\n", strlen(F1) + 11));
    CHECK(mbox_sniff((const uint8_t *)F1 "\n", strlen(F1) + 1));
    CHECK(mbox_sniff((const uint8_t *)F1, strlen(F1)));
    CHECK(mbox_sniff((const uint8_t *)"From - \r\nX: y\r\n", 15));
    CHECK(mbox_sniff((const uint8_t *)"From a@b", 8));
    CHECK(!mbox_sniff((const uint8_t *)F1 "not a header\n", strlen(F1) + 13));
    CHECK(!mbox_sniff((const uint8_t *)"From: a@b\n", 10));
    CHECK(!mbox_sniff((const uint8_t *)"Return-Path: <a@b>\n", 19));
    CHECK(!mbox_sniff((const uint8_t *)"From Russia with love\n", 22));
    CHECK(!mbox_sniff((const uint8_t *)"", 0));
    CHECK(!mbox_sniff((const uint8_t *)"\xef\xbb", 2));
    CHECK(!mbox_sniff((const uint8_t *)"3 V1700000000 N1 G123\n", 22));
}

static int
sink_buf(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    return buf_append(ctx, p, len, "sink", err);
}

static int
sink_fail(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    (void)ctx, (void)p, (void)len;
    return cm_fail(err, CM_ENOSPC, "full");
}

static void
test_quote_rd(void)
{
    static const char in[] = "From x\n>From y\nFrom\nabc From\n>>From z";
    static const char out[] = ">From x\n>>From y\nFrom\nabc From\n>>>From z";
    struct cm_err err = CM_ERR_INIT;
    struct buf b, mb;
    struct scan s;

    buf_init(&b, 1024);
    CHECK(mbox_write_quoted_rd((const uint8_t *)in, strlen(in), sink_buf, &b,
                               &err) == 0);
    CHECK_INT_EQ(b.len, strlen(out));
    CHECK(b.len == strlen(out) && memcmp(b.data, out, b.len) == 0);
    CHECK(mbox_write_quoted_rd((const uint8_t *)in, strlen(in), sink_fail, NULL,
                               &err) == -1);
    CHECK_INT_EQ(err.code, CM_ENOSPC);
    /* Quoted and wrapped in an mbox, it scans back as one mboxrd message. */
    buf_init(&mb, 4096);
    buf_append_str(&mb, F1, "mbox", &err);
    buf_append(&mb, b.data, b.len, "mbox", &err);
    buf_append_str(&mb, "\n\n" F2 "\n", "mbox", &err);
    scan_all_ways(mb.data, mb.len, &s);
    CHECK_INT_EQ(s.n, 2);
    CHECK_INT_EQ(s.m[0].len, b.len + 1);
    CHECK_INT_EQ(s.variant, MBOX_MBOXRD);
    scan_free(&s);
    buf_reset(&b);
    CHECK(mbox_write_quoted_rd((const uint8_t *)"", 0, sink_buf, &b, &err) ==
          0);
    CHECK_INT_EQ(b.len, 0);
    buf_free(&mb);
    buf_free(&b);
    CHECK_STR_EQ(mbox_variant_name(MBOX_MBOXCL2), "mboxcl2");
    CHECK_STR_EQ(mbox_variant_name(MBOX_MBOXRD), "mboxrd");
}

int
main(void)
{
    test_mimekit();
    test_mime4j();
    test_edges();
    test_separators();
    test_stops();
    test_variants();
    test_lying_content_length();
    test_sniff();
    test_quote_rd();
    test_huge_lines();
    return check_report();
}
