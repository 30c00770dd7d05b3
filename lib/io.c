#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

enum io_kind { IO_OPEN, IO_READ, IO_WRITE, IO_FSYNC, IO_RENAME, IO_KINDS };

static const char *const kind_names[IO_KINDS] = {"open", "read", "write",
                                                 "fsync", "rename"};

#define FAULT_SHORT (-1)
#define FAULTS_MAX 16

struct fault {
    enum io_kind kind;
    unsigned long nth;
    int what; /* an errno, or FAULT_SHORT */
};

static struct {
    pthread_once_t once;
    pthread_mutex_t lock;
    struct fault faults[FAULTS_MAX];
    size_t nfaults;
    unsigned long count[IO_KINDS];
    FILE *log;
} hook = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, {{0, 0, 0}}, 0, {0},
          NULL};

static int
errno_by_name(const char *s)
{
    static const struct {
        const char *name;
        int value;
    } names[] = {{"ENOSPC", ENOSPC}, {"EIO", EIO},       {"EINTR", EINTR},
                 {"EDQUOT", EDQUOT}, {"EACCES", EACCES}, {"EROFS", EROFS},
                 {"ENOENT", ENOENT}, {"EAGAIN", EAGAIN}, {"short", FAULT_SHORT}};

    for (size_t i = 0; i < CM_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].value;
    return 0;
}

static void
parse_one_fault(char *spec)
{
    char *kind = strtok(spec, ":"), *nth = strtok(NULL, ":");
    char *what = strtok(NULL, ":");
    struct fault f;

    if (kind == NULL || nth == NULL || what == NULL ||
        hook.nfaults == FAULTS_MAX)
        return;
    for (f.kind = 0; f.kind < IO_KINDS; f.kind++)
        if (strcmp(kind, kind_names[f.kind]) == 0)
            break;
    f.nth = strtoul(nth, NULL, 10);
    f.what = errno_by_name(what);
    if (f.kind < IO_KINDS && f.nth > 0 && f.what != 0)
        hook.faults[hook.nfaults++] = f;
}

static void
hook_init(void)
{
    const char *spec = getenv("COLDMAIL_TEST_FAULT");
    const char *log = getenv("COLDMAIL_TEST_FAULT_LOG");
    char *copy, *save = NULL, *tok;

    if (log != NULL && *log != '\0')
        hook.log = fopen(log, "ae");
    if (spec == NULL || *spec == '\0')
        return;
    copy = strdup(spec);
    if (copy == NULL)
        return;
    for (tok = strtok_r(copy, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        char one[64];
        snprintf(one, sizeof one, "%s", tok);
        parse_one_fault(one);
    }
    free(copy);
}

/* Count a call of ${kind}; returns 0, an errno to fail with, or FAULT_SHORT. */
static int
fault_check(enum io_kind kind)
{
    unsigned long n;
    int what = 0;

    pthread_once(&hook.once, hook_init);
    if (hook.nfaults == 0 && hook.log == NULL)
        return 0;
    pthread_mutex_lock(&hook.lock);
    n = ++hook.count[kind];
    if (hook.log != NULL) {
        fprintf(hook.log, "%s %lu\n", kind_names[kind], n);
        fflush(hook.log);
    }
    for (size_t i = 0; i < hook.nfaults; i++)
        if (hook.faults[i].kind == kind && hook.faults[i].nth == n)
            what = hook.faults[i].what;
    pthread_mutex_unlock(&hook.lock);
    return what;
}

int
io_fault_hook(const char *kind)
{
    int fault;

    for (enum io_kind k = 0; k < IO_KINDS; k++)
        if (strcmp(kind, kind_names[k]) == 0) {
            fault = fault_check(k);
            return fault > 0 ? fault : 0;
        }
    return 0;
}

int
io_open(const char *path, int flags, mode_t mode, struct cm_err *err)
{
    return io_openat(AT_FDCWD, path, flags, mode, err);
}

int
io_openat(int dirfd, const char *name, int flags, mode_t mode,
          struct cm_err *err)
{
    int fd, fault = fault_check(IO_OPEN);

    /* An injected EINTR is retried, as a real one is below. */
    if (fault > 0 && fault != EINTR) {
        errno = fault;
        return cm_fail_errno(err, fault, "%s: cannot open", name);
    }
    do
        fd = openat(dirfd, name, flags | O_CLOEXEC, mode);
    while (fd == -1 && errno == EINTR);
    if (fd == -1)
        return cm_fail_errno(err, errno, "%s: cannot open", name);
    return fd;
}

int
io_close(int fd, const char *path, struct cm_err *err)
{
    if (fd < 0)
        return 0;
    /* Linux closes the descriptor even when close(2) fails; never retry. */
    if (close(fd) == -1 && errno != EINTR)
        return cm_fail_errno(err, errno, "%s: close failed", path);
    return 0;
}

int
io_write_all(int fd, const void *p, size_t len, const char *path,
             struct cm_err *err)
{
    const uint8_t *q = p;

    while (len > 0) {
        int fault = fault_check(IO_WRITE);
        size_t want = len;
        ssize_t n;

        if (fault == FAULT_SHORT && want > 1)
            want /= 2;
        if (fault > 0) {
            errno = fault;
            n = -1;
        } else {
            n = write(fd, q, want);
        }
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return cm_fail_errno(err, errno, "%s: write failed", path);
        if (n == 0)
            return cm_fail_errno(err, ENOSPC, "%s: write failed", path);
        q += n;
        len -= (size_t)n;
    }
    return 0;
}

static ssize_t
read_at(int fd, void *p, size_t len, int64_t off, const char *path,
        struct cm_err *err)
{
    uint8_t *q = p;
    size_t got = 0;

    while (got < len) {
        int fault = fault_check(IO_READ);
        size_t want = len - got;
        ssize_t n;

        if (fault == FAULT_SHORT && want > 1)
            want /= 2;
        if (fault > 0) {
            errno = fault;
            n = -1;
        } else if (off < 0) {
            n = read(fd, q + got, want);
        } else {
            n = pread(fd, q + got, want, (off_t)((uint64_t)off + got));
        }
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return cm_fail_errno(err, errno, "%s: read failed", path);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

ssize_t
io_read_full(int fd, void *p, size_t len, const char *path,
             struct cm_err *err)
{
    return read_at(fd, p, len, -1, path, err);
}

ssize_t
io_pread_full(int fd, void *p, size_t len, uint64_t off, const char *path,
              struct cm_err *err)
{
    if (off > INT64_MAX)
        return cm_fail(err, CM_EFORMAT, "%s: offset %llu out of range", path,
                       (unsigned long long)off);
    return read_at(fd, p, len, (int64_t)off, path, err);
}

int
io_fsync(int fd, const char *path, struct cm_err *err)
{
    int fault = fault_check(IO_FSYNC);

    if (fault > 0 && fault != EINTR)
        return cm_fail_errno(err, fault, "%s: fsync failed", path);
    while (fsync(fd) == -1) {
        /* Directories on some filesystems cannot be fsync'd. */
        if (errno == EINVAL || errno == EROFS)
            return 0;
        if (errno != EINTR)
            return cm_fail_errno(err, errno, "%s: fsync failed", path);
    }
    return 0;
}

int
io_fsync_dir(const char *path, struct cm_err *err)
{
    int fd = io_open(path, O_RDONLY | O_DIRECTORY, 0, err);
    int rc;

    if (fd == -1)
        return -1;
    rc = io_fsync(fd, path, err);
    if (io_close(fd, path, err) == -1)
        rc = -1;
    return rc;
}

int
io_rename(const char *from, const char *to, struct cm_err *err)
{
    int fault = fault_check(IO_RENAME);

    if (fault > 0 && fault != EINTR)
        return cm_fail_errno(err, fault, "%s: cannot rename to %s", from, to);
    if (rename(from, to) == -1)
        return cm_fail_errno(err, errno, "%s: cannot rename to %s", from, to);
    return 0;
}

int
io_read_file(const char *path, size_t max, struct buf *out,
             struct cm_err *err)
{
    uint8_t tmp[65536];
    struct stat st;
    int fd, rc = -1;
    ssize_t n;

    /* O_NONBLOCK: a FIFO put where a file belongs must not hang us. */
    fd = io_open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, err);
    if (fd == -1)
        return -1;
    if (fstat(fd, &st) == -1) {
        cm_fail_errno(err, errno, "%s: cannot stat", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        cm_fail(err, CM_EFORMAT, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        cm_fail(err, CM_EFORMAT, "%s: file is larger than %zu bytes", path,
                max);
        goto out;
    }
    while ((n = io_read_full(fd, tmp, sizeof tmp, path, err)) > 0)
        if (buf_append(out, tmp, (size_t)n, path, err) == -1)
            goto out;
    if (n == 0)
        rc = 0;
out:
    OPENSSL_cleanse(tmp, sizeof tmp);
    io_close(fd, path, NULL);
    return rc;
}

int
io_write_file_excl(const char *path, const void *p, size_t len, mode_t mode,
                   struct cm_err *err)
{
    int fd;

    fd = io_open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode, err);
    if (fd == -1) {
        if (err != NULL && err->sys_errno == EEXIST) {
            cm_err_clear(err);
            cm_fail(err, CM_EIO, "%s: already exists, refusing to overwrite",
                    path);
        }
        return -1;
    }
    if (fchmod(fd, mode) == -1 || io_write_all(fd, p, len, path, err) == -1 ||
        io_fsync(fd, path, err) == -1) {
        if (err != NULL && err->code == CM_OK)
            cm_fail_errno(err, errno, "%s: cannot set mode", path);
        io_close(fd, path, NULL);
        unlink(path);
        return -1;
    }
    if (io_close(fd, path, err) == -1) {
        unlink(path);
        return -1;
    }
    return 0;
}

int
io_isatty(int fd)
{
    return isatty(fd);
}

void
io_test_pause(const char *path)
{
    /* Called for every object: the environment is read once. */
    static enum { UNREAD, ARMED, OFF } state = UNREAD;
    static const char *at, *fifo;
    char line[64];
    FILE *f;

    if (state == UNREAD) {
        at = getenv("COLDMAIL_TEST_PAUSE_AT");
        fifo = getenv("COLDMAIL_TEST_PAUSE_FIFO");
        state = at != NULL && fifo != NULL ? ARMED : OFF;
    }
    if (state != ARMED || strstr(path, at) == NULL)
        return;
    state = OFF;
    if ((f = fopen(fifo, "re")) != NULL) {
        if (fgets(line, sizeof line, f) == NULL)
            line[0] = '\0';
        fclose(f);
    }
}
