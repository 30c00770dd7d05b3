/*
 * fuzz_minisig_sig: arbitrary bytes as a .minisig file, parsed and checked
 * against a fixed key and message (test/data/minisig/minisign.pub and
 * msg.txt, so that the seeds include signatures that verify).  Failures
 * must carry CM_EFORMAT, CM_ENOKEY or CM_EAUTH; a success must hand back a
 * single-line trusted comment within MINISIG_COMMENT_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "minisig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char pubkey[] =
    "RWSBORNABvzoOwFooBXWC56FX+QYpus6WxI6b+qScRqykwW+mh6HMbCG";
static const char message[] = "coldmail minisig test message\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char comment[MINISIG_COMMENT_MAX + 1];
    uint8_t keyid[MINISIG_KEYID_SIZE];
    struct minisig_pubkey pk;
    struct cm_err err = CM_ERR_INIT;
    int has_id;

    if (minisig_pubkey_parse(pubkey, strlen(pubkey), &pk, &err) == -1)
        abort();
    has_id = minisig_sig_keyid((const char *)data, size, keyid, &err) == 0;
    cm_err_clear(&err);
    if (minisig_verify(&pk, message, strlen(message), (const char *)data, size,
                       comment, &err) == -1) {
        if (err.code != CM_EFORMAT && err.code != CM_ENOKEY &&
            err.code != CM_EAUTH)
            abort();
        if (has_id != (err.code != CM_EFORMAT))
            abort();
        return 0;
    }
    if (!has_id || memcmp(keyid, pk.keyid, sizeof keyid) != 0 ||
        strlen(comment) > MINISIG_COMMENT_MAX || strpbrk(comment, "\r\n"))
        abort();
    return 0;
}
