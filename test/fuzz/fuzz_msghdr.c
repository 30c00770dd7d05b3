/*
 * fuzz_msghdr: any bytes as a header block and as one header value; every
 * string handed out must be valid UTF-8 without control characters.
 *
 * Seeds (corpus/msghdr): messages copied from test/data/mail (mikel-mail,
 * spamassassin, mimekit; licenses in its NOTICE), and one made by hand.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msghdr.h"
#include "when.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Strictly valid UTF-8, no NUL, no control characters but tab. */
static void
assert_clean(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (s == NULL)
        return;
    while (*p != '\0') {
        unsigned c = *p, n, cp, min;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                abort();
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            abort();
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                abort();
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp < 0xa0))
            abort();
        p += n + 1;
    }
    if ((size_t)((const char *)p - s) > MSGHDR_FIELD_MAX)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_err err = CM_ERR_INIT;
    struct msghdr h;
    char *out = NULL;
    int lossy = 0;
    int64_t t;

    if (msghdr_parse(data, size, &h, &err) == 0) {
        assert_clean(h.message_id);
        assert_clean(h.date_raw);
        assert_clean(h.from.value);
        assert_clean(h.subject.value);
        if ((h.from.raw == NULL) != (h.from.raw_len == 0) ||
            (h.subject.raw == NULL) != (h.subject.raw_len == 0) ||
            h.from.raw_len > MSGHDR_FIELD_MAX ||
            h.subject.raw_len > MSGHDR_FIELD_MAX)
            abort();
        msghdr_free(&h);
    }
    if (msghdr_decode(data, size, &out, &lossy, &err) == 0) {
        assert_clean(out);
        free(out);
    }
    if (msghdr_block_end(data, size) > size)
        abort();
    (void)when_parse_rfc5322((const char *)data, size, &t);
    return 0;
}
