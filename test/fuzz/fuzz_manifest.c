/*
 * fuzz_manifest: arbitrary bytes as a MANIFEST (manifest_parse, as verify
 * and restore read it before the signature is known to hold, and as
 * mediumscan reads it without any key).  A failure must carry CM_EFORMAT;
 * what parses must format, parse again, and format to the same text.
 */
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_err err = CM_ERR_INIT;
    struct manifest m, again;
    struct buf a, b;

    manifest_init(&m);
    manifest_init(&again);
    buf_init(&a, MANIFEST_MAX);
    buf_init(&b, MANIFEST_MAX);
    if (manifest_parse((const char *)data, size, "MANIFEST", &m, &err) == -1) {
        if (err.code != CM_EFORMAT && err.code != CM_EINTERNAL)
            abort();
        goto out;
    }
    if (m.nfiles > MANIFEST_FILES_MAX ||
        m.nrecipients > MANIFEST_RECIPIENTS_MAX ||
        m.nstores > MANIFEST_STORES_MAX)
        abort();
    for (size_t i = 0; i < m.nfiles; i++) {
        const struct manifest_file *f = &m.files[i];
        uint64_t want = (f->size + m.block_size - 1) / m.block_size;
        if (m.block_size == 0 || f->nblocks != want ||
            manifest_find_file(&m, f->name) == NULL)
            abort();
    }
    if (manifest_format(&m, &a, &err) == -1 ||
        manifest_parse((const char *)a.data, a.len, "again", &again, &err) ==
            -1 ||
        manifest_format(&again, &b, &err) == -1 || a.len != b.len ||
        memcmp(a.data, b.data, a.len) != 0)
        abort();
out:
    manifest_free(&m);
    manifest_free(&again);
    buf_free(&a);
    buf_free(&b);
    return 0;
}
