/*
 * dstate.h - what `hvsim state` prints about a stopped re-execution (debug/cursor.c calls
 * these in the executor, at the stop point): a vCPU's registers and run state, code around a
 * pc, and the model's own state through one function per model (dstate_kvm.c, dstate_xen.c,
 * dstate_none.c). Each writes text, or one JSON value with json, to f.
 */
#ifndef HV_DEBUG_DSTATE_H
#define HV_DEBUG_DSTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/hv.h"

/* v's general and system registers (x86: CR0/3/4, EFER, CS/SS; aarch64: SCTLR, TTBR0/1,
 * VBAR, ESR, FAR; arm: SCTLR, TTBR0/1, VBAR, DFSR/DFAR, IFSR/IFAR), its run state, pc and
 * exact count (given by the cursor: inside a block the engine's own are not exact). */
int dstate_regs(FILE *f, struct hv_vcpu *v, uint64_t pc, uint64_t icount, bool json);
/* n instructions from pc, read through v's translation, pc marked. */
int dstate_disasm(FILE *f, struct hv_vcpu *v, uint64_t pc, size_t n);
/* The model's state (the VM's model by name). */
int dstate_model(FILE *f, struct hv_vm *vm, bool json);
/* Whether the model's dirty log holds the page of gpa now: 1 yes, 0 no, -1 no log covers it. */
int dstate_logged(struct hv_vm *vm, uint64_t gpa);

/* One function per model. */
int dstate_kvm(FILE *f, struct hv_vm *vm, bool json);
int dstate_xen(FILE *f, struct hv_vm *vm, bool json);
int dstate_none(FILE *f, struct hv_vm *vm, bool json);
int dstate_kvm_logged(struct hv_vm *vm, uint64_t gpa);
int dstate_xen_logged(struct hv_vm *vm, uint64_t gpa);

#endif
