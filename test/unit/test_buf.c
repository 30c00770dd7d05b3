#include "buf.h"

#include <errno.h>

#include "check.h"

static void
test_ceiling(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct buf b;

    buf_init(&b, 8);
    CHECK(buf_append(&b, "12345678", 8, "field", &err) == 0);
    CHECK_INT_EQ(b.len, 8);
    CHECK(buf_append(&b, "9", 1, "field", &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "field is larger than 8 bytes");
    CHECK_INT_EQ(b.len, 8);
    CHECK_STR_EQ(buf_cstr(&b, &err), "12345678");
    buf_free(&b);
}

static void
test_growth_and_take(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct buf b;
    uint8_t *p;
    size_t len;

    buf_init_secret(&b, 1 << 20);
    for (int i = 0; i < 10000; i++)
        CHECK(buf_append_byte(&b, (uint8_t)i, "x", &err) == 0);
    CHECK_INT_EQ(b.len, 10000);
    CHECK_INT_EQ(b.data[9999], (uint8_t)9999);
    CHECK(buf_printf(&b, &err, "%d-%s", 42, "end") == 0);
    CHECK_INT_EQ(b.len, 10006);
    CHECK_MEM_EQ(b.data + 10000, "42-end", 6);
    p = buf_take(&b, &len);
    CHECK_INT_EQ(len, 10006);
    CHECK(b.data == NULL && b.len == 0);
    free(p);
    buf_free(&b);
}

static void
test_errors_keep_first(void)
{
    struct cm_err err = CM_ERR_INIT;

    CHECK(cm_fail(&err, CM_EIO, "first %d", 1) == -1);
    CHECK(cm_fail(&err, CM_EAUTH, "second") == -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    CHECK_STR_EQ(err.msg, "first 1");
    cm_err_prefix(&err, "vol-%04d.tar.zst.age", 3);
    CHECK_STR_EQ(err.msg, "vol-0003.tar.zst.age: first 1");
    cm_err_clear(&err);
    CHECK_INT_EQ(err.code, CM_OK);
    CHECK(cm_fail_errno(&err, ENOSPC, "%s: write failed", "f") == -1);
    CHECK_INT_EQ(err.code, CM_ENOSPC);
    CHECK_STR_HAS(err.msg, "f: write failed: No space left on device");
}

int
main(void)
{
    test_ceiling();
    test_growth_and_take();
    test_errors_keep_first();
    return check_report();
}
