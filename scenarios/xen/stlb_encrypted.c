/*
 * stlb_encrypted.c - an encrypted guest (C.6): Xen cannot walk its page tables, so a buffer
 * is usable only through a software TLB entry, and the entries themselves must be inserted
 * with the physical-address flavour (the insert's own struct would otherwise miss).
 */
#include "stlb_guest.h"

#define VA 0x5000000000ULL      /* in the table and the page tables */
#define GPA 0x900000ULL
#define VA_PT 0x5000001000ULL   /* in the page tables only */
#define GPA_PT 0x901000ULL

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    xen_init_hypercall_page();
    guest_map(VA, GPA, GUEST_MAP_WRITE);
    guest_map(VA_PT, GPA_PT, GUEST_MAP_WRITE);

    /* the plain insert: its struct (on the stack) is a miss, and a miss is -EFAULT */
    GUEST_ASSERT_EQ(stlb_insert(0, VA, GPA, 4096), XEN_EFAULT);
    /* the physical flavour reads the struct by GPA (identity mapped: its address) */
    struct stlb_entry e = { VA, GPA, 4096 };
    GUEST_ASSERT_EQ(xen_hc3_phys(HC_vcpu_op, VCPUOP_stlb_insert, 0, (uint64_t)&e), 0);

    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 1, VA), 0);                 /* hit */
    GUEST_ASSERT_EQ(memcmp((const void *)GPA, "-unstable", 10), 0);
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 1, VA_PT), XEN_EFAULT);     /* miss: no walk */
    GUEST_ASSERT_EQ(*(volatile uint64_t *)GPA_PT, 0);
    /* from the entry into the next page: 8 bytes written, then the miss */
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 1, VA + 4096 - 8), XEN_EFAULT);
    GUEST_ASSERT_EQ(memcmp((const void *)(GPA + 4096 - 8), "-unstabl", 8), 0);

    struct stlb_range r = { VA, 4096 };
    GUEST_ASSERT_EQ(xen_hc3_phys(HC_vcpu_op, VCPUOP_stlb_purge, 0, (uint64_t)&r), 1);
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 1, VA), XEN_EFAULT);        /* gone */
    GUEST_DONE();
}
