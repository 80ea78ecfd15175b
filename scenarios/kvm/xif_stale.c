/*
 * xif_stale.c - the guest checks where a host module's xinterface copies landed before and
 * after the host moved slot 10 from 0xc0000000 to 0xc0100000. What a stale copy did to
 * 0xc0100010 differs between the patch and mainline: the scenarios' `expect: memory` checks
 * it.
 */
#include "guest.h"

#define U32(a) (*(volatile uint32_t *)(a))

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    GUEST_SYNC(1);                                  /* host: a copy to 0xc0000010 */
    GUEST_ASSERT_EQ(U32(0xc0000010UL), 0xddccbbaa);
    GUEST_SYNC(2);                                  /* host: MOVE, then copies */
    GUEST_ASSERT_EQ(U32(0xc0100020UL), 0xccbbaa99);
    GUEST_DONE();
}
