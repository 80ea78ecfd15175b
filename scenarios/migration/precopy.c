/*
 * precopy.c - a guest that keeps writing memory while it is migrated. It stamps a counter into
 * one page of a working set per iteration, with computation between stores: first over 64
 * pages, then over only 8, so the dirty set a pre-copy sync finds shrinks. At the end it
 * checks that every page holds the last stamp it wrote there. GUEST_SYNC(1) tells the host to
 * start the migration; the guest never learns when it switched over.
 */
#include "guest.h"

#define PAGES 64
#define ITERS 3000
#define WIDE 300    /* iterations over all 64 pages; then over 8 */

static volatile uint64_t work[PAGES][512] __attribute__((aligned(4096)));

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    GUEST_SYNC(1);
    uint64_t acc = 1;
    for (uint64_t i = 1; i <= ITERS; i++) {
        uint64_t page = i <= WIDE ? i % PAGES : i % 8;
        work[page][i % 512] = i;
        for (int k = 0; k < 40; k++) {             /* time between stores, no memory */
            acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
            __asm__ volatile("" : "+r"(acc));
        }
    }
    for (uint64_t i = WIDE - PAGES + 1; i <= WIDE; i++)   /* the wide phase's last stamps */
        if (i % PAGES >= 8)
            GUEST_ASSERT_EQ(work[i % PAGES][i % 512], i);
    for (uint64_t i = ITERS - 7; i <= ITERS; i++)
        GUEST_ASSERT_EQ(work[i % 8][i % 512], i);
    GUEST_PRINTF("all %d pages as written (%llx);", PAGES, (unsigned long long)(acc & 0xff));
    GUEST_DONE();
}
