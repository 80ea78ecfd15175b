/*
 * gdbtarget.c - the register tables of gdb's target descriptions, with the Unicorn register
 * each one is read from. Declared once: the server builds target.xml and the g packet from
 * them, a target reads its registers by them.
 *
 * The names, sizes and order are gdb's features/i386/64bit-core.xml,
 * features/aarch64-core.xml and features/arm/arm-core.xml (flags types are sent as plain
 * integers of the same size).
 */
#include <unicorn/unicorn.h>

#include "debug/gdbtarget.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define X86(name, bits, type, id) { name, bits, type, UC_X86_REG_##id }
#define A64(name, bits, type, id) { name, bits, type, UC_ARM64_REG_##id }
#define A32(name, id) { name, 32, "uint32", UC_ARM_REG_##id }

static const struct gdbt_reg x86_64_regs[] = {
    X86("rax", 64, "int64", RAX), X86("rbx", 64, "int64", RBX), X86("rcx", 64, "int64", RCX),
    X86("rdx", 64, "int64", RDX), X86("rsi", 64, "int64", RSI), X86("rdi", 64, "int64", RDI),
    X86("rbp", 64, "data_ptr", RBP), X86("rsp", 64, "data_ptr", RSP),
    X86("r8", 64, "int64", R8), X86("r9", 64, "int64", R9), X86("r10", 64, "int64", R10),
    X86("r11", 64, "int64", R11), X86("r12", 64, "int64", R12), X86("r13", 64, "int64", R13),
    X86("r14", 64, "int64", R14), X86("r15", 64, "int64", R15),
    X86("rip", 64, "code_ptr", RIP), X86("eflags", 32, "int32", EFLAGS),
    X86("cs", 32, "int32", CS), X86("ss", 32, "int32", SS), X86("ds", 32, "int32", DS),
    X86("es", 32, "int32", ES), X86("fs", 32, "int32", FS), X86("gs", 32, "int32", GS),
    X86("st0", 80, "i387_ext", FP0), X86("st1", 80, "i387_ext", FP1),
    X86("st2", 80, "i387_ext", FP2), X86("st3", 80, "i387_ext", FP3),
    X86("st4", 80, "i387_ext", FP4), X86("st5", 80, "i387_ext", FP5),
    X86("st6", 80, "i387_ext", FP6), X86("st7", 80, "i387_ext", FP7),
    X86("fctrl", 32, "int", FPCW), X86("fstat", 32, "int", FPSW),
    X86("ftag", 32, "int", FPTAG), X86("fiseg", 32, "int", FCS),
    X86("fioff", 32, "int", FIP), X86("foseg", 32, "int", FDS),
    X86("fooff", 32, "int", FDP), X86("fop", 32, "int", FOP),
};

static const struct gdbt_reg aarch64_regs[] = {
    A64("x0", 64, "int", X0),   A64("x1", 64, "int", X1),   A64("x2", 64, "int", X2),
    A64("x3", 64, "int", X3),   A64("x4", 64, "int", X4),   A64("x5", 64, "int", X5),
    A64("x6", 64, "int", X6),   A64("x7", 64, "int", X7),   A64("x8", 64, "int", X8),
    A64("x9", 64, "int", X9),   A64("x10", 64, "int", X10), A64("x11", 64, "int", X11),
    A64("x12", 64, "int", X12), A64("x13", 64, "int", X13), A64("x14", 64, "int", X14),
    A64("x15", 64, "int", X15), A64("x16", 64, "int", X16), A64("x17", 64, "int", X17),
    A64("x18", 64, "int", X18), A64("x19", 64, "int", X19), A64("x20", 64, "int", X20),
    A64("x21", 64, "int", X21), A64("x22", 64, "int", X22), A64("x23", 64, "int", X23),
    A64("x24", 64, "int", X24), A64("x25", 64, "int", X25), A64("x26", 64, "int", X26),
    A64("x27", 64, "int", X27), A64("x28", 64, "int", X28), A64("x29", 64, "int", X29),
    A64("x30", 64, "int", X30), A64("sp", 64, "data_ptr", SP),
    A64("pc", 64, "code_ptr", PC), A64("cpsr", 32, "uint32", PSTATE),
};

static const struct gdbt_reg arm_regs[] = {
    A32("r0", R0),   A32("r1", R1), A32("r2", R2), A32("r3", R3),   A32("r4", R4),
    A32("r5", R5),   A32("r6", R6), A32("r7", R7), A32("r8", R8),   A32("r9", R9),
    A32("r10", R10), A32("r11", R11), A32("r12", R12),
    { "sp", 32, "data_ptr", UC_ARM_REG_SP }, A32("lr", LR),
    { "pc", 32, "code_ptr", UC_ARM_REG_PC }, A32("cpsr", CPSR),
};

const struct gdbt_reg *gdbt_regs(enum gdbt_arch arch, size_t *n)
{
    switch (arch) {
    case GDBT_X86_64:
        *n = N(x86_64_regs);
        return x86_64_regs;
    case GDBT_AARCH64:
        *n = N(aarch64_regs);
        return aarch64_regs;
    case GDBT_ARM:
        break;
    }
    *n = N(arm_regs);
    return arm_regs;
}

const char *gdbt_arch_name(enum gdbt_arch arch)
{
    return arch == GDBT_X86_64 ? "i386:x86-64" : arch == GDBT_AARCH64 ? "aarch64" : "arm";
}

const char *gdbt_feature_name(enum gdbt_arch arch)
{
    return arch == GDBT_X86_64     ? "org.gnu.gdb.i386.core"
           : arch == GDBT_AARCH64 ? "org.gnu.gdb.aarch64.core"
                                  : "org.gnu.gdb.arm.core";
}
