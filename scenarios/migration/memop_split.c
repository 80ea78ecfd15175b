/*
 * memop_split.c - one populate_physmap of 12 extents that Xen preempts after every extent
 * (xen.preempt every:1), with a migration between two of its legs. The call lives in the
 * guest's registers (RIP at the vmcall, RAX = 12, RDI = cmd with the start extent), so the
 * destination simply re-executes the vmcall and finishes the remaining extents: the guest sees
 * one call returning 12, and the page count grew by exactly 12.
 */
#include "../xen/xen_guest.h"

static uint64_t gfns[12] = { 0x4000, 0x4001, 0x4002, 0x4003, 0x4004, 0x4005,
                             0x4006, 0x4007, 0x4008, 0x4009, 0x400a, 0x400b };

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    xen_init_hypercall_page();
    uint64_t base = xen_tot_pages();
    GUEST_ASSERT_EQ(xen_reservation(XENMEM_populate_physmap, gfns, 12), 12);
    GUEST_ASSERT_EQ(xen_tot_pages(), base + 12);
    /* each GFN is populated once: populating any of them again stops at once */
    GUEST_ASSERT_EQ(xen_reservation(XENMEM_populate_physmap, &gfns[11], 1), 0);
    GUEST_PRINTF("populated 12 once;");
    GUEST_DONE();
}
