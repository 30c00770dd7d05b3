/*
 * tarr: entries and content of archives written by libarchive's pax and
 * ustar writers and by GNU tar; offsets of headers and content checked
 * against the raw stream and against the writer; hostile archives (crafted
 * here block by block) reported, never crashed on.
 */
#include "tarr.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "buf.h"
#include "check.h"

#define BIG (1u << 24)

/* ------------------------------------------------------------------ */
/* Sources                                                             */

struct mem {
    const uint8_t *p;
    size_t len, off;
    size_t chunk;   /* most bytes per read; varies the callback sizes */
    size_t fail_at; /* fail with CM_EAUTH once this much was read; 0: no */
};

static long
mem_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct mem *m = ctx;
    size_t n = m->len - m->off;

    if (m->fail_at != 0 && m->off >= m->fail_at)
        return cm_fail(err, CM_EAUTH, "vol: chunk 3: authentication failed");
    if (n > len)
        n = len;
    if (m->chunk != 0 && n > m->chunk)
        n = m->chunk;
    if (m->fail_at != 0 && n > m->fail_at - m->off)
        n = m->fail_at - m->off;
    if (n > 0)
        memcpy(p, m->p + m->off, n);
    m->off += n;
    return (long)n;
}

static struct tarr *
open_mem(struct mem *m, const struct buf *b, size_t chunk,
         const struct tarr_opts *o)
{
    struct cm_err err = CM_ERR_INIT;
    struct tarr *r = NULL;

    memset(m, 0, sizeof *m);
    m->p = b->data;
    m->len = b->len;
    m->chunk = chunk;
    CHECK(tarr_new(o, mem_read, m, &r, &err) == 0);
    return r;
}

/* Read all content of the current entry; -1 on error. */
static long
slurp(struct tarr *r, uint8_t *out, size_t max, size_t step, struct cm_err *err)
{
    size_t got = 0;
    long n;

    while ((n = tarr_read(r, out + got, max - got < step ? max - got : step,
                          err)) > 0)
        got += (size_t)n;
    return n < 0 ? -1 : (long)got;
}

/* ------------------------------------------------------------------ */
/* Archives written by libarchive                                      */

struct wentry {
    const char *path;
    int type;
    size_t size;
    const char *link;
    uint64_t header_off, data_off; /* as the writer saw them */
};

static uint8_t content[200000];

static la_ssize_t
write_cb(struct archive *a, void *ctx, const void *p, size_t len)
{
    struct cm_err err = CM_ERR_INIT;

    (void)a;
    if (buf_append(ctx, p, len, "archive", &err) == -1)
        return -1;
    return (la_ssize_t)len;
}

static uint64_t padded(uint64_t n);

static void
write_archive(struct buf *out, int pax, struct wentry *ents, size_t n)
{
    struct archive *w = archive_write_new();
    int rc;

    CHECK(pax == 2 ? archive_write_set_format_pax(w) == ARCHIVE_OK
          : pax    ? archive_write_set_format_pax_restricted(w) == ARCHIVE_OK
                   : archive_write_set_format_ustar(w) == ARCHIVE_OK);
    CHECK(archive_write_set_bytes_per_block(w, 0) == ARCHIVE_OK);
    CHECK(archive_write_open(w, out, NULL, write_cb, NULL) == ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_copy_pathname(e, ents[i].path);
        archive_entry_set_filetype(e, (unsigned)ents[i].type);
        archive_entry_set_perm(e, ents[i].type == AE_IFDIR ? 0750 : 0640);
        archive_entry_set_mtime(e, 1700000000 + (time_t)i, 123456789);
        archive_entry_set_uid(e, 5000 + (la_int64_t)i);
        archive_entry_set_gid(e, 6000);
        archive_entry_copy_uname(e, "vmail");
        archive_entry_copy_gname(e, "mail");
        if (ents[i].link != NULL)
            archive_entry_copy_symlink(e, ents[i].link);
        archive_entry_set_size(e, (la_int64_t)ents[i].size);
        /* The previous entry's padding is written with this header. */
        ents[i].header_off = padded(out->len);
        rc = archive_write_header(w, e);
        /* WARN: a name not in UTF-8, stored raw (hdrcharset=BINARY). */
        CHECK(rc == ARCHIVE_OK || rc == ARCHIVE_WARN);
        ents[i].data_off = out->len;
        if (ents[i].size > 0)
            CHECK(archive_write_data(w, content, ents[i].size) ==
                  (la_ssize_t)ents[i].size);
        archive_entry_free(e);
    }
    CHECK(archive_write_close(w) == ARCHIVE_OK);
    archive_write_free(w);
}

static uint64_t
padded(uint64_t n)
{
    return (n + 511) & ~(uint64_t)511;
}

static char long_path[300];

/* Entry ${i} as read, against what was written and the raw stream. */
static void
check_entry(const struct tarr_entry *e, const struct wentry *ents, size_t i,
            int pax, const struct buf *b)
{
    const struct wentry *w = &ents[i];

    CHECK_STR_EQ(e->path, w->path);
    CHECK_INT_EQ(e->path_len, strlen(w->path));
    CHECK_INT_EQ(e->size, w->size);
    CHECK_INT_EQ(e->mode, w->type == AE_IFDIR ? 0750 : 0640);
    CHECK_INT_EQ(e->mtime, 1700000000 + (int64_t)i);
    /* pax_restricted writes nanoseconds only with a pax header. */
    CHECK(e->mtime_ns == (pax == 2 ? 123456789u : 0u) ||
          (pax == 1 && e->mtime_ns == 123456789u));
    CHECK_INT_EQ(e->uid, 5000 + i);
    CHECK_INT_EQ(e->gid, 6000);
    CHECK_STR_EQ(e->uname, "vmail");
    CHECK_STR_EQ(e->gname, "mail");
    CHECK_INT_EQ(e->type, w->type == AE_IFDIR   ? TARR_DIR
                          : w->type == AE_IFLNK ? TARR_SYMLINK
                                                : TARR_FILE);
    if (w->link != NULL)
        CHECK(e->link != NULL && e->link_len == strlen(w->link) &&
              memcmp(e->link, w->link, e->link_len) == 0);
    /* Offsets: as the writer saw them, and chained by hand. */
    CHECK_INT_EQ(e->header_off, w->header_off);
    CHECK_INT_EQ(e->data_off, w->data_off);
    if (i > 0)
        CHECK_INT_EQ(e->header_off,
                     ents[i - 1].data_off + padded(ents[i - 1].size));
    CHECK(e->data_off >= e->header_off + 512);
    CHECK_INT_EQ(b->data[e->data_off - 512 + 156], w->type == AE_IFDIR   ? '5'
                                                   : w->type == AE_IFLNK ? '2'
                                                                         : '0');
    if (pax == 2)
        CHECK_INT_EQ(b->data[e->header_off + 156], 'x');
    else if (strlen(w->path) < 100 && strchr(w->path, '\xff') == NULL)
        CHECK_INT_EQ(e->data_off, e->header_off + 512);
    CHECK(memcmp(b->data + e->data_off, content, w->size) == 0);
}

static void
check_written(int pax, size_t chunk, size_t step)
{
    struct wentry ents[] = {
        {"f0", AE_IFREG, 0, NULL, 0, 0},
        {"d", AE_IFDIR, 0, NULL, 0, 0},
        {"d/f1", AE_IFREG, 1, NULL, 0, 0},
        {"d/f511", AE_IFREG, 511, NULL, 0, 0},
        {"d/f512", AE_IFREG, 512, NULL, 0, 0},
        {"d/l", AE_IFLNK, 0, "../f0", 0, 0},
        {"d/big", AE_IFREG, 150001, NULL, 0, 0},
        {long_path, AE_IFREG, 513, NULL, 0, 0},
        {"caf\xc3\xa9/raw\xff", AE_IFREG, 3, NULL, 0, 0},
    };
    static uint8_t got[200000];
    struct cm_err err = CM_ERR_INIT;
    struct tarr_entry e;
    struct tarr *r;
    struct mem m;
    struct buf b;
    size_t i = 0;
    int rc;

    buf_init(&b, BIG);
    /* ustar: the long path goes in the prefix field; no nanoseconds. */
    write_archive(&b, pax, ents, CM_ARRAY_LEN(ents));
    r = open_mem(&m, &b, chunk, NULL);
    while ((rc = tarr_next(r, &e, &err)) == TARR_ENTRY) {
        check_entry(&e, ents, i, pax, &b);
        /* Content: all of it, or only the start of the big one. */
        if (strcmp(ents[i].path, "d/big") == 0) {
            CHECK_INT_EQ(tarr_read(r, got, 10, &err), 10);
            CHECK_MEM_EQ(got, content, 10);
        } else {
            CHECK_INT_EQ(slurp(r, got, sizeof got, step, &err), ents[i].size);
            CHECK_MEM_EQ(got, content, ents[i].size);
        }
        i++;
    }
    CHECK_INT_EQ(rc, 0);
    if (rc != 0)
        fprintf(stderr, "pax=%d: %s\n", pax, err.msg);
    CHECK_INT_EQ(i, CM_ARRAY_LEN(ents));
    CHECK_INT_EQ(tarr_next(r, &e, &err), 0);
    tarr_free(r);
    buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* GNU tar                                                             */

static int
run_tar(const char *dir, const char *format, struct buf *out)
{
    char cmd[1024], chunk[4096];
    struct cm_err err = CM_ERR_INIT;
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof cmd,
             "cd '%s' && tar --format=%s -b1 --sort=name -cf - a 2>/dev/null",
             dir, format);
    if ((p = popen(cmd, "r")) == NULL)
        return -1;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        if (buf_append(out, chunk, n, "tar", &err) == -1)
            break;
    return pclose(p) == 0 && err.code == CM_OK ? 0 : -1;
}

static void
check_gnu_tar(const char *scratch, const char *format, char long_type)
{
    char path[1024], longname[200];
    static uint8_t got[4096];
    struct cm_err err = CM_ERR_INIT;
    struct tarr_entry e;
    struct tarr *r;
    struct mem m;
    struct buf b;
    FILE *f;
    int rc, files = 0, dirs = 0, links = 0;

    /* Over 100 bytes in all, each name under 100: ustar's prefix works. */
    memset(longname, 'n', 80);
    longname[80] = '/';
    memset(longname + 81, 'o', 80);
    longname[161] = '\0';
    snprintf(path, sizeof path, "%s/a/%.80s", scratch, longname);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/a/%s", scratch, longname);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/a/%s/msg", scratch, longname);
    if ((f = fopen(path, "w")) == NULL)
        return;
    fwrite(content, 1, 700, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/a/link", scratch);
    symlink("../somewhere", path);

    buf_init(&b, BIG);
    CHECK(run_tar(scratch, format, &b) == 0);
    r = open_mem(&m, &b, 1000, NULL);
    while ((rc = tarr_next(r, &e, &err)) == TARR_ENTRY) {
        if (e.type == TARR_DIR) {
            dirs++;
            CHECK(e.path[e.path_len - 1] != '/');
        } else if (e.type == TARR_SYMLINK) {
            links++;
            CHECK_STR_EQ(e.link, "../somewhere");
        } else if (e.type == TARR_FILE) {
            files++;
            CHECK_INT_EQ(e.size, 700);
            CHECK(strstr(e.path, "/msg") != NULL);
            /* The long name's own header comes first (GNU 'L', pax 'x'). */
            CHECK_INT_EQ(b.data[e.header_off + 156], long_type);
            CHECK_INT_EQ(b.data[e.data_off - 512 + 156], '0');
            CHECK(memcmp(b.data + e.data_off, content, 700) == 0);
            CHECK_INT_EQ(slurp(r, got, sizeof got, 300, &err), 700);
            CHECK_MEM_EQ(got, content, 700);
        }
    }
    CHECK_INT_EQ(rc, 0);
    CHECK_INT_EQ(files, 1);
    CHECK_INT_EQ(dirs, 3);
    CHECK_INT_EQ(links, 1);
    tarr_free(r);
    buf_free(&b);
}

static void
test_gnu_tar(void)
{
    char scratch[] = "/tmp/coldmail-test-tarr.XXXXXX", path[1024];

    if (system("tar --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_gnu_tar: skipped, no tar\n");
        return;
    }
    if (mkdtemp(scratch) == NULL)
        return;
    snprintf(path, sizeof path, "%s/a", scratch);
    mkdir(path, 0755);
    check_gnu_tar(scratch, "gnu", 'L');
    check_gnu_tar(scratch, "posix", 'x');
    check_gnu_tar(scratch, "ustar", '0');
    snprintf(path, sizeof path, "rm -rf '%s'", scratch);
    CHECK(system(path) == 0);
}

/* ------------------------------------------------------------------ */
/* Hostile archives, block by block                                    */

static void
octal(uint8_t *field, size_t width, uint64_t v)
{
    if (v >> (3 * (width - 1)) != 0) {
        /* base-256, as GNU tar writes values too big for octal */
        memset(field, 0, width);
        field[0] = 0x80;
        for (size_t i = width - 1; i > 0 && v != 0; i--, v >>= 8)
            field[i] = (uint8_t)(v & 0xff);
        return;
    }
    snprintf((char *)field, width, "%0*llo", (int)width - 1,
             (unsigned long long)v);
}

static void
header(struct buf *b, const char *name, char type, uint64_t size,
       const char *link, uint64_t uid)
{
    uint8_t h[512];
    unsigned sum = 0;
    struct cm_err err = CM_ERR_INIT;

    memset(h, 0, sizeof h);
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
    octal(h + 100, 8, 0644);
    octal(h + 108, 8, uid);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, 1700000000);
    memset(h + 148, ' ', 8);
    h[156] = (uint8_t)type;
    if (link != NULL)
        memcpy(h + 157, link, strlen(link));
    memcpy(h + 257,
           "ustar\0"
           "00",
           8);
    for (size_t i = 0; i < sizeof h; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    CHECK(buf_append(b, h, sizeof h, "tar", &err) == 0);
}

static void
data(struct buf *b, const char *s, size_t len)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t zero[512] = {0};

    CHECK(buf_append(b, s, len, "tar", &err) == 0);
    CHECK(buf_append(b, zero, padded(len) - len, "tar", &err) == 0);
}

static void
end(struct buf *b)
{
    uint8_t zero[1024] = {0};
    struct cm_err err = CM_ERR_INIT;

    CHECK(buf_append(b, zero, sizeof zero, "tar", &err) == 0);
}

/* A pax 'x' header holding one comment record of about ${len} bytes. */
static void
pax_comment(struct buf *b, size_t len)
{
    char *rec = malloc(len + 32);
    size_t body = len, total;
    char num[16];

    if (rec == NULL)
        return;
    /* "<total> comment=<body>\n", where <total> counts its own digits. */
    snprintf(num, sizeof num, "%zu", body + 10);
    total = strlen(num) + 1 + 8 + body + 1;
    snprintf(num, sizeof num, "%zu", total);
    total = strlen(num) + 1 + 8 + body + 1;
    snprintf(rec, len + 32, "%zu comment=", total);
    memset(rec + strlen(rec), 'c', body);
    rec[total - 1] = '\n';
    header(b, "PaxHeader/x", 'x', total, NULL, 0);
    data(b, rec, total);
    free(rec);
}

/* Every entry: the result codes and, for refusals, a word of the reason. */
static void
expect(const struct buf *b, const struct tarr_opts *o, const int *rcs,
       const char *const *why, size_t n)
{
    struct cm_err err = CM_ERR_INIT;
    struct tarr_entry e;
    static uint8_t got[4096];
    struct tarr *r;
    struct mem m;

    r = open_mem(&m, b, 0, o);
    for (size_t i = 0; i < n; i++) {
        int rc = tarr_next(r, &e, &err);
        CHECK_INT_EQ(rc, rcs[i]);
        if (why[i] != NULL)
            CHECK_STR_HAS(err.msg, why[i]);
        if (rc == -1 || rc == TARR_REFUSED)
            CHECK_INT_EQ(err.code, CM_EFORMAT);
        cm_err_clear(&err);
        if (rc == TARR_ENTRY && e.type == TARR_FILE) {
            long got_n = slurp(r, got, sizeof got, 100, &err);
            if (got_n == -1) {
                CHECK_INT_EQ(err.code, CM_EFORMAT);
                CHECK_STR_HAS(err.msg, "offset");
            } else {
                CHECK_INT_EQ(got_n, e.size);
            }
            cm_err_clear(&err);
        }
    }
    tarr_free(r);
}

static void test_wider_bound(const struct buf *b);

/* Every kind of bad entry, each reported, the good ones between kept. */
static void
test_hostile_entries(void)
{
    static const int rcs[] = {
        TARR_REFUSED, TARR_ENTRY,   TARR_REFUSED, TARR_REFUSED, TARR_REFUSED,
        TARR_REFUSED, TARR_REFUSED, TARR_REFUSED, TARR_REFUSED, TARR_REFUSED,
        TARR_ENTRY,   TARR_REFUSED, TARR_REFUSED, TARR_ENTRY,   0};
    static const char *const why[] = {"tar: offset 0: ../x: unsafe path",
                                      NULL,
                                      "/etc/x: unsafe path",
                                      "a/../../x: unsafe path",
                                      "a//b: unsafe path",
                                      "h: hard link",
                                      "c: character device",
                                      "k: block device",
                                      "p: FIFO",
                                      "s: bad symlink target",
                                      NULL,
                                      "uid or gid",
                                      "comment: extension headers over 65536",
                                      NULL,
                                      NULL};
    struct buf b;

    buf_init(&b, BIG);
    header(&b, "../x", '0', 5, NULL, 0);
    data(&b, "hello", 5);
    header(&b, "ok", '0', 2, NULL, 0);
    data(&b, "ok", 2);
    header(&b, "/etc/x", '0', 3, NULL, 0);
    data(&b, "abc", 3);
    header(&b, "a/../../x", '0', 0, NULL, 0);
    header(&b, "a//b", '5', 0, NULL, 0);
    header(&b, "h", '1', 0, "ok", 0);
    header(&b, "c", '3', 0, NULL, 0);
    header(&b, "k", '4', 0, NULL, 0);
    header(&b, "p", '6', 0, NULL, 0);
    header(&b, "s", '2', 0, "", 0);
    header(&b, "d///", '5', 0, NULL, 0);
    header(&b, "u", '0', 0, NULL, 1ull << 33);
    pax_comment(&b, 70000);
    header(&b, "comment", '0', 0, NULL, 0);
    pax_comment(&b, 1000);
    header(&b, "comment2", '0', 0, NULL, 0);
    end(&b);
    expect(&b, NULL, rcs, why, CM_ARRAY_LEN(rcs));
    test_wider_bound(&b);
    buf_free(&b);
}

/* A larger bound lets the big pax header through; offsets stay exact. */
static void
test_wider_bound(const struct buf *b)
{
    struct tarr_opts wide = {"vol-0001", 0, 1u << 20};
    struct cm_err err = CM_ERR_INIT;
    struct tarr_entry e;
    struct tarr *r;
    struct mem m;
    uint8_t got[8];
    int rc, n = 0;

    r = open_mem(&m, b, 0, &wide);
    while ((rc = tarr_next(r, &e, &err)) != 0 && rc != -1) {
        if (rc == TARR_REFUSED)
            CHECK_STR_HAS(err.msg, "vol-0001: offset ");
        n += rc == TARR_ENTRY;
        cm_err_clear(&err);
        if (rc == TARR_ENTRY && strcmp(e.path, "ok") == 0) {
            CHECK_INT_EQ(e.header_off, 1024);
            CHECK_INT_EQ(e.data_off, 1536);
            CHECK_INT_EQ(slurp(r, got, sizeof got, 1, &err), 2);
            CHECK_MEM_EQ(got, "ok", 2);
        }
        if (rc == TARR_ENTRY && strcmp(e.path, "comment") == 0)
            CHECK_INT_EQ(e.data_off - e.header_off, 512 + padded(70000) + 512);
    }
    CHECK_INT_EQ(rc, 0);
    CHECK_INT_EQ(n, 4);
    tarr_free(r);
}

/* Streams that end too soon. */
static void
test_hostile_stream(void)
{
    static const int rcs2[] = {TARR_REFUSED, -1};
    static const char *const why2[] = {"content larger than 1073741824",
                                       "Truncated"};
    static const int rcs3[] = {TARR_ENTRY, -1};
    static const char *const why3[] = {NULL, "unreadable after an error"};
    static const int rcs4[] = {TARR_ENTRY, -1};
    static const char *const why4[] = {NULL, "offset 1024: no end-of-archive"};
    struct tarr_opts o = {NULL, 1u << 30, 0};
    struct cm_err err = CM_ERR_INIT;
    struct buf b;

    /* A giant declared size: refused, then the stream runs out. */
    buf_init(&b, BIG);
    header(&b, "giant", '0', 1ull << 40, NULL, 0);
    data(&b, "not that much", 13);
    end(&b);
    expect(&b, &o, rcs2, why2, CM_ARRAY_LEN(rcs2));

    /* Content cut short. */
    buf_reset(&b);
    header(&b, "cut", '0', 1000, NULL, 0);
    CHECK(buf_append(&b, content, 600, "tar", &err) == 0);
    expect(&b, &o, rcs3, why3, CM_ARRAY_LEN(rcs3));

    /* Cut at an entry boundary: the end-of-archive blocks are missing. */
    buf_reset(&b);
    header(&b, "whole", '0', 3, NULL, 0);
    data(&b, "abc", 3);
    expect(&b, &o, rcs4, why4, CM_ARRAY_LEN(rcs4));
    buf_free(&b);
}

static void
test_not_tar(void)
{
    static uint8_t junk[2048];
    struct cm_err err = CM_ERR_INIT;
    struct tarr_entry e;
    struct tarr *r;
    struct mem m;
    struct buf b;

    buf_init(&b, BIG);
    r = open_mem(&m, &b, 0, NULL);
    CHECK_INT_EQ(tarr_next(r, &e, &err), -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    CHECK_INT_EQ(tarr_next(r, &e, &err), -1);
    tarr_free(r);

    memset(junk, 'A', sizeof junk);
    CHECK(buf_append(&b, junk, sizeof junk, "junk", &err) == 0);
    r = open_mem(&m, &b, 0, NULL);
    CHECK_INT_EQ(tarr_next(r, &e, &err), -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    tarr_free(r);

    /* gzip magic: there is no decompression here. */
    buf_reset(&b);
    CHECK(buf_append(&b, "\x1f\x8b\x08\x00", 4, "junk", &err) == 0);
    CHECK(buf_append(&b, junk, sizeof junk, "junk", &err) == 0);
    r = open_mem(&m, &b, 0, NULL);
    CHECK_INT_EQ(tarr_next(r, &e, &err), -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    tarr_free(r);
    buf_free(&b);
}

/* The source's own error comes through unchanged. */
static void
test_source_error(void)
{
    struct wentry ents[] = {{"a", AE_IFREG, 3000, NULL, 0, 0},
                            {"b", AE_IFREG, 3000, NULL, 0, 0}};
    static uint8_t got[8192];
    struct cm_err err = CM_ERR_INIT;
    struct tarr_entry e;
    struct tarr *r;
    struct mem m;
    struct buf b;

    buf_init(&b, BIG);
    write_archive(&b, 1, ents, 2);
    r = open_mem(&m, &b, 700, NULL);
    m.fail_at = 2000;
    CHECK_INT_EQ(tarr_next(r, &e, &err), TARR_ENTRY);
    CHECK_INT_EQ(slurp(r, got, sizeof got, 512, &err), -1);
    CHECK_INT_EQ(err.code, CM_EAUTH);
    CHECK_STR_EQ(err.msg, "vol: chunk 3: authentication failed");
    cm_err_clear(&err);
    CHECK_INT_EQ(tarr_next(r, &e, &err), -1);
    tarr_free(r);
    buf_free(&b);
}

int
main(void)
{
    for (size_t i = 0; i < sizeof content; i++)
        content[i] = (uint8_t)(i * 7 + i / 251);
    memset(long_path, 'p', 120);
    memcpy(long_path + 120, "/q", 3);
    for (int pax = 0; pax <= 2; pax++) {
        check_written(pax, 0, 65536);
        check_written(pax, 1, 1);
        check_written(pax, 777, 4000);
    }
    test_gnu_tar();
    test_hostile_entries();
    test_hostile_stream();
    test_not_tar();
    test_source_error();
    return check_report();
}
