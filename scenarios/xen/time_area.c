/*
 * time_area.c - the vcpu_time_info area and its version protocol (C.5). vCPU 0 registers its
 * area by linear address (VCPUOP 13), vCPU 1 by physical address (VCPUOP 15); both then yield
 * to each other while the host calibrates its clock every 5000 ns, and read their areas the
 * way a pvclock reader must: retry while the version is odd or changes under the read.
 */
#include "xen_guest.h"

struct time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad1[2];
};

static volatile struct time_info area0;
static volatile unsigned stage;

/* A consistent copy of *t, and the version it had. */
static uint32_t read_time(volatile struct time_info *t, struct time_info *out)
{
    uint32_t v;
    do {
        v = t->version;
        __asm__ volatile("" ::: "memory");
        out->tsc_timestamp = t->tsc_timestamp;
        out->system_time = t->system_time;
        out->tsc_to_system_mul = t->tsc_to_system_mul;
        out->tsc_shift = t->tsc_shift;
        out->flags = t->flags;
        __asm__ volatile("" ::: "memory");
    } while ((v & 1) || v != t->version);
    return v;
}

/* Yields until Xen has given the area a newer record; returns its version. */
static uint32_t watch(volatile struct time_info *t, uint32_t first)
{
    struct time_info r;
    uint32_t v = read_time(t, &r);
    GUEST_ASSERT_EQ(r.tsc_to_system_mul, 0x80000000u);
    GUEST_ASSERT_EQ(r.tsc_shift, 1);
    GUEST_ASSERT_EQ(r.flags, 1);                                /* TSC_STABLE */
    GUEST_ASSERT_EQ(r.system_time % 5000, 0);                   /* a calibration stamp */
    GUEST_ASSERT_EQ(r.tsc_timestamp, r.system_time);            /* 1 GHz, offset 0 */
    uint64_t start = r.system_time;
    for (int i = 0; i < 200 && r.system_time == start; i++) {
        xen_hc2(HC_sched_op, 0, 0);                             /* yield */
        v = read_time(t, &r);
    }
    GUEST_ASSERT(r.system_time > start);
    GUEST_ASSERT(v > first);
    return v;
}

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        uint64_t gpa = guest_priv_page_gpa(1) + 0x300;
        GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 15, 1, &gpa), 0);
        volatile struct time_info *t = (volatile struct time_info *)(GUEST_PRIV_VA + 0x300);
        /* populated at once: version 0xffffffff, the record, then 0 */
        GUEST_ASSERT_EQ(t->version, 0);
        watch(t, 0);
        stage = 1;
        GUEST_DONE();
    }
    xen_init_hypercall_page();
    struct cpuid_regs r = xen_cpuid(0x40000003, 0);
    GUEST_ASSERT(r.a == 7 && r.b == 1 && r.c == 1000000);      /* vtsc, always emulate, 1 GHz */
    r = xen_cpuid(0x40000003, 1);
    GUEST_ASSERT(r.c == 0x80000000u && r.d == 1);
    uint64_t va = (uint64_t)&area0;
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 13, 0, &va), 0);
    /* forced update: vCPU 0's first context switch took the primary copy from 0 to 2, so
     * this one takes it to 3 then 4, and the area gets 3, the record, then 4 */
    GUEST_ASSERT_EQ(area0.version, 4);
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 1, 0), 0);           /* up(1) */
    uint32_t v = watch(&area0, 4);
    GUEST_ASSERT_EQ(v % 2, 0);
    while (stage < 1)
        xen_hc2(HC_sched_op, 0, 0);
    GUEST_PRINTF("time areas followed the calibrations;");
    GUEST_DONE();
}
