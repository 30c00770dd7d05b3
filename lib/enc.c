#include "enc.h"

#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
b64_encoded_len(size_t n, int pad)
{
    if (pad)
        return (n + 2) / 3 * 4;
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

void
b64_encode(char *out, const uint8_t *in, size_t n, int pad)
{
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
                     in[i + 2];
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        if (pad) {
            *out++ = '=';
            *out++ = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        if (pad)
            *out++ = '=';
    }
    *out = '\0';
}

static int
b64_value(char c)
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

long
b64_decode(uint8_t *out, size_t outmax, const char *in, size_t inlen,
           enum b64_padding padding, const char *what, struct cm_err *err)
{
    size_t npad = 0, ndata, nout, o = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (padding == B64_PADDED) {
        if (inlen % 4 != 0)
            return cm_fail(err, CM_EFORMAT, "%s: bad base64 length", what);
        while (npad < 2 && npad < inlen && in[inlen - 1 - npad] == '=')
            npad++;
    }
    ndata = inlen - npad;
    if (ndata % 4 == 1)
        return cm_fail(err, CM_EFORMAT, "%s: bad base64 length", what);
    nout = ndata / 4 * 3 + (ndata % 4 == 0 ? 0 : ndata % 4 - 1);
    if (nout > outmax)
        return cm_fail(err, CM_EFORMAT, "%s: too long", what);
    for (size_t i = 0; i < ndata; i++) {
        int v = b64_value(in[i]);
        if (v < 0)
            return cm_fail(err, CM_EFORMAT, "%s: invalid base64 character",
                           what);
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero, or two encodings would decode alike. */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return cm_fail(err, CM_EFORMAT, "%s: non-canonical base64", what);
    return (long)o;
}

void
hex_encode(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        *out++ = digits[in[i] >> 4];
        *out++ = digits[in[i] & 15];
    }
    *out = '\0';
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
hex_decode(uint8_t *out, size_t n, const char *in, size_t inlen,
           const char *what, struct cm_err *err)
{
    if (inlen != 2 * n)
        return cm_fail(err, CM_EFORMAT, "%s: expected %zu hex digits", what,
                       2 * n);
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return cm_fail(err, CM_EFORMAT, "%s: invalid hex digit", what);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

size_t
enc_utf8_check(const uint8_t *p, size_t n, size_t *bad)
{
    uint8_t c = p[0], lo = 0x80, hi = 0xbf;
    size_t len, i;

    *bad = 1;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    /* The second byte's range excludes overlongs, surrogates and code
     * points past U+10FFFF. */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    for (i = 1; i < len && i < n; i++, lo = 0x80, hi = 0xbf)
        if (p[i] < lo || p[i] > hi)
            break;
    *bad = i;
    return i == len ? len : 0;
}

size_t
enc_utf8_len(const uint8_t *p, size_t n)
{
    size_t bad;

    return enc_utf8_check(p, n, &bad);
}
