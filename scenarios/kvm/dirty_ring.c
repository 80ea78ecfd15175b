/*
 * dirty_ring.c - one store to each of 200 pages of a dirty-logged slot, more than a 256-entry
 * dirty ring takes before its soft limit; then a page written twice and a new one.
 */
#include "guest.h"

#define LOGGED 0x40000000UL
#define PAGE 4096UL

static void touch(unsigned page)
{
    *(volatile uint64_t *)(LOGGED + page * PAGE + 8) = page + 1;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    for (unsigned page = 0; page < 200; page++)
        touch(page);
    GUEST_SYNC(1);                   /* host: harvest the ring, reset it */
    touch(5);                        /* armed again by the reset at the exit: one entry */
    touch(5);                        /* writable now: no entry */
    touch(250);
    GUEST_SYNC(2);                   /* host: a write KVM makes for this vCPU, harvest */
    for (unsigned page = 0; page < 200; page++)
        GUEST_ASSERT_EQ(*(volatile uint64_t *)(LOGGED + page * PAGE + 8), page + 1);
    GUEST_DONE();
}
