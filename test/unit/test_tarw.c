/* tarw: offsets are exact, and the archive reads back with libarchive. */
#include "tarw.h"

#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "check.h"

static int
to_buf(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    return buf_append(ctx, p, len, "tar", err);
}

struct placed {
    const char *path;
    const char *content;
    uint64_t tar_off, data_off;
};

static void
test_offsets(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct placed items[] = {
        {"store/cur", NULL, 0, 0},
        {"store/cur/1.mail:2,S", "Subject: hi\n\nbody\n", 0, 0},
        {"store/cur/a-very-long-name-that-needs-a-pax-header-because-it-is-"
         "longer-than-one-hundred-characters-in-total-length.mail:2,RS",
         "x", 0, 0},
        {"store/empty", "", 0, 0},
        {"store/big", NULL, 0, 0},
    };
    static char big[70000];
    struct tarw *t = NULL;
    struct buf out;

    memset(big, 'B', sizeof big);
    items[4].content = big;
    buf_init(&out, 1 << 24);
    CHECK(tarw_new(to_buf, &out, &t, &err) == 0);
    for (size_t i = 0; i < CM_ARRAY_LEN(items); i++) {
        struct tarw_entry e = {items[i].path, TARW_FILE, 0, 0600,
                               1700000000, 123456789, 1000, 1000,
                               "vmail", "vmail", NULL};
        if (items[i].content == NULL && i != 4) {
            e.kind = TARW_DIR;
            e.mode = 0700;
        } else {
            e.size = i == 4 ? sizeof big : strlen(items[i].content);
        }
        CHECK(tarw_begin(t, &e, &items[i].tar_off, &items[i].data_off,
                         &err) == 0);
        CHECK(items[i].tar_off % 512 == 0);
        if (e.kind == TARW_FILE)
            CHECK(tarw_data(t, items[i].content, e.size, &err) == 0);
        CHECK(tarw_end(t, &err) == 0);
        CHECK(tarw_offset(t) - items[i].tar_off <= tarw_entry_bound(&e));
    }
    CHECK(tarw_finish(t, &err) == 0);
    tarw_free(t);
    CHECK_INT_EQ(err.code, CM_OK);
    for (size_t i = 1; i < CM_ARRAY_LEN(items); i++) {
        size_t n = i == 4 ? sizeof big : strlen(items[i].content);
        CHECK(items[i].data_off + n <= out.len);
        CHECK_MEM_EQ(out.data + items[i].data_off, items[i].content, n);
        /* Every entry starts with a header block: ustar magic at 257. */
        CHECK_MEM_EQ(out.data + items[i].tar_off + 257, "ustar", 5);
    }
    /* And the whole reads back, with nanosecond mtimes. */
    {
        struct archive *a = archive_read_new();
        struct archive_entry *ae;
        size_t n = 0;
        archive_read_support_format_tar(a);
        CHECK(archive_read_open_memory(a, out.data, out.len) == ARCHIVE_OK);
        while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
            const char *name = archive_entry_pathname(ae);
            /* libarchive writes directories with a trailing slash. */
            CHECK(strncmp(name, items[n].path, strlen(items[n].path)) == 0);
            CHECK(strlen(name) - strlen(items[n].path) ==
                  (archive_entry_filetype(ae) == AE_IFDIR ? 1u : 0u));
            CHECK_INT_EQ(archive_entry_mtime_nsec(ae), 123456789);
            CHECK_STR_EQ(archive_entry_uname(ae), "vmail");
            n++;
        }
        CHECK_INT_EQ(n, CM_ARRAY_LEN(items));
        archive_read_free(a);
    }
    buf_free(&out);
}

static int
fail_after(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    size_t *budget = ctx;

    (void)p;
    if (len > *budget)
        return cm_fail(err, CM_ENOSPC, "medium full");
    *budget -= len;
    return 0;
}

static void
test_sink_failure(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct tarw_entry e = {"f", TARW_FILE, 4096, 0644, 0, 0, 0, 0,
                           NULL, NULL, NULL};
    static char data[4096];
    size_t budget = 1024;
    struct tarw *t = NULL;
    uint64_t a, b;
    int r;

    CHECK(tarw_new(fail_after, &budget, &t, &err) == 0);
    r = tarw_begin(t, &e, &a, &b, &err);
    if (r == 0)
        r = tarw_data(t, data, sizeof data, &err);
    CHECK(r == -1);
    CHECK_INT_EQ(err.code, CM_ENOSPC);
    CHECK_STR_HAS(err.msg, "medium full");
    tarw_free(t);
}

int
main(void)
{
    test_offsets();
    test_sink_failure();
    return check_report();
}
