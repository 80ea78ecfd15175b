/*
 * x86.c - x86 KVM hypercalls (semantics.md B.1): vmcall/vmmcall with the number in RAX and
 * arguments in RBX, RCX, RDX, RSI, the in-kernel results, KVM_EXIT_HYPERCALL for
 * MAP_GPA_RANGE, and the wrong-vendor instruction patch.
 */
#include "models/kvm/kvm_int.h"

/* x86 KVM hypercall numbers and the errors the guest sees (B.1, kvm_para.h). */
enum {
    KVM_HC_VAPIC_POLL_IRQ = 1, KVM_HC_KICK_CPU = 5, KVM_HC_SEND_IPI = 10,
    KVM_HC_SCHED_YIELD = 11, KVM_HC_MAP_GPA_RANGE = 12,
    KVM_ENOSYS = 1000, KVM_EINVAL = 22, KVM_EPERM = 1,
};

/*
 * x86 hypercalls (B.1): the wrong vendor's instruction is patched (quirk on) or #UD; CPL != 0
 * is -KVM_EPERM; MAP_GPA_RANGE exits to the VMM when enabled with KVM_CAP_EXIT_HYPERCALL and
 * valid; VAPIC_POLL_IRQ is 0; everything else, including calls whose CPUID feature this model
 * does not expose (KICK_CPU, SEND_IPI, SCHED_YIELD), is -KVM_ENOSYS. The guest is always in
 * 64-bit mode here, so no truncation to 32 bits applies.
 */
enum hv_exit_action kvmm_x86_hypercall(struct hv_vcpu *v, struct hv_exit_hypercall *e)
{
    struct hv_vm *vm = hv_vcpu_vm(v);
    struct kvmm_vm *k = hv_vm_model_data(vm);
    enum hv_hc_insn native = k->amd ? HV_HC_VMMCALL : HV_HC_VMCALL;
    if (e->insn != native) {
        if (!k->fix_insn) {
            hv_vcpu_inject(v, 6, 0); /* #UD at the instruction */
            return HV_ACT_RETRY;
        }
        /* patch_hypercall(): overwrite the 3 bytes at RIP and run them again */
        static const uint8_t vmcall[3] = { 0x0f, 0x01, 0xc1 }, vmmcall[3] = { 0x0f, 0x01, 0xd9 };
        /* the emulator's write is kvm_vcpu_write_guest(): the vCPU's slot cache, and the page
         * marked dirty (A.7) unless the bug knob drops it */
        uint64_t gpa;
        if (hv_vcpu_gva_to_gpa(v, e->pc, &gpa, NULL) == 0) {
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
    uint64_t nr = hv_vcpu_gpr(v, 0);
    uint64_t a0 = hv_vcpu_gpr(v, 3), a1 = hv_vcpu_gpr(v, 1), a2 = hv_vcpu_gpr(v, 2),
             a3 = hv_vcpu_gpr(v, 6);
    uint64_t cs = 0;
    hv_vcpu_reg_by_name(v, "cs", &cs);
    int64_t ret;
    bool exited = false;
    const char *rule;
    if ((cs & 3) != 0) {
        ret = -KVM_EPERM;
        rule = "CPL != 0";
    } else if (nr < 64 && (KVMM_X86_HC_IN_KERNEL & (1ULL << nr))) { /* VAPIC_POLL_IRQ */
        ret = 0;
        rule = "VAPIC_POLL_IRQ";
    } else if (nr == KVM_HC_MAP_GPA_RANGE && (k->exit_hypercall & (1ULL << nr))) {
        if ((a0 & 0xfff) || a1 == 0 || (a0 >> 12) + a1 < (a0 >> 12)) {
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
            rule = "KVM_EXIT_HYPERCALL";
        }
    } else {
        ret = -KVM_ENOSYS;
        rule = nr == KVM_HC_MAP_GPA_RANGE ? "MAP_GPA_RANGE not enabled for exit"
               : (nr == KVM_HC_KICK_CPU || nr == KVM_HC_SEND_IPI || nr == KVM_HC_SCHED_YIELD)
                   ? "CPUID feature not exposed"
                   : "unknown number";
    }
    hv_vcpu_set_gpr(v, 0, (uint64_t)ret);
    struct hv_ev_kvm_hypercall ev = { .nr = nr, .a0 = a0, .a1 = a1, .a2 = a2, .a3 = a3,
                                      .ret = ret, .exit = exited, .rule = rule };
    hv_vcpu_emit(v, HV_EV_kvm_hypercall, &ev);
    return HV_ACT_HANDLED;
}

