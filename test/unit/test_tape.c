/* tape and tapein: a set's files out as one blocked tar stream and back
 * in order; streams that are not one set's files are refused. */
#include "tape.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "io.h"
#include "tapein.h"
#include "tarw.h"

static char scratch[] = "/tmp/test_tape.XXXXXX";

static void
put(const char *name, size_t size, int fill)
{
    char path[4200];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", scratch, name);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    for (size_t i = 0; f != NULL && i < size; i++)
        fputc(fill + (int)(i % 7), f);
    if (f != NULL)
        fclose(f);
}

static void
test_round_trip(void)
{
    struct cm_err err = CM_ERR_INIT;
    const char *set = "coldmail-h-20261128T000000Z-01234567";
    const char *names[] = {"vol-0001.tar.zst.age", "RESTORE.txt", "MANIFEST"};
    size_t sizes[] = {3000000, 0, 700};
    char dev[4200], path[4200];
    struct tape *t = NULL;
    struct tapein *in = NULL;
    struct tapein_member m;
    struct stat st;
    static uint8_t got[4000000];

    snprintf(dev, sizeof dev, "%s/tape", scratch);
    for (size_t i = 0; i < 3; i++)
        put(names[i], sizes[i], 'a' + (int)i);
    CHECK(tape_open(dev, 64 * 1024, &t, &err) == 0);
    for (size_t i = 0; t != NULL && i < 3; i++)
        CHECK(tape_add_file(t, scratch, set, names[i], &err) == 0);
    CHECK(t != NULL && tape_close(t, &err) == 0);
    CHECK_STR_EQ(err.msg, "");
    CHECK(t != NULL && tape_bytes(t) % (64 * 1024) == 0);
    tape_free(t);
    CHECK(stat(dev, &st) == 0 && st.st_size % (64 * 1024) == 0);
    snprintf(path, sizeof path, "%s/MANIFEST", scratch);
    CHECK(access(path, F_OK) == -1); /* streamed, then removed */
    CHECK(tapein_is_stream(dev) && tapein_is_stream("-") &&
          !tapein_is_stream(scratch));

    CHECK(tapein_open(dev, &in, &err) == 0);
    for (size_t i = 0; in != NULL && i < 3; i++) {
        size_t len = 0;
        long n;
        CHECK_INT_EQ(tapein_next(in, &m, &err), 1);
        CHECK_STR_EQ(m.set_name, set);
        CHECK_STR_EQ(m.name, names[i]);
        CHECK_INT_EQ(m.size, sizes[i]);
        while ((n = tapein_read(in, got + len, sizeof got - len, &err)) > 0)
            len += (size_t)n;
        CHECK_INT_EQ(len, sizes[i]);
        for (size_t k = 0; k < len; k++)
            if (got[k] != (uint8_t)('a' + (int)i + (int)(k % 7))) {
                CHECK(0 && "content differs");
                break;
            }
    }
    CHECK(in != NULL && tapein_next(in, &m, &err) == 0);
    tapein_free(in);
    CHECK(unlink(dev) == 0);
}

static int
append(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    return buf_append(ctx, p, len, "tar", err);
}

/* A stream holding ${n} entries at ${paths} (directories end in '/'). */
static void
hostile(const char *const *paths, size_t n, const char *needle)
{
    struct cm_err err = CM_ERR_INIT;
    char dev[4200];
    struct buf b;
    struct tarw *t = NULL;
    struct tapein *in = NULL;
    struct tapein_member m;
    int got = 1;

    snprintf(dev, sizeof dev, "%s/hostile", scratch);
    buf_init(&b, 1 << 20);
    CHECK(tarw_new(append, &b, &t, &err) == 0);
    for (size_t i = 0; t != NULL && i < n; i++) {
        size_t len = strlen(paths[i]);
        char path[256];
        struct tarw_entry e = {path, TARW_FILE, 1,    0644, 0,       0,
                               0,    0,         NULL, NULL, "target"};
        uint64_t a, d;
        snprintf(path, sizeof path, "%s", paths[i]);
        if (path[len - 1] == '/') {
            path[len - 1] = '\0';
            e.kind = TARW_DIR;
            e.size = 0;
        } else if (path[0] == '@') {
            memmove(path, path + 1, len);
            e.kind = TARW_SYMLINK;
            e.size = 0;
        }
        CHECK(tarw_begin(t, &e, &a, &d, &err) == 0);
        if (e.kind == TARW_FILE)
            CHECK(tarw_data(t, "x", 1, &err) == 0);
        CHECK(tarw_end(t, &err) == 0);
    }
    CHECK(t != NULL && tarw_finish(t, &err) == 0);
    tarw_free(t);
    CHECK(io_write_file_excl(dev, b.data, b.len, 0600, &err) == 0);
    CHECK(tapein_open(dev, &in, &err) == 0);
    while (in != NULL && (got = tapein_next(in, &m, &err)) == 1)
        ;
    CHECK_INT_EQ(got, -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, needle);
    tapein_free(in);
    buf_free(&b);
    unlink(dev);
}

static void
test_refusals(void)
{
    const char *other[] = {"other/vol-0001.tar.zst.age"};
    const char *nested[] = {"coldmail-a/", "coldmail-a/sub/x"};
    const char *two[] = {"coldmail-a/x", "coldmail-b/y"};
    const char *link[] = {"coldmail-a/", "@coldmail-a/x"};
    const char *dotdot[] = {"coldmail-a/../../etc/x"};
    const char *bare[] = {"coldmail-a"};
    const char *name[] = {"coldmail-a/a b"};

    hostile(other, 1, "not in a coldmail set directory");
    hostile(nested, 2, "not a set's file name");
    hostile(two, 2, "or in another one");
    hostile(link, 2, "not a regular file");
    hostile(dotdot, 1, "unsafe path");
    hostile(bare, 1, "not a directory");
    hostile(name, 1, "not a set's file name");
}

static void
test_unpack(void)
{
    struct cm_err err = CM_ERR_INIT;
    const char *set = "coldmail-h-20261128T000000Z-89abcdef";
    char dev[4200], spool[4200], dir[4400], path[4600];
    struct tape *t = NULL;
    struct stat st;

    snprintf(dev, sizeof dev, "%s/tape2", scratch);
    snprintf(spool, sizeof spool, "%s/spool", scratch);
    CHECK(mkdir(spool, 0700) == 0);
    put("MANIFEST", 100, 'm');
    CHECK(tape_open(dev, 512, &t, &err) == 0);
    CHECK(t != NULL && tape_add_file(t, scratch, set, "MANIFEST", &err) == 0);
    CHECK(t != NULL && tape_close(t, &err) == 0);
    tape_free(t);
    CHECK(tapein_unpack(dev, spool, dir, sizeof dir, &err) == 0);
    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    CHECK(stat(path, &st) == 0 && st.st_size == 100);
    CHECK_STR_HAS(dir, set);
    tapein_unpack_remove(dir);
    CHECK(rmdir(spool) == 0); /* nothing left in it */
    /* Not a stream at all: refused, nothing left. */
    CHECK(mkdir(spool, 0700) == 0);
    put("junk", 3000, 'j');
    snprintf(path, sizeof path, "%s/junk", scratch);
    CHECK(tapein_unpack(path, spool, dir, sizeof dir, &err) == -1);
    CHECK(err.code == CM_EFORMAT);
    CHECK(rmdir(spool) == 0);
    unlink(path);
    unlink(dev);
}

int
main(void)
{
    CHECK(mkdtemp(scratch) != NULL);
    test_round_trip();
    test_refusals();
    test_unpack();
    rmdir(scratch);
    return check_report();
}
