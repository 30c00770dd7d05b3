/*
 * fuzz_minisig_seckey: minisig_seckey_parse() over arbitrary bytes.  What
 * parses must format and parse back to the same key; what does not must be
 * CM_EFORMAT, or CM_EUSAGE for a password-protected key.
 */
#include <stdlib.h>
#include <string.h>

#include "minisig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct minisig_seckey sk, back;
    struct cm_err err = CM_ERR_INIT;
    struct buf text;

    if (minisig_seckey_parse((const char *)data, size, &sk, &err) == -1) {
        if (err.code != CM_EFORMAT && err.code != CM_EUSAGE)
            abort();
        return 0;
    }
    buf_init_secret(&text, MINISIG_FILE_MAX);
    if (minisig_seckey_format(&sk, &text, &err) == -1 ||
        minisig_seckey_parse((const char *)text.data, text.len, &back, &err) ==
            -1 ||
        memcmp(&sk, &back, sizeof back) != 0)
        abort();
    buf_free(&text);
    minisig_seckey_wipe(&sk);
    minisig_seckey_wipe(&back);
    return 0;
}
