/*
 * none.c - the bare model: no hypervisor semantics beyond the ucall channel. Guest RAM is one
 * region; every exit (hypercall, port I/O, MMIO, cpuid, MSR, halt) surfaces as an event with
 * the simulator's default answer: hypercalls change no register, port reads return all ones,
 * MMIO reads return 0 and writes are dropped, cpuid and MSRs are Unicorn's own, and a halted
 * vCPU stays halted. It proves the core before the real models.
 *
 * memory: { size: BYTES, base: GPA }   (base defaults to HV_RAM_BASE_<arch>, size to 16 MiB)
 */
#include <string.h>

#include "models/models.h"
#include "scenarios/lib/hv_abi.h"
#include "sim/model.h"

#define NONE_DEFAULT_RAM (16ULL << 20)

static uint64_t default_base(enum hv_arch a)
{
    return a == HV_ARCH_X86_64 ? HV_RAM_BASE_X86_64 : HV_RAM_BASE_AARCH64;
}

static int none_check_memory(const struct hv_node *mem, const struct hv_check_ctx *c,
                             struct hv_diag *d)
{
    uint64_t base = default_base(c->arch), size = NONE_DEFAULT_RAM;
    int err = hv_model_parse_ram(mem, &base, &size, d);
    return err ? err : hv_model_memory_budget(c, mem ? hv_node_get(mem, "size") : NULL, size, d);
}

static int none_vm_init(struct hv_vm *vm, const struct hv_node *mem, const struct hv_node *vmm)
{
    (void)vmm;
    uint64_t base = default_base(hv_vm_arch(vm)), size = NONE_DEFAULT_RAM;
    struct hv_diag d;
    int err = hv_model_parse_ram(mem, &base, &size, &d);
    if (err)
        return hv_error_set(err, "%s", d.msg);
    return hv_vm_add_ram(vm, base, size);
}

const struct hv_model_ops hv_model_none = {
    .name = "none",
    .summary = "no hypervisor: the ucall channel only; every exit is an event",
    .check_memory = none_check_memory,
    .vm_init = none_vm_init,
};
