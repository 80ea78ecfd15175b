/*
 * xen_restore.c - a Xen HVM guest saved and restored while it runs. vCPU 0 registers its
 * runstate and time areas by linear address and a software TLB entry that disagrees with its
 * page tables (VA -> GPA_TLB, page tables VA -> GPA_PT), brings vCPU 1 up, and asks for the
 * migration (GUEST_SYNC(1)). Both keep yielding; vCPU 0 watches the CPUID time leaf's
 * incarnation, the only sign of the restore a guest gets. Once it moves from 1 to 2 the guest
 * does what Linux's resume path does: it checks that the areas no longer move (the new domain
 * has no registration), registers them again at the same addresses, and finds itself running
 * with the runstate times restarted, and the area updated again once vCPU 1 has run (a context
 * switch). A hypercall buffer at VA still lands at GPA_TLB: the software TLB came along.
 */
#include "../xen/stlb_guest.h"

#define VA 0x5000000000ULL
#define GPA_PT 0x900000ULL
#define GPA_TLB 0x901000ULL
#define XENVER_extraversion 1

struct runstate {
    int32_t state;
    uint32_t pad;
    uint64_t entry;
    uint64_t time[4];
};

struct time_info {
    uint32_t version, pad0;
    uint64_t tsc_timestamp, system_time;
    uint32_t mul;
    int8_t shift;
    uint8_t flags, pad1[2];
};

static volatile struct runstate rs0 __attribute__((aligned(64)));
static volatile struct time_info t0 __attribute__((aligned(64)));
static volatile unsigned stop, ticks;

static uint32_t incarnation(void)
{
    return xen_cpuid(0x40000003, 0).d;
}

static uint64_t total(void)
{
    return rs0.time[0] + rs0.time[1] + rs0.time[2] + rs0.time[3];
}

static void yield(void)
{
    xen_hc2(HC_sched_op, 0, 0);
}

static int written(uint64_t gpa)
{
    return memcmp((const void *)gpa, "-unstable", 10) == 0;
}

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        while (!stop) {
            ticks++;
            yield();
        }
        GUEST_DONE();
    }
    xen_init_hypercall_page();
    guest_map(VA, GPA_PT, GUEST_MAP_WRITE);
    GUEST_ASSERT_EQ(incarnation(), 1);
    uint64_t rs_va = (uint64_t)&rs0, t_va = (uint64_t)&t0;
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 5, 0, &rs_va), 0);
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 13, 0, &t_va), 0);
    GUEST_ASSERT_EQ(stlb_insert(0, VA, GPA_TLB, 4096), 0);
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 1, 0), 0);            /* up(1) */

    GUEST_SYNC(1);                                               /* migrate */
    unsigned polls = 0;
    while (incarnation() == 1) {
        yield();
        GUEST_ASSERT(++polls < 1000000);
    }
    GUEST_ASSERT_EQ(incarnation(), 2);

    /* restored: nothing registered, so the area keeps what the source wrote last */
    uint64_t entry = rs0.entry, before = total();
    for (int i = 0; i < 20; i++)
        yield();
    GUEST_ASSERT_EQ(rs0.entry, entry);

    /* register again, at the same addresses: a vCPU reading its own area always finds it
     * running (Xen rewrites it at every context switch, running again before the vCPU
     * resumes), and the runstate restarted at the restore */
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 5, 0, &rs_va), 0);
    GUEST_ASSERT_EQ(rs0.state, 0);
    GUEST_ASSERT(total() < before);

    /* updated again at the next context switch: hvsim runs one vCPU at a time, so once
     * vCPU 1's counter moves vCPU 0 has been switched out and back in */
    entry = rs0.entry;
    unsigned seen = ticks;
    for (polls = 0; ticks == seen;) {
        yield();
        GUEST_ASSERT(++polls < 1000000);
    }
    GUEST_ASSERT(rs0.entry > entry);
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 13, 0, &t_va), 0);
    GUEST_ASSERT_EQ(t0.version % 2, 0);
    GUEST_ASSERT_EQ(t0.mul, 0x80000000u);

    /* the software TLB entry is still there: the bytes land at GPA_TLB */
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, XENVER_extraversion, VA), 0);
    GUEST_ASSERT(written(GPA_TLB) && !written(GPA_PT));
    stop = 1;
    GUEST_PRINTF("restored: incarnation 2, areas re-registered, stlb hit;");
    GUEST_DONE();
}
