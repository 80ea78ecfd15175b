/*
 * runstate_cross.c - vCPU 0 registers vCPU 1's runstate area by linear address
 * (VCPUOP_register_runstate_memory_area, C.5). The address is in the private window, which
 * each vCPU maps to its own page: Xen writes the area at once, and whose page tables it uses
 * for that decides whose page gets it. Later updates, at vCPU 1's context switches, always use
 * vCPU 1's own. The guest reports where the registration's write landed.
 */
#include "xen_guest.h"

#define AREA_OFF 0x100

struct runstate {
    int32_t state;
    uint32_t pad;
    uint64_t entry;
    uint64_t time[4];
};

static volatile unsigned stage;

static volatile struct runstate *area_in_page_of(unsigned id)
{
    return (volatile struct runstate *)(guest_priv_page_gpa(id) + AREA_OFF);
}

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        stage = 1;                                  /* booted: its page tables are live */
        while (stage < 2)
            xen_hc2(HC_sched_op, 0, 0);             /* yield */
        /* rescheduled since: Xen wrote "running" through vCPU 1's own page tables */
        volatile struct runstate *rs = (volatile struct runstate *)(GUEST_PRIV_VA + AREA_OFF);
        GUEST_ASSERT_EQ(rs->state, 0);
        GUEST_ASSERT(rs->entry != 0 && !(rs->entry >> 63));
        GUEST_ASSERT(rs->time[1] > 0);              /* it waited while vCPU 0 ran */
        stage = 3;
        GUEST_DONE();
    }
    xen_init_hypercall_page();
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 1, 0), 0);           /* up(1) */
    while (stage < 1)
        xen_hc2(HC_sched_op, 0, 0);
    uint64_t va = GUEST_PRIV_VA + AREA_OFF;
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 5, 1, &va), 0);         /* vCPU 1's area at va */
    volatile struct runstate *mine = area_in_page_of(0);
    if (mine->entry != 0)
        GUEST_PRINTF("the registration wrote vCPU 0's page (state %d);", (int)mine->state);
    else
        GUEST_PRINTF("vCPU 0's page untouched;");
    stage = 2;
    while (stage < 3)
        xen_hc2(HC_sched_op, 0, 0);
    GUEST_ASSERT(area_in_page_of(1)->entry != 0);
    GUEST_PRINTF("vCPU 1's area: running;");
    GUEST_DONE();
}
