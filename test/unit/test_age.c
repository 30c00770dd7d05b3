#include "age.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

#define MIB (1024 * 1024)
#define CHUNK AGE_CHUNK_SIZE
#define CT_CHUNK AGE_CHUNK_CT_SIZE

static char tmpdir[256];

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

struct membuf {
    uint8_t *p;
    size_t len;
    size_t fail_after; /* sink fails once it holds this much (0: never) */
};

static int
mem_sink(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    struct membuf *m = ctx;
    uint8_t *q;

    if (m->fail_after > 0 && m->len + len > m->fail_after)
        return cm_fail(err, CM_ENOSPC, "sink: medium full");
    if ((q = realloc(m->p, m->len + len + 1)) == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    memcpy(q + m->len, p, len);
    m->p = q;
    m->len += len;
    return 0;
}

struct memsrc {
    const uint8_t *p;
    size_t len, pos;
    size_t step; /* most bytes per read (0: any) */
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

static uint8_t *
pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n + 1);
    uint32_t x = seed * 2654435761u + 1;

    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
    return p;
}

static struct age_identity ids_x[3];
static struct age_recipient rcp_x[3];

static void
make_keys(void)
{
    struct cm_err err = CM_ERR_INIT;

    for (int i = 0; i < 3; i++) {
        CHECK(agekey_identity_generate(&ids_x[i], &err) == 0);
        CHECK(agekey_identity_recipient(&ids_x[i], &rcp_x[i], &err) == 0);
    }
}

static struct age_identities
one_id(const struct age_identity *id)
{
    struct age_identities ids = {(struct age_identity *)id, 1};
    return ids;
}

static struct membuf
encrypt(const uint8_t *p, size_t len, const struct age_recipient *r, size_t n,
        size_t piece)
{
    struct cm_err err = CM_ERR_INIT;
    struct membuf ct = {NULL, 0, 0};
    struct age_writer *w = NULL;
    int ok;

    ok = age_writer_new(r, n, mem_sink, &ct, &w, &err) == 0;
    for (size_t off = 0; ok && off < len; off += piece) {
        size_t k = len - off < piece ? len - off : piece;
        ok = age_writer_write(w, p + off, k, &err) == 0;
    }
    ok = ok && age_writer_finish(w, &err) == 0;
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "encrypt: %s\n", err.msg);
    else
        CHECK_INT_EQ(age_writer_bytes_out(w), ct.len);
    age_writer_free(w);
    return ct;
}

struct result {
    int rc;
    struct cm_err err;
    int phase; /* 0 open, 1 read */
    struct membuf pt;
};

static struct result
decrypt(const uint8_t *ct, size_t len, const struct age_identities *ids,
        size_t step)
{
    struct result res;
    struct memsrc src = {ct, len, 0, step};
    struct age_stream *s = NULL;
    uint8_t buf[10000];
    long n;

    memset(&res, 0, sizeof res);
    res.rc = -1;
    if (age_stream_open(mem_read, &src, "vol-0003.tar.zst.age", ids, &s,
                        &res.err) == -1)
        return res;
    res.phase = 1;
    while ((n = age_stream_read(s, buf, sizeof buf, &res.err)) > 0)
        mem_sink(&res.pt, buf, (size_t)n, NULL);
    if (n == 0)
        res.rc = 0;
    age_stream_free(s);
    return res;
}

static size_t
header_len(const struct membuf *ct)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_header h;
    size_t n;

    if (age_header_parse(ct->p, ct->len, "t", &h, &err) == -1)
        return 0;
    n = h.len;
    age_header_free(&h);
    return n;
}

static void
write_path(const char *name, const uint8_t *p, size_t len, char *path,
           size_t pathlen)
{
    FILE *f;

    snprintf(path, pathlen, "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

/* ------------------------------------------------------------------ */
/* Round trips                                                         */

static void
round_trip(size_t len, size_t piece, size_t step)
{
    struct age_identities ids = one_id(&ids_x[0]);
    uint8_t *p = pattern(len, (unsigned)len);
    struct membuf ct = encrypt(p, len, &rcp_x[0], 1, piece);
    struct result res = decrypt(ct.p, ct.len, &ids, step);

    CHECK_INT_EQ(res.rc, 0);
    if (res.rc != 0)
        fprintf(stderr, "size %zu: %s\n", len, res.err.msg);
    CHECK_INT_EQ(res.pt.len, len);
    CHECK(res.pt.len == len && (len == 0 || memcmp(res.pt.p, p, len) == 0));
    CHECK_INT_EQ(ct.len, age_ciphertext_size(header_len(&ct), len));
    free(res.pt.p);
    free(ct.p);
    free(p);
}

static void
test_round_trips(void)
{
    static const size_t sizes[] = {0,     1,         100,       CHUNK - 1,
                                   CHUNK, CHUNK + 1, 2 * CHUNK, 5 * MIB + 3};

    for (size_t i = 0; i < CM_ARRAY_LEN(sizes); i++)
        round_trip(sizes[i], 1 << 20, 0);
    /* Odd write sizes, and a source that returns one byte at a time. */
    round_trip(3 * CHUNK + 7, 1000, 0);
    round_trip(3 * CHUNK + 7, 1, 0);
    round_trip(CHUNK + 1, 65536, 1);
    round_trip(0, 1, 1);
    round_trip(2 * CHUNK, 777, 1);
    round_trip(150000, 4096, 7);
}

static void
test_ciphertext_size(void)
{
    CHECK_INT_EQ(age_ciphertext_size(100, 0), 100 + 16 + 16);
    CHECK_INT_EQ(age_ciphertext_size(100, 1), 100 + 16 + 1 + 16);
    CHECK_INT_EQ(age_ciphertext_size(100, CHUNK), 100 + 16 + CHUNK + 16);
    CHECK_INT_EQ(age_ciphertext_size(100, CHUNK + 1),
                 100 + 16 + CHUNK + 1 + 32);
    CHECK(age_ciphertext_size(UINT64_MAX - 10, 100) == UINT64_MAX);
    CHECK(age_ciphertext_size(10, UINT64_MAX - 10) == UINT64_MAX);
}

static void
test_multiple_recipients(void)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t *p = pattern(70000, 3);
    struct membuf ct = encrypt(p, 70000, rcp_x, 2, 70000);
    struct age_identity other;
    struct age_identities ids;
    struct result res;

    for (int i = 0; i < 2; i++) {
        ids = one_id(&ids_x[i]);
        res = decrypt(ct.p, ct.len, &ids, 0);
        CHECK_INT_EQ(res.rc, 0);
        CHECK(res.pt.len == 70000 && memcmp(res.pt.p, p, 70000) == 0);
        free(res.pt.p);
    }
    /* Wrong identity: no match, nothing released. */
    ids = one_id(&ids_x[2]);
    res = decrypt(ct.p, ct.len, &ids, 0);
    CHECK_INT_EQ(res.rc, -1);
    CHECK_INT_EQ(res.err.code, CM_ENOKEY);
    CHECK_STR_HAS(res.err.msg, "vol-0003.tar.zst.age: no identity matches");
    CHECK_INT_EQ(res.phase, 0);
    /* A low-order recipient cannot be encrypted to. */
    {
        struct age_recipient zero;
        struct age_writer *w = NULL;
        struct membuf sink = {NULL, 0, 0};
        memset(&zero, 0, sizeof zero);
        CHECK(age_writer_new(&zero, 1, mem_sink, &sink, &w, &err) == -1);
        CHECK_INT_EQ(err.code, CM_EUSAGE);
        CHECK(w == NULL && sink.len == 0);
        cm_err_clear(&err);
    }
    /* Several identities: the matching one is found among them. */
    CHECK(agekey_identity_generate(&other, &err) == 0);
    {
        struct age_identity list[3] = {other, ids_x[2], ids_x[1]};
        struct age_identities many = {list, 3};
        res = decrypt(ct.p, ct.len, &many, 0);
        CHECK_INT_EQ(res.rc, 0);
        free(res.pt.p);
        many.n = 2;
        res = decrypt(ct.p, ct.len, &many, 0);
        CHECK_INT_EQ(res.err.code, CM_ENOKEY);
        many.n = 0;
        res = decrypt(ct.p, ct.len, &many, 0);
        CHECK_INT_EQ(res.err.code, CM_ENOKEY);
    }
    free(ct.p);
    free(p);
}

static void
test_scrypt(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_recipient r[2];
    struct age_identity pass, wrong;
    struct age_identities ids;
    struct age_writer *w = NULL;
    struct membuf ct, sink = {NULL, 0, 0};
    struct result res;
    uint8_t *p = pattern(1000, 9);

    CHECK(agekey_recipient_scrypt("correct horse", 10, &r[0], &err) == 0);
    CHECK(agekey_identity_scrypt("correct horse", &pass, &err) == 0);
    CHECK(agekey_identity_scrypt("battery staple", &wrong, &err) == 0);
    ct = encrypt(p, 1000, r, 1, 1000);
    CHECK(memmem(ct.p, ct.len, "-> scrypt ", 10) != NULL);
    CHECK(memmem(ct.p, ct.len, " 10\n", 4) != NULL);
    ids = one_id(&pass);
    res = decrypt(ct.p, ct.len, &ids, 0);
    CHECK_INT_EQ(res.rc, 0);
    CHECK(res.pt.len == 1000 && memcmp(res.pt.p, p, 1000) == 0);
    free(res.pt.p);
    /* An X25519 identity and a wrong passphrase do not match. */
    {
        struct age_identity list[2] = {ids_x[0], wrong};
        struct age_identities two = {list, 2};
        res = decrypt(ct.p, ct.len, &two, 0);
        CHECK_INT_EQ(res.err.code, CM_ENOKEY);
    }
    /* scrypt must be alone. */
    r[1] = rcp_x[0];
    CHECK(age_writer_new(r, 2, mem_sink, &sink, &w, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    CHECK(w == NULL);
    CHECK_INT_EQ(sink.len, 0);
    cm_err_clear(&err);
    r[0].scrypt_log_n = AGEKEY_SCRYPT_MAX_LOG_N + 1;
    CHECK(age_writer_new(r, 1, mem_sink, &sink, &w, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    cm_err_clear(&err);
    CHECK(age_writer_new(r, 0, mem_sink, &sink, &w, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    agekey_identity_wipe(&pass);
    free(sink.p);
    free(ct.p);
    free(p);
}

/* ------------------------------------------------------------------ */
/* Damage                                                              */

static void
expect_fail(const uint8_t *ct, size_t len, enum cm_code code, int phase,
            const char *msg)
{
    struct age_identities ids = one_id(&ids_x[0]);
    struct result res = decrypt(ct, len, &ids, 0);

    CHECK_INT_EQ(res.rc, -1);
    CHECK_INT_EQ(res.err.code, code);
    CHECK_INT_EQ(res.phase, phase);
    if (msg != NULL)
        CHECK_STR_HAS(res.err.msg, msg);
    free(res.pt.p);
}

static void
test_damaged_header(void)
{
    uint8_t *p = pattern(5000, 5);
    struct membuf ct = encrypt(p, 5000, rcp_x, 1, 5000);
    size_t hl = header_len(&ct);
    uint8_t *d = malloc(ct.len + 200);
    uint8_t *mac = memmem(ct.p, ct.len, "\n--- ", 5) + 5;
    uint8_t *stanza = memmem(ct.p, ct.len, "-> X25519 ", 10);
    size_t so = (size_t)(stanza - ct.p), mo = (size_t)(mac - ct.p);

    /* Version line. */
    memcpy(d, ct.p, ct.len);
    d[20] = '2';
    expect_fail(d, ct.len, CM_EFORMAT, 0, "not an age v1 file");
    /* MAC: a different (canonical) character. */
    memcpy(d, ct.p, ct.len);
    d[mo] = d[mo] == 'A' ? 'B' : 'A';
    expect_fail(d, ct.len, CM_EAUTH, 0, "header MAC does not match");
    /* A stanza type changed: no longer ours. */
    memcpy(d, ct.p, ct.len);
    d[so + 8] = '8';
    expect_fail(d, ct.len, CM_ENOKEY, 0, "no identity matches");
    /* The wrapped key (body line) changed. */
    memcpy(d, ct.p, ct.len);
    {
        uint8_t *body = memchr(d + so, '\n', ct.len - so) + 1;
        body[3] = body[3] == 'A' ? 'B' : 'A';
    }
    expect_fail(d, ct.len, CM_ENOKEY, 0, NULL);
    /* A grease stanza inserted: parses, opens, but the MAC fails. */
    memcpy(d, ct.p, so);
    memcpy(d + so, "-> grease x\n\n", 13);
    memcpy(d + so + 13, ct.p + so, ct.len - so);
    expect_fail(d, ct.len + 13, CM_EAUTH, 0, "header MAC");
    /* Truncated header, truncated nonce, no nonce. */
    expect_fail(ct.p, hl - 10, CM_EFORMAT, 0, "truncated");
    expect_fail(ct.p, hl + 5, CM_EFORMAT, 0, "nonce");
    expect_fail(ct.p, hl, CM_EFORMAT, 0, "nonce");
    expect_fail(ct.p, 0, CM_EFORMAT, 0, "empty");
    /* A CR in the header. */
    memcpy(d, ct.p, so);
    memcpy(d + so, "-> grease\r\n\n", 12);
    memcpy(d + so + 12, ct.p + so, ct.len - so);
    expect_fail(d, ct.len + 12, CM_EFORMAT, 0, "header line 2");
    /* Not an age file at all: armor decoder complains. */
    expect_fail((const uint8_t *)"hello\n", 6, CM_EFORMAT, 0, "armor");
    free(d);
    free(ct.p);
    free(p);
}

static void
test_header_limits(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_header h;
    size_t cap = AGE_HEADER_MAX + 1000, len = 0;
    char *t = malloc(cap);

    len += (size_t)sprintf(t, "age-encryption.org/v1\n");
    for (int i = 0; i <= AGE_STANZAS_MAX; i++)
        len += (size_t)sprintf(t + len, "-> x%d\n\n", i);
    len += (size_t)sprintf(t + len, "--- %043d\n", 0);
    CHECK(age_header_parse((uint8_t *)t, len, "big", &h, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "too many stanzas");
    cm_err_clear(&err);

    len = (size_t)sprintf(t, "age-encryption.org/v1\n-> x\n");
    while (len < AGE_HEADER_MAX + 100)
        len += (size_t)sprintf(t + len, "%064d\n", 0);
    CHECK(age_header_parse((uint8_t *)t, len, "big", &h, &err) == -1);
    CHECK_STR_HAS(err.msg, "larger than");
    cm_err_clear(&err);

    len = (size_t)sprintf(t, "age-encryption.org/v1\n--- "
                             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    CHECK(age_header_parse((uint8_t *)t, len, "none", &h, &err) == -1);
    CHECK_STR_HAS(err.msg, "no recipient stanza");
    cm_err_clear(&err);

    len = (size_t)sprintf(t, "age-encryption.org/v1\n-> a  b\n\n--- "
                             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    CHECK(age_header_parse((uint8_t *)t, len, "sp", &h, &err) == -1);
    CHECK_STR_HAS(err.msg, "empty stanza argument");
    cm_err_clear(&err);

    len = (size_t)sprintf(t, "age-encryption.org/v1\n-> a b c\nAAAA\n--- "
                             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
                             "payload");
    CHECK(age_header_parse((uint8_t *)t, len, "ok", &h, &err) == 0);
    CHECK_INT_EQ(h.nstanzas, 1);
    CHECK_STR_EQ(h.stanzas[0].type, "a");
    CHECK_INT_EQ(h.stanzas[0].nargs, 2);
    CHECK_STR_EQ(h.stanzas[0].args[1], "c");
    CHECK_INT_EQ(h.stanzas[0].body_len, 3);
    CHECK_INT_EQ(h.len, len - 7);
    CHECK_INT_EQ(h.mac_input_len, len - 7 - 45);
    age_header_free(&h);
    age_header_free(NULL);
    free(t);
}

static void
test_truncated_extended(void)
{
    size_t len = 3 * CHUNK + 100;
    uint8_t *p = pattern(len, 11);
    struct membuf ct = encrypt(p, len, rcp_x, 1, len);
    size_t pay = header_len(&ct) + 16;
    uint8_t *d = malloc(ct.len + CT_CHUNK);
    struct age_identities ids = one_id(&ids_x[0]);
    struct result res;

    /* Inside the last chunk, at a chunk boundary, within a tag. */
    expect_fail(ct.p, ct.len - 1, CM_EAUTH, 1, "chunk 3");
    expect_fail(ct.p, pay + 3 * CT_CHUNK, CM_EAUTH, 1, "chunk 3: missing");
    expect_fail(ct.p, pay + 2 * CT_CHUNK + 5, CM_EAUTH, 1, "chunk 2");
    expect_fail(ct.p, pay + 10, CM_EAUTH, 1, "chunk 0");
    expect_fail(ct.p, pay, CM_EAUTH, 1, "chunk 0: missing");
    /* Released: exactly the complete chunks before the cut. */
    res = decrypt(ct.p, pay + 2 * CT_CHUNK + 5, &ids, 0);
    CHECK_INT_EQ(res.pt.len, 2 * CHUNK);
    CHECK(memcmp(res.pt.p, p, 2 * CHUNK) == 0);
    free(res.pt.p);
    /* Extended by a byte, and by a whole chunk. */
    memcpy(d, ct.p, ct.len);
    d[ct.len] = 0;
    expect_fail(d, ct.len + 1, CM_EAUTH, 1, "chunk 3");
    memcpy(d + ct.len, ct.p + pay, CT_CHUNK);
    expect_fail(d, ct.len + CT_CHUNK, CM_EAUTH, 1, NULL);
    free(ct.p);
    free(p);

    /* A full final chunk followed by data: it is authentic and released,
     * then the extension is reported (as age does). */
    p = pattern(2 * CHUNK, 12);
    ct = encrypt(p, 2 * CHUNK, rcp_x, 1, CHUNK);
    memcpy(d, ct.p, ct.len);
    memcpy(d + ct.len, "garbage", 7);
    res = decrypt(d, ct.len + 7, &ids, 0);
    CHECK_INT_EQ(res.rc, -1);
    CHECK_INT_EQ(res.err.code, CM_EAUTH);
    CHECK_STR_HAS(res.err.msg, "chunk 1: data after the final chunk");
    CHECK_INT_EQ(res.pt.len, 2 * CHUNK);
    free(res.pt.p);
    free(ct.p);
    free(p);
    free(d);
}

static void
flip_one(const struct membuf *ct, const uint8_t *p, size_t len, size_t pay,
         uint64_t chunk, size_t within)
{
    struct age_identities ids = one_id(&ids_x[0]);
    uint8_t *d = malloc(ct->len);
    char path[512], want[64];
    struct cm_err err = CM_ERR_INIT;
    struct age_reader *r = NULL;
    uint8_t *buf = malloc(len);
    struct result res;

    memcpy(d, ct->p, ct->len);
    d[pay + chunk * CT_CHUNK + within] ^= 0x10;
    snprintf(want, sizeof want,
             "vol-0003.tar.zst.age: chunk %" PRIu64 ": authentication failed",
             chunk);
    res = decrypt(d, ct->len, &ids, 0);
    CHECK_INT_EQ(res.rc, -1);
    CHECK_INT_EQ(res.err.code, CM_EAUTH);
    CHECK_STR_HAS(res.err.msg, want);
    CHECK_INT_EQ(res.pt.len, chunk * CHUNK);
    CHECK(res.pt.len == 0 || memcmp(res.pt.p, p, res.pt.len) == 0);
    free(res.pt.p);

    /* Random access: the damaged chunk fails and copies nothing; the
     * others still read. */
    write_path("flip.age", d, ct->len, path, sizeof path);
    CHECK(age_reader_open(path, &ids, &r, &err) == 0);
    memset(buf, 0xAA, len);
    CHECK(age_reader_pread(r, buf, 10, chunk * CHUNK + 5, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EAUTH);
    snprintf(want, sizeof want, "chunk %" PRIu64 ": authentication failed",
             chunk);
    CHECK_STR_HAS(err.msg, want);
    CHECK_STR_HAS(err.msg, "flip.age");
    CHECK(buf[0] == 0xAA && buf[9] == 0xAA);
    cm_err_clear(&err);
    for (uint64_t c = 0; c < age_reader_nchunks(r); c++) {
        if (c == chunk)
            continue;
        CHECK(age_reader_pread(r, buf, 10, c * CHUNK, &err) == 0);
        CHECK_MEM_EQ(buf, p + c * CHUNK, 10);
    }
    age_reader_free(r);
    free(buf);
    free(d);
}

static void
test_flipped_bits(void)
{
    size_t len = 5 * CHUNK + 1234;
    uint8_t *p = pattern(len, 13);
    struct membuf ct = encrypt(p, len, rcp_x, 1, len);
    size_t pay = header_len(&ct) + 16;

    flip_one(&ct, p, len, pay, 0, 0);
    flip_one(&ct, p, len, pay, 2, 40000);
    flip_one(&ct, p, len, pay, 5, 1234 + 3); /* in the last tag */
    flip_one(&ct, p, len, pay, 5, 7);
    free(ct.p);
    free(p);
}

/* ------------------------------------------------------------------ */
/* Random access                                                       */

static void
test_random_access(void)
{
    size_t len = 5 * MIB + 3;
    uint8_t *p = pattern(len, 17), *buf = malloc(len);
    struct membuf ct = encrypt(p, len, rcp_x, 2, 100000);
    struct age_identities ids = one_id(&ids_x[1]);
    struct cm_err err = CM_ERR_INIT;
    struct age_reader *r = NULL;
    uint64_t size = 0, s, e;
    char path[512];
    static const struct {
        uint64_t off;
        size_t len;
    } ranges[] = {{0, 1},
                  {0, CHUNK},
                  {CHUNK - 3, 6},
                  {CHUNK, CHUNK},
                  {65530, 3 * CHUNK},
                  {5 * MIB, 3},
                  {5 * MIB + 2, 1},
                  {12345, 0},
                  {5 * MIB + 3, 0},
                  {1000000, 2000000}};

    write_path("ra.age", ct.p, ct.len, path, sizeof path);
    CHECK(age_reader_open(path, &ids, &r, &err) == 0);
    CHECK_INT_EQ(age_reader_claimed_size(r), len);
    CHECK(age_reader_size(r, &size, &err) == 0);
    CHECK_INT_EQ(size, len);
    CHECK_INT_EQ(age_reader_nchunks(r), len / CHUNK + 1);
    CHECK_INT_EQ(age_reader_chunk_of(CHUNK - 1), 0);
    CHECK_INT_EQ(age_reader_chunk_of(CHUNK), 1);
    age_reader_chunk_span(r, 0, &s, &e);
    CHECK_INT_EQ(s, header_len(&ct) + 16);
    CHECK_INT_EQ(e - s, CT_CHUNK);
    age_reader_chunk_span(r, age_reader_nchunks(r) - 1, &s, &e);
    CHECK_INT_EQ(e, ct.len);
    CHECK_INT_EQ(e - s, len % CHUNK + 16);
    for (size_t i = 0; i < CM_ARRAY_LEN(ranges); i++) {
        CHECK(age_reader_pread(r, buf, ranges[i].len, ranges[i].off, &err) ==
              0);
        CHECK_MEM_EQ(buf, p + ranges[i].off, ranges[i].len);
    }
    /* Sequential reads of odd sizes through the pread_fn. */
    for (uint64_t off = 0; off < len; off += 9999) {
        size_t n = len - off < 9999 ? (size_t)(len - off) : 9999;
        if (age_reader_pread_fn(r, buf, n, off, &err) != 0 ||
            memcmp(buf, p + off, n) != 0) {
            CHECK(0);
            break;
        }
    }
    CHECK(age_reader_pread(r, buf, len, 0, &err) == 0);
    CHECK(memcmp(buf, p, len) == 0);
    CHECK(age_reader_pread(r, buf, 2, len - 1, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    CHECK(age_reader_pread(r, buf, 1, UINT64_MAX, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    age_reader_free(r);
    age_reader_free(NULL);
    free(ct.p);
    free(buf);
    free(p);
}

static void
test_random_access_errors(void)
{
    uint8_t *p = pattern(100000, 18), buf[100];
    struct membuf ct = encrypt(p, 100000, rcp_x, 2, 100000);
    struct age_identities ids = one_id(&ids_x[1]);
    struct cm_err err = CM_ERR_INIT;
    struct age_reader *r = NULL;
    char path[512];
    int fd;

    write_path("ra2.age", ct.p, ct.len, path, sizeof path);
    /* On a descriptor the caller keeps. */
    fd = open(path, O_RDONLY);
    CHECK(age_reader_open_fd(fd, "by-fd", &ids, &r, &err) == 0);
    CHECK(age_reader_pread(r, buf, 100, 70000, &err) == 0);
    CHECK_MEM_EQ(buf, p + 70000, 100);
    age_reader_free(r);
    /* Still open, offset untouched. */
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);
    CHECK(close(fd) == 0);

    /* Wrong identity, missing file, armored file. */
    ids = one_id(&ids_x[2]);
    CHECK(age_reader_open(path, &ids, &r, &err) == -1);
    CHECK_INT_EQ(err.code, CM_ENOKEY);
    cm_err_clear(&err);
    snprintf(path, sizeof path, "%s/nope.age", tmpdir);
    CHECK(age_reader_open(path, &ids, &r, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    cm_err_clear(&err);
    write_path("a.age", (const uint8_t *)"-----BEGIN AGE ENCRYPTED FILE-----\n",
               35, path, sizeof path);
    CHECK(age_reader_open(path, &ids, &r, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "armored");
    free(ct.p);
    free(p);
}

struct memfile {
    const uint8_t *p;
    size_t len;
    uint64_t bad_off; /* reads covering this offset fail (UINT64_MAX: none) */
};

static int
memfile_pread(void *ctx, void *p, size_t len, uint64_t off, struct cm_err *err)
{
    struct memfile *m = ctx;

    if (off > m->len || len > m->len - off)
        return cm_fail(err, CM_EFORMAT, "memfile: range past the end");
    if (m->bad_off >= off && m->bad_off - off < len)
        return cm_fail(err, CM_EAUTH, "memfile: block hash mismatch");
    memcpy(p, m->p + off, len);
    return 0;
}

static void
test_random_access_src(void)
{
    size_t len = 3 * CHUNK + 10;
    uint8_t *p = pattern(len, 21), *buf = malloc(len);
    struct membuf ct = encrypt(p, len, rcp_x, 1, len);
    struct memfile m = {ct.p, ct.len, UINT64_MAX};
    struct age_identities ids = one_id(&ids_x[0]);
    struct cm_err err = CM_ERR_INIT;
    struct age_reader *r = NULL;
    uint64_t size = 0;

    CHECK(age_reader_open_src(memfile_pread, &m, ct.len, "src", &ids, &r,
                              &err) == 0);
    CHECK(age_reader_size(r, &size, &err) == 0);
    CHECK_INT_EQ(size, len);
    CHECK(age_reader_pread(r, buf, len - 5, 5, &err) == 0);
    CHECK_MEM_EQ(buf, p + 5, len - 5);
    /* The source's own error comes through. */
    m.bad_off = header_len(&ct) + 16 + CT_CHUNK + 7;
    CHECK(age_reader_pread(r, buf, 10, CHUNK + 3, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EAUTH);
    CHECK_STR_HAS(err.msg, "block hash");
    cm_err_clear(&err);
    age_reader_free(r);
    /* A size that does not match the data. */
    m.bad_off = UINT64_MAX;
    CHECK(age_reader_open_src(memfile_pread, &m, ct.len + 1, "src", &ids, &r,
                              &err) == 0);
    CHECK(age_reader_size(r, &size, &err) == -1);
    age_reader_free(r);
    free(ct.p);
    free(buf);
    free(p);
}

static void
test_random_access_truncated(void)
{
    size_t len = 4 * CHUNK + 500;
    uint8_t *p = pattern(len, 19), buf[100];
    struct membuf ct = encrypt(p, len, rcp_x, 1, len);
    struct age_identities ids = one_id(&ids_x[0]);
    struct cm_err err = CM_ERR_INIT;
    struct age_reader *r = NULL;
    size_t pay = header_len(&ct) + 16;
    uint64_t size;
    char path[512];

    /* Cut inside chunk 3: chunks 0..2 still read. */
    write_path("trunc.age", ct.p, pay + 3 * CT_CHUNK + 1000, path, sizeof path);
    CHECK(age_reader_open(path, &ids, &r, &err) == 0);
    CHECK_INT_EQ(age_reader_claimed_size(r), 3 * CHUNK + 1000 - 16);
    for (uint64_t c = 0; c < 3; c++) {
        CHECK(age_reader_pread(r, buf, sizeof buf, c * CHUNK + 77, &err) == 0);
        CHECK_MEM_EQ(buf, p + c * CHUNK + 77, sizeof buf);
    }
    CHECK(age_reader_pread(r, buf, 10, 3 * CHUNK, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EAUTH);
    CHECK_STR_HAS(err.msg, "chunk 3");
    cm_err_clear(&err);
    CHECK(age_reader_size(r, &size, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EAUTH);
    cm_err_clear(&err);
    age_reader_free(r);

    /* Cut at a chunk boundary: chunk 2 is now "final" and fails. */
    write_path("trunc2.age", ct.p, pay + 3 * CT_CHUNK, path, sizeof path);
    CHECK(age_reader_open(path, &ids, &r, &err) == 0);
    CHECK(age_reader_size(r, &size, &err) == -1);
    CHECK_STR_HAS(err.msg, "chunk 2");
    cm_err_clear(&err);
    CHECK(age_reader_pread(r, buf, 10, CHUNK, &err) == 0);
    age_reader_free(r);

    /* Sizes no age file can have. */
    write_path("trunc3.age", ct.p, pay + 3 * CT_CHUNK + 5, path, sizeof path);
    CHECK(age_reader_open(path, &ids, &r, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    write_path("trunc4.age", ct.p, pay + CT_CHUNK + 16, path, sizeof path);
    CHECK(age_reader_open(path, &ids, &r, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    write_path("trunc5.age", ct.p, pay, path, sizeof path);
    CHECK(age_reader_open(path, &ids, &r, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    write_path("trunc6.age", ct.p, pay - 3, path, sizeof path);
    CHECK(age_reader_open(path, &ids, &r, &err) == -1);
    CHECK_STR_HAS(err.msg, "nonce");
    free(ct.p);
    free(p);
}

static void
test_random_access_empty(void)
{
    struct membuf ct = encrypt(NULL, 0, rcp_x, 1, 1);
    struct age_identities ids = one_id(&ids_x[0]);
    struct cm_err err = CM_ERR_INIT;
    struct age_reader *r = NULL;
    uint64_t size = 99;
    uint8_t b;
    char path[512];

    write_path("empty.age", ct.p, ct.len, path, sizeof path);
    CHECK(age_reader_open(path, &ids, &r, &err) == 0);
    CHECK(age_reader_size(r, &size, &err) == 0);
    CHECK_INT_EQ(size, 0);
    CHECK(age_reader_pread(r, &b, 0, 0, &err) == 0);
    CHECK(age_reader_pread(r, &b, 1, 0, &err) == -1);
    age_reader_free(r);
    free(ct.p);
}

/* ------------------------------------------------------------------ */
/* Armor                                                               */

static char *
armor(const uint8_t *p, size_t len, const char *eol, size_t *outlen)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(len * 2 + 200), *o = out;

    o += sprintf(o, "-----BEGIN AGE ENCRYPTED FILE-----%s", eol);
    for (size_t off = 0; off < len; off += 48) {
        size_t n = len - off < 48 ? len - off : 48;
        for (size_t i = 0; i < n; i += 3) {
            uint32_t v = (uint32_t)p[off + i] << 16;
            if (i + 1 < n)
                v |= (uint32_t)p[off + i + 1] << 8;
            if (i + 2 < n)
                v |= p[off + i + 2];
            *o++ = a[v >> 18];
            *o++ = a[(v >> 12) & 63];
            *o++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
            *o++ = i + 2 < n ? a[v & 63] : '=';
        }
        o += sprintf(o, "%s", eol);
    }
    o += sprintf(o, "-----END AGE ENCRYPTED FILE-----%s", eol);
    *outlen = (size_t)(o - out);
    return out;
}

static void
test_armor(void)
{
    size_t lens[] = {0, 1, 47, 48, CHUNK + 100};
    struct age_identities ids = one_id(&ids_x[0]);
    struct cm_err err = CM_ERR_INIT;

    for (size_t i = 0; i < CM_ARRAY_LEN(lens); i++) {
        uint8_t *p = pattern(lens[i], 23);
        struct membuf ct = encrypt(p, lens[i], rcp_x, 1, 1000);
        size_t alen;
        char *a = armor(ct.p, ct.len, i % 2 ? "\r\n" : "\n", &alen);
        uint8_t *dec = malloc(ct.len + 1);
        struct result res;

        CHECK(age_is_armored((uint8_t *)a, alen));
        CHECK(!age_is_armored(ct.p, ct.len));
        CHECK_INT_EQ(
            age_armor_decode((uint8_t *)a, alen, dec, ct.len, "a", &err),
            (long)ct.len);
        CHECK_MEM_EQ(dec, ct.p, ct.len);
        CHECK(age_armor_decode((uint8_t *)a, alen, dec, ct.len - 1, "a",
                               &err) == -1);
        cm_err_clear(&err);
        res = decrypt((uint8_t *)a, alen, &ids, i == 4 ? 1 : 0);
        CHECK_INT_EQ(res.rc, 0);
        CHECK(res.pt.len == lens[i] &&
              (lens[i] == 0 || memcmp(res.pt.p, p, lens[i]) == 0));
        free(res.pt.p);
        /* The last line cut: the END line is missing. */
        res = decrypt((uint8_t *)a, alen - 10, &ids, 0);
        CHECK_INT_EQ(res.err.code, CM_EFORMAT);
        CHECK_STR_HAS(res.err.msg, "invalid armor");
        free(res.pt.p);
        free(dec);
        free(a);
        free(ct.p);
        free(p);
    }
}

/* ------------------------------------------------------------------ */
/* API behaviour                                                       */

static void
test_stream_states(void)
{
    uint8_t *p = pattern(100, 29), buf[200];
    struct membuf ct = encrypt(p, 100, rcp_x, 1, 100);
    struct age_identities ids = one_id(&ids_x[0]);
    struct cm_err err = CM_ERR_INIT;
    struct memsrc src = {ct.p, ct.len, 0, 0};
    struct age_stream *s = NULL;

    CHECK(age_stream_open(mem_read, &src, "x", &ids, &s, &err) == 0);
    CHECK_INT_EQ(age_stream_read(s, buf, 0, &err), 0);
    CHECK_INT_EQ(age_stream_read(s, buf, 30, &err), 30);
    CHECK_INT_EQ(age_stream_read(s, buf + 30, sizeof buf, &err), 70);
    CHECK_MEM_EQ(buf, p, 100);
    CHECK_INT_EQ(age_stream_read(s, buf, sizeof buf, &err), 0);
    CHECK_INT_EQ(age_stream_read(s, buf, sizeof buf, &err), 0);
    age_stream_free(s);
    age_stream_free(NULL);

    /* A failure repeats. */
    ct.p[ct.len - 1] ^= 1;
    src.pos = 0;
    CHECK(age_stream_open(mem_read, &src, "x", &ids, &s, &err) == 0);
    CHECK_INT_EQ(age_stream_read(s, buf, sizeof buf, &err), -1);
    CHECK_INT_EQ(err.code, CM_EAUTH);
    cm_err_clear(&err);
    CHECK_INT_EQ(age_stream_read(s, buf, sizeof buf, &err), -1);
    CHECK_INT_EQ(err.code, CM_EAUTH);
    CHECK_STR_HAS(err.msg, "x: chunk 0: authentication failed");
    age_stream_free(s);
    free(ct.p);
    free(p);
}

static int
fail_write(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    (void)ctx;
    (void)p;
    (void)len;
    return cm_fail(err, CM_EIO, "out: write failed");
}

static void
test_writer_errors(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct membuf sink = {NULL, 0, 0};
    struct age_writer *w = NULL;
    uint8_t *p = pattern(3 * CHUNK, 31);
    struct age_identities ids = one_id(&ids_x[0]);
    struct membuf out = {NULL, 0, 0};
    struct memsrc src;

    /* The sink fails while the header is written. */
    CHECK(age_writer_new(rcp_x, 1, fail_write, NULL, &w, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    CHECK(w == NULL);
    cm_err_clear(&err);

    /* A full medium mid-payload; then the writer refuses more. */
    sink.fail_after = 100000;
    CHECK(age_writer_new(rcp_x, 1, mem_sink, &sink, &w, &err) == 0);
    CHECK(age_writer_write(w, p, 3 * CHUNK, &err) == -1);
    CHECK_INT_EQ(err.code, CM_ENOSPC);
    cm_err_clear(&err);
    CHECK(age_writer_write(w, p, 1, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EINTERNAL);
    cm_err_clear(&err);
    CHECK(age_writer_finish(w, &err) == -1);
    cm_err_clear(&err);
    age_writer_free(w);
    age_writer_free(NULL);
    free(sink.p);

    /* Use after finish. */
    sink = (struct membuf){NULL, 0, 0};
    CHECK(age_writer_new(rcp_x, 1, mem_sink, &sink, &w, &err) == 0);
    CHECK(age_writer_finish(w, &err) == 0);
    CHECK(age_writer_write(w, p, 1, &err) == -1);
    CHECK_STR_HAS(err.msg, "after finish");
    cm_err_clear(&err);
    CHECK(age_writer_finish(w, &err) == -1);
    cm_err_clear(&err);
    age_writer_free(w);

    /* age_decrypt_stream: whole file, then a failing sink. */
    src = (struct memsrc){sink.p, sink.len, 0, 0};
    CHECK(age_decrypt_stream(mem_read, &src, "e", &ids, mem_sink, &out, &err) ==
          0);
    CHECK_INT_EQ(out.len, 0);
    free(sink.p);
    sink = encrypt(p, 1000, rcp_x, 1, 1000);
    src = (struct memsrc){sink.p, sink.len, 0, 0};
    CHECK(age_decrypt_stream(mem_read, &src, "e", &ids, fail_write, NULL,
                             &err) == -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    free(sink.p);
    free(p);
}

int
main(void)
{
    const char *t = getenv("TMPDIR");
    char cmd[300];

    snprintf(tmpdir, sizeof tmpdir, "%s/test_age.XXXXXX", t ? t : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    make_keys();
    test_round_trips();
    test_ciphertext_size();
    test_multiple_recipients();
    test_scrypt();
    test_damaged_header();
    test_header_limits();
    test_truncated_extended();
    test_flipped_bits();
    test_random_access();
    test_random_access_errors();
    test_random_access_src();
    test_random_access_truncated();
    test_random_access_empty();
    test_armor();
    test_stream_states();
    test_writer_errors();
    for (int i = 0; i < 3; i++)
        agekey_identity_wipe(&ids_x[i]);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report();
}
