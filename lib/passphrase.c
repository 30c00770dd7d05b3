#include "passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "io.h"

static int
read_line_noecho(int fd, char *buf, size_t size, struct cm_err *err)
{
    size_t n = 0;
    char c;

    for (;;) {
        ssize_t r = read(fd, &c, 1);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            return cm_fail_errno(err, errno, "/dev/tty: read failed");
        if (r == 0 || c == '\n' || c == '\r')
            break;
        if (n + 1 >= size) {
            OPENSSL_cleanse(buf, size);
            return cm_fail(err, CM_EUSAGE, "passphrase is too long");
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    c = 0;
    if (n == 0)
        return cm_fail(err, CM_EUSAGE, "empty passphrase");
    return 0;
}

int
passphrase_from_tty(const char *prompt, char *buf, size_t size,
                    struct cm_err *err)
{
    struct termios saved, quiet;
    int fd, rc = -1, restored = 0;

    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd == -1)
        return cm_fail(err, CM_EUSAGE,
                       "%s: a passphrase is needed but there is no terminal "
                       "(use --passphrase-file)",
                       prompt);
    if (tcgetattr(fd, &saved) == -1) {
        cm_fail_errno(err, errno, "/dev/tty: cannot read terminal settings");
        goto out;
    }
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    if (dprintf(fd, "%s: ", prompt) < 0 ||
        tcsetattr(fd, TCSAFLUSH, &quiet) == -1) {
        cm_fail_errno(err, errno, "/dev/tty: cannot turn off echo");
        goto out;
    }
    rc = read_line_noecho(fd, buf, size, err);
    restored = tcsetattr(fd, TCSAFLUSH, &saved) == 0;
    (void)!write(fd, "\n", 1);
    if (!restored && rc == 0) {
        OPENSSL_cleanse(buf, size);
        rc = cm_fail_errno(err, errno, "/dev/tty: cannot restore echo");
    }
out:
    close(fd);
    return rc;
}

int
passphrase_from_file(const char *path, char *buf, size_t size,
                     struct cm_err *err)
{
    struct buf b;
    size_t n = 0;
    int rc = -1;

    buf_init_secret(&b, 64 * 1024);
    if (io_read_file(path, b.max, &b, err) == -1)
        goto out;
    while (n < b.len && b.data[n] != '\n' && b.data[n] != '\r')
        n++;
    if (n == 0) {
        cm_fail(err, CM_EFORMAT, "%s: empty passphrase", path);
        goto out;
    }
    if (n + 1 > size) {
        cm_fail(err, CM_EFORMAT, "%s: passphrase is too long", path);
        goto out;
    }
    if (memchr(b.data, '\0', n) != NULL) {
        cm_fail(err, CM_EFORMAT, "%s: passphrase holds a NUL byte", path);
        goto out;
    }
    memcpy(buf, b.data, n);
    buf[n] = '\0';
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

int
passphrase_get(void *ctx, char *buf, size_t size, const char *prompt,
               struct cm_err *err)
{
    const char *file = ctx;

    if (file != NULL)
        return passphrase_from_file(file, buf, size, err);
    return passphrase_from_tty(prompt, buf, size, err);
}
