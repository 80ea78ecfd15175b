/*
 * runstate_flag.c - runstate areas and their update protocols (C.5). vCPU 0 turns on
 * VMASST_TYPE_runstate_update_flag and registers its own area by linear address (VCPUOP 5);
 * vCPU 1 registers its own by guest-physical address (VCPUOP 14), after the three ways that
 * registration fails. Both then yield to each other, so Xen rewrites the areas at every
 * context switch, and each checks its area: state running, the update flag clear, and the
 * times of the four states adding up to state_entry_time (the area starts at time 0).
 */
#include "xen_guest.h"

#define HC_vm_assist 21
#define XEN_ENXIO ((uint64_t)-6)

struct runstate {
    int32_t state;
    uint32_t pad;
    uint64_t entry;
    uint64_t time[4];
};

static volatile struct runstate area0;
static volatile unsigned stage;

static void check_own(volatile struct runstate *rs)
{
    GUEST_ASSERT_EQ(rs->state, 0);                              /* running */
    GUEST_ASSERT_EQ(rs->entry >> 63, 0);                        /* XEN_RUNSTATE_UPDATE clear */
    GUEST_ASSERT_EQ(rs->time[0] + rs->time[1] + rs->time[2] + rs->time[3], rs->entry);
    GUEST_ASSERT(rs->time[0] > 0 && rs->time[1] > 0);
}

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        uint64_t page = guest_priv_page_gpa(1);
        uint64_t gpa = page + 0xff8;                            /* 48 bytes cross the page */
        GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 14, 1, &gpa), XEN_ENXIO);
        gpa = page + 0x204;                                     /* not 8-byte aligned */
        GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 14, 1, &gpa), XEN_ENXIO);
        gpa = 0x4000000000ULL;                                  /* no RAM there */
        GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 14, 1, &gpa), XEN_EINVAL);
        gpa = page + 0x200;
        GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 14, 1, &gpa), 0);
        for (int i = 0; i < 8; i++)
            xen_hc2(HC_sched_op, 0, 0);                         /* yield */
        check_own((volatile struct runstate *)(GUEST_PRIV_VA + 0x200));
        /* vCPU 0 is not running now: Xen's snapshot adds the time since its entry */
        struct runstate other;
        GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 4, 0, &other), 0);  /* get_runstate_info(0) */
        GUEST_ASSERT_EQ(other.state, 1);                         /* runnable */
        GUEST_ASSERT(other.time[0] + other.time[1] + other.time[2] + other.time[3] >
                     other.entry);
        stage = 1;
        GUEST_DONE();
    }
    xen_init_hypercall_page();
    GUEST_ASSERT_EQ(xen_hc2(HC_vm_assist, 0, 2), XEN_EINVAL);  /* not an HVM assist */
    GUEST_ASSERT_EQ(xen_hc2(HC_vm_assist, 0, 5), 0);           /* enable runstate_update_flag */
    uint64_t va = (uint64_t)&area0;
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 5, 0, &va), 0);
    GUEST_ASSERT_EQ(area0.state, 0);                            /* written at once: running */
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 1, 0), 0);           /* up(1) */
    while (stage < 1)
        xen_hc2(HC_sched_op, 0, 0);
    check_own(&area0);
    GUEST_PRINTF("both areas consistent;");
    GUEST_DONE();
}
