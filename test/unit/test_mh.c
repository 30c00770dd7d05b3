/*
 * test_mh: MH message names, folder detection, and flags from
 * .mh_sequences.
 */
#include "mh.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static char scratch[256];
static int sfd = -1;

static void
mkpath(const char *rel)
{
    CHECK(mkdirat(sfd, rel, 0700) == 0);
}

static void
put(const char *rel, const char *text)
{
    int fd = openat(sfd, rel, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    CHECK(fd != -1);
    if (fd == -1)
        return;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

static void
test_names(void)
{
    CHECK(mh_is_message_name("1"));
    CHECK(mh_is_message_name("123"));
    CHECK(mh_is_message_name("999999999999999999"));
    CHECK(!mh_is_message_name("9999999999999999999"));
    CHECK(!mh_is_message_name("0"));
    CHECK(!mh_is_message_name("01"));
    CHECK(!mh_is_message_name(""));
    CHECK(!mh_is_message_name("12a"));
    CHECK(!mh_is_message_name("-1"));
    CHECK(!mh_is_message_name(",1"));
    CHECK(!mh_is_message_name("1.bak"));
}

static int
is_folder(const char *rel)
{
    struct cm_err err = CM_ERR_INIT;
    int r = mh_is_folder(sfd, rel, &err);

    CHECK(r != -1);
    if (r == -1)
        fprintf(stderr, "%s\n", err.msg);
    return r == 1;
}

/* 0 if an unreadable first message fails with CM_EIO naming it; 77: skip. */
static int
check_unreadable(void)
{
    struct cm_err err = CM_ERR_INIT;
    int fd = openat(sfd, "locked/1", O_RDONLY);

    if (fd != -1) {
        close(fd);
        return 77;
    }
    return mh_is_folder(sfd, "locked", &err) == -1 && err.code == CM_EIO &&
                   strstr(err.msg, "locked/1: cannot open") != NULL
               ? 0
               : 1;
}

/* As root, the check runs in a child that has become nobody. */
static void
test_unreadable(void)
{
    int status = 0, rc;
    pid_t pid;

    mkpath("locked");
    put("locked/1", "Subject: x\n\n");
    CHECK(fchmodat(sfd, "locked/1", 0, 0) == 0);
    CHECK(fchmod(sfd, 0755) == 0 && fchmodat(sfd, "locked", 0755, 0) == 0);
    if (geteuid() != 0) {
        rc = check_unreadable();
    } else if ((pid = fork()) == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(77);
        _exit(check_unreadable());
    } else {
        CHECK(pid != -1 && waitpid(pid, &status, 0) == pid);
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    if (rc == 77)
        fprintf(stderr, "skipped: unreadable files can be read\n");
    else
        CHECK_INT_EQ(rc, 0);
    fchmodat(sfd, "locked/1", 0600, 0);
    fchmod(sfd, 0700);
}

static void
test_is_folder(void)
{
    mkpath("seq");
    put("seq/.mh_sequences", "");
    CHECK(is_folder("seq"));

    mkpath("plain");
    put("plain/1", "From: a@b\nSubject: one\n\nbody\n");
    put("plain/2", "Return-Path: <a@b>\n\nbody\n");
    put("plain/.hidden", "whatever");
    mkpath("plain/sub");
    CHECK(is_folder("plain"));
    CHECK(symlinkat("1", sfd, "plain/3") == 0);
    CHECK(is_folder("plain"));

    mkpath("other");
    put("other/1", "From: a@b\n\nbody\n");
    put("other/notes.txt", "hello\n");
    CHECK(!is_folder("other"));

    /* The lowest-numbered message must start like a message. */
    mkpath("binary");
    put("binary/2", "\x89PNG\r\n");
    put("binary/10", "From: a@b\n\nbody\n");
    CHECK(!is_folder("binary"));
    put("binary/1", "Subject: x\n\n");
    CHECK(is_folder("binary"));

    mkpath("empty");
    CHECK(!is_folder("empty"));
    CHECK(!is_folder("missing"));
    CHECK(!is_folder("plain/1"));
}

static void
flags_of(const struct mh_sequences *s, unsigned long n, const char *want)
{
    char out[8];

    mh_sequences_flags(s, n, out, sizeof out);
    CHECK_STR_EQ(out, want);
}

static void
test_sequences(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct mh_sequences *s = NULL;
    char out[2], *big;

    mkpath("f");
    put("f/.mh_sequences", "unseen: 1-3 7\nflagged: 2\nreplied: 3 5-6\n"
                           "cur: 7\nunseen: 8\n");
    CHECK(mh_sequences_load(sfd, "f", &s, &err) == 0);
    flags_of(s, 1, "");
    flags_of(s, 2, "F");
    flags_of(s, 3, "R");
    flags_of(s, 4, "S");
    flags_of(s, 5, "RS");
    flags_of(s, 7, "");
    flags_of(s, 8, "");
    flags_of(s, 9, "S");
    mh_sequences_flags(s, 2, out, sizeof out);
    CHECK_STR_EQ(out, "F");
    mh_sequences_free(s);
    s = NULL;

    /* Continuation lines, CRLF, and tokens that are not ranges. */
    put("f/.mh_sequences", "unseen: 1\r\n 9  \r\n\t11-12\r\nflagged: a 3-1 "
                           "x-y 4- 5\r\nbogus line\r\n");
    CHECK(mh_sequences_load(sfd, "f", &s, &err) == 0);
    flags_of(s, 9, "");
    flags_of(s, 12, "");
    flags_of(s, 10, "S");
    flags_of(s, 3, "S");
    flags_of(s, 5, "FS");
    mh_sequences_free(s);
    s = NULL;

    /* No .mh_sequences: every message is seen. */
    mkpath("g");
    CHECK(mh_sequences_load(sfd, "g", &s, &err) == 0);
    flags_of(s, 1, "S");
    mh_sequences_free(s);
    s = NULL;

    /* Larger than 64 KiB. */
    big = malloc(70000);
    memset(big, ' ', 69999);
    memcpy(big, "unseen:", 7);
    big[69999] = '\0';
    put("g/.mh_sequences", big);
    free(big);
    CHECK(mh_sequences_load(sfd, "g", &s, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK(s == NULL);
    mh_sequences_free(NULL);
}

int
main(void)
{
    const char *tmp = getenv("TMPDIR");
    char cmd[600];

    snprintf(scratch, sizeof scratch, "%s/test_mh.XXXXXX",
             tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(scratch) == NULL ||
        (sfd = open(scratch, O_RDONLY | O_DIRECTORY)) == -1) {
        perror(scratch);
        return 1;
    }
    test_names();
    test_is_folder();
    test_unreadable();
    test_sequences();
    close(sfd);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", scratch);
    return check_report();
}
