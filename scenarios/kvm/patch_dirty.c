/*
 * patch_dirty.c - a write KVM itself makes into guest memory must reach the dirty log: the
 * guest copies a `vmmcall; ret` sequence into a dirty-logged page and calls it; KVM (an Intel
 * host) rewrites the instruction to vmcall, a write the guest never made.
 */
#include "guest.h"

#define CODE_PAGE 0x40000000UL

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    static const uint8_t code[] = { 0x0f, 0x01, 0xd9, 0xc3 }; /* vmmcall; ret */
    volatile uint8_t *p = (volatile uint8_t *)CODE_PAGE;
    for (unsigned i = 0; i < sizeof code; i++)
        p[i] = code[i];
    GUEST_SYNC(1);                   /* host: GET_DIRTY_LOG (the guest's own copy; clears) */
    uint64_t rax = 1;                /* KVM_HC_VAPIC_POLL_IRQ */
    __asm__ volatile("call *%1" : "+a"(rax) : "r"(CODE_PAGE) : "memory");
    GUEST_ASSERT_EQ(rax, 0);
    GUEST_ASSERT_EQ(p[2], 0xc1);     /* now vmcall */
    GUEST_SYNC(2);                   /* host: GET_DIRTY_LOG: KVM's write */
    GUEST_DONE();
}
