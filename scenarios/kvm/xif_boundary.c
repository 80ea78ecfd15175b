/*
 * xif_boundary.c - the guest checks where a host module's xinterface copies landed: inside
 * slot 1, across its end into slot 2, and across slot 2's end into unbacked GPA space.
 */
#include "guest.h"

#define U64(a) (*(volatile uint64_t *)(a))
#define U32(a) (*(volatile uint32_t *)(a))
#define U16(a) (*(volatile uint16_t *)(a))

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    GUEST_SYNC(1);                                  /* host: the copies */
    GUEST_ASSERT_EQ(U64(0x40000ffcUL), 0x0807060504030201ULL); /* across a page of slot 1 */
    GUEST_ASSERT_EQ(U32(0x40001ffcUL), 0xa4a3a2a1);  /* slot 1's last bytes */
    GUEST_ASSERT_EQ(U32(0x40002000UL), 0);           /* slot 2's first bytes: untouched */
    GUEST_ASSERT_EQ(U32(0x40010000UL), 0xa8a7a6a5);  /* buffer a's third page, via slot 3 */
    GUEST_ASSERT_EQ(U16(0x40003ffeUL), 0xb2b1);      /* slot 2's end, before the gap */
    GUEST_DONE();
}
