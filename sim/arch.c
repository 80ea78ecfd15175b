/* arch.c - architecture and outcome names, register name tables, disassembly, versions. */
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "sim/sim_int.h"

static const char *const arch_names[HV_ARCH__COUNT] = { "x86_64", "aarch64", "arm" };

const char *hv_arch_name(enum hv_arch a)
{
    return (unsigned)a < HV_ARCH__COUNT ? arch_names[a] : "?";
}

int hv_arch_from_name(const char *name, enum hv_arch *out)
{
    for (int a = 0; a < HV_ARCH__COUNT; a++) {
        if (strcmp(name, arch_names[a]) == 0) {
            *out = (enum hv_arch)a;
            return 0;
        }
    }
    return HV_EINVAL;
}

static const char *const outcome_names[] = {
    [HV_OUT_RUNNING] = "running", [HV_OUT_DONE] = "done",         [HV_OUT_ASSERT] = "assert",
    [HV_OUT_LIMIT] = "limit",     [HV_OUT_EXCEPTION] = "exception", [HV_OUT_DEADLOCK] = "deadlock",
    [HV_OUT_ERROR] = "error",     [HV_OUT_FAILED] = "failed",       [HV_OUT_BUDGET] = "budget",
};

const char *hv_outcome_name(enum hv_outcome o)
{
    return (unsigned)o < sizeof outcome_names / sizeof outcome_names[0] ? outcome_names[o] : "?";
}

int hv_outcome_from_name(const char *name, enum hv_outcome *out)
{
    for (size_t i = 0; i < sizeof outcome_names / sizeof outcome_names[0]; i++) {
        if (strcmp(name, outcome_names[i]) == 0) {
            *out = (enum hv_outcome)i;
            return 0;
        }
    }
    return HV_EINVAL;
}

struct reg_name {
    const char *name;
    int id;
};

static const struct reg_name x86_regs[] = {
    { "rax", UC_X86_REG_RAX }, { "rcx", UC_X86_REG_RCX }, { "rdx", UC_X86_REG_RDX },
    { "rbx", UC_X86_REG_RBX }, { "rsp", UC_X86_REG_RSP }, { "rbp", UC_X86_REG_RBP },
    { "rsi", UC_X86_REG_RSI }, { "rdi", UC_X86_REG_RDI }, { "r8", UC_X86_REG_R8 },
    { "r9", UC_X86_REG_R9 },   { "r10", UC_X86_REG_R10 }, { "r11", UC_X86_REG_R11 },
    { "r12", UC_X86_REG_R12 }, { "r13", UC_X86_REG_R13 }, { "r14", UC_X86_REG_R14 },
    { "r15", UC_X86_REG_R15 }, { "rip", UC_X86_REG_RIP }, { "rflags", UC_X86_REG_RFLAGS },
    { "cr0", UC_X86_REG_CR0 }, { "cr2", UC_X86_REG_CR2 }, { "cr3", UC_X86_REG_CR3 },
    { "cr4", UC_X86_REG_CR4 }, { "pc", UC_X86_REG_RIP },  { "cs", UC_X86_REG_CS },
    { NULL, 0 },
};

static const struct reg_name a64_regs[] = {
    { "x0", UC_ARM64_REG_X0 },   { "x1", UC_ARM64_REG_X1 },   { "x2", UC_ARM64_REG_X2 },
    { "x3", UC_ARM64_REG_X3 },   { "x4", UC_ARM64_REG_X4 },   { "x5", UC_ARM64_REG_X5 },
    { "x6", UC_ARM64_REG_X6 },   { "x7", UC_ARM64_REG_X7 },   { "x8", UC_ARM64_REG_X8 },
    { "x9", UC_ARM64_REG_X9 },   { "x10", UC_ARM64_REG_X10 }, { "x11", UC_ARM64_REG_X11 },
    { "x12", UC_ARM64_REG_X12 }, { "x13", UC_ARM64_REG_X13 }, { "x14", UC_ARM64_REG_X14 },
    { "x15", UC_ARM64_REG_X15 }, { "x16", UC_ARM64_REG_X16 }, { "x17", UC_ARM64_REG_X17 },
    { "x18", UC_ARM64_REG_X18 }, { "x19", UC_ARM64_REG_X19 }, { "x20", UC_ARM64_REG_X20 },
    { "x21", UC_ARM64_REG_X21 }, { "x22", UC_ARM64_REG_X22 }, { "x23", UC_ARM64_REG_X23 },
    { "x24", UC_ARM64_REG_X24 }, { "x25", UC_ARM64_REG_X25 }, { "x26", UC_ARM64_REG_X26 },
    { "x27", UC_ARM64_REG_X27 }, { "x28", UC_ARM64_REG_X28 }, { "x29", UC_ARM64_REG_X29 },
    { "x30", UC_ARM64_REG_X30 }, { "sp", UC_ARM64_REG_SP },   { "pc", UC_ARM64_REG_PC },
    { "nzcv", UC_ARM64_REG_NZCV }, { "lr", UC_ARM64_REG_X30 },
    /* below the general registers: arch_gpr_id and the dump index the first 34 entries */
    { "ttbr0_el1", UC_ARM64_REG_TTBR0_EL1 }, { "ttbr1_el1", UC_ARM64_REG_TTBR1_EL1 },
    { "vbar_el1", UC_ARM64_REG_VBAR_EL1 }, { "elr_el1", UC_ARM64_REG_ELR_EL1 },
    { "esr_el1", UC_ARM64_REG_ESR_EL1 }, { "far_el1", UC_ARM64_REG_FAR_EL1 },
    { "pstate", UC_ARM64_REG_PSTATE }, { NULL, 0 },
};

static const struct reg_name a32_regs[] = {
    { "r0", UC_ARM_REG_R0 },   { "r1", UC_ARM_REG_R1 },   { "r2", UC_ARM_REG_R2 },
    { "r3", UC_ARM_REG_R3 },   { "r4", UC_ARM_REG_R4 },   { "r5", UC_ARM_REG_R5 },
    { "r6", UC_ARM_REG_R6 },   { "r7", UC_ARM_REG_R7 },   { "r8", UC_ARM_REG_R8 },
    { "r9", UC_ARM_REG_R9 },   { "r10", UC_ARM_REG_R10 }, { "r11", UC_ARM_REG_R11 },
    { "r12", UC_ARM_REG_R12 }, { "sp", UC_ARM_REG_SP },   { "lr", UC_ARM_REG_LR },
    { "pc", UC_ARM_REG_PC },   { "cpsr", UC_ARM_REG_CPSR },
    /* below the dump: arch_gpr_id and the dump index the first 17 entries */
    { "spsr", UC_ARM_REG_SPSR }, { "r13", UC_ARM_REG_SP }, { "r14", UC_ARM_REG_LR },
    { "r15", UC_ARM_REG_PC },   { NULL, 0 },
};

static const struct reg_name *reg_table(enum hv_arch a)
{
    switch (a) {
    case HV_ARCH_X86_64: return x86_regs;
    case HV_ARCH_AARCH64: return a64_regs;
    default: return a32_regs;
    }
}

int arch_reg_id(enum hv_arch a, const char *name)
{
    for (const struct reg_name *r = reg_table(a); r->name; r++)
        if (strcmp(r->name, name) == 0)
            return r->id;
    return -1;
}

/* AArch64 system registers without a UC_ARM64_REG_* id in 2.0.1, reached through CP_REG. */
static const struct {
    const char *name;
    uint32_t op0, op1, crn, crm, op2;
} a64_sysregs[] = {
    { "sctlr_el1", 3, 0, 1, 0, 0 }, { "tcr_el1", 3, 0, 2, 0, 2 }, { "mair_el1", 3, 0, 10, 2, 0 },
    { "spsr_el1", 3, 0, 4, 0, 0 },  { "scr_el3", 3, 6, 1, 1, 0 }, { "hcr_el2", 3, 4, 1, 1, 0 },
};

int arch_sysreg(enum hv_arch a, const char *name, uc_arm64_cp_reg *out)
{
    if (a != HV_ARCH_AARCH64)
        return -1;
    for (size_t i = 0; i < sizeof a64_sysregs / sizeof a64_sysregs[0]; i++) {
        if (strcmp(a64_sysregs[i].name, name) == 0) {
            *out = (uc_arm64_cp_reg){ .crn = a64_sysregs[i].crn, .crm = a64_sysregs[i].crm,
                                      .op0 = a64_sysregs[i].op0, .op1 = a64_sysregs[i].op1,
                                      .op2 = a64_sysregs[i].op2 };
            return 0;
        }
    }
    return -1;
}

/* AArch32 CP15 registers (MRC p15, opc1, Rt, crn, crm, opc2), the Non-secure copies. */
static const struct {
    const char *name;
    uint32_t crn, opc1, crm, opc2;
    bool secure;   /* a register that exists only in the Secure bank (SCR) */
} a32_cp15[] = {
    { "sctlr", 1, 0, 0, 0, false },  { "scr", 1, 0, 1, 0, true },
    { "ttbr0", 2, 0, 0, 0, false },  { "ttbr1", 2, 0, 0, 1, false },
    { "ttbcr", 2, 0, 0, 2, false },  { "dacr", 3, 0, 0, 0, false },
    { "dfsr", 5, 0, 0, 0, false },   { "ifsr", 5, 0, 0, 1, false },
    { "dfar", 6, 0, 0, 0, false },   { "ifar", 6, 0, 0, 2, false },
    { "vbar", 12, 0, 0, 0, false },  { "tpidrprw", 13, 0, 0, 4, false },
};

int arch_cp15(enum hv_arch a, const char *name, uc_arm_cp_reg *out)
{
    if (a != HV_ARCH_ARM)
        return -1;
    for (size_t i = 0; i < sizeof a32_cp15 / sizeof a32_cp15[0]; i++) {
        if (strcmp(a32_cp15[i].name, name) == 0) {
            *out = (uc_arm_cp_reg){ .cp = 15, .sec = a32_cp15[i].secure, .crn = a32_cp15[i].crn,
                                    .opc1 = a32_cp15[i].opc1, .crm = a32_cp15[i].crm,
                                    .opc2 = a32_cp15[i].opc2 };
            return 0;
        }
    }
    return -1;
}

uint32_t a32_cp15_read(uc_engine *uc, uint32_t crn, uint32_t opc1, uint32_t crm, uint32_t opc2)
{
    uc_arm_cp_reg r = { .cp = 15, .crn = crn, .opc1 = opc1, .crm = crm, .opc2 = opc2 };
    if (uc_reg_read(uc, UC_ARM_REG_CP_REG, &r) != UC_ERR_OK)
        return 0;
    return (uint32_t)r.val;
}

void a32_cp15_write(uc_engine *uc, uint32_t crn, uint32_t opc1, uint32_t crm, uint32_t opc2,
                    uint32_t val)
{
    uc_arm_cp_reg r = { .cp = 15, .crn = crn, .opc1 = opc1, .crm = crm, .opc2 = opc2,
                        .val = val };
    uc_reg_write(uc, UC_ARM_REG_CP_REG, &r);
}

int arch_gpr_id(enum hv_arch a, unsigned idx)
{
    switch (a) {
    case HV_ARCH_X86_64: return idx < 16 ? x86_regs[idx].id : -1;
    case HV_ARCH_AARCH64: return idx < 32 ? a64_regs[idx].id : -1;
    default: return idx < 16 ? a32_regs[idx].id : -1;
    }
}

/* Number of general registers shown in a register dump. */
static size_t dump_count(enum hv_arch a)
{
    switch (a) {
    case HV_ARCH_X86_64: return 22;  /* rax..r15, rip, rflags, cr0, cr2, cr3, cr4 */
    case HV_ARCH_AARCH64: return 34; /* x0..x30, sp, pc, nzcv */
    default: return 17;
    }
}

void hv_vcpu_format_regs(struct hv_vcpu *v, char *buf, size_t size)
{
    const struct reg_name *t = reg_table(v->vm->arch);
    size_t len = 0;
    if (size)
        buf[0] = 0;
    for (size_t i = 0; i < dump_count(v->vm->arch) && len < size; i++) {
        uint64_t val = 0;
        uc_reg_read(v->uc, t[i].id, &val);
        int n = snprintf(buf + len, size - len, "%6s=%016" PRIx64 "%s", t[i].name, val,
                         (i % 4 == 3) ? "\n" : " ");
        if (n < 0)
            break;
        len += (size_t)n;
    }
}

/* variant: arm 1 = T32; x86 32 or 16 = 32- or 16-bit code; 0 = the arch's default. */
static int cs_open_arch(enum hv_arch arch, unsigned variant, csh *h)
{
    cs_err e;
    switch (arch) {
    case HV_ARCH_X86_64:
        e = cs_open(CS_ARCH_X86, variant == 32 ? CS_MODE_32 : variant == 16 ? CS_MODE_16
                                                                          : CS_MODE_64, h);
        break;
    case HV_ARCH_AARCH64: e = cs_open(CS_ARCH_ARM64, CS_MODE_ARM, h); break;
    default: e = cs_open(CS_ARCH_ARM, variant == 1 ? CS_MODE_THUMB : CS_MODE_ARM, h); break;
    }
    return e == CS_ERR_OK ? 0 : HV_ECAPSTONE;
}

void hv_disasm(enum hv_arch arch, const uint8_t *code, size_t len, uint64_t addr, uint64_t pc,
               size_t n, char *buf, size_t size)
{
    hv_disasm_mode(arch, false, code, len, addr, pc, n, buf, size);
}

void hv_disasm_mode(enum hv_arch arch, bool thumb, const uint8_t *code, size_t len,
                    uint64_t addr, uint64_t pc, size_t n, char *buf, size_t size)
{
    csh h;
    size_t out = 0;
    if (size)
        buf[0] = 0;
    if (cs_open_arch(arch, thumb && arch == HV_ARCH_ARM ? 1 : 0, &h))
        return;
    cs_insn *insn = cs_malloc(h);
    const uint8_t *p = code;
    size_t left = len;
    uint64_t a = addr;
    for (size_t i = 0; i < n && left && out < size; i++) {
        if (!cs_disasm_iter(h, &p, &left, &a, insn)) {
            snprintf(buf + out, size - out, "  %016" PRIx64 ": (bad)\n", a);
            break;
        }
        int k = snprintf(buf + out, size - out, "%c %016" PRIx64 ": %-8s %s\n",
                         insn->address == pc ? '>' : ' ', insn->address, insn->mnemonic,
                         insn->op_str);
        if (k < 0)
            break;
        out += (size_t)k;
    }
    cs_free(insn, 1);
    cs_close(&h);
}

struct hv_disasm {
    csh h;
    cs_insn *insn;
};

int hv_disasm_open(struct hv_disasm **out, enum hv_arch arch)
{
    struct hv_disasm *d = calloc(1, sizeof *d);
    *out = NULL;
    if (!d)
        return HV_ENOMEM;
    if (cs_open_arch(arch, false, &d->h)) {
        free(d);
        return HV_ECAPSTONE;
    }
    if (!(d->insn = cs_malloc(d->h))) {
        cs_close(&d->h);
        free(d);
        return HV_ENOMEM;
    }
    *out = d;
    return 0;
}

void hv_disasm_insn(struct hv_disasm *d, const uint8_t *code, size_t len, uint64_t pc,
                    char *buf, size_t size)
{
    const uint8_t *p = code;
    uint64_t a = pc;
    if (cs_disasm_iter(d->h, &p, &len, &a, d->insn))
        snprintf(buf, size, "%-8s %s", d->insn->mnemonic, d->insn->op_str);
    else
        snprintf(buf, size, "(bad)");
}

void hv_disasm_close(struct hv_disasm *d)
{
    if (!d)
        return;
    cs_free(d->insn, 1);
    cs_close(&d->h);
    free(d);
}

int sim_cs_open(enum hv_arch arch, unsigned variant, csh *h)
{
    int err = cs_open_arch(arch, variant, h);
    if (!err)
        cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
    return err;
}

csh sim_blk_cs(const struct hv_vm *vm, bool thumb, unsigned x86_bits)
{
    if (x86_bits == 32)
        return vm->cs32;
    if (x86_bits == 16)
        return vm->cs16;
    return thumb && vm->cs_thumb ? vm->cs_thumb : vm->cs;
}

void hv_lib_versions(char *unicorn, size_t usize, char *capstone, size_t csize)
{
    unsigned maj, min;
    unsigned uv = uc_version(&maj, &min);
    snprintf(unicorn, usize, "%u.%u.%u", (uv >> 24) & 0xff, (uv >> 16) & 0xff, (uv >> 8) & 0xff);
    int cmaj, cmin;
    cs_version(&cmaj, &cmin);
    snprintf(capstone, csize, "%d.%d", cmaj, cmin);
}
