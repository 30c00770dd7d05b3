/*
 * fuzz_medium: arbitrary bytes as a medium label (COLDMAIL-MEDIUM), which
 * pack, media ls and verify read from any disk plugged in, before its
 * signature is checked.  A failure must carry CM_EFORMAT; a label that
 * parses must have a good label text and a 16-digit key id, and format
 * back to the same bytes (the grammar has one spelling for each value).
 */
#include <stdlib.h>
#include <string.h>

#include "medium.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_err err = CM_ERR_INIT;
    struct medium_label l, again;
    struct buf a, b;

    buf_init(&a, MEDIUM_FILE_MAX);
    buf_init(&b, MEDIUM_FILE_MAX);
    if (medium_parse((const char *)data, size, &l, &err) == -1) {
        if (err.code != CM_EFORMAT)
            abort();
        goto out;
    }
    if (medium_label_check(l.label, NULL) == -1 ||
        strlen(l.signer_key_id) != 16 ||
        memchr(l.host, '\n', strlen(l.host)) != NULL)
        abort();
    if (medium_format(&l, &a, &err) == -1 ||
        medium_parse((const char *)a.data, a.len, &again, &err) == -1 ||
        medium_format(&again, &b, &err) == -1 || a.len != b.len ||
        memcmp(a.data, b.data, a.len) != 0 ||
        memcmp(l.id, again.id, sizeof l.id) != 0 || l.created != again.created)
        abort();
out:
    buf_free(&a);
    buf_free(&b);
    return 0;
}
