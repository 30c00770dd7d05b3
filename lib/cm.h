/*
 * cm: the one error type of libcoldmail, and the exit codes both programs
 * return.  A library function fills a struct cm_err and returns -1 (or NULL);
 * it never prints and never exits.
 */
#ifndef CM_H
#define CM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The codes double as exit statuses; they are listed in coldmail(1) and
 * coldmail-restore(1).  Do not renumber: scripts depend on them.
 */
enum cm_code {
    CM_OK = 0,
    CM_DAMAGED = 1,   /* finished, but found damaged data or lost objects */
    CM_EUSAGE = 2,    /* bad command line or option value */
    CM_EIO = 3,       /* a read, write, open, fsync or rename failed */
    CM_EFORMAT = 4,   /* malformed or hostile input */
    CM_EAUTH = 5,     /* signature, MAC or authentication tag mismatch */
    CM_ENOKEY = 6,    /* no identity or key matches */
    CM_ENOSPC = 7,    /* the medium is full */
    CM_EBUSY = 8,     /* another run holds the lock */
    CM_EINTERNAL = 9, /* out of memory, or a bug */
    CM_EINTR = 10,    /* interrupted by a signal; nothing committed */
    CM_ECONFLICT = 11, /* finished, but left existing different files alone */
};

#define CM_ERR_MSG_MAX 512

struct cm_err {
    enum cm_code code;
    int sys_errno;
    char msg[CM_ERR_MSG_MAX];
};

/* An empty error, ready to be passed down. */
#define CM_ERR_INIT {CM_OK, 0, {0}}

/*
 * Fill ${err} with ${code} and the printf-style message, unless it already
 * holds an error (the first, innermost cause wins).  Always returns -1 so
 * that callers can write `return cm_fail(...)`.  ${err} may be NULL.
 */
int cm_fail(struct cm_err *err, enum cm_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * As cm_fail(), and append ": strerror(${errnum})"; the code is derived from
 * ${errnum} (ENOSPC and EDQUOT give CM_ENOSPC, EINTR gives CM_EINTR, ENOMEM
 * gives CM_EINTERNAL, anything else CM_EIO).  Returns -1.
 */
int cm_fail_errno(struct cm_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Prefix the message already in ${err} with "${fmt}: ", keeping its code.
 * Used to add the file name or place at the layer that knows it.  Returns -1.
 */
int cm_err_prefix(struct cm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Forget the error in ${err}, e.g. after noting a damaged object. */
void cm_err_clear(struct cm_err *err);

/* A short human name for ${code}: "damaged", "usage", "I/O error", ... */
const char *cm_code_name(enum cm_code code);

/* Allocation that reports failure through ${err} (CM_EINTERNAL). */
void *cm_malloc(size_t n, struct cm_err *err);
void *cm_calloc(size_t count, size_t size, struct cm_err *err);
char *cm_strdup(const char *s, struct cm_err *err);

/*
 * Overwrite ${len} bytes at ${p} so that the compiler cannot drop it, then
 * free ${p}.  For buffers that held keys, passphrases or plaintext.
 */
void cm_free_secret(void *p, size_t len);

/*
 * Byte streams between the layers (tar > zstd frames > age > file, and back).
 *
 * cm_write_fn: take all ${len} bytes at ${p}; 0, or -1 with ${err} set.
 * cm_read_fn: read up to ${len} bytes into ${p}; the count (0 only at the
 *   end of the stream), or -1 with ${err} set.
 * cm_pread_fn: read exactly ${len} bytes at offset ${off}; 0, or -1 with
 *   ${err} set (CM_EFORMAT if the range is past the end).
 */
typedef int (*cm_write_fn)(void *ctx, const void *p, size_t len,
                           struct cm_err *err);
typedef long (*cm_read_fn)(void *ctx, void *p, size_t len,
                           struct cm_err *err);
typedef int (*cm_pread_fn)(void *ctx, void *p, size_t len, uint64_t off,
                           struct cm_err *err);

#define CM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
