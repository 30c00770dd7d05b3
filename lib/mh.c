#include "mh.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"

#define MH_SEQUENCES_MAX (64 * 1024)
/* Longest message number: 18 digits fit an unsigned long long. */
#define MH_NUMBER_DIGITS 18
/* Bytes read from the first message to see a header line. */
#define MH_SNIFF 1024

struct mh_range {
    unsigned long long lo, hi;
};

struct mh_seq {
    struct mh_range *r;
    size_t n, cap;
};

enum { SEQ_UNSEEN, SEQ_FLAGGED, SEQ_REPLIED, SEQ_COUNT };

static const char *const seq_names[SEQ_COUNT] = {"unseen", "flagged",
                                                 "replied"};

struct mh_sequences {
    struct mh_seq seq[SEQ_COUNT];
};

int
mh_is_message_name(const char *name)
{
    size_t i;

    if (name[0] < '1' || name[0] > '9')
        return 0;
    for (i = 1; name[i] != '\0'; i++)
        if (name[i] < '0' || name[i] > '9' || i >= MH_NUMBER_DIGITS)
            return 0;
    return 1;
}

/* Open ${name} in ${dirfd} to read, without following, atime untouched. */
static int
open_noatime(int dirfd, const char *name, struct cm_err *err)
{
    int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
    struct cm_err e = CM_ERR_INIT;
    int fd = io_openat(dirfd, name, flags | O_NOATIME, 0, &e);

    if (fd == -1 && e.sys_errno == EPERM) {
        cm_err_clear(&e);
        fd = io_openat(dirfd, name, flags, 0, &e);
    }
    if (fd == -1)
        return cm_fail_errno(err, e.sys_errno, "%s: cannot open", name);
    return fd;
}

/* Fail naming ${name} in the folder ${path} ("." is left out). */
static int
fail_in(struct cm_err *err, int errnum, const char *path, const char *name,
        const char *what)
{
    if (strcmp(path, ".") == 0)
        return cm_fail_errno(err, errnum, "%s: %s", name, what);
    return cm_fail_errno(err, errnum, "%s/%s: %s", path, name, what);
}

/* Fail naming the folder ${path} ("." is left out). */
static int
fail_dir(struct cm_err *err, int errnum, const char *path, const char *what)
{
    if (strcmp(path, ".") == 0)
        return cm_fail_errno(err, errnum, "%s", what);
    return cm_fail_errno(err, errnum, "%s: %s", path, what);
}

/*
 * Does the regular file ${name} of the folder open at ${dirfd} start with
 * a header field line?  1, 0 (also if it is gone), or -1 with CM_EIO.
 */
static int
starts_like_message(int dirfd, const char *path, const char *name,
                    struct cm_err *err)
{
    struct cm_err e = CM_ERR_INIT;
    char b[MH_SNIFF];
    ssize_t n;
    size_t i = 0;
    int fd = open_noatime(dirfd, name, &e);

    if (fd == -1)
        return e.sys_errno == ENOENT
                   ? 0
                   : fail_in(err, e.sys_errno, path, name, "cannot open");
    n = io_read_full(fd, b, sizeof b, name, &e);
    close(fd);
    if (n < 0)
        return fail_in(err, e.sys_errno, path, name, "cannot read");
    while (i < (size_t)n && b[i] > ' ' && b[i] < 0x7f && b[i] != ':')
        i++;
    return i > 0 && i < (size_t)n && b[i] == ':';
}

static int
is_regular_at(int dirfd, const char *name)
{
    struct stat st;

    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(st.st_mode);
}

/* A regular file?  The directory entry's type saves a stat when known. */
static int
entry_is_regular(int dirfd, const struct dirent *d)
{
    if (d->d_type != DT_UNKNOWN)
        return d->d_type == DT_REG;
    return is_regular_at(dirfd, d->d_name);
}

/*
 * Every visible regular file has a message name (at least one does), and
 * the lowest-numbered one starts like a message.  1, 0, or -1.
 */
static int
all_messages(int fd, const char *path, struct cm_err *err)
{
    char first[MH_NUMBER_DIGITS + 1] = "";
    unsigned long long lowest = 0, v;
    struct dirent *d;
    DIR *dir = fdopendir(fd);
    int ok = 1;

    if (dir == NULL) {
        close(fd);
        return fail_dir(err, errno, path, "cannot list directory");
    }
    fd = dirfd(dir);
    errno = 0;
    while (ok && (d = readdir(dir)) != NULL) {
        if (d->d_name[0] == '.' || !entry_is_regular(fd, d))
            continue;
        ok = mh_is_message_name(d->d_name);
        v = ok ? strtoull(d->d_name, NULL, 10) : 0;
        if (ok && (lowest == 0 || v < lowest)) {
            lowest = v;
            /* mh_is_message_name() bounds its length. */
            memcpy(first, d->d_name, strlen(d->d_name) + 1);
        }
    }
    if (ok && errno != 0)
        ok = fail_dir(err, errno, path, "cannot list directory");
    else if (ok)
        ok = lowest > 0 ? starts_like_message(fd, path, first, err) : 0;
    closedir(dir);
    return ok;
}

int
mh_is_folder(int dirfd, const char *path, struct cm_err *err)
{
    struct cm_err e = CM_ERR_INIT;
    int fd = io_openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, &e);

    if (fd == -1) {
        if (e.sys_errno == ENOENT || e.sys_errno == ENOTDIR ||
            e.sys_errno == ELOOP)
            return 0;
        return fail_dir(err, e.sys_errno, path, "cannot open directory");
    }
    if (is_regular_at(fd, ".mh_sequences")) {
        close(fd);
        return 1;
    }
    return all_messages(fd, path, err);
}

/* Add "lo" or "lo-hi" to ${s}; anything else is ignored. */
static int
add_range(struct mh_seq *s, const char *tok, struct cm_err *err)
{
    struct mh_range r, *grown;
    char *end;

    if (tok[0] < '0' || tok[0] > '9')
        return 0;
    errno = 0;
    r.lo = r.hi = strtoull(tok, &end, 10);
    if (*end == '-' && end[1] >= '0' && end[1] <= '9')
        r.hi = strtoull(end + 1, &end, 10);
    if (*end != '\0' || errno != 0 || r.hi < r.lo)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        if ((grown = realloc(s->r, cap * sizeof *s->r)) == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        s->r = grown;
        s->cap = cap;
    }
    s->r[s->n++] = r;
    return 0;
}

/* One "name: ranges" entry (continuation lines already joined). */
static int
parse_entry(struct mh_sequences *s, char *line, struct cm_err *err)
{
    char *colon = strchr(line, ':'), *tok, *save = NULL;
    int which = -1;

    if (colon == NULL)
        return 0;
    *colon = '\0';
    for (int i = 0; i < SEQ_COUNT; i++)
        if (strcmp(line, seq_names[i]) == 0)
            which = i;
    if (which < 0)
        return 0;
    for (tok = strtok_r(colon + 1, " \t\r\n", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\r\n", &save))
        if (add_range(&s->seq[which], tok, err) == -1)
            return -1;
    return 0;
}

static int
parse_sequences(struct mh_sequences *s, char *text, struct cm_err *err)
{
    char *line = text, *nl;

    while (*line != '\0') {
        nl = line;
        /* Lines that start with white space continue the entry. */
        while ((nl = strchr(nl, '\n')) != NULL &&
               (nl[1] == ' ' || nl[1] == '\t'))
            *nl = ' ';
        if (nl != NULL)
            *nl = '\0';
        if (parse_entry(s, line, err) == -1)
            return -1;
        if (nl == NULL)
            break;
        line = nl + 1;
    }
    return 0;
}

static int
read_sequences(int dirfd, const char *path, struct buf *b, struct cm_err *err)
{
    char name[4096];
    uint8_t tmp[4096];
    struct cm_err e = CM_ERR_INIT;
    ssize_t n;
    int fd, rc = -1;

    if ((size_t)snprintf(name, sizeof name, "%s/.mh_sequences", path) >=
        sizeof name)
        return cm_fail(err, CM_EFORMAT, "%s: path too long", path);
    fd = open_noatime(dirfd, name, &e);
    if (fd == -1) {
        if (e.sys_errno == ENOENT)
            return 0;
        return cm_fail_errno(err, e.sys_errno, "%s: cannot open", name);
    }
    while ((n = io_read_full(fd, tmp, sizeof tmp, name, err)) > 0)
        if (buf_append(b, tmp, (size_t)n, name, err) == -1)
            goto out;
    rc = n == 0 ? 0 : -1;
out:
    close(fd);
    return rc;
}

int
mh_sequences_load(int dirfd, const char *path, struct mh_sequences **out,
                  struct cm_err *err)
{
    struct mh_sequences *s = cm_calloc(1, sizeof *s, err);
    struct buf b;
    int rc = -1;

    buf_init(&b, MH_SEQUENCES_MAX);
    if (s == NULL || read_sequences(dirfd, path, &b, err) == -1 ||
        buf_cstr(&b, err) == NULL)
        goto out;
    /* A NUL inside ends the text early: the rest is not sequences. */
    if (parse_sequences(s, (char *)b.data, err) == -1)
        goto out;
    *out = s;
    s = NULL;
    rc = 0;
out:
    buf_free(&b);
    mh_sequences_free(s);
    return rc;
}

static int
in_seq(const struct mh_seq *s, unsigned long long number)
{
    for (size_t i = 0; i < s->n; i++)
        if (number >= s->r[i].lo && number <= s->r[i].hi)
            return 1;
    return 0;
}

void
mh_sequences_flags(const struct mh_sequences *s, unsigned long number,
                   char *out, size_t outlen)
{
    char flags[4];
    size_t n = 0;

    if (in_seq(&s->seq[SEQ_FLAGGED], number))
        flags[n++] = 'F';
    if (in_seq(&s->seq[SEQ_REPLIED], number))
        flags[n++] = 'R';
    if (!in_seq(&s->seq[SEQ_UNSEEN], number))
        flags[n++] = 'S';
    flags[n] = '\0';
    if (outlen > 0)
        snprintf(out, outlen, "%s", flags);
}

void
mh_sequences_free(struct mh_sequences *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < SEQ_COUNT; i++)
        free(s->seq[i].r);
    free(s);
}
