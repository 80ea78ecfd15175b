/*
 * stlb_capacity.c - a software TLB of 2 entries (C.6) under pressure from 3 buffers. Each
 * entry disagrees with the page tables (VA_i -> TLB_i, page tables VA_i -> PT_i), so the page
 * that receives XENVER_extraversion's bytes shows whether the lookup hit or the walk ran.
 */
#include "stlb_guest.h"

#define VA(i) (0x5000000000ULL + (uint64_t)(i) * 0x1000)
#define PT(i) (0x900000ULL + (uint64_t)(i) * 0x1000)
#define TLB(i) (0x910000ULL + (uint64_t)(i) * 0x1000)
#define A 0
#define B 1
#define C 2

/* XENVER_extraversion to VA(i); returns 1 if it went through the entry, 0 through the walk */
static int use(unsigned i)
{
    memset((void *)PT(i), 0, 16);
    memset((void *)TLB(i), 0, 16);
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 1, VA(i)), 0);
    int via_tlb = memcmp((const void *)TLB(i), "-unstable", 10) == 0;
    int via_pt = memcmp((const void *)PT(i), "-unstable", 10) == 0;
    GUEST_ASSERT(via_tlb != via_pt);
    return via_tlb;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    xen_init_hypercall_page();
    for (unsigned i = A; i <= C; i++)
        guest_map(VA(i), PT(i), GUEST_MAP_WRITE);

    GUEST_ASSERT_EQ(stlb_insert(0, VA(A), TLB(A), 4096), 0);
    GUEST_ASSERT_EQ(stlb_insert(0, VA(B), TLB(B), 4096), 0);
    GUEST_ASSERT_EQ(use(A), 1);                 /* hit: A is now more recent than B */
    GUEST_ASSERT_EQ(stlb_insert(0, VA(C), TLB(C), 4096), 0);  /* full: evicts B */
    GUEST_ASSERT_EQ(use(B), 0);                 /* miss, walked */
    GUEST_ASSERT_EQ(use(C), 1);
    GUEST_ASSERT_EQ(use(A), 1);                 /* A survived: C is now the oldest */
    GUEST_ASSERT_EQ(stlb_insert(0, VA(B), TLB(B), 4096), 0);  /* evicts C */
    GUEST_ASSERT_EQ(use(C), 0);
    GUEST_ASSERT_EQ(use(B), 1);
    GUEST_DONE();
}
