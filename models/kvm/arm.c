/*
 * arm.c - HVC and SMC on arm64 and AArch32 guests (docs/sources.md B.2-B.4): KVM's in-kernel
 * PSCI and SMCCC architecture calls, the SMCCC filter, and forwarding to the VMM as
 * KVM_EXIT_HYPERCALL. Also the data aborts KVM cannot emulate for lack of a valid syndrome
 * (A.6): KVM_RUN fails with -ENOSYS, or KVM_CAP_ARM_NISV_TO_USER makes them
 * KVM_EXIT_ARM_NISV, which the VMM answers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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

/* The action of f[0..nf) for id: HANDLE (0) when no range holds it. */
static uint8_t range_action(const struct kvmm_filter_range *f, size_t nf, uint32_t id)
{
    for (size_t i = 0; i < nf; i++)
        if (id - f[i].base < f[i].nr)
            return f[i].action;
    return 0;
}

static uint8_t filter_action(const struct kvmm_vm *k, uint32_t id)
{
    return range_action(k->filter, k->nfilter, id);
}

size_t kvmm_smccc_handled(const struct hv_vm *vm, const struct kvmm_vm *k,
                          struct kvmm_fn_range *out, size_t max)
{
    if (hv_vm_arch(vm) == HV_ARCH_X86_64)
        return 0;
    return kvmm_smccc_handled_ranges(k->filter, k->nfilter, out, max);
}

size_t kvmm_smccc_handled_ranges(const struct kvmm_filter_range *f, size_t nf,
                                 struct kvmm_fn_range *out, size_t max)
{
    size_t n = 0;
    uint64_t prev_last = 0; /* last ID of range n - 1 */
    for (size_t r = 0; r < sizeof default_allowed / sizeof default_allowed[0]; r++) {
        /* walk the range in pieces of constant filter action */
        uint64_t id = default_allowed[r].first;
        while (id <= default_allowed[r].last) {
            uint64_t end = default_allowed[r].last;
            for (size_t i = 0; i < nf; i++) {
                uint64_t b = f[i].base, e = b + f[i].nr - 1;
                if (b > id && b - 1 < end)
                    end = b - 1;
                if (b <= id && e >= id && e < end)
                    end = e;
            }
            if (range_action(f, nf, (uint32_t)id) == 0) {
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

/* ---- registers: SMCCC passes arguments in x0..x17 (r0..r7); AArch32 is 32-bit ---- */

static uint64_t reg(struct hv_vcpu *v, bool a32, unsigned i)
{
    uint64_t x = hv_vcpu_gpr(v, i);
    return a32 ? (uint32_t)x : x;
}

static void set_reg(struct hv_vcpu *v, bool a32, unsigned i, uint64_t x)
{
    hv_vcpu_set_gpr(v, i, a32 ? (uint32_t)x : x);
}

/* smccc_set_retval(): x0..x3. */
static void set_ret4(struct hv_vcpu *v, bool a32, uint64_t r0, uint64_t r1, uint64_t r2,
                     uint64_t r3)
{
    set_reg(v, a32, 0, r0);
    set_reg(v, a32, 1, r1);
    set_reg(v, a32, 2, r2);
    set_reg(v, a32, 3, r3);
}

/* ---- PSCI (linux:arch/arm64/kvm/psci.c) ---- */

enum {
    PSCI_RET_SUCCESS = 0, PSCI_RET_NOT_SUPPORTED = -1, PSCI_RET_INVALID_PARAMS = -2,
    PSCI_RET_ALREADY_ON = -4, PSCI_RET_INTERNAL_FAILURE = -6,
};
#define PSCI_64BIT 0x40000000U
#define PSCI_FN(n) (0x84000000U + (n))
#define PSCI_FN64(n) (0xc4000000U + (n))
#define MPIDR_HWID_BITMASK 0xff00ffffffULL
#define KVM_PSCI_1_1 0x10001U
#define SMCCC_VERSION_1_1 0x10001U
#define SMCCC_VERSION_FN 0x80000000U
#define SMCCC_ARCH_FEATURES_FN 0x80000001U
#define SMCCC_ARCH_WORKAROUND_1 0x80008000U
#define SMCCC_ARCH_WORKAROUND_2 0x80007fffU
#define SMCCC_ARCH_WORKAROUND_3 0x80003fffU
#define SMCCC_RET_NOT_SUPPORTED ((uint64_t)-1)
#define SMCCC_RET_NOT_REQUIRED ((uint64_t)-2)
#define SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED 1U
#define KVM_SYSTEM_EVENT_SHUTDOWN 1
#define KVM_SYSTEM_EVENT_RESET 2
#define KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2 1

/* The MPIDR affinity KVM gives vCPU id (reset_mpidr(): Aff0 = id[3:0], Aff1 = id[11:4],
 * Aff2 = id[19:12]). */
static uint64_t vcpu_mpidr(unsigned id)
{
    return (id & 0xfU) | (uint64_t)((id >> 4) & 0xff) << 8 | (uint64_t)((id >> 12) & 0xff) << 16;
}

static struct hv_vcpu *mpidr_to_vcpu(struct hv_vm *vm, uint64_t mpidr)
{
    for (unsigned i = 0; i < hv_vm_nr_vcpus(vm); i++)
        if (vcpu_mpidr(i) == (mpidr & MPIDR_HWID_BITMASK))
            return hv_vm_vcpu(vm, i);
    return NULL;
}

/* What one SMCCC call came to; filled by the handlers, recorded by kvmm_arm_hypercall. */
struct call {
    struct hv_vcpu *v;
    bool a32;
    uint32_t fn;
    const char *action;
    const char *rule;
    const char *exit;
    char exit_data[256];
    enum hv_exit_action act;
};

/* kvm_prepare_system_event(): every vCPU off, KVM_EXIT_SYSTEM_EVENT; x0 preloaded with
 * INTERNAL_FAILURE in case the VMM resumes the vCPU anyway. */
static void system_event(struct call *c, unsigned type, uint64_t flags, const char *rule)
{
    snprintf(c->exit_data, sizeof c->exit_data, "{\"type\":%u,\"ndata\":1,\"data\":[%" PRIu64 "]}",
             type, flags);
    c->exit = "KVM_EXIT_SYSTEM_EVENT";
    c->rule = rule;
    set_reg(c->v, c->a32, 0, (uint64_t)(int64_t)PSCI_RET_INTERNAL_FAILURE);
    c->act = HV_ACT_END_RUN;
}

/* kvm_psci_narrow_to_32bit(): the upper halves of x1..x3 are zeroed in place. */
static void narrow(struct call *c)
{
    for (unsigned i = 1; i <= 3; i++)
        set_reg(c->v, c->a32, i, (uint32_t)reg(c->v, c->a32, i));
}

static int64_t psci_cpu_on(struct call *c)
{
    struct hv_vm *vm = hv_vcpu_vm(c->v);
    uint64_t cpu = reg(c->v, c->a32, 1);
    if (cpu & ~MPIDR_HWID_BITMASK) {
        c->rule = "CPU_ON: target affinity has bits outside MPIDR_HWID_BITMASK";
        return PSCI_RET_INVALID_PARAMS;
    }
    struct hv_vcpu *t = mpidr_to_vcpu(vm, cpu);
    if (!t) {
        c->rule = "CPU_ON: no vCPU has that MPIDR";
        return PSCI_RET_INVALID_PARAMS;
    }
    if (!hv_vcpu_stopped(t)) {
        c->rule = "CPU_ON: the target is not off";
        return PSCI_RET_ALREADY_ON;
    }
    uint64_t pc = reg(c->v, c->a32, 2), ctx = reg(c->v, c->a32, 3);
    if (c->a32)
        pc &= ~1ULL; /* a Thumb entry: the T bit is set from bit 0 (not modeled: ARM state) */
    hv_vcpu_start(t, pc, ctx);
    c->rule = "CPU_ON: target reset at entry with x0 = context id";
    return PSCI_RET_SUCCESS;
}

static int64_t psci_affinity_info(struct call *c)
{
    struct hv_vm *vm = hv_vcpu_vm(c->v);
    uint64_t aff = reg(c->v, c->a32, 1), level = reg(c->v, c->a32, 2);
    if (aff & ~MPIDR_HWID_BITMASK) {
        c->rule = "AFFINITY_INFO: affinity has bits outside MPIDR_HWID_BITMASK";
        return PSCI_RET_INVALID_PARAMS;
    }
    if (level > 3) {
        c->rule = "AFFINITY_INFO: lowest affinity level > 3";
        return PSCI_RET_INVALID_PARAMS;
    }
    uint64_t mask = MPIDR_HWID_BITMASK & ~((1ULL << (level * 8)) - 1);
    aff &= mask;
    for (unsigned i = 0; i < hv_vm_nr_vcpus(vm); i++) {
        if ((vcpu_mpidr(i) & mask) == aff && !hv_vcpu_stopped(hv_vm_vcpu(vm, i))) {
            c->rule = "AFFINITY_INFO: a matching vCPU is on";
            return 0; /* PSCI_0_2_AFFINITY_LEVEL_ON */
        }
    }
    c->rule = "AFFINITY_INFO: no matching vCPU is on";
    return 1; /* PSCI_0_2_AFFINITY_LEVEL_OFF */
}

/* PSCI_FEATURES (kvm_psci_1_x_call). */
static int64_t psci_features(struct call *c)
{
    uint32_t f = (uint32_t)reg(c->v, c->a32, 1);
    if ((f & PSCI_64BIT) && c->a32) {
        c->rule = "PSCI_FEATURES: a 64-bit function from AArch32";
        return PSCI_RET_NOT_SUPPORTED;
    }
    switch (f) {
    case PSCI_FN(0): case PSCI_FN(1): case PSCI_FN64(1): case PSCI_FN(2): case PSCI_FN(3):
    case PSCI_FN64(3): case PSCI_FN(4): case PSCI_FN64(4): case PSCI_FN(6): case PSCI_FN(8):
    case PSCI_FN(9): case PSCI_FN(10): case SMCCC_VERSION_FN:
    case PSCI_FN(18): case PSCI_FN64(18): /* SYSTEM_RESET2: PSCI 1.1 */
        c->rule = "PSCI_FEATURES: implemented";
        return 0;
    default:
        c->rule = "PSCI_FEATURES: not offered by KVM (SYSTEM_SUSPEND only when the VMM enables it)";
        return PSCI_RET_NOT_SUPPORTED;
    }
}

/*
 * kvm_psci_call() for PSCI 1.1. Returns false for a function it does not know (the kernel's
 * -EINVAL: the handler then writes only x0 = ~0).
 */
static bool psci_call(struct call *c)
{
    int64_t val;
    uint32_t fn = c->fn;
    if ((fn & PSCI_64BIT) && c->a32) {
        c->rule = "a 64-bit PSCI function from AArch32";
        set_ret4(c->v, c->a32, (uint64_t)(int64_t)PSCI_RET_NOT_SUPPORTED, 0, 0, 0);
        return true;
    }
    switch (fn) {
    case PSCI_FN(0):
        val = KVM_PSCI_1_1;
        c->rule = "PSCI_VERSION: 1.1";
        break;
    case PSCI_FN(1): case PSCI_FN64(1):
        /* kvm_psci_vcpu_suspend(): the same as WFI */
        val = PSCI_RET_SUCCESS;
        c->rule = "CPU_SUSPEND: handled as WFI";
        c->act = HV_ACT_HALT;
        break;
    case PSCI_FN(2):
        /* kvm_arm_vcpu_power_off(): the vCPU stops; CPU_ON resets it */
        val = PSCI_RET_SUCCESS;
        c->rule = "CPU_OFF: the vCPU is powered off";
        c->act = HV_ACT_STOP_VCPU;
        break;
    case PSCI_FN(3):
        narrow(c);
        /* fallthrough */
    case PSCI_FN64(3):
        val = psci_cpu_on(c);
        break;
    case PSCI_FN(4):
        narrow(c);
        /* fallthrough */
    case PSCI_FN64(4):
        val = psci_affinity_info(c);
        break;
    case PSCI_FN(5): case PSCI_FN64(5): case PSCI_FN(7): case PSCI_FN64(7):
        val = PSCI_RET_NOT_SUPPORTED;
        c->rule = "MIGRATE, MIGRATE_INFO_UP_CPU: no Trusted OS";
        break;
    case PSCI_FN(6):
        val = 2; /* PSCI_0_2_TOS_MP: no Trusted OS migration needed */
        c->rule = "MIGRATE_INFO_TYPE: TOS_MP";
        break;
    case PSCI_FN(8):
        system_event(c, KVM_SYSTEM_EVENT_SHUTDOWN, 0, "SYSTEM_OFF");
        return true;
    case PSCI_FN(9):
        system_event(c, KVM_SYSTEM_EVENT_RESET, 0, "SYSTEM_RESET");
        return true;
    case PSCI_FN(10):
        val = psci_features(c);
        break;
    case PSCI_FN(18):
        narrow(c);
        /* fallthrough */
    case PSCI_FN64(18): {
        uint64_t type = reg(c->v, c->a32, 1);
        if (type <= 0 /* SYSTEM_WARM_RESET */ || type >= 0x80000000ULL /* vendor */) {
            system_event(c, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2,
                         "SYSTEM_RESET2");
            return true;
        }
        val = PSCI_RET_INVALID_PARAMS;
        c->rule = "SYSTEM_RESET2: reset type neither warm reset nor vendor";
        break;
    }
    case PSCI_FN(14): case PSCI_FN64(14):
        val = PSCI_RET_NOT_SUPPORTED;
        c->rule = "SYSTEM_SUSPEND: not enabled by the VMM";
        break;
    case 0x95c1ba5eU: case 0x95c1ba5fU: case 0x95c1ba60U: case 0x95c1ba61U:
        /* KVM's PSCI 0.1 IDs are only handled for a VM that selected PSCI 0.1 */
        c->rule = "a PSCI 0.1 ID on a PSCI 1.1 VM";
        return false;
    default:
        c->rule = "a PSCI function KVM does not implement";
        return false;
    }
    set_ret4(c->v, c->a32, (uint64_t)val, 0, 0, 0);
    return true;
}

/* SMCCC_ARCH_FEATURES for the host modeled: not affected by Spectre v2, v4 or BHB. */
static uint64_t arch_features(struct call *c)
{
    uint32_t f = (uint32_t)reg(c->v, c->a32, 1);
    switch (f) {
    case SMCCC_ARCH_WORKAROUND_1:
    case SMCCC_ARCH_WORKAROUND_3:
        c->rule = "ARCH_FEATURES: the host is not affected";
        return SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED;
    case SMCCC_ARCH_WORKAROUND_2:
        c->rule = "ARCH_FEATURES: the host is not affected (NOT_REQUIRED)";
        return SMCCC_RET_NOT_REQUIRED;
    default:
        c->rule = "ARCH_FEATURES: not a feature KVM reports";
        return SMCCC_RET_NOT_SUPPORTED;
    }
}

/* ---- the VMM's side of a forwarded call ---- */

/* The vmm.hypercall answer for nr, or NULL. */
static const struct kvmm_hc_answer *vmm_answer(const struct kvmm_vm *k, uint64_t nr)
{
    for (size_t i = 0; i < k->nhc; i++)
        if (k->hc_answers[i].nr == nr)
            return &k->hc_answers[i];
    return NULL;
}

/*
 * Mainline FWD_TO_USER: kvm_prepare_hypercall_exit() rebuilds run->hypercall with nr = the
 * function ID and flags (SMC, 16-bit); args and ret are zero, the PC is already past the
 * instruction. The VMM writes x0..x3 with KVM_SET_ONE_REG; an SMCCC VMM that does not know the
 * call answers x0 = ~0 (NOT_SUPPORTED), which is what an answer without x0 gets here.
 * kvm.bug.vmm_smccc_x0_unset: the VMM writes x1..x3 only. arm64 has no completion hook and
 * ignores hypercall.ret (linux:arch/arm64/kvm/arm.c completes MMIO exits only), so x0 keeps
 * the function ID the guest passed; the 2019 RFC's ret initialised to all-ones would have
 * given NOT_SUPPORTED instead.
 */
static void forward_mainline(struct call *c, struct kvmm_vm *k, bool smc, bool t16,
                             uint64_t next_pc)
{
    uint64_t flags = (smc ? 1 : 0) | (t16 ? 2 : 0);
    snprintf(c->exit_data, sizeof c->exit_data,
             "{\"nr\":%" PRIu32 ",\"args\":[0,0,0,0,0,0],\"ret\":0,\"flags\":%" PRIu64
             ",\"pc\":\"0x%" PRIx64 "\"}",
             c->fn, flags, next_pc);
    c->exit = "KVM_EXIT_HYPERCALL";
    const struct kvmm_hc_answer *a = vmm_answer(k, c->fn);
    for (unsigned i = k->bug_x0_unset ? 1 : 0; i < 4; i++) {
        if (a && (a->set & (1U << i)))
            set_reg(c->v, c->a32, i, a->x[i]);
        else if (i == 0)
            set_reg(c->v, c->a32, 0, SMCCC_RET_NOT_SUPPORTED);
    }
}

/*
 * The 2019 RFC (B.4): nr = the immediate, args[0..5] = x0..x5; when the VMM resumes, KVM
 * copies args[0..3] back into x0..x3 (ret is not used). An answer's x0..x3 replace those
 * args; whatever the VMM leaves alone goes back unchanged, so a guest whose call the VMM
 * ignores sees its own function ID in x0.
 */
static void forward_rfc(struct call *c, struct kvmm_vm *k, uint64_t imm)
{
    uint64_t args[6];
    for (unsigned i = 0; i < 6; i++)
        args[i] = reg(c->v, c->a32, i);
    snprintf(c->exit_data, sizeof c->exit_data,
             "{\"nr\":%" PRIu64 ",\"args\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
             ",%" PRIu64 ",%" PRIu64 "],\"ret\":0,\"longmode\":0}",
             imm, args[0], args[1], args[2], args[3], args[4], args[5]);
    c->exit = "KVM_EXIT_HYPERCALL";
    const struct kvmm_hc_answer *a = vmm_answer(k, c->fn);
    for (unsigned i = 0; i < 4; i++)
        set_reg(c->v, c->a32, i, a && (a->set & (1U << i)) ? a->x[i] : args[i]);
}

/* The function IDs KVM PSCI owns: standard secure service calls (owner 4), both widths. */
static bool is_psci(uint32_t fn)
{
    return ((fn >> 24) & 0x3f) == 4 || (fn >= KVM_PSCI_FN_BASE && fn <= KVM_PSCI_FN_BASE + 3);
}

static bool default_allowed_fn(uint32_t fn)
{
    for (size_t r = 0; r < sizeof default_allowed / sizeof default_allowed[0]; r++)
        if (fn >= default_allowed[r].first && fn <= default_allowed[r].last)
            return true;
    return false;
}

/* The in-kernel SMCCC and PSCI handlers (kvm_smccc_call_handler's HANDLE path). */
static void handle(struct call *c)
{
    c->action = "handle";
    if (c->fn == SMCCC_VERSION_FN) {
        c->rule = "SMCCC_VERSION: 1.1";
        set_ret4(c->v, c->a32, SMCCC_VERSION_1_1, 0, 0, 0);
    } else if (c->fn == SMCCC_ARCH_FEATURES_FN) {
        uint64_t r = arch_features(c);
        set_ret4(c->v, c->a32, r, 0, 0, 0);
    } else if (!psci_call(c)) {
        set_reg(c->v, c->a32, 0, ~0ULL); /* handle_hvc(): a handler error, x0 = ~0 only */
    }
}

/*
 * kvm.arm_forward = rfc2019: the kernel the RFC patched (v5.3) plus its capability. With
 * KVM_CAP_FORWARD_HYPERCALL on, every HVC and SMC exits (PSCI stays in the kernel with
 * EXCL_PSCI). Otherwise SMC is answered x0 = ~0 whatever it asks (v5.3 handle_smc), and HVC
 * goes to the in-kernel handlers, whose unknown functions get x0 = ~0 only (no filter, no
 * DENY).
 */
static void rfc_call(struct call *c, struct kvmm_vm *k, bool smc, uint64_t imm)
{
    if (k->rfc_forward && !((k->rfc_forward & 2) && is_psci(c->fn))) {
        c->action = "forward_rfc";
        c->rule = (k->rfc_forward & 2) ? "KVM_CAP_FORWARD_HYPERCALL (PSCI excluded)"
                                       : "KVM_CAP_FORWARD_HYPERCALL";
        forward_rfc(c, k, imm);
    } else if (smc) {
        c->action = "imm";
        c->rule = "v5.3 handle_smc: every SMC gets x0 = ~0";
        set_reg(c->v, c->a32, 0, ~0ULL);
    } else if (!default_allowed_fn(c->fn)) {
        c->action = "handle";
        c->rule = "no in-kernel handler (pre-filter kernel): x0 = ~0";
        set_reg(c->v, c->a32, 0, ~0ULL);
    } else {
        handle(c);
    }
}

enum hv_exit_action kvmm_arm_hypercall(struct hv_vcpu *v, struct hv_exit_hypercall *e)
{
    struct kvmm_vm *k = hv_vm_model_data(hv_vcpu_vm(v));
    bool smc = e->insn == HV_HC_SMC;
    struct call c = { .v = v, .a32 = e->aarch32, .act = HV_ACT_HANDLED };
    c.fn = (uint32_t)hv_vcpu_gpr(v, 0);
    if (e->aarch32 && e->cond_failed) {
        /* kvm_handle_exit(): a trapped instruction whose condition fails is only skipped */
        c.action = "skip";
        c.rule = "AArch32 condition check failed: PC advanced, nothing else";
    } else if (k->rfc_mode) {
        rfc_call(&c, k, smc, e->imm);
    } else if (smc && e->imm != 0) {
        /* handle_smc(): SMC #imm != 0 is not an SMCCC call; x0 = ~0, nothing else */
        c.action = "imm";
        c.rule = "SMC with a non-zero immediate: x0 = ~0";
        set_reg(v, c.a32, 0, ~0ULL);
    } else {
        uint8_t action = filter_action(k, c.fn);
        if (action == 0 && !default_allowed_fn(c.fn)) {
            action = 1;
            c.rule = "not allowed by default or by the firmware bitmaps: DENY";
        }
        if (action == 1) {
            c.action = "deny";
            if (!c.rule)
                c.rule = "the SMCCC filter denies it";
            set_ret4(v, c.a32, SMCCC_RET_NOT_SUPPORTED, 0, 0, 0);
        } else if (action == 2) {
            c.action = "fwd_to_user";
            c.rule = "the SMCCC filter forwards it to the VMM";
            forward_mainline(&c, k, smc, e->t16, e->pc + e->len);
        } else {
            handle(&c);
        }
    }
    char data[sizeof c.exit_data + 1];
    snprintf(data, sizeof data, "%s", c.exit_data);
    struct hv_ev_kvm_smccc ev = {
        .conduit = smc ? "smc" : "hvc", .imm = e->imm, .func_id = c.fn, .aarch32 = c.a32,
        .action = c.action, .rule = c.rule, .exit = c.exit, .exit_data = c.exit ? data : NULL,
        .x0 = reg(v, c.a32, 0), .x1 = reg(v, c.a32, 1), .x2 = reg(v, c.a32, 2),
        .x3 = reg(v, c.a32, 3),
    };
    hv_vcpu_emit(v, HV_EV_kvm_smccc, &ev);
    /* powered off, not failed: kvm_arm_vcpu_power_off() for CPU_OFF, and every vCPU's
     * mp_state STOPPED in kvm_prepare_system_event() */
    char why[64];
    snprintf(why, sizeof why, "PSCI %s", c.rule);
    if (c.act == HV_ACT_STOP_VCPU)
        hv_vcpu_stop(v, "PSCI CPU_OFF");
    for (unsigned i = 0; c.act == HV_ACT_END_RUN && i < hv_vm_nr_vcpus(hv_vcpu_vm(v)); i++)
        hv_vcpu_stop(hv_vm_vcpu(hv_vcpu_vm(v), i), why);
    return c.act;
}

/* KVM_ARM_VCPU_INIT with KVM_ARM_VCPU_POWER_OFF for the vCPUs in vmm.power_off. */
bool kvmm_arm_vcpu_starts(struct hv_vcpu *v)
{
    struct kvmm_vm *k = hv_vm_model_data(hv_vcpu_vm(v));
    unsigned id = hv_vcpu_id(v);
    return !(id < 64 && (k->power_off & (1ULL << id)));
}

/* ---- steps: the SMCCC filter and the RFC's capability ---- */

/* ---- data aborts without a valid syndrome (A.6) ---- */

#define KVMM_ESR_WNR        (1U << 6)
#define KVMM_FSC_EXTABT     0x10U  /* synchronous external abort */
#define KVMM_DFSR_EXTABT    0x08U  /* AArch32 short-descriptor: synchronous external abort */
#define KVMM_EC_DABT_LOW    0x24U
#define KVMM_EC_DABT_CUR    0x25U

/* True if a usable slot of address space 0 maps a page of [base, base + size). */
static bool slots_touch(const struct kvmm_slots *slots, uint64_t base, uint64_t size)
{
    for (size_t i = 0; i < kvmm_memslot_count(slots, 0); i++) {
        const struct kvmm_memslot *s = kvmm_memslot_at(slots, 0, i);
        uint64_t b = s->base_gfn << 12, e = b + (s->npages << 12);
        if (kvmm_memslot_usable(s) && b < base + size && base < e)
            return true;
    }
    return false;
}

/*
 * The fault status code of the stage-2 abort at ipa. KVM's stage-2 tables start at level
 * 4 - ARM64_HW_PGTABLE_LEVELS(ipa_bits - 4) (at least 2 levels: arch/arm64/kvm/reset.c,
 * kvm_get_vtcr(); tables concatenated at the start level), and the walk stops at the first
 * entry that maps nothing: a translation fault at that level (0b0001LL). The model takes the
 * tables as if every page of every usable slot were mapped with 4 KiB pages, so an entry is
 * valid when a slot has a page below it. A store to a read-only slot meets a valid
 * read-only page: a permission fault at level 3 (0b001111).
 */
static unsigned stage2_fsc(const struct kvmm_slots *slots, uint64_t ipa, bool permission)
{
    if (permission)
        return 0x0f;
    unsigned bits = kvmm_slots_params(slots)->arm64_ipa_bits;
    unsigned levels = bits > 8 ? (bits - 8) / 9 : 2;
    if (levels < 2)
        levels = 2;
    if (levels > 4)
        levels = 4;
    for (unsigned lvl = 4 - levels; lvl < 3; lvl++) {
        uint64_t size = 1ULL << (12 + 9 * (3 - lvl));
        if (!slots_touch(slots, ipa & ~(size - 1), size))
            return 0x04 | lvl;
    }
    return 0x07;
}

uint64_t kvmm_arm_nisv_iss(const struct kvmm_slots *slots, uint64_t ipa, bool wnr,
                           bool permission)
{
    /* kvm_vcpu_dabt_iss_nisv_sanitized(): ESR_EL2 & (CM | WnR | FSC); CM is 0 for a load or
     * store */
    return (wnr ? KVMM_ESR_WNR : 0) | stage2_fsc(slots, ipa, permission);
}

enum hv_exit_action kvmm_arm_dabt_nisv(struct hv_vcpu *v, struct hv_exit_dabt *e)
{
    struct kvmm_vm *k = hv_vm_model_data(hv_vcpu_vm(v));
    /* io_mem_abort(): no valid syndrome and no KVM_CAP_ARM_NISV_TO_USER -> -ENOSYS */
    if (!k->nisv_to_user) {
        hv_vcpu_fail(v, "KVM_RUN: -ENOSYS (data abort without a valid syndrome)");
        return HV_ACT_STOP_VCPU;
    }
    /* run->arm_nisv: fault_ipa is the IPA page from HPFAR_EL2 with the low 12 bits of the
     * FAR (kvm_handle_guest_abort()) */
    struct hv_ev_kvm_exit ev = {
        .reason = "KVM_EXIT_ARM_NISV",
        .esr_iss = kvmm_arm_nisv_iss(k->slots, e->ipa, e->wnr, e->permission),
        .fault_ipa = e->ipa,
    };
    hv_vcpu_emit(v, HV_EV_kvm_exit, &ev);
    if (k->nisv_skip)
        return HV_ACT_HANDLED;
    /* QEMU (target/arm/kvm.c, kvm_arm_handle_dabt_nisv) sets ext_dabt_pending with
     * KVM_SET_VCPU_EVENTS; KVM then injects a synchronous external abort at the faulting
     * instruction with the FAR it trapped with (arch/arm64/kvm/inject_fault.c, inject_abt64:
     * EC DABT from the current or a lower EL, IL, FSC 0x10; inject_abt32: DFSR 0x08 in the
     * short-descriptor format, DFAR) */
    unsigned ec = e->aarch32 || e->el == 0 ? KVMM_EC_DABT_LOW : KVMM_EC_DABT_CUR;
    if (e->aarch32)
        hv_vcpu_inject_addr(v, KVMM_EC_DABT_CUR,
                            ((uint64_t)KVMM_EC_DABT_CUR << 26) | KVMM_DFSR_EXTABT, e->far);
    else
        hv_vcpu_inject_addr(v, ec, ((uint64_t)ec << 26) | (1U << 25) | KVMM_FSC_EXTABT,
                            e->far);
    return HV_ACT_RETRY;
}

int kvmm_arm_vmm_nisv(const struct hv_node *n, bool *skip, struct hv_diag *d)
{
    const char *s;
    int err = hv_node_str(n, "nisv", &s, d);
    if (err)
        return err;
    if (strcmp(s, "inject_dabt") != 0 && strcmp(s, "skip") != 0)
        return hv_diag_at(d, n, "'nisv': inject_dabt or skip");
    *skip = strcmp(s, "skip") == 0;
    return 0;
}

static int action_of(const struct hv_node *n, uint64_t *out, struct hv_diag *d)
{
    static const char *const names[] = { "handle", "deny", "fwd_to_user" };
    if (n->type == HV_NODE_SCALAR)
        for (uint64_t i = 0; i < 3; i++)
            if (strcmp(n->str, names[i]) == 0) {
                *out = i;
                return 0;
            }
    int err = hv_node_u64(n, "action", out, d);
    if (!err && *out > 255)
        err = hv_diag_at(d, n, "'action': handle, deny, fwd_to_user or a number 0..255");
    return err;
}

static int arm_check(const char *action, const struct hv_node *args,
                     const struct hv_node *expect, struct hv_diag *d)
{
    static const char *const exp_keys[] = { "errno", NULL };
    int err;
    if (strcmp(action, "enable_cap") == 0) {
        const struct hv_node *c = args ? hv_node_get(args, "cap") : NULL;
        if (!c || c->type != HV_NODE_SCALAR ||
            (strcmp(c->str, "forward_hypercall") != 0 && strcmp(c->str, "arm_nisv_to_user") != 0))
            return HV_ENOENT;
        static const char *const keys[] = { "cap", "args0", "flags", NULL };
        uint64_t v;
        const struct hv_node *x;
        if ((err = hv_node_check_keys(args, keys, "args", d)) ||
            ((x = hv_node_get(args, "args0")) && (err = hv_node_u64(x, "args0", &v, d))) ||
            ((x = hv_node_get(args, "flags")) && (err = hv_node_u64(x, "flags", &v, d))))
            return err;
        if ((x = hv_node_get(args, "flags")) && strcmp(c->str, "forward_hypercall") == 0)
            return hv_diag_at(d, x, "'flags': not an argument of forward_hypercall");
        return kvmm_check_expect_keys(expect, exp_keys, d);
    }
    if (strcmp(action, "smccc_filter") != 0)
        return HV_ENOENT;
    if (!args)
        return hv_diag_at(d, expect, "'smccc_filter' needs args");
    static const char *const keys[] = { "base", "nr_functions", "action", "pad", "group", "attr",
                                        NULL };
    if ((err = hv_node_expect(args, HV_NODE_MAP, "args", d)) ||
        (err = hv_node_check_keys(args, keys, "args", d)))
        return err;
    uint64_t v;
    const struct hv_node *x;
    static const char *const u32s[] = { "base", "nr_functions", "group", "attr" };
    for (size_t i = 0; i < 4; i++) {
        if ((x = hv_node_get(args, u32s[i])) && (err = hv_node_u64(x, u32s[i], &v, d)))
            return err;
        if (x && i < 2 && v > UINT32_MAX)
            return hv_diag_at(d, x, "'%s': a 32-bit field", u32s[i]);
    }
    if (!hv_node_get(args, "base") || !hv_node_get(args, "nr_functions") ||
        !hv_node_get(args, "action"))
        return hv_diag_at(d, args, "'smccc_filter' needs base, nr_functions and action");
    if ((err = action_of(hv_node_get(args, "action"), &v, d)))
        return err;
    if ((x = hv_node_get(args, "pad"))) {
        if ((err = hv_node_str(x, "pad", &(const char *){ NULL }, d)))
            return err;
        if (strlen(x->str) != 30 || strspn(x->str, "0123456789abcdefABCDEF") != 30)
            return hv_diag_at(d, x, "'pad': 15 bytes as 30 hex digits");
    }
    return kvmm_check_expect_keys(expect, exp_keys, d);
}

/*
 * KVM_SET_DEVICE_ATTR(group KVM_ARM_VM_SMCCC_CTRL 0, attr KVM_ARM_VM_SMCCC_FILTER 0), in
 * kvm_smccc_set_filter()'s order: pad not zero -> EINVAL; end = base + nr - 1 in u32
 * arithmetic below base, or action >= 3 -> EINVAL; a vCPU has run -> EBUSY; overlap with a
 * range already inserted (the two architecture ranges are there from VM creation) -> EEXIST.
 */
static int filter_set(struct hv_vm *vm, struct kvmm_vm *k, const struct hv_node *args,
                      const char **rule)
{
    struct hv_diag d;
    uint64_t base = 0, nr = 0, action = 0, group = 0, attr = 0;
    const struct hv_node *x;
    hv_node_u64(hv_node_get(args, "base"), "base", &base, &d);
    hv_node_u64(hv_node_get(args, "nr_functions"), "nr_functions", &nr, &d);
    action_of(hv_node_get(args, "action"), &action, &d);
    if ((x = hv_node_get(args, "group")))
        hv_node_u64(x, "group", &group, &d);
    if ((x = hv_node_get(args, "attr")))
        hv_node_u64(x, "attr", &attr, &d);
    if (hv_vm_arch(vm) == HV_ARCH_X86_64) {
        *rule = "no VM device attributes on x86";
        return -ENOTTY;
    }
    if (k->rfc_mode || group != 0 || attr != 0) {
        *rule = k->rfc_mode ? "no SMCCC filter before v6.4" : "unknown group or attribute";
        return -ENXIO;
    }
    x = hv_node_get(args, "pad");
    bool pad_zero = !x || strspn(x->str, "0") == strlen(x->str);
    return kvmm_smccc_filter_add(k->filter, &k->nfilter, (uint32_t)base, (uint32_t)nr, action,
                                 pad_zero, hv_vm_icount(vm) > 0, rule);
}

int kvmm_smccc_filter_add(struct kvmm_filter_range *f, size_t *n, uint32_t base, uint32_t nr,
                          uint64_t action, bool pad_zero, bool ran, const char **rule)
{
    if (!pad_zero) {
        *rule = "pad not zero";
        return -EINVAL;
    }
    uint32_t start = base, end = start + nr - 1;
    if (end < start || action >= 3) {
        *rule = end < start ? "base + nr_functions - 1 wraps (or nr_functions is 0)"
                            : "action >= NR_SMCCC_FILTER_ACTIONS";
        return -EINVAL;
    }
    if (ran) {
        *rule = "a vCPU has already run";
        return -EBUSY;
    }
    if (*n == 0) {
        /* init_smccc_filter(): the architecture ranges are reserved as HANDLE */
        f[0] = (struct kvmm_filter_range){ 0x80000000U, 0x10000, 0 };
        f[1] = (struct kvmm_filter_range){ 0xc0000000U, 0x10000, 0 };
        *n = 2;
    }
    for (size_t i = 0; i < *n; i++) {
        uint32_t b = f[i].base, e = b + f[i].nr - 1;
        if (start <= e && b <= end) {
            *rule = i < 2 ? "overlaps a reserved architecture range" : "overlaps a range";
            return -EEXIST;
        }
    }
    if (*n == KVMM_MAX_FILTER_RANGES) {
        *rule = "hvsim's limit on filter ranges";
        return -ENOMEM;
    }
    f[(*n)++] = (struct kvmm_filter_range){ start, end - start + 1, (uint8_t)action };
    *rule = "inserted";
    return 0;
}

static int arm_run(struct hv_vm *vm, struct kvmm_vm *k, const char *action,
                   const struct hv_node *args, const struct hv_node *expect, char *result,
                   size_t size)
{
    const char *rule = NULL;
    int e;
    if (strcmp(action, "enable_cap") == 0) {
        const struct hv_node *c = args ? hv_node_get(args, "cap") : NULL;
        if (!c || c->type != HV_NODE_SCALAR ||
            (strcmp(c->str, "forward_hypercall") != 0 && strcmp(c->str, "arm_nisv_to_user") != 0))
            return HV_ENOENT;
        uint64_t a0 = 0, flags = 0;
        struct hv_diag d;
        const struct hv_node *x = hv_node_get(args, "args0");
        if (x)
            hv_node_u64(x, "args0", &a0, &d);
        if ((x = hv_node_get(args, "flags")))
            hv_node_u64(x, "flags", &flags, &d);
        if (strcmp(c->str, "arm_nisv_to_user") == 0) {
            /* KVM_CAP_ARM_NISV_TO_USER (177): kvm_vm_ioctl_enable_cap() of arch/arm64/kvm/arm.c
             * refuses flags, ignores args[] and sets KVM_ARCH_FLAG_RETURN_NISV_IO_ABORT_TO_USER,
             * at any time; x86 has no such capability (EINVAL), nor had v5.3 (it came in v5.5) */
            if (hv_vm_arch(vm) == HV_ARCH_X86_64 || k->rfc_mode) {
                e = -EINVAL;
                rule = k->rfc_mode ? "no KVM_CAP_ARM_NISV_TO_USER before v5.5"
                                   : "not an x86 capability";
            } else if (flags) {
                e = -EINVAL;
                rule = "flags not 0";
            } else {
                e = 0;
                k->nisv_to_user = true;
                rule = "KVM_EXIT_ARM_NISV on";
            }
        } else if (!k->rfc_mode || hv_vm_arch(vm) == HV_ARCH_X86_64) {
            e = -EINVAL;
            rule = "no KVM_CAP_FORWARD_HYPERCALL in this kernel";
        } else if (a0 & ~1ULL) {
            e = -EINVAL;
            rule = "unknown bits in args[0]";
        } else {
            e = 0;
            k->rfc_forward = 1 | (a0 & 1 ? 2 : 0);
            rule = "forwarding on";
        }
    } else if (strcmp(action, "smccc_filter") == 0) {
        e = filter_set(vm, k, args, &rule);
    } else {
        return HV_ENOENT;
    }
    char eno[16];
    kvmm_errno_name(e, eno, sizeof eno);
    snprintf(result, size, "{\"errno\":\"%s\",\"rule\":\"%s\"}", eno, rule);
    return kvmm_expect_str(expect, "errno", eno) ? 0 : HV_ESCENARIO;
}

const struct kvmm_steps kvmm_arm_steps = { arm_check, arm_run };
