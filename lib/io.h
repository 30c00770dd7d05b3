/*
 * io: every open, read, write, fsync and rename of libcoldmail goes through
 * here.  Short counts and EINTR are absorbed, errors name the file, and the
 * fault-injection hook below lets tests fail the Nth call of a kind.
 *
 * Fault injection (tests only): COLDMAIL_TEST_FAULT="KIND:N:WHAT[,...]"
 * where KIND is open, read, write, fsync or rename, N counts calls of that
 * kind from 1, and WHAT is an errno name (ENOSPC, EIO, EINTR, ...) or
 * "short" (the call moves half the bytes).  COLDMAIL_TEST_FAULT_LOG=FILE
 * appends one line per call ("write 17"), so a test can count them first.
 */
#ifndef IO_H
#define IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "cm.h"

/*
 * open(2) ${path} with ${flags} (O_CLOEXEC is added) and ${mode}.  Returns
 * the descriptor, or -1 with CM_EIO (or CM_ENOSPC) naming ${path}.
 */
int io_open(const char *path, int flags, mode_t mode, struct cm_err *err);

/* openat(2) relative to ${dirfd}; ${path} in messages is ${name}. */
int io_openat(int dirfd, const char *name, int flags, mode_t mode,
              struct cm_err *err);

/* close(2); a failure (deferred write error) is reported. */
int io_close(int fd, const char *path, struct cm_err *err);

/*
 * Write all ${len} bytes to ${fd}, retrying short writes and EINTR.  0, or
 * -1 with CM_EIO/CM_ENOSPC naming ${path}.
 */
int io_write_all(int fd, const void *p, size_t len, const char *path,
                 struct cm_err *err);

/*
 * Read up to ${len} bytes, retrying short reads and EINTR until ${len} or
 * end of file.  Returns the count (less than ${len} only at end of file), or
 * -1 with CM_EIO naming ${path}.
 */
ssize_t io_read_full(int fd, void *p, size_t len, const char *path,
                     struct cm_err *err);

/* As io_read_full(), at offset ${off} (pread(2)). */
ssize_t io_pread_full(int fd, void *p, size_t len, uint64_t off,
                      const char *path, struct cm_err *err);

/* fsync(2) ${fd}. */
int io_fsync(int fd, const char *path, struct cm_err *err);

/* fsync(2) the directory ${path}, so that a rename in it is durable. */
int io_fsync_dir(const char *path, struct cm_err *err);

/* rename(2) ${from} to ${to}. */
int io_rename(const char *from, const char *to, struct cm_err *err);

/*
 * Read the whole of ${path} (a regular file, not followed if a symlink)
 * into ${out}, failing with CM_EFORMAT if it is larger than ${max} bytes.
 */
int io_read_file(const char *path, size_t max, struct buf *out,
                 struct cm_err *err);

/*
 * Create ${path} with O_CREAT|O_EXCL|O_NOFOLLOW and ${mode}, write ${len}
 * bytes, fsync and close.  Refuses to replace an existing file (CM_EIO,
 * "already exists").  On failure after creation the file is removed.
 */
int io_write_file_excl(const char *path, const void *p, size_t len,
                       mode_t mode, struct cm_err *err);

/*
 * The fault-injection hook alone, for an open or a rename that io does not
 * make itself (extract's temporaries and its rename that never replaces):
 * counts a call of ${kind} ("open", "rename", ...) and returns the errno a
 * test asks this call to fail with, or 0 (always 0 outside tests).
 */
int io_fault_hook(const char *kind);

/*
 * Test hook: with COLDMAIL_TEST_PAUSE_AT=TEXT and COLDMAIL_TEST_PAUSE_FIFO=
 * PATH, the first call whose ${path} holds TEXT waits for a line (or EOF,
 * or a signal) on the FIFO, so that a test can change the store between a
 * pack's walk and its read, or interrupt a restore at a known point.  A
 * no-op outside tests.
 */
void io_test_pause(const char *path);

/* Is ${fd} a terminal?  (isatty, kept here so that tests can fake it.) */
int io_isatty(int fd);

#endif
