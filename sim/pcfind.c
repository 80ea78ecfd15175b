/*
 * pcfind.c - the exact instruction behind a data access seen by an MMIO callback.
 *
 * Inside memory callbacks Unicorn reports the pc of the block start, not of the instruction,
 * but the general registers are current (QEMU syncs them before every memory access that can
 * fault). So hvsim decodes the current block with Capstone and recomputes each memory
 * operand's effective address from the current registers; the first instruction whose operand
 * covers the accessed address, in the right direction, is the one. Its index in the block gives
 * the exact instruction count. Instructions run in order, so an access that follows another in
 * the same block execution is searched from that one's instruction on (struct pcfind_floor): a
 * store to an address and a load from it in one block are two instructions, not one.
 *
 * pcfind_mmio() gives mmio.c the same instruction with every data access it makes: both
 * operands of a string instruction, each register of an Arm pair or multi-register access.
 *
 * Instruction hooks (x86 in/out/cpuid) have a related problem: RIP there is the last point
 * where the translator synced it, at or before the instruction. pcfind_insn() searches the
 * block forward from that hint for the first instruction of the hooked kind.
 */
#include <stdio.h>
#include <string.h>

#include "sim/sim_int.h"

static uint64_t x86_regval(struct hv_vcpu *v, x86_reg r, uint64_t next_pc)
{
    if (r == X86_REG_INVALID)
        return 0;
    if (r == X86_REG_RIP)
        return next_pc;
    const char *name = cs_reg_name(v->vm->cs, r);
    if (!name)
        return 0;
    char n64[8];
    uint64_t mask = ~0ULL;
    if (name[0] == 'e' && strlen(name) == 3) { /* eax -> rax */
        snprintf(n64, sizeof n64, "r%s", name + 1);
        mask = 0xffffffffULL;
    } else if (name[0] == 'r' && name[strlen(name) - 1] == 'd') { /* r8d -> r8 */
        snprintf(n64, sizeof n64, "%.*s", (int)strlen(name) - 1, name);
        mask = 0xffffffffULL;
    } else if (strlen(name) == 2 && strchr("abcds", name[0])) { /* 16-bit: bx -> rbx */
        snprintf(n64, sizeof n64, "r%s", name);
        mask = 0xffff;
    } else {
        snprintf(n64, sizeof n64, "%s", name);
    }
    int id = arch_reg_id(HV_ARCH_X86_64, n64);
    if (id < 0) {
        if (strcmp(name, "fs") == 0 || strcmp(name, "gs") == 0) {
            uint64_t base = 0;
            uc_reg_read(v->uc, name[0] == 'f' ? UC_X86_REG_FS_BASE : UC_X86_REG_GS_BASE, &base);
            return base;
        }
        return 0;
    }
    uint64_t val = 0;
    uc_reg_read(v->uc, id, &val);
    return val & mask;
}

/*
 * 16- and 32-bit code: the effective address wraps at the instruction's address size and the
 * segment's base is added (real-mode and compatibility-mode bases count; 64-bit mode keeps only
 * FS and GS). The segment is the override, else SS for a BP/SP base, else DS.
 */
static uint64_t x86_seg_linear(struct hv_vcpu *v, const cs_x86 *x, const cs_x86_op *op,
                               uint64_t ea)
{
    static const struct { x86_reg reg; unsigned seg; } segs[] = {
        { X86_REG_ES, X86_SEG_ES }, { X86_REG_CS, X86_SEG_CS }, { X86_REG_SS, X86_SEG_SS },
        { X86_REG_DS, X86_SEG_DS }, { X86_REG_FS, X86_SEG_FS }, { X86_REG_GS, X86_SEG_GS },
    };
    x86_reg b = op->mem.base;
    unsigned seg = (b == X86_REG_BP || b == X86_REG_EBP || b == X86_REG_SP || b == X86_REG_ESP)
                       ? X86_SEG_SS
                       : X86_SEG_DS;
    for (size_t i = 0; i < sizeof segs / sizeof segs[0]; i++)
        if (op->mem.segment == segs[i].reg)
            seg = segs[i].seg;
    ea &= x->addr_size == 2 ? 0xffffULL : 0xffffffffULL;
    struct x86_cpu c;
    if (x86cpu_get(v, &c) == 0)
        ea += c.seg[seg].base;
    return ea;
}

static uint64_t a64_reg(struct hv_vcpu *v, arm64_reg r)
{
    if (r == ARM64_REG_INVALID)
        return 0;
    const char *name = cs_reg_name(v->vm->cs, r);
    if (!name)
        return 0;
    uint64_t val = 0;
    if (strcmp(name, "sp") == 0 || strcmp(name, "wsp") == 0) {
        uc_reg_read(v->uc, UC_ARM64_REG_SP, &val);
        return val;
    }
    if (strcmp(name, "xzr") == 0 || strcmp(name, "wzr") == 0)
        return 0;
    char n64[8];
    snprintf(n64, sizeof n64, "x%s", name + 1);
    int id = arch_reg_id(HV_ARCH_AARCH64, n64);
    if (id < 0)
        return 0;
    uc_reg_read(v->uc, id, &val);
    return name[0] == 'w' ? (val & 0xffffffffULL) : val;
}

static unsigned a64_reg_bytes(struct hv_vcpu *v, arm64_reg r)
{
    const char *n = cs_reg_name(v->vm->cs, r);
    if (!n)
        return 8;
    switch (n[0]) {
    case 'w': case 's': return 4;
    case 'b': return 1;
    case 'h': return 2;
    case 'q': case 'v': return 16;
    default: return 8;
    }
}

/* ---- AArch32 ---- */

static uint64_t a32_regval(struct hv_vcpu *v, arm_reg r, const cs_insn *insn)
{
    int id;
    if (r == ARM_REG_INVALID)
        return 0;
    if (r == ARM_REG_PC) /* reads as the instruction + 8 (A32) or + 4, word aligned (T32) */
        return v->blk_thumb ? ((insn->address + 4) & ~3ULL) : insn->address + 8;
    if (r >= ARM_REG_R0 && r <= ARM_REG_R12)
        id = UC_ARM_REG_R0 + (int)(r - ARM_REG_R0);
    else if (r == ARM_REG_SP)
        id = UC_ARM_REG_SP;
    else if (r == ARM_REG_LR)
        id = UC_ARM_REG_LR;
    else
        return 0;
    uint32_t val = 0;
    uc_reg_read(v->uc, id, &val);
    return val;
}

/* Bytes per register of an A32/T32 load or store, by Capstone id; 0 if it is not one. */
static unsigned a32_access_size(unsigned id, bool *write, bool *multiple)
{
    static const struct { unsigned id; unsigned char size; bool write; } t[] = {
        { ARM_INS_LDR, 4, false },    { ARM_INS_LDRT, 4, false },   { ARM_INS_LDREX, 4, false },
        { ARM_INS_LDA, 4, false },    { ARM_INS_LDAEX, 4, false },  { ARM_INS_LDRB, 1, false },
        { ARM_INS_LDRBT, 1, false },  { ARM_INS_LDRSB, 1, false },  { ARM_INS_LDRSBT, 1, false },
        { ARM_INS_LDREXB, 1, false }, { ARM_INS_LDAB, 1, false },   { ARM_INS_LDAEXB, 1, false },
        { ARM_INS_LDRH, 2, false },   { ARM_INS_LDRHT, 2, false },  { ARM_INS_LDRSH, 2, false },
        { ARM_INS_LDRSHT, 2, false }, { ARM_INS_LDREXH, 2, false }, { ARM_INS_LDAH, 2, false },
        { ARM_INS_LDAEXH, 2, false }, { ARM_INS_LDRD, 8, false },   { ARM_INS_LDREXD, 8, false },
        { ARM_INS_LDAEXD, 8, false }, { ARM_INS_STR, 4, true },     { ARM_INS_STRT, 4, true },
        { ARM_INS_STREX, 4, true },   { ARM_INS_STL, 4, true },     { ARM_INS_STLEX, 4, true },
        { ARM_INS_STRB, 1, true },    { ARM_INS_STRBT, 1, true },   { ARM_INS_STREXB, 1, true },
        { ARM_INS_STLB, 1, true },    { ARM_INS_STLEXB, 1, true },  { ARM_INS_STRH, 2, true },
        { ARM_INS_STRHT, 2, true },   { ARM_INS_STREXH, 2, true },  { ARM_INS_STLH, 2, true },
        { ARM_INS_STLEXH, 2, true },  { ARM_INS_STRD, 8, true },    { ARM_INS_STREXD, 8, true },
        { ARM_INS_STLEXD, 8, true },  { ARM_INS_LDM, 4, false },    { ARM_INS_LDMIB, 4, false },
        { ARM_INS_LDMDA, 4, false },  { ARM_INS_LDMDB, 4, false },  { ARM_INS_POP, 4, false },
        { ARM_INS_STM, 4, true },     { ARM_INS_STMIB, 4, true },   { ARM_INS_STMDA, 4, true },
        { ARM_INS_STMDB, 4, true },   { ARM_INS_PUSH, 4, true },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (t[i].id == id) {
            *write = t[i].write;
            *multiple = id == ARM_INS_LDM || id == ARM_INS_LDMIB || id == ARM_INS_LDMDA ||
                        id == ARM_INS_LDMDB || id == ARM_INS_POP || id == ARM_INS_STM ||
                        id == ARM_INS_STMIB || id == ARM_INS_STMDA || id == ARM_INS_STMDB ||
                        id == ARM_INS_PUSH;
            return t[i].size;
        }
    }
    return 0;
}

/*
 * An A32/T32 access: single loads and stores from their memory operand (index register
 * shifted and added or subtracted; a post-indexed offset is a separate operand and does not
 * move the address), LDRD/STRD as one 8-byte access, LDM/STM/PUSH/POP from the base and the
 * register count. The exclusive stores' first register is the status, not data.
 */
static bool a32_access(struct hv_vcpu *v, const cs_insn *insn, uint64_t *ea, unsigned *size,
                       bool *write, unsigned *count)
{
    const cs_arm *a = &insn->detail->arm;
    bool multiple;
    unsigned sz = a32_access_size(insn->id, write, &multiple);
    if (!sz)
        return false;
    if (multiple) {
        unsigned nregs = 0;
        uint64_t base;
        if (insn->id == ARM_INS_PUSH || insn->id == ARM_INS_POP) {
            base = a32_regval(v, ARM_REG_SP, insn);
            nregs = a->op_count;
        } else {
            if (a->op_count < 1 || a->operands[0].type != ARM_OP_REG)
                return false;
            base = a32_regval(v, a->operands[0].reg, insn);
            nregs = a->op_count - 1;
        }
        uint64_t span = 4ULL * nregs;
        switch (insn->id) {
        case ARM_INS_LDMIB: case ARM_INS_STMIB: base += 4; break;
        case ARM_INS_LDMDA: case ARM_INS_STMDA: base = base - span + 4; break;
        case ARM_INS_LDMDB: case ARM_INS_STMDB: case ARM_INS_PUSH: base -= span; break;
        default: break;
        }
        *ea = base & 0xffffffffULL;
        *size = 4;
        *count = nregs ? nregs : 1;
        return true;
    }
    for (int i = 0; i < a->op_count; i++) {
        const cs_arm_op *op = &a->operands[i];
        if (op->type != ARM_OP_MEM)
            continue;
        uint64_t idx = a32_regval(v, op->mem.index, insn);
        if (op->mem.index != ARM_REG_INVALID && op->shift.type == ARM_SFT_LSL)
            idx <<= op->shift.value;
        uint64_t addr = a32_regval(v, op->mem.base, insn);
        addr = (op->subtracted || op->mem.scale < 0) ? addr - idx : addr + idx;
        addr += (uint64_t)(int64_t)op->mem.disp;
        *ea = addr & 0xffffffffULL;
        *size = sz;
        return true;
    }
    return false;
}

/* The effective (linear) address of x86 memory operand op of insn, from the current
 * registers. */
static uint64_t x86_ea(struct hv_vcpu *v, const cs_insn *insn, const cs_x86_op *op)
{
    uint64_t next = insn->address + insn->size;
    uint64_t a = (uint64_t)op->mem.disp + x86_regval(v, op->mem.base, next) +
                 x86_regval(v, op->mem.index, next) * (uint64_t)(op->mem.scale);
    /* outside 64-bit code every segment's base counts (and the address size wraps); in it
     * only FS and GS have one */
    if (v->blk_x86_bits)
        a = x86_seg_linear(v, &insn->detail->x86, op, a);
    else if (op->mem.segment == X86_REG_FS || op->mem.segment == X86_REG_GS)
        a += x86_regval(v, op->mem.segment, next);
    return a;
}

/* Fills ea/size/write of insn's memory operand; false if it has none. */
static bool insn_access(struct hv_vcpu *v, const cs_insn *insn, uint64_t *ea, unsigned *size,
                        bool *write, unsigned *count)
{
    *count = 1;
    if (v->vm->arch == HV_ARCH_X86_64) {
        const cs_x86 *x = &insn->detail->x86;
        for (int i = 0; i < x->op_count; i++) {
            const cs_x86_op *op = &x->operands[i];
            if (op->type != X86_OP_MEM)
                continue;
            if (insn->id == X86_INS_LEA || insn->id == X86_INS_NOP)
                return false;
            *ea = x86_ea(v, insn, op);
            *size = op->size;
            *write = (op->access & CS_AC_WRITE) != 0;
            return true;
        }
        return false;
    }
    if (v->vm->arch == HV_ARCH_ARM)
        return a32_access(v, insn, ea, size, write, count);
    const cs_arm64 *a = &insn->detail->arm64;
    const char *m = insn->mnemonic;
    size_t ml = strlen(m);
    if (strncmp(m, "ld", 2) != 0 && strncmp(m, "st", 2) != 0 && strncmp(m, "swp", 3) != 0 &&
        strncmp(m, "cas", 3) != 0)
        return false;
    /* data register: the first one, except store-exclusive whose first is the status */
    bool st_excl = m[0] == 's' && strchr(m, 'x') != NULL;
    unsigned regsize = 8;
    int seen = 0;
    for (int i = 0; i < a->op_count; i++) {
        const cs_arm64_op *op = &a->operands[i];
        if (op->type == ARM64_OP_REG && seen++ == (st_excl ? 1 : 0)) {
            regsize = a64_reg_bytes(v, op->reg);
            break;
        }
    }
    for (int i = 0; i < a->op_count; i++) {
        const cs_arm64_op *op = &a->operands[i];
        if (op->type != ARM64_OP_MEM)
            continue;
        uint64_t idx = a64_reg(v, op->mem.index);
        if (op->shift.type == ARM64_SFT_LSL)
            idx <<= op->shift.value;
        *ea = a64_reg(v, op->mem.base) + idx + (uint64_t)(int64_t)op->mem.disp;
        *write = m[0] == 's';
        char last = m[ml - 1];
        if (last == 'b')
            *size = 1;
        else if (last == 'h')
            *size = 2;
        else if (ml >= 2 && m[ml - 2] == 's' && last == 'w')
            *size = 4;
        else
            *size = regsize;
        if (last == 'p' || strcmp(m, "ldpsw") == 0)
            *count = 2; /* ldp / stp / ldnp / casp / ldpsw: two registers */
        else if (ml >= 3 && m[2] >= '1' && m[2] <= '4')
            *count = (unsigned)(i ? i : 1); /* ld1-ld4 / st1-st4: the registers listed */
        return true;
    }
    return false;
}

/* Decodes the current block in order and calls visit on each instruction until it returns
 * true; returns 0 if it did, HV_EINVAL if no instruction matched. */
static int scan_block(struct hv_vcpu *v, bool (*visit)(struct hv_vcpu *, const cs_insn *,
                                                        uint32_t, void *),
                      void *ctx)
{
    uint8_t code[4096];
    uint32_t n = v->blk_size < sizeof code ? v->blk_size : sizeof code;
    if (!n || uc_mem_read(v->uc, v->blk_pc, code, n) != UC_ERR_OK)
        return HV_EINVAL;
    csh cs = vcpu_cs(v);
    cs_insn *insn = cs_malloc(cs);
    const uint8_t *p = code;
    size_t left = n;
    uint64_t a = v->blk_pc;
    int err = HV_EINVAL;
    for (uint32_t i = 0; cs_disasm_iter(cs, &p, &left, &a, insn); i++) {
        if (visit(v, insn, i, ctx)) {
            err = 0;
            break;
        }
    }
    cs_free(insn, 1);
    return err;
}

struct access_q {
    uint64_t va;
    bool write;
    uint64_t pc;
    uint32_t index;
    unsigned size;
};

static bool visit_access(struct hv_vcpu *v, const cs_insn *insn, uint32_t i, void *ctx)
{
    struct access_q *q = ctx;
    uint64_t ea;
    unsigned sz, cnt;
    bool w;
    if (!insn_access(v, insn, &ea, &sz, &w, &cnt) || w != q->write)
        return false;
    if (q->va < ea || q->va >= ea + (uint64_t)sz * cnt)
        return false;
    q->pc = insn->address;
    q->index = i;
    q->size = sz;
    return true;
}

int pcfind_access(struct hv_vcpu *v, uint64_t va, bool write, uint64_t *pc, uint32_t *index,
                  unsigned *size)
{
    struct access_q q = { .va = va, .write = write };
    int err = scan_block(v, visit_access, &q);
    if (!err) {
        *pc = q.pc;
        *index = q.index;
        *size = q.size;
    }
    return err;
}

struct insn_q {
    uint64_t hint;
    const unsigned *ids;
    size_t nids;
    uint64_t pc;
    uint32_t index;
};

static bool visit_insn(struct hv_vcpu *v, const cs_insn *insn, uint32_t i, void *ctx)
{
    struct insn_q *q = ctx;
    (void)v;
    if (insn->address < q->hint)
        return false;
    for (size_t k = 0; k < q->nids; k++) {
        if (insn->id == q->ids[k]) {
            q->pc = insn->address;
            q->index = i;
            return true;
        }
    }
    return false;
}

int pcfind_insn(struct hv_vcpu *v, uint64_t hint, const unsigned *ids, size_t nids, uint64_t *pc,
                uint32_t *index)
{
    struct insn_q q = { .hint = hint, .ids = ids, .nids = nids };
    int err = scan_block(v, visit_insn, &q);
    if (!err) {
        *pc = q.pc;
        *index = q.index;
    }
    return err;
}

int pcfind_ea(struct hv_vcpu *v, uint64_t pc, uint64_t *ea, bool *write)
{
    uint8_t code[16];
    size_t n = v->vm->arch == HV_ARCH_X86_64 ? 15 : 4;
    if (uc_mem_read(v->uc, pc, code, n) != UC_ERR_OK)
        return HV_EINVAL;
    /* the faulting instruction's own mode: a T32 block's, or the CPU's now */
    bool saved = v->blk_thumb;
    v->blk_thumb = hv_vcpu_thumb(v);
    csh cs = vcpu_cs(v);
    cs_insn *insn = cs_malloc(cs);
    const uint8_t *p = code;
    size_t left = n;
    uint64_t a = pc;
    int err = HV_EINVAL;
    unsigned sz, cnt;
    bool w;
    if (cs_disasm_iter(cs, &p, &left, &a, insn) && insn_access(v, insn, ea, &sz, &w, &cnt)) {
        err = 0;
        if (write)
            *write = w;
    }
    cs_free(insn, 1);
    v->blk_thumb = saved;
    return err;
}

/* ---- the accesses behind an MMIO piece ---- */

/* x86 string instructions by opcode (one byte, after prefixes): the operands they read and
 * write, in the order KVM's emulator performs them (arch/x86/kvm/emulate.c, x86_emulate_insn():
 * the source operand [rSI] is read before the destination [rDI] is read or written). */
enum { STR_SRC_R = 1, STR_DST_R = 2, STR_DST_W = 4 };

static unsigned x86_string_ops(const cs_insn *insn)
{
    const cs_x86 *x = &insn->detail->x86;
    switch (x->opcode[0] & 0xfe) {
    case 0xa4: return STR_SRC_R | STR_DST_W;   /* movs */
    case 0xa6: return STR_SRC_R | STR_DST_R;   /* cmps */
    case 0xaa: return STR_DST_W;               /* stos */
    case 0xac: return STR_SRC_R;               /* lods */
    case 0xae: return STR_DST_R;               /* scas */
    case 0x6c: return STR_DST_W;               /* ins */
    case 0x6e: return STR_SRC_R;               /* outs */
    default: return 0;
    }
}

static bool acc_push(struct pcfind_hit *h, uint64_t va, unsigned size, bool write)
{
    if (h->nacc == PCFIND_MAX_ACC || !size || size > 16)
        return false;
    h->acc[h->nacc++] = (struct pcfind_acc){ va, size, write, false };
    return true;
}

/*
 * insn's data accesses into h->acc. Capstone 4's access flags are not reliable for x86
 * (movups to memory reads as a load), so apart from the string instructions, whose operands
 * are fixed, every access takes the direction of the piece being located (write): a
 * read-modify-write instruction is then two accesses met one after the other.
 */
static bool insn_accesses(struct hv_vcpu *v, const cs_insn *insn, bool write,
                          struct pcfind_hit *h)
{
    h->nacc = 0;
    if (v->vm->arch == HV_ARCH_X86_64) {
        const cs_x86 *x = &insn->detail->x86;
        unsigned str = x86_string_ops(insn);
        if (!str) {
            uint64_t ea;
            unsigned size, count;
            bool w;
            return insn_access(v, insn, &ea, &size, &w, &count) && acc_push(h, ea, size, write);
        }
        const cs_x86_op *src = NULL, *dst = NULL;
        for (int i = 0; i < x->op_count; i++) {
            const cs_x86_op *op = &x->operands[i];
            if (op->type != X86_OP_MEM)
                continue;
            const char *b = cs_reg_name(v->vm->cs, op->mem.base);
            if (b && strstr(b, "si"))
                src = op;
            else
                dst = op;
        }
        if ((str & STR_SRC_R) && (!src || !acc_push(h, x86_ea(v, insn, src), src->size, false)))
            return false;
        if ((str & (STR_DST_R | STR_DST_W)) &&
            (!dst || !acc_push(h, x86_ea(v, insn, dst), dst->size, (str & STR_DST_W) != 0)))
            return false;
        /* ins: QEMU first stores 0 to [rdi], so that a fault comes before the port is read,
         * then the port's value (target/i386/translate.c, gen_ins) */
        h->acc[h->nacc - 1].twice = (x->opcode[0] & 0xfe) == 0x6c;
        return true;
    }
    uint64_t ea;
    unsigned size, count;
    bool w;
    if (!insn_access(v, insn, &ea, &size, &w, &count))
        return false;
    for (unsigned i = 0; i < count; i++)
        if (!acc_push(h, v->vm->arch == HV_ARCH_ARM ? (ea + (uint64_t)size * i) & 0xffffffffULL
                                                    : ea + (uint64_t)size * i,
                      size, write))
            return false;
    return true;
}

/* Where the engine maps va: x86 maps guest-virtual addresses, Arm the physical layout (its MMU
 * translates), so an Arm access is matched by its guest-physical address. */
static uint64_t engine_addr(struct hv_vcpu *v, uint64_t va)
{
    uint64_t gpa;
    if (v->vm->arch == HV_ARCH_X86_64 || mem_walk(v, va, &gpa, NULL) != 0)
        return va;
    return gpa;
}

struct mmio_q {
    uint64_t addr;
    unsigned n;
    bool write;
    uint64_t slack;     /* 0: the piece overlaps the access; 8: within 8 bytes of it */
    const struct pcfind_floor *floor;   /* NULL: any instruction of the block */
    struct pcfind_hit *hit;
};

static bool visit_mmio(struct hv_vcpu *v, const cs_insn *insn, uint32_t i, void *ctx)
{
    struct mmio_q *q = ctx;
    struct pcfind_hit *h = q->hit;
    const struct pcfind_floor *f = q->floor;
    if (f && i < f->index)
        return false;
    if (!insn_accesses(v, insn, q->write, h))
        return false;
    if (f && i == f->index && ((f->wrote && !q->write) || h->nacc <= f->same_dir))
        return false;
    for (unsigned k = 0; k < h->nacc; k++) {
        const struct pcfind_acc *a = &h->acc[k];
        uint64_t ea = engine_addr(v, a->va);
        if (a->write != q->write || q->addr + q->n + q->slack <= ea ||
            ea + a->size + q->slack <= q->addr)
            continue;
        h->pc = insn->address;
        h->index = i;
        h->len = insn->size;
        h->isv = true;
        if (v->vm->arch == HV_ARCH_AARCH64) {
            uint32_t enc;
            memcpy(&enc, insn->bytes, 4);
            h->isv = dabt_isv_a64(enc);
        } else if (v->vm->arch == HV_ARCH_ARM) {
            h->isv = dabt_isv_a32(insn);
        }
        return true;
    }
    return false;
}

int pcfind_mmio(struct hv_vcpu *v, uint64_t addr, unsigned n, bool write,
                const struct pcfind_floor *floor, struct pcfind_hit *out)
{
    struct mmio_q q = { .addr = addr, .n = n, .write = write, .slack = 0,
                        .floor = floor && floor->on ? floor : NULL, .hit = out };
    int err = scan_block(v, visit_mmio, &q);
    if (err && !write) {
        /* QEMU reads an unaligned access to MMIO as two aligned ones of its size, which may
         * start or end up to 7 bytes away from the access (accel/tcg/cputlb.c, load_helper) */
        q.slack = 8;
        err = scan_block(v, visit_mmio, &q);
    }
    if (err && q.floor) {
        /* nothing after the floor explains it: any instruction of the block, as before */
        q.floor = NULL;
        q.slack = 0;
        err = pcfind_mmio(v, addr, n, write, NULL, out);
    }
    return err;
}
