/*
 * expectchk.h - a scenario's `expect` checked against a finished run, whichever backend ran
 * it (the model in runner/runner.c, /dev/kvm in kvmhost/kvmrun.c).
 *
 * The backend describes what its run left (struct expect_view); runner_check_expect() walks
 * the expectations in the order docs/scenario-format.md gives (outcome, each vCPU's end
 * state, then the scenario's keys in file order) and hands each comparison to view->emit as
 * JSON texts, the `expect` event's fields.
 */
#ifndef HVSIM_RUNNER_EXPECTCHK_H
#define HVSIM_RUNNER_EXPECTCHK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/node.h"

struct expect_view {
    void *ctx;                         /* passed to every callback */
    const char *outcome;               /* hv_outcome_name() of the run's outcome */
    unsigned nr_vcpus;
    /* vCPU id's end state; *why its reason, or NULL for none */
    const char *(*vcpu_state)(void *ctx, unsigned id, const char **why);
    bool asserted;                     /* the run ended by a guest assertion */
    const char *assert_file;           /* the last assertion's file (NULL: none) and line */
    uint64_t assert_line;
    /* how many events of kind the run recorded; false when the backend does not record
     * that kind (its `events` count is then not checked) */
    bool (*count)(void *ctx, int kind, uint64_t *n);
    const char *output;                /* the guests' GUEST_PRINTF text */
    /* 0 when len bytes at gpa were read into buf, else an error (unbacked) */
    int (*read_gpa)(void *ctx, uint64_t gpa, void *buf, size_t len);
    /* 0 when register name of vCPU id was read into *val */
    int (*reg)(void *ctx, unsigned id, const char *name, uint64_t *val);
    /* a key of the model's own (NULL: such keys are not checked): 0 with *ok and actual
     * (JSON) filled, else an error */
    int (*model_key)(void *ctx, const char *key, const struct hv_node *v, char *actual,
                     size_t size, bool *ok);
    /* records one comparison (the `expect` event); returns the sink's error */
    int (*emit)(void *ctx, const char *what, const char *expected, const char *actual,
                bool ok);
};

/* Checks expect (a scenario's `expect` map, NULL for none) against view. 0, or the first
 * error of a callback (HV_ENOMEM when a text could not be built). */
int runner_check_expect(const struct hv_node *expect, const struct expect_view *view);

#endif
