/*
 * memop_cont.c - memory_op reservations (C.4): populate_physmap, decrease_reservation and
 * increase_reservation over extent lists, the page count from current_reservation, the
 * results of early failures and of a failing extent, and XENMEM_exchange with a start extent.
 * Xen preempts the calls between extents (xen.preempt); the guest sees only the final result.
 */
#include "xen_guest.h"

static uint64_t gfns[8] = { 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007 };
static uint64_t back[4] = { 0x2001, 0x2003, 0x2005, 0x2007 };
static uint64_t again[4] = { 0x3000, 0x3001, 0x2000, 0x3002 };

void guest_main(void)
{
    xen_init_hypercall_page();
    uint64_t base = xen_tot_pages();
    GUEST_ASSERT_EQ(base, 0x1000);                                /* 16 MiB */
    GUEST_ASSERT_EQ(xen_reservation(XENMEM_populate_physmap, gfns, 8), 8);
    GUEST_ASSERT_EQ(xen_tot_pages(), base + 8);
    GUEST_ASSERT_EQ(xen_reservation(XENMEM_decrease_reservation, back, 4), 4);
    GUEST_ASSERT_EQ(xen_tot_pages(), base + 4);
    GUEST_ASSERT_EQ(xen_reservation(XENMEM_increase_reservation, 0, 3), 3);
    GUEST_ASSERT_EQ(xen_tot_pages(), base + 7);
    /* gfn 0x2000 is populated already: the call stops there, 2 extents done */
    GUEST_ASSERT_EQ(xen_reservation(XENMEM_populate_physmap, again, 4), 2);
    GUEST_ASSERT_EQ(xen_tot_pages(), base + 9);
    /* an early failure returns the start extent: start 5 >= nr_extents 4 */
    struct xen_memory_reservation r = { again, 4, 0, 0, DOMID_SELF };
    GUEST_ASSERT_EQ(xen_memory_op(XENMEM_populate_physmap | 5 << MEMOP_EXTENT_SHIFT, &r), 5);
    /* exchange keeps its progress in the struct: a start extent is -EINVAL */
    GUEST_ASSERT_EQ(xen_memory_op(XENMEM_exchange | 1 << MEMOP_EXTENT_SHIFT, &r), XEN_EINVAL);
    GUEST_PRINTF("pages %lu;", (unsigned long)(xen_tot_pages() - base));
    GUEST_DONE();
}
