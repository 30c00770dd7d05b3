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

int
main(void)
{
    test_b64_round_trip();
    test_b64_strict();
    test_hex();
    return check_report();
}
