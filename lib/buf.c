#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void
buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->secret = 0;
}

void
buf_init_secret(struct buf *b, size_t max)
{
    buf_init(b, max);
    b->secret = 1;
}

static int
grow(struct buf *b, size_t need, struct cm_err *err)
{
    size_t cap = b->cap ? b->cap : 64;
    uint8_t *p;

    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    /* One spare byte so that buf_cstr never needs to grow. */
    if (cap > b->max + 1)
        cap = b->max + 1;
    if (cap < need)
        cap = need;
    if (b->secret) {
        p = malloc(cap);
        if (p != NULL && b->data != NULL) {
            memcpy(p, b->data, b->len);
            OPENSSL_cleanse(b->data, b->cap);
            free(b->data);
        }
    } else {
        p = realloc(b->data, cap);
    }
    if (p == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory (%zu bytes)", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int
buf_reserve(struct buf *b, size_t len, const char *what, struct cm_err *err)
{
    if (len > b->max || b->len > b->max - len)
        return cm_fail(err, CM_EFORMAT, "%s is larger than %zu bytes", what,
                       b->max);
    if (b->len + len + 1 > b->cap)
        return grow(b, b->len + len + 1, err);
    return 0;
}

int
buf_append(struct buf *b, const void *p, size_t len, const char *what,
           struct cm_err *err)
{
    if (len == 0)
        return 0;
    if (buf_reserve(b, len, what, err) == -1)
        return -1;
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return 0;
}

int
buf_append_str(struct buf *b, const char *s, const char *what,
               struct cm_err *err)
{
    return buf_append(b, s, strlen(s), what, err);
}

int
buf_append_byte(struct buf *b, uint8_t c, const char *what,
                struct cm_err *err)
{
    return buf_append(b, &c, 1, what, err);
}

int
buf_printf(struct buf *b, struct cm_err *err, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return cm_fail(err, CM_EINTERNAL, "bad format string");
    if (buf_reserve(b, (size_t)n, "text", err) == -1)
        return -1;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

const char *
buf_cstr(struct buf *b, struct cm_err *err)
{
    if (b->len + 1 > b->cap && grow(b, b->len + 1, err) == -1)
        return NULL;
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

void
buf_reset(struct buf *b)
{
    if (b->secret && b->data != NULL)
        OPENSSL_cleanse(b->data, b->cap);
    b->len = 0;
}

void
buf_free(struct buf *b)
{
    if (b->data != NULL) {
        if (b->secret)
            OPENSSL_cleanse(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

uint8_t *
buf_take(struct buf *b, size_t *len)
{
    uint8_t *p = b->data;

    if (len != NULL)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
