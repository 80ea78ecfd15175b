/*
 * runner.h - runs a scenario: checks it against the model's vocabulary, builds the VM, runs
 * the guest under the scheduler, performs the steps at their triggers, checks the
 * expectations, and hands every event to a sink (the trace writer, or replay's comparator).
 */
#ifndef HV_RUNNER_H
#define HV_RUNNER_H

#include "runner/scenario.h"
#include "sim/hv.h"

/* Exit codes of the user contract (DESIGN.md). */
enum { HV_EXIT_OK = 0, HV_EXIT_FAILED = 1, HV_EXIT_BADINPUT = 2, HV_EXIT_DIVERGED = 3 };

/*
 * Checks everything the parser cannot: the model exists, config keys are its knobs, its
 * memory / vmm sections, every step action and every expect key. Errors are located in d.
 */
int runner_check(const struct scenario *sc, struct hv_diag *d);

/*
 * Checks that sc's `guest` can be built: a readable regular .c, .S, .s or .elf file. An error
 * is located at the `guest` key. (Not part of runner_check: a replay takes the guest image
 * from the trace, whatever became of the file.)
 */
int runner_check_guest(const struct scenario *sc, struct hv_diag *d);

struct runner_result {
    enum hv_outcome outcome;
    bool expect_ok;          /* every step and end expectation held */
    uint64_t instructions;
    uint64_t events;
    int err;                 /* a simulator error (hv_err), 0 if none */
    char summary[1024];      /* one paragraph for the user */
};

/* Optional callbacks around a run. */
struct runner_hooks {
    /* Called with the VM after the run stops (ended, or aborted by the sink), before the VM
     * is destroyed: replay reads the registers and code of a divergence here. */
    void (*inspect)(struct hv_vm *vm, void *ctx);
    void *ctx;
    /* Called as each step or expectation fails, with one line that gives the expected value
     * beside the actual one ("expect outcome: expected \"done\", got \"failed\""). May be
     * NULL. */
    void (*failed)(const char *line, void *ctx);
    /* Called with each VM the run creates, before it runs or emits anything: the first, and
     * a migration's destination once it has taken the vCPUs over (its source is then
     * destroyed). May be NULL. */
    void (*vm_created)(struct hv_vm *vm, void *ctx);
    /* The run's schedule (hv.h): records every decision and, when loaded, makes them; NULL:
     * the seed decides and nothing is recorded. */
    struct hv_schedule *schedule;
};

/*
 * Runs sc (already checked) with the guest image, sending every event to sink. Returns 0 when
 * the run could be carried out (whatever its outcome; see res), or a negative hv_err; a sink
 * error (e.g. HV_EDIVERGED) aborts the run and is returned.
 */
int runner_execute(const struct scenario *sc, const void *elf, size_t elf_len,
                   hv_event_sink_fn sink, void *sink_ctx, const struct runner_hooks *hooks,
                   struct runner_result *res);

/*
 * One line for the user about how vm's run ended: the outcome (or the failed assertion), then
 * every vCPU that did not reach GUEST_DONE with its state, pc and reason, failed ones first
 * ("outcome failed: vCPU 0 failed at pc 0xc0000000 (KVM_EXIT_INTERNAL_ERROR)").
 */
void runner_summary(struct hv_vm *vm, char *buf, size_t size);

/* Every event kind's name, in events.def order, NULL-terminated in names. Returns names. */
const char *const *runner_kind_names(const char *names[HV_EV__COUNT + 1]);

/* The runner's own knobs (run.*: budgets every model takes), terminated by {NULL}. Static. */
const struct hv_knob *runner_knob_list(void);

/* The exit code for a finished run. */
int runner_exit_code(const struct runner_result *res);

/*
 * The effective config of sc (its `config` with --set applied) as the VM takes it, each entry
 * located. Caller owns the array (free()); its strings and nodes are sc's. NULL: no memory.
 */
struct hv_kv *runner_config(const struct scenario *sc);

/* Effective config of sc as a JSON object text (for run_info). Caller frees. */
char *runner_config_json(const struct scenario *sc);

/* ---- shared with the real-kernel backend (kvmhost/), which runs the same scenarios ---- */

/* A `{u64|u32|u16|u8: V}` or `{bytes: "hex"}` map (mem_write, expect.memory) as bytes. */
struct runner_bytes {
    uint8_t bytes[256];
    size_t len;           /* little-endian for the integer forms */
};
int runner_mem_value(const struct hv_node *map, struct runner_bytes *out, struct hv_diag *d);
/* Whether have satisfies an `events` count (N, "> N", ">= N", "< N" or "<= N"). */
bool runner_count_ok(const struct hv_node *n, uint64_t have);
/* The JSON of a step's trigger as it fired, v its number: the `at` of its step event. */
void runner_step_at(const struct sc_step *st, uint64_t v, char *at, size_t size);

#endif
