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

#include <stdio.h>

/* Returns the exit code: 0 identical, 1 expectations failed but identical, 2 bad trace or
 * input, 3 diverged. Messages go to out (report) and err (problems). */
int replay_trace(const char *path, const char *const *sets, size_t nsets, FILE *out, FILE *err);

#endif
