/* Fuzz Bech32 decoding and age key parsing; what decodes re-encodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agekey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_err err = CM_ERR_INIT;
    char s[2048], hrp[2048], again[4096];
    uint8_t d[2048], d2[2048];
    struct age_recipient r;
    struct age_identity id;
    size_t n, n2;

    if (size >= sizeof s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (agekey_bech32_decode(s, hrp, sizeof hrp, d, sizeof d, &n, &err) == 0) {
        if (agekey_bech32_encode(again, sizeof again, hrp, d, n, &err) != 0 ||
            agekey_bech32_decode(again, hrp, sizeof hrp, d2, sizeof d2, &n2,
                                 &err) != 0 ||
            n2 != n || memcmp(d, d2, n) != 0 || strcasecmp(again, s) != 0)
            abort();
    }
    cm_err_clear(&err);
    (void)agekey_recipient_parse(s, &r, &err);
    cm_err_clear(&err);
    (void)agekey_identity_parse(s, &id, &err);
    agekey_identity_wipe(&id);
    return 0;
}
