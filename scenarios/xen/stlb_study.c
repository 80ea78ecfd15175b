/*
 * stlb_study.c - a working set in the software TLB (C.6): vCPUs 0 and 1 each insert one
 * entry for each of their 8 buffer pages, then make 64 XENVER_extraversion calls into those
 * pages in a fixed pseudo-random order (an LCG, a different stream per vCPU). A call hits
 * when the table its vCPU uses still holds that page's entry; each vCPU also maps its pages
 * in its page tables, so a miss walks and still succeeds. The two start together (a flag each
 * way), so the schedule interleaves their inserts and calls.
 */
#include "stlb_guest.h"

#define PAGES 8
#define CALLS 64
#define XENVER_extraversion 1
#define VA_BASE 0x6000000000ULL
#define GPA_BASE 0xa00000ULL

static volatile unsigned ready, go, finished;

static uint64_t page_va(unsigned vcpu, unsigned i)
{
    return VA_BASE + ((uint64_t)vcpu * PAGES + i) * 4096;
}

static void work(unsigned vcpu)
{
    /* each vCPU's own page tables map its pages, so a miss walks to them */
    for (unsigned i = 0; i < PAGES; i++)
        guest_map(page_va(vcpu, i), GPA_BASE + ((uint64_t)vcpu * PAGES + i) * 4096,
                  GUEST_MAP_WRITE);
    for (unsigned i = 0; i < PAGES; i++)
        GUEST_ASSERT_EQ(stlb_insert(vcpu, page_va(vcpu, i),
                                    GPA_BASE + ((uint64_t)vcpu * PAGES + i) * 4096, 4096), 0);
    uint32_t x = 12345u + vcpu * 777u;
    for (unsigned c = 0; c < CALLS; c++) {
        x = x * 1103515245u + 12345u;
        GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, XENVER_extraversion,
                                page_va(vcpu, (x >> 16) % PAGES)), 0);
    }
}

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        ready = 1;
        while (!go)
            ;
        work(1);
        finished = 1;
        GUEST_DONE();
    }
    xen_init_hypercall_page();
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 1, 1, 0), 0);           /* up(1) */
    while (!ready)
        xen_hc2(HC_sched_op, 0, 0);
    go = 1;                             /* both work at once, interleaved by the schedule */
    work(0);
    while (!finished)
        xen_hc2(HC_sched_op, 0, 0);
    GUEST_DONE();
}
