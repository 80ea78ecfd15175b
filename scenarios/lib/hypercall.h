/*
 * hypercall.h - hypercall instructions as inline functions, in the register conventions the
 * models decode.
 *
 * x86_64: the function number goes in rax and the result comes back in rax. KVM passes
 * arguments in rbx, rcx, rdx, rsi; Xen (HVM) in rdi, rsi, rdx, r10, r8. vmcall is Intel's
 * instruction, vmmcall AMD's; hvsim traps both.
 * aarch64: SMCCC through hvc #0 or smc #0: x0 = function id, x1..x7 arguments, results in
 * x0..x3 (the callee may clobber x4..x17 under SMCCC 1.0; all are declared clobbered).
 * arm (AArch32): SMCCC through hvc #0 or smc #0: r0 = function id, r1..r7 arguments, results
 * in r0..r3 (r4..r7 declared changed as well). hypercall_smcne/smceq set the flags from
 * `flag` (cmp flag, #0) and issue the conditional SMC, so the call is made only when flag != 0
 * (ne) or flag == 0 (eq); when the condition fails, hvsim reports the call with `cond_failed`
 * and (model none) skips it, as a CPU that does not trap it would. There is no conditional
 * HVC helper: an HVC with a condition other than AL is UNPREDICTABLE (ARM DDI 0406C B9.3.4).
 */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include <stdint.h>

#if defined(__x86_64__)

#define HYPERCALL_KVM_(insn)                                                              \
    uint64_t ret;                                                                         \
    __asm__ volatile(insn : "=a"(ret) : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)      \
                     : "memory");                                                         \
    return ret

static inline uint64_t hypercall_vmcall_kvm(uint64_t nr, uint64_t a0, uint64_t a1,
                                            uint64_t a2, uint64_t a3)
{
    HYPERCALL_KVM_("vmcall");
}

static inline uint64_t hypercall_vmmcall_kvm(uint64_t nr, uint64_t a0, uint64_t a1,
                                             uint64_t a2, uint64_t a3)
{
    HYPERCALL_KVM_("vmmcall");
}

#define HYPERCALL_XEN_(insn)                                                              \
    uint64_t ret;                                                                         \
    register uint64_t r10_ __asm__("r10") = a3;                                           \
    register uint64_t r8_ __asm__("r8") = a4;                                             \
    __asm__ volatile(insn : "=a"(ret), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10_),          \
                     "+r"(r8_) : "a"(nr) : "memory");                                     \
    return ret

/* The argument registers are declared as clobbered: Xen may change them (continuations). */
static inline uint64_t hypercall_vmcall_xen(uint64_t nr, uint64_t a0, uint64_t a1,
                                            uint64_t a2, uint64_t a3, uint64_t a4)
{
    HYPERCALL_XEN_("vmcall");
}

static inline uint64_t hypercall_vmmcall_xen(uint64_t nr, uint64_t a0, uint64_t a1,
                                             uint64_t a2, uint64_t a3, uint64_t a4)
{
    HYPERCALL_XEN_("vmmcall");
}

#elif defined(__aarch64__)

struct hypercall_smccc_res {
    uint64_t a0, a1, a2, a3;
};

#define HYPERCALL_SMCCC_(insn)                                                            \
    register uint64_t x0 __asm__("x0") = fn;                                              \
    register uint64_t x1 __asm__("x1") = a1;                                              \
    register uint64_t x2 __asm__("x2") = a2;                                              \
    register uint64_t x3 __asm__("x3") = a3;                                              \
    register uint64_t x4 __asm__("x4") = a4;                                              \
    register uint64_t x5 __asm__("x5") = a5;                                              \
    register uint64_t x6 __asm__("x6") = a6;                                              \
    register uint64_t x7 __asm__("x7") = a7;                                              \
    __asm__ volatile(insn                                                                 \
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5),        \
                       "+r"(x6), "+r"(x7)                                                 \
                     :                                                                    \
                     : "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16",      \
                       "x17", "memory");                                                  \
    return (struct hypercall_smccc_res){ x0, x1, x2, x3 }

static inline struct hypercall_smccc_res hypercall_hvc(uint64_t fn, uint64_t a1, uint64_t a2,
                                                       uint64_t a3, uint64_t a4, uint64_t a5,
                                                       uint64_t a6, uint64_t a7)
{
    HYPERCALL_SMCCC_("hvc #0");
}

static inline struct hypercall_smccc_res hypercall_smc(uint64_t fn, uint64_t a1, uint64_t a2,
                                                       uint64_t a3, uint64_t a4, uint64_t a5,
                                                       uint64_t a6, uint64_t a7)
{
    HYPERCALL_SMCCC_("smc #0");
}

#elif defined(__arm__)

struct hypercall_smccc_res {
    uint32_t a0, a1, a2, a3;
};

/* .arch_extension: -march=armv7-a alone has neither SMC (Security) nor HVC (Virtualization). */
#define HYPERCALL_SMCCC32_(pre, insn, ...)                                                 \
    register uint32_t r0 __asm__("r0") = fn;                                              \
    register uint32_t r1 __asm__("r1") = a1;                                              \
    register uint32_t r2 __asm__("r2") = a2;                                              \
    register uint32_t r3 __asm__("r3") = a3;                                              \
    register uint32_t r4 __asm__("r4") = a4;                                              \
    register uint32_t r5 __asm__("r5") = a5;                                              \
    register uint32_t r6 __asm__("r6") = a6;                                              \
    register uint32_t r7 __asm__("r7") = a7;                                              \
    __asm__ volatile(".arch_extension sec\n\t.arch_extension virt\n\t" pre insn           \
                     : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5),        \
                       "+r"(r6), "+r"(r7)                                                 \
                     : __VA_ARGS__                                                        \
                     : "cc", "memory");                                                   \
    return (struct hypercall_smccc_res){ r0, r1, r2, r3 }

static inline struct hypercall_smccc_res hypercall_hvc(uint32_t fn, uint32_t a1, uint32_t a2,
                                                       uint32_t a3, uint32_t a4, uint32_t a5,
                                                       uint32_t a6, uint32_t a7)
{
    HYPERCALL_SMCCC32_("", "hvc #0", "i"(0));
}

static inline struct hypercall_smccc_res hypercall_smc(uint32_t fn, uint32_t a1, uint32_t a2,
                                                       uint32_t a3, uint32_t a4, uint32_t a5,
                                                       uint32_t a6, uint32_t a7)
{
    HYPERCALL_SMCCC32_("", "smc #0", "i"(0));
}

/* The conditional forms: r4..r7 are passed as 0. */
#define HYPERCALL_COND_(name, insn)                                                        \
    static inline struct hypercall_smccc_res name(uint32_t flag, uint32_t fn, uint32_t a1,  \
                                                  uint32_t a2, uint32_t a3)              \
    {                                                                                     \
        uint32_t a4 = 0, a5 = 0, a6 = 0, a7 = 0;                                          \
        HYPERCALL_SMCCC32_("cmp %8, #0\n\t", insn, "r"(flag));                            \
    }

HYPERCALL_COND_(hypercall_smcne, "smcne #0")
HYPERCALL_COND_(hypercall_smceq, "smceq #0")

#endif

#endif
