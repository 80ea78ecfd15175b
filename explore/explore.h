/*
 * explore.h - `hvsim explore`: runs one scenario many times over seeds and varied knobs in
 * worker processes, and keeps the results (docs/exploration.md).
 *
 *   hvsim explore SCENARIO.yaml [--seeds A..B | --runs N] [--seed S] [--vary KEY=V1,V2]...
 *                 [--set KEY=VALUE]... [-j JOBS] [--shard K/N] [--out DIR]
 *                 [--keep failures|all|none] [--until-failure] [--time-budget SECONDS]
 *                 [--metric NAME=SQL]... [--plot X:METRIC -o FILE.svg]... [--shrink]
 *                 [--quiet]
 *   hvsim explore --report DIR [--plot X:METRIC -o FILE.svg]...
 *   hvsim explore --merge DIR... --out DIR
 *
 * The run list is the cross product of the varied values (outer, in --vary order) and the
 * seeds (inner); run i of that list is the same run on every machine, so --shard K/N takes
 * the runs whose index is K-1 modulo N and shards merge into the unsharded result. Each run
 * happens in its own forked process (a crash is a result, not the end of the exploration),
 * at most JOBS at a time; the simulation inside stays single-threaded and deterministic. Wall
 * time decides only how many runs start (--time-budget) and is recorded, never what a run
 * does.
 */
#ifndef HV_EXPLORE_H
#define HV_EXPLORE_H

#include <stddef.h>

/* The command; argv holds the arguments after "explore". Returns the exit code: 0 every run
 * passed, 1 some failed, 2 bad input, 128 + N when stopped by signal N. */
int explore_main(int argc, char **argv);

/*
 * A failed run's signature, what stays the same for one bug across schedules: "guest
 * assertion FILE:LINE" when the guest asserted (assert_at "FILE:LINE", or NULL/"" if it did
 * not), else the first failed line without its values ("expect KEY: expected ..." -> "expect
 * KEY"; "step N (ACTION at AT): ..." -> "step N (ACTION)"), else "expectations failed".
 * explore and shrink name failures with it.
 */
void explore_signature(const char *assert_at, const char *first_failed, char *out, size_t size);

#endif
