/* Fuzz the ASCII armor decoder. */
#include <stdint.h>
#include <stdlib.h>

#include "age.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t *out = malloc(size + 1);
    long n;

    if (out == NULL)
        return 0;
    n = age_armor_decode(data, size, out, size, "fuzz", &err);
    /* Armor never expands: 64 columns carry 48 bytes. */
    if (n > (long)size || (n < 0 && err.code != CM_EFORMAT))
        abort();
    (void)age_is_armored(data, size);
    free(out);
    return 0;
}
