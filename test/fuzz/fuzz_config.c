/*
 * fuzz_config: arbitrary bytes as coldmail.conf.  A failure must carry
 * CM_EFORMAT (or CM_EINTERNAL) and leave the configuration empty; what
 * parses must hold NULL-terminated lists of the counted length, and a
 * rotation within its bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_list(char **list, size_t n)
{
    if (n > 0 && list == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        if (list[i] == NULL)
            abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_err err = CM_ERR_INIT;
    struct config c;

    if (size > CONFIG_FILE_MAX)
        return 0;
    config_init(&c);
    if (config_parse((const char *)data, size, "coldmail.conf", &c, &err) ==
        -1) {
        if ((err.code != CM_EFORMAT && err.code != CM_EINTERNAL) ||
            c.stores != NULL || c.nstores != 0 || c.media != NULL ||
            c.excludes != NULL)
            abort();
        config_free(&c);
        return 0;
    }
    check_list(c.stores, c.nstores);
    if (c.stores != NULL && c.stores[c.nstores] != NULL)
        abort();
    check_list(c.media, c.nmedia);
    check_list(c.excludes, c.nexcludes);
    if (c.rotation != NULL &&
        (c.rotation_seconds <= 0 || c.rotation_seconds > CONFIG_DURATION_MAX))
        abort();
    config_free(&c);
    config_free(&c);
    return 0;
}
