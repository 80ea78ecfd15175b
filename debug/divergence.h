/*
 * divergence.h - the report of the first event where two runs of one scenario part: what
 * `hvsim replay` prints when the re-executed run leaves the recorded one, and what `hvsim
 * diff` prints for the first differing event of two traces.
 *
 * The report gives both events; only the columns and detail keys that differ, with both
 * values (nested keys as paths, "result.bitmap"); the pc's function and source file:line from
 * each side's guest ELF (debug/srcline.h); the last few events of the same vCPU before it
 * (they are the same on both sides, read from one trace); for a `step` event, the step's
 * scenario file:line, action, trigger and arguments instead of guest code, and for an event
 * that the recorded trace follows with a `step`, that step too (a step's action emits its
 * events before the step's own).
 */
#ifndef HV_DIVERGENCE_H
#define HV_DIVERGENCE_H

#include <stdbool.h>
#include <stdio.h>

#include "trace/event.h"

struct scenario;
struct srcline;
struct trace_reader;

/* How many earlier events of the vCPU a report shows. */
#define DIVERGENCE_HISTORY 5

/* An event copied out of a reader or a sink call; present false: that side had none left. */
struct divergence_event {
    bool present;
    struct hv_event ev;   /* ev.detail points at detail; ev.fields is NULL */
    char *detail;
};

/* Copies ev (its detail too) into e, replacing what e held. HV_ENOMEM. */
int divergence_event_set(struct divergence_event *e, const struct hv_event *ev);
/* Frees what e holds and marks it absent. */
void divergence_event_fini(struct divergence_event *e);

struct divergence_side {
    const char *label;            /* "recorded", "replayed", "A", "B" */
    struct divergence_event ev;
    struct srcline *src;          /* that side's guest ELF; borrowed, NULL: no source lines */
    const struct scenario *sc;    /* that side's scenario, for step locations; borrowed, may
                                   * be NULL */
};

struct divergence {
    struct divergence_side side[2];
    /* The trace whose earlier events (and next event) the report shows: before the first
     * difference both sides are equal. Borrowed; the report begins its own iterations, so
     * the caller must be done iterating it. NULL: no history. */
    struct trace_reader *history;
    /* Code at the pc and registers, from a re-execution (replay); borrowed, NULL or "" when
     * there are none. */
    const char *context;
};

/* The seq the report is about: the first present side's. */
uint64_t divergence_seq(const struct divergence *d);

/*
 * Writes the report as text (every line indented by two spaces), after a headline the caller
 * prints. Returns 0 or a negative hv_err (a read error of the history trace).
 */
int divergence_print(const struct divergence *d, FILE *out);
/* Writes the report as one JSON object (no newline). Same returns. */
int divergence_json(const struct divergence *d, FILE *out);
/* Writes s as a JSON string literal. */
void divergence_json_str(FILE *out, const char *s);

#endif
