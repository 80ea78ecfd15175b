/*
 * real_mode.c - x86 KVM hypercalls from real mode with CS != 0 (hypercalls.rst;
 * kvm_emulate_hypercall): the 32-bit view of the registers, and a pc that is CS.base + IP.
 * The 16-bit code runs in the library's real-mode slot (guest_call_real: CS = 0x900, so
 * linear 0x9000 + IP); it also hands hvsim a prepared sync from real mode. Results go to
 * 0x2000.. for the `memory` expectations.
 */
#include "guest.h"

#define OUT ((volatile uint64_t *)0x2000)

/* In: eax 1 (VAPIC_POLL_IRQ), ebx the prepared sync. Out: esi and edi the first two
 * results, eax the third. */
extern const uint8_t rm_kvm[], rm_kvm_end[];
__asm__(".text\n"
        ".code16\n"
        ".globl rm_kvm\n"
        "rm_kvm:\n"
        "    vmcall\n"                 /* VAPIC_POLL_IRQ */
        "    mov %eax, %esi\n"
        "    mov $99, %eax\n"
        "    vmcall\n"                 /* unknown */
        "    mov %eax, %edi\n"
        "    mov %ebx, %eax\n"         /* GUEST_SYNC(1) from real mode */
        "    mov $0x1000, %dx\n"
        "    out %eax, %dx\n"
        "    jmp 1f\n"
        "1:  mov $12, %eax\n"          /* MAP_GPA_RANGE(0x3000, 2 pages, 0) */
        "    mov $0x3000, %ebx\n"
        "    mov $2, %ecx\n"
        "    xor %edx, %edx\n"
        "    vmcall\n"
        "    lret\n"
        ".globl rm_kvm_end\n"
        "rm_kvm_end:\n"
        ".code64\n");

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    GUEST_ASSERT_EQ(guest_real_segment(0), 0x900);
    struct guest_call_regs r = { .rax = 1, .rbx = guest_ucall_sync_prepare(1) };
    guest_call_real(rm_kvm, (size_t)(rm_kvm_end - rm_kvm), &r);
    OUT[0] = r.rsi;
    OUT[1] = r.rdi;
    OUT[2] = r.rax;
    GUEST_DONE();
}
