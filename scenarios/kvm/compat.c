/*
 * compat.c - x86 KVM hypercalls from compatibility mode (hypercalls.rst;
 * kvm_emulate_hypercall, complete_hypercall_exit): outside 64-bit mode KVM reads the low 32
 * bits of rax, rbx, rcx, rdx, rsi and writes (u32)ret to rax. The 32-bit code is a vmcall and a
 * far return; guest_call_compat() loads the registers in 64-bit mode, so their upper halves
 * reach the vmcall unchanged. Results go to 0x2000.. for the `memory` expectations.
 */
#include "guest.h"
#include "hypercall.h"

#define OUT ((volatile uint64_t *)0x2000)

extern const uint8_t vmcall32[];
__asm__(".text\n"
        ".code32\n"
        ".globl vmcall32\n"
        "vmcall32:\n"
        "    vmcall\n"
        "    lret\n"
        ".code64\n");

/* vmcall in compatibility mode with these registers; rax afterwards. */
static uint64_t vmcall_compat(uint64_t rax, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
    struct guest_call_regs r = { .rax = rax, .rbx = rbx, .rcx = rcx, .rdx = rdx };
    guest_call_compat(vmcall32, &r);
    GUEST_ASSERT_EQ(r.rbx, rbx);   /* KVM writes rax only */
    return r.rax;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    /* rax = 0x1_00000001: 64-bit mode sees number 0x100000001, compatibility mode 1 */
    OUT[0] = hypercall_vmcall_kvm(0x100000001ULL, 0, 0, 0, 0);
    OUT[1] = vmcall_compat(0x100000001ULL, 0, 0, 0);
    /* an unknown number (0x63 = 99): -KVM_ENOSYS as (u32), the upper half of rax cleared */
    OUT[2] = vmcall_compat(0xdead000000000063ULL, 0, 0, 0);
    GUEST_SYNC(1); /* the host enables KVM_CAP_EXIT_HYPERCALL */
    /* MAP_GPA_RANGE to the VMM: from 64-bit mode whole, from compatibility mode truncated */
    OUT[3] = hypercall_vmcall_kvm(12, 0x100002000ULL, 0xff00000004ULL, 0x10, 0);
    OUT[4] = vmcall_compat(0xffffffff0000000cULL, 0x100002000ULL, 0xff00000004ULL, 0x10);
    /* the truncated gpa is checked: 0x1_00002800 -> 0x2800, unaligned */
    OUT[5] = vmcall_compat(12, 0x100002800ULL, 4, 0);
    GUEST_DONE();
}
