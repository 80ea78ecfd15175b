/*
 * xen_phys_area.c - a runstate area registered by guest physical address (VCPUOP 14) on a
 * page nothing else writes, while the guest migrates. vCPU 1 registers it and both vCPUs
 * yield (vCPU 0 asks for the migration once it is registered), so Xen rewrites the area at every context switch of vCPU 1, through the global
 * mapping map_guest_area made. vCPU 0 asks for the migration (GUEST_SYNC(1)) and waits for
 * the incarnation to say it was restored.
 */
#include "../xen/xen_guest.h"

#define AREA_GPA 0xa00000ULL

static volatile unsigned stop, registered;

static void yield(void)
{
    xen_hc2(HC_sched_op, 0, 0);
}

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        uint64_t gpa = AREA_GPA;
        GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 14, 1, &gpa), 0);
        registered = 1;
        while (!stop)
            yield();
        GUEST_DONE();
    }
    xen_init_hypercall_page();
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 1, 0), 0);            /* up(1) */
    while (!registered)
        yield();
    GUEST_SYNC(1);                                               /* migrate */
    while (xen_cpuid(0x40000003, 0).d == 1)
        yield();
    stop = 1;
    GUEST_DONE();
}
