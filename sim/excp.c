/*
 * excp.c - delivering guest-visible exceptions, which Unicorn 2.0.1 never does itself.
 *
 * x86_64: what the CPU does in the mode the exception is taken in (x86_deliver(): the IVT in
 * real mode, 8-byte gates in protected mode, 16-byte gates in IA-32e mode, compatibility mode
 * included), reading the IDT, GDT/LDT and TSS through the vCPU's page tables, pushing the frame
 * and loading CS (and SS) with their descriptor caches (x86cpu.c). Unicorn's remembered
 * contributory fault is cleared with the new state (x86cpu_set()), as before every run.
 *
 * aarch64: synchronous exception to EL1 at VBAR_EL1 + 0x200 (current EL, SP_ELx), with
 * ELR_EL1, SPSR_EL1, ESR_EL1 and FAR_EL1 written and DAIF masked.
 *
 * arm (AArch32): the vector-table entry at VBAR for the syndrome's class, in the matching mode
 * (Undefined, Supervisor, Abort) with LR, SPSR and the fault registers written (a32_deliver).
 *
 * An exception with no handler (IDT limit too small, gate not present, a check of the delivery
 * failing, VBAR_EL1 or VBAR zero) ends the run with an `exception` event whose `delivered` is
 * false; the vCPU's failure reason names the check.
 */
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

/* The exception cannot be delivered: the run ends with it undelivered; why names the check
 * that failed (the vCPU's failure reason). */
static int undelivered(struct hv_vcpu *v, const char *why)
{
    struct hv_ev_exception ev = { .vector = v->pend_vec,
                                  .name = excp_name(v->vm->arch, v->pend_vec),
                                  .error_code = v->pend_err, .addr = v->pend_addr,
                                  .handler = 0, .delivered = false };
    int err = vm_emit(v->vm, (int32_t)v->id, v->icount, v->pend_pc, HV_EV_exception, &ev);
    vcpu_set_state(v, VS_FAILED, why);
    vm_end(v->vm, HV_OUT_EXCEPTION);
    return err;
}

/*
 * x86 (Intel SDM vol. 3 ch. 6; QEMU target/i386/seg_helper.c do_interrupt_all, which Unicorn
 * never calls): the delivery a CPU makes in the mode the exception is taken in.
 *   real mode      IVT entry at IDTR.base + 4 v: push FLAGS, CS, IP (16-bit) on SS:SP; CS:IP
 *                  from the entry; IF, TF, AC, RF cleared.
 *   protected mode 8-byte gate at IDTR.base + 8 v: 386 (32-bit) or 286 (16-bit) interrupt or
 *                  trap gate; the target code segment from the GDT/LDT; to an inner privilege
 *                  SS:ESP come from the TSS (and from virtual-8086 mode GS FS DS ES are pushed
 *                  and cleared); push [SS, ESP,] EFLAGS, CS, EIP [, error code].
 *   IA-32e mode    16-byte gate at IDTR.base + 16 v, whatever CS was (64-bit or compatibility
 *                  mode): the target must be a 64-bit code segment, so the handler runs in
 *                  64-bit mode; RSP from TSS.RSPn on a privilege change or TSS.ISTn, with SS a
 *                  null selector of the new CPL; RSP aligned down to 16; always push SS, RSP,
 *                  RFLAGS, CS, RIP [, error code] (8 bytes each).
 * Interrupt gates clear IF; TF, VM, RF, NT are cleared. CS (and SS) are loaded with their
 * descriptor caches and the CPU's hidden flags (x86cpu.c). A software interrupt (int n, int3,
 * into) pushes no error code and needs gate DPL >= CPL. Task gates are not modeled. A check that
 * fails (a fault while delivering) is not delivered as a second exception: the run ends with
 * this one undelivered, the failed check named.
 */
#define X86_RFLAGS_TF (1ULL << 8)
#define X86_RFLAGS_IF (1ULL << 9)
#define X86_RFLAGS_NT (1ULL << 14)
#define X86_RFLAGS_RF (1ULL << 16)
#define X86_RFLAGS_VM (1ULL << 17)
#define X86_RFLAGS_AC (1ULL << 18)

struct x86_frame {
    struct hv_vcpu *v;
    uint64_t ssp;       /* stack segment base */
    uint64_t sp;
    uint64_t sp_mask;   /* 0xffff, 0xffffffff, or all ones in IA-32e mode */
    bool failed;
};

static void push(struct x86_frame *f, uint64_t val, unsigned size)
{
    f->sp -= size;
    uint64_t a = f->sp_mask == ~0ULL ? f->sp : (uint32_t)(f->ssp + (f->sp & f->sp_mask));
    uint8_t b[8];
    for (unsigned i = 0; i < size; i++)
        b[i] = (uint8_t)(val >> (8 * i));
    if (!f->failed && write_gva(f->v, a, b, size))
        f->failed = true;
}

static bool read_u32(struct hv_vcpu *v, uint64_t gva, uint32_t *out)
{
    uint8_t b[4];
    if (hv_vcpu_read_gva(v, gva, b, 4))
        return false;
    *out = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return true;
}

/* load_segment(): the descriptor of sel from the GDT or LDT; false past the table's limit. */
static bool x86_descriptor(struct hv_vcpu *v, uint32_t sel, uint32_t *e1, uint32_t *e2)
{
    uc_x86_mmr dt = { 0 };
    uc_reg_read(v->uc, (sel & 4) ? UC_X86_REG_LDTR : UC_X86_REG_GDTR, &dt);
    uint32_t index = sel & ~7u;
    if (index + 7 > dt.limit)
        return false;
    return read_u32(v, dt.base + index, e1) && read_u32(v, dt.base + index + 4, e2);
}

static uint64_t seg_base(uint32_t e1, uint32_t e2)
{
    return (e1 >> 16) | ((e2 & 0xff) << 16) | (e2 & 0xff000000u);
}

static uint32_t seg_limit(uint32_t e1, uint32_t e2)
{
    uint32_t limit = (e1 & 0xffff) | (e2 & 0x000f0000u);
    return (e2 & X86_DESC_G) ? (limit << 12) | 0xfff : limit;
}

/* The handler's code segment (gate selector sel): a present code segment, DPL <= CPL. */
static const char *x86_target_cs(struct hv_vcpu *v, uint32_t sel, unsigned cpl, uint32_t *e1,
                                 uint32_t *e2)
{
    if ((sel & 0xfffc) == 0)
        return "#GP: null code selector in the gate";
    if (!x86_descriptor(v, sel, e1, e2))
        return "#GP: gate selector beyond the descriptor table";
    if (!(*e2 & X86_DESC_S) || !(*e2 & X86_DESC_CS))
        return "#GP: gate selector is not a code segment";
    if (((*e2 >> X86_DESC_DPL_SHIFT) & 3) > cpl)
        return "#GP: handler code segment DPL above CPL";
    if (!(*e2 & X86_DESC_P))
        return "#NP: handler code segment not present";
    return NULL;
}

/* The pending exception's return address: the instruction for a fault, the next one for a
 * software interrupt (pend_pc is already there); as an offset in the old CS. */
static uint64_t x86_old_ip(const struct hv_vcpu *v, const struct x86_cpu *c)
{
    return v->pend_pc - c->seg[X86_SEG_CS].base;
}

/* Commits the new state: segment caches and hidden flags, then the registers. */
static int x86_enter(struct hv_vcpu *v, const struct x86_cpu *c, uint64_t rsp, uint64_t ip)
{
    int err = x86cpu_set(v, c);
    if (err)
        return err;
    uint64_t rflags = c->rflags;
    uc_reg_write(v->uc, UC_X86_REG_RFLAGS, &rflags);
    uc_reg_write(v->uc, UC_X86_REG_RSP, &rsp);
    uc_reg_write(v->uc, UC_X86_REG_RIP, &ip);
    if (v->pend_vec == 14)
        uc_reg_write(v->uc, UC_X86_REG_CR2, &v->pend_addr);
    uint64_t handler = c->seg[X86_SEG_CS].base + ip;
    v->resume_pc = handler;
    v->resume_valid = true;
    struct hv_ev_exception ev = { .vector = v->pend_vec,
                                  .name = excp_name(HV_ARCH_X86_64, v->pend_vec),
                                  .error_code = v->pend_err, .addr = v->pend_addr,
                                  .handler = handler, .delivered = true };
    return vm_emit(v->vm, (int32_t)v->id, v->icount, v->pend_pc, HV_EV_exception, &ev);
}

static int x86_real(struct hv_vcpu *v, struct x86_cpu *c)
{
    unsigned vec = v->pend_vec;
    uc_x86_mmr idtr = { 0 };
    uc_reg_read(v->uc, UC_X86_REG_IDTR, &idtr);
    uint32_t ent;
    if (vec * 4 + 3 > idtr.limit)
        return undelivered(v, "#GP: vector beyond the IVT limit (IDTR)");
    if (!read_u32(v, idtr.base + vec * 4, &ent))
        return undelivered(v, "IVT entry not readable");
    uint64_t rsp = 0;
    uc_reg_read(v->uc, UC_X86_REG_RSP, &rsp);
    struct x86_frame f = { .v = v, .ssp = c->seg[X86_SEG_SS].base, .sp = rsp,
                           .sp_mask = 0xffff };
    push(&f, c->rflags, 2);
    push(&f, c->seg[X86_SEG_CS].sel, 2);
    push(&f, x86_old_ip(v, c), 2);
    if (f.failed)
        return undelivered(v, "stack not writable");
    uint32_t sel = ent >> 16;
    c->seg[X86_SEG_CS].sel = sel;       /* real mode: selector and base only */
    c->seg[X86_SEG_CS].base = (uint64_t)sel << 4;
    c->rflags &= ~(X86_RFLAGS_IF | X86_RFLAGS_TF | X86_RFLAGS_AC | X86_RFLAGS_RF);
    return x86_enter(v, c, (rsp & ~0xffffULL) | (f.sp & 0xffff), ent & 0xffff);
}

/* get_ss_esp_from_tss(): the inner stack for privilege level dpl from the current TSS. */
static const char *x86_tss_stack(struct hv_vcpu *v, unsigned dpl, uint32_t *ss, uint32_t *esp)
{
    uc_x86_mmr tr = { 0 };
    uc_reg_read(v->uc, UC_X86_REG_TR, &tr);
    unsigned type = (tr.flags >> X86_DESC_TYPE_SHIFT) & 0xf;
    if (!(tr.flags & X86_DESC_P) || (type & 7) != 1)
        return "no valid TSS (TR) for the stack switch";
    unsigned shift = type >> 3, index = (dpl * 4 + 2) << shift;
    if (index + (4u << shift) - 1 > tr.limit)
        return "#TS: TSS too small for the stack switch";
    uint32_t lo, hi;
    if (!read_u32(v, tr.base + index, &lo) || !read_u32(v, tr.base + index + 4, &hi))
        return "TSS not readable";
    if (shift) {
        *esp = lo;
        *ss = hi & 0xffff;
    } else {
        *esp = lo & 0xffff;
        *ss = lo >> 16;
    }
    return NULL;
}

static int x86_protected(struct hv_vcpu *v, struct x86_cpu *c)
{
    unsigned vec = v->pend_vec, cpl = x86cpu_cpl(c);
    bool vm86 = (c->rflags & X86_RFLAGS_VM) != 0;
    uc_x86_mmr idtr = { 0 };
    uc_reg_read(v->uc, UC_X86_REG_IDTR, &idtr);
    uint32_t e1, e2;
    if (vec * 8 + 7 > idtr.limit)
        return undelivered(v, "#GP: vector beyond the IDT limit");
    if (!read_u32(v, idtr.base + vec * 8, &e1) || !read_u32(v, idtr.base + vec * 8 + 4, &e2))
        return undelivered(v, "IDT not readable");
    unsigned type = (e2 >> X86_DESC_TYPE_SHIFT) & 0x1f;
    if (type == 5)
        return undelivered(v, "task gate (task switches are not modeled)");
    if (type != 6 && type != 7 && type != 14 && type != 15)
        return undelivered(v, "#GP: not an interrupt or trap gate");
    if (v->pend_soft && ((e2 >> X86_DESC_DPL_SHIFT) & 3) < cpl)
        return undelivered(v, "#GP: software interrupt through a gate with DPL below CPL");
    if (!(e2 & X86_DESC_P))
        return undelivered(v, "#NP: gate not present");
    uint32_t sel = e1 >> 16, offset = (e2 & 0xffff0000u) | (e1 & 0xffff);
    uint32_t ce1, ce2;
    const char *why = x86_target_cs(v, sel, cpl, &ce1, &ce2);
    if (why)
        return undelivered(v, why);
    unsigned dpl = (ce2 & X86_DESC_C) ? cpl : (ce2 >> X86_DESC_DPL_SHIFT) & 3;
    bool new_stack = dpl < cpl;
    uint32_t ss = 0, esp = 0, se1 = 0, se2 = 0;
    uint64_t rsp = 0;
    uc_reg_read(v->uc, UC_X86_REG_RSP, &rsp);
    struct x86_frame f = { .v = v };
    if (new_stack) {
        if ((why = x86_tss_stack(v, dpl, &ss, &esp)))
            return undelivered(v, why);
        if ((ss & 0xfffc) == 0 || (ss & 3) != dpl || !x86_descriptor(v, ss, &se1, &se2) ||
            ((se2 >> X86_DESC_DPL_SHIFT) & 3) != dpl || !(se2 & X86_DESC_S) ||
            (se2 & X86_DESC_CS) || !(se2 & X86_DESC_W) || !(se2 & X86_DESC_P))
            return undelivered(v, "#TS: the TSS stack segment is not a usable one");
        f.ssp = seg_base(se1, se2);
        f.sp = esp;
        f.sp_mask = (se2 & X86_DESC_B) ? 0xffffffffULL : 0xffff;
    } else {
        if (vm86)
            return undelivered(v, "#GP: from virtual-8086 mode to a handler at CPL 3");
        f.ssp = c->seg[X86_SEG_SS].base;
        f.sp = rsp;
        f.sp_mask = (c->seg[X86_SEG_SS].flags & X86_DESC_B) ? 0xffffffffULL : 0xffff;
    }
    unsigned size = (type >> 3) ? 4 : 2;
    if (new_stack) {
        if (vm86) {
            push(&f, c->seg[X86_SEG_GS].sel, size);
            push(&f, c->seg[X86_SEG_FS].sel, size);
            push(&f, c->seg[X86_SEG_DS].sel, size);
            push(&f, c->seg[X86_SEG_ES].sel, size);
        }
        push(&f, c->seg[X86_SEG_SS].sel, size);
        push(&f, rsp, size);
    }
    push(&f, c->rflags, size);
    push(&f, c->seg[X86_SEG_CS].sel, size);
    push(&f, x86_old_ip(v, c), size);
    if (!v->pend_soft && x86_has_error_code(vec))
        push(&f, v->pend_err, size);
    if (f.failed)
        return undelivered(v, "stack not writable");
    if ((type & 1) == 0)
        c->rflags &= ~X86_RFLAGS_IF;
    c->rflags &= ~(X86_RFLAGS_TF | X86_RFLAGS_VM | X86_RFLAGS_RF | X86_RFLAGS_NT);
    if (new_stack) {
        if (vm86)
            for (unsigned s = 0; s < X86_NSEG; s++)
                if (s != X86_SEG_CS && s != X86_SEG_SS)
                    x86cpu_load_seg(c, s, 0, 0, 0, 0);
        x86cpu_load_seg(c, X86_SEG_SS, (ss & ~3u) | dpl, f.ssp, seg_limit(se1, se2), se2);
    }
    uint64_t nrsp = f.sp_mask == 0xffff ? (rsp & ~0xffffULL) | (f.sp & 0xffff)
                                        : (uint32_t)f.sp;
    x86cpu_load_seg(c, X86_SEG_CS, (sel & ~3u) | dpl, seg_base(ce1, ce2), seg_limit(ce1, ce2),
                    ce2);
    return x86_enter(v, c, nrsp, offset);
}

static int x86_long(struct hv_vcpu *v, struct x86_cpu *c)
{
    unsigned vec = v->pend_vec, cpl = x86cpu_cpl(c);
    uc_x86_mmr idtr = { 0 };
    uc_reg_read(v->uc, UC_X86_REG_IDTR, &idtr);
    uint32_t e1, e2, e3;
    if (vec * 16 + 15 > idtr.limit)
        return undelivered(v, "#GP: vector beyond the IDT limit");
    if (!read_u32(v, idtr.base + vec * 16, &e1) || !read_u32(v, idtr.base + vec * 16 + 4, &e2) ||
        !read_u32(v, idtr.base + vec * 16 + 8, &e3))
        return undelivered(v, "IDT not readable");
    unsigned type = (e2 >> X86_DESC_TYPE_SHIFT) & 0x1f;
    if (type != 14 && type != 15)
        return undelivered(v, "#GP: not a 64-bit interrupt or trap gate");
    if (v->pend_soft && ((e2 >> X86_DESC_DPL_SHIFT) & 3) < cpl)
        return undelivered(v, "#GP: software interrupt through a gate with DPL below CPL");
    if (!(e2 & X86_DESC_P))
        return undelivered(v, "#NP: gate not present");
    uint32_t sel = e1 >> 16;
    uint64_t offset = ((uint64_t)e3 << 32) | (e2 & 0xffff0000u) | (e1 & 0xffff);
    unsigned ist = e2 & 7;
    uint32_t ce1, ce2;
    const char *why = x86_target_cs(v, sel, cpl, &ce1, &ce2);
    if (why)
        return undelivered(v, why);
    if (!(ce2 & X86_DESC_L) || (ce2 & X86_DESC_B))
        return undelivered(v, "#GP: handler code segment is not a 64-bit one");
    unsigned dpl = (ce2 & X86_DESC_C) ? cpl : (ce2 >> X86_DESC_DPL_SHIFT) & 3;
    bool new_stack = dpl < cpl || ist != 0;
    uint64_t rsp = 0, sp;
    uc_reg_read(v->uc, UC_X86_REG_RSP, &rsp);
    if (new_stack) {
        /* get_rsp_from_tss(): RSPn at 4 + 8 n, ISTn at 36 + 8 (n - 1) */
        unsigned level = ist ? ist + 3 : dpl, index = 8 * level + 4;
        uc_x86_mmr tr = { 0 };
        uc_reg_read(v->uc, UC_X86_REG_TR, &tr);
        uint32_t lo, hi;
        if (!(tr.flags & X86_DESC_P))
            return undelivered(v, "no valid TSS (TR) for the stack switch");
        if (index + 7 > tr.limit)
            return undelivered(v, "#TS: TSS too small for the stack switch");
        if (!read_u32(v, tr.base + index, &lo) || !read_u32(v, tr.base + index + 4, &hi))
            return undelivered(v, "TSS not readable");
        sp = ((uint64_t)hi << 32) | lo;
    } else {
        if (c->rflags & X86_RFLAGS_VM)
            return undelivered(v, "#GP: from virtual-8086 mode to a handler at CPL 3");
        sp = rsp;
    }
    struct x86_frame f = { .v = v, .sp = sp & ~0xfULL, .sp_mask = ~0ULL };
    push(&f, c->seg[X86_SEG_SS].sel, 8);
    push(&f, rsp, 8);
    push(&f, c->rflags, 8);
    push(&f, c->seg[X86_SEG_CS].sel, 8);
    push(&f, x86_old_ip(v, c), 8);
    if (!v->pend_soft && x86_has_error_code(vec))
        push(&f, v->pend_err, 8);
    if (f.failed)
        return undelivered(v, "stack not writable");
    if ((type & 1) == 0)
        c->rflags &= ~X86_RFLAGS_IF;
    c->rflags &= ~(X86_RFLAGS_TF | X86_RFLAGS_VM | X86_RFLAGS_RF | X86_RFLAGS_NT);
    if (new_stack)
        x86cpu_load_seg(c, X86_SEG_SS, dpl, 0, 0, dpl << X86_DESC_DPL_SHIFT);
    x86cpu_load_seg(c, X86_SEG_CS, (sel & ~3u) | dpl, seg_base(ce1, ce2), seg_limit(ce1, ce2),
                    ce2);
    return x86_enter(v, c, f.sp, offset);
}

static int x86_deliver(struct hv_vcpu *v)
{
    struct x86_cpu c;
    int err = x86cpu_get(v, &c);
    if (err)
        return err;
    if (!(c.cr0 & 1))
        return x86_real(v, &c);
    return x86cpu_long_mode(&c) ? x86_long(v, &c) : x86_protected(v, &c);
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
    v->pend_soft = false;
    v->pend_addr = 0;
    v->pend_pc = v->in_exit ? v->exit_pc : vcpu_read_pc(v);
}
