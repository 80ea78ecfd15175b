/*
 * alias.c - two memslots over one host buffer: a store through one guest-physical address is
 * a load's result through the other.
 */
#include "guest.h"

#define GPA_A 0xc0000000UL
#define GPA_B 0xd0000000UL

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    volatile uint64_t *a = (volatile uint64_t *)(GPA_A + 0x1008);
    volatile uint64_t *b = (volatile uint64_t *)(GPA_B + 0x1008);
    GUEST_ASSERT_EQ(*b, 0);
    *a = 0x1122334455667788ULL;          /* through slot 10 */
    GUEST_ASSERT_EQ(*b, 0x1122334455667788ULL); /* seen through slot 11 */
    *b = 42;                             /* and back */
    GUEST_ASSERT_EQ(*a, 42);
    GUEST_SYNC(1);                       /* host: reads the buffer through both GPAs */
    GUEST_DONE();
}
