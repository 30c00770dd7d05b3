/*
 * fuzz_catalog_line: arbitrary bytes as one catalog line, parsed as a
 * record, as the header and as the trailer.  A failure must carry
 * CM_EFORMAT.  A record that parses must have a safe path, and format to a line
 * that parses to the same line again (the place is checked against the tar
 * stream by verify
 * --deep, not here); a header or trailer that parses must format and parse back
 * to the same values.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
failed(const struct cm_err *err)
{
    if (err->code != CM_EFORMAT && err->code != CM_EINTERNAL)
        abort();
}

static void
entry(const char *line, size_t len)
{
    struct cm_err err = CM_ERR_INIT;
    struct catalog_entry e, again;
    struct buf a, b;

    catalog_entry_init(&e);
    catalog_entry_init(&again);
    buf_init(&a, 2 * CATALOG_LINE_MAX);
    buf_init(&b, 2 * CATALOG_LINE_MAX);
    if (catalog_entry_parse(line, len, 7, &e, &err) == -1) {
        failed(&err);
        goto out;
    }
    if (!catalog_path_is_safe(e.path.p, e.path.len) ||
        strlen(e.path.p) != e.path.len || e.mode > 07777 ||
        e.mtime_ns > 999999999u ||
        (e.kind == CATALOG_SYMLINK && e.link.p == NULL))
        abort();
    /* A formatted record parses back to the same record: its line is a
     * fixed point (the input may spell things differently). */
    if (catalog_entry_format(&e, &a, &err) == -1 || a.len == 0 ||
        a.data[a.len - 1] != '\n' ||
        catalog_entry_parse((const char *)a.data, a.len - 1, 1, &again, &err) ==
            -1 ||
        catalog_entry_format(&again, &b, &err) == -1 || a.len != b.len ||
        memcmp(a.data, b.data, a.len) != 0)
        abort();
out:
    catalog_entry_free(&e);
    catalog_entry_free(&again);
    buf_free(&a);
    buf_free(&b);
}

static void
header(const char *line, size_t len)
{
    struct cm_err err = CM_ERR_INIT;
    struct catalog_header h, again;
    struct buf a;

    memset(&h, 0, sizeof h);
    memset(&again, 0, sizeof again);
    buf_init(&a, CATALOG_LINE_MAX);
    if (catalog_header_parse(line, len, &h, &err) == -1) {
        failed(&err);
        goto out;
    }
    if (catalog_header_format(&h, &a, &err) == -1 || a.len == 0 ||
        catalog_header_parse((const char *)a.data, a.len - 1, &again, &err) ==
            -1 ||
        again.version != h.version || again.created != h.created ||
        memcmp(again.set_id, h.set_id, sizeof h.set_id) != 0 ||
        (h.host == NULL) != (again.host == NULL) ||
        (h.host != NULL && strcmp(h.host, again.host) != 0))
        abort();
out:
    catalog_header_free(&h);
    catalog_header_free(&again);
    buf_free(&a);
}

static void
trailer(const char *line, size_t len)
{
    struct cm_err err = CM_ERR_INIT;
    uint64_t count = 0, again = 0;
    struct buf a;
    int rc;

    buf_init(&a, 256);
    rc = catalog_trailer_parse(line, len, &count, &err);
    if (rc == -1)
        failed(&err);
    if (rc == 1 &&
        (catalog_trailer_format(count, &a, &err) == -1 || a.len == 0 ||
         catalog_trailer_parse((const char *)a.data, a.len - 1, &again, &err) !=
             1 ||
         again != count))
        abort();
    buf_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;

    if (size > CATALOG_LINE_MAX)
        return 0;
    entry(line, size);
    header(line, size);
    trailer(line, size);
    return 0;
}
