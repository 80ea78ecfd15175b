/*
 * bug_stlb_purge.c - a software TLB shared by two vCPUs (C.6), and a purge by one of them.
 * vCPU 1 uses vCPU 0's table (VCPUOP stlb_share) and makes a call that hits the entry VA ->
 * GPA_OLD. vCPU 0 then moves VA to GPA_NEW in the page tables and purges the entry, as a
 * guest must before it reuses the page. vCPU 1's next call must miss and be walked to
 * GPA_NEW; with xen.bug.stlb_purge_shared its private lookaside still holds the purged entry
 * and Xen writes to GPA_OLD, a page the guest no longer maps there.
 */
#include "stlb_guest.h"

#define VA 0x5000000000ULL
#define GPA_OLD 0x900000ULL
#define GPA_NEW 0x901000ULL
#define XENVER_extraversion 1

static volatile unsigned stage;

static int written(uint64_t gpa)
{
    return memcmp((const void *)gpa, "-unstable", 10) == 0;
}

static void wait_for(unsigned s)
{
    while (stage < s)
        xen_hc2(HC_sched_op, 0, 0);            /* SCHEDOP_yield */
}

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, XENVER_extraversion, VA), 0);
        GUEST_ASSERT(written(GPA_OLD));         /* a hit on table 0 */
        stage = 1;
        wait_for(2);
        guest_map(VA, GPA_NEW, GUEST_MAP_WRITE);   /* this vCPU's page tables too */
        memset((void *)GPA_OLD, 0, 16);
        GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, XENVER_extraversion, VA), 0);
        GUEST_PRINTF("after the purge: %s;", written(GPA_NEW) ? "walked to the new page"
                                             : written(GPA_OLD) ? "the purged entry answered"
                                                                : "nowhere");
        GUEST_ASSERT(written(GPA_NEW) && !written(GPA_OLD));
        stage = 3;
        GUEST_DONE();
    }
    xen_init_hypercall_page();
    guest_map(VA, GPA_OLD, GUEST_MAP_WRITE);
    GUEST_ASSERT_EQ(stlb_insert(0, VA, GPA_OLD, 4096), 0);
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, VCPUOP_stlb_share, 1, 0), 0);
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 1, 0), 0);                    /* up(1) */
    wait_for(1);
    /* reuse the page: the page tables move VA, and the entry goes */
    guest_map(VA, GPA_NEW, GUEST_MAP_WRITE);
    GUEST_ASSERT_EQ(stlb_purge(0, VA, 4096), 1);
    stage = 2;
    wait_for(3);
    GUEST_DONE();
}
