/*
 * test_zframe: the seekable zstd writer (synchronous and threaded), the
 * random-access reader, the sequential stream and the seek table parser.
 */
#include "zframe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "check.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

static const int thread_counts[] = {0, 1, 2, 4};

/* ------------------------------------------------------------------ */
/* Data, sinks and sources                                             */

static uint64_t rng_state;

static uint32_t
rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Mixed data: text-like runs, random bytes, zeros, repeats. */
static uint8_t *
gen_data(size_t len, uint64_t seed)
{
    static const char *const words[] = {
        "Received: ",
        "from ",
        "mail.example.org ",
        "by ",
        "Subject: ",
        "Message-ID: <",
        "@example.com>\n",
        "the ",
        "of ",
        "and ",
        "Content-Type: text/plain; charset=utf-8\n",
        "\n",
        "> ",
        "Hello ",
        "regards,\n",
        "Date: Tue, 3 Oct 2023 10:00:00 +0000\n"};
    uint8_t *p = malloc(len ? len : 1);
    size_t i = 0, n, w;

    rng_state = seed * 2654435761u + 1;
    while (p != NULL && i < len) {
        n = 1 + rnd() % 8192;
        if (n > len - i)
            n = len - i;
        switch (rnd() % 4) {
        case 0:
            for (size_t k = 0; k < n; k++)
                p[i + k] = (uint8_t)rnd();
            break;
        case 1:
            memset(p + i, 0, n);
            break;
        default:
            for (size_t k = 0; k < n; k += w) {
                const char *s = words[rnd() % CM_ARRAY_LEN(words)];
                w = strlen(s) < n - k ? strlen(s) : n - k;
                memcpy(p + i + k, s, w);
            }
        }
        i += n;
    }
    return p;
}

struct sink {
    uint8_t *p;
    size_t len, cap;
    size_t fail_after; /* fail a call that would pass this many bytes */
    useconds_t delay;
    size_t calls;
};

static void
sink_init(struct sink *s)
{
    memset(s, 0, sizeof *s);
    s->fail_after = SIZE_MAX;
    s->cap = 4096;
    s->p = malloc(s->cap); /* never NULL, even for empty output */
}

static int
sink_write(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    struct sink *s = ctx;

    s->calls++;
    if (s->delay)
        usleep(s->delay);
    if (len > s->fail_after - s->len)
        return cm_fail(err, CM_ENOSPC, "test sink: medium full");
    if (s->len + len > s->cap) {
        size_t cap = s->cap;
        while (cap < s->len + len)
            cap *= 2;
        if ((s->p = realloc(s->p, cap)) == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        s->cap = cap;
    }
    if (len > 0)
        memcpy(s->p + s->len, p, len);
    s->len += len;
    return 0;
}

struct src {
    const uint8_t *p;
    size_t len, pos;
    size_t chunk;   /* most bytes per read (stream mode) */
    size_t fail_at; /* 0: never; else fail reads that reach it */
    enum cm_code fail_code;
};

static int
src_pread(void *ctx, void *p, size_t len, uint64_t off, struct cm_err *err)
{
    const struct src *s = ctx;

    if (s->fail_at && off < s->fail_at && off + len > s->fail_at)
        return cm_fail(err, s->fail_code, "test source: bad sector");
    if (off > s->len || len > s->len - off)
        return cm_fail(err, CM_EFORMAT, "test source: past the end");
    memcpy(p, s->p + off, len);
    return 0;
}

static long
src_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct src *s = ctx;
    size_t n = s->len - s->pos;

    if (n > len)
        n = len;
    if (s->chunk && n > s->chunk)
        n = 1 + rnd() % s->chunk;
    if (s->fail_at && s->pos + n > s->fail_at)
        return cm_fail(err, s->fail_code, "test source: bad sector");
    memcpy(p, s->p + s->pos, n);
    s->pos += n;
    return (long)n;
}

/* Compress ${len} bytes in chunks of random size; the stream in *${out}. */
static int
compress(const uint8_t *data, size_t len, int threads, size_t frame_size,
         struct sink *out, struct cm_err *err)
{
    struct zframe_writer_opts o = {0, threads, frame_size};
    struct zframe_writer *w = NULL;
    size_t i = 0, n;
    int rc = -1;

    size_t fs = frame_size ? frame_size : ZFRAME_FRAME_SIZE;

    sink_init(out);
    if (zframe_writer_new(&o, sink_write, out, &w, err) == -1)
        return -1;
    while (i < len) {
        n = rnd() % 3 == 0 ? rnd() % (3 * fs) : rnd() % 5000;
        if (n > len - i)
            n = len - i;
        if (zframe_writer_write(w, data + i, n, err) == -1)
            goto out;
        i += n;
    }
    if (zframe_writer_finish(w, err) == -1)
        goto out;
    CHECK_INT_EQ(zframe_writer_bytes_in(w), len);
    CHECK_INT_EQ(zframe_writer_size_bound(w), out->len);
    rc = 0;
out:
    zframe_writer_free(w);
    return rc;
}

static size_t read_max; /* most bytes asked of zframe_stream_read */

/* Decompress in stream mode, with reads of random size. */
static int
stream_all(const uint8_t *z, size_t zlen, size_t chunk, uint64_t max,
           struct sink *out, struct cm_err *err)
{
    struct src src = {z, zlen, 0, chunk, 0, CM_OK};
    struct zframe_stream *s = NULL;
    uint8_t buf[70000];
    long n;
    int rc = -1;

    sink_init(out);
    if (zframe_stream_new(src_read, &src, "test", max, &s, err) == -1)
        return -1;
    for (;;) {
        size_t want = 1 + rnd() % (read_max ? read_max : sizeof buf);
        if ((n = zframe_stream_read(s, buf, want, err)) < 0)
            goto out;
        if (n == 0)
            break;
        sink_write(out, buf, (size_t)n, err);
    }
    rc = 0;
out:
    zframe_stream_free(s);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Round trips                                                         */

static void
check_reader(const uint8_t *data, size_t len, const struct sink *z,
             size_t frame_size)
{
    struct src src = {z->p, z->len, 0, 0, 0, CM_OK};
    struct zframe_reader *r = NULL;
    struct cm_err err = CM_ERR_INIT;
    uint8_t *back = malloc(len + 1);

    CHECK(zframe_reader_open(src_pread, &src, z->len, "t", &r, &err) == 0);
    if (r == NULL) {
        fprintf(stderr, "open: %s\n", err.msg);
        free(back);
        return;
    }
    CHECK_INT_EQ(zframe_reader_size(r), len);
    CHECK_INT_EQ(zframe_reader_nframes(r), (len + frame_size - 1) / frame_size);
    CHECK(zframe_reader_pread(r, back, len, 0, &err) == 0);
    CHECK_MEM_EQ(back, data, len);
    zframe_reader_free(r);
    free(back);
}

static void
check_stream(const uint8_t *data, size_t len, const struct sink *z)
{
    struct cm_err err = CM_ERR_INIT;
    struct sink out;

    CHECK(stream_all(z->p, z->len, 0, 0, &out, &err) == 0);
    CHECK_INT_EQ(out.len, len);
    CHECK_MEM_EQ(out.p, data, out.len < len ? out.len : len);
    free(out.p);
    CHECK(stream_all(z->p, z->len, 7, len, &out, &err) == 0);
    CHECK_INT_EQ(out.len, len);
    CHECK_MEM_EQ(out.p, data, out.len < len ? out.len : len);
    free(out.p);
}

static void
round_trip(size_t len, size_t frame_size, uint64_t seed)
{
    uint8_t *data = gen_data(len, seed);
    struct cm_err err = CM_ERR_INIT;
    struct sink ref, z;

    CHECK(compress(data, len, 0, frame_size, &ref, &err) == 0);
    /* Plain zstd (skipping the table) gives the data back. */
    if (len > 0) {
        uint8_t *back = malloc(len + 1);
        size_t n = ZSTD_decompress(back, len + 1, ref.p, ref.len);
        CHECK(!ZSTD_isError(n) && n == len && memcmp(back, data, len) == 0);
        free(back);
    }
    for (size_t t = 1; t < CM_ARRAY_LEN(thread_counts); t++) {
        CHECK(compress(data, len, thread_counts[t], frame_size, &z, &err) == 0);
        CHECK_INT_EQ(z.len, ref.len);
        CHECK(z.len == ref.len && memcmp(z.p, ref.p, z.len) == 0);
        free(z.p);
    }
    check_reader(data, len, &ref, frame_size ? frame_size : ZFRAME_FRAME_SIZE);
    check_stream(data, len, &ref);
    free(ref.p);
    free(data);
}

static void
test_round_trips(void)
{
    const size_t fs = 64 * KIB;
    const size_t sizes[] = {0, 1, fs - 1, fs, fs + 1, 2 * fs, 7 * fs + 5};

    for (size_t i = 0; i < CM_ARRAY_LEN(sizes); i++)
        round_trip(sizes[i], fs, i + 1);
    round_trip(MIB, 0, 11);
    round_trip(MIB + 1, 0, 12);
    round_trip(5 * MIB + 12345, 0, 13);
}

/* ------------------------------------------------------------------ */
/* Random access                                                       */

static void
check_range(struct zframe_reader *r, const uint8_t *data, uint64_t off,
            size_t len)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t *p = malloc(len + 1);

    CHECK(zframe_reader_pread(r, p, len, off, &err) == 0);
    if (err.code != CM_OK)
        fprintf(stderr, "pread %zu at %llu: %s\n", len, (unsigned long long)off,
                err.msg);
    CHECK_MEM_EQ(p, data + off, len);
    free(p);
}

static void
test_random_access(void)
{
    const size_t fs = 64 * KIB, len = 40 * fs + 999;
    uint8_t *data = gen_data(len, 99), x;
    struct cm_err err = CM_ERR_INIT;
    struct zframe_reader *r = NULL;
    struct zframe_info fi;
    struct sink z;
    struct src src;

    CHECK(compress(data, len, 2, fs, &z, &err) == 0);
    src = (struct src){z.p, z.len, 0, 0, 0, CM_OK};
    CHECK(zframe_reader_open(src_pread, &src, z.len, "t", &r, &err) == 0);
    if (r == NULL)
        goto out;
    CHECK_INT_EQ(zframe_reader_nframes(r), 41);
    zframe_reader_frame(r, 3, &fi);
    CHECK_INT_EQ(fi.d_off, 3 * fs);
    CHECK_INT_EQ(fi.d_size, fs);
    CHECK_INT_EQ(zframe_reader_frame_of(r, 3 * fs - 1), 2);
    CHECK_INT_EQ(zframe_reader_frame_of(r, 3 * fs), 3);
    CHECK_INT_EQ(zframe_reader_frame_of(r, len - 1), 40);
    CHECK_INT_EQ(zframe_reader_frame_of(r, len), 41);
    for (size_t k = 1; k < 40; k += 3) {
        size_t b = k * fs;
        check_range(r, data, b - 1, 1);
        check_range(r, data, b, 1);
        check_range(r, data, b - 1, 2);
        check_range(r, data, b, fs);
        check_range(r, data, b - 3, fs + 6);
        check_range(r, data, b - fs / 2, 2 * fs + 1);
    }
    for (int k = 0; k < 300; k++) {
        size_t off = rnd() % len, n = rnd() % (k % 10 == 0 ? 5 * fs : 3000);
        check_range(r, data, off, n > len - off ? len - off : n);
    }
    check_range(r, data, 0, len);
    check_range(r, data, len - 1, 1);
    check_range(r, data, len, 0);
    CHECK(zframe_reader_pread(r, &x, 1, len, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "past the end");
    cm_err_clear(&err);
    CHECK(zframe_reader_pread_fn(r, &x, 1, len - 1, &err) == 0);
    CHECK_INT_EQ(x, data[len - 1]);
out:
    zframe_reader_free(r);
    free(z.p);
    free(data);
}

/* ------------------------------------------------------------------ */
/* Damage                                                              */

static void
expect_open_fails(const uint8_t *z, size_t zlen, const char *what)
{
    struct src src = {z, zlen, 0, 0, 0, CM_OK};
    struct zframe_reader *r = NULL;
    struct cm_err err = CM_ERR_INIT;

    CHECK(zframe_reader_open(src_pread, &src, zlen, "vol", &r, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "vol: ");
    if (err.code != CM_EFORMAT)
        fprintf(stderr, "  (%s: %s)\n", what, err.msg);
}

static void
check_scan(const uint8_t *z, size_t zlen, const uint8_t *data, size_t want)
{
    struct src src = {z, zlen, 0, 0, 0, CM_OK};
    struct zframe_reader *r = NULL;
    struct cm_err err = CM_ERR_INIT;

    CHECK(zframe_reader_open_scan(src_pread, &src, zlen, "vol", &r, &err) == 0);
    if (r == NULL)
        return;
    CHECK_INT_EQ(zframe_reader_size(r), want);
    if (zframe_reader_size(r) == want)
        check_range(r, data, 0, want);
    zframe_reader_free(r);
}

static void
put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void
test_damaged_table(void)
{
    const size_t fs = 32 * KIB, len = 10 * fs + 100, n = 11;
    const size_t tsize = 8 + 8 * n + 9;
    uint8_t *data = gen_data(len, 5), *c;
    struct cm_err err = CM_ERR_INIT;
    struct sink z;

    CHECK(compress(data, len, 0, fs, &z, &err) == 0);
    c = malloc(z.len);
    uint8_t *t = c + z.len - tsize, *foot = c + z.len - 9;
#define DAMAGE(what, stmt)                                                     \
    do {                                                                       \
        memcpy(c, z.p, z.len);                                                 \
        stmt;                                                                  \
        expect_open_fails(c, z.len, what);                                     \
        check_scan(c, z.len, data, len);                                       \
    } while (0)
    DAMAGE("seekable magic", foot[8] ^= 1);
    DAMAGE("reserved bit", foot[4] |= 0x04);
    DAMAGE("more frames", put32(foot, 12));
    DAMAGE("fewer frames", put32(foot, 10));
    DAMAGE("huge count", put32(foot, 0xffffffffu));
    DAMAGE("skippable magic", t[0] ^= 1);
    DAMAGE("skippable size", put32(t + 4, get32(t + 4) + 1));
    DAMAGE("entry c_size", put32(t + 8 + 8 * 4, get32(t + 8 + 8 * 4) + 1));
    DAMAGE("entry zero", put32(t + 8 + 8 * 4, 0));
    DAMAGE("entry d_size", put32(t + 12, ZFRAME_FRAME_SIZE_MAX + 1));
#undef DAMAGE
    /* Truncated: no table; the scan still finds every whole frame. */
    expect_open_fails(z.p, z.len - 1, "truncated");
    check_scan(z.p, z.len - 1, data, len);
    expect_open_fails(z.p, z.len - tsize, "no table");
    check_scan(z.p, z.len - tsize, data, len);
    expect_open_fails(z.p, 5, "tiny");
    expect_open_fails(z.p, 0, "empty");
    /* Cut inside frame 4: frames 0..3 stay readable. */
    {
        struct src src = {z.p, z.len, 0, 0, 0, CM_OK};
        struct zframe_reader *r = NULL;
        struct zframe_info fi;
        CHECK(zframe_reader_open(src_pread, &src, z.len, "t", &r, &err) == 0);
        zframe_reader_frame(r, 4, &fi);
        zframe_reader_free(r);
        check_scan(z.p, fi.c_off + fi.c_size / 2, data, 4 * fs);
    }
    free(c);
    free(z.p);
    free(data);
}

/* Rewrite a stream's seek table with 12-byte entries (checksum flag). */
static uint8_t *
with_checksums(const struct sink *z, size_t n, size_t *out_len)
{
    size_t old = 8 + 8 * n + 9, nt = 8 + 12 * n + 9, body = z->len - old;
    uint8_t *p = calloc(1, body + nt), *t = p + body;
    const uint8_t *e = z->p + body + 8;

    memcpy(p, z->p, body);
    put32(t, ZFRAME_SKIPPABLE_MAGIC);
    put32(t + 4, (uint32_t)(nt - 8));
    for (size_t i = 0; i < n; i++) {
        memcpy(t + 8 + 12 * i, e + 8 * i, 8);
        put32(t + 8 + 12 * i + 8, 0x12345678u);
    }
    put32(t + nt - 9, (uint32_t)n);
    t[nt - 5] = 0x80;
    put32(t + nt - 4, ZFRAME_SEEKABLE_MAGIC);
    *out_len = body + nt;
    return p;
}

static void
test_checksum_table(void)
{
    const size_t fs = 16 * KIB, len = 5 * fs + 1;
    uint8_t *data = gen_data(len, 8), *c;
    struct cm_err err = CM_ERR_INIT;
    struct sink z, out;
    size_t clen;

    CHECK(compress(data, len, 0, fs, &z, &err) == 0);
    c = with_checksums(&z, 6, &clen);
    {
        struct sink tmp = {c, clen, clen, SIZE_MAX, 0, 0};
        check_reader(data, len, &tmp, fs);
    }
    CHECK(stream_all(c, clen, 0, 0, &out, &err) == 0);
    CHECK_INT_EQ(out.len, len);
    free(out.p);
    free(c);
    free(z.p);
    free(data);
}

static void
test_corrupt_frame(void)
{
    const size_t fs = 32 * KIB, len = 6 * fs;
    uint8_t *data = gen_data(len, 21), buf[100];
    struct cm_err err = CM_ERR_INIT;
    struct zframe_reader *r = NULL;
    struct zframe_info fi;
    struct sink z, out;
    struct src src;

    CHECK(compress(data, len, 1, fs, &z, &err) == 0);
    src = (struct src){z.p, z.len, 0, 0, 0, CM_OK};
    CHECK(zframe_reader_open(src_pread, &src, z.len, "vol", &r, &err) == 0);
    if (r == NULL)
        goto out;
    zframe_reader_frame(r, 2, &fi);
    z.p[fi.c_off + fi.c_size / 2] ^= 0x55;
    CHECK(zframe_reader_pread(r, buf, sizeof buf, 2 * fs + 10, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "vol: frame 2");
    cm_err_clear(&err);
    CHECK(zframe_reader_pread(r, buf, sizeof buf, 2 * fs - 1, &err) == -1);
    cm_err_clear(&err);
    check_range(r, data, 0, 2 * fs);
    check_range(r, data, 3 * fs, 3 * fs);
    check_range(r, data, fs + 5, 10);
    /* The stream decoder stops at the damage. */
    CHECK(stream_all(z.p, z.len, 0, 0, &out, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    free(out.p);
    zframe_reader_free(r);
out:
    free(z.p);
    free(data);
}

/* The table lists frames in the wrong sizes, but still tiles the stream. */
static void
test_table_lies(void)
{
    const size_t fs = 32 * KIB, len = 3 * fs + 500, n = 4;
    uint8_t *data = gen_data(len, 31), buf[16];
    struct cm_err err = CM_ERR_INIT;
    struct zframe_reader *r = NULL;
    struct sink z, out;
    struct src src;
    uint8_t *e;

    CHECK(compress(data, len, 0, fs, &z, &err) == 0);
    e = z.p + z.len - 9 - 8 * n;
    put32(e + 4, get32(e + 4) - 100);         /* frame 0 shorter */
    put32(e + 8 + 4, get32(e + 8 + 4) + 100); /* frame 1 longer */
    src = (struct src){z.p, z.len, 0, 0, 0, CM_OK};
    CHECK(zframe_reader_open(src_pread, &src, z.len, "vol", &r, &err) == 0);
    if (r != NULL) {
        CHECK(zframe_reader_pread(r, buf, sizeof buf, 0, &err) == -1);
        CHECK_INT_EQ(err.code, CM_EFORMAT);
        CHECK_STR_HAS(err.msg, "frame 0");
        cm_err_clear(&err);
        CHECK(zframe_reader_pread(r, buf, sizeof buf, fs + 1000, &err) == -1);
        CHECK_STR_HAS(err.msg, "frame 1");
        cm_err_clear(&err);
        CHECK(zframe_reader_pread(r, buf, sizeof buf, 2 * fs + 5, &err) == 0);
        CHECK_MEM_EQ(buf, data + 2 * fs + 5, sizeof buf);
        zframe_reader_free(r);
    }
    CHECK(stream_all(z.p, z.len, 0, 0, &out, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "seek table does not match");
    cm_err_clear(&err);
    free(out.p);
    /* Compressed sizes shifted between frames 1 and 2. */
    put32(e + 4, get32(e + 4) + 100);
    put32(e + 8 + 4, get32(e + 8 + 4) - 100);
    put32(e + 8, get32(e + 8) - 10);
    put32(e + 16, get32(e + 16) + 10);
    CHECK(zframe_reader_open(src_pread, &src, z.len, "vol", &r, &err) == 0);
    if (r != NULL) {
        CHECK(zframe_reader_pread(r, buf, sizeof buf, fs + 5, &err) == -1);
        CHECK_STR_HAS(err.msg, "frame 1 (offset");
        CHECK_STR_HAS(err.msg, "not one zstd frame");
        cm_err_clear(&err);
        CHECK(zframe_reader_pread(r, buf, sizeof buf, 5, &err) == 0);
        CHECK_MEM_EQ(buf, data + 5, sizeof buf);
        zframe_reader_free(r);
    }
    free(z.p);
    free(data);
}

/*
 * A stream with a foreign skippable frame before frame 0, listed in the
 * table as the seekable format says (uncompressed size 0).
 */
static void
test_foreign_skippable(void)
{
    const size_t fs = 16 * KIB, len = 3 * fs + 9, n = 4;
    uint8_t *data = gen_data(len, 33), *c, *t;
    struct cm_err err = CM_ERR_INIT;
    struct zframe_reader *r = NULL;
    size_t old = 8 + 8 * n + 9, nt = 8 + 8 * (n + 1) + 9, body, clen;
    struct sink z, out;
    struct src src;

    CHECK(compress(data, len, 0, fs, &z, &err) == 0);
    body = z.len - old;
    clen = 20 + body + nt;
    c = calloc(1, clen);
    put32(c, 0x184D2A53u);
    put32(c + 4, 12);
    memcpy(c + 20, z.p, body);
    t = c + 20 + body;
    put32(t, ZFRAME_SKIPPABLE_MAGIC);
    put32(t + 4, (uint32_t)(nt - 8));
    put32(t + 8, 20);
    put32(t + 12, 0);
    memcpy(t + 16, z.p + body + 8, 8 * n + 9);
    put32(t + nt - 9, (uint32_t)(n + 1));
    src = (struct src){c, clen, 0, 0, 0, CM_OK};
    CHECK(zframe_reader_open(src_pread, &src, clen, "vol", &r, &err) == 0);
    if (r != NULL) {
        CHECK_INT_EQ(zframe_reader_nframes(r), n + 1);
        CHECK_INT_EQ(zframe_reader_frame_of(r, 0), 1);
        check_range(r, data, 0, len);
        check_range(r, data, 3, 10);
        zframe_reader_free(r);
    }
    check_scan(c, clen, data, len);
    CHECK(stream_all(c, clen, 3, 0, &out, &err) == 0);
    CHECK(out.len == len && memcmp(out.p, data, len) == 0);
    free(out.p);
    /* Without its table entry, the table no longer matches. */
    CHECK(stream_all(c, 20 + z.len, 3, 0, &out, &err) == -1);
    cm_err_clear(&err);
    free(out.p);
    memcpy(c + 20, z.p, z.len);
    CHECK(stream_all(c, 20 + z.len, 3, 0, &out, &err) == -1);
    CHECK_STR_HAS(err.msg, "seek table does not match the 5 frames");
    free(out.p);
    free(c);
    free(z.p);
    free(data);
}

/* Source failures: a scan stops at them, unless interrupted. */
static void
test_source_errors(void)
{
    const size_t fs = 16 * KIB, len = 6 * fs;
    uint8_t *data = gen_data(len, 34), buf[64];
    struct cm_err err = CM_ERR_INIT;
    struct zframe_reader *r = NULL;
    struct zframe_stream *st = NULL;
    struct zframe_info fi;
    struct sink z;
    struct src src;

    CHECK(compress(data, len, 0, fs, &z, &err) == 0);
    src = (struct src){z.p, z.len, 0, 0, 0, CM_OK};
    CHECK(zframe_reader_open(src_pread, &src, z.len, "vol", &r, &err) == 0);
    zframe_reader_frame(r, 3, &fi);
    src.fail_at = (size_t)fi.c_off + 5;
    src.fail_code = CM_EIO;
    CHECK(zframe_reader_pread(r, buf, sizeof buf, 3 * fs, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    CHECK_STR_HAS(err.msg, "bad sector");
    cm_err_clear(&err);
    zframe_reader_free(r);
    r = NULL;
    CHECK(zframe_reader_open_scan(src_pread, &src, z.len, "vol", &r, &err) ==
          0);
    if (r != NULL)
        CHECK_INT_EQ(zframe_reader_size(r), 3 * fs);
    zframe_reader_free(r);
    r = NULL;
    src.fail_code = CM_EINTR;
    CHECK(zframe_reader_open_scan(src_pread, &src, z.len, "vol", &r, &err) ==
          -1);
    CHECK_INT_EQ(err.code, CM_EINTR);
    cm_err_clear(&err);
    src.fail_at = z.len - 3;
    CHECK(zframe_reader_open(src_pread, &src, z.len, "vol", &r, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EINTR);
    cm_err_clear(&err);
    /* Stream mode: the source's error, every time. */
    src = (struct src){z.p, z.len, 0, 100, 20000, CM_EIO};
    CHECK(zframe_stream_new(src_read, &src, "s", 0, &st, &err) == 0);
    while (zframe_stream_read(st, buf, sizeof buf, &err) > 0)
        ;
    CHECK_INT_EQ(err.code, CM_EIO);
    cm_err_clear(&err);
    CHECK(zframe_stream_read(st, buf, sizeof buf, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    zframe_stream_free(st);
    free(z.p);
    free(data);
}

/* ------------------------------------------------------------------ */
/* Stream mode                                                         */

static void
test_stream_variants(void)
{
    const size_t fs = 16 * KIB, la = 3 * fs + 7, lb = 2 * fs;
    uint8_t *a = gen_data(la, 41), *b = gen_data(lb, 42), *cat, *plain;
    struct cm_err err = CM_ERR_INIT;
    struct sink za, zb, out;
    size_t n;

    CHECK(compress(a, la, 2, fs, &za, &err) == 0);
    CHECK(compress(b, lb, 0, fs, &zb, &err) == 0);
    /* Two streams back to back, each with its table. */
    cat = malloc(za.len + zb.len);
    memcpy(cat, za.p, za.len);
    memcpy(cat + za.len, zb.p, zb.len);
    CHECK(stream_all(cat, za.len + zb.len, 5, 0, &out, &err) == 0);
    CHECK_INT_EQ(out.len, la + lb);
    CHECK(out.len == la + lb && memcmp(out.p, a, la) == 0 &&
          memcmp(out.p + la, b, lb) == 0);
    free(out.p);
    /* Plain zstd output, no table. */
    plain = malloc(ZSTD_compressBound(la));
    n = ZSTD_compress(plain, ZSTD_compressBound(la), a, la, 3);
    CHECK(stream_all(plain, n, 0, 0, &out, &err) == 0);
    CHECK(out.len == la && memcmp(out.p, a, la) == 0);
    free(out.p);
    /* Tiny reads: zstd flushes the end of the frame after the input ends. */
    read_max = 10;
    CHECK(stream_all(plain, n, 0, 0, &out, &err) == 0);
    CHECK(out.len == la && memcmp(out.p, a, la) == 0);
    free(out.p);
    CHECK(stream_all(za.p, za.len, 0, 0, &out, &err) == 0);
    CHECK(out.len == la && memcmp(out.p, a, la) == 0);
    free(out.p);
    read_max = 0;
    /* Truncations. */
    CHECK(stream_all(plain, n - 1, 0, 0, &out, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "test: ");
    cm_err_clear(&err);
    free(out.p);
    CHECK(stream_all(za.p, za.len - 3, 0, 0, &out, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    free(out.p);
    CHECK(stream_all(za.p, 2, 0, 0, &out, &err) == -1);
    cm_err_clear(&err);
    free(out.p);
    /* A table listing a frame too many. */
    CHECK(stream_all(za.p + za.len - (8 + 8 * 4 + 9), 8 + 8 * 4 + 9, 0, 0, &out,
                     &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    free(out.p);
    free(plain);
    free(cat);
    free(za.p);
    free(zb.p);
    free(a);
    free(b);
}

static void
test_bomb_guard(void)
{
    const size_t len = 8 * MIB;
    uint8_t *zeros = calloc(1, len);
    struct cm_err err = CM_ERR_INIT;
    struct sink z, out;

    CHECK(compress(zeros, len, 2, 0, &z, &err) == 0);
    CHECK(z.len < 4096);
    CHECK(stream_all(z.p, z.len, 0, MIB, &out, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "more than 1048576 bytes");
    CHECK(out.len <= MIB);
    cm_err_clear(&err);
    free(out.p);
    CHECK(stream_all(z.p, z.len, 0, len - 1, &out, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    free(out.p);
    CHECK(stream_all(z.p, z.len, 0, len, &out, &err) == 0);
    CHECK_INT_EQ(out.len, len);
    free(out.p);
    free(z.p);
    free(zeros);
}

/* ------------------------------------------------------------------ */
/* Writer: bound, failures, memory                                     */

static void
test_size_bound(int threads)
{
    const size_t fs = 16 * KIB, len = 20 * fs + 3;
    uint8_t *data = gen_data(len, 51);
    struct zframe_writer_opts o = {0, threads, fs};
    struct zframe_writer *w = NULL;
    struct cm_err err = CM_ERR_INIT;
    size_t at[64], i = 0, k = 0, n;
    uint64_t bound[64];
    struct sink z, ref;

    sink_init(&z);
    CHECK(zframe_writer_new(&o, sink_write, &z, &w, &err) == 0);
    at[k] = 0;
    bound[k++] = zframe_writer_size_bound(w);
    while (i < len && k < CM_ARRAY_LEN(at)) {
        n = 1 + rnd() % (fs + fs / 2);
        n = n > len - i ? len - i : n;
        CHECK(zframe_writer_write(w, data + i, n, &err) == 0);
        i += n;
        at[k] = i;
        bound[k++] = zframe_writer_size_bound(w);
    }
    CHECK(zframe_writer_finish(w, &err) == 0);
    CHECK_INT_EQ(zframe_writer_size_bound(w), z.len);
    zframe_writer_free(w);
    for (size_t j = 0; j < k; j++) {
        CHECK(compress(data, at[j], 0, fs, &ref, &err) == 0);
        CHECK(ref.len <= bound[j]);
        free(ref.p);
    }
    free(z.p);
    free(data);
}

static void
test_sink_failure(int threads)
{
    const size_t fs = 16 * KIB, len = 40 * fs;
    uint8_t *data = gen_data(len, 61);
    struct zframe_writer_opts o = {0, threads, fs};
    struct zframe_writer *w = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct sink z;
    int rc = 0;

    sink_init(&z);
    z.fail_after = 50000;
    CHECK(zframe_writer_new(&o, sink_write, &z, &w, &err) == 0);
    for (size_t i = 0; i < len && rc == 0; i += 1000)
        rc = zframe_writer_write(w, data + i, len - i < 1000 ? len - i : 1000,
                                 &err);
    if (rc == 0)
        rc = zframe_writer_finish(w, &err);
    CHECK(rc == -1);
    CHECK_INT_EQ(err.code, CM_ENOSPC);
    CHECK_STR_HAS(err.msg, "medium full");
    /* It stays failed. */
    cm_err_clear(&err);
    CHECK(zframe_writer_write(w, data, 1, &err) == -1);
    CHECK_INT_EQ(err.code, CM_ENOSPC);
    zframe_writer_free(w);
    /* The seek table itself fails to fit. */
    free(z.p);
    sink_init(&z);
    z.fail_after = 10;
    cm_err_clear(&err);
    CHECK(zframe_writer_new(&o, sink_write, &z, &w, &err) == 0);
    CHECK(zframe_writer_finish(w, &err) == -1);
    CHECK_INT_EQ(err.code, CM_ENOSPC);
    zframe_writer_free(w);
    free(z.p);
    free(data);
}

static void
test_free_unfinished(void)
{
    const size_t len = 3 * MIB + 5;
    uint8_t *data = gen_data(len, 71);
    struct zframe_writer_opts o = {1, 4, 64 * KIB};
    struct zframe_writer *w = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct sink z;

    sink_init(&z);
    CHECK(zframe_writer_new(&o, sink_write, &z, &w, &err) == 0);
    CHECK(zframe_writer_write(w, data, len, &err) == 0);
    zframe_writer_free(w);
    free(z.p);
    zframe_writer_free(NULL);
    zframe_reader_free(NULL);
    zframe_stream_free(NULL);
    free(data);
}

static void
test_misuse(void)
{
    struct zframe_writer_opts o = {0, 0, 0};
    struct zframe_writer *w = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct sink z;

    sink_init(&z);
    o.level = 99;
    CHECK(zframe_writer_new(&o, sink_write, &z, &w, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    cm_err_clear(&err);
    o = (struct zframe_writer_opts){0, -1, 0};
    CHECK(zframe_writer_new(&o, sink_write, &z, &w, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    cm_err_clear(&err);
    o = (struct zframe_writer_opts){0, 0, ZFRAME_FRAME_SIZE_MAX + 1};
    CHECK(zframe_writer_new(&o, sink_write, &z, &w, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    cm_err_clear(&err);
    o = (struct zframe_writer_opts){-5, 2, 1};
    CHECK(zframe_writer_new(&o, sink_write, &z, &w, &err) == 0);
    CHECK(zframe_writer_write(w, "abc", 3, &err) == 0);
    CHECK(zframe_writer_finish(w, &err) == 0);
    CHECK(zframe_writer_finish(w, &err) == -1);
    cm_err_clear(&err);
    CHECK(zframe_writer_write(w, "d", 1, &err) == -1);
    zframe_writer_free(w);
    /* Three one-byte frames. */
    check_reader((const uint8_t *)"abc", 3, &z, 1);
    free(z.p);
}

static void
test_bounded_memory(int threads)
{
    const size_t block = 4 * MIB, total = 64 * MIB;
    uint8_t *data = gen_data(block, 81);
    struct zframe_writer_opts o = {1, threads, 0};
    struct zframe_writer *w = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct sink z;

    sink_init(&z);
    z.delay = 3000;
    CHECK(zframe_writer_new(&o, sink_write, &z, &w, &err) == 0);
    for (size_t i = 0; i < total; i += block) {
        CHECK(zframe_writer_write(w, data, block, &err) == 0);
        CHECK(zframe_writer_peak_frames(w) <= (size_t)(2 * threads + 2));
    }
    CHECK(zframe_writer_finish(w, &err) == 0);
    CHECK_INT_EQ(zframe_writer_bytes_in(w), total);
    CHECK(zframe_writer_peak_frames(w) <= (size_t)(2 * threads + 2));
    CHECK(zframe_writer_peak_frames(w) >= 2);
    zframe_writer_free(w);
    free(z.p);
    free(data);
}

/* ------------------------------------------------------------------ */

static void
test_seektable_parse(void)
{
    uint8_t t[8 + 16 + 9];
    struct zframe_info *f = NULL;
    struct cm_err err = CM_ERR_INIT;
    size_t n = 0, ts = 0;

    put32(t, ZFRAME_SKIPPABLE_MAGIC);
    put32(t + 4, 16 + 9);
    put32(t + 8, 100);
    put32(t + 12, 1000);
    put32(t + 16, 50);
    put32(t + 20, 0);
    put32(t + 24, 2);
    t[28] = 0x03; /* unused bits are ignored */
    put32(t + 29, ZFRAME_SEEKABLE_MAGIC);
    CHECK(zframe_seektable_parse(t, sizeof t, 150 + sizeof t, "x", &f, &n, &ts,
                                 &err) == 0);
    CHECK_INT_EQ(n, 2);
    CHECK_INT_EQ(ts, sizeof t);
    if (f != NULL) {
        CHECK_INT_EQ(f[1].c_off, 100);
        CHECK_INT_EQ(f[1].d_off, 1000);
        CHECK_INT_EQ(f[1].d_size, 0);
    }
    free(f);
    CHECK(zframe_seektable_parse(t, sizeof t, 151 + sizeof t, "x", &f, &n, &ts,
                                 &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "x: seek table covers 150 bytes");
    cm_err_clear(&err);
    CHECK(zframe_seektable_parse(t, sizeof t - 1, 150 + sizeof t, "x", &f, &n,
                                 &ts, &err) == -1);
}

int
main(void)
{
    test_seektable_parse();
    test_round_trips();
    test_random_access();
    test_damaged_table();
    test_checksum_table();
    test_corrupt_frame();
    test_table_lies();
    test_foreign_skippable();
    test_source_errors();
    test_stream_variants();
    test_bomb_guard();
    for (size_t t = 0; t < CM_ARRAY_LEN(thread_counts); t++) {
        test_size_bound(thread_counts[t]);
        test_sink_failure(thread_counts[t]);
    }
    test_free_unfinished();
    test_misuse();
    test_bounded_memory(2);
    test_bounded_memory(4);
    return check_report();
}
