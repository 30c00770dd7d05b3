#include "ids.h"

#include <openssl/crypto.h>

#include "passphrase.h"

int
ids_load(char *const *paths, size_t n, const char *passphrase_file,
         int scrypt_too, struct age_identities *ids, struct cm_err *err)
{
    struct agekey_passphrase_source pp = {passphrase_get,
                                          (void *)passphrase_file};
    char pass[AGEKEY_PASSPHRASE_MAX + 1];
    struct age_identity scrypt_id;
    int rc = -1;

    for (size_t i = 0; i < n; i++)
        if (agekey_identities_load(paths[i], &pp, ids, err) == -1)
            return -1;
    if (passphrase_file == NULL || !scrypt_too)
        return 0;
    if (passphrase_from_file(passphrase_file, pass, sizeof pass, err) == -1 ||
        agekey_identity_scrypt(pass, &scrypt_id, err) == -1 ||
        agekey_identities_add(ids, &scrypt_id, err) == -1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(pass, sizeof pass);
    agekey_identity_wipe(&scrypt_id);
    return rc;
}
