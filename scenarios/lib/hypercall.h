/*
 * hypercall.h - hypercall instructions as inline functions, in the register conventions the
 * models decode.
 *
 * x86_64: the function number goes in rax and the result comes back in rax. KVM passes
 * arguments in rbx, rcx, rdx, rsi; Xen (HVM) in rdi, rsi, rdx, r10, r8. vmcall is Intel's
 * instruction, vmmcall AMD's; hvsim traps both.
 * aarch64: SMCCC through hvc #0 or smc #0: x0 = function id, x1..x7 arguments, results in
 * x0..x3 (the callee may clobber x4..x17 under SMCCC 1.0; all are declared clobbered).
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

#endif

#endif
