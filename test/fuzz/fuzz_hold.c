/*
 * fuzz_hold: arbitrary bytes as a hold file (COLDMAIL-HOLD.<set>), which
 * prune and status read from the medium, signed or not.  A failure must
 * carry CM_EFORMAT; a hold that parses must format, parse again, and
 * format to the same text, with the same values.
 */
#include <stdlib.h>
#include <string.h>

#include "hold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_err err = CM_ERR_INIT;
    struct hold h, again;
    struct buf a, b;

    buf_init(&a, HOLD_FILE_MAX);
    buf_init(&b, HOLD_FILE_MAX);
    if (hold_parse((const char *)data, size, &h, &err) == -1) {
        if (err.code != CM_EFORMAT)
            abort();
        goto out;
    }
    if (strlen(h.set) > HOLD_NAME_MAX || strlen(h.reason) > HOLD_REASON_MAX ||
        strchr(h.set, '/') != NULL || strchr(h.reason, '\n') != NULL)
        abort();
    memset(&again, 0, sizeof again);
    if (hold_format(&h, &a, &err) == -1 ||
        hold_parse((const char *)a.data, a.len, &again, &err) == -1 ||
        hold_format(&again, &b, &err) == -1 || a.len != b.len ||
        memcmp(a.data, b.data, a.len) != 0 || h.held_at != again.held_at ||
        memcmp(h.set_id, again.set_id, sizeof h.set_id) != 0 ||
        memcmp(h.manifest_sha256, again.manifest_sha256,
               sizeof h.manifest_sha256) != 0)
        abort();
out:
    buf_free(&a);
    buf_free(&b);
    return 0;
}
