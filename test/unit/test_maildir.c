/*
 * test_maildir: message names, folder names, Maildir detection, and
 * finding a message again after a rename or a delivery moved it.
 */
#include "maildir.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static char scratch[256];

static void
mkpath(const char *rel)
{
    char p[512];

    snprintf(p, sizeof p, "%s/%s", scratch, rel);
    CHECK(mkdir(p, 0700) == 0);
}

static void
touch(const char *rel)
{
    char p[512];
    int fd;

    snprintf(p, sizeof p, "%s/%s", scratch, rel);
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd != -1);
    if (fd != -1)
        close(fd);
}

static void
move(const char *from, const char *to)
{
    char a[512], b[512];

    snprintf(a, sizeof a, "%s/%s", scratch, from);
    snprintf(b, sizeof b, "%s/%s", scratch, to);
    CHECK(rename(a, b) == 0);
}

static void
check_name(const char *name, size_t unique_len, int has_info, const char *flags,
           long long size)
{
    struct cm_err err = CM_ERR_INIT;
    struct maildir_name m;

    CHECK(maildir_name_parse(name, &m, &err) == 0);
    CHECK_INT_EQ(m.unique_len, unique_len);
    CHECK_INT_EQ(m.has_info, has_info);
    CHECK_STR_EQ(m.flags, flags);
    CHECK_INT_EQ(m.size_hint, size);
}

static void
test_names(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct maildir_name m;
    char many[128];

    check_name("1700000000.M1P2.host,S=1234,W=1260:2,FRS", 34, 1, "FRS", 1234);
    check_name("1700000000.M1P2.host", 20, 0, "", -1);
    check_name("1700000000.M1P2.host,S=1234", 27, 0, "", 1234);
    check_name("1700000000.M1P2.host:2,", 20, 1, "", -1);
    check_name("1700000000.M1P2.host,S=12!2,S", 25, 1, "S", 12);
    check_name("1700000000.M1P2.host;2,RS", 20, 1, "RS", -1);
    check_name("a!b!2,T", 3, 1, "T", -1);
    check_name("1700000000.M1P2.host:1,xyz", 20, 0, "", -1);
    check_name("1700000000.M1P2.host:2,Sab", 20, 1, "Sab", -1);
    check_name("1700000000.M1P2.host:2,S,T", 20, 1, "ST", -1);
    check_name("x,S=abc:2,S", 7, 1, "S", -1);
    check_name("xS=5:2,S", 4, 1, "S", -1);
    check_name("x,S=99999999999999999999999", 27, 0, "", 999999999999999999LL);
    check_name("123", 3, 0, "", -1);
    /* Courier keywords and long flag strings are cut, not refused. */
    memcpy(many, "1.2.h:2,", 8);
    memset(many + 8, 'a', 60);
    many[68] = '\0';
    CHECK(maildir_name_parse(many, &m, &err) == 0);
    CHECK_INT_EQ(strlen(m.flags), MAILDIR_FLAGS_MAX - 1);

    CHECK(maildir_name_parse("", &m, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    CHECK(maildir_name_parse(".hidden:2,S", &m, &err) == -1);
    cm_err_clear(&err);
    CHECK(maildir_name_parse("a/b:2,S", &m, &err) == -1);
    CHECK_STR_HAS(err.msg, "a/b");
    CHECK(maildir_name_parse("x", &m, NULL) == 0);
}

static void
test_folder_names(void)
{
    struct cm_err err = CM_ERR_INIT;
    char *s;

    s = maildir_folder_name(NULL, &err);
    CHECK_STR_EQ(s, "INBOX");
    free(s);
    s = maildir_folder_name(".Lists.foo", &err);
    CHECK_STR_EQ(s, "Lists.foo");
    free(s);
    s = maildir_folder_name(".Sent", &err);
    CHECK_STR_EQ(s, "Sent");
    free(s);
    s = maildir_folder_name(".&AOQ-rger", &err);
    CHECK_STR_EQ(s, "&AOQ-rger");
    free(s);
}

static void
test_is_maildir(void)
{
    char p[512];
    int fd;

    mkpath("md");
    mkpath("md/cur");
    fd = open(scratch, O_RDONLY | O_DIRECTORY);
    CHECK(!maildir_is_maildir(fd, "md"));
    mkpath("md/new");
    CHECK(maildir_is_maildir(fd, "md"));
    mkpath("md/tmp");
    CHECK(maildir_is_maildir(fd, "md"));
    mkpath("notmd");
    mkpath("notmd/cur");
    touch("notmd/new");
    CHECK(!maildir_is_maildir(fd, "notmd"));
    mkpath("linked");
    mkpath("linked/cur");
    snprintf(p, sizeof p, "%s/linked/new", scratch);
    CHECK(symlink("../md/new", p) == 0);
    CHECK(!maildir_is_maildir(fd, "linked"));
    CHECK(!maildir_is_maildir(fd, "missing"));
    close(fd);
    snprintf(p, sizeof p, "%s/md", scratch);
    fd = open(p, O_RDONLY | O_DIRECTORY);
    CHECK(maildir_is_maildir(fd, "."));
    close(fd);
}

static void
test_find_moved(void)
{
    struct cm_err err = CM_ERR_INIT;
    char folder[512], *found = NULL;
    int fd;

    snprintf(folder, sizeof folder, "%s/md", scratch);
    touch("md/new/1700000000.M1P2.host,S=10");
    touch("md/cur/1700000000.M1P2.hos:2,S");   /* shorter unique */
    touch("md/cur/1700000000.M1P2.host2:2,S"); /* longer unique */
    move("md/new/1700000000.M1P2.host,S=10",
         "md/cur/1700000000.M1P2.host,S=10:2,S");
    CHECK_INT_EQ(
        maildir_find_moved(folder, "1700000000.M1P2.host,S=10", &found, &err),
        1);
    CHECK_STR_EQ(found, "cur/1700000000.M1P2.host,S=10:2,S");
    free(found);
    found = NULL;

    /* A flag change renames it within cur/. */
    move("md/cur/1700000000.M1P2.host,S=10:2,S",
         "md/cur/1700000000.M1P2.host,S=10:2,RS");
    CHECK_INT_EQ(maildir_find_moved(folder, "1700000000.M1P2.host,S=10:2,S",
                                    &found, &err),
                 1);
    CHECK_STR_EQ(found, "cur/1700000000.M1P2.host,S=10:2,RS");
    free(found);
    found = NULL;

    /* Through an open folder, as the walk does. */
    fd = open(folder, O_RDONLY | O_DIRECTORY);
    CHECK_INT_EQ(
        maildir_find_moved_at(fd, "1700000000.M1P2.host,S=10", &found, &err),
        1);
    CHECK_STR_EQ(found, "cur/1700000000.M1P2.host,S=10:2,RS");
    free(found);
    found = NULL;
    close(fd);

    /* Expunged: gone. */
    snprintf(folder, sizeof folder, "%s/md/cur/1700000000.M1P2.host,S=10:2,RS",
             scratch);
    CHECK(unlink(folder) == 0);
    snprintf(folder, sizeof folder, "%s/md", scratch);
    CHECK_INT_EQ(maildir_find_moved(folder, "1700000000.M1P2.host,S=10:2,RS",
                                    &found, &err),
                 0);
    CHECK(found == NULL);
    /* A folder that is gone, and a name that is not a message's. */
    snprintf(folder, sizeof folder, "%s/nowhere", scratch);
    CHECK_INT_EQ(maildir_find_moved(folder, "x", &found, &err), 0);
    snprintf(folder, sizeof folder, "%s/md", scratch);
    CHECK_INT_EQ(maildir_find_moved(folder, ".x", &found, &err), 0);
    CHECK_INT_EQ(err.code, CM_OK);
}

int
main(void)
{
    const char *tmp = getenv("TMPDIR");
    char cmd[600];

    snprintf(scratch, sizeof scratch, "%s/test_maildir.XXXXXX",
             tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(scratch) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_names();
    test_folder_names();
    test_is_maildir();
    test_find_moved();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", scratch);
    return check_report();
}
