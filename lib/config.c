#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "io.h"
#include "manifest.h"
#include "medium.h"

enum key {
    K_STORES,
    K_RECIPIENTS_FILE,
    K_SIGNING_KEY,
    K_STATE_DIR,
    K_MEDIA,
    K_ROTATION,
    K_VOLUME_SIZE,
    K_EXCLUDE,
    K_MAX_CHAIN,
    K_LEVEL,
    K_LABEL,
    K_COUNT
};

static const char *const key_names[K_COUNT] = {
    "stores",    "recipients-file", "signing-key", "state-dir",
    "media",     "rotation",        "volume-size", "exclude",
    "max-chain", "level",           "label"};

/* A line split into words; the words are owned until taken. */
struct words {
    char *w[CONFIG_WORDS_MAX];
    size_t n;
};

static void
words_free(struct words *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->w[i]);
    w->n = 0;
}

void
config_init(struct config *c)
{
    memset(c, 0, sizeof *c);
}

static void
free_list(char **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void
config_free(struct config *c)
{
    if (c == NULL)
        return;
    free(c->path);
    free_list(c->stores, c->nstores);
    free(c->recipients_file);
    free(c->signing_key);
    free(c->state_dir);
    free_list(c->media, c->nmedia);
    free(c->rotation);
    free(c->volume_size);
    free_list(c->excludes, c->nexcludes);
    free(c->max_chain);
    free(c->level);
    free(c->label);
    config_init(c);
}

int
config_parse_duration(const char *s, int64_t *seconds, struct cm_err *err)
{
    static const struct {
        char unit;
        int64_t seconds;
    } units[] = {
        {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    long long v;
    char *end;

    errno = 0;
    v = (s[0] >= '0' && s[0] <= '9') ? strtoll(s, &end, 10) : 0;
    if (errno != 0 || v <= 0 || end[0] == '\0' || end[1] != '\0')
        goto bad;
    for (size_t i = 0; i < CM_ARRAY_LEN(units); i++)
        if (end[0] == units[i].unit) {
            if (v > CONFIG_DURATION_MAX / units[i].seconds)
                goto bad;
            *seconds = (int64_t)v * units[i].seconds;
            return 0;
        }
bad:
    return cm_fail(err, CM_EFORMAT,
                   "bad duration \"%s\" (expected a number and a unit: s, "
                   "m, h, d or w, as in 7d; at most ten years)",
                   s);
}

void
config_format_duration(int64_t seconds, char *out, size_t outlen)
{
    if (seconds > 0 && seconds % 86400 == 0)
        snprintf(out, outlen, "%lldd", (long long)(seconds / 86400));
    else if (seconds > 0 && seconds % 3600 == 0)
        snprintf(out, outlen, "%lldh", (long long)(seconds / 3600));
    else if (seconds > 0 && seconds % 60 == 0)
        snprintf(out, outlen, "%lldm", (long long)(seconds / 60));
    else
        snprintf(out, outlen, "%llds", (long long)seconds);
}

int
config_default(char **slot, const char *value, struct cm_err *err)
{
    if (*slot != NULL || value == NULL)
        return 0;
    *slot = cm_strdup(value, err);
    return *slot == NULL ? -1 : 0;
}

int
config_list_add(char ***list, size_t *count, char *const *more, size_t n,
                struct cm_err *err)
{
    char **grown;

    if (n == 0)
        return 0;
    grown = realloc(*list, (*count + n + 1) * sizeof *grown);
    if (grown == NULL)
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    *list = grown;
    for (size_t i = 0; i < n; i++) {
        grown[*count] = NULL;
        if ((grown[*count] = cm_strdup(more[i], err)) == NULL)
            return -1;
        (*count)++;
    }
    grown[*count] = NULL;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Lines and words                                                     */

/* One word at *${p}: bare, or double-quoted with \" and \\ escapes. */
static int
take_word(const char **p, struct buf *word, struct cm_err *err)
{
    const char *s = *p;
    int quoted = *s == '"';

    if (quoted)
        s++;
    while (*s != '\0' && (quoted ? *s != '"' : (*s != ' ' && *s != '\t'))) {
        if (quoted && *s == '\\') {
            if (s[1] != '"' && s[1] != '\\')
                return cm_fail(err, CM_EFORMAT,
                               "bad escape \"\\%c\" (only \\\" and \\\\)",
                               s[1] ? s[1] : ' ');
            s++;
        } else if (!quoted && *s == '"') {
            return cm_fail(err, CM_EFORMAT, "a quote inside a word");
        }
        if (buf_append_byte(word, (uint8_t)*s++, "word", err) == -1)
            return -1;
    }
    if (quoted && *s++ != '"')
        return cm_fail(err, CM_EFORMAT, "unterminated quote");
    if (*s != '\0' && *s != ' ' && *s != '\t')
        return cm_fail(err, CM_EFORMAT, "text right after a closing quote");
    *p = s;
    return 0;
}

/* Split the value text ${v} into words, up to a comment. */
static int
split_words(const char *v, struct words *w, struct cm_err *err)
{
    struct buf word;
    int rc = -1;

    buf_init(&word, CONFIG_LINE_MAX);
    for (;;) {
        const char *s;
        while (*v == ' ' || *v == '\t')
            v++;
        if (*v == '\0' || *v == '#')
            break;
        if (w->n == CONFIG_WORDS_MAX) {
            cm_fail(err, CM_EFORMAT, "more than %d words", CONFIG_WORDS_MAX);
            goto out;
        }
        buf_reset(&word);
        if (take_word(&v, &word, err) == -1 ||
            (s = buf_cstr(&word, err)) == NULL ||
            (w->w[w->n] = cm_strdup(s, err)) == NULL)
            goto out;
        if (*s == '\0') {
            free(w->w[w->n]);
            cm_fail(err, CM_EFORMAT, "an empty word (\"\")");
            goto out;
        }
        w->n++;
    }
    rc = 0;
out:
    buf_free(&word);
    return rc;
}

/* "key = value" at ${line}: the key's index and the words of the value. */
static int
split_line(char *line, enum key *k, struct words *w, struct cm_err *err)
{
    char *eq = strchr(line, '='), *end;
    size_t i;

    if (eq == NULL)
        return cm_fail(err, CM_EFORMAT, "expected \"key = value\"");
    for (end = eq; end > line && (end[-1] == ' ' || end[-1] == '\t'); end--)
        ;
    *end = '\0';
    for (i = 0; i < K_COUNT; i++)
        if (strcmp(line, key_names[i]) == 0)
            break;
    if (i == K_COUNT)
        return cm_fail(err, CM_EFORMAT, "unknown key \"%.64s\"", line);
    *k = (enum key)i;
    if (split_words(eq + 1, w, err) == -1)
        return -1;
    if (w->n == 0)
        return cm_fail(err, CM_EFORMAT, "%s: no value", key_names[i]);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

static int
take_list(char ***list, size_t *n, struct words *w, struct cm_err *err)
{
    if (config_list_add(list, n, w->w, w->n, err) == -1)
        return -1;
    words_free(w);
    return 0;
}

static int
take_one(char **slot, struct words *w, const char *key, struct cm_err *err)
{
    if (w->n != 1)
        return cm_fail(err, CM_EFORMAT,
                       "%s: expected one value, got %zu (quote a value "
                       "with spaces)",
                       key, w->n);
    *slot = w->w[0];
    w->n = 0;
    return 0;
}

static int
check_media(const struct words *w, struct cm_err *err)
{
    for (size_t i = 0; i < w->n; i++) {
        if (medium_label_check(w->w[i], err) == -1)
            return cm_err_prefix(err, "media");
        for (size_t j = 0; j < i; j++)
            if (strcmp(w->w[i], w->w[j]) == 0)
                return cm_fail(err, CM_EFORMAT, "media: \"%s\" is listed twice",
                               w->w[i]);
    }
    return 0;
}

/* Check the single value of key ${k}, already stored in ${c}. */
static int
check_value(struct config *c, enum key k, struct cm_err *err)
{
    uint64_t size;
    long v;
    char *text = NULL;

    switch (k) {
    case K_ROTATION:
        if (config_parse_duration(c->rotation, &c->rotation_seconds, err) == -1)
            return cm_err_prefix(err, "rotation");
        return 0;
    case K_VOLUME_SIZE:
        return cli_parse_size(c->volume_size, "volume-size", &size, err);
    case K_MAX_CHAIN:
        return cli_parse_long(c->max_chain, "max-chain", 0, 10000, &v, err);
    case K_LEVEL:
        return cli_parse_long(c->level, "level", 1, 19, &v, err);
    case K_LABEL:
        if (manifest_set_text(&text, c->label, "label", err) == -1)
            return -1;
        free(text);
        return 0;
    default:
        return 0;
    }
}

static char **
one_slot(struct config *c, enum key k)
{
    switch (k) {
    case K_RECIPIENTS_FILE:
        return &c->recipients_file;
    case K_SIGNING_KEY:
        return &c->signing_key;
    case K_STATE_DIR:
        return &c->state_dir;
    case K_ROTATION:
        return &c->rotation;
    case K_VOLUME_SIZE:
        return &c->volume_size;
    case K_MAX_CHAIN:
        return &c->max_chain;
    case K_LEVEL:
        return &c->level;
    case K_LABEL:
        return &c->label;
    default:
        return NULL;
    }
}

static int
apply_key(struct config *c, enum key k, struct words *w, struct cm_err *err)
{
    switch (k) {
    case K_STORES:
        return take_list(&c->stores, &c->nstores, w, err);
    case K_EXCLUDE:
        return take_list(&c->excludes, &c->nexcludes, w, err);
    case K_MEDIA:
        if (check_media(w, err) == -1)
            return -1;
        return take_list(&c->media, &c->nmedia, w, err);
    default:
        if (take_one(one_slot(c, k), w, key_names[k], err) == -1)
            return -1;
        return check_value(c, k, err);
    }
}

/* One line (NUL-terminated, without its newline). */
static int
parse_line(struct config *c, char *line, int lineno, int seen[K_COUNT],
           struct cm_err *err)
{
    struct words w = {{NULL}, 0};
    enum key k = K_COUNT;
    int rc = -1;

    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '\0' || *line == '#')
        return 0;
    if (split_line(line, &k, &w, err) == -1)
        goto out;
    if (seen[k] != 0 && k != K_EXCLUDE) {
        cm_fail(err, CM_EFORMAT, "%s given twice (first on line %d)",
                key_names[k], seen[k]);
        goto out;
    }
    seen[k] = lineno;
    rc = apply_key(c, k, &w, err);
out:
    words_free(&w);
    return rc;
}

/* Control characters other than tab, or a NUL, in the line? */
static int
check_bytes(const char *p, size_t n, struct cm_err *err)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 && p[i] != '\t' &&
            !(p[i] == '\r' && i + 1 == n))
            return cm_fail(err, CM_EFORMAT, "control character 0x%02x",
                           (unsigned char)p[i]);
    return 0;
}

static int
parse_text(const char *text, size_t len, const char *name, struct config *c,
           struct cm_err *err)
{
    char line[CONFIG_LINE_MAX + 1];
    int seen[K_COUNT] = {0}, lineno = 0;
    struct cm_err why = CM_ERR_INIT;
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        lineno++;
        if (n > CONFIG_LINE_MAX)
            cm_fail(&why, CM_EFORMAT, "line longer than %d bytes",
                    CONFIG_LINE_MAX);
        else if (check_bytes(p, n, &why) == 0) {
            memcpy(line, p, n);
            line[n > 0 && line[n - 1] == '\r' ? n - 1 : n] = '\0';
            parse_line(c, line, lineno, seen, &why);
        }
        if (why.code != CM_OK)
            return cm_fail(err,
                           why.code == CM_EINTERNAL ? CM_EINTERNAL : CM_EFORMAT,
                           "%s: line %d: %s", name, lineno, why.msg);
        p = nl ? nl + 1 : end;
    }
    return 0;
}

int
config_parse(const char *text, size_t len, const char *name, struct config *c,
             struct cm_err *err)
{
    struct config tmp;

    config_init(&tmp);
    if (parse_text(text, len, name, &tmp, err) == -1 ||
        (tmp.path = cm_strdup(name, err)) == NULL) {
        config_free(&tmp);
        return -1;
    }
    *c = tmp;
    return 0;
}

int
config_load(const char *path, int must_exist, struct config *c,
            struct cm_err *err)
{
    struct buf text;
    int rc = -1;

    config_init(c);
    if (!must_exist && access(path, F_OK) == -1 && errno == ENOENT)
        return 0;
    buf_init(&text, CONFIG_FILE_MAX);
    if (io_read_file(path, CONFIG_FILE_MAX, &text, err) == 0 &&
        config_parse((const char *)text.data, text.len, path, c, err) == 0)
        rc = 1;
    buf_free(&text);
    return rc;
}
