/*
 * migrate.h - the `migrate` step: a pre-copy live migration of the running VM to a
 * destination VM (docs/migration.md), driven as a VMM would drive it: dirty tracking on,
 * round 0 sends every page, then rounds of (the guest runs, a sync, the dirty pages sent)
 * until a sync finds fewer dirty pages than the threshold or the rounds run out; then the
 * vCPUs stop, the last dirty pages go, the vCPU and model state move, every page is compared,
 * and the guest continues on the destination.
 */
#ifndef HV_RUNNER_MIGRATE_H
#define HV_RUNNER_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/hv.h"
#include "sim/model.h"
#include "sim/node.h"

struct mig_params {
    uint64_t round_insns;       /* guest instructions per round (>= 1) */
    uint64_t max_rounds;        /* live rounds at most; 0: stop and copy right after round 0 */
    uint64_t threshold;         /* stop and copy when a sync finds fewer dirty pages */
    uint64_t page_cost;         /* downtime per page sent while stopped, in instructions */
    const struct hv_kv *config; /* the destination's config: borrowed for its life */
    size_t nconfig;
    /* the source paused for another step's trigger during a round: run those steps */
    int (*on_pause)(void *ctx);
    void *pause_ctx;
};

struct mig_result {
    uint64_t rounds, sent, final_pages, downtime, pages, mismatches;
    bool complete;
};

/*
 * Migrates *vm. On success *vm is the destination (the source is destroyed) and 0 is
 * returned; a model that cannot migrate gives HV_ENOTSUP with *vm unchanged. Other errors are
 * simulator errors (the run ends).
 */
int mig_run(struct hv_vm **vm, const struct mig_params *p, struct mig_result *res);

/*
 * The step (docs/scenario-format.md): args {round_insns, max_rounds, threshold, page_cost,
 * dest_config: {knob: value}}, all optional; expect {complete, mismatches, rounds, sent,
 * final_pages, downtime}, each optional. mig_check_step validates them for model m.
 */
int mig_check_step(const struct hv_model_ops *m, const struct hv_node *args,
                   const struct hv_node *expect, const struct hv_node *where, struct hv_diag *d);
/*
 * Runs the step on *vm (replaced by the destination). base is the run's effective config;
 * *kv_out receives the destination's (base with dest_config applied), which must outlive the
 * VM: the caller frees it. result gets the JSON result, *ok whether expect held.
 */
int mig_step(struct hv_vm **vm, const struct hv_kv *base, size_t nbase, const struct hv_node *args,
             const struct hv_node *expect, int (*on_pause)(void *ctx), void *pause_ctx,
             struct hv_kv **kv_out, char *result, size_t size, bool *ok);

#endif
