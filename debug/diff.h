/*
 * diff.h - `hvsim diff A.db B.db [--json]`: two traces of one scenario (with another knob,
 * seed or hvsim version) compared event by event, through the trace reader alone.
 *
 * The output names the recorded inputs that differ (seed, --set list, config, versions, guest
 * image), reports the first differing event as replay reports a divergence
 * (debug/divergence.h), then sums up by kind and vCPU: how many events of each in A and in B,
 * and the first seq where the kind's events of that vCPU part (the i-th such event of A and
 * of B differ, or one trace has an i-th and the other not).
 */
#ifndef HV_DIFF_H
#define HV_DIFF_H

#include <stdbool.h>
#include <stdio.h>

/* Returns the exit code: 0 identical event streams, 1 they differ, 2 bad input (a file that
 * is not a readable trace, or traces of different scenarios: err says what differs). The
 * report goes to out (one JSON object with json), problems to err. */
int diff_traces(const char *a, const char *b, bool json, FILE *out, FILE *err);

#endif
