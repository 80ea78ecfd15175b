/*
 * stub_window.c - a write KVM makes into guest memory at one point of a long computation: the
 * guest copies a `vmmcall; ret` stub into a page of its own, then computes for 2400
 * iterations, printing a tick every 100, and calls the stub at iteration 1200, where KVM (an
 * Intel host, kvm.fix_hypercall_insn) rewrites the vmmcall to vmcall: a write the guest never
 * made. A migration may be running at that moment, or not yet, or be over.
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
    uint64_t acc = 1;
    for (int i = 0; i < 2400; i++) {
        progress = i;
        if (i % 100 == 0)
            GUEST_PRINTF(".");
        if (i == 1200)
            GUEST_ASSERT_EQ(call_stub(), 0);    /* KVM patches the page now */
        for (int k = 0; k < 40; k++) {
            acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
            __asm__ volatile("" : "+r"(acc));
        }
    }
    GUEST_ASSERT_EQ(call_stub(), 0);
    GUEST_ASSERT_EQ(stub[2], 0xc1);                 /* vmcall, on whichever VM it ran */
    GUEST_DONE();
}
