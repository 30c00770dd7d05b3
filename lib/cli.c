#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *cli_progname = "coldmail";

int
cli_parse_size(const char *s, const char *option, uint64_t *out,
               struct cm_err *err)
{
    unsigned long long v;
    uint64_t mult = 1;
    char *end;

    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        goto bad;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        goto bad;
    switch (*end) {
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    case 't': case 'T': mult = 1ull << 40; end++; break;
    default: break;
    }
    if ((*end == 'i' || *end == 'I') && mult > 1)
        end++;
    if ((*end == 'b' || *end == 'B') && end[1] == '\0')
        end++;
    if (*end != '\0' || v == 0 || v > UINT64_MAX / mult)
        goto bad;
    *out = v * mult;
    return 0;
bad:
    return cm_fail(err, CM_EUSAGE,
                   "%s: bad size \"%s\" (expected a number with an optional "
                   "k, M, G or T suffix)",
                   option, s);
}

int
cli_parse_long(const char *s, const char *option, long min, long max,
               long *out, struct cm_err *err)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return cm_fail(err, CM_EUSAGE, "%s: expected a number from %ld to %ld, "
                       "got \"%s\"", option, min, max, s);
    *out = v;
    return 0;
}

int
cli_take_once(poptContext pc, char **slot, const char *option,
              struct cm_err *err)
{
    char *arg = poptGetOptArg(pc);

    if (arg == NULL)
        return cm_fail(err, CM_EUSAGE, "%s needs a value", option);
    if (*slot != NULL) {
        free(arg);
        return cm_fail(err, CM_EUSAGE, "%s given twice", option);
    }
    *slot = arg;
    return 0;
}

int
cli_take_many(poptContext pc, char ***list, size_t *n, struct cm_err *err)
{
    char *arg = poptGetOptArg(pc);
    char **grown;

    if (arg == NULL)
        return cm_fail(err, CM_EUSAGE, "option needs a value");
    grown = realloc(*list, (*n + 2) * sizeof *grown);
    if (grown == NULL) {
        free(arg);
        return cm_fail(err, CM_EINTERNAL, "out of memory");
    }
    grown[(*n)++] = arg;
    grown[*n] = NULL;
    *list = grown;
    return 0;
}

void
cli_free_list(char **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

int
cli_parse(poptContext pc,
          int (*on_option)(void *ctx, poptContext pc, int val,
                           struct cm_err *err),
          void *ctx, struct cm_err *err)
{
    int val;

    while ((val = poptGetNextOpt(pc)) > 0)
        if (on_option(ctx, pc, val, err) == -1)
            return -1;
    if (val < -1)
        return cm_fail(err, CM_EUSAGE, "%s: %s",
                       poptBadOption(pc, POPT_BADOPTION_NOALIAS),
                       poptStrerror(val));
    return 0;
}

const char **
cli_args(poptContext pc, int *count)
{
    const char **args = poptGetArgs(pc);
    int n = 0;

    while (args != NULL && args[n] != NULL)
        n++;
    *count = n;
    return args;
}

void
cli_format_bytes(uint64_t n, char *out, size_t outlen)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)n;
    size_t u = 0;

    while (v >= 1000 && u + 1 < CM_ARRAY_LEN(units)) {
        v /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(out, outlen, "%llu B", (unsigned long long)n);
    else
        snprintf(out, outlen, "%.1f %s", v, units[u]);
}

int
cli_report(const struct cm_err *err)
{
    if (err->code == CM_OK)
        return 0;
    fprintf(stderr, "%s: error: %s\n", cli_progname,
            err->msg[0] ? err->msg : cm_code_name(err->code));
    return (int)err->code;
}

void
cli_warn(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: warning: ", cli_progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static volatile sig_atomic_t interrupted;

static void
on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

volatile sig_atomic_t *
cli_catch_interrupts(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    return &interrupted;
}
