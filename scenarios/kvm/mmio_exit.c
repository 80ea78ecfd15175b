/*
 * mmio_exit.c - loads and stores to a guest-physical address no memslot covers: each is one
 * KVM_EXIT_MMIO whose answer (for a load) comes from the scenario's vmm section.
 */
#include "guest.h"

#define UNBACKED 0xc0000000UL

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    volatile uint64_t *p64 = (volatile uint64_t *)UNBACKED;
    volatile uint32_t *p32 = (volatile uint32_t *)(UNBACKED + 0x10);
    GUEST_ASSERT_EQ(*p64, 0xbeef);   /* one exit, len 8, answered 0xbeef */
    *p32 = 0x12345678;               /* one exit, len 4, data 78 56 34 12 */
    GUEST_ASSERT_EQ(*p32, 0);        /* nothing answers 0xc0000010: 0 */
    GUEST_DONE();
}
