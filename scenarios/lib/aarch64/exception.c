/*
 * exception.c - the C side of the aarch64 vector table (boot.S).
 *
 * hvsim delivers exceptions itself (Unicorn never enters VBAR_EL1): it sets ESR_EL1 (and FAR_EL1
 * for aborts), ELR_EL1 = the pc to return to, SPSR_EL1 = PSTATE, masks DAIF and jumps to
 * VBAR_EL1 + 0x200 (synchronous, current EL, SP_ELx). The entry saves struct guest_regs and
 * calls a64_exc_dispatch(), which runs the handler installed for the exception class (or for
 * IRQ/FIQ/SError) or reports the exception as a failed assertion; eret then returns to
 * regs->pc.
 */
#include "guest_int.h"

_Static_assert(sizeof(struct guest_regs) == 304, "guest_regs matches boot.S FRAME_SIZE");

static const char *const entry_names[16] = {
    "sync EL1t", "IRQ EL1t", "FIQ EL1t", "SError EL1t",
    "sync EL1h", "IRQ EL1h", "FIQ EL1h", "SError EL1h",
    "sync EL0 A64", "IRQ EL0 A64", "FIQ EL0 A64", "SError EL0 A64",
    "sync EL0 A32", "IRQ EL0 A32", "FIQ EL0 A32", "SError EL0 A32",
};

static const char *ec_name(unsigned ec)
{
    switch (ec) {
    case GUEST_EC_UNKNOWN: return "unknown reason / undefined instruction";
    case GUEST_EC_SVC64: return "SVC";
    case GUEST_EC_HVC64: return "HVC";
    case GUEST_EC_SMC64: return "SMC";
    case GUEST_EC_SYS64: return "system register access";
    case GUEST_EC_IABT_CUR: return "instruction abort";
    case GUEST_EC_PC_ALIGN: return "PC alignment";
    case GUEST_EC_DABT_CUR: return "data abort";
    case GUEST_EC_SP_ALIGN: return "SP alignment";
    case GUEST_EC_BRK64: return "BRK";
    default: return "other";
    }
}

void a64_exc_dispatch(struct guest_regs *regs);

void a64_exc_dispatch(struct guest_regs *regs)
{
    unsigned ec = (unsigned)(regs->esr >> 26) & 0x3f;
    unsigned vector;
    switch (regs->vector) {
    case 4: vector = ec; break;
    case 5: vector = GUEST_VEC_IRQ; break;
    case 6: vector = GUEST_VEC_FIQ; break;
    case 7: vector = GUEST_VEC_SERROR; break;
    default: vector = GUEST_NR_VECTORS; break;   /* never from EL1 with SP_EL1 */
    }
    guest_handler_fn fn = guest_handler(vector);
    if (fn) {
        fn(regs);
        return;
    }
    guest_ucall_assert(__FILE__, __LINE__, "unhandled exception",
                       "%s, EC %#x (%s) at pc %#llx, esr %#llx, far %#llx",
                       entry_names[regs->vector & 15], ec, ec_name(ec),
                       (unsigned long long)regs->pc, (unsigned long long)regs->esr,
                       (unsigned long long)regs->far);
}
