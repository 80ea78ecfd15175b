/*
 * stale_cache.c - KVM writes guest memory for vCPU 0 (kvm_vcpu_write_guest) before and after
 * the host moves the memslot under 0xc0000000; the guest checks each write landed at the GPA
 * KVM meant.
 */
#include "guest.h"

#define GPA 0xc0000000UL

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    volatile uint64_t *p = (volatile uint64_t *)GPA;
    GUEST_SYNC(1);                   /* host: KVM writes 0x11.. at GPA; vCPU 0 caches slot 10 */
    GUEST_ASSERT_EQ(*p, 0x1111111111111111ULL);
    GUEST_SYNC(2);                   /* host: moves slot 10 down a page, KVM writes 0x22.. at GPA */
    GUEST_ASSERT_EQ(*p, 0x2222222222222222ULL);
    GUEST_ASSERT_EQ(*(volatile uint64_t *)(GPA - 0x1000), 0x1111111111111111ULL);
    GUEST_DONE();
}
