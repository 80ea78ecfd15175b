/*
 * lost_update.c - two vCPUs add 1 to a shared counter 8 times each, after some work of their
 * own. The word at FLAG_GPA (written by the host before the guest starts) says whether the
 * update is made under guest_spin_lock (1) or bare (0). The bare update reads the counter,
 * calls a function (which ends the block, so a slice may end there) and writes it back: a
 * lost update needs the other vCPU to write the counter in exactly that gap.
 */
#include "guest.h"

#define N 8
#define FLAG_GPA 0xf00000UL

static uint32_t lock;
static volatile uint64_t counter;
static uint32_t finished;

static __attribute__((noinline)) uint64_t plus_one(uint64_t v)
{
    __asm__ volatile("" : "+r"(v));
    return v + 1;
}

void guest_main(void)
{
    bool locked = *(volatile uint64_t *)FLAG_GPA != 0;
    uint64_t acc = guest_vcpu_id() + 1;
    for (unsigned i = 0; i < N; i++) {
        for (int k = 0; k < 60; k++) {                        /* work outside the update */
            acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
            __asm__ volatile("" : "+r"(acc));
        }
        if (locked)
            guest_spin_lock(&lock);
        uint64_t v = counter;                                 /* read */
        counter = plus_one(v);                                /* the gap, then the write */
        if (locked)
            guest_spin_unlock(&lock);
    }
    __atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL);
    if (guest_vcpu_id() == 0) {
        while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != guest_nr_vcpus())
            guest_cpu_relax();
        GUEST_ASSERT_EQ(counter, (uint64_t)N * guest_nr_vcpus());
        GUEST_PRINTF("counter = %llu", (unsigned long long)counter);
    }
    GUEST_DONE();
}
