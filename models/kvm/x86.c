/*
 * x86.c - x86 KVM hypercalls (docs/sources.md B.1): vmcall/vmmcall with the number in RAX and
 * arguments in RBX, RCX, RDX, RSI (their low halves outside 64-bit mode), the in-kernel
 * results, KVM_EXIT_HYPERCALL for MAP_GPA_RANGE, and the wrong-vendor instruction patch.
 */
#include "models/kvm/kvm_int.h"

/* x86 KVM hypercall numbers and the errors the guest sees (B.1, kvm_para.h). */
enum {
    KVM_HC_VAPIC_POLL_IRQ = 1, KVM_HC_KICK_CPU = 5, KVM_HC_SEND_IPI = 10,
    KVM_HC_SCHED_YIELD = 11, KVM_HC_MAP_GPA_RANGE = 12,
    KVM_ENOSYS = 1000, KVM_EINVAL = 22, KVM_EPERM = 1,
};

/* is_64_bit_hypercall(): only mode 8 (64-bit mode) keeps the full registers. */
uint64_t kvmm_x86_hc_flags(unsigned mode)
{
    return mode == 8 ? KVMM_EXIT_HYPERCALL_LONG_MODE : 0;
}

void kvmm_x86_hc_args(unsigned mode, const uint64_t regs[5], uint64_t out[5])
{
    for (unsigned i = 0; i < 5; i++)
        out[i] = mode == 8 ? regs[i] : (uint32_t)regs[i];
}

uint64_t kvmm_x86_hc_rax(unsigned mode, int64_t ret)
{
    return mode == 8 ? (uint64_t)ret : (uint32_t)ret;
}

/*
 * x86 hypercalls (B.1, kvm_emulate_hypercall in arch/x86/kvm/x86.c): the wrong vendor's
 * instruction is patched (quirk on) or #UD; outside 64-bit mode (is_64_bit_hypercall() false:
 * real, virtual-8086, protected or compatibility mode) nr and a0..a3 are their low 32 bits and
 * RAX gets (u32)ret; CPL != 0 (SS.DPL, kvm_x86_ops.get_cpl) is -KVM_EPERM; MAP_GPA_RANGE exits
 * to the VMM when enabled with KVM_CAP_EXIT_HYPERCALL and valid (flags LONG_MODE only from
 * 64-bit mode; RIP stays at the instruction until the VMM's next KVM_RUN completes it);
 * VAPIC_POLL_IRQ is 0; everything else, including calls whose CPUID feature this model does
 * not expose (KICK_CPU, SEND_IPI, SCHED_YIELD), is -KVM_ENOSYS.
 */
enum hv_exit_action kvmm_x86_hypercall(struct hv_vcpu *v, struct hv_exit_hypercall *e)
{
    struct hv_vm *vm = hv_vcpu_vm(v);
    struct kvmm_vm *k = hv_vm_model_data(vm);
    enum hv_hc_insn native = k->amd ? HV_HC_VMMCALL : HV_HC_VMCALL;
    uint64_t rip = e->pc - e->x86.cs_base;
    if (e->insn != native) {
        if (!k->fix_insn) {
            hv_vcpu_inject(v, 6, 0); /* #UD at the instruction */
            return HV_ACT_RETRY;
        }
        /* emulator_fix_hypercall(): patch_hypercall() bytes written by
         * emulator_write_emulated() at kvm_rip_read(), used as a linear address: RIP, without
         * CS.base (the same place as CS.base + RIP only when CS.base is 0) */
        static const uint8_t vmcall[3] = { 0x0f, 0x01, 0xc1 }, vmmcall[3] = { 0x0f, 0x01, 0xd9 };
        /* the emulator's write is kvm_vcpu_write_guest(): the vCPU's slot cache, and the page
         * marked dirty (A.7) unless the bug knob drops it */
        uint64_t gpa;
        if (hv_vcpu_gva_to_gpa(v, rip, &gpa, NULL) == 0) {
            int werr;
            size_t left;
            /* a trace failure ends the run by itself (as for every emitted event) */
            (void)kvmm_vcpu_write_guest(k, v, "patch_hypercall", gpa, k->amd ? vmmcall : vmcall,
                                        3, &werr, &left);
            if (left < 3)
                hv_vm_code_written(vm, gpa, 3);
        }
        return HV_ACT_RETRY;
    }
    uint64_t regs[5] = { hv_vcpu_gpr(v, 0), hv_vcpu_gpr(v, 3), hv_vcpu_gpr(v, 1),
                         hv_vcpu_gpr(v, 2), hv_vcpu_gpr(v, 6) }; /* rax rbx rcx rdx rsi */
    uint64_t a[5];
    kvmm_x86_hc_args(e->x86.mode, regs, a);
    uint64_t nr = a[0], flags = 0;
    int64_t ret;
    bool exited = false;
    const char *rule;
    if (e->x86.cpl != 0) {
        ret = -KVM_EPERM;
        rule = "CPL != 0";
    } else if (nr < 64 && (KVMM_X86_HC_IN_KERNEL & (1ULL << nr))) { /* VAPIC_POLL_IRQ */
        ret = 0;
        rule = "VAPIC_POLL_IRQ";
    } else if (nr == KVM_HC_MAP_GPA_RANGE && (k->exit_hypercall & (1ULL << nr))) {
        if ((a[1] & 0xfff) || a[2] == 0 || (a[1] >> 12) + a[2] < (a[1] >> 12)) {
            ret = -KVM_EINVAL;
            rule = "MAP_GPA_RANGE: unaligned gpa, no pages, or gfn + npages wraps";
        } else {
            /* KVM_EXIT_HYPERCALL: the VMM's ret goes to RAX when the exit completes */
            ret = 0;
            for (size_t i = 0; i < k->nhc; i++)
                if (k->hc_answers[i].nr == nr) {
                    ret = (int64_t)k->hc_answers[i].ret;
                    break;
                }
            exited = true;
            flags = kvmm_x86_hc_flags(e->x86.mode);
            rule = "KVM_EXIT_HYPERCALL";
        }
    } else {
        ret = -KVM_ENOSYS;
        rule = nr == KVM_HC_MAP_GPA_RANGE ? "MAP_GPA_RANGE not enabled for exit"
               : (nr == KVM_HC_KICK_CPU || nr == KVM_HC_SEND_IPI || nr == KVM_HC_SCHED_YIELD)
                   ? "CPUID feature not exposed"
                   : "unknown number";
    }
    uint64_t rax = kvmm_x86_hc_rax(e->x86.mode, ret);
    hv_vcpu_set_gpr(v, 0, rax);
    struct hv_ev_kvm_hypercall ev = { .nr = nr, .a0 = a[1], .a1 = a[2], .a2 = a[3], .a3 = a[4],
                                      .ret = (int64_t)rax, .exit = exited, .flags = flags,
                                      .rip = rip, .mode = e->x86.mode, .rule = rule };
    hv_vcpu_emit(v, HV_EV_kvm_hypercall, &ev);
    return HV_ACT_HANDLED;
}
