/*
 * fuzz_seektable: hostile bytes as the tail of a zstd seekable stream, as a
 * whole stream for the random-access reader (by table and by scan), and as
 * a pipe for the stream decoder.  Nothing may crash, leak or read out of
 * bounds, and what the parser accepts must tile the input exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX (1u << 20)

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
    size_t n = m->len - m->pos;

    (void)err;
    /* Short reads, to cross every buffer boundary. */
    if (n > len)
        n = len;
    if (n > 1000)
        n = 1000;
    memcpy(p, m->p + m->pos, n);
    m->pos += n;
    return (long)n;
}

static void
parse(const uint8_t *data, size_t size)
{
    struct zframe_info *f = NULL;
    struct cm_err err = CM_ERR_INIT;
    size_t n = 0, tsize = 0;
    uint64_t c = 0;

    if (zframe_seektable_parse(data, size, size, "fuzz", &f, &n, &tsize,
                               &err) == -1)
        return;
    for (size_t i = 0; i < n; i++) {
        if (f[i].c_off != c || f[i].d_size > ZFRAME_FRAME_SIZE_MAX)
            abort();
        c += f[i].c_size;
    }
    if (c + tsize != size)
        abort();
    free(f);
}

/* Read a few ranges: the start, the end, around the middle. */
static void
read_some(struct zframe_reader *r)
{
    static uint8_t buf[OUT_MAX];
    struct cm_err err = CM_ERR_INIT;
    uint64_t total = zframe_reader_size(r);
    uint64_t offs[3] = {0, total / 2, total ? total - 1 : 0};

    for (size_t i = 0; i < 3; i++) {
        uint64_t len = total - offs[i] < 4096 ? total - offs[i] : 4096;
        cm_err_clear(&err);
        zframe_reader_pread(r, buf, (size_t)len, offs[i], &err);
    }
    cm_err_clear(&err);
    if (zframe_reader_pread(r, buf, 1, total, &err) != -1)
        abort();
}

static void
reader(const uint8_t *data, size_t size, int scan)
{
    struct mem m = {data, size, 0};
    struct zframe_reader *r = NULL;
    struct cm_err err = CM_ERR_INIT;

    if ((scan ? zframe_reader_open_scan : zframe_reader_open)(
            mem_pread, &m, size, "fuzz", &r, &err) == -1)
        return;
    read_some(r);
    zframe_reader_free(r);
}

static void
stream(const uint8_t *data, size_t size)
{
    static uint8_t buf[65536];
    struct mem m = {data, size, 0};
    struct zframe_stream *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    uint64_t total = 0;
    long n;

    if (zframe_stream_new(mem_read, &m, "fuzz", OUT_MAX, &s, &err) == -1)
        return;
    while ((n = zframe_stream_read(s, buf, sizeof buf, &err)) > 0)
        total += (uint64_t)n;
    if (total > OUT_MAX)
        abort();
    zframe_stream_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse(data, size);
    reader(data, size, 0);
    reader(data, size, 1);
    stream(data, size);
    return 0;
}
