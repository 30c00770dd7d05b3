/*
 * tool_setr: the set reader from the command line, for tests.
 *   tool_setr catalog ID SET          print every catalog path
 *   tool_setr pread ID SET VOL OFF LEN   bytes of a volume's tar stream
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "setr.h"

static int
fail(const struct cm_err *err)
{
    fprintf(stderr, "tool_setr: %s\n", err->msg);
    return err->code ? (int)err->code : 1;
}

static int
dump_catalog(struct setr *s, struct cm_err *err)
{
    struct catalog_reader *r = NULL;
    struct catalog_entry e;
    int got;

    catalog_entry_init(&e);
    if (setr_catalog_open(s, &r, err) == -1)
        return -1;
    while ((got = catalog_reader_next(r, &e, err)) == 1)
        printf("%s %" PRIu32 " %" PRIu64 " %" PRIu64 "\n", e.path.p, e.vol,
               e.off, e.len);
    catalog_entry_free(&e);
    catalog_reader_free(r);
    return got;
}

int
main(int argc, char **argv)
{
    struct cm_err err = CM_ERR_INIT;
    struct age_identities ids = {NULL, 0};
    struct setr_opts so = {NULL, &ids};
    struct setr *s = NULL;
    int rc = 2;

    if (argc < 4)
        return 2;
    if (agekey_identities_load(argv[2], NULL, &ids, &err) == -1 ||
        setr_open(argv[3], &so, &s, &err) == -1) {
        rc = fail(&err);
        goto out;
    }
    if (strcmp(argv[1], "catalog") == 0) {
        rc = dump_catalog(s, &err) == -1 ? fail(&err) : 0;
    } else if (strcmp(argv[1], "pread") == 0 && argc == 7) {
        size_t len = strtoull(argv[6], NULL, 10);
        char *buf = malloc(len + 1);
        if (setr_volume_pread(s, (uint32_t)atoi(argv[4]), buf, len,
                              strtoull(argv[5], NULL, 10), &err) == -1)
            rc = fail(&err);
        else
            rc = fwrite(buf, 1, len, stdout) == len ? 0 : 3;
        free(buf);
    }
out:
    setr_close(s);
    agekey_identities_free(&ids);
    return rc;
}
