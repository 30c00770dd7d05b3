#include "blake2b.h"

#include <string.h>

#include <openssl/crypto.h>

static const uint64_t iv[8] = {
    0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1, 0x510e527fade682d1, 0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
};

static const uint8_t sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static uint64_t
rotr64(uint64_t x, unsigned n)
{
    return x >> n | x << (64 - n);
}

static uint64_t
load64_le(const uint8_t *p)
{
    uint64_t x = 0;

    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

/* The mixing function G of RFC 7693, section 3.1. */
static void
mix(uint64_t v[16], int a, int b, int c, int d, uint64_t x, uint64_t y)
{
    v[a] = v[a] + v[b] + x;
    v[d] = rotr64(v[d] ^ v[a], 32);
    v[c] = v[c] + v[d];
    v[b] = rotr64(v[b] ^ v[c], 24);
    v[a] = v[a] + v[b] + y;
    v[d] = rotr64(v[d] ^ v[a], 16);
    v[c] = v[c] + v[d];
    v[b] = rotr64(v[b] ^ v[c], 63);
}

static void
compress(struct blake2b_state *s, const uint8_t block[BLAKE2B_BLOCKBYTES],
         int last)
{
    uint64_t v[16], m[16];

    for (int i = 0; i < 8; i++) {
        v[i] = s->h[i];
        v[i + 8] = iv[i];
    }
    v[12] ^= s->t[0];
    v[13] ^= s->t[1];
    if (last)
        v[14] = ~v[14];
    for (int i = 0; i < 16; i++)
        m[i] = load64_le(block + 8 * i);
    for (int r = 0; r < 12; r++) {
        const uint8_t *z = sigma[r];
        mix(v, 0, 4, 8, 12, m[z[0]], m[z[1]]);
        mix(v, 1, 5, 9, 13, m[z[2]], m[z[3]]);
        mix(v, 2, 6, 10, 14, m[z[4]], m[z[5]]);
        mix(v, 3, 7, 11, 15, m[z[6]], m[z[7]]);
        mix(v, 0, 5, 10, 15, m[z[8]], m[z[9]]);
        mix(v, 1, 6, 11, 12, m[z[10]], m[z[11]]);
        mix(v, 2, 7, 8, 13, m[z[12]], m[z[13]]);
        mix(v, 3, 4, 9, 14, m[z[14]], m[z[15]]);
    }
    for (int i = 0; i < 8; i++)
        s->h[i] ^= v[i] ^ v[i + 8];
    OPENSSL_cleanse(v, sizeof v);
    OPENSSL_cleanse(m, sizeof m);
}

static void
count_bytes(struct blake2b_state *s, size_t n)
{
    s->t[0] += n;
    if (s->t[0] < n)
        s->t[1]++;
}

int
blake2b_init(struct blake2b_state *s, size_t outlen, struct cm_err *err)
{
    if (outlen == 0 || outlen > BLAKE2B_OUTBYTES_MAX)
        return cm_fail(err, CM_EINTERNAL, "BLAKE2b: bad digest size %zu",
                       outlen);
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 8; i++)
        s->h[i] = iv[i];
    /* Parameter block: digest length, no key, fanout 1, depth 1. */
    s->h[0] ^= 0x01010000 ^ (uint64_t)outlen;
    s->outlen = outlen;
    return 0;
}

void
blake2b_update(struct blake2b_state *s, const void *in, size_t len)
{
    const uint8_t *p = in;

    while (len > 0) {
        size_t take;

        /*
         * A full buffer is compressed only once more input arrives: the
         * last block must be compressed with the final flag set.
         */
        if (s->buflen == BLAKE2B_BLOCKBYTES) {
            count_bytes(s, BLAKE2B_BLOCKBYTES);
            compress(s, s->buf, 0);
            s->buflen = 0;
        }
        take = BLAKE2B_BLOCKBYTES - s->buflen;
        if (take > len)
            take = len;
        memcpy(s->buf + s->buflen, p, take);
        s->buflen += take;
        p += take;
        len -= take;
    }
}

void
blake2b_final(struct blake2b_state *s, uint8_t *out)
{
    uint8_t digest[BLAKE2B_OUTBYTES_MAX];

    count_bytes(s, s->buflen);
    memset(s->buf + s->buflen, 0, BLAKE2B_BLOCKBYTES - s->buflen);
    compress(s, s->buf, 1);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            digest[8 * i + j] = (uint8_t)(s->h[i] >> (8 * j));
    memcpy(out, digest, s->outlen);
    OPENSSL_cleanse(digest, sizeof digest);
    OPENSSL_cleanse(s, sizeof *s);
}

int
blake2b_hash(uint8_t *out, size_t outlen, const void *in, size_t len,
             struct cm_err *err)
{
    struct blake2b_state s;

    if (blake2b_init(&s, outlen, err) == -1)
        return -1;
    blake2b_update(&s, in, len);
    blake2b_final(&s, out);
    return 0;
}
