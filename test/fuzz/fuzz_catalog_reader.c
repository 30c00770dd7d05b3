/*
 * fuzz_catalog_reader: arbitrary bytes as the plaintext of a catalog (what
 * catalog.jsonl.zst.age decrypts and decompresses to), read the way ls,
 * cat, restore and audit read it: header, records, trailer, in uneven
 * pieces.  Inputs whose size is a multiple of 5 go through the prefilter
 * as cat sets it.  A failure must carry an error code; after the trailer
 * nothing more may come.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
    const uint8_t *p;
    size_t len, off, step;
};

static long
src_read(void *ctx, void *p, size_t len, struct cm_err *err)
{
    struct src *s = ctx;
    size_t n = s->len - s->off;

    (void)err;
    if (n > len)
        n = len;
    if (n > s->step)
        n = s->step;
    if (n > 0)
        memcpy(p, s->p + s->off, n);
    s->off += n;
    return (long)n;
}

static int
accept_some(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    return len > 0 && memchr(line, 'm', len) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct src s = {data, size, 0, 1 + size % 997};
    struct cm_err err = CM_ERR_INIT;
    struct catalog_reader *r = NULL;
    struct catalog_entry e;
    int rc;

    catalog_entry_init(&e);
    if (catalog_reader_open_src(src_read, &s, NULL, "catalog", &r, &err) ==
        -1) {
        if (err.code == CM_OK)
            abort();
        return 0;
    }
    if (catalog_reader_header(r) == NULL)
        abort();
    if (size % 5 == 0)
        catalog_reader_set_prefilter(r, accept_some, NULL);
    while ((rc = catalog_reader_next(r, &e, &err)) == 1)
        if (!catalog_path_is_safe(e.path.p, e.path.len))
            abort();
    if ((rc == -1) != (err.code != CM_OK))
        abort();
    if (rc == 0 && s.off != s.len)
        abort();
    catalog_entry_free(&e);
    catalog_reader_free(r);
    return 0;
}
