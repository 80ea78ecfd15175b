/*
 * real_mode.c - Xen hypercalls from real mode (C.1; hvm_hypercall): allowed, with the 32-bit
 * ABI; a buffer argument is a linear address, whatever DS says. The 16-bit code runs in the
 * library's real-mode slot (guest_call_real: CS = 0x900). Results go to 0x2000.. for the
 * scenario's `memory` expectations.
 */
#include "xen_guest.h"

#define OUT ((volatile uint64_t *)0x2000)

/* In: eax 17, ebx 0 (xen_version(XENVER_version)); edx the text, esi its length. Out: edi the
 * version, eax console_io's result, ebx ecx edx as the debug build left them. */
extern const uint8_t rm_xen[], rm_xen_end[];
__asm__(".text\n"
        ".code16\n"
        ".globl rm_xen\n"
        "rm_xen:\n"
        "    vmcall\n"
        "    mov %eax, %edi\n"
        "    mov $18, %eax\n"        /* console_io(CONSOLEIO_write, esi bytes, edx) */
        "    xor %ebx, %ebx\n"
        "    mov %esi, %ecx\n"
        "    vmcall\n"
        "    lret\n"
        ".globl rm_xen_end\n"
        "rm_xen_end:\n"
        ".code64\n");

static const char msg[] = "hello from real mode\n";

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    struct guest_call_regs r = { .rax = HC_xen_version, .rbx = 0, .rdx = (uintptr_t)msg,
                                 .rsi = sizeof msg - 1 };
    guest_call_real(rm_xen, (size_t)(rm_xen_end - rm_xen), &r);
    const uint64_t v[6] = { r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi };
    for (unsigned i = 0; i < 6; i++)
        OUT[i] = v[i];
    GUEST_DONE();
}
