/*
 * stale_window.c - KVM writes guest memory for vCPU 0 (kvm_vcpu_write_guest) at two sync
 * points, five ticks apart, after thirty ticks; the host moves the memslot under 0xc0000000 at
 * a point drawn from the seed. The guest checks the second write landed at the GPA KVM meant.
 */
#include "guest.h"

#define GPA 0xc0000000UL

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    for (int i = 0; i < 30; i++)
        GUEST_PRINTF(".");
    GUEST_SYNC(1);                   /* host: KVM writes 0x11.. at GPA; vCPU 0 caches slot 10 */
    for (int i = 0; i < 5; i++)
        GUEST_PRINTF(".");
    GUEST_SYNC(2);                   /* host: KVM writes 0x22.. at GPA */
    GUEST_ASSERT_EQ(*(volatile uint64_t *)GPA, 0x2222222222222222ULL);
    GUEST_DONE();
}
