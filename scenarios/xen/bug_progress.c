/*
 * bug_progress.c - populate_physmap of 6 GFNs preempted after every 2 extents: every extent
 * must be populated exactly once, whatever the continuations did.
 */
#include "xen_guest.h"

static uint64_t gfns[6] = { 0x5000, 0x5001, 0x5002, 0x5003, 0x5004, 0x5005 };

void guest_main(void)
{
    xen_init_hypercall_page();
    uint64_t base = xen_tot_pages();
    GUEST_ASSERT_EQ(xen_reservation(XENMEM_populate_physmap, gfns, 6), 6);
    GUEST_ASSERT_EQ(xen_tot_pages(), base + 6);
    /* each GFN is populated now: populating any one again stops at once with 0 done */
    for (unsigned i = 0; i < 6; i++)
        GUEST_ASSERT_EQ(xen_reservation(XENMEM_populate_physmap, &gfns[i], 1), 0);
    GUEST_PRINTF("6 pages;");
    GUEST_DONE();
}
