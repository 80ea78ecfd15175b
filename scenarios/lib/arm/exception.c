/*
 * exception.c - the C side of the arm (AArch32) vector table (boot.S).
 *
 * hvsim delivers exceptions itself (Unicorn never enters the vector table): it switches to the
 * exception's mode with LR = the architectural return address and SPSR = CPSR, writes
 * DFSR/DFAR or IFSR/IFAR for aborts, and jumps to VBAR + the entry's offset. The entry moves
 * to SVC mode, saves struct guest_regs and calls arm_exc_dispatch(), which turns LR into the
 * address of the faulting instruction (UNDEF, aborts) or the next one (SVC), runs the handler
 * installed for the entry (or reports the exception as a failed assertion); rfe then returns
 * to regs->pc with CPSR = regs->cpsr.
 */
#include "guest_int.h"

_Static_assert(sizeof(struct guest_regs) == 80, "guest_regs matches boot.S FRAME_SIZE");

static const char *const vec_names[8] = {
    "reset", "undefined instruction", "supervisor call", "prefetch abort", "data abort",
    "hyp trap", "IRQ", "FIQ",
};

void arm_exc_dispatch(struct guest_regs *regs);

void arm_exc_dispatch(struct guest_regs *regs)
{
    bool thumb = (regs->cpsr >> 5) & 1;
    uint32_t fsr = 0, far = 0;
    switch (regs->vector) {
    case GUEST_VEC_UNDEF: regs->pc -= thumb ? 2 : 4; break;
    case GUEST_VEC_PABT:
        regs->pc -= 4;
        __asm__ volatile("mrc p15, 0, %0, c5, c0, 1" : "=r"(fsr)); /* IFSR */
        __asm__ volatile("mrc p15, 0, %0, c6, c0, 2" : "=r"(far)); /* IFAR */
        break;
    case GUEST_VEC_DABT:
        regs->pc -= 8;
        __asm__ volatile("mrc p15, 0, %0, c5, c0, 0" : "=r"(fsr)); /* DFSR */
        __asm__ volatile("mrc p15, 0, %0, c6, c0, 0" : "=r"(far)); /* DFAR */
        break;
    case GUEST_VEC_IRQ:
    case GUEST_VEC_FIQ: regs->pc -= 4; break;
    default: break; /* SVC: the return address is the next instruction */
    }
    regs->fsr = fsr;
    regs->far = far;
    guest_handler_fn fn = guest_handler(regs->vector);
    if (fn) {
        fn(regs);
        return;
    }
    guest_ucall_assert(__FILE__, __LINE__, "unhandled exception",
                       "%s (vector %u) at pc %#x, cpsr %#x, fsr %#x, far %#x",
                       vec_names[regs->vector & 7], (unsigned)regs->vector,
                       (unsigned)regs->pc, (unsigned)regs->cpsr, (unsigned)fsr, (unsigned)far);
}
