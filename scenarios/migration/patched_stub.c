/*
 * patched_stub.c - a write KVM makes into guest memory during a migration: before the
 * migration starts the guest copies a `vmmcall; ret` stub into a page of its own; in the middle
 * of the pre-copy rounds it calls the stub and KVM (an Intel host, kvm.fix_hypercall_insn)
 * rewrites the vmmcall to vmcall, a write the guest never made. Then it keeps computing so
 * that more rounds follow, and calls the stub once more on whichever VM it is on.
 */
#include "guest.h"

static uint8_t stub[4096] __attribute__((aligned(4096)));
static volatile uint64_t progress;  /* one store per iteration: a page dirty every round */

static uint64_t call_stub(void)
{
    uint64_t rax = 1;                /* KVM_HC_VAPIC_POLL_IRQ: 0 */
    __asm__ volatile("call *%1" : "+a"(rax) : "r"(stub) : "memory");
    return rax;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    static const uint8_t code[] = { 0x0f, 0x01, 0xd9, 0xc3 }; /* vmmcall; ret */
    for (unsigned i = 0; i < sizeof code; i++)
        stub[i] = code[i];
    GUEST_SYNC(1);                   /* host: migrate */
    uint64_t acc = 1;
    for (int i = 0; i < 1200; i++) {
        progress = i;
        if (i == 300)
            GUEST_ASSERT_EQ(call_stub(), 0);    /* KVM patches the page now */
        for (int k = 0; k < 40; k++) {
            acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
            __asm__ volatile("" : "+r"(acc));
        }
    }
    GUEST_ASSERT_EQ(call_stub(), 0);
    GUEST_PRINTF("stub byte 2: %x;", stub[2]);
    GUEST_DONE();
}
