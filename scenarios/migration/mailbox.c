/*
 * mailbox.c - a host module writes into guest memory during a migration: the guest publishes
 * a mailbox page, starts the migration (GUEST_SYNC(1)), and mid-way through the rounds asks
 * the host to post a message there (GUEST_SYNC(2)); it keeps computing, then prints what the
 * mailbox holds on whichever VM it ends on.
 */
#include "guest.h"

#define MAILBOX 0xf00000UL   /* a page above the image (scenario memory is 16 MiB) */
static volatile uint32_t *const mailbox = (volatile uint32_t *)MAILBOX;
static volatile uint64_t progress;  /* one store per iteration: a page dirty every round */

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    mailbox[0] = 0x11111111;
    GUEST_SYNC(1);                   /* host: migrate */
    uint64_t acc = 1;
    for (int i = 0; i < 1200; i++) {
        progress = i;
        if (i == 300)
            GUEST_SYNC(2);           /* host: a message into the mailbox */
        for (int k = 0; k < 40; k++) {
            acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
            __asm__ volatile("" : "+r"(acc));
        }
    }
    GUEST_PRINTF("mailbox: %x;", mailbox[0]);
    GUEST_DONE();
}
