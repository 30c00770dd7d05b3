#include "cli.h"

#include "check.h"

static void
test_sizes(void)
{
    struct cm_err err = CM_ERR_INIT;
    uint64_t v;

    CHECK(cli_parse_size("4G", "--volume-size", &v, &err) == 0);
    CHECK_INT_EQ(v, 4ull << 30);
    CHECK(cli_parse_size("512k", "--volume-size", &v, &err) == 0);
    CHECK_INT_EQ(v, 512ull << 10);
    CHECK(cli_parse_size("3MiB", "--volume-size", &v, &err) == 0);
    CHECK_INT_EQ(v, 3ull << 20);
    CHECK(cli_parse_size("1000", "--volume-size", &v, &err) == 0);
    CHECK_INT_EQ(v, 1000);
    CHECK(cli_parse_size("0", "--volume-size", &v, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    CHECK_STR_HAS(err.msg, "--volume-size: bad size \"0\"");
    cm_err_clear(&err);
    CHECK(cli_parse_size("4X", "--volume-size", &v, &err) == -1);
    cm_err_clear(&err);
    CHECK(cli_parse_size("-4G", "--volume-size", &v, &err) == -1);
    cm_err_clear(&err);
    CHECK(cli_parse_size("99999999999999999999T", "-s", &v, &err) == -1);
}

static void
test_long(void)
{
    struct cm_err err = CM_ERR_INIT;
    long v;

    CHECK(cli_parse_long("19", "--level", 1, 19, &v, &err) == 0);
    CHECK_INT_EQ(v, 19);
    CHECK(cli_parse_long("20", "--level", 1, 19, &v, &err) == -1);
    CHECK_STR_HAS(err.msg, "--level: expected a number from 1 to 19");
}

int
main(void)
{
    test_sizes();
    test_long();
    return check_report();
}
