#include "mediumscan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blockhash.h"
#include "buf.h"
#include "io.h"

static int
is_set_name(const char *name)
{
    size_t n = strlen(name);

    return strncmp(name, "coldmail-", 9) == 0 &&
           !(n > 11 && strcmp(name + n - 11, ".incomplete") == 0) &&
           !(n > 9 && strcmp(name + n - 9, ".removing") == 0);
}

static int
scan_one(const char *medium_dir, const char *name,
         int (*fn)(void *, const struct mediumscan_set *, struct cm_err *),
         void (*bad)(void *, const char *, const struct cm_err *), void *ctx,
         struct cm_err *err)
{
    char dir[4096], path[4200];
    struct cm_err why = CM_ERR_INIT;
    struct mediumscan_set s;
    struct manifest m;
    uint8_t sha[32];
    struct buf text;
    struct stat st;
    int rc = 0;

    snprintf(dir, sizeof dir, "%s/%s", medium_dir, name);
    if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
        return 0;
    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    buf_init(&text, MANIFEST_MAX);
    if (io_read_file(path, MANIFEST_MAX, &text, &why) == -1 ||
        manifest_parse((const char *)text.data, text.len, path, &m, &why) ==
            -1) {
        if (bad != NULL)
            bad(ctx, name, &why);
        buf_free(&text);
        return 0;
    }
    blockhash_sha256(text.data, text.len, sha);
    s.name = name;
    s.dir = dir;
    s.m = &m;
    s.manifest_sha256 = sha;
    rc = fn(ctx, &s, err);
    manifest_free(&m);
    buf_free(&text);
    return rc;
}

int
mediumscan_sets(const char *medium_dir,
                int (*fn)(void *ctx, const struct mediumscan_set *s,
                          struct cm_err *err),
                void (*bad)(void *ctx, const char *name,
                            const struct cm_err *why),
                void *ctx, struct cm_err *err)
{
    struct dirent **names = NULL;
    int n, rc = 0;

    n = scandir(medium_dir, &names, NULL, alphasort);
    if (n < 0)
        return cm_fail_errno(err, errno, "%s: cannot list the medium",
                             medium_dir);
    for (int i = 0; i < n; i++) {
        if (rc == 0 && is_set_name(names[i]->d_name))
            rc = scan_one(medium_dir, names[i]->d_name, fn, bad, ctx, err);
        free(names[i]);
    }
    free(names);
    return rc;
}

uint64_t
mediumscan_dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat st;
    uint64_t n = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode))
            n += (uint64_t)st.st_size;
    closedir(d);
    return n;
}
