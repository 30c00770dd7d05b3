/* test_config: the configuration file: keys, words, errors, overrides. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"

static int
parse(const char *text, struct config *c, struct cm_err *err)
{
    cm_err_clear(err);
    return config_parse(text, strlen(text), "test.conf", c, err);
}

static void
test_full(void)
{
    const char *t = "# coldmail.conf\n"
                    "\n"
                    "stores = /var/vmail \"/srv/old mail\"   # two stores\n"
                    "  recipients-file=/etc/coldmail/recipients\n"
                    "signing-key = /etc/coldmail/signing.key\n"
                    "state-dir = /var/lib/coldmail\n"
                    "media = week-1 week-2 week-3 week-4\n"
                    "rotation = 7d\n"
                    "volume-size = 2G\n"
                    "exclude = */.Trash/* *.lock\n"
                    "exclude = \"a \\\"b\\\" #c\"\n"
                    "max-chain = 3\n"
                    "level = 9\n"
                    "label = weekly#1\r\n";
    struct cm_err err = CM_ERR_INIT;
    struct config c;

    CHECK(parse(t, &c, &err) == 0);
    CHECK_STR_EQ(c.path, "test.conf");
    CHECK_INT_EQ(c.nstores, 2);
    CHECK_STR_EQ(c.stores[0], "/var/vmail");
    CHECK_STR_EQ(c.stores[1], "/srv/old mail");
    CHECK(c.stores[2] == NULL);
    CHECK_STR_EQ(c.recipients_file, "/etc/coldmail/recipients");
    CHECK_STR_EQ(c.signing_key, "/etc/coldmail/signing.key");
    CHECK_STR_EQ(c.state_dir, "/var/lib/coldmail");
    CHECK_INT_EQ(c.nmedia, 4);
    CHECK_STR_EQ(c.media[3], "week-4");
    CHECK_STR_EQ(c.rotation, "7d");
    CHECK_INT_EQ(c.rotation_seconds, 7 * 86400);
    CHECK_STR_EQ(c.volume_size, "2G");
    CHECK_INT_EQ(c.nexcludes, 3);
    CHECK_STR_EQ(c.excludes[0], "*/.Trash/*");
    CHECK_STR_EQ(c.excludes[1], "*.lock");
    CHECK_STR_EQ(c.excludes[2], "a \"b\" #c");
    CHECK_STR_EQ(c.max_chain, "3");
    CHECK_STR_EQ(c.level, "9");
    /* '#' inside a word is not a comment. */
    CHECK_STR_EQ(c.label, "weekly#1");
    config_free(&c);
    CHECK(c.stores == NULL && c.path == NULL);
    config_free(&c);
    config_free(NULL);

    CHECK(parse("", &c, &err) == 0);
    CHECK(c.stores == NULL && c.rotation == NULL && c.rotation_seconds == 0);
    config_free(&c);
}

static void
expect_error(const char *text, const char *line, const char *what)
{
    struct cm_err err = CM_ERR_INIT;
    struct config c;

    config_init(&c);
    c.label = (char *)"untouched";
    CHECK(parse(text, &c, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "test.conf: ");
    CHECK_STR_HAS(err.msg, line);
    CHECK_STR_HAS(err.msg, what);
    /* Written only on success. */
    CHECK_STR_EQ(c.label, "untouched");
}

static void
test_errors(void)
{
    expect_error("rotation = 7d\nrotaton = 7d\n",
                 "line 2:", "unknown key \"rotaton\"");
    expect_error("# x\n\nlevel = 3\nlevel = 4\n",
                 "line 4:", "level given twice (first on line 3)");
    expect_error("stores\n", "line 1:", "expected \"key = value\"");
    expect_error("stores =   # nothing\n", "line 1:", "stores: no value");
    expect_error("signing-key = a b\n", "line 1:", "expected one value");
    expect_error("stores = \"/a\n", "line 1:", "unterminated quote");
    expect_error("stores = \"/a\"b\n", "line 1:", "after a closing quote");
    expect_error("stores = a\"b\n", "line 1:", "a quote inside a word");
    expect_error("stores = \"a\\nb\"\n", "line 1:", "bad escape");
    expect_error("stores = \"\"\n", "line 1:", "empty word");
    expect_error("\n\nrotation = 7\n", "line 3:", "bad duration \"7\"");
    expect_error("rotation = 0d\n", "line 1:", "bad duration");
    expect_error("rotation = 7y\n", "line 1:", "bad duration");
    expect_error("rotation = 99999w\n", "line 1:", "bad duration");
    expect_error("volume-size = lots\n", "line 1:", "volume-size: bad size");
    expect_error("volume-size = 0\n", "line 1:", "volume-size");
    expect_error("max-chain = -1\n", "line 1:", "max-chain");
    expect_error("max-chain = 10001\n", "line 1:", "max-chain");
    expect_error("level = 20\n", "line 1:", "level: expected a number");
    expect_error("level = 0\n", "line 1:", "level");
    expect_error("media = week-1 week/2\n", "line 1:", "medium label");
    expect_error("media = a b a\n", "line 1:", "\"a\" is listed twice");
    expect_error("media = a\nmedia = b\n", "line 2:", "media given twice");
    expect_error("label = a\tb\001\n", "line 1:", "control character 0x01");

    /* A NUL in the middle of the text is not the end of it. */
    {
        static const char t[] = "level = 3\n\0x = 1\n";
        struct cm_err err = CM_ERR_INIT;
        struct config c;
        CHECK(config_parse(t, sizeof t - 1, "n.conf", &c, &err) == -1);
        CHECK_STR_HAS(err.msg, "n.conf: line 2: control character 0x00");
    }
    /* Over-long lines and too many words. */
    {
        char *t = malloc(CONFIG_LINE_MAX + 32);
        struct cm_err err = CM_ERR_INIT;
        struct config c;
        strcpy(t, "label = ");
        memset(t + 8, 'x', CONFIG_LINE_MAX);
        t[8 + CONFIG_LINE_MAX] = '\0';
        CHECK(parse(t, &c, &err) == -1);
        CHECK_STR_HAS(err.msg, "line 1: line longer than");
        strcpy(t, "exclude =");
        for (int i = 0; i <= CONFIG_WORDS_MAX; i++)
            strcat(t, " x");
        CHECK(parse(t, &c, &err) == -1);
        CHECK_STR_HAS(err.msg, "more than 256 words");
        free(t);
    }
}

static void
test_duration(void)
{
    struct cm_err err = CM_ERR_INIT;
    char text[32];
    int64_t s = -1;

    CHECK(config_parse_duration("36h", &s, &err) == 0);
    CHECK_INT_EQ(s, 36 * 3600);
    CHECK(config_parse_duration("2w", &s, &err) == 0);
    CHECK_INT_EQ(s, 14 * 86400);
    CHECK(config_parse_duration("90s", &s, &err) == 0);
    CHECK_INT_EQ(s, 90);
    CHECK(config_parse_duration("5m", &s, &err) == 0);
    CHECK_INT_EQ(s, 300);
    CHECK(config_parse_duration("d", &s, &err) == -1);
    CHECK(config_parse_duration("-1d", &s, &err) == -1);
    CHECK(config_parse_duration("1dd", &s, &err) == -1);
    CHECK(config_parse_duration("", &s, &err) == -1);
    config_format_duration(28 * 86400, text, sizeof text);
    CHECK_STR_EQ(text, "28d");
    config_format_duration(3 * 86400, text, sizeof text);
    CHECK_STR_EQ(text, "3d");
    config_format_duration(36 * 3600, text, sizeof text);
    CHECK_STR_EQ(text, "36h");
    config_format_duration(61, text, sizeof text);
    CHECK_STR_EQ(text, "61s");
}

/* The command line wins over the file; excludes add up. */
static void
test_overrides(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct config c;
    char *cli_level = strdup("9"), *cli_label = NULL, *cli_state = NULL;
    char **cli_excludes = NULL;
    size_t ncli = 0;
    char *one[] = {"*.tmp"};

    CHECK(parse("level = 5\nlabel = weekly\nexclude = *.lock *.bak\n", &c,
                &err) == 0);
    CHECK(config_default(&cli_level, c.level, &err) == 0);
    CHECK(config_default(&cli_label, c.label, &err) == 0);
    CHECK(config_default(&cli_state, c.state_dir, &err) == 0);
    CHECK_STR_EQ(cli_level, "9");
    CHECK_STR_EQ(cli_label, "weekly");
    CHECK(cli_label != c.label); /* a copy */
    CHECK(cli_state == NULL);
    CHECK(config_list_add(&cli_excludes, &ncli, one, 1, &err) == 0);
    CHECK(config_list_add(&cli_excludes, &ncli, c.excludes, c.nexcludes,
                          &err) == 0);
    CHECK(config_list_add(&cli_excludes, &ncli, NULL, 0, &err) == 0);
    CHECK_INT_EQ(ncli, 3);
    CHECK_STR_EQ(cli_excludes[0], "*.tmp");
    CHECK_STR_EQ(cli_excludes[2], "*.bak");
    CHECK(cli_excludes[3] == NULL);
    cli_free_list(cli_excludes, ncli);
    free(cli_level);
    free(cli_label);
    config_free(&c);
}

static void
test_load(void)
{
    char path[] = "/tmp/test_config.XXXXXX";
    struct cm_err err = CM_ERR_INIT;
    struct config c;
    int fd = mkstemp(path);
    const char *t = "media = a b\nrotation = 1w\n";

    CHECK(fd != -1);
    CHECK(write(fd, t, strlen(t)) == (ssize_t)strlen(t));
    close(fd);
    CHECK_INT_EQ(config_load(path, 1, &c, &err), 1);
    CHECK_STR_EQ(c.path, path);
    CHECK_INT_EQ(c.nmedia, 2);
    config_free(&c);
    unlink(path);
    CHECK_INT_EQ(config_load(path, 0, &c, &err), 0);
    CHECK(c.path == NULL);
    CHECK_INT_EQ(config_load(path, 1, &c, &err), -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    CHECK_STR_HAS(err.msg, path);
}

int
main(void)
{
    test_full();
    test_errors();
    test_duration();
    test_overrides();
    test_load();
    return check_report();
}
