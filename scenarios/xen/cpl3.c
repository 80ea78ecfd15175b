/*
 * cpl3.c - Xen hypercalls made at CPL 3 (C.1; hvm_hypercall): -EPERM in all of rax, rip
 * advanced, no debug clobber, whatever the number; the same call at CPL 0 for comparison.
 * Results go to 0x2000.. for the scenario's `memory` expectations.
 */
#include "xen_guest.h"

#define OUT ((volatile uint64_t *)0x2000)

/* vmcall with rax = nr, rdi and rsi given; what rax, rdi and rsi hold after it. */
static void raw(uint64_t nr, uint64_t rdi, uint64_t rsi, volatile uint64_t *out)
{
    uint64_t rax = nr;
    __asm__ volatile("vmcall" : "+a"(rax), "+D"(rdi), "+S"(rsi) : : "rdx", "r10", "r8",
                     "memory");
    out[0] = rax;
    out[1] = rdi;
    out[2] = rsi;
}

static uint64_t at_cpl3(uint64_t i)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    GUEST_ASSERT_EQ(cs, GUEST_SEL_USER_CODE64);
    static const uint64_t nr[3] = { HC_xen_version, HC_sched_op, 99 };
    raw(nr[i], 0, 0x2222, &OUT[3 + 3 * i]);
    return 0;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    xen_init_hypercall_page();
    raw(HC_xen_version, 0, 0x2222, &OUT[0]);     /* CPL 0: XENVER_version, clobbered */
    for (uint64_t i = 0; i < 3; i++)
        guest_call_user(at_cpl3, i);             /* xen_version, sched_op, 99 at CPL 3 */
    GUEST_DONE();
}
