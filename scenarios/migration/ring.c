/*
 * ring.c - a guest sharing a ring page with a host module: it lets the host map the ring
 * (GUEST_SYNC(1)), starts a migration (GUEST_SYNC(2)), asks the host to post a second entry
 * mid-migration (GUEST_SYNC(3)), then, on whichever VM it ends on, checks both entries and
 * asks the host to read the ring through its mapping (GUEST_SYNC(4)).
 */
#include "guest.h"

#define RING 0xf00000UL   /* a page above the image (scenario memory is 16 MiB) */
static volatile uint64_t progress;

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    volatile uint32_t *ring = (volatile uint32_t *)RING;
    GUEST_SYNC(1);                   /* host: vmap the ring, post entry 1 */
    GUEST_SYNC(2);                   /* host: migrate */
    uint64_t acc = 1;
    for (int i = 0; i < 1200; i++) {
        progress = i;
        if (i == 300)
            GUEST_SYNC(3);           /* host: post entry 2 through the mapping */
        for (int k = 0; k < 40; k++) {
            acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
            __asm__ volatile("" : "+r"(acc));
        }
    }
    GUEST_PRINTF("ring: %x %x;", ring[0], ring[1]);
    GUEST_SYNC(4);                   /* host: read the ring through the mapping */
    GUEST_DONE();
}
