/*
 * vcpu_up.c - bringing a secondary vCPU online with vcpu_op (VCPUOP_is_up, up, down). vCPU 1
 * starts down; vCPU 0 brings it up, it boots like vCPU 0 did, takes itself down, and vCPU 0
 * brings it up again: it resumes right after its VCPUOP_down.
 */
#include "xen_guest.h"

static volatile unsigned stage;

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        GUEST_PRINTF("vCPU 1 is up;");
        stage = 1;
        GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 3, 1, 0), 1);       /* is_up(self) */
        GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 2, 1, 0), 0);       /* down(self) */
        GUEST_PRINTF("vCPU 1 resumed;");
        stage = 2;
        GUEST_DONE();
    }
    xen_init_hypercall_page();
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 3, 1, 0), 0);           /* is_up(1): down */
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 3, 0, 0), 1);           /* is_up(0) */
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 1, 0), 0);           /* up(1) */
    while (stage < 1 || xen_hc3(HC_vcpu_op, 3, 1, 0) != 0)      /* until it is down again */
        xen_hc2(HC_sched_op, 0, 0);                             /* yield */
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 1, 0), 0);           /* up(1): resume it */
    while (stage < 2)
        xen_hc2(HC_sched_op, 0, 0);
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 7, 0), XEN_ENOENT);  /* no vCPU 7 */
    GUEST_DONE();
}
