/*
 * memop_2vcpu.c - a preempted memory_op and another vCPU: vCPU 0 populates 12 GFNs with Xen
 * preempting after every extent; vCPU 1 counts in a loop meanwhile. Between two legs the
 * scheduler may run vCPU 1, which sees the page count grow while vCPU 0's call is unfinished.
 */
#include "xen_guest.h"

static uint64_t gfns[12] = { 0x4000, 0x4001, 0x4002, 0x4003, 0x4004, 0x4005,
                             0x4006, 0x4007, 0x4008, 0x4009, 0x400a, 0x400b };
static volatile unsigned stage;
static volatile uint64_t spins, mid_count;

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        uint64_t base = xen_tot_pages();
        stage = 1;
        while (stage < 2) {
            spins++;
            uint64_t n = xen_tot_pages() - base;
            if (n > 0 && n < 12)
                mid_count = n;          /* a state between two legs */
        }
        GUEST_DONE();
    }
    xen_init_hypercall_page();
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 1, 0), 0);           /* up(1) */
    while (stage < 1)
        xen_hc2(HC_sched_op, 0, 0);
    uint64_t before = spins;
    GUEST_ASSERT_EQ(xen_reservation(XENMEM_populate_physmap, gfns, 12), 12);
    GUEST_ASSERT(spins > before);       /* vCPU 1 ran during the call */
    GUEST_ASSERT(mid_count > 0);        /* and saw a partly done populate */
    stage = 2;
    GUEST_PRINTF("populated 12;");
    GUEST_DONE();
}
