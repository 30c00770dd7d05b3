/*
 * BLAKE2b: the RFC 7693 vector, known answers for the 256-bit size that
 * minisign's key checksum uses, and agreement with OpenSSL's BLAKE2B-512
 * for every length across the block boundaries, fed whole and piecewise.
 */
#include "blake2b.h"

#include <openssl/evp.h>

#include "check.h"
#include "enc.h"

static void
pattern(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i % 251);
}

static void
check_hex(size_t outlen, const void *in, size_t len, const char *want)
{
    uint8_t out[BLAKE2B_OUTBYTES_MAX];
    char hex[2 * BLAKE2B_OUTBYTES_MAX + 1];
    struct cm_err err = CM_ERR_INIT;

    CHECK(blake2b_hash(out, outlen, in, len, &err) == 0);
    hex_encode(hex, out, outlen);
    CHECK_STR_EQ(hex, want);
}

static void
test_known_answers(void)
{
    static const char fox[] = "The quick brown fox jumps over the lazy dog";
    uint8_t data[1000];

    /* RFC 7693, appendix A. */
    check_hex(64, "abc", 3,
              "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2"
              "d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd400"
              "9923");
    check_hex(64, "", 0,
              "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f54"
              "19d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9b"
              "e2ce");
    check_hex(64, fox, sizeof fox - 1,
              "a8add4bdddfd93e4877d2746e62817b116364a1fa7bc148d95090bc7333b36"
              "73f82401cf7aa2e4cb1ecd90296e3f14cb5413f8ed77be73045b13914cdcd6"
              "a918");
    check_hex(32, NULL, 0,
              "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3"
              "a8");
    check_hex(32, "abc", 3,
              "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d523"
              "19");
    check_hex(32, fox, sizeof fox - 1,
              "01718cec35cd3d796dd00020e0bfecb473ad23457d063b75eff29c0ffa2e58"
              "a9");
    pattern(data, sizeof data);
    check_hex(32, data, 127,
              "f2fe67ff342e21b8f45e8f2e0bcd1d9243245d50ee6c78042e9c491388791c"
              "72");
    check_hex(32, data, 128,
              "c3582f71ebb2be66fa5dd750f80baae97554f3b015663c8be377cfcb2488c1"
              "d1");
    check_hex(32, data, 129,
              "f7f3c46ba2564ff4c4c162da1f5b605f9f1c4aa6a20652a9f9a337c1a2f5b9"
              "c9");
    check_hex(32, data, 256,
              "582f782226018ec33076bd8d1c42413530ac7e1126260ffc0f306ba3befc3f"
              "24");
    check_hex(32, data, 1000,
              "b372d0608f720c8c3dd41e9c8eecb10143b41abe520b616607e754bf79c083"
              "31");
}

static void
openssl_blake2b512(const uint8_t *in, size_t len, uint8_t out[64])
{
    unsigned int n = 0;

    CHECK(EVP_Digest(in, len, out, &n, EVP_blake2b512(), NULL) == 1);
    CHECK_INT_EQ(n, 64);
}

/* Our 512-bit digest is OpenSSL's, for all lengths 0..600, in pieces too. */
static void
test_agrees_with_openssl(void)
{
    static uint8_t data[600];
    uint8_t want[64], got[64];
    struct blake2b_state s;
    struct cm_err err = CM_ERR_INIT;
    int mismatches = 0;

    pattern(data, sizeof data);
    for (size_t len = 0; len <= sizeof data; len++) {
        size_t step = len % 7 + 1, off = 0;

        openssl_blake2b512(data, len, want);
        CHECK(blake2b_hash(got, sizeof got, data, len, &err) == 0);
        mismatches += memcmp(got, want, sizeof got) != 0;
        CHECK(blake2b_init(&s, sizeof got, &err) == 0);
        for (; off < len; off += step)
            blake2b_update(&s, data + off, len - off < step ? len - off : step);
        blake2b_final(&s, got);
        mismatches += memcmp(got, want, sizeof got) != 0;
    }
    CHECK_INT_EQ(mismatches, 0);
}

static void
test_bad_size(void)
{
    struct blake2b_state s;
    struct cm_err err = CM_ERR_INIT;
    uint8_t out[65];

    CHECK(blake2b_init(&s, 0, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EINTERNAL);
    cm_err_clear(&err);
    CHECK(blake2b_hash(out, 65, "x", 1, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EINTERNAL);
    CHECK_STR_HAS(err.msg, "digest size 65");
}

/* The state is wiped by final, so nothing of the input lingers. */
static void
test_final_wipes(void)
{
    static const uint8_t zero[sizeof(struct blake2b_state)];
    struct blake2b_state s;
    struct cm_err err = CM_ERR_INIT;
    uint8_t out[32];

    CHECK(blake2b_init(&s, sizeof out, &err) == 0);
    blake2b_update(&s, "secret", 6);
    blake2b_final(&s, out);
    CHECK(memcmp(&s, zero, sizeof s) == 0);
}

int
main(void)
{
    test_known_answers();
    test_agrees_with_openssl();
    test_bad_size();
    test_final_wipes();
    return check_report();
}
