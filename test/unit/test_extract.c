/*
 * extract: hostile paths and symlinks never lead a write outside the
 * target; files appear whole or not at all; merging never overwrites;
 * modes and mtimes (with nanoseconds) are restored, directories' last.
 */
#include "extract.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static char scratch[] = "/tmp/coldmail-test-extract.XXXXXX";
static char root[256], outside[256];

static const struct extract_meta file_meta = {0640, 1500000000, 123456789, 0,
                                              0};
static const struct extract_meta dir_meta = {0750, 1400000000, 987654321, 0, 0};

/* Run "${what} '${path}'${rest}". */
static void
sh(const char *what, const char *path, const char *rest)
{
    char cmd[1024];

    snprintf(cmd, sizeof cmd, "%s '%s'%s", what, path, rest);
    if (system(cmd) != 0)
        fprintf(stderr, "command failed: %s\n", cmd);
}

/* Entries in ${dir}, and whether one of them is a temporary. */
static int
count_entries(const char *dir, int *temps)
{
    struct dirent *d;
    DIR *dp = opendir(dir);
    int n = 0;

    if (temps != NULL)
        *temps = 0;
    if (dp == NULL)
        return -1;
    while ((d = readdir(dp)) != NULL) {
        if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
            continue;
        n++;
        if (temps != NULL && !strncmp(d->d_name, ".coldmail-tmp.", 14))
            (*temps)++;
    }
    closedir(dp);
    return n;
}

static void
fresh_root(void)
{
    sh("rm -rf", root, "");
    sh("rm -rf", outside, "/*");
    CHECK_INT_EQ(count_entries(outside, NULL), 0);
}

static struct extract *
open_root(int flags)
{
    struct cm_err err = CM_ERR_INIT;
    struct extract *x = NULL;

    CHECK(extract_open(root, flags, &x, &err) == 0);
    if (err.code != CM_OK)
        fprintf(stderr, "extract_open: %s\n", err.msg);
    return x;
}

/* A whole file in chunks of ${chunk}; returns the result or -1. */
static int
put_file(struct extract *x, const char *path, const char *data, size_t chunk,
         const struct extract_meta *m, struct cm_err *err)
{
    struct extract_file *f = NULL;
    size_t len = strlen(data);

    if (extract_file_open(x, path, len, m, &f, err) == -1)
        return -1;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (extract_file_write(f, data + off, n, err) == -1) {
            extract_file_abort(f);
            return -1;
        }
    }
    return extract_file_commit(f, err);
}

static int
file_is(const char *rel, const char *want)
{
    char path[512], buf[256];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof path, "%s/%s", root, rel);
    if ((fp = fopen(path, "rb")) == NULL)
        return 0;
    n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    return n == strlen(want) && memcmp(buf, want, n) == 0;
}

static int
lstat_rel(const char *rel, struct stat *st)
{
    char path[512];

    snprintf(path, sizeof path, "%s/%s", root, rel);
    return lstat(path, st);
}

/* Run first: the fault hook reads its setting at the first I/O call. */
static void
test_enospc_leaves_nothing(void)
{
    pid_t pid;
    int status = 0, temps;

    fresh_root();
    pid = fork();
    if (pid == 0) {
        struct cm_err err = CM_ERR_INIT;
        struct extract *x = NULL;
        int ok;
        setenv("COLDMAIL_TEST_FAULT", "write:2:ENOSPC", 1);
        ok = extract_open(root, 0, &x, &err) == 0 &&
             put_file(x, "full", "abcdefgh", 4, &file_meta, &err) == -1 &&
             err.code == CM_ENOSPC && strstr(err.msg, "/full: write") &&
             strstr(err.msg, root) != NULL;
        if (!ok)
            fprintf(stderr, "child: %s\n", err.msg);
        extract_free(x);
        _exit(ok ? 0 : 1);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT_EQ(count_entries(root, &temps), 0);
}

static void test_bounds(struct extract *x);

static void
test_unsafe_paths(int flags)
{
    static const char *const bad[] = {
        "..",  "../x", "/etc/x", "a/../../x", "a//b",  "",
        "./a", "a/.",  "a/",     "/",         "a/./b", "x/..",
    };
    struct cm_err err = CM_ERR_INIT;
    struct extract_file *f = NULL;
    struct extract *x;

    fresh_root();
    x = open_root(flags);
    for (size_t i = 0; i < CM_ARRAY_LEN(bad); i++) {
        CHECK(extract_file_open(x, bad[i], 1, &file_meta, &f, &err) == -1);
        CHECK_INT_EQ(err.code, CM_EFORMAT);
        CHECK_STR_HAS(err.msg, "unsafe path");
        cm_err_clear(&err);
        CHECK(extract_dir(x, bad[i], &dir_meta, &err) == -1);
        CHECK_INT_EQ(err.code, CM_EFORMAT);
        cm_err_clear(&err);
        CHECK(extract_symlink(x, bad[i], "t", 1, &file_meta, &err) == -1);
        CHECK_INT_EQ(err.code, CM_EFORMAT);
        cm_err_clear(&err);
    }
    CHECK(extract_dir(x, "../x", &dir_meta, &err) == -1);
    CHECK_STR_EQ(err.msg, "../x: unsafe path");
    cm_err_clear(&err);
    /* Control bytes in a hostile name are not sent to the terminal. */
    CHECK(extract_dir(x, "../\033[2J", &dir_meta, &err) == -1);
    CHECK_STR_EQ(err.msg, "../\\x1b[2J: unsafe path");
    cm_err_clear(&err);
    test_bounds(x);
    CHECK(extract_finish(x, &err) == 0);
    extract_free(x);
    CHECK_INT_EQ(count_entries(root, NULL), 1); /* just the deep "d" */
    CHECK_INT_EQ(count_entries(outside, NULL), 0);
}

/* Depth, length, metadata and link target bounds, and refused kinds. */
static void
test_bounds(struct extract *x)
{
    struct cm_err err = CM_ERR_INIT;
    char deep[1200], longp[4200];

    for (int i = 0; i < 257; i++)
        memcpy(deep + 2 * i, "d/", 2);
    deep[2 * 257 - 1] = '\0';
    CHECK(extract_dir(x, deep, &dir_meta, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "more than 256 path components");
    cm_err_clear(&err);
    deep[2 * 256 - 1] = '\0';
    CHECK_INT_EQ(extract_dir(x, deep, &dir_meta, &err), EXTRACT_CREATED);

    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    CHECK(extract_dir(x, longp, &dir_meta, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    CHECK(extract_dir(x, "n", &(struct extract_meta){0755, 0, 1000000000, 0, 0},
                      &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    CHECK(extract_symlink(x, "l", "a\0b", 3, &file_meta, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    CHECK(extract_symlink(x, "l", "", 0, &file_meta, &err) == -1);
    cm_err_clear(&err);
    CHECK(extract_refuse(x, "dev/sda", EXTRACT_BLOCKDEV, &err) == -1);
    CHECK_STR_HAS(err.msg, "dev/sda: block device: not restored");
}

/* evil -> outside, then evil/x: refused, and nothing appears outside. */
static void
test_symlink_escape(int flags)
{
    struct cm_err err = CM_ERR_INIT;
    struct extract_file *f = NULL;
    struct extract *x;

    fresh_root();
    x = open_root(flags);
    CHECK_INT_EQ(
        extract_symlink(x, "evil", outside, strlen(outside), &file_meta, &err),
        EXTRACT_CREATED);
    CHECK(extract_file_open(x, "evil/x", 3, &file_meta, &f, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "evil/x: evil is a symlink");
    cm_err_clear(&err);
    CHECK(extract_dir(x, "evil/d", &dir_meta, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    CHECK(extract_dir(x, "evil/d/e/f", &dir_meta, &err) == -1);
    cm_err_clear(&err);
    CHECK(extract_symlink(x, "evil/l", "x", 1, &file_meta, &err) == -1);
    cm_err_clear(&err);
    /* Replacing the symlink itself is not allowed either. */
    CHECK_INT_EQ(extract_dir(x, "evil", &dir_meta, &err), EXTRACT_CONFLICT);
    CHECK_INT_EQ(put_file(x, "evil", "abc", 3, &file_meta, &err),
                 EXTRACT_CONFLICT);

    /* up -> .., then up/x and up/up/x. */
    CHECK_INT_EQ(extract_symlink(x, "up", "..", 2, &file_meta, &err),
                 EXTRACT_CREATED);
    CHECK(put_file(x, "up/x", "abc", 3, &file_meta, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    CHECK(put_file(x, "up/up/x", "abc", 3, &file_meta, &err) == -1);
    cm_err_clear(&err);
    /* A symlink deeper down. */
    CHECK_INT_EQ(extract_dir(x, "a/b", &dir_meta, &err), EXTRACT_CREATED);
    CHECK_INT_EQ(extract_symlink(x, "a/b/c", "/", 1, &file_meta, &err),
                 EXTRACT_CREATED);
    CHECK(put_file(x, "a/b/c/tmp/x", "abc", 3, &file_meta, &err) == -1);
    CHECK_STR_HAS(err.msg, "a/b/c is a symlink");
    cm_err_clear(&err);
    CHECK(extract_finish(x, &err) == 0);
    extract_free(x);
    CHECK_INT_EQ(count_entries(outside, NULL), 0);
    CHECK(access("/x", F_OK) == -1 && access("/tmp/x", F_OK) == -1);
    {
        char up[300];
        snprintf(up, sizeof up, "%s/x", scratch);
        CHECK(access(up, F_OK) == -1);
    }
}

/* Another process swaps a directory for a symlink between two writes. */
static void
test_swapped_dir(int flags)
{
    struct cm_err err = CM_ERR_INIT;
    char a[300], old[300];
    struct stat st;
    struct extract *x;

    fresh_root();
    x = open_root(flags);
    CHECK_INT_EQ(extract_dir(x, "a", &dir_meta, &err), EXTRACT_CREATED);
    CHECK_INT_EQ(put_file(x, "a/x", "one", 2, &file_meta, &err),
                 EXTRACT_CREATED);
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(old, sizeof old, "%s/a.old", root);
    CHECK(rename(a, old) == 0 && symlink(outside, a) == 0);
    CHECK(put_file(x, "a/y", "two", 2, &file_meta, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "a/y: a is a symlink");
    cm_err_clear(&err);
    /* The pending mode and mtime of "a" are not applied through it. */
    CHECK(chmod(outside, 0700) == 0);
    CHECK(extract_finish(x, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "replaced meanwhile");
    extract_free(x);
    CHECK(stat(outside, &st) == 0 && (st.st_mode & 07777) == 0700);
    CHECK_INT_EQ(count_entries(outside, NULL), 0);
}

static void
test_modes_and_times(void)
{
    static const struct extract_meta setid = {06755, 1600000000, 1, 0, 0};
    static const struct extract_meta sticky = {01777, 1300000000, 5, 0, 0};
    struct cm_err err = CM_ERR_INIT;
    struct stat st;
    struct extract *x;

    fresh_root();
    x = open_root(0);
    CHECK(stat(root, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK_INT_EQ(extract_dir(x, "d", &dir_meta, &err), EXTRACT_CREATED);
    CHECK_INT_EQ(put_file(x, "d/f", "hello, world\n", 5, &file_meta, &err),
                 EXTRACT_CREATED);
    CHECK_INT_EQ(put_file(x, "d/suid", "#!/bin/sh\n", 3, &setid, &err),
                 EXTRACT_CREATED);
    CHECK_INT_EQ(put_file(x, "d/empty", "", 1, &file_meta, &err),
                 EXTRACT_CREATED);
    CHECK_INT_EQ(extract_symlink(x, "d/l", "f", 1, &file_meta, &err),
                 EXTRACT_CREATED);
    CHECK_INT_EQ(extract_dir(x, "t", &sticky, &err), EXTRACT_CREATED);
    /* Parents created on the way stay 0700. */
    CHECK_INT_EQ(put_file(x, "p/q/r", "r", 1, &file_meta, &err),
                 EXTRACT_CREATED);
    /* Before finishing, directories are still private and fresh. */
    CHECK(lstat_rel("d", &st) == 0 && (st.st_mode & 07777) == 0700);
    CHECK(st.st_mtim.tv_sec != dir_meta.mtime);
    CHECK(extract_finish(x, &err) == 0);
    if (err.code != CM_OK)
        fprintf(stderr, "%s\n", err.msg);
    extract_free(x);

    CHECK(file_is("d/f", "hello, world\n"));
    CHECK(file_is("d/empty", ""));
    CHECK(lstat_rel("d/f", &st) == 0 && (st.st_mode & 07777) == 0640);
    CHECK_INT_EQ(st.st_mtim.tv_sec, 1500000000);
    CHECK_INT_EQ(st.st_mtim.tv_nsec, 123456789);
    CHECK(lstat_rel("d/suid", &st) == 0 && (st.st_mode & 07777) == 0755);
    CHECK(lstat_rel("d/l", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_INT_EQ(st.st_mtim.tv_sec, 1500000000);
    CHECK_INT_EQ(st.st_mtim.tv_nsec, 123456789);
    CHECK(lstat_rel("d", &st) == 0 && (st.st_mode & 07777) == 0750);
    CHECK_INT_EQ(st.st_mtim.tv_sec, 1400000000);
    CHECK_INT_EQ(st.st_mtim.tv_nsec, 987654321);
    CHECK(lstat_rel("t", &st) == 0 && (st.st_mode & 07777) == 01777);
    CHECK_INT_EQ(st.st_mtim.tv_nsec, 5);
    CHECK(lstat_rel("p", &st) == 0 && (st.st_mode & 07777) == 0700);
    CHECK(lstat_rel("p/q", &st) == 0 && (st.st_mode & 07777) == 0700);
}

/* A parent that is not writable once finished does not stop its children. */
static void
test_deepest_first(void)
{
    static const struct extract_meta ro = {0500, 1200000000, 0, 0, 0};
    struct cm_err err = CM_ERR_INIT;
    struct stat st;
    struct extract *x;

    fresh_root();
    x = open_root(EXTRACT_NO_FSYNC);
    CHECK_INT_EQ(extract_dir(x, "r", &ro, &err), EXTRACT_CREATED);
    CHECK_INT_EQ(extract_dir(x, "r/s", &ro, &err), EXTRACT_CREATED);
    CHECK_INT_EQ(put_file(x, "r/s/f", "f", 1, &file_meta, &err),
                 EXTRACT_CREATED);
    /* An entry for a directory after its content, and twice. */
    CHECK_INT_EQ(put_file(x, "z/f", "f", 1, &file_meta, &err), EXTRACT_CREATED);
    CHECK_INT_EQ(extract_dir(x, "z", &dir_meta, &err), EXTRACT_CREATED);
    CHECK_INT_EQ(extract_dir(x, "z", &dir_meta, &err), EXTRACT_CREATED);
    CHECK(extract_finish(x, &err) == 0);
    extract_free(x);
    CHECK(lstat_rel("r/s", &st) == 0 && (st.st_mode & 07777) == 0500);
    CHECK_INT_EQ(st.st_mtim.tv_sec, 1200000000);
    CHECK(lstat_rel("r", &st) == 0 && (st.st_mode & 07777) == 0500);
    CHECK(lstat_rel("z", &st) == 0 && (st.st_mode & 07777) == 0750);
    CHECK_INT_EQ(st.st_mtim.tv_sec, 1400000000);
    sh("chmod -R u+rwx", root, "");
}

static void
test_abort_and_size(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct extract_file *f = NULL;
    struct extract *x;
    int temps;

    fresh_root();
    x = open_root(0);
    CHECK(extract_file_open(x, "half", 10, &file_meta, &f, &err) == 0);
    CHECK(extract_file_write(f, "abcde", 5, &err) == 0);
    CHECK_INT_EQ(count_entries(root, &temps), 1);
    CHECK_INT_EQ(temps, 1);
    extract_file_abort(f);
    CHECK_INT_EQ(count_entries(root, &temps), 0);

    CHECK(extract_file_open(x, "short", 10, &file_meta, &f, &err) == 0);
    CHECK(extract_file_write(f, "abcde", 5, &err) == 0);
    CHECK(extract_file_commit(f, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    CHECK_STR_HAS(err.msg, "short: 5 bytes of content, 10 declared");
    cm_err_clear(&err);

    CHECK(extract_file_open(x, "long", 3, &file_meta, &f, &err) == 0);
    CHECK(extract_file_write(f, "abcde", 5, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    cm_err_clear(&err);
    CHECK(extract_file_commit(f, &err) == -1);
    cm_err_clear(&err);
    CHECK_INT_EQ(count_entries(root, &temps), 0);
    CHECK(extract_finish(x, &err) == 0);
    extract_free(x);
}

static const struct extract_meta keep = {0600, 1000000000, 0, 0, 0};

static void merge_check(void);

/* A target restored once, then touched by its owner. */
static void
merge_setup(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct extract *x;

    fresh_root();
    x = open_root(0);
    CHECK_INT_EQ(put_file(x, "same", "same content", 5, &keep, &err),
                 EXTRACT_CREATED);
    CHECK_INT_EQ(put_file(x, "other", "original", 5, &keep, &err),
                 EXTRACT_CREATED);
    CHECK_INT_EQ(put_file(x, "dir/f", "f", 1, &keep, &err), EXTRACT_CREATED);
    CHECK_INT_EQ(extract_symlink(x, "link", "same", 4, &keep, &err),
                 EXTRACT_CREATED);
    CHECK(extract_finish(x, &err) == 0);
    extract_free(x);
    CHECK(chmod(root, 0711) == 0);
    sh("chmod 0705", root, "/dir");
}

static void
test_merge(void)
{
    struct cm_err err = CM_ERR_INIT;
    struct extract_stats stats;
    struct extract *x = NULL;

    merge_setup();
    /* Not empty: refused without merging. */
    CHECK(extract_open(root, 0, &x, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
    CHECK_STR_HAS(err.msg, "not empty");
    cm_err_clear(&err);
    CHECK_INT_EQ(extract_target_is_empty(root, &err), 0);
    CHECK_INT_EQ(extract_target_is_empty(outside, &err), 1);

    x = open_root(EXTRACT_MERGE);
    CHECK_INT_EQ(put_file(x, "same", "same content", 3, &file_meta, &err),
                 EXTRACT_PRESENT);
    CHECK_INT_EQ(put_file(x, "other", "changed!", 3, &file_meta, &err),
                 EXTRACT_CONFLICT);
    CHECK_INT_EQ(put_file(x, "other", "longer content", 3, &file_meta, &err),
                 EXTRACT_CONFLICT);
    CHECK_INT_EQ(put_file(x, "dir", "x", 1, &file_meta, &err),
                 EXTRACT_CONFLICT);
    CHECK_INT_EQ(put_file(x, "other/sub", "x", 1, &file_meta, &err),
                 EXTRACT_CONFLICT);
    CHECK_INT_EQ(extract_dir(x, "other", &dir_meta, &err), EXTRACT_CONFLICT);
    CHECK_INT_EQ(extract_dir(x, "dir", &dir_meta, &err), EXTRACT_PRESENT);
    CHECK_INT_EQ(extract_symlink(x, "link", "same", 4, &file_meta, &err),
                 EXTRACT_PRESENT);
    CHECK_INT_EQ(extract_symlink(x, "link", "other", 5, &file_meta, &err),
                 EXTRACT_CONFLICT);
    CHECK_INT_EQ(extract_symlink(x, "same", "same", 4, &file_meta, &err),
                 EXTRACT_CONFLICT);
    CHECK_INT_EQ(put_file(x, "dir/new", "new", 3, &file_meta, &err),
                 EXTRACT_CREATED);
    CHECK_INT_EQ(extract_dir(x, "new/deeper", &dir_meta, &err),
                 EXTRACT_CREATED);
    CHECK_INT_EQ(extract_dir(x, "new", &dir_meta, &err), EXTRACT_PRESENT);
    CHECK(err.code == CM_OK);
    CHECK(extract_finish(x, &err) == 0);
    extract_get_stats(x, &stats);
    CHECK_INT_EQ(stats.created, 2);
    CHECK_INT_EQ(stats.present, 4);
    CHECK_INT_EQ(stats.conflicts, 7);
    extract_free(x);
    merge_check();
}

/* The originals are untouched, and nothing is left half-done. */
static void
merge_check(void)
{
    struct stat st;
    int temps;

    CHECK(file_is("same", "same content"));
    CHECK(file_is("other", "original"));
    CHECK(file_is("dir/new", "new"));
    CHECK(lstat_rel("same", &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_INT_EQ(st.st_mtim.tv_sec, 1000000000);
    CHECK(lstat_rel("other", &st) == 0 && (st.st_mode & 0777) == 0600);
    /* Existing directories are reused as they are; new ones finished. */
    CHECK(lstat_rel("dir", &st) == 0 && (st.st_mode & 0777) == 0705);
    CHECK(stat(root, &st) == 0 && (st.st_mode & 0777) == 0711);
    CHECK(lstat_rel("new", &st) == 0 && (st.st_mode & 0777) == 0750);
    CHECK(lstat_rel("new/deeper", &st) == 0 && (st.st_mode & 0777) == 0750);
    CHECK_INT_EQ(count_entries(root, &temps), 5);
    CHECK_INT_EQ(temps, 0);
    CHECK_STR_EQ(extract_result_name(EXTRACT_CONFLICT),
                 "conflict, left untouched");
}

/* Owners (and setuid bits with them) only as root, and only when asked. */
static void
test_owner(void)
{
    static const struct extract_meta own = {04755, 1500000000, 0, 12345, 23456};
    struct cm_err err = CM_ERR_INIT;
    struct stat st;
    struct extract *x;

    if (geteuid() != 0) {
        fprintf(stderr, "test_owner: skipped, not root\n");
        return;
    }
    fresh_root();
    x = open_root(EXTRACT_OWNER | EXTRACT_SETID);
    CHECK_INT_EQ(put_file(x, "f", "x", 1, &own, &err), EXTRACT_CREATED);
    CHECK_INT_EQ(extract_symlink(x, "l", "f", 1, &own, &err), EXTRACT_CREATED);
    CHECK_INT_EQ(extract_dir(x, "d", &own, &err), EXTRACT_CREATED);
    CHECK(extract_finish(x, &err) == 0);
    extract_free(x);
    CHECK(lstat_rel("f", &st) == 0 && st.st_uid == 12345 &&
          st.st_gid == 23456 && (st.st_mode & 07777) == 04755);
    CHECK(lstat_rel("l", &st) == 0 && st.st_uid == 12345);
    CHECK(lstat_rel("d", &st) == 0 && st.st_uid == 12345 &&
          (st.st_mode & 07777) == 04755);

    fresh_root();
    x = open_root(EXTRACT_SETID);
    CHECK_INT_EQ(put_file(x, "f", "x", 1, &own, &err), EXTRACT_CREATED);
    extract_free(x);
    CHECK(lstat_rel("f", &st) == 0 && st.st_uid == 0 &&
          (st.st_mode & 07777) == 0755);
}

int
main(void)
{
    if (mkdtemp(scratch) == NULL)
        return 1;
    snprintf(root, sizeof root, "%s/root", scratch);
    snprintf(outside, sizeof outside, "%s/outside", scratch);
    if (mkdir(outside, 0755) == -1)
        return 1;
    test_enospc_leaves_nothing();
    for (int walk_only = 0; walk_only < 2; walk_only++) {
        int flags = walk_only ? EXTRACT_NO_OPENAT2 : 0;
        test_unsafe_paths(flags);
        test_symlink_escape(flags);
        test_swapped_dir(flags);
    }
    test_modes_and_times();
    test_deepest_first();
    test_abort_and_size();
    test_merge();
    test_owner();
    sh("chmod -R u+rwx", scratch, "");
    sh("rm -rf", scratch, "");
    return check_report();
}
