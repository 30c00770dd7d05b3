/*
 * test_msghdr: header fields and RFC 2047 decoding on hand-made values and
 * on the real messages of test/data/mail, and RFC 5322 dates.
 */
#include "msghdr.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "io.h"
#include "when.h"

#define MIKEL "/mail/mikel-mail/spec/fixtures/emails/"

static const char *
testdata(void)
{
    const char *d = getenv("TESTDATA");

    return d != NULL ? d : "test/data";
}

/* Strictly valid UTF-8 without NUL or control characters but tab. */
static int
clean_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != '\0') {
        unsigned c = *p, n, cp, min;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return 0;
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp < 0xa0))
            return 0;
        p += n + 1;
    }
    return 1;
}

/* Decode ${in}; check the result and the lossy mark. */
static void
check_decode(const char *in, const char *want, int want_lossy, int line)
{
    struct cm_err err = CM_ERR_INIT;
    char *out = NULL;
    int lossy = -1;

    if (msghdr_decode((const uint8_t *)in, strlen(in), &out, &lossy, &err) ==
        -1) {
        fprintf(stderr, "line %d: decode failed: %s\n", line, err.msg);
        CHECK(0);
        return;
    }
    if (strcmp(out, want) != 0 || lossy != want_lossy)
        fprintf(stderr, "line %d: \"%s\" lossy %d\n", line, out, lossy);
    CHECK_STR_EQ(out, want);
    CHECK_INT_EQ(lossy, want_lossy);
    CHECK(clean_utf8(out));
    free(out);
}

#define DECODE(in, want, lossy) check_decode(in, want, lossy, __LINE__)

static void
test_encoded_words(void)
{
    DECODE("plain text", "plain text", 0);
    DECODE("=?UTF-8?B?44G+44G/44KA44KB44KC?=", "まみむめも", 0);
    DECODE("=?ISO-8859-1?Q?Nicolas_Fouch=E9?= has joined",
           "Nicolas Fouché has joined", 0);
    DECODE("=?utf-8?q?a?= =?utf-8?q?b?=", "ab", 0);
    DECODE("=?utf-8?q?a?=\t  =?UTF-8?Q?b?=", "ab", 0);
    DECODE("=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b", 0);
    DECODE("=?utf-8?q?a?==?utf-8?q?b?=", "ab", 0);
    DECODE("Re: Test: =?UTF-8?B?Iua8ouWtlyI=?= mid", "Re: Test: \"漢字\" mid",
           0);
    /* A character split across two words (spamassassin unicode1). */
    DECODE("=?iso-8859-2*sl?Q?Doma=e8e?= =?utf-8*sl?Q?_omre=C5?=     "
           "=?Utf-8*SL?q?=BEje?=",
           "Domače omrežje", 0);
    DECODE("=?Windows-1252?B?Rm9ybWHn428gRnJlbmV0aWtwb2xpcw==?=",
           "Formação Frenetikpolis", 0);
    DECODE("=?koi8-r?B?8NLJ18XU?=", "Привет", 0);
    DECODE("=?shift_jis?Q?=83e=83X=83g?=", "テスト", 0);
    DECODE("=?ISO-2022-JP?B?GyRCRnxLXDhsJWEhPCVrJUYlOSVIGyhCICh0ZXN0aW5nIEph?="
           "\r\n =?ISO-2022-JP?B?cGFuZXNlIGVtYWlscyk=?=",
           "日本語メールテスト (testing Japanese emails)", 0);
    DECODE("=?EUC-KR?Q?NOTE:_=C7=D1=B1=B9=B8=BB=B7=CE_=C7=CF=B4=C2_=B0=CD?=",
           "NOTE: 한국말로 하는 것", 0);
    DECODE("=?ks_c_5601-1987?Q?=C7=D1=B1=B9?=", "한국", 0);
    DECODE("RE: =?GB2312?Q?=D7=B0=D3=B2=B5=FA=CE=CA=CC=E2?=", "RE: 装硬碟问题",
           0);
    DECODE("=?gbk?Q?=D7=B0?=", "装", 0);
    DECODE("=?UTF-16?B?//492Enc?= test", "👉 test", 0);
    /* Inside quotes, as many mailers write it. */
    DECODE("\"=?utf-8?Q?J=C3=B6rg?=\" <j@example.org>",
           "\"Jörg\" <j@example.org>", 0);
    /* Not encoded-words: kept as they are. */
    DECODE("=?utf-8?B?a*b?=", "=?utf-8?B?a*b?=", 0);
    DECODE("=?utf-8?X?abc?=", "=?utf-8?X?abc?=", 0);
    DECODE("=?utf-8?Q?no end", "=?utf-8?Q?no end", 0);
    DECODE("=??Q?x?=", "=??Q?x?=", 0);
    /* Unknown charsets and bad bytes are lossy. */
    DECODE("=?NONE?B?VEVTVA=?=", "TEST", 1);
    DECODE("=?x-unheard-of?Q?caf=E9?=", "caf\xef\xbf\xbd", 1);
    DECODE("=?utf-8?Q?=C0=AF?=", "\xef\xbf\xbd\xef\xbf\xbd", 1);
    DECODE("=?utf-8?Q?=ED=A0=80?=", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 1);
    DECODE("=?utf-8?Q?=E2=82x?=", "\xef\xbf\xbdx", 1);
    DECODE("=?utf-8?Q?=F0=9F=91?=", "\xef\xbf\xbd", 1);
    DECODE("=?utf-8?Q?=F4=90=80=80?=",
           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 1);
    DECODE("=?utf-8?Q?a=00b?=",
           "a\xef\xbf\xbd"
           "b",
           1);
    DECODE("=?utf-8?Q?a=C2=85b?=",
           "a\xef\xbf\xbd"
           "b",
           1);
    DECODE("=?utf-8?Q?=E2=82?=", "\xef\xbf\xbd", 1);
    DECODE("=?shift_jis?Q?=83?=", "\xef\xbf\xbd", 1);
    DECODE("=?charset/with/slash?Q?x?=", "x", 1);
}

static void
test_raw_bytes(void)
{
    DECODE("S\xc3\xa4ying Hello", "Säying Hello", 0);
    DECODE("tab\there", "tab\there", 0);
    DECODE("Forma\xe7\xe3o", "Formação", 1);
    DECODE("caf\xe9 =?utf-8?Q?=C3=A9?=", "café é", 1);
    DECODE("price \x80 5", "price € 5", 1);
    DECODE("undefined \x81", "undefined \xef\xbf\xbd", 1);
    DECODE("overlong \xc0\xaf", "overlong À¯", 1);
    DECODE("surrogate \xed\xa0\x80", "surrogate í\xc2\xa0€", 1);
    DECODE("a\x01"
           "b\x7f"
           "c",
           "a\xef\xbf\xbd"
           "b\xef\xbf\xbd"
           "c",
           1);
    DECODE("bare\rcr",
           "bare\xef\xbf\xbd"
           "cr",
           1);
    DECODE("\x1b$BF|K\\\x1b(B", "日本", 1);
}

static void
test_decode_bounds(void)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t *big = malloc(3 * MSGHDR_FIELD_MAX);
    char *out = NULL;
    int lossy;

    memset(big, 'a', 3 * MSGHDR_FIELD_MAX);
    CHECK(msghdr_decode(big, 3 * MSGHDR_FIELD_MAX, &out, &lossy, &err) == 0);
    CHECK_INT_EQ(strlen(out), MSGHDR_FIELD_MAX);
    free(out);
    /* Two-byte characters: the cut falls on a character boundary. */
    for (size_t i = 0; i + 1 < 3 * MSGHDR_FIELD_MAX; i += 2)
        big[i] = 0xc3, big[i + 1] = 0xa9;
    big[0] = 'x';
    CHECK(msghdr_decode(big, 3 * MSGHDR_FIELD_MAX, &out, &lossy, &err) == 0);
    CHECK(strlen(out) <= MSGHDR_FIELD_MAX);
    CHECK(strlen(out) >= MSGHDR_FIELD_MAX - 3);
    CHECK(clean_utf8(out));
    free(out);
    /* Latin-1 doubles in size: the output is still cut. */
    memset(big, 0xe9, 3 * MSGHDR_FIELD_MAX);
    CHECK(msghdr_decode(big, 3 * MSGHDR_FIELD_MAX, &out, &lossy, &err) == 0);
    CHECK_INT_EQ(strlen(out), MSGHDR_FIELD_MAX);
    CHECK(lossy);
    CHECK(clean_utf8(out));
    free(out);
    CHECK(msghdr_decode((const uint8_t *)"", 0, &out, &lossy, &err) == 0);
    CHECK_STR_EQ(out, "");
    free(out);
    free(big);
}

static void
parse_str(const char *text, struct msghdr *h)
{
    struct cm_err err = CM_ERR_INIT;

    CHECK(msghdr_parse((const uint8_t *)text, strlen(text), h, &err) == 0);
}

static void
test_parse_basic(void)
{
    struct msghdr h;

    parse_str("Received: from x\r\n\tby y\r\n"
              "SUBJECT: first\r\n"
              "subject: second\r\n"
              "Message-Id:\r\n <abc@example.org>  \r\n"
              "From: =?utf-8?Q?J=C3=B6rg?= <j@example.org>\r\n"
              "Date: Tue, 1 Jul 2003\r\n 10:52:37 +0200\r\n"
              "\r\n"
              "Subject: in the body\r\n",
              &h);
    CHECK_STR_EQ(h.subject.value, "first");
    CHECK(h.subject.raw == NULL);
    CHECK_STR_EQ(h.message_id, "<abc@example.org>");
    CHECK_STR_EQ(h.from.value, "Jörg <j@example.org>");
    CHECK_STR_EQ(h.date_raw, "Tue, 1 Jul 2003 10:52:37 +0200");
    CHECK(h.has_date);
    CHECK_INT_EQ(h.date, 1057049557);
    msghdr_free(&h);
    msghdr_free(&h); /* twice is harmless: the first cleared it */

    parse_str("Subject: a\n b\n\tc  \nX: y\n", &h);
    CHECK_STR_EQ(h.subject.value, "a b\tc");
    CHECK(h.from.value == NULL && h.message_id == NULL);
    CHECK(h.date_raw == NULL && !h.has_date);
    msghdr_free(&h);

    /* Empty header block, a body only, no header at all. */
    parse_str("\nSubject: body\n", &h);
    CHECK(h.subject.value == NULL);
    msghdr_free(&h);
    parse_str("", &h);
    CHECK(h.subject.value == NULL);
    msghdr_free(&h);

    /* Lines that are not fields are skipped; "Subject :" is obsolete. */
    parse_str("From someone Mon Jan  1 00:00:00 2001\n"
              "garbage line\n continued\nSubject : obs\nDate: junk\n",
              &h);
    CHECK_STR_EQ(h.subject.value, "obs");
    CHECK_STR_EQ(h.date_raw, "junk");
    CHECK(!h.has_date);
    msghdr_free(&h);

    /* A lossy value keeps its raw unfolded bytes. */
    parse_str("Subject: caf\xe9\r\n au lait\r\n\r\n", &h);
    CHECK_STR_EQ(h.subject.value, "café au lait");
    CHECK_INT_EQ(h.subject.raw_len, 12);
    CHECK(h.subject.raw_len == 12 &&
          memcmp(h.subject.raw, "caf\xe9 au lait", 12) == 0);
    msghdr_free(&h);

    /* An empty value. */
    parse_str("Subject:\r\nFrom: \r\n\r\n", &h);
    CHECK_STR_EQ(h.subject.value, "");
    CHECK_STR_EQ(h.from.value, "");
    msghdr_free(&h);

    /* Raw 8-bit Message-ID and Date still come out valid UTF-8. */
    parse_str("Message-ID: <b497e6c2@example.\xd1\x81\xd1>\n"
              "Date: Sat, 20 Sep 2008 20:04:30 +0300 (\xf9\xf2)\n",
              &h);
    CHECK(clean_utf8(h.message_id));
    CHECK(clean_utf8(h.date_raw));
    CHECK(h.has_date);
    msghdr_free(&h);
}

static void
test_parse_bounds(void)
{
    struct cm_err err = CM_ERR_INIT;
    size_t big = MSGHDR_SCAN_MAX + 4096, n = 0;
    char *t = malloc(big + 64);
    struct msghdr h;

    /* Headers longer than MSGHDR_SCAN_MAX: a field past it is not seen. */
    while (n + 40 < MSGHDR_SCAN_MAX) {
        memcpy(t + n, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 39);
        n += 39;
    }
    memcpy(t + n, "X-Pad: 12345678901234567890123456789012345678\n", 46);
    n += 46;
    memcpy(t + n, "Subject: too far\n\n", 18);
    n += 18;
    CHECK(n > MSGHDR_SCAN_MAX);
    CHECK(msghdr_parse((uint8_t *)t, n, &h, &err) == 0);
    CHECK(h.subject.value == NULL);
    msghdr_free(&h);

    /* An overlong field is cut at MSGHDR_FIELD_MAX. */
    memcpy(t, "Subject: ", 9);
    memset(t + 9, 'x', 3 * MSGHDR_FIELD_MAX);
    memcpy(t + 9 + 3 * MSGHDR_FIELD_MAX, "\n\n", 2);
    CHECK(msghdr_parse((uint8_t *)t, 11 + 3 * MSGHDR_FIELD_MAX, &h, &err) == 0);
    CHECK(h.subject.value != NULL &&
          strlen(h.subject.value) == MSGHDR_FIELD_MAX);
    msghdr_free(&h);

    /* A field cut short by the end of the input is still read. */
    CHECK(msghdr_parse((const uint8_t *)"Subject: cut", 12, &h, &err) == 0);
    CHECK_STR_EQ(h.subject.value, "cut");
    msghdr_free(&h);
    free(t);
}

static void
test_block_end(void)
{
    CHECK_INT_EQ(msghdr_block_end((const uint8_t *)"a: b\n\nbody", 10), 6);
    CHECK_INT_EQ(msghdr_block_end((const uint8_t *)"a: b\r\n\r\nbody", 12), 8);
    CHECK_INT_EQ(msghdr_block_end((const uint8_t *)"\nbody", 5), 1);
    CHECK_INT_EQ(msghdr_block_end((const uint8_t *)"\r\nbody", 6), 2);
    CHECK_INT_EQ(msghdr_block_end((const uint8_t *)"a: b\nc: d\n", 10), 0);
    CHECK_INT_EQ(msghdr_block_end((const uint8_t *)"a: b\n\r", 6), 0);
    CHECK_INT_EQ(msghdr_block_end((const uint8_t *)"", 0), 0);
}

/* Parse a fixture; *${h} is filled. */
static int
parse_file(const char *rel, struct msghdr *h)
{
    struct cm_err err = CM_ERR_INIT;
    struct buf b;
    char path[1024];
    int rc;

    snprintf(path, sizeof path, "%s%s", testdata(), rel);
    buf_init(&b, 1 << 24);
    if (io_read_file(path, 1 << 24, &b, &err) == -1) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(0);
        buf_free(&b);
        return -1;
    }
    rc = msghdr_parse(b.data, b.len, h, &err);
    CHECK(rc == 0);
    buf_free(&b);
    return rc;
}

static void
test_fixtures(void)
{
    struct msghdr h;

    if (parse_file(MIKEL "multi_charset/japanese.eml", &h) == 0) {
        CHECK_STR_EQ(h.subject.value, "まみむめも");
        CHECK_STR_EQ(h.from.value, "Mikel Lindsaar <raasdnil@gmail.com>");
        msghdr_free(&h);
    }
    if (parse_file(MIKEL "multi_charset/japanese_attachment_long_name.eml",
                   &h) == 0) {
        CHECK_STR_EQ(h.subject.value,
                     "まみむめもまみむめもまみむめもまみむめもまみむめも"
                     "まみむめもまみむめもまみむめもまみむめもまみむめも");
        CHECK(h.subject.raw == NULL);
        msghdr_free(&h);
    }
    if (parse_file(MIKEL "multi_charset/japanese_shift_jis.eml", &h) == 0) {
        CHECK_STR_EQ(h.message_id, "<xxxxx@docomo.ne.jp>");
        CHECK(h.has_date);
        CHECK_INT_EQ(h.date, 1401265099);
        msghdr_free(&h);
    }
    if (parse_file(MIKEL "multi_charset/ks_c_5601-1987.eml", &h) == 0) {
        CHECK_STR_EQ(h.subject.value, "test");
        CHECK_STR_EQ(h.from.value, "from@example.com");
        msghdr_free(&h);
    }
    if (parse_file(MIKEL "error_emails/bad_encoded_subject.eml", &h) == 0) {
        CHECK_STR_EQ(h.subject.value, "TEST");
        CHECK(h.subject.raw != NULL);
        msghdr_free(&h);
    }
    if (parse_file(MIKEL "error_emails/invalid_subject_characters.eml", &h) ==
        0) {
        CHECK_STR_EQ(h.from.value,
                     "\"Formação Frenetikpolis\" <info@formacaofrenetik.info>");
        CHECK_STR_EQ(h.subject.value, "Formação FrenetikPolis: Mega Campanha "
                                      "Final Verão | Cursos de Setembro");
        CHECK(h.subject.raw != NULL);
        msghdr_free(&h);
    }
    if (parse_file(MIKEL "error_emails/bad_subject.eml", &h) == 0) {
        CHECK_STR_EQ(h.from.value,
                     "MySurvey.com & Carol Adams <carol@mysurvey.com>");
        CHECK(h.subject.value != NULL &&
              strncmp(h.subject.value, "MySurvey.com:  You have a survey",
                      32) == 0);
        msghdr_free(&h);
    }
    if (parse_file(MIKEL "rfc6532/utf8_headers.eml", &h) == 0) {
        CHECK_STR_EQ(h.subject.value, "Säying Hello");
        CHECK(h.subject.raw == NULL);
        msghdr_free(&h);
    }
    if (parse_file(MIKEL "plain_emails/raw_email_string_in_date_field.eml",
                   &h) == 0) {
        CHECK_STR_EQ(h.subject.value, "NOTE: 한국말로 하는 것");
        CHECK(h.has_date);
        CHECK(clean_utf8(h.date_raw));
        msghdr_free(&h);
    }
    if (parse_file("/mail/spamassassin/t/data/nice/unicode1", &h) == 0) {
        CHECK_STR_EQ(h.subject.value, "Domače omrežje");
        CHECK(clean_utf8(h.message_id));
        msghdr_free(&h);
    }
    if (parse_file("/mail/spamassassin/t/data/nice/unicode2", &h) == 0) {
        CHECK_STR_EQ(h.from.value, "👉 test");
        CHECK_STR_EQ(h.subject.value,
                     "【重要訊息】台電105年3月電費，委託金融機構"
                     "扣繳成功電子繳費憑證(電號07487616730)");
        CHECK(h.has_date);
        msghdr_free(&h);
    }
    if (parse_file("/mail/mimekit/UnitTests/TestData/messages/japanese.txt",
                   &h) == 0) {
        CHECK_STR_EQ(h.subject.value,
                     "日本語メールテスト (testing Japanese emails)");
        msghdr_free(&h);
    }
}

/* Every .eml of mikel-mail parses, and every string is clean UTF-8. */
static void
walk_fixtures(const char *rel, int *count)
{
    char path[1024], sub[1024];
    struct dirent *d;
    struct msghdr h;
    DIR *dir;

    snprintf(path, sizeof path, "%s%s", testdata(), rel);
    if ((dir = opendir(path)) == NULL) {
        CHECK(dir != NULL);
        return;
    }
    while ((d = readdir(dir)) != NULL) {
        if (d->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", rel, d->d_name);
        if (d->d_type == DT_DIR) {
            walk_fixtures(sub, count);
            continue;
        }
        if (parse_file(sub, &h) != 0)
            continue;
        (*count)++;
        CHECK(h.message_id == NULL || clean_utf8(h.message_id));
        CHECK(h.date_raw == NULL || clean_utf8(h.date_raw));
        CHECK(h.from.value == NULL || clean_utf8(h.from.value));
        CHECK(h.subject.value == NULL || clean_utf8(h.subject.value));
        msghdr_free(&h);
    }
    closedir(dir);
}

static void
check_date(const char *s, int ok, int64_t want, int line)
{
    int64_t t = -1;
    int rc = when_parse_rfc5322(s, strlen(s), &t);

    if ((rc == 0) != ok || (ok && t != want))
        fprintf(stderr, "line %d: \"%s\": rc %d t %lld\n", line, s, rc,
                (long long)t);
    CHECK_INT_EQ(rc == 0, ok);
    if (ok)
        CHECK_INT_EQ(t, want);
}

#define DATE(s, want) check_date(s, 1, want, __LINE__)
#define BAD_DATE(s) check_date(s, 0, 0, __LINE__)

static void
test_dates(void)
{
    DATE("Tue, 1 Jul 2003 10:52:37 +0200", 1057049557);
    DATE("Tue, 01 Jul 2003 10:52:37 +0530", 1057036957);
    DATE("  Tue,  1 Jul 2003 10:52:37 +0200 (CEST)", 1057049557);
    DATE("1 Jul 2003 10:52:37 +0200", 1057049557);
    DATE("Tue, 1 July 2003 10:52:37 +0200", 1057049557);
    DATE("21 Nov 97 09:55:06 GMT", 880106106);
    DATE("Fri, 24 May 91 10:40:25 EDT", 675096025);
    DATE("Mon, 9 Feb 04 23:17:44 GMT", 1076368664);
    DATE("Thu, 16 Jun 2016 00:41:19 (UTC)", 1466037679);
    DATE("Fri, 23 Aug 2002 2:32:53 -0400", 1030084373);
    DATE("Sat, 1 Jan 103 00:00:00 +0000", 1041379200); /* 3-digit year */
    DATE("Sun, 29 Feb 2004 12:00:00 +0000", 1078056000);
    DATE("Tue, 1 Jul 2003 10 : 52 : 37 +0200", 1057049557);
    DATE("Tue, 1 Jul 2003 10:52 +0200", 1057049520);
    DATE("Tue, 1 Jul 2003 10:52:37 +02:00", 1057049557);
    DATE("Tue, 1 Jul 2003 10:52:37 A", 1057056757); /* military: as UTC */
    DATE("Tue, 1 Jul 2003 10:52:37", 1057056757);
    /* asctime order, as old mail and From_ lines have it */
    DATE("Fri May 24 10:35:57 EDT 1991", 675095757);
    DATE("Sat Jan  1 00:00:00 2003", 1041379200);
    BAD_DATE("");
    BAD_DATE("junk");
    BAD_DATE("Pn, 29 paX 2007 21:13:00 +0100");
    BAD_DATE("May 8, 2005 1:17 PM");
    BAD_DATE("Sat, 30 Feb 2003 00:00:00 +0000");
    BAD_DATE("Sat, 29 Feb 2003 00:00:00 +0000");
    BAD_DATE("Tue, 1 Jul 2003 24:00:00 +0200");
    BAD_DATE("Tue, 1 Jul 2003 10:52:37 +0299");
    BAD_DATE("Tue, 1 Jul 2003 10:52:37 +02");
    BAD_DATE("Tue, 32 Jul 2003 10:52:37 +0200");
    BAD_DATE("Tue, 1 Jul 1899 10:52:37 +0200");
}

int
main(void)
{
    int count = 0;

    test_encoded_words();
    test_raw_bytes();
    test_decode_bounds();
    test_parse_basic();
    test_parse_bounds();
    test_block_end();
    test_fixtures();
    walk_fixtures("/mail/mikel-mail/spec/fixtures/emails", &count);
    walk_fixtures("/mail/spamassassin/t/data/nice", &count);
    walk_fixtures("/mail/mimekit/UnitTests/TestData/messages", &count);
    CHECK(count > 150);
    test_dates();
    return check_report();
}
