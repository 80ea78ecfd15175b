/*
 * results.h - an exploration's results database (DIR/results.db), its report, the merge of
 * shards and the plots of design studies.
 *
 * Schema (docs/exploration.md describes it for users):
 *   meta(key TEXT PRIMARY KEY, value)   scenario, scenario_name, vary_keys (JSON list),
 *                                       metrics (JSON object NAME: SQL), sets, planned, shard
 *   runs(run INTEGER PRIMARY KEY, seed, vary, sets, status, outcome, exit_code, signature,
 *        instructions, events, wall_ms, trace)
 *                                       one row per run; run is the index in the whole
 *                                       (unsharded) run list, status pass / fail / crash /
 *                                       error, vary a JSON object of the varied values, sets
 *                                       every --set the run had (one per line), trace the
 *                                       kept trace's path (relative to DIR) or NULL
 *   vary(run, pos, key, value)          the varied values again, one row each, for SQL
 *   metrics(run, name, value)           each --metric's value (NULL when the query gave none)
 *
 * Everything but wall_ms and the trace paths depends only on the scenario, the options and
 * the run indices, so shards merged give the same report as one unsharded exploration.
 */
#ifndef HV_EXPLORE_RESULTS_H
#define HV_EXPLORE_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct results;

/* Creates DIR/results.db (replacing one there). Caller owns *out; release with
 * results_close(). */
int results_create(struct results **out, const char *dir);
void results_close(struct results *r);
int results_meta(struct results *r, const char *key, const char *value);

struct results_run {
    uint64_t run, seed;
    const char *const *vary_keys;    /* nvary keys and their values for this run */
    const char *const *vary_values;
    size_t nvary;
    const char *sets;                /* "k=v\n..." */
    const char *status;              /* pass, fail, crash, error */
    const char *outcome;
    int exit_code;
    const char *signature;           /* NULL on pass */
    uint64_t instructions, events;
    double wall_ms;
    const char *trace;               /* NULL if not kept */
    const char *const *metric_names;
    const double *metric_values;
    const bool *metric_null;
    size_t nmetrics;
};
int results_add(struct results *r, const struct results_run *run);
/* Commits what was added (also done every few hundred runs and by results_close()). */
int results_commit(struct results *r);

/* `hvsim explore --report DIR`: the summary table on out. Exit code (0, or 2 with a message
 * on err for an unreadable DIR). */
int results_report(const char *dir, FILE *out, FILE *err);

/* `hvsim explore --merge DIR... --out DIR`. Exit code. */
int results_merge(const char *const *dirs, size_t ndirs, const char *out_dir, FILE *out,
                  FILE *err);

/* `--report DIR --plot X:METRIC -o FILE`: FILE's stem + .csv, and FILE (.svg or .png) drawn
 * by gnuplot. Exit code. */
int results_plot(const char *dir, const char *spec, const char *file, FILE *out, FILE *err);

#endif
