/*
 * kvmrun.h - a KVM scenario run on the real kernel (`hvsim run --backend kvm`): the same
 * guest ELF, memory layout, VMM answers, steps and expectations as under the KVM model, with
 * every ioctl made on /dev/kvm (kvmhost.h), and the same event kinds where they exist.
 *
 * What differs from a model run, by construction (docs/real-kvm.md):
 *   - the kernel counts no guest instructions and has no schedule: every event's icount is 0,
 *     run_end's instructions 0, `limit` and `quantum` are not used, and triggers on
 *     instruction counts, event numbers or continuation legs cannot be honoured;
 *   - only what the VMM sees is recorded: exits, ucalls, step results as the ioctls return
 *     them (no rule, change or generation), vCPU states; an event's pc is RIP when KVM_RUN
 *     returned;
 *   - the vCPUs run in turn on one thread, each KVM_RUN bounded by a timer signal; a run that
 *     cannot go on on this kernel (a hypercall the kernel never completes, the wall-clock
 *     guard) is reported not runnable, with the reason.
 */
#ifndef KVMH_KVMRUN_H
#define KVMH_KVMRUN_H

#include <stdbool.h>
#include <stddef.h>

#include "runner/runner.h"

#define KVMRUN_SLICE_MS   20     /* KVM_RUN is interrupted after this long */
#define KVMRUN_TIMEOUT_MS 30000  /* the wall-clock guard of a whole run (a safety net) */

struct kvmrun_options {
    unsigned slice_ms;           /* 0: KVMRUN_SLICE_MS */
    unsigned timeout_ms;         /* 0: KVMRUN_TIMEOUT_MS */
};

/*
 * Whether sc (already checked by runner_check()) can run on the real kernel: a kvm x86_64
 * scenario whose steps and triggers all have a /dev/kvm equivalent. 0, or HV_EUNSUPP with
 * why naming the first thing that has none ("step 2 (kvm_write_guest): ...").
 */
int kvmrun_check(const struct scenario *sc, char *why, size_t size);

struct kvmrun_result {
    struct runner_result run;    /* outcome, expectations, events; instructions stay 0 */
    bool runnable;               /* false: the run could not be carried out on this kernel */
    char why_not[256];           /* then why, e.g. "hypercall not serviced" */
};

/*
 * Runs sc with the guest image on /dev/kvm, sending every event to sink. Returns 0 when the
 * run was carried out or found not runnable (see res), or a negative hv_err (a sink error, no
 * memory, /dev/kvm unusable: HV_EUNSUPP).
 */
int kvmrun_execute(const struct scenario *sc, const void *elf, size_t elf_len,
                   const struct kvmrun_options *opt, hv_event_sink_fn sink, void *sink_ctx,
                   const struct runner_hooks *hooks, struct kvmrun_result *res);

/*
 * The steps alone, for tables of ioctl cases: the VM of sc (buffers, slots, vmm, vCPUs that
 * never run) is built, then step i runs as it would at its trigger and its JSON result is
 * written to result. Caller owns *out; release with kvmrun_close().
 */
struct kvmrun;
int kvmrun_open(struct kvmrun **out, const struct scenario *sc);
int kvmrun_step(struct kvmrun *r, size_t i, char *result, size_t size, bool *ok);
void kvmrun_close(struct kvmrun *r);

#endif
