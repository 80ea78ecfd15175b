/*
 * bug_hcpage_len.c - a vCPU saved at a hypercall stub's `ret`, restored on a host of the
 * other vendor whose hypercall page is rewritten (C.2). vCPU 1 takes itself offline with
 * VCPUOP_down through the page: Xen saves it where the call returns, the stub's `ret` at
 * offset 8. vCPU 0 waits until it is down, asks for the migration (GUEST_SYNC(1)), spins
 * on the CPUID time leaf until the incarnation says it was restored, then brings vCPU 1 up
 * on the destination, which resumes at that same offset of the rewritten
 * page. With stubs of the same layout it returns from its call and reports; when the
 * rewrite's instruction has another length (xen.bug.hcpage_insn_len), offset 8 is inside the
 * new instruction.
 */
#include "../xen/xen_guest.h"

#define VCPUOP_up 1
#define VCPUOP_down 2
#define VCPUOP_is_up 3

static volatile unsigned back;

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, VCPUOP_down, 1, 0), 0);
        back = 1;                       /* only after VCPUOP_up on the destination */
        GUEST_PRINTF("vCPU 1 returned from VCPUOP_down;");
        GUEST_DONE();
    }
    xen_init_hypercall_page();
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, VCPUOP_up, 1, 0), 0);
    while (xen_hc3(HC_vcpu_op, VCPUOP_is_up, 1, 0) != 0)
        xen_hc2(HC_sched_op, 0, 0);     /* SCHEDOP_yield */
    GUEST_SYNC(1);                      /* migrate */
    while (xen_cpuid(0x40000003, 0).d == 1)
        ;                               /* the incarnation says: restored */
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, VCPUOP_up, 1, 0), 0);
    while (!back)
        xen_hc2(HC_sched_op, 0, 0);
    GUEST_DONE();
}
