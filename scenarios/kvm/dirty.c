/*
 * dirty.c - writes to chosen pages of a dirty-logged slot between the host's GET_DIRTY_LOG
 * calls.
 */
#include "guest.h"

#define LOGGED 0x40000000UL
#define PAGE 4096UL

static void touch(unsigned page)
{
    *(volatile uint32_t *)(LOGGED + page * PAGE + 8) = page + 1;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    touch(0);
    touch(3);
    touch(63);
    GUEST_SYNC(1);                   /* host: GET_DIRTY_LOG */
    touch(1);
    GUEST_SYNC(2);                   /* host: GET_DIRTY_LOG again */
    GUEST_SYNC(3);                   /* host: and again, nothing new */
    GUEST_DONE();
}
