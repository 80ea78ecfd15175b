/*
 * arm.c - HVC and SMC on arm64 and AArch32 guests (semantics.md B.2-B.4): KVM's in-kernel
 * PSCI and SMCCC architecture calls, the SMCCC filter, and forwarding to the VMM as
 * KVM_EXIT_HYPERCALL.
 */
#include <string.h>

#include "models/kvm/kvm_int.h"

/* KVM's PSCI 0.1 function IDs (arch/arm64/include/uapi/asm/kvm.h): base + 0..3. */
#define KVM_PSCI_FN_BASE 0x95c1ba5eU

/* The default-allowed IDs of kvm_smccc_default_allowed(), as ranges, in increasing order. */
static const struct kvmm_fn_range default_allowed[] = {
    { 0x80000000U, 0x80000001U },           /* SMCCC_VERSION, SMCCC_ARCH_FEATURES */
    { 0x84000000U, 0x8400001fU },           /* standard secure (PSCI), SMC32, fn <= 0x1f */
    { KVM_PSCI_FN_BASE, KVM_PSCI_FN_BASE + 3 },
    { 0xc4000000U, 0xc400001fU },           /* standard secure, SMC64 */
};

/* The filter's action for id: HANDLE (0) when no range holds it. */
static uint8_t filter_action(const struct kvmm_vm *k, uint32_t id)
{
    for (size_t i = 0; i < k->nfilter; i++)
        if (id - k->filter[i].base < k->filter[i].nr)
            return k->filter[i].action;
    return 0;
}

size_t kvmm_smccc_handled(const struct hv_vm *vm, const struct kvmm_vm *k,
                          struct kvmm_fn_range *out, size_t max)
{
    if (hv_vm_arch(vm) == HV_ARCH_X86_64)
        return 0;
    size_t n = 0;
    uint64_t prev_last = 0; /* last ID of range n - 1 */
    for (size_t r = 0; r < sizeof default_allowed / sizeof default_allowed[0]; r++) {
        /* walk the range in pieces of constant filter action */
        uint64_t id = default_allowed[r].first;
        while (id <= default_allowed[r].last) {
            uint64_t end = default_allowed[r].last;
            for (size_t i = 0; i < k->nfilter; i++) {
                uint64_t b = k->filter[i].base, e = b + k->filter[i].nr - 1;
                if (b > id && b - 1 < end)
                    end = b - 1;
                if (b <= id && e >= id && e < end)
                    end = e;
            }
            if (filter_action(k, (uint32_t)id) == 0) {
                if (n && prev_last + 1 == id) {
                    if (n <= max)
                        out[n - 1].last = (uint32_t)end;
                } else {
                    if (n < max)
                        out[n] = (struct kvmm_fn_range){ (uint32_t)id, (uint32_t)end };
                    n++;
                }
                prev_last = end;
            }
            id = end + 1;
        }
    }
    return n;
}
