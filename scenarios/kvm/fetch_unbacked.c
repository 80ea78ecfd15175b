/*
 * fetch_unbacked.c - the guest jumps to a guest-physical address that no memslot covers
 * (A.6). Its own page tables allow the fetch, so only the hypervisor can refuse it.
 */
#include "guest.h"

#define UNBACKED 0xc0000000UL

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
#ifdef __aarch64__
    /* the library maps this gigabyte as device memory, never executable: map the page as
     * normal memory so the stage-1 walk allows the fetch and stage 2 decides */
    guest_map(UNBACKED, UNBACKED, GUEST_MAP_WRITE);
#endif
    GUEST_SYNC(1);
    ((void (*)(void))UNBACKED)();
    GUEST_ASSERT(0);
}
