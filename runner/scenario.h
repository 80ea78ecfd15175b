/*
 * scenario.h - scenario files: YAML parsed into a located tree and checked against the
 * top-level contract of docs/scenario-format.md.
 *
 * The parser checks every top-level key, its type, the shape of each step (at / do / args /
 * expect), and resolves paths relative to the scenario file. It does not know any model's
 * vocabulary: the runner asks the model to check `memory`, `vmm`, step actions and
 * model-specific expectations, with the same located diagnostics.
 */
#ifndef HV_SCENARIO_H
#define HV_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/hv.h"
#include "sim/node.h"

enum sc_trigger {
    SC_AT_START,   /* before the first instruction */
    SC_AT_SYNC,    /* when a vCPU calls GUEST_SYNC(value) */
    SC_AT_ICOUNT,  /* when vCPU `vcpu` has retired at least `value` instructions */
    SC_AT_SEQ,     /* at the first slice boundary once `value` events are recorded; with
                    * value_hi > value, `value` is drawn from [value, value_hi] by the seed */
    SC_AT_LEG,     /* at the slice boundary after the `value`-th continuation leg (a
                    * hypercall the model preempted, HV_ACT_YIELD) of the VM */
    SC_AT_END,     /* after the run ends, before expectations */
};

struct sc_step {
    const struct hv_node *node;    /* the step's map, for diagnostics */
    enum sc_trigger at;
    uint64_t value;                /* sync number, icount, seq or leg */
    uint64_t value_hi;             /* SC_AT_SEQ drawn from a range: its top; else 0 */
    int32_t vcpu;                  /* -1: any vCPU (sync) */
    const char *action;            /* `do:` */
    const struct hv_node *action_node;
    const struct hv_node *args;    /* `args:` or NULL */
    const struct hv_node *expect;  /* `expect:` or NULL */
};

struct sc_config {
    char *key;                     /* dotted key, e.g. "kvm.max_slots" */
    char *value;                   /* scalar text */
    const struct hv_node *node;    /* the value node; for --set, set_node */
    const struct hv_node *key_node;  /* the (innermost) key as written; NULL for --set */
    struct hv_node *set_node;      /* --set only, owned: a node without a line whose file is
                                    * the option as given ("--set kvm.vendor=arm"), so errors
                                    * about the value name it */
};

struct scenario {
    char *path;                    /* as given */
    char *dir;                     /* folder of the file, for relative paths */
    char *text;                    /* exact bytes of the file, NUL-terminated */
    size_t text_len;
    struct hv_node *root;

    const char *name;
    const char *description;
    const char *model;             /* "kvm", "xen" or "none" */
    enum hv_arch arch;
    uint64_t vcpus;                /* default 1 */
    uint64_t seed;                 /* default 0 */
    uint64_t quantum;              /* default 10000 */
    uint64_t limit;                /* default 100000000 */
    const char *guest;             /* as written */
    char *guest_path;              /* resolved against dir */

    struct sc_config *config;      /* in file order; --set entries are appended */
    size_t nconfig;

    const struct hv_node *memory;  /* NULL if absent */
    const struct hv_node *vmm;
    const struct hv_node *expect;

    struct sc_step *steps;
    size_t nsteps;

    /* `explore:` (docs/scenario-format.md) */
    const struct hv_node *explore_keep;   /* `keep`: the invariants; NULL: every expectation */
    uint64_t explore_runs;         /* `runs`: explore's default budget; 0 if not given */
    bool explore_mode;             /* --set explore=1: only kept expectations fail the run */
};

/* Reads and parses a file. Caller owns *out; release with scenario_destroy(). */
int scenario_load(struct scenario **out, const char *path, struct hv_diag *d);
/*
 * Parses text already in memory (replay uses the copy stored in the trace); `path` is used
 * for messages and relative paths.
 */
int scenario_parse(struct scenario **out, const char *path, const char *text, size_t len,
                   struct hv_diag *d);
void scenario_destroy(struct scenario *s);

/*
 * Applies a --set KEY=VALUE override: replaces a config entry with the same key or appends
 * one; either way the entry is located at the option (sc_config.set_node). HV_EINVAL if kv
 * has no '=' or an empty key. Keys that are not knobs change the scenario itself: `quantum`,
 * `limit`, `explore` (0 or 1: explore_mode), `steps.N.at.KIND` (step N's trigger number, KIND
 * the kind it has: sync, icount, seq or leg; a seq range becomes that one number) and
 * `steps.N.args.KEY` (an argument step N has); a bad one is HV_EINVAL with a detail.
 */
int scenario_set(struct scenario *s, const char *kv);
/*
 * Whether a failed expectation named `what` ("outcome", "vcpus.1", "events.sched",
 * "memory[0x1000]", "steps.2", a model's key) fails the run: always, unless explore_mode is on
 * and the scenario's explore.keep names neither it nor a prefix of it ending before a '.' or
 * a '['.
 */
bool scenario_keeps(const struct scenario *s, const char *what);
/* Value of a config key, or NULL. Borrowed. */
const char *scenario_config(const struct scenario *s, const char *key);

#endif
