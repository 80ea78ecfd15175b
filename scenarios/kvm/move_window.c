/*
 * move_window.c - set_memory_region_test's test_move_memory_region (A.9.6): the guest spins
 * reading the 8 bytes at 0xc0000000 while the host moves slot 10 one page down and back, each
 * move leaving its INVALID window open for a number of guest instructions. Inside a window the
 * read is an MMIO exit, answered 0xbeef by the VMM.
 */
#include "guest.h"

#define GPA 0xc0000000UL
#define MMIO_VAL 0xbeefUL

/* Reads the value at GPA until it differs from val; returns the new value. */
static uint64_t spin_on_val(uint64_t val)
{
    uint64_t v;
    while ((v = *(volatile uint64_t *)GPA) == val)
        ;
    return v;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    GUEST_ASSERT_EQ(*(volatile uint64_t *)GPA, 0);
    GUEST_SYNC(1);                               /* host: MOVE to GPA - 4096, window open */
    GUEST_ASSERT_EQ(spin_on_val(0), MMIO_VAL);   /* the window: an MMIO exit */
    GUEST_ASSERT_EQ(spin_on_val(MMIO_VAL), 0);   /* moved: GPA is the buffer's second page */
    GUEST_SYNC(2);                               /* host: writes 2 to the buffer's first page */
    GUEST_ASSERT_EQ(*(volatile uint64_t *)GPA, 0); /* misaligned: the guest cannot see it */
    GUEST_SYNC(3);                               /* host: writes 1 there, MOVE back, window */
    GUEST_ASSERT_EQ(spin_on_val(0), MMIO_VAL);
    GUEST_ASSERT_EQ(spin_on_val(MMIO_VAL), 1);   /* realigned: the first page, holding 1 */
    GUEST_SYNC(4);                               /* host: MOVE with a long window, then
                                                  * MOVE back, which waits for the first */
    GUEST_ASSERT_EQ(*(volatile uint64_t *)GPA, 1); /* no window left open */
    GUEST_DONE();
}
