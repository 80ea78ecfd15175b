/*
 * excp.c - delivering guest-visible exceptions, which Unicorn 2.0.1 never does itself.
 *
 * x86_64: the gate is read from the guest's IDT (IDTR through the vCPU's page tables); the
 * frame SS, RSP, RFLAGS, CS, RIP [, error code] is pushed on the 16-byte aligned stack, RIP and
 * CS come from the gate, IF is cleared for interrupt gates. Unicorn remembers the last
 * contributory fault in a private field (env->old_exception) that only a CPU reset clears, so
 * the next fault would turn into #DF, and a #UD after a #DF into a silent triple fault. hvsim
 * clears it in a saved context after each delivery and before the next run of an engine in which
 * a fault may have been raised since (a real CPU keeps no such state between instructions).
 * Unicorn writes the field only in check_exception() (target/i386/excp_helper.c), for a raised
 * #DE, #TS, #NP, #SS, #GP, #PF or #DF; #UD (vmcall), int n and hlt leave it alone. A fault the
 * guest raises reaches the interrupt hook (cpu_handle_exception() in accel/tcg/cpu-exec.c) or
 * ends uc_emu_start with an error. The one silent source is Unicorn's own probe of a page when
 * it drops translated code by address (uc_invalidate_tb() in accel/tcg/translate-all.c, for
 * uc_ctl_remove_cache, and for `until` at the end of every run: hvsim turns that one off,
 * sim_int.h HV_UNTIL), which page-walks and swallows the #PF. The hook, an error and
 * vcpu_drop_code() mark the vCPU (v->fault_seen), and only a marked vCPU pays the context round
 * trip (two copies of 5.5 KB) before its next run: a run after a hypercall does not. Debug
 * builds check before every run that an unmarked vCPU has the field clear.
 * The field's offset inside the context is found once per process by raising two faults in a
 * scratch engine and seeing which 32-bit word goes -1 -> 0 (#DE) -> 8 (#DF).
 *
 * aarch64: synchronous exception to EL1 at VBAR_EL1 + 0x200 (current EL, SP_ELx), with
 * ELR_EL1, SPSR_EL1, ESR_EL1 and FAR_EL1 written and DAIF masked.
 *
 * arm (AArch32): the vector-table entry at VBAR for the syndrome's class, in the matching mode
 * (Undefined, Supervisor, Abort) with LR, SPSR and the fault registers written (a32_deliver).
 *
 * An exception with no handler (IDT limit too small, gate not present, VBAR_EL1 or VBAR zero)
 * ends the run with an `exception` event whose `delivered` is false.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

static const char *const x86_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP",
    "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
    "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

const char *excp_name(enum hv_arch arch, unsigned vec)
{
    if (arch == HV_ARCH_X86_64)
        return vec < 32 ? x86_names[vec] : "INT";
    switch (vec) {
    case 0x00: return "UNDEF";
    case 0x11: return "SVC";   /* from AArch32 */
    case 0x12: return "HVC";
    case 0x13: return "SMC";
    case 0x20: return "IABT";
    case 0x24: return "DABT";
    case 0x38: return "BKPT";
    case 0x15: return "SVC";
    case 0x16: return "HVC";
    case 0x17: return "SMC";
    case 0x21: return "IABT";
    case 0x25: return "DABT";
    case 0x3c: return "BRK";
    default: return "SYNC";
    }
}

static bool x86_has_error_code(unsigned vec)
{
    return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 ||
           vec == 30;
}

/* ---- clearing Unicorn's remembered contributory fault ---- */

static long old_exc_offset = -2; /* -2: not calibrated; -1: not found */

struct calib {
    uc_context *ctx[3];
    int hits;
};

/* Saves the context at each fault and skips the two-byte div, so both faults are seen. */
static void calib_intr(uc_engine *uc, uint32_t intno, void *ud)
{
    struct calib *c = ud;
    (void)intno;
    if (c->hits < 2)
        uc_context_save(uc, c->ctx[++c->hits]);
    uint64_t rip = 0;
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    rip += 2;
    uc_reg_write(uc, UC_X86_REG_RIP, &rip);
}

static long calibrate_old_exception(void)
{
    static const uint8_t code[] = { 0x31, 0xc9, 0xf7, 0xf1, 0xf7, 0xf1 }; /* xor ecx; div x2 */
    uc_engine *uc = NULL;
    struct calib c = { { NULL, NULL, NULL }, 0 };
    long found = -1;
    uc_hook h;
    if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK)
        return -1;
    size_t size = uc_context_size(uc);
    for (int i = 0; i < 3; i++)
        if (uc_context_alloc(uc, &c.ctx[i]) != UC_ERR_OK)
            goto out;
    uc_mem_map(uc, 0x1000, 0x1000, UC_PROT_ALL);
    uc_mem_write(uc, 0x1000, code, sizeof code);
    uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)calib_intr, &c, 1, 0);
    uc_context_save(uc, c.ctx[0]);
    /* #DE, then a second #DE that Unicorn turns into #DF */
    if (uc_emu_start(uc, 0x1000, 0x1000 + sizeof code, 0, 20) != UC_ERR_OK || c.hits != 2)
        goto out;
    for (size_t off = 0; off + 4 <= size; off += 4) {
        int32_t a, b, d;
        memcpy(&a, (char *)c.ctx[0] + off, 4);
        memcpy(&b, (char *)c.ctx[1] + off, 4);
        memcpy(&d, (char *)c.ctx[2] + off, 4);
        if (a == -1 && b == 0 && d == 8) {
            found = (long)off;
            break;
        }
    }
out:
    for (int i = 0; i < 3; i++)
        if (c.ctx[i])
            uc_context_free(c.ctx[i]);
    uc_close(uc);
    return found;
}

/* Saves v's context into v->fault_ctx; false if the field cannot be reached. */
static bool fault_state_save(struct hv_vcpu *v)
{
    if (old_exc_offset == -2)
        old_exc_offset = calibrate_old_exception();
    if (old_exc_offset < 0)
        return false;
    if (!v->fault_ctx && uc_context_alloc(v->uc, &v->fault_ctx) != UC_ERR_OK)
        return false;
    return uc_context_save(v->uc, v->fault_ctx) == UC_ERR_OK;
}

void excp_x86_reset_fault_state(struct hv_vcpu *v)
{
    v->fault_seen = false;
    if (!fault_state_save(v))
        return;
    int32_t cur;
    memcpy(&cur, (char *)v->fault_ctx + old_exc_offset, 4);
    if (cur == -1)
        return;
    int32_t none = -1;
    memcpy((char *)v->fault_ctx + old_exc_offset, &none, 4);
    uc_context_restore(v->uc, v->fault_ctx);
}

#ifndef NDEBUG
static bool fault_state_clear(struct hv_vcpu *v)
{
    int32_t cur = -1;
    if (fault_state_save(v))
        memcpy(&cur, (char *)v->fault_ctx + old_exc_offset, 4);
    return cur == -1;
}
#endif

void excp_x86_before_run(struct hv_vcpu *v)
{
    if (v->fault_seen)
        excp_x86_reset_fault_state(v);
    assert(fault_state_clear(v));
}

static int write_gva(struct hv_vcpu *v, uint64_t gva, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        uint64_t gpa;
        bool w;
        size_t chunk = 0x1000 - (gva & 0xfff);
        if (chunk > len)
            chunk = len;
        if (mem_walk(v, gva, &gpa, &w) || hv_vm_write_gpa(v->vm, gpa, p, chunk))
            return HV_EINVAL;
        gva += chunk;
        p += chunk;
        len -= chunk;
    }
    return 0;
}

static int undelivered(struct hv_vcpu *v, const char *name)
{
    struct hv_ev_exception ev = { .vector = v->pend_vec, .name = name,
                                  .error_code = v->pend_err, .addr = v->pend_addr,
                                  .handler = 0, .delivered = false };
    int err = vm_emit(v->vm, (int32_t)v->id, v->icount, v->pend_pc, HV_EV_exception, &ev);
    vcpu_set_state(v, VS_FAILED, name);
    vm_end(v->vm, HV_OUT_EXCEPTION);
    return err;
}

static int x86_deliver(struct hv_vcpu *v)
{
    unsigned vec = v->pend_vec;
    const char *name = excp_name(HV_ARCH_X86_64, vec);
    uc_x86_mmr idtr = { 0 };
    uc_reg_read(v->uc, UC_X86_REG_IDTR, &idtr);
    uint8_t gate[16];
    if ((uint64_t)idtr.limit < vec * 16ULL + 15 || hv_vcpu_read_gva(v, idtr.base + vec * 16,
                                                                    gate, sizeof gate) ||
        !(gate[5] & 0x80))
        return undelivered(v, name);
    uint64_t handler = (uint64_t)gate[0] | (uint64_t)gate[1] << 8 | (uint64_t)gate[6] << 16 |
                       (uint64_t)gate[7] << 24 | (uint64_t)gate[8] << 32 |
                       (uint64_t)gate[9] << 40 | (uint64_t)gate[10] << 48 |
                       (uint64_t)gate[11] << 56;
    uint64_t sel = (uint64_t)gate[2] | (uint64_t)gate[3] << 8;
    uint64_t rsp = 0, rflags = 0, cs = 0, ss = 0;
    uc_reg_read(v->uc, UC_X86_REG_RSP, &rsp);
    uc_reg_read(v->uc, UC_X86_REG_RFLAGS, &rflags);
    uc_reg_read(v->uc, UC_X86_REG_CS, &cs);
    uc_reg_read(v->uc, UC_X86_REG_SS, &ss);
    uint64_t frame[6];
    size_t n = 0;
    if (x86_has_error_code(vec))
        frame[n++] = v->pend_err;
    frame[n++] = v->pend_pc;
    frame[n++] = cs;
    frame[n++] = rflags;
    frame[n++] = rsp;
    frame[n++] = ss;
    uint64_t nrsp = (rsp & ~0xfULL) - n * 8;
    if (write_gva(v, nrsp, frame, n * 8))
        return undelivered(v, "#DF");
    excp_x86_reset_fault_state(v);
    if (vec == 14)
        uc_reg_write(v->uc, UC_X86_REG_CR2, &v->pend_addr);
    if ((gate[5] & 0x0f) == 0x0e)
        rflags &= ~0x200ULL; /* interrupt gate: IF = 0 */
    rflags &= ~0x100ULL;     /* TF */
    uc_reg_write(v->uc, UC_X86_REG_RFLAGS, &rflags);
    uc_reg_write(v->uc, UC_X86_REG_RSP, &nrsp);
    if (sel != cs)
        uc_reg_write(v->uc, UC_X86_REG_CS, &sel);
    uc_reg_write(v->uc, UC_X86_REG_RIP, &handler);
    v->resume_pc = handler;
    v->resume_valid = true;
    struct hv_ev_exception ev = { .vector = vec, .name = name, .error_code = v->pend_err,
                                  .addr = v->pend_addr, .handler = handler, .delivered = true };
    return vm_emit(v->vm, (int32_t)v->id, v->icount, v->pend_pc, HV_EV_exception, &ev);
}

static void a64_sysreg_write(struct hv_vcpu *v, uint32_t op0, uint32_t op1, uint32_t crn,
                             uint32_t crm, uint32_t op2, uint64_t val)
{
    uc_arm64_cp_reg r = { .crn = crn, .crm = crm, .op0 = op0, .op1 = op1, .op2 = op2,
                          .val = val };
    uc_reg_write(v->uc, UC_ARM64_REG_CP_REG, &r);
}

static int a64_deliver(struct hv_vcpu *v)
{
    const char *name = excp_name(HV_ARCH_AARCH64, v->pend_vec);
    uint64_t vbar = 0, pstate = 0;
    uc_reg_read(v->uc, UC_ARM64_REG_VBAR_EL1, &vbar);
    if (!vbar)
        return undelivered(v, name);
    uc_reg_read(v->uc, UC_ARM64_REG_PSTATE, &pstate);
    uint64_t handler = vbar + ((pstate & 1) ? 0x200 : 0x000);
    uc_reg_write(v->uc, UC_ARM64_REG_ELR_EL1, &v->pend_pc);
    a64_sysreg_write(v, 3, 0, 4, 0, 0, pstate); /* SPSR_EL1 */
    uc_reg_write(v->uc, UC_ARM64_REG_ESR_EL1, &v->pend_err);
    uc_reg_write(v->uc, UC_ARM64_REG_FAR_EL1, &v->pend_addr);
    uint64_t np = pstate | 0x3c0; /* DAIF */
    uc_reg_write(v->uc, UC_ARM64_REG_PSTATE, &np);
    uc_reg_write(v->uc, UC_ARM64_REG_PC, &handler);
    v->resume_pc = handler;
    v->resume_valid = true;
    struct hv_ev_exception ev = { .vector = v->pend_vec, .name = name, .error_code = v->pend_err,
                                  .addr = v->pend_addr, .handler = handler, .delivered = true };
    return vm_emit(v->vm, (int32_t)v->id, v->icount, v->pend_pc, HV_EV_exception, &ev);
}

/*
 * arm (AArch32, ARM DDI 0406C B1.8): the class of the pending syndrome picks the vector-table
 * entry, the mode and the return address the guest's handler expects in LR:
 *   UNDEF (and anything else)  +0x04  Undefined  LR = the instruction + 4 (A32) or + 2 (T32)
 *   SVC (0x11)                 +0x08  Supervisor LR = the instruction after the svc
 *   IABT (0x20/0x21), BKPT     +0x0c  Abort      LR = the instruction + 4; IFSR, IFAR
 *   DABT (0x24/0x25)           +0x10  Abort      LR = the instruction + 8; DFSR, DFAR
 * SPSR_<mode> = CPSR; CPSR takes the mode, I set (A too for aborts), IT cleared, T =
 * SCTLR.TE; the vectors are at VBAR (0xffff0000 when SCTLR.V). No VBAR (zero, with SCTLR.V
 * clear) means no handler.
 */
static int a32_deliver(struct hv_vcpu *v)
{
    unsigned ec = v->pend_vec;
    const char *name = excp_name(HV_ARCH_ARM, ec);
    uint32_t sctlr = a32_cp15_read(v->uc, 1, 0, 0, 0);
    uint32_t vbar = (sctlr & (1u << 13)) ? 0xffff0000u : a32_cp15_read(v->uc, 12, 0, 0, 0);
    if (!vbar)
        return undelivered(v, name);
    uint32_t cpsr = 0;
    uc_reg_read(v->uc, UC_ARM_REG_CPSR, &cpsr);
    bool thumb = (cpsr & A32_CPSR_T) != 0;
    uint32_t pc = (uint32_t)v->pend_pc, lr, off, mode, mask = 1u << 7;
    uint32_t iss_fs = (uint32_t)v->pend_err & 0xf;
    bool wnr = (v->pend_err >> 6) & 1;
    switch (ec) {
    case 0x11:
        off = 0x08, mode = A32_MODE_SVC, lr = pc;
        break;
    case 0x20: case 0x21: case 0x38:
        off = 0x0c, mode = A32_MODE_ABT, lr = pc + 4, mask |= 1u << 8;
        a32_cp15_write(v->uc, 5, 0, 0, 1, ec == 0x38 ? 0x02 : iss_fs); /* IFSR */
        a32_cp15_write(v->uc, 6, 0, 0, 2, (uint32_t)v->pend_addr);    /* IFAR */
        break;
    case 0x24: case 0x25:
        off = 0x10, mode = A32_MODE_ABT, lr = pc + 8, mask |= 1u << 8;
        a32_cp15_write(v->uc, 5, 0, 0, 0, iss_fs | (wnr ? 1u << 11 : 0)); /* DFSR */
        a32_cp15_write(v->uc, 6, 0, 0, 0, (uint32_t)v->pend_addr);       /* DFAR */
        break;
    default:
        off = 0x04, mode = A32_MODE_UND, lr = pc + (thumb ? 2 : 4);
        break;
    }
    uint32_t ncpsr = (cpsr & ~(A32_CPSR_MODE | A32_CPSR_T | 0x0600fc00u)) | mode | mask;
    if (sctlr & (1u << 30))
        ncpsr |= A32_CPSR_T; /* SCTLR.TE: handlers are T32 */
    uint32_t handler = vbar + off;
    uc_reg_write(v->uc, UC_ARM_REG_CPSR, &ncpsr); /* switches to the mode's banked SP, LR */
    uc_reg_write(v->uc, UC_ARM_REG_LR, &lr);
    uc_reg_write(v->uc, UC_ARM_REG_SPSR, &cpsr);
    uint32_t pcw = handler | ((ncpsr & A32_CPSR_T) ? 1 : 0);
    uc_reg_write(v->uc, UC_ARM_REG_PC, &pcw);
    v->resume_pc = handler;
    v->resume_valid = true;
    struct hv_ev_exception ev = { .vector = ec, .name = name, .error_code = v->pend_err,
                                  .addr = v->pend_addr, .handler = handler, .delivered = true };
    return vm_emit(v->vm, (int32_t)v->id, v->icount, v->pend_pc, HV_EV_exception, &ev);
}

int excp_deliver(struct hv_vcpu *v)
{
    v->pend = false;
    if (v->last_fault_pc == v->pend_pc && v->last_fault_icount == v->icount) {
        /* faulting again without retiring an instruction: the handler cannot make progress */
        if (++v->same_fault > 8)
            return undelivered(v, excp_name(v->vm->arch, v->pend_vec));
    } else {
        v->same_fault = 0;
    }
    v->last_fault_pc = v->pend_pc;
    v->last_fault_icount = v->icount;
    switch (v->vm->arch) {
    case HV_ARCH_X86_64: return x86_deliver(v);
    case HV_ARCH_AARCH64: return a64_deliver(v);
    default: return a32_deliver(v);
    }
}

void hv_vcpu_inject(struct hv_vcpu *v, unsigned vector, uint64_t error_code)
{
    v->pend = true;
    v->pend_vec = vector;
    v->pend_err = error_code;
    v->pend_addr = 0;
    v->pend_pc = v->in_exit ? v->exit_pc : vcpu_read_pc(v);
}
