/*
 * two_writers.c - two vCPUs write their own 16-page working sets while the VM migrates; each
 * then checks its pages. vCPU 0 starts the migration (GUEST_SYNC(1)) once vCPU 1 is writing.
 */
#include "guest.h"

#define PAGES 16
#define ITERS 1500

static volatile uint64_t work[2][PAGES][512] __attribute__((aligned(4096)));
static volatile unsigned started;

void guest_main(void)
{
    unsigned id = guest_vcpu_id();
    if (id > 1)
        GUEST_DONE();
    if (id == 1)
        started = 1;
    else
        while (!started)
            ;
    if (id == 0)
        GUEST_SYNC(1);
    uint64_t acc = 1;
    for (uint64_t i = 1; i <= ITERS; i++) {
        work[id][i % PAGES][i % 512] = i;
        for (int k = 0; k < 30; k++) {
            acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
            __asm__ volatile("" : "+r"(acc));
        }
    }
    for (uint64_t i = ITERS - PAGES + 1; i <= ITERS; i++)
        GUEST_ASSERT_EQ(work[id][i % PAGES][i % 512], i);
    GUEST_DONE();
}
