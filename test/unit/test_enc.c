#include "enc.h"

#include "check.h"

static void
test_b64_round_trip(void)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t in[64], out[64];
    char text[100];

    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 37 + 5);
    for (size_t n = 0; n <= sizeof in; n++) {
        for (int pad = 0; pad <= 1; pad++) {
            long got;
            b64_encode(text, in, n, pad);
            CHECK_INT_EQ(strlen(text), b64_encoded_len(n, pad));
            got = b64_decode(out, sizeof out, text, strlen(text),
                             pad ? B64_PADDED : B64_UNPADDED, "t", &err);
            CHECK_INT_EQ(got, (long)n);
            CHECK_MEM_EQ(in, out, n);
        }
    }
}

static void
test_b64_strict(void)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t out[16];

    /* "AB" encodes one byte with 4 leftover bits that must be zero. */
    CHECK(b64_decode(out, sizeof out, "AB", 2, B64_UNPADDED, "s", &err) == -1);
    CHECK_STR_HAS(err.msg, "non-canonical");
    cm_err_clear(&err);
    CHECK(b64_decode(out, sizeof out, "AA==", 4, B64_UNPADDED, "s", &err) ==
          -1);
    cm_err_clear(&err);
    CHECK(b64_decode(out, sizeof out, "AA", 2, B64_PADDED, "s", &err) == -1);
    cm_err_clear(&err);
    CHECK(b64_decode(out, 1, "AAAA", 4, B64_PADDED, "s", &err) == -1);
    CHECK_STR_HAS(err.msg, "too long");
    cm_err_clear(&err);
    CHECK(b64_decode(out, sizeof out, "A-AA", 4, B64_PADDED, "s", &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
}

static void
test_hex(void)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
    char text[7];

    hex_encode(text, in, 3);
    CHECK_STR_EQ(text, "00abff");
    CHECK(hex_decode(out, 3, "00ABff", 6, "h", &err) == 0);
    CHECK_MEM_EQ(in, out, 3);
    CHECK(hex_decode(out, 3, "00abf", 5, "h", &err) == -1);
    cm_err_clear(&err);
    CHECK(hex_decode(out, 3, "00abfg", 6, "h", &err) == -1);
}

/* One case: the bytes, the length expected, and the invalid subpart's. */
static void
utf8_case(const char *bytes, size_t n, size_t want, size_t want_bad)
{
    size_t bad = 99, got = enc_utf8_check((const uint8_t *)bytes, n, &bad);

    CHECK_INT_EQ(got, want);
    if (want == 0)
        CHECK_INT_EQ(bad, want_bad);
    CHECK_INT_EQ(enc_utf8_len((const uint8_t *)bytes, n), want);
}

static void
test_utf8(void)
{
    utf8_case("a", 1, 1, 0);
    utf8_case("\xc3\xa9", 2, 2, 0);         /* e acute */
    utf8_case("\xe2\x82\xac", 3, 3, 0);     /* euro sign */
    utf8_case("\xf0\x9f\x93\xa7", 4, 4, 0); /* e-mail symbol */
    utf8_case("\xf4\x8f\xbf\xbf", 4, 4, 0); /* U+10FFFF */
    utf8_case("\xc0\x80", 2, 0, 1);         /* overlong NUL */
    utf8_case("\xc1\xbf", 2, 0, 1);         /* overlong */
    utf8_case("\xe0\x80\x80", 3, 0, 1);     /* overlong, 3 bytes */
    utf8_case("\xed\xa0\x80", 3, 0, 1);     /* a surrogate */
    utf8_case("\xf4\x90\x80\x80", 4, 0, 1); /* past U+10FFFF */
    utf8_case("\xf5\x80\x80\x80", 4, 0, 1); /* no such lead byte */
    utf8_case("\x80", 1, 0, 1);              /* a lone continuation */
    utf8_case("\xe2\x82", 2, 0, 2);         /* cut short by the end */
    utf8_case("\xe2\x82x", 3, 0, 2);        /* cut short by a letter */
    utf8_case("\xf0\x9f\x93", 3, 0, 3);     /* 3 of 4 */
}

int
main(void)
{
    test_b64_round_trip();
    test_b64_strict();
    test_hex();
    test_utf8();
    return check_report();
}
