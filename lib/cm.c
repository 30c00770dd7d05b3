#include "cm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static void vset(struct cm_err *err, enum cm_code code, const char *fmt,
                 va_list ap) __attribute__((format(printf, 3, 0)));

static void
vset(struct cm_err *err, enum cm_code code, const char *fmt, va_list ap)
{
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int
cm_fail(struct cm_err *err, enum cm_code code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->code != CM_OK)
        return -1;
    va_start(ap, fmt);
    vset(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

static enum cm_code
code_of_errno(int errnum)
{
    switch (errnum) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return CM_ENOSPC;
    case EINTR:
        return CM_EINTR;
    case ENOMEM:
        return CM_EINTERNAL;
    default:
        return CM_EIO;
    }
}

int
cm_fail_errno(struct cm_err *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    size_t len;

    if (err == NULL || err->code != CM_OK)
        return -1;
    va_start(ap, fmt);
    vset(err, code_of_errno(errnum), fmt, ap);
    va_end(ap);
    err->sys_errno = errnum;
    len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len, ": %s", strerror(errnum));
    return -1;
}

int
cm_err_prefix(struct cm_err *err, const char *fmt, ...)
{
    char old[CM_ERR_MSG_MAX];
    size_t len;
    va_list ap;

    if (err == NULL)
        return -1;
    memcpy(old, err->msg, sizeof old);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    len = strlen(err->msg);
    if (len + 2 < sizeof err->msg) {
        memcpy(err->msg + len, ": ", 3);
        len += 2;
        memcpy(err->msg + len, old, strnlen(old, sizeof err->msg - len - 1));
        err->msg[sizeof err->msg - 1] = '\0';
        err->msg[len + strnlen(old, sizeof err->msg - len - 1)] = '\0';
    }
    return -1;
}

void
cm_err_clear(struct cm_err *err)
{
    if (err == NULL)
        return;
    err->code = CM_OK;
    err->sys_errno = 0;
    err->msg[0] = '\0';
}

const char *
cm_code_name(enum cm_code code)
{
    switch (code) {
    case CM_OK:
        return "ok";
    case CM_DAMAGED:
        return "damaged";
    case CM_EUSAGE:
        return "usage error";
    case CM_EIO:
        return "I/O error";
    case CM_EFORMAT:
        return "format error";
    case CM_EAUTH:
        return "authentication failed";
    case CM_ENOKEY:
        return "no matching key";
    case CM_ENOSPC:
        return "medium full";
    case CM_EBUSY:
        return "busy";
    case CM_EINTERNAL:
        return "internal error";
    case CM_EINTR:
        return "interrupted";
    case CM_ECONFLICT:
        return "conflicts with existing files";
    }
    return "unknown error";
}

void *
cm_malloc(size_t n, struct cm_err *err)
{
    void *p = malloc(n == 0 ? 1 : n);

    if (p == NULL)
        cm_fail(err, CM_EINTERNAL, "out of memory (%zu bytes)", n);
    return p;
}

void *
cm_calloc(size_t count, size_t size, struct cm_err *err)
{
    void *p = calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);

    if (p == NULL)
        cm_fail(err, CM_EINTERNAL, "out of memory (%zu x %zu bytes)", count,
                size);
    return p;
}

char *
cm_strdup(const char *s, struct cm_err *err)
{
    char *p = strdup(s);

    if (p == NULL)
        cm_fail(err, CM_EINTERNAL, "out of memory");
    return p;
}

void
cm_free_secret(void *p, size_t len)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, len);
    free(p);
}
