/*
 * hypercalls.c - x86 KVM hypercalls (hypercalls.rst) from a guest at CPL 0: in-kernel results,
 * MAP_GPA_RANGE forwarded to the VMM once enabled, and the other vendor's instruction patched.
 */
#include "guest.h"
#include "hypercall.h"

#define ENOSYS_RET ((uint64_t)-1000)
#define EINVAL_RET ((uint64_t)-22)

extern const uint8_t wrong_vendor_insn[];

/* vmmcall on an Intel host: KVM rewrites it to vmcall and runs it again */
__attribute__((noinline)) static uint64_t wrong_vendor(uint64_t nr)
{
    uint64_t rax = nr;
    __asm__ volatile(".globl wrong_vendor_insn\n"
                     "wrong_vendor_insn: vmmcall"
                     : "+a"(rax)
                     :
                     : "memory");
    return rax;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    GUEST_ASSERT_EQ(hypercall_vmcall_kvm(1, 0, 0, 0, 0), 0);                 /* VAPIC_POLL_IRQ */
    GUEST_ASSERT_EQ(hypercall_vmcall_kvm(99, 0, 0, 0, 0), ENOSYS_RET);       /* unknown */
    GUEST_ASSERT_EQ(hypercall_vmcall_kvm(5, 0, 0, 0, 0), ENOSYS_RET);        /* KICK_CPU */
    GUEST_ASSERT_EQ(hypercall_vmcall_kvm(12, 0x100000, 4, 0x10, 0), ENOSYS_RET);
    GUEST_SYNC(1);                     /* host: KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL) */
    GUEST_ASSERT_EQ(hypercall_vmcall_kvm(12, 0x100800, 4, 0, 0), EINVAL_RET); /* unaligned */
    GUEST_ASSERT_EQ(hypercall_vmcall_kvm(12, 0x100000, 0, 0, 0), EINVAL_RET); /* no pages */
    GUEST_ASSERT_EQ(hypercall_vmcall_kvm(12, 0x100000, 4, 0x10, 0), 0);      /* to the VMM */
    GUEST_ASSERT_EQ(wrong_vendor(1), 0);
    GUEST_ASSERT_EQ(wrong_vendor_insn[2], 0xc1);   /* the bytes now say vmcall */
    GUEST_DONE();
}
