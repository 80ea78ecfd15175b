/*
 * cpl3.c - x86 KVM hypercalls made at CPL 3 (hypercalls.rst; kvm_emulate_hypercall): refused
 * with -KVM_EPERM before KVM looks at the number; the same calls at CPL 0 for comparison.
 * Results go to 0x2000.. for the scenario's `memory` expectations.
 */
#include "guest.h"
#include "hypercall.h"

#define OUT ((volatile uint64_t *)0x2000)

/* At CPL 3 (guest_call_user): vmcall with nr and a MAP_GPA_RANGE-shaped argument list. */
static uint64_t at_cpl3(uint64_t nr)
{
    uint16_t cs, ss;
    __asm__ volatile("mov %%cs, %0; mov %%ss, %1" : "=r"(cs), "=r"(ss));
    GUEST_ASSERT_EQ(cs, GUEST_SEL_USER_CODE64);
    GUEST_ASSERT_EQ(ss, GUEST_SEL_USER_DATA);
    return hypercall_vmcall_kvm(nr, 0x100000, 4, 0x10, 0);
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    OUT[0] = hypercall_vmcall_kvm(1, 0, 0, 0, 0);           /* VAPIC_POLL_IRQ: 0 */
    OUT[1] = hypercall_vmcall_kvm(12, 0x100000, 4, 0x10, 0); /* MAP_GPA_RANGE: to the VMM */
    OUT[2] = guest_call_user(at_cpl3, 1);
    OUT[3] = guest_call_user(at_cpl3, 12);
    OUT[4] = guest_call_user(at_cpl3, 99);
    GUEST_DONE();
}
