/*
 * coldmail: the pack side.  Runs on the mail host; holds only the
 * recipients' public keys and the signing key, so it can never read back
 * what it wrote.
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
    {"keygen", cmd_keygen, "create a signing key pair (minisign format)"},
    {"media", cmd_media, "label a medium, or list the sets on it"},
    {"pack", cmd_pack, "pack mail stores into a signed, encrypted set"},
    {"status", cmd_status, "the media of the rotation, what is due, warnings"},
    {"prune", cmd_prune, "remove a medium's oldest whole chains"},
    {"hold", cmd_hold, "put a set under legal hold, or release it"},
    {"state", cmd_state, "rebuild the state's records from the media"},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: coldmail COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\n'coldmail COMMAND --help' shows a command's options; "
               "coldmail(1) has the details.\n");
}

int
main(int argc, const char **argv)
{
    cli_progname = "coldmail";
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
        printf("coldmail %s\n", COLDMAIL_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "coldmail: error: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
