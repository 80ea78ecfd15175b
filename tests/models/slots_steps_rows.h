/*
 * slots_steps_rows.h - the step rows of the KVM model's memslot, dirty-log, capability and
 * dirty-ring steps (test_slots_steps.c), declared once with the VM they run on, and a VM of
 * the model to run them: the real-kernel crosscheck (tests/crosscheck/test_realkvm.c) runs
 * the same rows on /dev/kvm.
 */
#ifndef HV_TESTS_SLOTS_STEPS_ROWS_H
#define HV_TESTS_SLOTS_STEPS_ROWS_H

#include <stdbool.h>
#include <stddef.h>

#include "runner/scenario.h"
#include "sim/model.h"

struct step_row {
    const char *why;
    const char *arch;
    const char *vmm;             /* "" or a vmm: section */
    const char *step;            /* one steps: item */
    const char *result;          /* a substring the result must have; NULL: the check refuses */
};

#define RING_X86 "vmm:\n  dirty_ring: {bytes: 4096}\n"
#define RING_A64 "vmm:\n  dirty_ring: {bytes: 4096, with_bitmap: false}\n"
#define RING_A64_BM "vmm:\n  dirty_ring: {bytes: 4096}\n"

extern const struct step_row slots_step_rows[];
extern const size_t slots_nstep_rows;

/*
 * The scenario text of the rows' VM: two vCPUs, two slots (1 logs) over one 2 MiB buffer, then
 * config (a `config:` section or ""), vmm and steps (a `steps:` section). Caller frees.
 */
char *slots_steps_text(const char *arch, const char *config, const char *vmm,
                       const char *steps);

/* A VM of the KVM model built from that text, no guest running. */
struct vmx {
    struct scenario *sc;
    struct hv_vm *vm;
    const struct hv_model_ops *m;
    struct hv_kv *kv;            /* the scenario's config, as the VM takes it */
};
bool vmx_open(struct vmx *x, const char *arch, const char *config, const char *vmm,
              const char *steps);
void vmx_close(struct vmx *x);
/* Runs step i as the runner would: check, then the step. Returns the run's error (0, or a
 * located run-time error) or HV_ESCENARIO for a check refusal; result gets the JSON. */
int vmx_step(struct vmx *x, size_t i, char *result, size_t size);

#endif
