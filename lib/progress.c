#include "progress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io.h"

#define LABEL_MAX 32
#define LEFT_MAX (1000.0 * 3600.0) /* beyond this, "time left" is noise */

struct progress {
    FILE *out;
    int tty;
    double interval; /* between draws; 0: never */
    double (*now)(void);
    double start;
    char label[LABEL_MAX];

    _Atomic uint64_t items, bytes, total_items, total_bytes;
    _Atomic uint64_t next_due_us; /* since start */

    pthread_mutex_t lock; /* the rest, and the output */
    double last_t, rate;  /* last_t: since start */
    uint64_t last_bytes;
    int have_rate, finished;
    size_t shown; /* characters of the terminal line on screen */
};

static double
monotonic_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
elapsed(const struct progress *p)
{
    double t = p->now() - p->start;

    return t > 0 ? t : 0;
}

static uint64_t
to_us(double t)
{
    return t > 0 ? (uint64_t)(t * 1e6) : 0;
}

int
progress_new(const struct progress_opts *opts, struct progress **out,
             struct cm_err *err)
{
    struct progress *p;
    int tty;

    if (opts->interval < 0)
        return cm_fail(err, CM_EUSAGE, "progress interval is negative");
    if ((p = cm_calloc(1, sizeof *p, err)) == NULL)
        return -1;
    p->out = opts->out;
    tty = opts->mode;
    if (tty == PROGRESS_AUTO)
        tty = p->out != NULL && io_isatty(fileno(p->out)) == 1;
    p->tty = tty == PROGRESS_TTY;
    p->interval = p->tty ? PROGRESS_TTY_INTERVAL : opts->interval;
    if (p->out == NULL)
        p->interval = 0;
    p->now = opts->now != NULL ? opts->now : monotonic_now;
    p->start = p->now();
    snprintf(p->label, sizeof p->label, "%s",
             opts->label != NULL ? opts->label : "");
    atomic_init(&p->items, 0);
    atomic_init(&p->bytes, 0);
    atomic_init(&p->total_items, 0);
    atomic_init(&p->total_bytes, 0);
    atomic_init(&p->next_due_us, to_us(p->interval));
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return 0;
}

void
progress_free(struct progress *p)
{
    if (p == NULL)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void
progress_set_total(struct progress *p, uint64_t items, uint64_t bytes)
{
    atomic_store(&p->total_items, items);
    atomic_store(&p->total_bytes, bytes);
}

/* ------------------------------------------------------------------ */
/* Text                                                                */

/* Decimal units, as disks and rates are sold. */
static void
fmt_bytes(char *out, size_t len, double v)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    size_t u = 0;

    while (v >= 1000 && u + 1 < CM_ARRAY_LEN(units)) {
        v /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(out, len, "%.0f B", v);
    else
        snprintf(out, len, "%.1f %s", v, units[u]);
}

static void
fmt_duration(char *out, size_t len, double s)
{
    unsigned long t = (unsigned long)(s + 0.5);

    snprintf(out, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
}

/* "1234/5678 items" or "1234 items" (and the same for bytes). */
static size_t
fmt_count(char *out, size_t len, uint64_t done, uint64_t total, int bytes)
{
    char d[32], t[32];

    if (bytes) {
        fmt_bytes(d, sizeof d, (double)done);
        fmt_bytes(t, sizeof t, (double)total);
    } else {
        snprintf(d, sizeof d, "%llu", (unsigned long long)done);
        snprintf(t, sizeof t, "%llu items", (unsigned long long)total);
        if (total == 0)
            strcat(d, " items");
    }
    if (total == 0)
        return (size_t)snprintf(out, len, "%s", d);
    /* "1.2 GB/4.6 GB" reads better as "1.2/4.6 GB" when units agree. */
    if (bytes && strcmp(strchr(d, ' '), strchr(t, ' ')) == 0)
        *strchr(d, ' ') = '\0';
    return (size_t)snprintf(out, len, "%s/%s", d, t);
}

static double
seconds_left(uint64_t done, uint64_t total, double rate)
{
    if (total == 0 || rate <= 0 || done > total)
        return -1;
    return (double)(total - done) / rate;
}

/* The status line; the lock is held. */
static void
format_line(struct progress *p, char *line, size_t len)
{
    uint64_t bytes = atomic_load(&p->bytes);
    uint64_t total_bytes = atomic_load(&p->total_bytes);
    double left = seconds_left(bytes, total_bytes, p->rate);
    char items[64], done[64], rate[32], tail[48] = "";

    fmt_count(items, sizeof items, atomic_load(&p->items),
              atomic_load(&p->total_items), 0);
    fmt_count(done, sizeof done, bytes, total_bytes, 1);
    fmt_bytes(rate, sizeof rate, p->have_rate ? p->rate : 0);
    if (left >= 0 && left < LEFT_MAX) {
        memcpy(tail, ", ", 3);
        fmt_duration(tail + 2, sizeof tail - 2, left);
        strcat(tail, " left");
    }
    snprintf(line, len, "%s%s%s, %s, %s/s%s", p->label, p->label[0] ? ": " : "",
             items, done, rate, tail);
}

/* ------------------------------------------------------------------ */
/* Drawing                                                             */

/* The rate over the last interval, folded into a moving average. */
static void
sample(struct progress *p, double t)
{
    uint64_t b = atomic_load(&p->bytes);
    double dt = t - p->last_t, inst, a;

    if (dt <= 0)
        return;
    inst = (double)(b - p->last_bytes) / dt;
    a = dt / (PROGRESS_RATE_TAU + dt);
    p->rate = p->have_rate ? p->rate + a * (inst - p->rate) : inst;
    p->have_rate = 1;
    p->last_t = t;
    p->last_bytes = b;
}

static void
erase_line(struct progress *p)
{
    if (!p->tty || p->shown == 0)
        return;
    fprintf(p->out, "\r%*s\r", (int)p->shown, "");
    p->shown = 0;
}

static void
draw(struct progress *p, double t)
{
    char line[256];
    size_t len;

    sample(p, t);
    format_line(p, line, sizeof line);
    len = strlen(line);
    if (p->tty) {
        if (len > PROGRESS_LINE_MAX)
            line[len = PROGRESS_LINE_MAX] = '\0';
        /* Blanks over the tail of a longer line drawn before. */
        fprintf(p->out, "\r%s%*s", line,
                p->shown > len ? (int)(p->shown - len) : 0, "");
        p->shown = p->shown > len ? p->shown : len;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
}

static void
maybe_draw(struct progress *p)
{
    double t;

    if (p->interval <= 0)
        return;
    t = elapsed(p);
    if (to_us(t) < atomic_load(&p->next_due_us))
        return;
    /* Whoever holds the lock is drawing: no need to wait for it. */
    if (pthread_mutex_trylock(&p->lock) != 0)
        return;
    if (!p->finished && to_us(t) >= atomic_load(&p->next_due_us)) {
        draw(p, t);
        atomic_store(&p->next_due_us, to_us(t + p->interval));
    }
    pthread_mutex_unlock(&p->lock);
}

void
progress_add(struct progress *p, uint64_t items, uint64_t bytes)
{
    atomic_fetch_add(&p->items, items);
    atomic_fetch_add(&p->bytes, bytes);
    maybe_draw(p);
}

void
progress_poll(struct progress *p)
{
    maybe_draw(p);
}

void
progress_clear(struct progress *p)
{
    pthread_mutex_lock(&p->lock);
    erase_line(p);
    if (p->out != NULL)
        fflush(p->out);
    pthread_mutex_unlock(&p->lock);
}

void
progress_get(struct progress *p, struct progress_snapshot *s)
{
    pthread_mutex_lock(&p->lock);
    s->items = atomic_load(&p->items);
    s->bytes = atomic_load(&p->bytes);
    s->total_items = atomic_load(&p->total_items);
    s->total_bytes = atomic_load(&p->total_bytes);
    s->elapsed = elapsed(p);
    s->rate = p->have_rate ? p->rate : 0;
    s->left = seconds_left(s->bytes, s->total_bytes, s->rate);
    pthread_mutex_unlock(&p->lock);
}

void
progress_summary(struct progress *p, char *buf, size_t len)
{
    uint64_t items = atomic_load(&p->items), bytes = atomic_load(&p->bytes);
    double t = elapsed(p);
    char b[32], r[32], d[32];

    fmt_bytes(b, sizeof b, (double)bytes);
    fmt_bytes(r, sizeof r, t > 0 ? (double)bytes / t : 0);
    fmt_duration(d, sizeof d, t);
    snprintf(buf, len, "%s%s%llu item%s, %s in %s (%s/s)", p->label,
             p->label[0] ? ": " : "", (unsigned long long)items,
             items == 1 ? "" : "s", b, d, r);
}

void
progress_finish(struct progress *p)
{
    char line[256];

    pthread_mutex_lock(&p->lock);
    if (!p->finished && p->out != NULL) {
        erase_line(p);
        progress_summary(p, line, sizeof line);
        fprintf(p->out, "%s\n", line);
        fflush(p->out);
    }
    p->finished = 1;
    pthread_mutex_unlock(&p->lock);
}
