/*
 * fuzz_tarr: arbitrary bytes as a volume's tar stream, read the way the
 * restore reads it: every entry, every byte of content, in uneven chunks.
 * The options are restore's (lib/restore_tar.c): the default bounds.
 * Failures and refusals must carry CM_EFORMAT.  A good entry must have a
 * safe path, offsets that move forward and stay inside the input, and
 * content equal to the input's bytes at its data offset.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "tarr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
    const uint8_t *p;
    size_t len, off;
};

static long
src_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct src *s = ctx;
    size_t n = s->len - s->off;

    (void)err;
    if (n > len)
        n = len;
    if (n > 3000)
        n = 3000;
    if (n > 0)
        memcpy(p, s->p + s->off, n);
    s->off += n;
    return (long)n;
}

/* Read the content of a good entry; returns 0 to go on, 1 to stop. */
static int
read_content(struct tarr *r, const struct tarr_entry *e, const uint8_t *data,
             size_t size, struct cm_err *err)
{
    static uint8_t buf[5000];
    uint64_t got = 0;
    long n;

    while ((n = tarr_read(r, buf, 1 + got % sizeof buf, err)) > 0) {
        if (e->data_off + got + (uint64_t)n > size ||
            memcmp(buf, data + e->data_off + got, (size_t)n) != 0)
            abort();
        got += (uint64_t)n;
    }
    if (n == -1) {
        if (err->code != CM_EFORMAT)
            abort();
        return 1;
    }
    if (got != (e->type == TARR_FILE ? e->size : 0))
        abort();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tarr_opts opts = {"fuzz", 0, 0};
    struct cm_err err = CM_ERR_INIT;
    struct src s = {data, size, 0};
    struct tarr_entry e;
    struct tarr *r = NULL;
    uint64_t last = 0;
    int rc;

    if (tarr_new(&opts, src_read, &s, &r, &err) == -1)
        abort();
    while ((rc = tarr_next(r, &e, &err)) != 0) {
        if (rc == -1 || rc == TARR_REFUSED) {
            if (err.code != CM_EFORMAT)
                abort();
            cm_err_clear(&err);
            if (rc == -1)
                break;
            continue;
        }
        if (!catalog_path_is_safe(e.path, e.path_len) ||
            strlen(e.path) != e.path_len || e.header_off < last ||
            e.data_off < e.header_off + 512 || e.data_off > size ||
            e.mode > 07777 || e.mtime_ns > 999999999u ||
            (e.type != TARR_FILE && e.type != TARR_DIR &&
             e.type != TARR_SYMLINK) ||
            (e.type == TARR_SYMLINK && (e.link == NULL || e.link_len == 0)))
            abort();
        last = e.data_off;
        if (read_content(r, &e, data, size, &err))
            break;
    }
    tarr_free(r);
    return 0;
}
