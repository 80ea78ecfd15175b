/*
 * guest.c - what every arch shares after boot: the call into guest_main(), the handler
 * table, the table-page pool, the private pages and the barrier.
 */
#include "guest_int.h"

uint8_t guest_stacks[GUEST_MAX_VCPUS][GUEST_STACK_SIZE]
    __attribute__((section(".bss.stacks"), aligned(4096)));
#if defined(__arm__)
#define GUEST_PT_POOL_ALIGN 16384   /* a level-1 table is the first four pages of the pool */
#else
#define GUEST_PT_POOL_ALIGN 4096
#endif
uint8_t guest_pt_pool[GUEST_MAX_VCPUS][GUEST_PT_PAGES][GUEST_PAGE_SIZE]
    __attribute__((section(".bss.ptpool"), aligned(GUEST_PT_POOL_ALIGN)));
uint8_t guest_priv_pages[GUEST_MAX_VCPUS][GUEST_PAGE_SIZE]
    __attribute__((section(".bss.priv"), aligned(4096)));

unsigned guest_nr_vcpus_;

/* Pages handed out so far, per vCPU. Only the owning vCPU touches its entry. */
static unsigned pt_used[GUEST_MAX_VCPUS];

static guest_handler_fn handlers[GUEST_NR_VECTORS];

unsigned guest_nr_vcpus(void)
{
    return guest_nr_vcpus_;
}

uint64_t guest_priv_page_gpa(unsigned id)
{
    GUEST_ASSERT(id < GUEST_MAX_VCPUS);
    return (uintptr_t)guest_priv_pages[id];
}

void guest_start(void)
{
    guest_main();
    GUEST_DONE();
}

uint64_t *guest_pt_alloc(void)
{
    unsigned id = guest_vcpu_id();
    GUEST_ASSERT_MSG(pt_used[id] < GUEST_PT_PAGES,
                     "vCPU %u used all %d page-table pages of its pool", id, GUEST_PT_PAGES);
    uint64_t *page = (uint64_t *)guest_pt_pool[id][pt_used[id]++];
    memset(page, 0, GUEST_PAGE_SIZE);
    return page;
}

void guest_set_handler(unsigned vector, guest_handler_fn fn)
{
    GUEST_ASSERT_MSG(vector < GUEST_NR_VECTORS, "no exception vector %u", vector);
    __atomic_store_n(&handlers[vector], fn, __ATOMIC_RELEASE);
}

guest_handler_fn guest_handler(unsigned vector)
{
    return vector < GUEST_NR_VECTORS ? __atomic_load_n(&handlers[vector], __ATOMIC_ACQUIRE)
                                     : NULL;
}

/* Sense by generation: the last vCPU to arrive resets the count and opens the next round. */
static uint32_t barrier_count, barrier_gen;

void guest_barrier(void)
{
    uint32_t gen = __atomic_load_n(&barrier_gen, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&barrier_count, 1, __ATOMIC_ACQ_REL) == guest_nr_vcpus()) {
        __atomic_store_n(&barrier_count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&barrier_gen, gen + 1, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&barrier_gen, __ATOMIC_ACQUIRE) == gen)
        guest_cpu_relax();
}
