/*
 * private_window.c - the same virtual address reaches a different page on each vCPU.
 *
 * Every vCPU writes its id at GUEST_PRIV_VA, waits for the others (GUEST_SYNC(1), then a
 * barrier), and reads the value back: it must still be its own id although all of them
 * wrote to the same address. vCPU 0 then reads every private page through the identity map
 * and checks that page i holds i. Meant for 2 vCPUs; works with any number from 2.
 */
#include "guest.h"

void guest_main(void)
{
    unsigned id = guest_vcpu_id();
    volatile uint32_t *priv = (volatile uint32_t *)GUEST_PRIV_VA;

    GUEST_ASSERT(guest_nr_vcpus() >= 2);
    *priv = id;
    GUEST_SYNC(1);
    guest_barrier();

    GUEST_ASSERT_EQ(*priv, id);
    guest_barrier();

    if (id == 0) {
        for (unsigned i = 0; i < guest_nr_vcpus(); i++) {
            volatile uint32_t *page = (volatile uint32_t *)(uintptr_t)guest_priv_page_gpa(i);
            GUEST_ASSERT_EQ(*page, i);
        }
        GUEST_PRINTF("%u private pages checked", guest_nr_vcpus());
    }
    GUEST_DONE();
}
