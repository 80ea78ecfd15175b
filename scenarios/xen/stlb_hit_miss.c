/*
 * stlb_hit_miss.c - the software TLB (C.6): insert, a hit, a miss that falls back to the
 * page walk, a table shared with vCPU 1, purge and a miss again. The entry deliberately
 * disagrees with the guest's page tables (VA -> GPA_TLB, page tables VA -> GPA_PT), so the
 * page that receives XENVER_extraversion's 16 bytes shows which translation Xen used.
 */
#include "stlb_guest.h"

#define VA 0x5000000000ULL      /* page tables: GPA_PT; the entry: GPA_TLB */
#define GPA_PT 0x900000ULL
#define GPA_TLB 0x901000ULL
#define VA_WALK 0x5000001000ULL /* page tables only: GPA_WALK */
#define GPA_WALK 0x902000ULL
#define XENVER_extraversion 1

static volatile unsigned stage;

static int written(uint64_t gpa)
{
    return memcmp((const void *)gpa, "-unstable", 10) == 0;
}

static void clear(uint64_t gpa)
{
    memset((void *)gpa, 0, 16);
}

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        /* vCPU 1 uses vCPU 0's table (stlb_share): a hit on table 0 */
        GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, XENVER_extraversion, VA), 0);
        stage = 1;
        GUEST_DONE();
    }
    xen_init_hypercall_page();
    guest_map(VA, GPA_PT, GUEST_MAP_WRITE);
    guest_map(VA_WALK, GPA_WALK, GUEST_MAP_WRITE);

    GUEST_ASSERT_EQ(stlb_insert(0, VA, GPA_TLB, 4096), 0);
    GUEST_ASSERT_EQ(stlb_insert(0, VA, 0x903000, 4096), XEN_EEXIST);     /* overlaps */
    GUEST_ASSERT_EQ(stlb_insert(0, VA + 1, GPA_TLB, 4096), XEN_EINVAL);  /* not 4 KiB */

    /* hit: Xen writes where the entry says, not where the page tables say */
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, XENVER_extraversion, VA), 0);
    GUEST_ASSERT(written(GPA_TLB) && !written(GPA_PT));
    clear(GPA_TLB);

    /* miss: the walk translates as without a software TLB */
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, XENVER_extraversion, VA_WALK), 0);
    GUEST_ASSERT(written(GPA_WALK));

    /* vCPU 1 shares table 0, then runs the same call: the hit lands in GPA_TLB */
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, VCPUOP_stlb_share, 1, 0), 0);
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 1, 0), 0);                    /* up(1) */
    while (stage < 1)
        xen_hc2(HC_sched_op, 0, 0);
    GUEST_ASSERT(written(GPA_TLB) && !written(GPA_PT));

    /* purge: one entry goes, and the same call misses and walks to GPA_PT */
    GUEST_ASSERT_EQ(stlb_purge(0, VA, 4096), 1);
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, XENVER_extraversion, VA), 0);
    GUEST_ASSERT(written(GPA_PT));
    GUEST_DONE();
}
