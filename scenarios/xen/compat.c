/*
 * compat.c - Xen's 32-bit hypercall ABI from compatibility mode (C.1; hvm_hypercall,
 * call_handlers_hvm32, clobber_regs32): index EAX, arguments EBX ECX EDX ESI EDI, the result
 * in EAX alone, and a debug build poisoning the low halves of the argument registers the
 * handler takes; and an exception there, delivered to the 64-bit handler. The 32-bit code is
 * called with guest_call_compat(), which loads the registers in 64-bit mode. Results go to
 * 0x2000.. for the scenario's `memory` expectations.
 */
#include "xen_guest.h"

#define OUT ((volatile uint64_t *)0x2000)

/* vmcall32: vmcall with the registers as loaded. page32: call the hypercall page's stub at
 * eax (which sets eax to its number). ud32: ud2, then lret. */
extern const uint8_t vmcall32[], page32[], ud32[];
__asm__(".text\n"
        ".code32\n"
        ".globl vmcall32\n"
        "vmcall32:\n"
        "    vmcall\n"
        "    lret\n"
        ".globl page32\n"
        "page32:\n"
        "    call *%eax\n"
        "    lret\n"
        ".globl ud32\n"
        "ud32:\n"
        "    ud2\n"
        "    lret\n"
        ".code64\n");

static volatile uint64_t ud_cs, ud_pc, ud_handler_cs;

static void on_ud(struct guest_regs *r)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    ud_handler_cs = cs;
    ud_cs = r->cs;
    ud_pc = r->pc;
    r->pc += GUEST_UD_LEN;
}

/* Calls code32 with r and stores the six registers after it at OUT[at..at+5]. */
static void call32(const void *code32, struct guest_call_regs r, unsigned at)
{
    guest_call_compat(code32, &r);
    const uint64_t v[6] = { r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi };
    for (unsigned i = 0; i < 6; i++)
        OUT[at + i] = v[i];
}

static const char msg[] = "hello from compatibility mode\n";

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    guest_set_handler(GUEST_VEC_UD, on_ud);
    xen_init_hypercall_page();
    /* 64-bit mode takes all of rax: 0x12345678_00000011 is no hypercall */
    uint64_t rax = 0x1234567800000011ULL;
    __asm__ volatile("vmcall" : "+a"(rax) : "D"(0ULL) : "rsi", "rdx", "r10", "r8", "memory");
    OUT[0] = rax;
    /* compatibility mode: EAX = 17, xen_version(EBX = XENVER_version, ECX) */
    struct guest_call_regs r = {
        .rax = 0x1234567800000011ULL, .rbx = 0xaaaaaaaa00000000ULL,
        .rcx = 0xbbbbbbbb00000000ULL, .rdx = 0xccccccccccccccccULL,
        .rsi = 0xddddddddddddddddULL, .rdi = 0xeeeeeeeeeeeeeeeeULL,
    };
    call32(vmcall32, r, 1);
    /* console_io(CONSOLEIO_write, count, buffer) through the hypercall page's stub */
    r.rax = XEN_HCPAGE + 32 * HC_console_io;
    r.rbx = 0;
    r.rcx = sizeof msg - 1;
    r.rdx = (uintptr_t)msg;
    call32(page32, r, 7);
    /* mmu_update (1): no HVM32 handler, -ENOSYS in eax, nothing poisoned */
    r.rax = 0x1234567800000001ULL;
    r.rbx = 0xaaaaaaaa00000000ULL;
    call32(vmcall32, r, 13);
    /* #UD in compatibility mode */
    r.rax = 0;
    call32(ud32, r, 19);
    GUEST_ASSERT_EQ(ud_handler_cs, GUEST_SEL_CODE64);
    GUEST_ASSERT_EQ(ud_cs, GUEST_SEL_CODE32);
    GUEST_ASSERT_EQ(ud_pc, (uintptr_t)ud32);
    GUEST_DONE();
}
