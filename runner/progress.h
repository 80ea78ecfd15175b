/*
 * progress.h - one updating line on stderr while long work goes on (explore's runs, a
 * cursor's re-execution to a seek target, a long `hvsim run`).
 *
 * The line is written only to a terminal, and not at all after --no-progress
 * (progress_disable()) or with HVSIM_NO_PROGRESS=1 in the environment. Each update rewrites
 * it in place ("\r", the text cut to the terminal's width, erase to the end of the line);
 * progress_end() erases it. Its clock is the wall clock (or a test's): it decides only when
 * the line is redrawn, never anything a simulation does, and nothing of it reaches a trace.
 */
#ifndef HV_PROGRESS_H
#define HV_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A clock in milliseconds. */
typedef uint64_t (*progress_clock_fn)(void);

struct progress {
    FILE *out;                 /* NULL: off (not a terminal, or turned off) */
    progress_clock_fn clock;
    uint64_t start;            /* clock at progress_init */
    uint64_t delay;            /* ms after start before the first line */
    uint64_t last;             /* clock at the last line written */
    unsigned width;            /* columns: a line is cut to width - 1 */
    bool shown;                /* a line is on the terminal */
};

/* Redraws at most this often. */
#define PROGRESS_INTERVAL_MS 100

/*
 * Starts p on out: on when tty (out is a terminal) and progress_enabled(); the first line
 * is shown delay_ms after now. clock NULL: progress_wall_ms. width 0: the terminal's
 * (TIOCGWINSZ on out), else 80.
 */
void progress_init(struct progress *p, FILE *out, bool tty, unsigned width, uint64_t delay_ms,
                   progress_clock_fn clock);
/* progress_init on stderr, with the wall clock and the terminal's width. */
void progress_init_stderr(struct progress *p, uint64_t delay_ms);
/* Whether progress_update would write now (cheap enough to call per event). */
bool progress_due(const struct progress *p);
/* Writes the line fmt gives when progress_due(). */
__attribute__((format(printf, 2, 3)))
void progress_update(struct progress *p, const char *fmt, ...);
/* Erases the line, if one is shown. p stays usable. */
void progress_end(struct progress *p);

/* --no-progress: no line in this process from now on. */
void progress_disable(void);
/* Not disabled, and HVSIM_NO_PROGRESS is not 1. */
bool progress_enabled(void);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t progress_wall_ms(void);

#endif
