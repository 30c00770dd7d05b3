/*
 * coldmail-restore: the vault side.  Verifies, lists, extracts and restores
 * sets offline.  It has no network code at all.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"

struct verb {
    const char *name;
    int (*run)(int argc, const char **argv);
    const char *summary;
};

static const struct verb verbs[] = {
    {"keygen", cmd_keygen, "create a decryption identity (age format)"},
    {"decrypt", cmd_decrypt, "decrypt any age file"},
    {"ls", cmd_ls, "list what a set holds (path, size, date, from, subject)"},
    {"cat", cmd_cat, "write one message or file of a set to standard output"},
    {"restore", cmd_restore, "restore the stores (or a filtered part)"},
    {"audit", cmd_audit, "check N random messages against the catalog"},
    {"verify", cmd_verify, "check sets and their chain, without any key"},
    {"repair", cmd_repair, "rebuild damaged blocks from parity, without "
                           "any key"},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: coldmail-restore COMMAND [OPTIONS] [ARGS]\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\n'coldmail-restore COMMAND --help' shows a command's "
               "options; coldmail-restore(1) has the details.\n");
}

int
main(int argc, const char **argv)
{
    cli_progname = "coldmail-restore";
    /* Names are bytes; in a UTF-8 character type, libarchive writes the
     * UTF-8 ones as such in pax headers, and the others as raw bytes. */
    setlocale(LC_CTYPE, "C.UTF-8");
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("coldmail-restore %s\n", COLDMAIL_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "coldmail-restore: error: unknown command \"%s\"\n",
            argv[1]);
    usage(stderr);
    return 2;
}
