/*
 * delete.c - set_memory_region_test's test_delete_memory_region (A.9.7): the guest spins
 * reading the 8 bytes at 0xc0000000 while the host deletes slot 10, recreates it and deletes
 * it again, then spins in a final loop until the host deletes slot 0, which holds its code
 * and page tables.
 */
#include "guest.h"

#define GPA 0xc0000000UL
#define MMIO_VAL 0xbeefUL
/* The final spin loop, copied to a fixed address in slot 0 so the scenario can name its RIP. */
#define FINAL_LOOP 0x800000UL

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
    GUEST_SYNC(1);                               /* host: deletes slot 10 */
    GUEST_ASSERT_EQ(spin_on_val(0), MMIO_VAL);
    GUEST_SYNC(2);                               /* host: recreates it on fresh memory */
    GUEST_ASSERT_EQ(spin_on_val(MMIO_VAL), 0);
    GUEST_SYNC(3);                               /* host: deletes it again */
    GUEST_ASSERT_EQ(spin_on_val(0), MMIO_VAL);
    static const uint8_t jmp_self[] = { 0xeb, 0xfe }; /* 1: jmp 1b */
    memcpy((void *)FINAL_LOOP, jmp_self, sizeof jmp_self);
    ((void (*)(void))FINAL_LOOP)();              /* spins until slot 0 goes away */
    GUEST_ASSERT(0);
}
