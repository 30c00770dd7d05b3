#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

/* Where the info ("2,<flags>") starts: after ':', or '!' or ';'. */
static const char *
info_start(const char *name)
{
    const char *colon = strchr(name, ':'), *p;

    if (colon != NULL)
        return colon;
    for (p = name + strlen(name); p > name; p--)
        if ((p[-1] == '!' || p[-1] == ';') && p[0] == '2' && p[1] == ',')
            return p - 1;
    return NULL;
}

/* ",S=<n>" in the unique part: the size Dovecot and Courier record. */
static long long
size_hint(const char *unique, size_t len)
{
    long long v = -1;

    for (size_t i = 0; i + 3 < len; i++) {
        if (unique[i] != ',' || unique[i + 1] != 'S' || unique[i + 2] != '=')
            continue;
        v = -1;
        for (size_t k = i + 3;
             k < len && unique[k] >= '0' && unique[k] <= '9' && k < i + 3 + 18;
             k++)
            v = (v < 0 ? 0 : v * 10) + (unique[k] - '0');
        return v;
    }
    return v;
}

int
maildir_name_parse(const char *name, struct maildir_name *out,
                   struct cm_err *err)
{
    const char *info;
    struct maildir_name r;
    size_t n = 0;

    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
        return cm_fail(err, CM_EFORMAT,
                       "\"%.200s\": not a Maildir message "
                       "name",
                       name);
    memset(&r, 0, sizeof r);
    info = info_start(name);
    r.unique_len = info != NULL ? (size_t)(info - name) : strlen(name);
    r.has_info = info != NULL && info[1] == '2' && info[2] == ',';
    if (r.has_info)
        for (const char *f = info + 3; *f != '\0'; f++)
            if (((*f >= 'A' && *f <= 'Z') || (*f >= 'a' && *f <= 'z')) &&
                n + 1 < sizeof r.flags)
                r.flags[n++] = *f;
    r.flags[n] = '\0';
    r.size_hint = size_hint(name, r.unique_len);
    *out = r;
    return 0;
}

static int
is_dir_at(int dirfd, const char *path, const char *sub)
{
    char p[4096];
    struct stat st;
    int n = snprintf(p, sizeof p, "%s/%s", path, sub);

    if (n < 0 || (size_t)n >= sizeof p)
        return 0;
    return fstatat(dirfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISDIR(st.st_mode);
}

int
maildir_is_maildir(int dirfd, const char *path)
{
    return is_dir_at(dirfd, path, "cur") && is_dir_at(dirfd, path, "new");
}

char *
maildir_folder_name(const char *dirname, struct cm_err *err)
{
    if (dirname == NULL)
        return cm_strdup("INBOX", err);
    return cm_strdup(dirname[0] == '.' ? dirname + 1 : dirname, err);
}

/* Does directory entry ${d} hold the message whose unique part is ${u}? */
static int
same_unique(const char *d, const char *u, size_t ulen)
{
    struct maildir_name m;

    if (strncmp(d, u, ulen) != 0 || maildir_name_parse(d, &m, NULL) == -1)
        return 0;
    return m.unique_len == ulen;
}

/* "${a}/${b}" into *${out}; 1, or -1. */
static int
join(const char *a, const char *b, char **out, struct cm_err *err)
{
    size_t n = strlen(a) + 1 + strlen(b) + 1;

    if ((*out = cm_malloc(n, err)) == NULL)
        return -1;
    snprintf(*out, n, "%s/%s", a, b);
    return 1;
}

/* Look in ${sub}/ of the folder for ${u}; 1 and *${found}, 0, or -1. */
static int
find_in(int folder_fd, const char *sub, const char *u, size_t ulen,
        char **found, struct cm_err *err)
{
    struct cm_err oerr = CM_ERR_INIT;
    struct dirent *d;
    DIR *dir;
    int fd, rc = 0;

    fd = io_openat(folder_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                   &oerr);
    if (fd == -1)
        return oerr.sys_errno == ENOENT
                   ? 0
                   : cm_fail_errno(err, oerr.sys_errno, "%s: cannot open", sub);
    if ((dir = fdopendir(fd)) == NULL) {
        close(fd);
        return cm_fail_errno(err, errno, "%s: cannot list", sub);
    }
    errno = 0;
    while (rc == 0 && (d = readdir(dir)) != NULL)
        if (d->d_name[0] != '.' && same_unique(d->d_name, u, ulen))
            rc = join(sub, d->d_name, found, err);
    if (rc == 0 && errno != 0)
        rc = cm_fail_errno(err, errno, "%s: cannot list", sub);
    closedir(dir);
    return rc;
}

int
maildir_find_moved_at(int folder_fd, const char *name, char **found,
                      struct cm_err *err)
{
    static const char *const subs[] = {"cur", "new"};
    struct maildir_name m;
    int rc = 0;

    if (maildir_name_parse(name, &m, NULL) == -1)
        return 0;
    for (size_t i = 0; rc == 0 && i < CM_ARRAY_LEN(subs); i++)
        rc = find_in(folder_fd, subs[i], name, m.unique_len, found, err);
    return rc;
}

int
maildir_find_moved(const char *folder_path, const char *name, char **found,
                   struct cm_err *err)
{
    struct cm_err oerr = CM_ERR_INIT;
    int fd, rc;

    fd = io_open(folder_path, O_RDONLY | O_DIRECTORY, 0, &oerr);
    if (fd == -1) {
        if (oerr.sys_errno == ENOENT)
            return 0;
        return cm_fail_errno(err, oerr.sys_errno, "%s: cannot open",
                             folder_path);
    }
    rc = maildir_find_moved_at(fd, name, found, err);
    if (rc == -1)
        cm_err_prefix(err, "%s", folder_path);
    close(fd);
    return rc;
}
