/*
 * ticks.c - a guest that writes memory and reports progress: every 100 iterations it prints
 * a tick (one event each), so a migration can start at any event number of the run. At the
 * end it checks every page of its working set.
 */
#include "guest.h"

#define PAGES 32

static volatile uint64_t work[PAGES][512] __attribute__((aligned(4096)));

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    uint64_t acc = 1;
    for (uint64_t i = 1; i <= 6000; i++) {
        work[i % PAGES][i % 512] = i;
        if (i % 100 == 0)
            GUEST_PRINTF("t");
        for (int k = 0; k < 20; k++) {
            acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
            __asm__ volatile("" : "+r"(acc));
        }
    }
    for (uint64_t i = 6000 - PAGES + 1; i <= 6000; i++)
        GUEST_ASSERT_EQ(work[i % PAGES][i % 512], i);
    GUEST_PRINTF(";done");
    GUEST_DONE();
}
