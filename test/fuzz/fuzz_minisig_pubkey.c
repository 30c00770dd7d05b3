/*
 * fuzz_minisig_pubkey: minisig_pubkey_parse() over arbitrary bytes (a .pub
 * file or a bare `minisign -P` string).  What parses must format and parse
 * back to the same key, in both forms; what does not must be CM_EFORMAT.
 */
#include <stdlib.h>
#include <string.h>

#include "minisig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(const struct minisig_pubkey *pk)
{
    struct minisig_pubkey back;
    struct cm_err err = CM_ERR_INIT;
    char b64[MINISIG_PUBKEY_B64_LEN];
    struct buf text;

    buf_init(&text, MINISIG_FILE_MAX);
    if (minisig_pubkey_format(pk, &text, &err) == -1 ||
        minisig_pubkey_parse((const char *)text.data, text.len, &back, &err) ==
            -1 ||
        memcmp(pk, &back, sizeof back) != 0)
        abort();
    minisig_pubkey_base64(pk, b64);
    if (minisig_pubkey_parse(b64, strlen(b64), &back, &err) == -1 ||
        memcmp(pk, &back, sizeof back) != 0)
        abort();
    buf_free(&text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct minisig_pubkey pk;
    struct cm_err err = CM_ERR_INIT;

    if (minisig_pubkey_parse((const char *)data, size, &pk, &err) == -1) {
        if (err.code != CM_EFORMAT)
            abort();
        return 0;
    }
    round_trip(&pk);
    return 0;
}
