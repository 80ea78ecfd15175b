/*
 * move.c - the guest reads the 8 bytes at 0xc0000000 while the host moves the memslot under
 * it (set_memory_region_test's test_move_memory_region, adapted to sync points).
 */
#include "guest.h"

#define GPA 0xc0000000UL

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    volatile uint64_t *p = (volatile uint64_t *)GPA;
    GUEST_ASSERT_EQ(*p, 0);          /* slot 10 at GPA: the buffer's first page */
    GUEST_SYNC(1);                   /* host: moves slot 10 down one page */
    GUEST_ASSERT_EQ(*p, 1);          /* GPA now reaches the buffer's second page */
    GUEST_SYNC(2);                   /* host: moves it back */
    GUEST_ASSERT_EQ(*p, 0);
    GUEST_DONE();
}
