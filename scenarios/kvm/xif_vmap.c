/*
 * xif_vmap.c - the guest checks a host module's writes through an xinterface vmap: one while
 * slot 1 maps the page, one made after slot 1 was deleted, seen once slot 2 maps the same
 * host pages at another address.
 */
#include "guest.h"

#define U64(a) (*(volatile uint64_t *)(a))

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    GUEST_SYNC(1);                                  /* host: vmap, a write through it */
    GUEST_ASSERT_EQ(U64(0x40000100UL), 0x0807060504030201ULL);
    GUEST_SYNC(2);                                  /* host: delete slot 1, write, create slot 2 */
    GUEST_ASSERT_EQ(U64(0x50000100UL), 0x0807060504030201ULL);
    GUEST_ASSERT_EQ(U64(0x50000108UL), 0x1817161514131211ULL);
    GUEST_DONE();
}
