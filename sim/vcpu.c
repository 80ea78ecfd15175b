/*
 * vcpu.c - one vCPU: its Unicorn engine, the hooks that count instructions and turn traps into
 * exits, and the slice loop.
 *
 * Counting: hook_block() runs before every translation block executes (Unicorn emits the
 * block hook ahead of the block's exit-request check, so uc_emu_stop() there stops before any
 * of the block's instructions run). It adds the block's instruction count, or stops the engine
 * when the slice is spent or a stop was requested for the next block boundary. Exits inside a
 * block set the exact count from the instruction's index within the block.
 *
 * Run state of a vCPU (transitions by vcpu_set_state() in vm.c):
 *
 *     RUNNABLE --GUEST_DONE--> DONE
 *        |  ^ \--hlt/wfi, no model answer--> HALTED
 *        |  +---- hv_vcpu_start() ---------- STOPPED <-- model STOP_VCPU / vcpu_starts=false
 *        +--assert / no handler for an exception--> FAILED (the run ends)
 *
 * Invariants:
 *   1. v->icount equals the instructions retired by the guest, at every point where hvsim
 *      code runs between blocks; inside a block, v->blk_base + index gives the exact count.
 *   2. After any stop that hvsim requested, v->resume_pc holds where to continue (Unicorn does
 *      not restore the pc itself once code hooks exist).
 *   3. Hooks are only added between uc_emu_start calls, followed by a cache flush.
 *   4. x86: v->xc_fresh is set only by hook_invalid(), after which the engine stops, and is
 *      cleared at the next uc_emu_start, exception delivery or slice: while it is set, v->xc
 *      is the engine's segment state and Unicorn's remembered fault is clear (x86cpu_sync()),
 *      so the restart after a vmcall reads no context again.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"


static inline void stop_next(struct hv_vcpu *v, enum hv_stop why)
{
    /* The strongest reason wins: ending the run beats stopping a vCPU beats pausing. */
    if (!v->stop_next_block || why > v->stop_next)
        v->stop_next = why;
    v->stop_next_block = true;
}

void vcpu_stop_next(struct hv_vcpu *v, enum hv_stop why)
{
    stop_next(v, why);
}

/* Records why the engine stops and where to resume, without requesting a stop: for hooks
 * after which Unicorn stops by itself (the invalid-instruction hook). Calling uc_emu_stop()
 * there as well leaves a stale exit request when code hooks exist, and the next block of the
 * next run exits before its first instruction. */
static void stop_noted(struct hv_vcpu *v, enum hv_stop why, uint64_t resume)
{
    if (why > v->stop)
        v->stop = why;
    v->resume_pc = resume;
    v->resume_valid = true;
}

static void stop_now(struct hv_vcpu *v, enum hv_stop why, uint64_t resume)
{
    stop_noted(v, why, resume);
    uc_emu_stop(v->uc);
}

/* x86: CS.base now. Unicorn's RIP is the offset in CS, while its block and code hooks,
 * memory callbacks and its address space are linear (CS.base + RIP); every x86 pc hvsim keeps
 * is linear. */
static uint64_t x86_cs_base(struct hv_vcpu *v)
{
    struct x86_cpu c;
    return x86cpu_get(v, &c) ? 0 : c.seg[X86_SEG_CS].base;
}

uint64_t vcpu_read_pc(struct hv_vcpu *v)
{
    uint64_t pc = 0;
    switch (v->vm->arch) {
    case HV_ARCH_X86_64:
        uc_reg_read(v->uc, UC_X86_REG_RIP, &pc);
        pc += x86_cs_base(v);
        break;
    case HV_ARCH_AARCH64: uc_reg_read(v->uc, UC_ARM64_REG_PC, &pc); break;
    default: {
        uint32_t p = 0;
        uc_reg_read(v->uc, UC_ARM_REG_PC, &p);
        pc = p;
    }
    }
    return pc;
}

void vcpu_write_pc(struct hv_vcpu *v, uint64_t pc)
{
    switch (v->vm->arch) {
    case HV_ARCH_X86_64:
        pc -= x86_cs_base(v);
        uc_reg_write(v->uc, UC_X86_REG_RIP, &pc);
        break;
    case HV_ARCH_AARCH64: uc_reg_write(v->uc, UC_ARM64_REG_PC, &pc); break;
    default: {
        uint32_t p = (uint32_t)pc;
        uc_reg_write(v->uc, UC_ARM_REG_PC, &p);
    }
    }
}

bool hv_vcpu_thumb(struct hv_vcpu *v)
{
    uint32_t cpsr = 0;
    if (v->vm->arch != HV_ARCH_ARM)
        return false;
    uc_reg_read(v->uc, UC_ARM_REG_CPSR, &cpsr);
    return (cpsr & A32_CPSR_T) != 0;
}

csh vcpu_cs(const struct hv_vcpu *v)
{
    return sim_blk_cs(v->vm, v->blk_thumb, v->blk_x86_bits);
}

/*
 * Drops translated code for [va, va+len) in v's engine. Only targeted removal is used: after
 * Unicorn 2.0.1's full flush (UC_CTL_TB_FLUSH) a later #UD or vmcall no longer reaches the
 * invalid-instruction hook and the engine re-executes the faulting block forever.
 */
void vcpu_drop_code(struct hv_vcpu *v, uint64_t va, uint64_t len)
{
    uc_ctl(v->uc, HV_UC_CTL(UC_CTL_TB_REMOVE_CACHE, 2, UC_CTL_IO_WRITE), va, va + len);
    blk_clear(&v->blocks);
    v->last_blk = NULL;
}

/* Sets exit_pc / exit_icount for the instruction at pc in the current block. */
static void exit_at(struct hv_vcpu *v, uint64_t pc)
{
    struct hv_blk *b = blk_lookup(&v->blocks, v->blk_pc, v->blk_size);
    uint32_t idx = 0;
    v->exit_pc = pc;
    int err = b ? blk_index(v, b, pc, &idx) : HV_EINVAL;
    if (err == HV_ENOMEM)   /* the icount would be a guess: the run ends */
        vm_fail(v->vm, hv_error_set(err, "vCPU %u: the instruction offsets of a block", v->id));
    if (!err)
        v->exit_icount = v->blk_base + idx;
    else
        v->exit_icount = v->icount ? v->icount - 1 : 0;
}

/* ---- x86 special instructions: found when a block is first seen, hooked by address ---- */

enum special { SP_NONE, SP_RDMSR, SP_WRMSR, SP_MOVCR, SP_INVLPG, SP_RDTSC, SP_RDTSCP };

static enum special x86_special(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] & 0xf0) == 0x40) /* REX */
        i++;
    if (i + 2 > n || p[i] != 0x0f)
        return SP_NONE;
    switch (p[i + 1]) {
    case 0x32: return SP_RDMSR;
    case 0x30: return SP_WRMSR;
    case 0x22: return SP_MOVCR;
    case 0x31: return SP_RDTSC;
    case 0x01:
        if (i + 3 <= n && (p[i + 2] & 0xc0) != 0xc0 && ((p[i + 2] >> 3) & 7) == 7)
            return SP_INVLPG;
        if (i + 3 <= n && p[i + 2] == 0xf9)
            return SP_RDTSCP;
        return SP_NONE;
    default: return SP_NONE;
    }
}

static bool is_hooked(const struct hv_vcpu *v, uint64_t a)
{
    for (size_t i = 0; i < v->nhooked; i++)
        if (v->hooked[i] == a)
            return true;
    for (size_t i = 0; i < v->nto_hook; i++)
        if (v->to_hook[i] == a)
            return true;
    return false;
}

/* Scans a new block (x86_bits as in struct hv_blk) for instructions Unicorn cannot hook by
 * type; returns true if any need a hook that is not installed yet. */
static bool x86_scan_block(struct hv_vcpu *v, uint64_t pc, uint32_t size, unsigned x86_bits)
{
    uint8_t code[4096];
    uint32_t n = size < sizeof code ? size : sizeof code;
    if (uc_mem_read(v->uc, pc, code, n) != UC_ERR_OK)
        return false;
    bool maybe = false;
    for (uint32_t i = 0; i + 1 < n; i++) {
        if (code[i] == 0x0f && (code[i + 1] == 0x30 || code[i + 1] == 0x32 ||
                                code[i + 1] == 0x22 || code[i + 1] == 0x01 ||
                                code[i + 1] == 0x31)) {
            maybe = true;
            break;
        }
    }
    if (!maybe)
        return false;
    bool need = false;
    csh cs = sim_blk_cs(v->vm, false, x86_bits);
    cs_insn *insn = cs_malloc(cs);
    const uint8_t *p = code;
    size_t left = n;
    uint64_t a = pc;
    while (cs_disasm_iter(cs, &p, &left, &a, insn)) {
        if (x86_special(insn->bytes, insn->size) != SP_NONE && !is_hooked(v, insn->address)) {
            uint64_t *nt = realloc(v->to_hook, (v->nto_hook + 1) * sizeof *nt);
            if (!nt) {
                /* a special instruction left unhooked would run wrong: the run ends */
                vm_fail(v->vm, hv_error_set(HV_ENOMEM, "vCPU %u: the hooks of a block", v->id));
                need = true;
                break;
            }
            v->to_hook = nt;
            v->to_hook[v->nto_hook++] = insn->address;
            need = true;
        }
    }
    cs_free(insn, 1);
    return need;
}

/* ---- arm: conditional SMC/HVC, found when a block is first seen, hooked by address ---- */

/* An A32 SMC or HVC with a condition other than AL (or 1111, which is not SMC/HVC). */
static bool a32_cond_call(uint32_t insn)
{
    unsigned cond = insn >> 28;
    if (cond >= 0xe)
        return false;
    return (insn & 0x0ffffff0u) == 0x01600070u /* SMC */ ||
           (insn & 0x0ff000f0u) == 0x01400070u /* HVC */;
}

/*
 * A conditional SMC/HVC ends its translation block (it may raise an exception), so only the
 * block's last instruction can be one. When its condition fails QEMU does not trap it, but
 * hardware may (ARM DDI 0406C B1.14.2), and KVM then only advances the PC: a code hook on the
 * instruction lets the model see that case. Returns true if a hook is still to be installed.
 */
static bool a32_scan_block(struct hv_vcpu *v, uint64_t pc, uint32_t size)
{
    uint32_t insn = 0;
    uint64_t last = pc + size - 4;
    if (size < 4 || uc_mem_read(v->uc, last, &insn, 4) != UC_ERR_OK || !a32_cond_call(insn) ||
        is_hooked(v, last))
        return false;
    uint64_t *nt = realloc(v->to_hook, (v->nto_hook + 1) * sizeof *nt);
    if (!nt) {
        vm_fail(v->vm, hv_error_set(HV_ENOMEM, "vCPU %u: the hooks of a block", v->id));
        return true;
    }
    v->to_hook = nt;
    v->to_hook[v->nto_hook++] = last;
    return true;
}

/* ARM ARM A8.3 ConditionPassed(), from CPSR.NZCV. */
static bool a32_cond_passed(unsigned cond, uint32_t cpsr)
{
    bool n = (cpsr >> 31) & 1, z = (cpsr >> 30) & 1, c = (cpsr >> 29) & 1, vf = (cpsr >> 28) & 1;
    bool r;
    switch (cond >> 1) {
    case 0: r = z; break;                 /* EQ / NE */
    case 1: r = c; break;                 /* CS / CC */
    case 2: r = n; break;                 /* MI / PL */
    case 3: r = vf; break;                /* VS / VC */
    case 4: r = c && !z; break;           /* HI / LS */
    case 5: r = n == vf; break;           /* GE / LT */
    case 6: r = n == vf && !z; break;     /* GT / LE */
    default: return true;                 /* AL */
    }
    return (cond & 1) ? !r : r;
}

static enum hv_exit_action hypercall_exit(struct hv_vcpu *v, struct hv_exit_hypercall *e);
static void hypercall_finish(struct hv_vcpu *v, enum hv_exit_action act, uint64_t pc,
                             uint64_t next, bool inside);

/*
 * Runs before a conditional SMC/HVC. A passing condition is left to the trap (hook_intr), so
 * the call is reported once; a failing one is reported here with cond_failed set. The default
 * answer is what a CPU that does not trap it does: nothing, the pc moves past it.
 */
static void hook_a32_cond(uc_engine *uc, uint64_t pc, uint32_t size, void *ud)
{
    struct hv_vcpu *v = ud;
    uint32_t insn = 0, cpsr = 0;
    if (v->nisv.pending || uc_mem_read(uc, pc, &insn, 4) != UC_ERR_OK || !a32_cond_call(insn))
        return;
    uc_reg_read(uc, UC_ARM_REG_CPSR, &cpsr);
    if ((cpsr & A32_CPSR_T) || a32_cond_passed(insn >> 28, cpsr))
        return;
    bool smc = (insn & 0x0ffffff0u) == 0x01600070u;
    exit_at(v, pc);
    struct hv_exit_hypercall e = {
        .insn = smc ? HV_HC_SMC : HV_HC_HVC,
        .imm = smc ? (insn & 0xf) : (((insn >> 4) & 0xfff0) | (insn & 0xf)),
        .pc = pc, .len = 4, .aarch32 = true, .cond_failed = true,
    };
    v->in_exit = true;
    enum hv_exit_action act = hypercall_exit(v, &e);
    v->in_exit = false;
    /* Handled: the instruction is its block's last, so it is counted already and falls
     * through to pc + 4 by itself (its condition fails). */
    hypercall_finish(v, act, pc, pc + 4, true);
}

/*
 * x86: the length of the REP-prefixed string instruction (movs, cmps, stos, lods, scas, ins,
 * outs) that code starts with, or 0; *cnt_bits the width of its count register in code of
 * bits (16, 32 or 64).
 */
static unsigned x86_rep_string(const uint8_t *p, size_t n, unsigned bits, uint8_t *cnt_bits)
{
    bool rep = false, a67 = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (b == 0xf2 || b == 0xf3)
            rep = true;
        else if (b == 0x67)
            a67 = true;
        /* 0x40-0x4f are REX prefixes only in 64-bit code (inc/dec elsewhere) */
        else if (!(b == 0x66 || b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e ||
                   b == 0x64 || b == 0x65 || (bits == 64 && (b & 0xf0) == 0x40))) {
            if (!(rep && ((b >= 0xa4 && b <= 0xa7) || (b >= 0xaa && b <= 0xaf) ||
                          (b >= 0x6c && b <= 0x6f))))
                return 0;
            /* the count register is the address size: the mode's, toggled by 0x67 (64 -> 32,
             * 32 -> 16, 16 -> 32; SDM vol. 1, 3.6 "Operand-size and address-size attributes") */
            *cnt_bits = (uint8_t)(!a67 ? bits : bits == 64 ? 32 : bits == 32 ? 16 : 32);
            return (unsigned)i + 1;
        }
    }
    return 0;
}

/*
 * x86: QEMU runs a REP string instruction one element per execution of its block: the block
 * ends with the instruction and jumps back to it until the count is spent, and a last
 * execution finds the count 0 and jumps past it (target/i386/translate.c, gen_repz_*). hvsim
 * counts one instruction per element, or one for an instruction that finds its count 0 on
 * arrival: a block b at pc that starts with such an instruction and follows the block that
 * ended with it (the one just before, ending at pc + its length) is a further element, and
 * is no instruction at all once the count is 0.
 */
static uint32_t rep_count(struct hv_vcpu *v, const struct hv_blk *b, uint64_t pc)
{
    if (!b->rep_len || v->blk_pc + v->blk_size != pc + b->rep_len)
        return b->icount;
    uint64_t c = 0;
    uc_reg_read(v->uc, UC_X86_REG_RCX, &c);
    if (b->rep_cnt_bits < 64)
        c &= (1ULL << b->rep_cnt_bits) - 1;
    return c ? b->icount : 0;
}

/*
 * The block hook's slow path: a stop is due at this block boundary, or the block is not in the
 * table yet (its instruction count is looked up once, and the block scanned for instructions
 * that need a hook of their own).
 */
__attribute__((noinline, cold)) static void block_slow(uc_engine *uc, uint64_t pc,
                                                       uint32_t size, struct hv_vcpu *v)
{
    if (v->stop_next_block || v->icount >= v->slice_end) {
        if (v->nisv.pending)
            return; /* the engine stops before this block (mmio.c) */
        enum hv_stop why = v->stop_next_block ? v->stop_next : STOP_SLICE;
        v->stop_next_block = false;
        stop_now(v, why, pc);
        return;
    }
    uint32_t icount;
    bool thumb = false;
    unsigned x86_bits = 0;
    uint64_t cs_base = 0;
    if (v->vm->arch == HV_ARCH_X86_64) {
        uc_tb tb;
        struct x86_cpu c;
        if (hv_uc_request_cache(uc, pc, &tb) != UC_ERR_OK || x86cpu_get(v, &c)) {
            stop_now(v, STOP_END, pc);
            vm_end(v->vm, HV_OUT_ERROR);
            return;
        }
        icount = tb.icount;
        /* the mode the block was translated for: a block is looked up by its linear pc
         * and size, so code run in two modes at one address keeps the first one's */
        x86_bits = x86cpu_bits(&c) == 64 ? 0 : x86cpu_bits(&c);
        cs_base = c.seg[X86_SEG_CS].base;
        if (x86_scan_block(v, pc, size, x86_bits)) {
            stop_now(v, STOP_RETRANSLATE, pc);
            return;
        }
    } else if (v->vm->arch == HV_ARCH_ARM && hv_vcpu_thumb(v)) {
        /* T32: 2- and 4-byte instructions; the translator knows how many */
        uc_tb tb;
        if (hv_uc_request_cache(uc, pc, &tb) != UC_ERR_OK) {
            stop_now(v, STOP_END, pc);
            vm_end(v->vm, HV_OUT_ERROR);
            return;
        }
        icount = tb.icount;
        thumb = true;
    } else {
        icount = size / 4;
        if (v->vm->arch == HV_ARCH_ARM && a32_scan_block(v, pc, size)) {
            stop_now(v, STOP_RETRANSLATE, pc);
            return;
        }
    }
    struct hv_blk *b = blk_insert(&v->blocks, pc, size, icount);
    if (!b) {
        stop_now(v, STOP_END, pc);
        vm_fail(v->vm, hv_error_set(HV_ENOMEM, "vCPU %u: the block table", v->id));
        return;
    }
    b->thumb = thumb;
    b->x86_bits = (uint8_t)x86_bits;
    b->cs_base = cs_base;
    if (v->vm->arch == HV_ARCH_X86_64) {
        uint8_t code[15];
        size_t n = sizeof code;
        if (uc_mem_read(uc, pc, code, n) != UC_ERR_OK) /* near the end of a mapping */
            for (n = 0; n < sizeof code && uc_mem_read(uc, pc + n, &code[n], 1) == 0; n++)
                ;
        b->rep_len = (uint8_t)x86_rep_string(code, n, x86_bits ? x86_bits : 64,
                                             &b->rep_cnt_bits);
    }
    uint32_t add = b->rep_len ? rep_count(v, b, pc) : icount;
    v->last_blk = b;
    v->blk_pc = pc;
    v->blk_size = size;
    v->blk_thumb = thumb;
    v->blk_x86_bits = b->x86_bits;
    v->blk_cs_base = cs_base;
    v->blk_base = v->icount;
    v->icount += add;
}

/* The block hook when the block is not the last one: one probe of the table. */
__attribute__((noinline)) static void block_switch(uc_engine *uc, uint64_t pc, uint32_t size,
                                                   struct hv_vcpu *v)
{
    struct hv_blk *b;
    if (__builtin_expect(v->stop_next_block || v->icount >= v->slice_end, 0) ||
        !(b = blk_lookup(&v->blocks, pc, size))) {
        block_slow(uc, pc, size, v);
        return;
    }
    uint32_t add = b->rep_len ? rep_count(v, b, pc) : b->icount;
    v->last_blk = b;
    v->blk_pc = pc;
    v->blk_size = size;
    v->blk_thumb = b->thumb;
    v->blk_x86_bits = b->x86_bits;
    v->blk_cs_base = b->cs_base;
    v->blk_base = v->icount;
    v->icount += add;
}

/*
 * Runs before every block. The fast path, the last block again (a loop), is a leaf that reads
 * and writes only the vCPU: the current block's pc, size and state stay as they are, only the
 * count moves. A block that starts with a REP string instruction repeats once per element and
 * takes the other path, where its count decides (rep_count()).
 */
static void hook_block(uc_engine *uc, uint64_t pc, uint32_t size, void *ud)
{
    struct hv_vcpu *v = ud;
    struct hv_blk *b = v->last_blk;
    if (__builtin_expect(!v->stop_next_block && v->icount < v->slice_end && b &&
                             pc == v->blk_pc && size == v->blk_size && !b->rep_len, 1)) {
        v->blk_base = v->icount;
        v->icount += b->icount;
        return;
    }
    block_switch(uc, pc, size, v);
}

static enum hv_exit_action model_msr(struct hv_vcpu *v, struct hv_exit_msr *e)
{
    const struct hv_model_ops *m = v->vm->model;
    enum hv_exit_action act = m->msr ? m->msr(v, e) : HV_ACT_DEFAULT;
    if (act == HV_ACT_DEFAULT) {
        /* no hypervisor: Unicorn's own MSR file answers */
        uc_x86_msr msr = { .rid = e->index, .value = e->value };
        if (e->write)
            uc_reg_write(v->uc, UC_X86_REG_MSR, &msr);
        else {
            uc_reg_read(v->uc, UC_X86_REG_MSR, &msr);
            e->value = msr.value;
        }
        act = HV_ACT_HANDLED;
    }
    return act;
}

/*
 * The guest's time-stamp counter: the VM clock, hv_vm_now(), i.e. a 1 GHz TSC on which one
 * guest instruction retired by any vCPU is one tick, the same for every vCPU (an invariant,
 * synchronised TSC) and exact at the instruction an exit handles (call it with v->in_exit
 * set). Writes to IA32_TSC or IA32_TSC_ADJUST do not move it. Every TSC value the guest sees
 * comes from here: a TSC offset or scaling (a model's, later) changes only this function.
 */
uint64_t vcpu_tsc(struct hv_vcpu *v)
{
    return hv_vm_now(v->vm);
}

#define X86_CR4_TSD     (1ULL << 2)
#define X86_MSR_TSC_AUX 0xc0000103u

/*
 * rdtsc / rdtscp at pc, len bytes long, before it executes. Unicorn's own helper_rdtsc would
 * read host ticks (cpu_get_tsc()), so the instruction is emulated here and skipped: EDX:EAX =
 * vcpu_tsc() with the upper halves of RAX and RDX zeroed, and for rdtscp ECX = IA32_TSC_AUX
 * (Unicorn's env->tsc_aux, as the guest's wrmsr left it in Unicorn's MSR file; a model that
 * answers wrmsr of TSC_AUX itself does not feed it). As in helper_rdtsc, CR4.TSD with
 * CPL > 0 raises #GP(0) instead and nothing retires. Each read is an `rdtsc` event.
 */
static void x86_rdtsc(struct hv_vcpu *v, uint64_t pc, unsigned len, bool rdtscp)
{
    uint64_t cr4 = 0;
    struct x86_cpu c;
    uc_reg_read(v->uc, UC_X86_REG_CR4, &cr4);
    exit_at(v, pc);
    v->in_exit = true;
    if ((cr4 & X86_CR4_TSD) && (x86cpu_get(v, &c) || x86cpu_cpl(&c) != 0)) {
        v->icount = v->exit_icount;
        hv_vcpu_inject(v, 13, 0);
        v->in_exit = false;
        stop_now(v, STOP_EXCEPTION, pc);
        return;
    }
    uint64_t tsc = vcpu_tsc(v);
    uint64_t lo = (uint32_t)tsc, hi = tsc >> 32;
    uc_reg_write(v->uc, UC_X86_REG_RAX, &lo);
    uc_reg_write(v->uc, UC_X86_REG_RDX, &hi);
    if (rdtscp) {
        uc_x86_msr aux = { .rid = X86_MSR_TSC_AUX, .value = 0 };
        uc_reg_read(v->uc, UC_X86_REG_MSR, &aux);
        uint64_t ecx = (uint32_t)aux.value;
        uc_reg_write(v->uc, UC_X86_REG_RCX, &ecx);
    }
    struct hv_ev_rdtsc ev = { .value = tsc, .p = rdtscp };
    hv_vcpu_emit(v, HV_EV_rdtsc, &ev);
    v->in_exit = false;
    v->icount = v->exit_icount + 1;
    /* skip the instruction: writing the pc inside a hook quits the block and resumes there */
    uint64_t next = pc + len - v->blk_cs_base;
    uc_reg_write(v->uc, UC_X86_REG_RIP, &next);
}

static void hook_special(uc_engine *uc, uint64_t pc, uint32_t size, void *ud)
{
    struct hv_vcpu *v = ud;
    uint8_t bytes[16] = { 0 };
    size_t n = sizeof bytes;
    if (uc_mem_read(uc, pc, bytes, n) != UC_ERR_OK) {
        /* the instruction ends near the end of a mapping: the bytes that are there (missing
         * this hook would let an rdtsc read host ticks) */
        for (n = 0; n < sizeof bytes && uc_mem_read(uc, pc + n, &bytes[n], 1) == UC_ERR_OK; n++)
            ;
    }
    enum special sp = x86_special(bytes, n);
    if (sp == SP_RDTSC || sp == SP_RDTSCP) {
        unsigned rex = 0;
        while ((bytes[rex] & 0xf0) == 0x40) /* x86_special() found 0f after these */
            rex++;
        x86_rdtsc(v, pc, rex + (sp == SP_RDTSCP ? 3 : 2), sp == SP_RDTSCP);
        return;
    }
    if (sp == SP_MOVCR || sp == SP_INVLPG) {
        /* both end their block; re-derive the engine's mappings before the next one */
        v->remap_pending = true;
        v->remap_why = sp == SP_MOVCR ? "cr write" : "invlpg";
        stop_next(v, STOP_REMAP);
        return;
    }
    if (sp != SP_RDMSR && sp != SP_WRMSR)
        return;
    exit_at(v, pc);
    v->in_exit = true;
    uint64_t rax = 0, rcx = 0, rdx = 0;
    uc_reg_read(uc, UC_X86_REG_RAX, &rax);
    uc_reg_read(uc, UC_X86_REG_RCX, &rcx);
    uc_reg_read(uc, UC_X86_REG_RDX, &rdx);
    struct hv_exit_msr e = { .index = (uint32_t)rcx, .write = sp == SP_WRMSR,
                             .value = (rdx << 32) | (uint32_t)rax };
    enum hv_exit_action act = model_msr(v, &e);
    struct hv_ev_msr ev = { .index = e.index, .write = e.write, .value = e.value, .gp = e.gp };
    hv_vcpu_emit(v, HV_EV_msr, &ev);
    v->in_exit = false;
    if (e.gp) {
        v->icount = v->exit_icount;
        hv_vcpu_inject(v, 13, 0);
        stop_now(v, STOP_EXCEPTION, pc);
        return;
    }
    if (!e.write) {
        uint64_t lo = (uint32_t)e.value, hi = e.value >> 32;
        uc_reg_write(uc, UC_X86_REG_RAX, &lo);
        uc_reg_write(uc, UC_X86_REG_RDX, &hi);
    }
    if (act == HV_ACT_RETRY) {
        v->icount = v->exit_icount;
        stop_now(v, STOP_NONE, pc);
        return;
    }
    v->icount = v->exit_icount + 1;
    if (act == HV_ACT_END_RUN || act == HV_ACT_STOP_VCPU) {
        if (act == HV_ACT_STOP_VCPU)
            hv_vcpu_stop(v, "model");
        else
            vm_end(v->vm, HV_OUT_DONE);
        stop_now(v, act == HV_ACT_END_RUN ? STOP_END : STOP_VCPU, pc + 2);
        return;
    }
    /* skip the instruction: writing the pc inside a hook quits the block and resumes there */
    uint64_t next = pc + 2 - v->blk_cs_base;
    uc_reg_write(uc, UC_X86_REG_RIP, &next);
}

/* ---- port I/O, cpuid, hypercalls ---- */

static void pio_exit(struct hv_vcpu *v, uint16_t port, unsigned size, bool write, uint64_t *data)
{
    struct hv_exit_pio e = { .port = port, .size = (uint8_t)size, .write = write, .data = *data };
    const struct hv_model_ops *m = v->vm->model;
    enum hv_exit_action act = m->pio ? m->pio(v, &e) : HV_ACT_DEFAULT;
    if (act == HV_ACT_DEFAULT && !write)
        e.data = size >= 4 ? 0xffffffffULL : ((1ULL << (size * 8)) - 1); /* nothing there */
    if (!write)
        *data = e.data;
    struct hv_ev_pio ev = { .port = port, .size = size, .write = write, .data = e.data };
    hv_vcpu_emit(v, HV_EV_pio, &ev);
    if (act == HV_ACT_END_RUN) {
        vm_end(v->vm, HV_OUT_DONE);
        stop_next(v, STOP_END);
    } else if (act == HV_ACT_STOP_VCPU) {
        hv_vcpu_stop(v, "model");
        stop_next(v, STOP_VCPU);
    }
}

/* Exit position for an instruction hook: RIP may be stale there (see pcfind.c); it is an
 * offset in the current block's code segment. */
static void exit_at_insn(struct hv_vcpu *v, const unsigned *ids, size_t nids)
{
    uint64_t hint = 0, pc;
    uc_reg_read(v->uc, UC_X86_REG_RIP, &hint);
    hint += v->blk_cs_base;
    uint32_t idx;
    if (hint < v->blk_pc || hint >= v->blk_pc + v->blk_size)
        hint = v->blk_pc;
    if (pcfind_insn(v, hint, ids, nids, &pc, &idx) == 0) {
        v->exit_pc = pc;
        v->exit_icount = v->blk_base + idx;
    } else {
        exit_at(v, hint);
    }
}

static const unsigned out_ids[] = { X86_INS_OUT, X86_INS_OUTSB, X86_INS_OUTSW, X86_INS_OUTSD };
static const unsigned in_ids[] = { X86_INS_IN, X86_INS_INSB, X86_INS_INSW, X86_INS_INSD };
static const unsigned cpuid_ids[] = { X86_INS_CPUID };

static void hook_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *ud)
{
    struct hv_vcpu *v = ud;
    exit_at_insn(v, out_ids, 4);
    v->in_exit = true;
    if (port == HV_UCALL_PORT && size == 4) {
        vm_ucall(v, value);
    } else {
        uint64_t d = value;
        pio_exit(v, (uint16_t)port, (unsigned)size, true, &d);
    }
    v->in_exit = false;
}

static uint32_t hook_in(uc_engine *uc, uint32_t port, int size, void *ud)
{
    struct hv_vcpu *v = ud;
    exit_at_insn(v, in_ids, 4);
    v->in_exit = true;
    uint64_t d = 0;
    pio_exit(v, (uint16_t)port, (unsigned)size, false, &d);
    v->in_exit = false;
    return (uint32_t)d;
}

/* Unicorn's own CPUID answer, from a private engine that runs one cpuid instruction. */
static int native_cpuid(struct hv_vm *vm, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    static uc_engine *scratch;
    static const uint8_t code[] = { 0x0f, 0xa2 };
    if (!scratch) {
        if (uc_open(UC_ARCH_X86, UC_MODE_64, &scratch) != UC_ERR_OK)
            return HV_EUNICORN;
        uc_mem_map(scratch, 0x1000, 0x1000, UC_PROT_ALL);
        uc_mem_write(scratch, 0x1000, code, sizeof code);
    }
    uint64_t a = leaf, c = sub, zero = 0;
    uc_reg_write(scratch, UC_X86_REG_RAX, &a);
    uc_reg_write(scratch, UC_X86_REG_RCX, &c);
    uc_reg_write(scratch, UC_X86_REG_RBX, &zero);
    uc_reg_write(scratch, UC_X86_REG_RDX, &zero);
    if (uc_emu_start(scratch, 0x1000, 0x1000 + sizeof code, 0, 0) != UC_ERR_OK)
        return HV_EUNICORN;
    static const int regs[4] = { UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX };
    for (int i = 0; i < 4; i++) {
        uint64_t r = 0;
        uc_reg_read(scratch, regs[i], &r);
        out[i] = (uint32_t)r;
    }
    (void)vm;
    return 0;
}

static int hook_cpuid(uc_engine *uc, void *ud)
{
    struct hv_vcpu *v = ud;
    exit_at_insn(v, cpuid_ids, 1);
    v->in_exit = true;
    uint64_t rax = 0, rcx = 0;
    uc_reg_read(uc, UC_X86_REG_RAX, &rax);
    uc_reg_read(uc, UC_X86_REG_RCX, &rcx);
    uint32_t nat[4] = { 0 };
    native_cpuid(v->vm, (uint32_t)rax, (uint32_t)rcx, nat);
    struct hv_exit_cpuid e = { .leaf = (uint32_t)rax, .subleaf = (uint32_t)rcx, .eax = nat[0],
                               .ebx = nat[1], .ecx = nat[2], .edx = nat[3] };
    const struct hv_model_ops *m = v->vm->model;
    if (m->cpuid)
        m->cpuid(v, &e);
    uint64_t out[4] = { e.eax, e.ebx, e.ecx, e.edx };
    static const int regs[4] = { UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX };
    for (int i = 0; i < 4; i++)
        uc_reg_write(uc, regs[i], &out[i]);
    struct hv_ev_cpuid ev = { .leaf = e.leaf, .subleaf = e.subleaf, .eax = e.eax, .ebx = e.ebx,
                              .ecx = e.ecx, .edx = e.edx };
    hv_vcpu_emit(v, HV_EV_cpuid, &ev);
    v->in_exit = false;
    return 1; /* skip Unicorn's cpuid: the registers above are the answer */
}

static const char *const hc_names[] = { "vmcall", "vmmcall", "hvc", "smc" };

/* Runs a hypercall exit described by e; returns the action. The default (no model answer) is
 * HANDLED: the pc moves past the instruction, registers unchanged. */
static enum hv_exit_action hypercall_exit(struct hv_vcpu *v, struct hv_exit_hypercall *e)
{
    const struct hv_model_ops *m = v->vm->model;
    uint64_t nr = hv_vcpu_gpr(v, 0);
    enum hv_hc_insn insn = e->insn;
    uint64_t imm = e->imm;
    bool cond_failed = e->cond_failed;
    enum hv_exit_action act = m->hypercall ? m->hypercall(v, e) : HV_ACT_DEFAULT;
    struct hv_ev_hypercall ev = { .insn = hc_names[insn], .imm = imm, .nr = nr,
                                  .handled_by = act == HV_ACT_DEFAULT ? "none" : m->name,
                                  .cond_failed = cond_failed };
    hv_vcpu_emit(v, HV_EV_hypercall, &ev);
    return act == HV_ACT_DEFAULT ? HV_ACT_HANDLED : act;
}


/* Applies a hypercall action after the exit; next = the pc after the instruction. */
static void hypercall_finish(struct hv_vcpu *v, enum hv_exit_action act, uint64_t pc,
                             uint64_t next, bool inside)
{
    void (*stop)(struct hv_vcpu *, enum hv_stop, uint64_t) = inside ? stop_now : stop_noted;
    switch (act) {
    case HV_ACT_RETRY:
        v->icount = v->exit_icount;
        stop(v, STOP_NONE, pc);
        break;
    case HV_ACT_YIELD:
        v->icount = v->exit_icount;
        v->vm->legs++;
        stop(v, STOP_SLICE, pc);
        break;
    case HV_ACT_STOP_VCPU:
        v->icount = v->exit_icount + 1;
        hv_vcpu_stop(v, "model");
        stop(v, STOP_VCPU, next);
        break;
    case HV_ACT_END_RUN:
        v->icount = v->exit_icount + 1;
        vm_end(v->vm, HV_OUT_DONE);
        stop(v, STOP_END, next);
        break;
    case HV_ACT_HALT:
        v->icount = v->exit_icount + 1;
        vcpu_set_state(v, VS_HALTED, "model");
        stop(v, STOP_VCPU, next);
        break;
    default:
        v->icount = v->exit_icount + 1;
        if (!inside)
            stop(v, STOP_NONE, next);
        break;
    }
}

/*
 * arm: Unicorn 2.0.1 turns yield and wfe (QEMU's EXCP_YIELD) into the invalid-instruction
 * hook, with the pc already past the instruction, which ends its block. A real UNDEF leaves the
 * pc at the instruction, so a hint is told apart by the pc being the current block's end with
 * a yield or wfe just before it.
 */
static bool a32_yielded(struct hv_vcpu *v)
{
    uint64_t pc = vcpu_read_pc(v);
    if (pc != v->blk_pc + v->blk_size)
        return false;
    if (v->blk_thumb) {
        uint16_t hw[2] = { 0, 0 };
        if (pc >= 2 && uc_mem_read(v->uc, pc - 2, &hw[1], 2) == UC_ERR_OK &&
            (hw[1] == 0xbf10 || hw[1] == 0xbf20))
            return true; /* yield, wfe (T16) */
        return pc >= 4 && uc_mem_read(v->uc, pc - 4, hw, 4) == UC_ERR_OK && hw[0] == 0xf3af &&
               (hw[1] == 0x8001 || hw[1] == 0x8002);
    }
    uint32_t insn = 0;
    return pc >= 4 && uc_mem_read(v->uc, pc - 4, &insn, 4) == UC_ERR_OK &&
           ((insn & 0x0fffffff) == 0x0320f001 || (insn & 0x0fffffff) == 0x0320f002);
}

/* x86: vmcall/vmmcall and every other #UD arrive here with RIP at the instruction; emulation
 * always stops afterwards. */
static bool hook_invalid(uc_engine *uc, void *ud)
{
    struct hv_vcpu *v = ud;
    if (v->nisv.pending)
        return true; /* the engine is stopping at an access to be undone (mmio.c) */
    if (v->vm->arch == HV_ARCH_ARM && a32_yielded(v)) {
        /* yield / wfe: a hint, done; the engine stopped past it, which ended its block */
        stop_noted(v, STOP_NONE, vcpu_read_pc(v));
        return true;
    }
    if (v->vm->arch != HV_ARCH_X86_64) {
        uint64_t pc = vcpu_read_pc(v);
        exit_at(v, pc);
        v->icount = v->exit_icount;
        hv_vcpu_inject(v, 0, 0x02000000); /* EC 0: unknown reason, IL = 1 */
        v->pend_pc = pc;
        stop_noted(v, STOP_EXCEPTION, pc);
        return true;
    }
    /* the instruction is at CS.base + RIP, in the mode it executed in; the engine stops
     * after this hook, so the state read here is the restart's too (xc_fresh) */
    struct x86_cpu c;
    uint64_t rip = 0;
    if (x86cpu_sync(v, &v->xc)) {
        stop_noted(v, STOP_END, vcpu_read_pc(v));
        vm_end(v->vm, HV_OUT_ERROR);
        return true;
    }
    c = v->xc;
    v->xc_fresh = true;
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    rip += c.seg[X86_SEG_CS].base;
    uint8_t b[7] = { 0 };
    uc_mem_read(uc, rip, b, sizeof b);
    exit_at(v, rip);
    /* segment-override prefixes (2e 36 3e 26 64 65) are ignored by vmcall and vmmcall, so a
     * prefixed one is the same instruction, longer (the hypercall page of
     * xen.bug.hcpage_insn_len) */
    unsigned pre = 0;
    while (pre < 4 && memchr("\x2e\x36\x3e\x26\x64\x65", b[pre], 6))
        pre++;
    bool vmcall = b[pre] == 0x0f && b[pre + 1] == 0x01 && b[pre + 2] == 0xc1;
    bool vmmcall = b[pre] == 0x0f && b[pre + 1] == 0x01 && b[pre + 2] == 0xd9;
    if (vmcall || vmmcall) {
        v->in_exit = true;
        struct hv_exit_hypercall e = { .insn = vmcall ? HV_HC_VMCALL : HV_HC_VMMCALL,
                                       .pc = rip, .len = pre + 3,
                                       .x86 = { .mode = x86cpu_mode(&c),
                                                .cpl = x86cpu_cpl(&c),
                                                .cs_base = c.seg[X86_SEG_CS].base } };
        enum hv_exit_action act = hypercall_exit(v, &e);
        v->in_exit = false;
        hypercall_finish(v, act, rip, rip + pre + 3, false);
        return true;
    }
    v->icount = v->exit_icount;
    uint8_t code[16] = { 0 };
    size_t len = 0;
    while (len < sizeof code && uc_mem_read(uc, rip + len, &code[len], 1) == UC_ERR_OK)
        len++;
    unsigned bits = x86cpu_bits(&c);
    csh cs = sim_blk_cs(v->vm, false, bits == 64 ? 0 : bits);
    cs_insn *insn = cs_malloc(cs);
    const uint8_t *p = code;
    size_t left = len;
    uint64_t a = rip;
    /* the instruction's own bytes when Capstone knows it, else the first bytes at rip */
    size_t n = cs_disasm_iter(cs, &p, &left, &a, insn) ? insn->size : (len < 3 ? len : 3);
    cs_free(insn, 1);
    struct hv_ev_invalid_insn ev = { .bytes = { code, n } };
    hv_vcpu_emit(v, HV_EV_invalid_insn, &ev);
    hv_vcpu_inject(v, 6, 0);
    v->pend_pc = rip;
    stop_noted(v, STOP_EXCEPTION, rip);
    return true;
}

/* Arm exception numbers (qemu target/arm/cpu.h) as Unicorn reports them. */
enum { ARM_EXCP_UDEF = 1, ARM_EXCP_SWI = 2, ARM_EXCP_PREFETCH_ABORT = 3,
       ARM_EXCP_DATA_ABORT = 4, ARM_EXCP_BKPT = 7, ARM_EXCP_HVC = 11, ARM_EXCP_SMC = 13 };

/*
 * Arm (both states): the exception QEMU raised becomes a guest exception with syndrome class
 * ec: the instruction at `at` is the exit; an SVC has retired (its return address is pc, past
 * it), an abort or UNDEF has not (return to at).
 */
static void arm_take_exception(struct hv_vcpu *v, uint32_t intno, uint64_t at, uint64_t pc,
                               unsigned ec, uint64_t err, uint64_t far)
{
    exit_at(v, at);
    v->icount = intno == ARM_EXCP_SWI ? v->exit_icount + 1 : v->exit_icount;
    hv_vcpu_inject(v, ec, ((uint64_t)ec << 26) | err);
    v->pend_addr = far;
    v->pend_pc = intno == ARM_EXCP_SWI ? pc : at;
    stop_now(v, STOP_EXCEPTION, v->pend_pc);
}

static void a64_intr(struct hv_vcpu *v, uint32_t intno)
{
    uint64_t pc = vcpu_read_pc(v);
    if (intno == ARM_EXCP_HVC || intno == ARM_EXCP_SMC) {
        /* pc is past the instruction, which ended its block */
        uint32_t insn = 0;
        uc_mem_read(v->uc, pc - 4, &insn, 4);
        v->exit_pc = pc - 4;
        v->exit_icount = v->icount - 1;
        v->in_exit = true;
        struct hv_exit_hypercall e = { .insn = intno == ARM_EXCP_HVC ? HV_HC_HVC : HV_HC_SMC,
                                       .imm = (insn >> 5) & 0xffff, .pc = pc - 4, .len = 4 };
        enum hv_exit_action act = hypercall_exit(v, &e);
        v->in_exit = false;
        hypercall_finish(v, act, pc - 4, pc, true);
        return;
    }
    uint64_t at = pc, err = 0, far = 0;
    unsigned ec;
    uint32_t insn = 0;
    switch (intno) {
    case ARM_EXCP_SWI:
        at = pc - 4;
        uc_mem_read(v->uc, at, &insn, 4);
        ec = 0x15;
        err = (1u << 25) | ((insn >> 5) & 0xffff);
        break;
    case ARM_EXCP_BKPT:
        uc_mem_read(v->uc, pc, &insn, 4);
        ec = 0x3c;
        err = (1u << 25) | ((insn >> 5) & 0xffff);
        break;
    case ARM_EXCP_PREFETCH_ABORT:
        ec = 0x21;
        far = pc;
        err = (1u << 25) | 0x07; /* translation fault, level 3 */
        break;
    case ARM_EXCP_DATA_ABORT: {
        ec = 0x25;
        /* the faulting address is not reported by Unicorn: recompute it from the instruction */
        if (pcfind_ea(v, pc, &far, NULL))
            far = 0;
        err = (1u << 25) | 0x07;
        break;
    }
    default:
        ec = 0;
        err = 1u << 25;
        break;
    }
    arm_take_exception(v, intno, at, pc, ec, err, far);
}

/*
 * A fetch at pc failed (Unicorn's fetch error, or on x86 a #PF at the pc because the tables
 * the walk reads are gone): if the model has a fetch_unbacked op and the pc's bytes, or a
 * table on the way to them, lie in no RAM region, that is the model's exit. Returns how the
 * engine must stop, or STOP_NONE when the default applies. Nothing at pc has retired.
 */
static enum hv_stop fetch_unbacked_exit(struct hv_vcpu *v, uint64_t pc)
{
    const struct hv_model_ops *m = v->vm->model;
    struct hv_exit_fetch ex = { .va = pc };
    if (!m->fetch_unbacked || !mem_fetch_unbacked(v, pc, &ex.gpa))
        return STOP_NONE;
    v->exit_pc = pc;
    v->exit_icount = v->icount;
    v->in_exit = true;
    enum hv_exit_action act = m->fetch_unbacked(v, &ex);
    if (act == HV_ACT_STOP_VCPU)
        hv_vcpu_stop(v, ex.why ? ex.why : "model");
    else if (act == HV_ACT_END_RUN)
        vm_end(v->vm, HV_OUT_DONE);
    v->in_exit = false;
    v->resume_pc = pc;
    v->resume_valid = true;
    return act == HV_ACT_STOP_VCPU ? STOP_VCPU : act == HV_ACT_END_RUN ? STOP_END : STOP_NONE;
}

/*
 * arm (AArch32): the same QEMU exception numbers. HVC, SMC and SVC leave the pc after the
 * instruction, which ended its block (HVC and SMC are 4 bytes in A32 and T32 alike); aborts
 * and BKPT leave it at the instruction. The exception's vector number is the AArch32
 * syndrome's class, as on aarch64, so models inject the same numbers for both (excp.c maps it
 * to the vector-table entry).
 */
static void a32_intr(struct hv_vcpu *v, uint32_t intno)
{
    uint64_t pc = vcpu_read_pc(v);
    bool thumb = hv_vcpu_thumb(v);
    if (intno == ARM_EXCP_HVC || intno == ARM_EXCP_SMC) {
        bool hvc = intno == ARM_EXCP_HVC;
        uint64_t at = pc - 4, imm;
        if (thumb) {
            uint16_t hw[2] = { 0, 0 };
            uc_mem_read(v->uc, at, hw, sizeof hw);
            imm = hvc ? ((uint64_t)(hw[0] & 0xf) << 12) | (hw[1] & 0xfff) : (hw[0] & 0xfu);
        } else {
            uint32_t insn = 0;
            uc_mem_read(v->uc, at, &insn, 4);
            imm = hvc ? (((insn >> 4) & 0xfff0) | (insn & 0xf)) : (insn & 0xf);
        }
        v->exit_pc = at;
        v->exit_icount = v->icount - 1;
        v->in_exit = true;
        struct hv_exit_hypercall e = { .insn = hvc ? HV_HC_HVC : HV_HC_SMC, .imm = imm,
                                       .pc = at, .len = 4, .aarch32 = true };
        enum hv_exit_action act = hypercall_exit(v, &e);
        v->in_exit = false;
        hypercall_finish(v, act, at, pc, true);
        return;
    }
    unsigned ilen = thumb ? 2 : 4;
    uint64_t at = pc, err = 0, far = 0;
    unsigned ec;
    switch (intno) {
    case ARM_EXCP_SWI: {
        at = pc - ilen;
        uint32_t insn = 0;
        uc_mem_read(v->uc, at, &insn, ilen);
        ec = 0x11; /* SVC from AArch32 */
        err = (thumb ? 0 : (1u << 25)) | (insn & 0xffff & (thumb ? 0xff : 0xffff));
        break;
    }
    case ARM_EXCP_BKPT:
        ec = 0x38; /* BKPT from AArch32: a prefetch abort (debug event) */
        err = 1u << 25;
        far = pc;
        break;
    case ARM_EXCP_PREFETCH_ABORT:
        ec = 0x21;
        far = pc;
        err = (1u << 25) | mem_a32_fault_status(v, pc);
        break;
    case ARM_EXCP_DATA_ABORT: {
        ec = 0x25;
        bool write = false;
        /* Unicorn reports no fault address: recompute it from the instruction */
        if (pcfind_ea(v, pc, &far, &write))
            far = 0;
        err = (1u << 25) | (write ? 1u << 6 : 0) | mem_a32_fault_status(v, far);
        break;
    }
    default:
        ec = 0;
        err = 1u << 25;
        break;
    }
    arm_take_exception(v, intno, at, pc, ec, err, far);
}

/*
 * x86: true if exception intno with its pc at pc was raised by a software interrupt: the
 * instruction before pc, the last of block b, is int n (cd n), int3 (cc), into (ce) or int1
 * (f1). Faults leave the pc at the faulting instruction, inside the block.
 */
static bool x86_soft_int(struct hv_vcpu *v, struct hv_blk *b, uint64_t pc, uint32_t intno)
{
    uint8_t code[2] = { 0, 0 };
    uint32_t idx;
    if (!b || pc != b->pc + b->size)
        return false;
    if (pc >= 2 && blk_index(v, b, pc - 2, &idx) == 0 && idx + 1 == b->icount &&
        uc_mem_read(v->uc, pc - 2, code, 2) == UC_ERR_OK && code[0] == 0xcd)
        return code[1] == intno;
    if (pc >= 1 && blk_index(v, b, pc - 1, &idx) == 0 && idx + 1 == b->icount &&
        uc_mem_read(v->uc, pc - 1, code, 1) == UC_ERR_OK)
        return (code[0] == 0xcc && intno == 3) || (code[0] == 0xce && intno == 4) ||
               (code[0] == 0xf1 && intno == 1);
    return false;
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *ud)
{
    struct hv_vcpu *v = ud;
    if (v->nisv.pending) {
        uc_emu_stop(uc); /* the engine is stopping at an access to be undone (mmio.c) */
        return;
    }
    mmio_reset(v);
    if (v->vm->arch == HV_ARCH_AARCH64) {
        a64_intr(v, intno);
        return;
    }
    if (v->vm->arch == HV_ARCH_ARM) {
        a32_intr(v, intno);
        return;
    }
    /* x86: faults leave RIP at the instruction; int n / int3 leave it after. */
    uint64_t rip = vcpu_read_pc(v);
    struct hv_blk *b = blk_lookup(&v->blocks, v->blk_pc, v->blk_size);
    bool soft = x86_soft_int(v, b, rip, intno);
    uint32_t idx = 0;
    if (rip == v->blk_pc + v->blk_size)
        v->icount = v->blk_base + (b ? b->icount : 0);
    else if (b && blk_index(v, b, rip, &idx) == 0)
        v->icount = v->blk_base + idx;
    v->exit_pc = rip;
    v->exit_icount = v->icount;
    uint64_t err = 0, addr = 0;
    if (intno == 14) {
        uc_reg_read(uc, UC_X86_REG_CR2, &addr);
        enum hv_stop fs = addr == rip ? fetch_unbacked_exit(v, rip) : STOP_NONE;
        if (fs != STOP_NONE) {
            stop_now(v, fs, rip);
            return;
        }
        uint64_t gpa;
        err = mem_walk(v, addr, &gpa, NULL) == 0 ? 1 : 0; /* P: a protection fault */
        uint32_t i2;
        unsigned sz;
        uint64_t apc;
        if (pcfind_access(v, addr, true, &apc, &i2, &sz) == 0 && apc == rip)
            err |= 2; /* W/R: the faulting access was a write */
    }
    hv_vcpu_inject(v, intno, err);
    v->pend_addr = addr;
    v->pend_pc = rip;
    v->pend_soft = soft;
    stop_now(v, STOP_EXCEPTION, rip);
}

static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
                          int64_t value, void *ud)
{
    struct hv_vcpu *v = ud;
    uint64_t hole;
    if (v->nisv.pending)
        return false;
    if (type == UC_MEM_FETCH_UNMAPPED && v->vm->model->fetch_unbacked &&
        mem_fetch_unbacked(v, addr, &hole))
        return false; /* no MMIO page for code: fetch_unbacked_exit() reports the stop */
    if (v->vm->arch == HV_ARCH_X86_64 && v->paging) {
        /* Map the page so Unicorn's own walk decides: present in the tables (the guest
         * skipped invlpg) -> the access proceeds; absent -> Unicorn raises #PF precisely. */
        uint64_t page = addr & ~0xfffULL, gpa;
        struct hv_run r = { .va = page, .size = 0x1000, .writable = true };
        if (mem_walk(v, page, &gpa, NULL) == 0)
            r.gpa = gpa;
        else
            r.gpa = HV_PA_LIMIT_X86; /* an unbacked GPA: MMIO if ever reached */
        v->remap_pending = true;
        v->remap_why = "fault";
        return mem_fault_in(v, &r) == 0;
    }
    return false;
}

/* ---- MMIO (including the Arm ucall page): pieces for mmio.c ---- */

uint64_t vcpu_mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *ud)
{
    struct hv_mmio_map *m = ud;
    uint64_t data = 0;
    mmio_piece(m->v, m->va + off, m->gpa + off, size, false, &data);
    return data;
}

void vcpu_mmio_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t val, void *ud)
{
    struct hv_mmio_map *m = ud;
    mmio_piece(m->v, m->va + off, m->gpa + off, size, true, &val);
}

/* The guest-physical address a store to va reaches, through the engine map (x86: the shadow
 * of the page tables; Arm: Unicorn translates, so walk the tables). */
static bool store_gpa(struct hv_vcpu *v, uint64_t va, uint64_t *gpa)
{
    if (v->vm->arch == HV_ARCH_X86_64) {
        const struct hv_run *r = mem_run_at(v, va);
        if (!r)
            return false;
        *gpa = r->gpa + (va - r->va);
        return true;
    }
    return mem_walk(v, va, gpa, NULL) == 0;
}

/* A store into a read-only RAM region: an MMIO exit carrying the bytes; memory unchanged
 * (returning true without unprotecting makes Unicorn drop the store and continue; while an
 * access without a syndrome is being undone, false drops it too). */
static bool hook_write_prot(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
                            int64_t value, void *ud)
{
    struct hv_vcpu *v = ud;
    uint64_t gpa;
    if (v->nisv.pending || !store_gpa(v, addr, &gpa))
        return false;
    struct hv_region *reg = vm_region_find(v->vm, gpa);
    if (!reg || !reg->readonly)
        return false;
    uint64_t data = (uint64_t)value;
    mmio_piece(v, v->vm->arch == HV_ARCH_X86_64 ? addr : gpa, gpa, (unsigned)size, true, &data);
    return true;
}

static void hook_write(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                       void *ud)
{
    struct hv_vcpu *v = ud;
    struct hv_vm *vm = v->vm;
    const struct hv_model_ops *m = vm->model;
    uint64_t gpa;
    if (v->nisv.pending || !store_gpa(v, addr, &gpa))
        return;
    if (vm->track_writes && m->guest_write) {
        bool was = v->in_exit;
        v->in_store = true;
        v->store_va = addr;
        m->guest_write(v, gpa, (unsigned)size);
        v->in_store = false;
        v->in_exit = was;
    }
    /* after the model's dirty logging, so that an observer sees whether it logged it */
    if (vm->prov_on || (vm->wobs && vm->wobs_want(vm->wobs_ctx, gpa, (uint64_t)size))) {
        /* the exact store: its pc and count (pcfind.c), else the block's */
        uint64_t pc = v->blk_pc, ic = v->blk_base;
        uint32_t idx;
        unsigned sz;
        if (pcfind_access(v, addr, true, &pc, &idx, &sz) == 0)
            ic = v->blk_base + idx;
        prov_record(vm, (int32_t)v->id, pc, ic, gpa, (uint64_t)size, "guest store");
    }
}

/* Installs or removes the store hook in every engine: wanted for the model's write tracking
 * or for write provenance (migrate.h). */
int vm_write_hooks(struct hv_vm *vm)
{
    bool on = vm->track_writes || vm->prov_on || vm->wobs;
    for (unsigned i = 0; i < vm->nr; i++) {
        struct hv_vcpu *v = &vm->vcpus[i];
        if (v->write_hooked == on)
            continue;
        uc_err e = UC_ERR_OK;
        if (on)
            e = uc_hook_add(v->uc, &v->write_hook, UC_HOOK_MEM_WRITE, (void *)hook_write, v, 1,
                            0);
        else
            e = uc_hook_del(v->uc, v->write_hook);
        if (e != UC_ERR_OK)
            return vm_err_uc(e, "changing write tracking");
        v->write_hooked = on;
        /* translated stores were compiled without (or with) the hook: retranslate them */
        for (size_t r = 0; r < v->nruns; r++)
            if (vm_region_find(vm, v->runs[r].gpa))
                vcpu_drop_code(v, v->runs[r].va, v->runs[r].size);
    }
    return 0;
}

int hv_vm_track_writes(struct hv_vm *vm, bool on)
{
    vm->track_writes = on;
    return vm_write_hooks(vm);
}

/* The instruction observer (migrate.h): before each instruction, with its exact count. */
static void hook_insn(uc_engine *uc, uint64_t addr, uint32_t size, void *ud)
{
    struct hv_vcpu *v = ud;
    struct hv_blk *b = blk_lookup(&v->blocks, v->blk_pc, v->blk_size);
    uint32_t idx;
    if (!b || blk_index(v, b, addr, &idx))
        return;
    uint64_t ic = v->blk_base + idx;
    if (v->iobs_last == ic + 1)
        return;
    v->iobs_last = ic + 1;
    v->vm->iobs(v->vm->iobs_ctx, v, addr, ic);
}

/* ---- engine lifetime ---- */

static int add_hook(struct hv_vcpu *v, int type, void *cb, uint64_t begin, uint64_t end)
{
    uc_hook h;
    uc_err e = uc_hook_add(v->uc, &h, type, cb, v, begin, end);
    return e == UC_ERR_OK ? 0 : vm_err_uc(e, "adding a hook");
}

/* The code hook of the instructions found by x86_scan_block() / a32_scan_block(). */
static void *special_hook(const struct hv_vcpu *v)
{
    return v->vm->arch == HV_ARCH_ARM ? (void *)hook_a32_cond : (void *)hook_special;
}

static int add_insn_hook(struct hv_vcpu *v, void *cb, int insn)
{
    uc_hook h;
    uc_err e = uc_hook_add(v->uc, &h, UC_HOOK_INSN, cb, v, 1, 0, insn);
    return e == UC_ERR_OK ? 0 : vm_err_uc(e, "adding an instruction hook");
}

int vcpu_open(struct hv_vcpu *v)
{
    uc_err e;
    int err = 0;
    switch (v->vm->arch) {
    case HV_ARCH_X86_64: e = uc_open(UC_ARCH_X86, UC_MODE_64, &v->uc); break;
    case HV_ARCH_AARCH64: e = uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &v->uc); break;
    case HV_ARCH_ARM:
        e = uc_open(UC_ARCH_ARM, UC_MODE_ARM, &v->uc);
        /* Cortex-A15 (ARMv7-A with the Security and Virtualization Extensions, LPAE): Unicorn's
         * default for UC_MODE_ARM too, chosen explicitly so a later default cannot change the
         * guest's CPU. It must be set before anything else touches the engine. */
        if (e == UC_ERR_OK)
            e = uc_ctl(v->uc, HV_UC_CTL(UC_CTL_CPU_MODEL, 1, UC_CTL_IO_WRITE),
                       (int)UC_CPU_ARM_CORTEX_A15);
        break;
    default: return hv_error_set(HV_EUNSUPP, "arch %s is not supported",
                                 hv_arch_name(v->vm->arch));
    }
    if (e != UC_ERR_OK)
        return vm_err_uc(e, "opening an engine");
    /* Unicorn's exit list on, and empty: `until` is ignored (sim_int.h, HV_UNTIL) */
    e = uc_ctl(v->uc, HV_UC_CTL(UC_CTL_UC_USE_EXITS, 1, UC_CTL_IO_WRITE), 1);
    if (e != UC_ERR_OK)
        return vm_err_uc(e, "opening an engine");
    err = add_hook(v, UC_HOOK_BLOCK, (void *)hook_block, 1, 0);
    if (!err)
        err = add_hook(v, UC_HOOK_INTR, (void *)hook_intr, 1, 0);
    if (!err)
        err = add_hook(v, UC_HOOK_INSN_INVALID, (void *)hook_invalid, 1, 0);
    if (!err)
        err = add_hook(v, UC_HOOK_MEM_UNMAPPED, (void *)hook_unmapped, 1, 0);
    if (!err)
        err = add_hook(v, UC_HOOK_MEM_WRITE_PROT, (void *)hook_write_prot, 1, 0);
    if (!err && v->vm->arch == HV_ARCH_X86_64)
        err = x86cpu_init(v);
    if (!err && v->vm->arch == HV_ARCH_X86_64) {
        err = add_insn_hook(v, (void *)hook_out, UC_X86_INS_OUT);
        if (!err)
            err = add_insn_hook(v, (void *)hook_in, UC_X86_INS_IN);
        if (!err)
            err = add_insn_hook(v, (void *)hook_cpuid, UC_X86_INS_CPUID);
    }
    v->iobs_hooked = false;
    v->robs_hooked = false;
    if (!err)
        err = vcpu_insn_hook(v);
    if (!err)
        err = vcpu_read_hook(v);
    return err;
}

int vcpu_insn_hook(struct hv_vcpu *v)
{
    if (!v->uc || !v->vm->iobs || v->iobs_hooked)
        return 0;
    v->iobs_hooked = true;
    return add_hook(v, UC_HOOK_CODE, (void *)hook_insn, 1, 0);
}

/* The read observer (migrate.h): a guest load, before its bytes are read, with the exact pc
 * and count of the loading instruction. */
static void hook_read(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                      void *ud)
{
    struct hv_vcpu *v = ud;
    struct hv_vm *vm = v->vm;
    uint64_t gpa;
    if (v->nisv.pending || !store_gpa(v, addr, &gpa) ||
        !vm->robs_want(vm->robs_ctx, gpa, (uint64_t)size))
        return;
    uint64_t pc = v->blk_pc, ic = v->blk_base;
    uint32_t idx;
    unsigned sz;
    if (pcfind_access(v, addr, false, &pc, &idx, &sz) == 0)
        ic = v->blk_base + idx;
    struct hv_write_rec r = { .vcpu = (int32_t)v->id, .pc = pc, .icount = ic,
                              .path = "guest load" };
    vm->robs(vm->robs_ctx, vm, gpa, (uint64_t)size, &r);
}

int vcpu_read_hook(struct hv_vcpu *v)
{
    if (!v->uc || !v->vm->robs || v->robs_hooked)
        return 0;
    v->robs_hooked = true;
    return add_hook(v, UC_HOOK_MEM_READ, (void *)hook_read, 1, 0);
}

void vcpu_close(struct hv_vcpu *v)
{
    if (v->uc) {
        mem_unmap_all(v);
        uc_close(v->uc);
        v->uc = NULL;
    }
    blk_fini(&v->blocks);
    if (v->fault_ctx)
        uc_context_free(v->fault_ctx);
    if (v->reset_ctx)
        uc_context_free(v->reset_ctx);
    free(v->hooked);
    free(v->to_hook);
    mmio_fini(v);
}

/*
 * Replaces v's engine by a new one in the same state: the CPU context, every hook (the store
 * hook if it is on, the code hooks of special instructions) and nothing mapped, for mem.c to
 * map the engine map anew. Unicorn unmaps a region one page at a time (a TLB flush per page:
 * a 1 TiB hole takes minutes), while a new engine costs about a millisecond, and closing the
 * old one unmaps nothing. Translated code is dropped with the engine; it was only a cache.
 * On failure v keeps its engine.
 */
int vcpu_reopen(struct hv_vcpu *v)
{
    uc_engine *old = v->uc;
    uc_context *ctx = NULL;
    int err = 0;
    if (uc_context_alloc(old, &ctx) != UC_ERR_OK || uc_context_save(old, ctx) != UC_ERR_OK) {
        err = hv_error_set(HV_EUNICORN, "saving vCPU %u's context", v->id);
        goto out;
    }
    v->uc = NULL;
    err = vcpu_open(v);
    if (!err && v->write_hooked &&
        uc_hook_add(v->uc, &v->write_hook, UC_HOOK_MEM_WRITE, (void *)hook_write, v, 1, 0) !=
            UC_ERR_OK)
        err = hv_error_set(HV_EUNICORN, "adding a hook");
    void *cb = special_hook(v);
    for (size_t i = 0; !err && i < v->nhooked; i++)
        err = add_hook(v, UC_HOOK_CODE, cb, v->hooked[i], v->hooked[i]);
    if (!err && uc_context_restore(v->uc, ctx) != UC_ERR_OK)
        err = hv_error_set(HV_EUNICORN, "restoring vCPU %u's context", v->id);
    if (err) {
        if (v->uc)
            uc_close(v->uc);
        v->uc = old;
        goto out;
    }
    uc_close(old);
    blk_clear(&v->blocks);
    v->last_blk = NULL;
out:
    if (ctx)
        uc_context_free(ctx);
    return err;
}

static void a64_write_sysreg(struct hv_vcpu *v, uint32_t op0, uint32_t op1, uint32_t crn,
                             uint32_t crm, uint32_t op2, uint64_t val)
{
    uc_arm64_cp_reg r = { .crn = crn, .crm = crm, .op0 = op0, .op1 = op1, .op2 = op2,
                          .val = val };
    uc_reg_write(v->uc, UC_ARM64_REG_CP_REG, &r);
}

/* Puts the vCPU at its entry with the boot registers of scenarios/lib/hv_abi.h. */
int vcpu_reset(struct hv_vcpu *v)
{
    uint64_t id = v->id, nr = v->vm->nr, zero = 0;
    if (v->vm->arch == HV_ARCH_X86_64) {
        uc_reg_write(v->uc, UC_X86_REG_RIP, &v->entry);
        uc_reg_write(v->uc, UC_X86_REG_RDI, v->arg0 ? &v->arg0 : &id);
        uc_reg_write(v->uc, UC_X86_REG_RSI, &nr);
        uc_reg_write(v->uc, UC_X86_REG_RSP, &zero);
    } else if (v->vm->arch == HV_ARCH_ARM) {
        /* Non-secure PL1 with HVC enabled: SCR = NS | HCE. Then HVC and SMC both trap (as
         * EXCP_HVC / EXCP_SMC, pc after them), and the guest's CP15 accesses reach the
         * Non-secure copies of banked registers (SCTLR, TTBR0, VBAR, ...). SVC mode, A32, IRQ,
         * FIQ and asynchronous aborts masked, flags clear. The entry's bit 0 selects T32, as an
         * ELF entry does. */
        uc_arm_cp_reg scr = { .cp = 15, .sec = 1, .crn = 1, .crm = 1, .val = 0x101 };
        uc_reg_write(v->uc, UC_ARM_REG_CP_REG, &scr);
        uint32_t cpsr = 0x1c0 | A32_MODE_SVC | ((v->entry & 1) ? A32_CPSR_T : 0);
        uint32_t r0 = (uint32_t)(v->arg0 ? v->arg0 : id), r1 = (uint32_t)nr, z = 0;
        uint32_t pc = (uint32_t)v->entry;
        uc_reg_write(v->uc, UC_ARM_REG_CPSR, &cpsr);
        uc_reg_write(v->uc, UC_ARM_REG_PC, &pc);
        uc_reg_write(v->uc, UC_ARM_REG_R0, &r0);
        uc_reg_write(v->uc, UC_ARM_REG_R1, &r1);
        uc_reg_write(v->uc, UC_ARM_REG_SP, &z);
        uc_reg_write(v->uc, UC_ARM_REG_LR, &z);
    } else {
        /* Non-secure EL1 with HVC enabled (SCR_EL3 = NS|HCE|RW) and AArch64 EL1
         * (HCR_EL2.RW): hvc then traps as EXCP_HVC with the pc after it. */
        a64_write_sysreg(v, 3, 6, 1, 1, 0, 0x501);
        a64_write_sysreg(v, 3, 4, 1, 1, 0, 1ULL << 31);
        uc_reg_write(v->uc, UC_ARM64_REG_PC, &v->entry);
        uc_reg_write(v->uc, UC_ARM64_REG_X0, v->arg0 ? &v->arg0 : &id);
        uc_reg_write(v->uc, UC_ARM64_REG_X1, &nr);
        uc_reg_write(v->uc, UC_ARM64_REG_SP, &zero);
    }
    v->resume_valid = false;
    return 0;
}

static int install_pending_hooks(struct hv_vcpu *v)
{
    void *cb = special_hook(v);
    for (size_t i = 0; i < v->nto_hook; i++) {
        uint64_t a = v->to_hook[i];
        int err = add_hook(v, UC_HOOK_CODE, cb, a, a);
        if (err)
            return err;
        uint64_t *nh = realloc(v->hooked, (v->nhooked + 1) * sizeof *nh);
        if (!nh)
            return HV_ENOMEM;
        v->hooked = nh;
        v->hooked[v->nhooked++] = a;
        vcpu_drop_code(v, a, 1); /* retranslate the block so the hook is compiled in */
    }
    v->nto_hook = 0;
    return 0;
}

/* The length of the hlt / wfi that ends just before pc, or 0 if there is none. */
static unsigned halted_insn(struct hv_vcpu *v, uint64_t pc)
{
    uint32_t insn = 0;
    switch (v->vm->arch) {
    case HV_ARCH_X86_64: {
        uint8_t b = 0;
        return pc && uc_mem_read(v->uc, pc - 1, &b, 1) == UC_ERR_OK && b == 0xf4 ? 1 : 0;
    }
    case HV_ARCH_AARCH64:
        return pc >= 4 && uc_mem_read(v->uc, pc - 4, &insn, 4) == UC_ERR_OK &&
                       insn == 0xd503207f
                   ? 4
                   : 0;
    default:
        if (hv_vcpu_thumb(v)) {
            uint16_t hw[2] = { 0, 0 };
            if (pc >= 2 && uc_mem_read(v->uc, pc - 2, &hw[1], 2) == UC_ERR_OK &&
                hw[1] == 0xbf30)
                return 2; /* wfi (T16) */
            if (pc >= 4 && uc_mem_read(v->uc, pc - 4, hw, 4) == UC_ERR_OK && hw[0] == 0xf3af &&
                hw[1] == 0x8003)
                return 4; /* wfi.w */
            return 0;
        }
        /* wfi with any condition: a failed one does not stop the engine */
        return pc >= 4 && uc_mem_read(v->uc, pc - 4, &insn, 4) == UC_ERR_OK &&
                       (insn & 0x0fffffff) == 0x0320f003
                   ? 4
                   : 0;
    }
}

static void end_unicorn_error(struct hv_vcpu *v, uc_err e, uint64_t pc)
{
    struct hv_ev_exception ev = { .vector = (uint64_t)e, .name = uc_strerror(e),
                                  .error_code = 0, .addr = 0, .handler = 0,
                                  .delivered = false };
    vm_emit(v->vm, (int32_t)v->id, v->icount, pc, HV_EV_exception, &ev);
    vcpu_set_state(v, VS_FAILED, uc_strerror(e));
    vm_end(v->vm, HV_OUT_EXCEPTION);
}

int vcpu_run_slice(struct hv_vcpu *v, uint64_t budget)
{
    struct hv_vm *vm = v->vm;
    v->xc_fresh = false;
    v->slice_end = v->icount + budget;
    if (v->pause_icount && v->pause_icount < v->slice_end)
        v->slice_end = v->pause_icount;
    for (;;) {
        int err = 0;
        if (v->pend) {
            v->xc_fresh = false;
            err = excp_deliver(v);
            if (err || vm->outcome != HV_OUT_RUNNING || v->state != VS_RUNNABLE)
                return err;
        }
        if (v->remap_pending && (err = mem_remap(v, v->remap_why ? v->remap_why : "start")))
            return err;
        if (v->nto_hook && (err = install_pending_hooks(v)))
            return err;
        uint64_t pc;
        if (v->vm->arch == HV_ARCH_X86_64) {
            /* uc_emu_start writes RIP: the offset of the linear pc in CS */
            if (!v->xc_fresh && (err = x86cpu_sync(v, &v->xc)))
                return err;
            v->xc_fresh = false;
            if (v->resume_valid)
                pc = v->resume_pc - v->xc.seg[X86_SEG_CS].base;
            else
                uc_reg_read(v->uc, UC_X86_REG_RIP, &pc);
        } else {
            pc = v->resume_valid ? v->resume_pc : vcpu_read_pc(v);
        }
        v->resume_valid = false;
        v->stop = STOP_NONE;
        /* arm: uc_emu_start writes the pc, and bit 0 of it selects T32 */
        if (v->vm->arch == HV_ARCH_ARM)
            pc = (pc & ~1ULL) | (hv_vcpu_thumb(v) ? 1 : 0);
        mmio_reset(v);
        uc_err e = uc_emu_start(v->uc, pc, HV_UNTIL, 0, 0);
        if (v->nisv.pending) {
            /* an Arm access without a valid syndrome stopped the engine: undo the instruction
             * and report it (mmio.c) */
            if ((err = mmio_nisv_finish(v)))
                return err;
            if (vm->outcome != HV_OUT_RUNNING || v->state != VS_RUNNABLE)
                return 0;
            continue;
        }
        uint64_t now = v->resume_valid ? v->resume_pc : vcpu_read_pc(v);
        if (e != UC_ERR_OK) {
            if ((e != UC_ERR_FETCH_PROT && e != UC_ERR_FETCH_UNMAPPED) ||
                fetch_unbacked_exit(v, now) == STOP_NONE)
                end_unicorn_error(v, e, now);
            return 0;
        }
        if (vm->outcome != HV_OUT_RUNNING)
            return 0;
        switch (v->stop) {
        case STOP_SLICE:
            if (v->pause_icount && v->icount >= v->pause_icount) {
                v->pause_icount = 0;
                vm->paused = true;
                vm->paused_vcpu = v;
            }
            return 0;
        case STOP_PAUSE:
            vm->paused = true;
            if (!vm->paused_vcpu)
                vm->paused_vcpu = v;
            return 0;
        case STOP_VCPU:
        case STOP_END:
            return 0;
        case STOP_REMAP:
        case STOP_RETRANSLATE:
        case STOP_EXCEPTION:
            continue;
        case STOP_NONE: { /* a declaration cannot follow a label in C11 */
            unsigned hlen = v->resume_valid ? 0 : halted_insn(v, now);
            if (hlen) {
                /* hlt / wfi stop the engine by themselves, with the pc after them */
                v->exit_pc = now - hlen;
                v->exit_icount = v->icount - 1;
                v->in_exit = true;
                hv_vcpu_emit(v, HV_EV_halt, NULL);
                v->in_exit = false;
                const struct hv_model_ops *m = vm->model;
                enum hv_exit_action act = m->halt ? m->halt(v) : HV_ACT_DEFAULT;
                if (act == HV_ACT_DEFAULT)
                    vcpu_set_state(v, VS_HALTED, "halt");
                else if (act == HV_ACT_END_RUN)
                    vm_end(vm, HV_OUT_DONE);
                v->resume_pc = now;
                v->resume_valid = true;
                return 0;
            }
            continue;
        }
        }
    }
}
