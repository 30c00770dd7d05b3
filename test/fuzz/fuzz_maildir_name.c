/*
 * fuzz_maildir_name: any bytes (up to the first NUL) as a Maildir message
 * name and as a Maildir++ directory name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"
#include "mh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_err err = CM_ERR_INIT;
    struct maildir_name m;
    char *name = malloc(size + 1), *folder;
    size_t len;

    if (name == NULL)
        return 0;
    memcpy(name, data, size);
    name[size] = '\0';
    len = strlen(name);
    if (maildir_name_parse(name, &m, &err) == 0) {
        if (len == 0 || name[0] == '.' || strchr(name, '/') != NULL)
            abort();
        if (m.unique_len > len || strlen(m.flags) >= MAILDIR_FLAGS_MAX)
            abort();
        for (const char *f = m.flags; *f != '\0'; f++)
            if (!((*f >= 'A' && *f <= 'Z') || (*f >= 'a' && *f <= 'z')))
                abort();
        if (m.has_info &&
            (m.unique_len + 3 > len || name[m.unique_len + 1] != '2' ||
             name[m.unique_len + 2] != ','))
            abort();
        if (m.size_hint < -1)
            abort();
    } else if (err.code != CM_EFORMAT) {
        abort();
    }
    folder = maildir_folder_name(name, &err);
    if (folder == NULL || strlen(folder) > len)
        abort();
    free(folder);
    (void)mh_is_message_name(name);
    free(name);
    return 0;
}
