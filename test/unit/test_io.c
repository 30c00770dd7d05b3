/* io: errors name the file; the fault hook fails the Nth call of a kind. */
#include "io.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static char dir[] = "/tmp/coldmail-test-io.XXXXXX";

static void
test_excl_and_mode(void)
{
    struct cm_err err = CM_ERR_INIT;
    char path[128];
    struct stat st;
    struct buf b;

    snprintf(path, sizeof path, "%s/key", dir);
    CHECK(io_write_file_excl(path, "secret\n", 7, 0600, &err) == 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(io_write_file_excl(path, "other\n", 6, 0600, &err) == -1);
    CHECK_STR_HAS(err.msg, "already exists");
    cm_err_clear(&err);
    buf_init(&b, 100);
    CHECK(io_read_file(path, 100, &b, &err) == 0);
    CHECK_INT_EQ(b.len, 7);
    CHECK_MEM_EQ(b.data, "secret\n", 7);
    buf_free(&b);
    buf_init(&b, 100);
    CHECK(io_read_file(path, 3, &b, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EFORMAT);
    buf_free(&b);
}

static void
test_missing_file_named(void)
{
    struct cm_err err = CM_ERR_INIT;

    CHECK(io_open("/nonexistent/coldmail", O_RDONLY, 0, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EIO);
    CHECK_STR_HAS(err.msg, "/nonexistent/coldmail: cannot open");
}

/* The hook reads its setting once per process: run it in a child. */
static void
test_fault_hook(void)
{
    char path[128];
    pid_t pid;
    int status = 0;

    snprintf(path, sizeof path, "%s/faulty", dir);
    pid = fork();
    if (pid == 0) {
        struct cm_err err = CM_ERR_INIT;
        int fd, ok;
        setenv("COLDMAIL_TEST_FAULT", "write:2:ENOSPC,write:3:short", 1);
        fd = io_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &err);
        ok = fd != -1 && io_write_all(fd, "ab", 2, path, &err) == 0 &&
             io_write_all(fd, "cd", 2, path, &err) == -1 &&
             err.code == CM_ENOSPC;
        cm_err_clear(&err);
        /* A short write is retried: all bytes still arrive. */
        ok = ok && io_write_all(fd, "efgh", 4, path, &err) == 0;
        _exit(ok ? 0 : 1);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    {
        struct cm_err err = CM_ERR_INIT;
        struct buf b;
        buf_init(&b, 100);
        CHECK(io_read_file(path, 100, &b, &err) == 0);
        CHECK_INT_EQ(b.len, 6);
        CHECK_MEM_EQ(b.data, "abefgh", 6);
        buf_free(&b);
    }
}

int
main(void)
{
    char cmd[128];

    if (mkdtemp(dir) == NULL)
        return 1;
    /* First: the hook reads its setting at the first I/O call. */
    test_fault_hook();
    test_excl_and_mode();
    test_missing_file_named();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return check_report();
}
