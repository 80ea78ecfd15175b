/*
 * exception.c - x86_64 IDT and the C side of the exception stubs (boot.S).
 *
 * Every vCPU loads the same IDT: 256 64-bit interrupt gates, selector 0x08, IST 0, DPL 0, each
 * pointing at its stub, except X86_VEC_USER_RET (DPL 3, to x86_user_return in modes.S).
 * hvsim delivers exceptions itself (Unicorn never uses the IDT) as the CPU does: from CPL 3
 * on the TSS's RSP0, it pushes SS, RSP, RFLAGS, CS, RIP and, for vectors 8, 10-14, 17, 21, 29
 * and 30, an error code, then jumps to the gate's offset in 64-bit mode. The stub pushes the
 * rest of struct guest_regs and calls x86_exc_dispatch(), which runs the installed handler or
 * reports the exception as a failed assertion. The stub returns with iretq to regs->pc.
 */
#include "guest_int.h"
#include "x86_64/x86.h"

struct idt_gate {
    uint16_t off_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t reserved;
};

_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate is 16 bytes");
_Static_assert(sizeof(struct guest_regs) == 22 * 8, "guest_regs matches boot.S");

#define STUB_SPACING 16
#define GATE_INTERRUPT_P_DPL0 0x8e
#define GATE_INTERRUPT_P_DPL3 0xee

extern const char x86_exc_stubs[], x86_user_return[];

static struct idt_gate idt[256] __attribute__((aligned(16)));

void x86_idt_load(void)
{
    /* Every vCPU writes the same values: the table is complete before any lidt of it. */
    for (unsigned v = 0; v < 256; v++) {
        uint64_t off = (uintptr_t)x86_exc_stubs + v * STUB_SPACING;
        struct idt_gate g = {
            .off_lo = (uint16_t)off,
            .selector = X86_SEL_CODE64,
            .ist = 0,
            .type_attr = GATE_INTERRUPT_P_DPL0,
            .off_mid = (uint16_t)(off >> 16),
            .off_hi = (uint32_t)(off >> 32),
            .reserved = 0,
        };
        idt[v] = g;
    }
    /* guest_call_user's way back from CPL 3 */
    uint64_t ret = (uintptr_t)x86_user_return;
    idt[X86_VEC_USER_RET] = (struct idt_gate){
        .off_lo = (uint16_t)ret, .selector = X86_SEL_CODE64, .ist = 0,
        .type_attr = GATE_INTERRUPT_P_DPL3, .off_mid = (uint16_t)(ret >> 16),
        .off_hi = (uint32_t)(ret >> 32), .reserved = 0,
    };
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = { sizeof idt - 1, (uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

static const char *const names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vector 9", "#TS", "#NP",
    "#SS", "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void x86_exc_dispatch(struct guest_regs *regs);

void x86_exc_dispatch(struct guest_regs *regs)
{
    guest_handler_fn fn = guest_handler((unsigned)regs->vector);
    if (fn) {
        fn(regs);
        return;
    }
    const char *name = regs->vector >= 32 ? "interrupt"
                       : names[regs->vector] ? names[regs->vector] : "reserved";
    uint64_t cr2 = 0;
    if (regs->vector == GUEST_VEC_PF)
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    guest_ucall_assert(__FILE__, __LINE__, "unhandled exception",
                       "vector %llu (%s) at rip %#llx, error code %#llx, cr2 %#llx",
                       (unsigned long long)regs->vector, name,
                       (unsigned long long)regs->pc, (unsigned long long)regs->error_code,
                       (unsigned long long)cr2);
}
