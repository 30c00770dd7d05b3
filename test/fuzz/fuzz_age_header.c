/*
 * Fuzz the age header parser and the stanza unwrapping (with a fixed
 * X25519 identity, the one of the CCTV vectors, so that seeds derived from
 * them reach the MAC check).
 */
#include <stdint.h>
#include <stdlib.h>

#include "age.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct age_identity id;
static struct age_identities ids = {&id, 1};
static int ready;

static void
setup(void)
{
    struct cm_err err = CM_ERR_INIT;

    if (ready)
        return;
    if (agekey_identity_parse("AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VK"
                              "NX2MMDKWYKLMGR48UAWX40Q2P2LM0",
                              &id, &err) == -1)
        abort();
    ready = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_err err = CM_ERR_INIT;
    uint8_t file_key[AGE_FILE_KEY_SIZE];
    struct age_header h;

    setup();
    if (age_header_parse(data, size, "fuzz", &h, &err) == -1)
        return 0;
    if (h.len > size || h.mac_input_len >= h.len || h.nstanzas == 0 ||
        h.nstanzas > AGE_STANZAS_MAX)
        abort();
    age_header_unwrap(&h, data, &ids, "fuzz", file_key, &err);
    age_header_free(&h);
    return 0;
}
