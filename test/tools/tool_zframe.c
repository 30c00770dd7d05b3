/*
 * tool_zframe: drive lib/zframe from the shell, for interop tests and
 * benchmarks.
 *
 *   tool_zframe compress [-t THREADS] [-l LEVEL] [-f FRAMESIZE] < in > out
 *   tool_zframe pread FILE OFF LEN > out     (random access, by seek table)
 *   tool_zframe scan FILE OFF LEN > out      (random access, by frame walk)
 *   tool_zframe decompress [-m MAXOUT] < in > out   (stream mode)
 *
 * Exit status: the cm_code of the failure, 0 on success.
 */
#include "zframe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

#define IO_CHUNK (256u * 1024u)

static int
fd_write(void *ctx, const void *p, size_t len, struct cm_err *err)
{
    return io_write_all(*(int *)ctx, p, len, "stdout", err);
}

static long
fd_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    return (long)io_read_full(*(int *)ctx, p, len, "stdin", err);
}

struct file {
    int fd;
    const char *path;
};

static int
file_pread(void *ctx, void *p, size_t len, uint64_t off, struct cm_err *err)
{
    const struct file *f = ctx;
    ssize_t n = io_pread_full(f->fd, p, len, off, f->path, err);

    if (n < 0)
        return -1;
    if ((size_t)n != len)
        return cm_fail(err, CM_EFORMAT, "%s: short read at %llu", f->path,
                       (unsigned long long)off);
    return 0;
}

static int
parse_u64(const char *s, unsigned long long *v, struct cm_err *err)
{
    char *end;

    errno = 0;
    *v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return cm_fail(err, CM_EUSAGE, "not a number: %s", s);
    return 0;
}

static int
compress_opts(int argc, char **argv, struct zframe_writer_opts *o,
              struct cm_err *err)
{
    unsigned long long v;
    int c;

    while ((c = getopt(argc, argv, "t:l:f:")) != -1) {
        if (c == '?' ||
            parse_u64(optarg + (c == 'l' && optarg[0] == '-'), &v, err) == -1)
            return cm_fail(err, CM_EUSAGE, "bad option");
        if (c == 't')
            o->threads = (int)v;
        else if (c == 'l')
            o->level = optarg[0] == '-' ? -(int)v : (int)v;
        else
            o->frame_size = (size_t)v;
    }
    return 0;
}

static int
cmd_compress(int argc, char **argv, struct cm_err *err)
{
    struct zframe_writer_opts o = {0, 0, 0};
    struct zframe_writer *w = NULL;
    uint8_t *buf = NULL;
    int out = 1, rc = -1;
    ssize_t n;

    if (compress_opts(argc, argv, &o, err) == -1 ||
        (buf = cm_malloc(IO_CHUNK, err)) == NULL ||
        zframe_writer_new(&o, fd_write, &out, &w, err) == -1)
        goto out;
    while ((n = io_read_full(0, buf, IO_CHUNK, "stdin", err)) > 0)
        if (zframe_writer_write(w, buf, (size_t)n, err) == -1)
            goto out;
    if (n < 0 || zframe_writer_finish(w, err) == -1)
        goto out;
    rc = 0;
out:
    zframe_writer_free(w);
    free(buf);
    return rc;
}

static int
cmd_pread(int argc, char **argv, int scan, struct cm_err *err)
{
    struct file f = {-1, NULL};
    struct zframe_reader *r = NULL;
    unsigned long long off, len, n;
    uint8_t *buf = NULL;
    struct stat st;
    int rc = -1;

    if (argc != 4)
        return cm_fail(err, CM_EUSAGE, "usage: pread FILE OFF LEN");
    f.path = argv[1];
    if (parse_u64(argv[2], &off, err) == -1 ||
        parse_u64(argv[3], &len, err) == -1 ||
        (f.fd = io_open(f.path, O_RDONLY, 0, err)) == -1 ||
        (buf = cm_malloc(IO_CHUNK, err)) == NULL)
        goto out;
    if (fstat(f.fd, &st) == -1) {
        cm_fail_errno(err, errno, "%s", f.path);
        goto out;
    }
    if ((scan ? zframe_reader_open_scan : zframe_reader_open)(
            file_pread, &f, (uint64_t)st.st_size, f.path, &r, err) == -1)
        goto out;
    for (; len > 0; len -= n, off += n) {
        n = len < IO_CHUNK ? len : IO_CHUNK;
        if (zframe_reader_pread(r, buf, n, off, err) == -1 ||
            io_write_all(1, buf, n, "stdout", err) == -1)
            goto out;
    }
    rc = 0;
out:
    zframe_reader_free(r);
    if (f.fd != -1)
        close(f.fd);
    free(buf);
    return rc;
}

static int
cmd_decompress(int argc, char **argv, struct cm_err *err)
{
    struct zframe_stream *s = NULL;
    unsigned long long max = 0;
    uint8_t *buf = NULL;
    int in = 0, rc = -1;
    long n;

    if (argc == 3 && strcmp(argv[1], "-m") == 0) {
        if (parse_u64(argv[2], &max, err) == -1)
            return -1;
    } else if (argc != 1) {
        return cm_fail(err, CM_EUSAGE, "usage: decompress [-m MAXOUT]");
    }
    if ((buf = cm_malloc(IO_CHUNK, err)) == NULL ||
        zframe_stream_new(fd_read, &in, "stdin", max, &s, err) == -1)
        goto out;
    while ((n = zframe_stream_read(s, buf, IO_CHUNK, err)) > 0)
        if (io_write_all(1, buf, (size_t)n, "stdout", err) == -1)
            goto out;
    if (n < 0)
        goto out;
    rc = 0;
out:
    zframe_stream_free(s);
    free(buf);
    return rc;
}

int
main(int argc, char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    const char *verb = argc > 1 ? argv[1] : "";
    int rc;

    if (strcmp(verb, "compress") == 0)
        rc = cmd_compress(argc - 1, argv + 1, &err);
    else if (strcmp(verb, "pread") == 0 || strcmp(verb, "scan") == 0)
        rc = cmd_pread(argc - 1, argv + 1, verb[0] == 's', &err);
    else if (strcmp(verb, "decompress") == 0)
        rc = cmd_decompress(argc - 1, argv + 1, &err);
    else
        rc = cm_fail(&err, CM_EUSAGE,
                     "usage: tool_zframe compress|pread|scan|decompress ...");
    if (rc == -1) {
        fprintf(stderr, "tool_zframe: %s\n", err.msg);
        return err.code;
    }
    return 0;
}
