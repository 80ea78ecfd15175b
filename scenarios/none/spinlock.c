/*
 * spinlock.c - every vCPU adds 1 to a shared counter N times under guest_spin_lock.
 *
 * The update inside the lock is a plain read, a few instructions, then a write, so a lock that
 * let two vCPUs in at once would lose updates and the final total would fall short. Each vCPU
 * reports GUEST_SYNC(1) after its loop; vCPU 0 waits for all of them, checks the total is
 * N * vCPUs and prints it.
 */
#include "guest.h"

#define N 2000

static uint32_t lock;
static volatile uint64_t counter;
static uint32_t finished;

void guest_main(void)
{
    for (unsigned i = 0; i < N; i++) {
        guest_spin_lock(&lock);
        uint64_t v = counter;                                    /* read */
        __asm__ volatile("nop\n\tnop\n\tnop\n\tnop" : "+r"(v)); /* widen the window */
        v = v + 1;
        counter = v;                                             /* write */
        guest_spin_unlock(&lock);
    }
    GUEST_SYNC(1);
    __atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL);

    if (guest_vcpu_id() == 0) {
        while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != guest_nr_vcpus())
            guest_cpu_relax();
        GUEST_ASSERT_EQ(counter, (uint64_t)N * guest_nr_vcpus());
        GUEST_PRINTF("counter = %llu (%u vCPUs x %d)", (unsigned long long)counter,
                     guest_nr_vcpus(), N);
    }
    GUEST_DONE();
}
