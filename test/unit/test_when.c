#include "when.h"

#include "check.h"

static void
test_iso(void)
{
    struct cm_err err = CM_ERR_INIT;
    char iso[WHEN_ISO_LEN], stamp[WHEN_STAMP_LEN];
    int64_t t;

    when_format_iso(iso, 1764369758);
    CHECK_STR_EQ(iso, "2025-11-28T22:42:38Z");
    when_format_stamp(stamp, 1764369758);
    CHECK_STR_EQ(stamp, "20251128T224238Z");
    CHECK(when_parse("2025-11-28T22:42:38Z", &t, &err) == 0);
    CHECK_INT_EQ(t, 1764369758);
    CHECK(when_parse("2025-11-28", &t, &err) == 0);
    CHECK_INT_EQ(t, 1764288000);
    CHECK(when_parse("2025-11-28 22:42", &t, &err) == 0);
    CHECK_INT_EQ(t, 1764369720);
    CHECK(when_parse("2025-13-01", &t, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    CHECK_STR_HAS(err.msg, "2025-13-01");
    cm_err_clear(&err);
    CHECK(when_parse("yesterday", &t, &err) == -1);
}

static void
test_rfc5322(void)
{
    int64_t t;
    const char *d1 = "Tue, 1 Jul 2003 10:52:37 +0200";
    const char *d2 = "1 Jul 03 08:52 GMT";
    const char *d3 = "Tue,  1 Jul 2003 10:52:37 +0200 (CEST)";
    const char *d4 = "Wed, 22 Sep 2021 16:04:12 -0700";

    CHECK(when_parse_rfc5322(d1, strlen(d1), &t) == 0);
    CHECK_INT_EQ(t, 1057049557);
    CHECK(when_parse_rfc5322(d2, strlen(d2), &t) == 0);
    CHECK_INT_EQ(t, 1057049520);
    CHECK(when_parse_rfc5322(d3, strlen(d3), &t) == 0);
    CHECK_INT_EQ(t, 1057049557);
    CHECK(when_parse_rfc5322(d4, strlen(d4), &t) == 0);
    CHECK_INT_EQ(t, 1632351852);
    CHECK(when_parse_rfc5322("garbage", 7, &t) == -1);
    CHECK(when_parse_rfc5322("", 0, &t) == -1);
}

int
main(void)
{
    test_iso();
    test_rfc5322();
    return check_report();
}
