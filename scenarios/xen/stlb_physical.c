/*
 * stlb_physical.c - the physical-address flavour (C.6): bit 30 of the hypercall number makes
 * every buffer argument a guest physical address. The guest remaps the page at VA 0x903000
 * (identity: GPA 0x903000) to GPA 0x904000, so the plain call and the physical one with the
 * same address write to different pages; a software TLB entry for that VA changes the plain
 * call only.
 */
#include "stlb_guest.h"

#define ADDR 0x903000ULL        /* as a VA: GPA 0x904000 (page tables); as a GPA: itself */
#define REMAP 0x904000ULL
#define ENTRY 0x905000ULL       /* the software TLB entry for VA ADDR */

static void clear(void)
{
    memset((void *)REMAP, 0, 4096);  /* VA REMAP is identity mapped */
    memset((void *)ENTRY, 0, 4096);
}

static int at(uint64_t gpa)
{
    return memcmp((const void *)gpa, "-unstable", 10) == 0;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    xen_init_hypercall_page();
    guest_map(ADDR, REMAP, GUEST_MAP_WRITE);
    clear();

    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 1, ADDR), 0);            /* walk: REMAP */
    GUEST_ASSERT(at(REMAP));
    GUEST_ASSERT_EQ(xen_hc3_phys(HC_xen_version, 1, ADDR, 0), 0);     /* GPA 0x903000 */
    GUEST_SYNC(1);                                                    /* the host reads it */

    clear();
    GUEST_ASSERT_EQ(stlb_insert(0, ADDR, ENTRY, 4096), 0);
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 1, ADDR), 0);            /* hit: ENTRY */
    GUEST_ASSERT(at(ENTRY) && !at(REMAP));
    GUEST_ASSERT_EQ(xen_hc3_phys(HC_xen_version, 1, ADDR + 16, 0), 0); /* no lookup */
    GUEST_SYNC(2);

    /* a GPA outside RAM (16 MiB) */
    GUEST_ASSERT_EQ(xen_hc3_phys(HC_xen_version, 1, 0x2000000, 0), XEN_EFAULT);
    /* a PV-only hypercall (update_va_mapping) with the bit: still -ENOSYS */
    GUEST_ASSERT_EQ(xen_hc3_phys(14, 0, 0, 0), XEN_ENOSYS);
    GUEST_DONE();
}
