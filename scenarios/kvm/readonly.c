/*
 * readonly.c - a read-only memslot: loads are served from memory, a store becomes a
 * KVM_EXIT_MMIO with the bytes and memory is unchanged.
 */
#include "guest.h"

#define RO 0xd0000000UL

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    volatile uint32_t *p = (volatile uint32_t *)RO;
    GUEST_ASSERT_EQ(*p, 0xcafe);     /* served from the slot's memory, no exit */
    *p = 0x1234;                     /* KVM_EXIT_MMIO, is_write, data 34 12 00 00 */
    GUEST_ASSERT_EQ(*p, 0xcafe);     /* unchanged */
    GUEST_DONE();
}
