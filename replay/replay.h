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

struct hv_schedule;

/* What re-executing a recorded run needs, read from its trace. */
struct replay_inputs {
    struct trace_reader *r;   /* the trace, open */
    struct scenario *sc;      /* its scenario with the recorded seed and --set list (and any
                               * new --set on top), checked with runner_check() */
    void *elf;                /* the guest image */
    size_t elf_len;
    bool complete;            /* the recording finished (trace_reader_complete) */
    struct hv_schedule *sched; /* the recorded schedule when the run's was loaded (run_info
                                * schedule: loaded), else NULL: the seed decides again */
};

/*
 * Records what re-executing a run needs, as `hvsim run` does: run_info scenario_name,
 * scenario_path (path), scenario_text, seed, sets (the "KEY=VALUE\n" list of --set), config,
 * model, arch, the hvsim, Unicorn and Capstone versions, and backend (when not NULL), and the
 * blob guest.elf. 0 or the writer's hv_err.
 */
int replay_inputs_write(struct trace_writer *w, const struct scenario *sc, const char *path,
                        const char *sets, const void *elf, size_t elf_len, const char *backend);

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

struct trace_reader;
struct trace_writer;

/*
 * Loads the schedule the trace at path recorded (its `schedule` blob) into s, so that a run
 * given s makes the same decisions. 0, or HV_EINVAL / HV_EIO with hv_error_detail() naming
 * the trace and the problem (no such trace, no recorded schedule, malformed).
 */
int replay_schedule_from(const char *path, struct hv_schedule *s);
/* The same from an open trace. */
int replay_schedule_read(struct trace_reader *r, const char *path, struct hv_schedule *s);
/*
 * Stores what s recorded in w: the `schedule` blob and run_info `schedule` (`loaded` when s
 * made the decisions, `seed` when the seed did), the inputs replay feeds back.
 */
int replay_schedule_write(struct trace_writer *w, const struct hv_schedule *s);

#endif
