/*
 * fuzz_age_reader: arbitrary bytes as an age file read by random access
 * (age_reader_open_src, as setr reads volumes) with a fixed X25519 identity,
 * the one of the CCTV vectors.  The header, the size check, and preads at
 * the start, across a chunk boundary and at the end must fail cleanly or
 * hold; and whenever the random-access reader authenticates the whole
 * plaintext, the sequential reader (age_stream) must give the same bytes:
 * the two must agree on what an authentic file is.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHUNK 65536

struct mem {
    const uint8_t *p;
    size_t len, pos;
};

static int
mem_pread(void *ctx, void *p, size_t len, uint64_t off, struct cm_err *err)
{
    const struct mem *m = ctx;

    if (off > m->len || len > m->len - off)
        return cm_fail(err, CM_EFORMAT, "fuzz: past the end");
    memcpy(p, m->p + off, len);
    return 0;
}

static long
mem_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct mem *m = ctx;
    size_t take = m->len - m->pos;

    (void)err;
    if (take > len)
        take = len;
    memcpy(p, m->p + m->pos, take);
    m->pos += take;
    return (long)take;
}

static struct age_identity id;
static struct age_identities ids = {&id, 1};
static int ready;

static void
setup(void)
{
    struct cm_err err = CM_ERR_INIT;

    if (ready)
        return;
    if (agekey_identity_parse("AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VK"
                              "NX2MMDKWYKLMGR48UAWX40Q2P2LM0",
                              &id, &err) == -1)
        abort();
    ready = 1;
}

static void
failed(const struct cm_err *err)
{
    if (err->code != CM_EFORMAT && err->code != CM_EAUTH &&
        err->code != CM_ENOKEY)
        abort();
}

/* The sequential reader on the same bytes gives ${plain} exactly. */
static void
same_as_stream(const uint8_t *data, size_t size, const uint8_t *plain,
               uint64_t plen)
{
    static uint8_t buf[4096];
    struct mem m = {data, size, 0};
    struct cm_err err = CM_ERR_INIT;
    struct age_stream *s = NULL;
    uint64_t got = 0;
    long n;

    if (age_stream_open(mem_read, &m, "fuzz", &ids, &s, &err) == -1)
        abort();
    while ((n = age_stream_read(s, buf, sizeof buf, &err)) > 0) {
        if (got + (uint64_t)n > plen || memcmp(buf, plain + got, (size_t)n))
            abort();
        got += (uint64_t)n;
    }
    if (n < 0 || got != plen)
        abort();
    age_stream_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mem m = {data, size, 0};
    struct cm_err err = CM_ERR_INIT;
    struct age_reader *r = NULL;
    uint64_t claimed, plen = 0;
    uint8_t *plain = NULL, small[64];

    setup();
    if (age_reader_open_src(mem_pread, &m, size, "fuzz", &ids, &r, &err) ==
        -1) {
        failed(&err);
        return 0;
    }
    claimed = age_reader_claimed_size(r);
    if (claimed > size)
        abort();
    /* The tail first, as a damaged-volume restore reads what is left. */
    if (claimed > 0 && age_reader_pread(r, small, 1, claimed - 1, &err) == -1)
        failed(&err);
    cm_err_clear(&err);
    if (claimed > CHUNK + 8 &&
        age_reader_pread(r, small, 16, CHUNK - 8, &err) == -1)
        failed(&err);
    cm_err_clear(&err);
    if (age_reader_pread(r, small, 1, claimed, &err) != -1)
        abort();
    cm_err_clear(&err);
    if (age_reader_size(r, &plen, &err) == -1) {
        failed(&err);
        goto out;
    }
    if (plen != claimed)
        abort();
    plain = malloc(plen + 1);
    if (plain == NULL)
        abort();
    if (age_reader_pread(r, plain, (size_t)plen, 0, &err) == -1)
        failed(&err);
    else
        same_as_stream(data, size, plain, plen);
out:
    free(plain);
    age_reader_free(r);
    return 0;
}
