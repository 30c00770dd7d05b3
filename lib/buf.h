/*
 * buf: a growable byte buffer with a hard ceiling.  Every buffer that fills
 * from untrusted input names its ceiling, so a hostile file cannot make us
 * allocate without bound.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;   /* hard ceiling on len */
    int secret;   /* wipe on growth and on free */
};

/* An empty buffer that will refuse to grow past ${max} bytes. */
void buf_init(struct buf *b, size_t max);

/* As buf_init(), and wipe every copy of the contents when done with it. */
void buf_init_secret(struct buf *b, size_t max);

/*
 * Append ${len} bytes.  Returns 0, or -1 with CM_EFORMAT if the ceiling
 * would be passed ("${what} is larger than N bytes"), CM_EINTERNAL if out
 * of memory.
 */
int buf_append(struct buf *b, const void *p, size_t len, const char *what,
               struct cm_err *err);

/* Append a NUL-terminated string (without its NUL). */
int buf_append_str(struct buf *b, const char *s, const char *what,
                   struct cm_err *err);

/* Append one byte. */
int buf_append_byte(struct buf *b, uint8_t c, const char *what,
                    struct cm_err *err);

/* Append printf-style text. */
int buf_printf(struct buf *b, struct cm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Make room for ${len} more bytes without changing len. */
int buf_reserve(struct buf *b, size_t len, const char *what,
                struct cm_err *err);

/*
 * Return the contents as a NUL-terminated string (a NUL is kept after len,
 * not counted).  Returns NULL with CM_EINTERNAL if out of memory.
 */
const char *buf_cstr(struct buf *b, struct cm_err *err);

/* Empty the buffer, keeping its storage (wiped if secret). */
void buf_reset(struct buf *b);

/* Release the storage (wiped if secret); the buffer is empty again. */
void buf_free(struct buf *b);

/* Hand the storage to the caller, who frees it; the buffer is empty. */
uint8_t *buf_take(struct buf *b, size_t *len);

#endif
