/*
 * progress: the progress display of pack and restore.
 *
 * On a terminal: one line, redrawn in place with \r at most every
 * PROGRESS_TTY_INTERVAL seconds: items done/total, bytes done/total, the
 * rate (MB/s, smoothed over about PROGRESS_RATE_TAU seconds) and the time
 * left.  Elsewhere (a log, a pipe): the same text as a plain line every
 * few seconds, or none.  Lines go only to the stream the caller gives.
 *
 *   restore: 1234/5678 items, 1.2/4.6 GB, 45.6 MB/s, 0:01:23 left
 *
 * Counters may be bumped from any thread (atomics); whichever thread
 * finds a redraw due does it, the others do not wait for it.  The clock
 * is injectable, so tests drive time by hand.
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cm.h"

#define PROGRESS_TTY_INTERVAL 0.2 /* seconds between terminal redraws */
#define PROGRESS_RATE_TAU 5.0     /* seconds the rate is smoothed over */
#define PROGRESS_LINE_MAX 79      /* columns of a terminal line, at most */

enum progress_mode {
    PROGRESS_AUTO = -1, /* a terminal if io_isatty(fileno(out)) */
    PROGRESS_PLAIN = 0, /* whole lines every ${interval} seconds */
    PROGRESS_TTY = 1,   /* one line redrawn in place */
};

struct progress_opts {
    FILE *out; /* where lines go (stderr in the front ends);
                  NULL: nowhere */
    enum progress_mode mode;
    double interval;     /* plain mode: seconds between lines; 0: none,
                            only the summary */
    double (*now)(void); /* a monotonic clock in seconds; NULL:
                            CLOCK_MONOTONIC */
    const char *label;   /* "pack", "restore", ...; NULL: none */
};

/* What the display shows, for a front end's own report. */
struct progress_snapshot {
    uint64_t items, bytes;
    uint64_t total_items, total_bytes; /* 0: unknown */
    double elapsed;                    /* seconds since progress_new */
    double rate;                       /* bytes per second, smoothed */
    double left;                       /* seconds left; < 0: unknown */
};

struct progress;

/*
 * A display with ${opts}, its clock starting now.  CM_EUSAGE for a
 * negative interval, CM_EINTERNAL if out of memory.  *${out} is freed
 * with progress_free().
 */
int progress_new(const struct progress_opts *opts, struct progress **out,
                 struct cm_err *err);

/* The totals, once known (0: unknown).  Any thread. */
void progress_set_total(struct progress *p, uint64_t items, uint64_t bytes);

/* Count ${items} and ${bytes} more done, and redraw if due.  Any thread. */
void progress_add(struct progress *p, uint64_t items, uint64_t bytes);

/* Redraw if due, without counting anything (a caller that waits). */
void progress_poll(struct progress *p);

/*
 * Erase the terminal line, so that the caller can print a message; the
 * next redraw puts it back.  Nothing to do in plain mode.
 */
void progress_clear(struct progress *p);

/* Fill ${s} with the current state. */
void progress_get(struct progress *p, struct progress_snapshot *s);

/*
 * The summary into ${buf} (NUL-terminated, cut to ${len} - 1):
 * "restore: 5678 items, 4.6 GB in 0:01:42 (45.1 MB/s)", the rate being
 * the average over the whole run.
 */
void progress_summary(struct progress *p, char *buf, size_t len);

/*
 * End the display: erase the terminal line and print the summary line.
 * Later calls draw nothing.
 */
void progress_finish(struct progress *p);

void progress_free(struct progress *p);

#endif
