/*
 * config: the pack host's configuration file, /etc/coldmail/coldmail.conf
 * or --config FILE, read by pack, status, prune and hold.  The grammar and
 * every key are in coldmail.conf(5):
 *
 *   # a comment (at the start of a line, or after white space)
 *   stores = /var/vmail "/srv/old mail"
 *   rotation = 7d
 *
 * One "key = value" a line.  A value is one or more words separated by
 * white space; a word may be double-quoted to hold spaces or '#' (with \"
 * and \\ inside).  Strict: an unknown key, a key given twice (except
 * exclude), a missing or bad value is CM_EFORMAT naming the file and line.
 * Options given on the command line override the file.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "cm.h"

#define CONFIG_DEFAULT_PATH "/etc/coldmail/coldmail.conf"
#define CONFIG_FILE_MAX (64u << 10)
#define CONFIG_LINE_MAX 4096
#define CONFIG_WORDS_MAX 256 /* words in one value */
#define CONFIG_ROTATION_DEFAULT (7 * 86400)
#define CONFIG_DURATION_MAX (3660ll * 86400) /* ten years */

struct config {
    char *path;    /* the file read; NULL if none */
    char **stores; /* NULL-terminated, nstores entries */
    size_t nstores;
    char *recipients_file;
    char *signing_key;
    char *state_dir;
    char **media; /* medium labels in rotation order */
    size_t nmedia;
    char *rotation; /* as written ("7d"); NULL if not set */
    int64_t rotation_seconds;
    char *volume_size; /* as written, checked like --volume-size */
    char **excludes;   /* every exclude line's globs, in order */
    size_t nexcludes;
    char *max_chain; /* as written, checked: 0 to 10000 */
    char *level;     /* as written, checked: 1 to 19 */
    char *label;
};

/* An empty configuration: every key unset. */
void config_init(struct config *c);

/* Free everything hanging off ${c}; it is empty again.  NULL-safe. */
void config_free(struct config *c);

/*
 * Parse configuration text (${len} bytes at ${text}); ${name} (the file)
 * prefixes messages: "NAME: line 7: unknown key \"rotaton\"".  ${c} is
 * filled only on success (free it with config_free).  CM_EFORMAT on any
 * fault, CM_EINTERNAL if out of memory.
 */
int config_parse(const char *text, size_t len, const char *name,
                 struct config *c, struct cm_err *err);

/*
 * Read and parse ${path}.  Returns 1 when read, 0 when ${must_exist} is
 * false and there is no such file (${c} is left empty), -1 on error:
 * CM_EIO (unreadable; or missing when ${must_exist}), CM_EFORMAT.
 */
int config_load(const char *path, int must_exist, struct config *c,
                struct cm_err *err);

/*
 * Parse a duration: a positive number and a unit, s, m, h, d or w ("7d",
 * "36h", "2w"), at most CONFIG_DURATION_MAX seconds.  CM_EFORMAT.
 */
int config_parse_duration(const char *s, int64_t *seconds, struct cm_err *err);

/* ${seconds} for people, in the largest unit up to days that divides it:
 * "7d", "36h", "90s". */
void config_format_duration(int64_t seconds, char *out, size_t outlen);

/*
 * The command line wins: if *${slot} (an option's value) is NULL and
 * ${value} (the file's) is not, *${slot} becomes a copy of ${value}.
 * CM_EINTERNAL if out of memory.
 */
int config_default(char **slot, const char *value, struct cm_err *err);

/*
 * Append copies of ${n} strings at ${more} to the NULL-terminated list
 * *${list} of *${count} entries (as cli_take_many builds, freed with
 * cli_free_list).  For repeatable options whose file values add to the
 * command line's (exclude).
 */
int config_list_add(char ***list, size_t *count, char *const *more, size_t n,
                    struct cm_err *err);

#endif
