/*
 * progress: with a fake clock and a memory stream: what a line says (rate,
 * time left), how often a terminal line is redrawn, plain mode, the
 * summary, and counts bumped from several threads.
 */
#include "progress.h"

#include <pthread.h>

#include "check.h"

static double fake;

static double
fake_now(void)
{
    return fake;
}

struct sink {
    FILE *f;
    char *text;
    size_t len;
};

static struct progress *
open_sink(struct sink *s, enum progress_mode mode, double interval,
          const char *label)
{
    struct progress_opts o = {NULL, mode, interval, fake_now, label};
    struct cm_err err = CM_ERR_INIT;
    struct progress *p = NULL;

    s->text = NULL;
    s->len = 0;
    s->f = open_memstream(&s->text, &s->len);
    o.out = s->f;
    CHECK(s->f != NULL);
    CHECK(progress_new(&o, &p, &err) == 0);
    return p;
}

/* What was written so far (the stream stays open). */
static const char *
text(struct sink *s)
{
    fflush(s->f);
    return s->text != NULL ? s->text : "";
}

static int
count(const char *hay, char c)
{
    int n = 0;

    for (; *hay != '\0'; hay++)
        n += *hay == c;
    return n;
}

static void
close_sink(struct sink *s)
{
    fclose(s->f);
    free(s->text);
}

/* The last drawn line of a terminal stream. */
static const char *
last_line(struct sink *s)
{
    const char *t = text(s), *cr = strrchr(t, '\r');

    return cr != NULL ? cr + 1 : t;
}

static void
test_tty(void)
{
    struct progress_snapshot snap;
    struct sink s;
    struct progress *p;

    fake = 1000;
    p = open_sink(&s, PROGRESS_TTY, 0, "restore");
    progress_set_total(p, 10, 100000000);
    progress_add(p, 1, 10000000);
    CHECK_STR_EQ(text(&s), ""); /* not due yet */
    fake = 1000.1;
    progress_add(p, 1, 10000000);
    CHECK_STR_EQ(text(&s), "");
    fake = 1000.25;
    progress_add(p, 0, 0);
    /* 20 MB in 0.25 s: 80 MB/s, 80 MB left: 1 s. */
    CHECK_STR_EQ(last_line(&s),
                 "restore: 2/10 items, 20.0/100.0 MB, 80.0 MB/s, 0:00:01 left");
    CHECK_INT_EQ(count(text(&s), '\r'), 1);
    CHECK_INT_EQ(count(text(&s), '\n'), 0);

    /* Throttled: many updates within 0.2 s, no redraw. */
    for (int i = 0; i < 100; i++) {
        fake += 0.001;
        progress_add(p, 0, 1000);
    }
    CHECK_INT_EQ(count(text(&s), '\r'), 1);
    fake += 0.2;
    progress_poll(p);
    CHECK_INT_EQ(count(text(&s), '\r'), 2);

    /* A message from the caller: the line is erased first. */
    progress_clear(p);
    CHECK(strlen(last_line(&s)) == 0);
    progress_get(p, &snap);
    CHECK_INT_EQ(snap.items, 2);
    CHECK_INT_EQ(snap.bytes, 20100000);
    CHECK(snap.left > 0);

    fake = 1004.25;
    progress_add(p, 8, 79900000);
    progress_finish(p);
    CHECK_STR_HAS(text(&s), "\rrestore: 10/10 items, 100.0/100.0 MB, ");
    /* The line is erased before the summary. */
    CHECK_STR_HAS(text(&s), "  \rrestore: 10 items, 100.0 MB in 0:00:04 "
                            "(23.5 MB/s)\n");
    /* After the end, nothing more is drawn. */
    fake += 10;
    progress_add(p, 1, 1);
    CHECK(text(&s)[strlen(text(&s)) - 1] == '\n');
    progress_free(p);
    close_sink(&s);
}

/* A shorter line blanks out the tail of the longer one before it. */
static void
test_tty_shorter(void)
{
    struct sink s;
    struct progress *p;
    const char *t;

    fake = 0;
    p = open_sink(&s, PROGRESS_TTY, 0, "pack");
    progress_set_total(p, 0, 5000000000);
    fake = 1;
    progress_add(p, 123456, 1000000000);
    fake = 2;
    progress_set_total(p, 0, 0);
    progress_add(p, 0, 0);
    t = last_line(&s);
    CHECK(strncmp(t, "pack: 123456 items, 1.0 GB, ", 28) == 0);
    CHECK(t[strlen(t) - 1] == ' ');
    CHECK(strstr(t, "left") == NULL);
    progress_free(p);
    close_sink(&s);
}

static void
test_rate_smoothing(void)
{
    struct progress_snapshot snap;
    struct sink s;
    struct progress *p;

    fake = 0;
    p = open_sink(&s, PROGRESS_TTY, 0, NULL);
    for (int i = 1; i <= 50; i++) { /* 10 MB/s for 10 s */
        fake = i * 0.2;
        progress_add(p, 1, 2000000);
    }
    progress_get(p, &snap);
    CHECK(snap.rate > 9.99e6 && snap.rate < 10.01e6);
    CHECK(snap.left < 0);          /* no total */
    for (int i = 1; i <= 5; i++) { /* then 20 MB/s for 1 s */
        fake = 10 + i * 0.2;
        progress_add(p, 1, 4000000);
    }
    progress_get(p, &snap);
    CHECK(snap.rate > 11e6 && snap.rate < 15e6);
    for (int i = 6; i <= 150; i++) {
        fake = 10 + i * 0.2;
        progress_add(p, 1, 4000000);
    }
    progress_get(p, &snap);
    CHECK(snap.rate > 19.9e6 && snap.rate < 20.1e6);
    CHECK_STR_HAS(last_line(&s), "200 items, 700.0 MB, 20.0 MB/s");
    progress_free(p);
    close_sink(&s);
}

static void
test_plain(void)
{
    char sum[128];
    struct sink s;
    struct progress *p;

    fake = 0;
    p = open_sink(&s, PROGRESS_PLAIN, 10, "verify");
    progress_set_total(p, 0, 3000000000);
    for (int i = 1; i <= 25; i++) {
        fake = i;
        progress_add(p, 1, 100000000);
    }
    /* Lines at 10 s and 20 s, whole lines, no \r. */
    CHECK_INT_EQ(count(text(&s), '\n'), 2);
    CHECK_INT_EQ(count(text(&s), '\r'), 0);
    CHECK_STR_EQ(text(&s),
                 "verify: 10 items, 1.0/3.0 GB, 100.0 MB/s, 0:00:20 left\n"
                 "verify: 20 items, 2.0/3.0 GB, 100.0 MB/s, 0:00:10 left\n");
    progress_summary(p, sum, sizeof sum);
    CHECK_STR_EQ(sum, "verify: 25 items, 2.5 GB in 0:00:25 (100.0 MB/s)");
    progress_finish(p);
    progress_finish(p);
    CHECK_INT_EQ(count(text(&s), '\n'), 3);
    progress_free(p);
    close_sink(&s);

    /* No periodic lines at all: only the summary. */
    fake = 0;
    p = open_sink(&s, PROGRESS_PLAIN, 0, NULL);
    fake = 100;
    progress_add(p, 1, 999);
    CHECK_STR_EQ(text(&s), "");
    progress_finish(p);
    CHECK_STR_EQ(text(&s), "1 item, 999 B in 0:01:40 (10 B/s)\n");
    progress_free(p);
    close_sink(&s);

    /* A memory stream is no terminal. */
    p = open_sink(&s, PROGRESS_AUTO, 5, NULL);
    fake += 6;
    progress_add(p, 1, 1);
    CHECK_INT_EQ(count(text(&s), '\n'), 1);
    progress_free(p);
    close_sink(&s);
}

static void
test_no_output_and_errors(void)
{
    struct progress_opts o = {NULL, PROGRESS_TTY, 0, NULL, "x"};
    struct cm_err err = CM_ERR_INIT;
    struct progress *p = NULL;
    char sum[64];

    /* The real clock, and no stream: counting still works. */
    CHECK(progress_new(&o, &p, &err) == 0);
    progress_add(p, 3, 3);
    progress_clear(p);
    progress_finish(p);
    progress_summary(p, sum, sizeof sum);
    CHECK(strncmp(sum, "x: 3 items, 3 B in 0:00:00", 26) == 0);
    progress_free(p);
    progress_free(NULL);
    o.mode = PROGRESS_PLAIN;
    o.interval = -1;
    CHECK(progress_new(&o, &p, &err) == -1);
    CHECK_INT_EQ(err.code, CM_EUSAGE);
}

struct worker {
    struct progress *p;
};

static void *
bump(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < 100000; i++)
        progress_add(w->p, 1, 3);
    return NULL;
}

/* Several pipeline threads bumping counts while lines are drawn. */
static void
test_threads(void)
{
    struct progress_opts o = {NULL, PROGRESS_TTY, 0, NULL, "t"};
    struct cm_err err = CM_ERR_INIT;
    struct progress_snapshot snap;
    struct worker w[4];
    pthread_t th[4];
    struct sink s;

    s.text = NULL;
    s.f = open_memstream(&s.text, &s.len);
    o.out = s.f;
    CHECK(progress_new(&o, &w[0].p, &err) == 0);
    for (int i = 0; i < 4; i++) {
        w[i].p = w[0].p;
        CHECK(pthread_create(&th[i], NULL, bump, &w[i]) == 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    progress_get(w[0].p, &snap);
    CHECK_INT_EQ(snap.items, 400000);
    CHECK_INT_EQ(snap.bytes, 1200000);
    progress_finish(w[0].p);
    CHECK_STR_HAS(text(&s), "t: 400000 items, 1.2 MB in ");
    progress_free(w[0].p);
    close_sink(&s);
}

int
main(void)
{
    test_tty();
    test_tty_shorter();
    test_rate_smoothing();
    test_plain();
    test_no_output_and_errors();
    test_threads();
    return check_report();
}
