/*
 * preempt_leg.c - three populate_physmap calls (1, 2 and 1 GFNs) under xen.preempt: seed.
 * Only the middle call has a point where hypercall_preempt_check() is asked (before its second
 * extent), so only there can a continuation happen; every GFN must be populated exactly once.
 */
#include "xen_guest.h"

static uint64_t gfns[4] = { 0x6000, 0x6001, 0x6002, 0x6003 };

void guest_main(void)
{
    xen_init_hypercall_page();
    uint64_t base = xen_tot_pages();
    GUEST_ASSERT_EQ(xen_reservation(XENMEM_populate_physmap, &gfns[0], 1), 1);
    GUEST_ASSERT_EQ(xen_reservation(XENMEM_populate_physmap, &gfns[1], 2), 2);
    GUEST_ASSERT_EQ(xen_reservation(XENMEM_populate_physmap, &gfns[3], 1), 1);
    GUEST_ASSERT_EQ(xen_tot_pages(), base + 4);
    GUEST_PRINTF("4 pages;");
    GUEST_DONE();
}
