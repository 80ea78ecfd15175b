/*
 * replay.h - re-executes a run from its trace alone and compares every event.
 *
 * The trace holds the scenario text, the guest image, the seed and the --set overrides of the
 * recorded run; replay feeds them to the runner again (with any new --set on top) and checks
 * each new event against the recorded one, in order. The first difference stops the run and
 * is reported with both events, the disassembly at the pc and the vCPU's registers.
 */
#ifndef HV_REPLAY_H
#define HV_REPLAY_H

#include <stdio.h>

/* Returns the exit code: 0 identical, 1 expectations failed but identical, 2 bad trace or
 * input, 3 diverged. Messages go to out (report) and err (problems). */
int replay_trace(const char *path, const char *const *sets, size_t nsets, FILE *out, FILE *err);

struct hv_schedule;
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
