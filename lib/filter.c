#include "filter.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "when.h"

#define DAY_LAST_SECOND 86399
#define PATH_PREFIX_MAX 4097 /* longer paths match on the whole only */

/* A folder's directory, learned from one of its messages. */
struct folder_dir {
    char *path;
    int maildir; /* cur/, new/ and tmp/ below it belong to the folder */
};

struct filter {
    char *folder, *path, *from, *subject, *message_id;
    int has_since, has_until;
    int64_t since, until;
    struct folder_dir *dirs;
    size_t ndirs, cap;
    int learned;
};

static int
dup_opt(const char *value, const char *option, char **out, struct cm_err *err)
{
    if (value == NULL)
        return 0;
    if (value[0] == '\0')
        return cm_fail(err, CM_EUSAGE, "%s: empty value", option);
    return (*out = cm_strdup(value, err)) == NULL ? -1 : 0;
}

static int
parse_date(const char *value, const char *option, int until, int *has,
           int64_t *out, struct cm_err *err)
{
    if (value == NULL)
        return 0;
    if (when_parse(value, out, err) == -1) {
        err->code = CM_EUSAGE;
        return cm_err_prefix(err, "%s", option);
    }
    /* A bare date means the whole day. */
    if (until && strlen(value) == 10)
        *out += DAY_LAST_SECOND;
    *has = 1;
    return 0;
}

int
filter_new(const struct filter_opts *o, struct filter **out, struct cm_err *err)
{
    struct filter *f = cm_calloc(1, sizeof *f, err);

    if (f == NULL)
        return -1;
    if (dup_opt(o->folder, "--folder", &f->folder, err) == -1 ||
        dup_opt(o->path, "--path", &f->path, err) == -1 ||
        dup_opt(o->from, "--from", &f->from, err) == -1 ||
        dup_opt(o->subject, "--subject", &f->subject, err) == -1 ||
        dup_opt(o->message_id, "--message-id", &f->message_id, err) == -1 ||
        parse_date(o->since, "--since", 0, &f->has_since, &f->since, err) ==
            -1 ||
        parse_date(o->until, "--until", 1, &f->has_until, &f->until, err) == -1)
        goto fail;
    if (f->has_since && f->has_until && f->since > f->until) {
        cm_fail(err, CM_EUSAGE, "--since %s is after --until %s", o->since,
                o->until);
        goto fail;
    }
    if (f->from != NULL)
        filter_fold_case(f->from);
    if (f->subject != NULL)
        filter_fold_case(f->subject);
    *out = f;
    return 0;
fail:
    filter_free(f);
    return -1;
}

void
filter_free(struct filter *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->ndirs; i++)
        free(f->dirs[i].path);
    free(f->dirs);
    free(f->folder);
    free(f->path);
    free(f->from);
    free(f->subject);
    free(f->message_id);
    free(f);
}

int
filter_messages_only(const struct filter *f)
{
    return f->has_since || f->has_until || f->from != NULL ||
           f->subject != NULL || f->message_id != NULL;
}

int
filter_path_only(const struct filter *f)
{
    return !filter_messages_only(f) && f->folder == NULL;
}

int
filter_is_empty(const struct filter *f)
{
    return filter_path_only(f) && f->path == NULL;
}

int
filter_needs_learning(const struct filter *f)
{
    return f->folder != NULL;
}

/* ------------------------------------------------------------------ */
/* Folder directories                                                  */

/* Length of ${p} without its last ${n} components; -1 if too few. */
static long
strip_components(const char *p, size_t len, int n)
{
    while (n-- > 0) {
        while (len > 0 && p[len - 1] != '/')
            len--;
        if (len == 0)
            return -1;
        len--;
    }
    return (long)len;
}

static int
add_dir(struct filter *f, const char *p, size_t len, int maildir,
        struct cm_err *err)
{
    struct folder_dir *d;

    if (f->ndirs > 0) {
        d = &f->dirs[f->ndirs - 1];
        if (strlen(d->path) == len && memcmp(d->path, p, len) == 0)
            return 0;
    }
    if (f->ndirs == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        d = realloc(f->dirs, cap * sizeof *d);
        if (d == NULL)
            return cm_fail(err, CM_EINTERNAL, "out of memory");
        f->dirs = d;
        f->cap = cap;
    }
    d = &f->dirs[f->ndirs];
    if ((d->path = cm_malloc(len + 1, err)) == NULL)
        return -1;
    memcpy(d->path, p, len);
    d->path[len] = '\0';
    d->maildir = maildir;
    f->ndirs++;
    return 0;
}

int
filter_learn(struct filter *f, const struct catalog_entry *e,
             struct cm_err *err)
{
    int maildir;
    long len;

    if (f->folder == NULL || e->kind != CATALOG_MESSAGE || e->folder == NULL ||
        strcmp(e->folder, f->folder) != 0)
        return 0;
    maildir = e->store != NULL && strcmp(e->store, "maildir") == 0;
    if (e->in_mbox)
        len = (long)e->path.len;
    else
        len = strip_components(e->path.p, e->path.len, maildir ? 2 : 1);
    if (len <= 0)
        return 0;
    return add_dir(f, e->path.p, (size_t)len, maildir, err);
}

static int
cmp_dir(const void *a, const void *b)
{
    return strcmp(((const struct folder_dir *)a)->path,
                  ((const struct folder_dir *)b)->path);
}

int
filter_learn_done(struct filter *f, struct cm_err *err)
{
    size_t n = 0;

    (void)err;
    if (f->ndirs > 1)
        qsort(f->dirs, f->ndirs, sizeof *f->dirs, cmp_dir);
    for (size_t i = 0; i < f->ndirs; i++) {
        if (n > 0 && strcmp(f->dirs[n - 1].path, f->dirs[i].path) == 0) {
            f->dirs[n - 1].maildir |= f->dirs[i].maildir;
            free(f->dirs[i].path);
            continue;
        }
        f->dirs[n++] = f->dirs[i];
    }
    f->ndirs = n;
    f->learned = 1;
    return 0;
}

static const struct folder_dir *
find_dir(const struct filter *f, const char *p, size_t len)
{
    size_t lo = 0, hi = f->ndirs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *d = f->dirs[mid].path;
        int c = strncmp(d, p, len);
        if (c == 0 && d[len] != '\0')
            c = 1;
        if (c == 0)
            return &f->dirs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int
is_maildir_sub(const char *leaf, size_t len)
{
    return len == 3 &&
           (memcmp(leaf, "cur", 3) == 0 || memcmp(leaf, "new", 3) == 0 ||
            memcmp(leaf, "tmp", 3) == 0);
}

/* Does the non-message object ${p} belong to a learned folder? */
static int
in_folder(const struct filter *f, const char *p, size_t len, int is_dir)
{
    const struct folder_dir *d;
    long parent, grand;
    const char *leaf;

    if (find_dir(f, p, len) != NULL)
        return 1;
    if ((parent = strip_components(p, len, 1)) <= 0)
        return 0;
    leaf = p + parent + 1;
    if ((d = find_dir(f, p, (size_t)parent)) != NULL)
        return !is_dir ||
               (d->maildir && is_maildir_sub(leaf, len - (size_t)parent - 1));
    grand = strip_components(p, (size_t)parent, 1);
    if (grand <= 0 ||
        !is_maildir_sub(p + grand + 1, (size_t)(parent - grand - 1)))
        return 0;
    d = find_dir(f, p, (size_t)grand);
    return d != NULL && d->maildir;
}

/* ------------------------------------------------------------------ */
/* Matching                                                            */

int
filter_path_matches(const char *glob, const char *path)
{
    char prefix[PATH_PREFIX_MAX];
    size_t len = strlen(path);

    if (fnmatch(glob, path, 0) == 0)
        return 1;
    if (len >= sizeof prefix)
        return 0;
    memcpy(prefix, path, len + 1);
    for (size_t i = len; i-- > 0;) {
        if (prefix[i] != '/')
            continue;
        prefix[i] = '\0';
        if (fnmatch(glob, prefix, 0) == 0)
            return 1;
    }
    return 0;
}

static uint32_t
fold_cp(uint32_t c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
        (c >= 0x391 && c <= 0x3AB && c != 0x3A2) || (c >= 0x410 && c <= 0x42F))
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40F)
        return c + 0x50;
    if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) ||
        (c >= 0x14A && c <= 0x177))
        return c | 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
        return (c & 1) ? c + 1 : c;
    return c;
}

void
filter_fold_case(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p != '\0') {
        uint32_t c;
        if (*p < 0x80) {
            if (*p >= 'A' && *p <= 'Z')
                *p = (unsigned char)(*p + 0x20);
            p++;
            continue;
        }
        /* Every folded letter is a two-byte sequence, and stays one. */
        if ((p[0] & 0xE0) != 0xC0 || (p[1] & 0xC0) != 0x80) {
            p++;
            continue;
        }
        c = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
        c = fold_cp(c);
        p[0] = (unsigned char)(0xC0 | (c >> 6));
        p[1] = (unsigned char)(0x80 | (c & 0x3F));
        p += 2;
    }
}

static int
contains_folded(const char *hay, const char *needle)
{
    char small[4096], *copy = small;
    size_t len;
    int found;

    if (hay == NULL)
        return 0;
    len = strlen(hay);
    if (len >= sizeof small && (copy = malloc(len + 1)) == NULL)
        return 0;
    memcpy(copy, hay, len + 1);
    filter_fold_case(copy);
    found = strstr(copy, needle) != NULL;
    if (copy != small)
        free(copy);
    return found;
}

void
filter_message_id_core(const char *id, const char **start, size_t *len)
{
    size_t n = strlen(id);

    while (n > 0 && strchr(" \t\r\n", id[0]) != NULL)
        id++, n--;
    while (n > 0 && strchr(" \t\r\n", id[n - 1]) != NULL)
        n--;
    if (n >= 2 && id[0] == '<' && id[n - 1] == '>')
        id++, n -= 2;
    *start = id;
    *len = n;
}

static int
same_message_id(const char *a, const char *b)
{
    const char *pa, *pb;
    size_t la, lb;

    if (b == NULL)
        return 0;
    filter_message_id_core(a, &pa, &la);
    filter_message_id_core(b, &pb, &lb);
    return la == lb && memcmp(pa, pb, la) == 0;
}

static int
match_message(const struct filter *f, const struct catalog_entry *e)
{
    if (f->folder != NULL &&
        (e->folder == NULL || strcmp(e->folder, f->folder) != 0))
        return 0;
    if ((f->has_since || f->has_until) && !e->has_date)
        return 0;
    if ((f->has_since && e->date < f->since) ||
        (f->has_until && e->date > f->until))
        return 0;
    if ((f->from != NULL && !contains_folded(e->from, f->from)) ||
        (f->subject != NULL && !contains_folded(e->subject, f->subject)))
        return 0;
    return f->message_id == NULL ||
           same_message_id(f->message_id, e->message_id);
}

int
filter_match(const struct filter *f, const struct catalog_entry *e)
{
    if (f->path != NULL && !filter_path_matches(f->path, e->path.p))
        return 0;
    if (e->kind == CATALOG_MESSAGE)
        return match_message(f, e);
    if (filter_messages_only(f))
        return 0;
    return f->folder == NULL ||
           in_folder(f, e->path.p, e->path.len, e->kind == CATALOG_DIR);
}

int
filter_match_mbox_file(const struct filter *f, const struct catalog_entry *msg)
{
    if (filter_messages_only(f))
        return 0;
    if (f->path != NULL && !filter_path_matches(f->path, msg->path.p))
        return 0;
    return f->folder == NULL ||
           (msg->folder != NULL && strcmp(msg->folder, f->folder) == 0);
}
