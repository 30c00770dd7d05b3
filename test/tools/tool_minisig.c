/*
 * tool_minisig: lib/minisig.c as a command, for the interop tests.
 *
 *   tool_minisig keygen PATH                  PATH and PATH.pub
 *   tool_minisig sign SECKEY FILE [COMMENT]   FILE.minisig
 *   tool_minisig verify PUBKEYFILE FILE       prints the trusted comment
 *   tool_minisig verify-P BASE64 FILE         the same, key given inline
 *
 * Errors go to stderr and the exit status is the cm_code.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "io.h"
#include "minisig.h"

#define MESSAGE_MAX ((size_t)1 << 30)

static int
read_sig(const char *file, struct buf *sig, struct cm_err *err)
{
    struct buf path;
    int rc = -1;

    buf_init(&path, 4096);
    if (buf_printf(&path, err, "%s.minisig", file) == 0 &&
        io_read_file((const char *)path.data, MINISIG_FILE_MAX, sig, err) == 0)
        rc = 0;
    buf_free(&path);
    return rc;
}

static int
write_sig(const char *file, const struct buf *sig, struct cm_err *err)
{
    struct buf path;
    int fd = -1, rc = -1;

    buf_init(&path, 4096);
    if (buf_printf(&path, err, "%s.minisig", file) == -1)
        goto out;
    fd = io_open((const char *)path.data, O_WRONLY | O_CREAT | O_TRUNC, 0644,
                 err);
    if (fd == -1 || io_write_all(fd, sig->data, sig->len,
                                 (const char *)path.data, err) == -1)
        goto out;
    rc = io_close(fd, (const char *)path.data, err);
    fd = -1;
out:
    if (fd != -1)
        io_close(fd, (const char *)path.data, NULL);
    buf_free(&path);
    return rc;
}

static int
cmd_keygen(const char *path, struct cm_err *err)
{
    char b64[MINISIG_PUBKEY_B64_LEN], id[MINISIG_KEYID_HEX_LEN];
    struct minisig_pubkey pk;

    if (minisig_keygen_files(path, &pk, err) == -1)
        return -1;
    minisig_pubkey_base64(&pk, b64);
    minisig_keyid_hex(pk.keyid, id);
    printf("%s %s\n", id, b64);
    return 0;
}

static int
cmd_sign(const char *key, const char *file, const char *comment,
         struct cm_err *err)
{
    struct minisig_seckey sk;
    struct buf msg, sig;
    char dflt[MINISIG_COMMENT_MAX + 1];
    const char *base = strrchr(file, '/');
    int rc = -1;

    memset(&sk, 0, sizeof sk);
    buf_init(&msg, MESSAGE_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    snprintf(dflt, sizeof dflt, "file:%s\thashed", base ? base + 1 : file);
    if (minisig_seckey_load(key, &sk, err) == -1 ||
        io_read_file(file, MESSAGE_MAX, &msg, err) == -1 ||
        minisig_sign(&sk, msg.data, msg.len, NULL,
                     comment != NULL ? comment : dflt, &sig, err) == -1 ||
        write_sig(file, &sig, err) == -1)
        goto out;
    rc = 0;
out:
    minisig_seckey_wipe(&sk);
    buf_free(&msg);
    buf_free(&sig);
    return rc;
}

static int
cmd_verify(const char *key, int inline_key, const char *file,
           struct cm_err *err)
{
    char comment[MINISIG_COMMENT_MAX + 1];
    struct minisig_pubkey pk;
    struct buf msg, sig;
    int rc = -1;

    buf_init(&msg, MESSAGE_MAX);
    buf_init(&sig, MINISIG_FILE_MAX);
    if (inline_key ? minisig_pubkey_parse(key, strlen(key), &pk, err)
                   : minisig_pubkey_load(key, &pk, err))
        goto out;
    if (io_read_file(file, MESSAGE_MAX, &msg, err) == -1 ||
        read_sig(file, &sig, err) == -1 ||
        minisig_verify(&pk, msg.data, msg.len, (const char *)sig.data, sig.len,
                       comment, err) == -1)
        goto out;
    printf("%s\n", comment);
    rc = 0;
out:
    buf_free(&msg);
    buf_free(&sig);
    return rc;
}

int
main(int argc, char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    const char *verb = argc > 1 ? argv[1] : "";
    int rc;

    if (strcmp(verb, "keygen") == 0 && argc == 3)
        rc = cmd_keygen(argv[2], &err);
    else if (strcmp(verb, "sign") == 0 && (argc == 4 || argc == 5))
        rc = cmd_sign(argv[2], argv[3], argc == 5 ? argv[4] : NULL, &err);
    else if (strcmp(verb, "verify") == 0 && argc == 4)
        rc = cmd_verify(argv[2], 0, argv[3], &err);
    else if (strcmp(verb, "verify-P") == 0 && argc == 4)
        rc = cmd_verify(argv[2], 1, argv[3], &err);
    else {
        fprintf(stderr, "usage: tool_minisig keygen PATH\n"
                        "       tool_minisig sign SECKEY FILE [COMMENT]\n"
                        "       tool_minisig verify PUBKEYFILE FILE\n"
                        "       tool_minisig verify-P BASE64 FILE\n");
        return CM_EUSAGE;
    }
    if (rc == -1) {
        fprintf(stderr, "tool_minisig: %s\n", err.msg);
        return err.code != CM_OK ? (int)err.code : CM_EINTERNAL;
    }
    return fflush(stdout) == 0 ? 0 : CM_EIO;
}
