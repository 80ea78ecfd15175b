/*
 * crosscheck.h - one KVM scenario run under the model and on the real kernel, and what both
 * can see compared, one row per comparison (`hvsim crosscheck`, docs/real-kvm.md).
 *
 * What is compared (each a row, in the model run's order, then what only the kernel showed):
 *   - each step's result, restricted to what the ioctl returns (crosscheck_step_keys());
 *   - each vCPU's ucalls, in order (sync number, printf text, assertion, done);
 *   - each vCPU's exits to the VMM, in order (kvm_exit with its data, KVM_EXIT_HYPERCALL,
 *     the dirty-ring reap, port I/O);
 *   - each vCPU's end state and why, and the run's outcome;
 *   - what the scenario's `expect` reads from memory and registers, its output and assertion.
 * Not compared: instruction counts, schedules and slices, pcs (RIP at a KVM exit depends on
 * the kernel's path), memslot generations and the rules and change kinds the model names,
 * the model's own lookups and in-kernel hypercalls.
 *
 * A row is `same` when both values are equal; `explained` when they differ but the model run
 * with the kernel's facts (facts.h) applied gives the kernel's value, the facts that do so
 * named; else `different`.
 */
#ifndef XC_CROSSCHECK_H
#define XC_CROSSCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "crosscheck/facts.h"
#include "runner/scenario.h"

enum crosscheck_status { CROSSCHECK_SAME, CROSSCHECK_EXPLAINED, CROSSCHECK_DIFFERENT };

struct crosscheck_row {
    char *what;                  /* "step 3 (set_memory_region)", "vcpu 0 exit 1", ... */
    char *model;                 /* JSON text, NULL when the model run has no such row */
    char *kernel;                /* JSON text, NULL when the kernel run has none */
    enum crosscheck_status status;
    char facts[96];              /* explained: the facts, comma-separated */
};

/* One event as a run's sink handed it over (a copy). */
struct crosscheck_event {
    int32_t vcpu;
    enum hv_ev_kind kind;
    char *detail;
};

/* The events of one run, in order. */
struct crosscheck_events {
    struct crosscheck_event *ev;
    size_t n, cap;
    bool oom;
};
/* An hv_event_sink_fn that appends to the struct crosscheck_events in ctx. */
int crosscheck_collect(void *ctx, const struct hv_event *ev);
void crosscheck_events_fini(struct crosscheck_events *e);

struct crosscheck_report {
    char kernel[65];             /* uname -r */
    bool apply_facts;            /* --kernel auto */
    struct facts facts;          /* the kernel's, as derived */
    bool applied[FACTS__COUNT];  /* a fact whose value differs from the scenario's knob */
    char scenario_value[FACTS__COUNT][24];
    bool runnable;
    char why_not[320];           /* not runnable: why */
    struct crosscheck_row *rows;
    size_t nrows;
    size_t same, explained, different;
};

/*
 * Runs sc (already checked by runner_check()) with the guest image under the model and on
 * /dev/kvm and fills r (release with crosscheck_report_fini()). k is what the kernel
 * reported; apply_facts applies its facts (--kernel auto) or not (--kernel reference).
 * Returns 0, or a negative hv_err (no memory, a run's simulator error, /dev/kvm unusable).
 */
int crosscheck_run(const struct scenario *sc, const void *elf, size_t elf_len,
                   const struct kvmh_kernel *k, bool apply_facts, struct crosscheck_report *r);
void crosscheck_report_fini(struct crosscheck_report *r);
/* 0 when every row is same or explained, 1 when one differs or the run is not runnable. */
int crosscheck_exit_code(const struct crosscheck_report *r);

/*
 * The rows of two event streams (model m, kernel k) and the model's with facts applied:
 * with[i] for fact i (NULL if not applied) and all (NULL if none applied). Appended to r.
 */
int crosscheck_compare(const struct crosscheck_events *m, const struct crosscheck_events *k,
                       const struct crosscheck_events *all,
                       const struct crosscheck_events *const with[FACTS__COUNT],
                       unsigned nr_vcpus, struct crosscheck_report *r);

/*
 * The keys of a step's JSON result that the ioctl itself returns, NULL-terminated ({"errno"}
 * for set_memory_region, {"errno", "bitmap"} for get_dirty_log, ...); NULL for an action the
 * kernel has no equivalent of.
 */
const char *const *crosscheck_step_keys(const char *action);
/* A step's JSON result restricted to those keys, in their order; the whole result when it has
 * none of them. Caller frees; NULL: no memory. */
char *crosscheck_step_result(const char *action, const char *result);

#endif
