/*
 * fuzz_mbox: any bytes as an mbox file, fed whole and then in chunks of
 * varying sizes (drawn from the input), with a peek callback over the same
 * bytes.  The messages must lie within the input, in order, without
 * overlap, with the right SHA-256, and not depend on the chunking.
 *
 * Seeds (corpus/mbox): mimekit mbox files copied from test/data/mail
 * (licenses in its NOTICE), and small ones made by hand.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEPT_MAX 4096

struct kept {
    uint64_t from_off, off, len;
    uint8_t sha256[32];
};

struct run {
    const uint8_t *data;
    size_t size;
    struct kept m[KEPT_MAX];
    size_t n;
    uint64_t total;
    enum mbox_variant variant;
};

static int
peek(void *ctx, void *p, size_t len, uint64_t off, struct cm_err *err)
{
    const struct run *r = ctx;

    if (off > r->size || len > r->size - off)
        return cm_fail(err, CM_EFORMAT, "peek out of range");
    memcpy(p, r->data + off, len);
    return 0;
}

static void
check_string(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s;
         p != NULL && *p != '\0'; p++)
        if (*p < 0x09 || *p == 0x7f)
            abort();
}

static int
on_message(void *ctx, const struct mbox_message *m, struct cm_err *err)
{
    struct run *r = ctx;
    const struct kept *prev = r->n > 0 ? &r->m[r->n - 1] : NULL;
    uint8_t md[32];
    unsigned int mdlen;

    (void)err;
    if (m->index != r->total || m->from_off + 5 > m->off || m->off > r->size ||
        m->len > r->size - m->off ||
        (prev != NULL && prev->off + prev->len > m->from_off) ||
        strlen(m->from_line) > MBOX_FROM_LINE_MAX ||
        memcmp(r->data + m->from_off, "From ", 5) != 0)
        abort();
    check_string(m->from_line);
    if (EVP_Digest(r->data + m->off, m->len, md, &mdlen, EVP_sha256(), NULL) !=
            1 ||
        memcmp(md, m->sha256, 32) != 0)
        abort();
    if (r->n < KEPT_MAX) {
        struct kept *k = &r->m[r->n++];
        k->from_off = m->from_off;
        k->off = m->off;
        k->len = m->len;
        memcpy(k->sha256, m->sha256, 32);
    }
    r->total++;
    return 0;
}

/* Feed in chunks whose sizes come from ${seed} (0: all at once). */
static void
scan(struct run *r, uint32_t seed)
{
    struct cm_err err = CM_ERR_INIT;
    struct mbox_scanner *s;
    size_t at = 0, n;

    r->n = 0;
    r->total = 0;
    if (mbox_scanner_new(r->size, peek, r, on_message, r, &s, &err) == -1)
        abort();
    while (at < r->size) {
        seed = seed * 1103515245u + 12345u;
        n = seed == 0 ? r->size : 1 + (seed >> 16) % 300;
        if (n > r->size - at)
            n = r->size - at;
        if (mbox_scanner_feed(s, r->data + at, n, &err) == -1)
            abort();
        at += n;
    }
    if (mbox_scanner_finish(s, &err) == -1)
        abort();
    r->variant = mbox_scanner_variant(s);
    mbox_scanner_free(s);
}

static int
count_sink(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    (void)p, (void)err;
    *(size_t *)ctx += len;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run whole, chunked;
    struct cm_err err = CM_ERR_INIT;
    uint32_t seed = 1;
    size_t quoted = 0;

    whole.data = chunked.data = data;
    whole.size = chunked.size = size;
    scan(&whole, 0);
    for (size_t i = 0; i < size && i < 4; i++)
        seed = seed * 31 + data[i];
    scan(&chunked, seed | 1);
    if (whole.total != chunked.total || whole.n != chunked.n ||
        whole.variant != chunked.variant ||
        memcmp(whole.m, chunked.m, whole.n * sizeof whole.m[0]) != 0)
        abort();
    (void)mbox_sniff(data, size);
    if (mbox_write_quoted_rd(data, size, count_sink, &quoted, &err) == -1 ||
        quoted < size)
        abort();
    return 0;
}
