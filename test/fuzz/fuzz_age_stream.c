/*
 * Fuzz sequential decryption (header, armor, STREAM) with a fixed X25519
 * identity, the one of the CCTV vectors.  Inputs whose size is a multiple
 * of 3 are fed one byte per read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct memsrc {
    const uint8_t *p;
    size_t len, pos, step;
};

static long
mem_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct memsrc *m = ctx;
    size_t take = m->len - m->pos;

    (void)err;
    if (take > len)
        take = len;
    if (m->step > 0 && take > m->step)
        take = m->step;
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct memsrc src = {data, size, 0, size % 3 == 0 ? 1 : 0};
    struct cm_err err = CM_ERR_INIT;
    struct age_stream *s = NULL;
    uint8_t buf[4096];
    long n;

    setup();
    if (age_stream_open(mem_read, &src, "fuzz", &ids, &s, &err) == -1)
        return 0;
    while ((n = age_stream_read(s, buf, sizeof buf, &err)) > 0)
        ;
    if (n < 0 && err.code == CM_OK)
        abort();
    age_stream_free(s);
    return 0;
}
