/*
 * shrink.h - from a failing run's trace, a smaller run with the same failure.
 *
 * The failure signature of a run is what failed first: "guest assertion FILE:LINE", "step N
 * (ACTION)", "expect KEY", or "simulator error: WHAT", as `hvsim explore` names them.
 * shrink_trace() re-runs the trace's scenario, guest image, seed and --set list with explicit
 * schedules (sim/hv.h), each candidate a fresh VM in this process, and keeps a candidate when
 * it fails with the same signature and no more context switches than the best so far:
 *   1. the shortest prefix of the recorded slices that still fails (bisection; the rest are
 *      decided round-robin);
 *   2. delta debugging (ddmin, Zeller and Hildebrandt 2002, complements only) over the
 *      context switches: a switch left out gives its slice to the previous slice's vCPU;
 *   3. ddmin over the seeded preemption points that said yes (the others say no);
 *   4. each seeded step trigger (a migration point, say) moved by bisection toward LO, then
 *      toward HI of its range, while the failure stays and the run gets shorter;
 * then 1-4 again while a round improves. The best run is written as a trace whose schedule
 * is loaded, so that `hvsim replay` repeats it exactly.
 */
#ifndef HV_SHRINK_H
#define HV_SHRINK_H

#include <stdint.h>
#include <stdio.h>

struct shrink_stats {
    char signature[256];
    uint64_t switches, events, instructions;
};

struct shrink_result {
    struct shrink_stats before, after;
    unsigned runs;            /* candidate runs made */
};

/*
 * Shrinks the failing run recorded at path and writes the smallest run found to out (a new
 * trace). max_runs bounds the candidate runs (0: 500). Progress and the before/after table
 * go to log (may be NULL), problems to err. Returns an exit code: 0 the smaller trace was
 * written and replays identically, 1 it does not replay identically, 2 bad input (not a
 * trace, no recorded schedule, a run that did not fail).
 */
int shrink_trace(const char *path, const char *out, unsigned max_runs, FILE *log, FILE *err,
                 struct shrink_result *res);

/*
 * `hvsim explore --shrink`: shrinks the first kept failure of each signature of the
 * exploration in dir (its results.db) to traces/run-N-shrunk.db beside it, and records each
 * in results.db's table `shrunk` (docs/exploration.md). 0, or an hv_err for an unreadable
 * results database (message on err); a failure that does not shrink is reported and skipped.
 */
int shrink_explored(const char *dir, FILE *log, FILE *err);

#endif
