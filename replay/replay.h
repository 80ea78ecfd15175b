/*
 * replay.h - re-executes a run from its trace alone and compares every event.
 *
 * The trace holds the scenario text, the guest image, the seed and the --set overrides of the
 * recorded run; replay feeds them to the runner again (with any new --set on top) and checks
 * each new event against the recorded one, in order. The first difference stops the run and
 * is reported (debug/divergence.h): both events, what differs, the pc's source, the vCPU's
 * last events, the disassembly at the pc and the vCPU's registers.
 */
#ifndef HV_REPLAY_H
#define HV_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "runner/scenario.h"
#include "trace/trace.h"

/* What re-executing a recorded run needs, read from its trace. */
struct replay_inputs {
    struct trace_reader *r;   /* the trace, open */
    struct scenario *sc;      /* its scenario with the recorded seed and --set list (and any
                               * new --set on top), checked with runner_check() */
    void *elf;                /* the guest image */
    size_t elf_len;
    bool complete;            /* the recording finished (trace_reader_complete) */
};

/*
 * Reads the inputs of the run recorded in path, for replay and the debugger's cursor
 * (debug/cursor.c). Returns 0, or an hv_err after printing one line naming the problem to
 * err (a real-kernel trace, missing inputs, a stored scenario or --set that no longer
 * checks). Caller owns *in; release with replay_inputs_close().
 */
int replay_inputs_open(struct replay_inputs *in, const char *path, const char *const *sets,
                       size_t nsets, FILE *err);
void replay_inputs_close(struct replay_inputs *in);

/* Returns the exit code: 0 identical, 1 expectations failed but identical, 2 bad trace or
 * input, 3 diverged. Messages go to out (report) and err (problems). */
int replay_trace(const char *path, const char *const *sets, size_t nsets, FILE *out, FILE *err);
/* The same; when the replay diverged (3), *seq receives the seq of the first differing event. */
int replay_trace_at(const char *path, const char *const *sets, size_t nsets, FILE *out,
                    FILE *err, uint64_t *seq);

#endif
