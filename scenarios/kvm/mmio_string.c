/*
 * mmio_string.c - x86 string, SSE and page-crossing accesses to guest-physical memory no
 * memslot covers, as KVM's instruction emulator turns them into KVM_EXIT_MMIO (A.6): one exit
 * per element of the instruction's operand size, up to 8 bytes of one page each.
 */
#include "guest.h"

#define MMIO 0xc0000000UL

static uint64_t dst[4];
static uint8_t xmm[16];

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();

    /* rep movsq, RCX 3: three reads of 8 at 0xc0000000, +8, +16; each answer lands whole */
    uint64_t *s = (uint64_t *)MMIO, *d = dst, n = 3;
    __asm__ volatile("rep movsq" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
    GUEST_ASSERT_EQ(dst[0], 0x1111111111111111ULL);
    GUEST_ASSERT_EQ(dst[1], 0x2222222222222222ULL);
    GUEST_ASSERT_EQ(dst[2], 0x3333333333333333ULL);
    GUEST_ASSERT_EQ(n, 0);
    GUEST_ASSERT_EQ((uintptr_t)s, MMIO + 24);
    GUEST_ASSERT_EQ((uintptr_t)d, (uintptr_t)&dst[3]);

    /* std; rep stosw, RCX 2: writes of 2 at 0xc0001002, then 0xc0001000 */
    uint16_t *w = (uint16_t *)(MMIO + 0x1002);
    n = 2;
    __asm__ volatile("std; rep stosw; cld" : "+D"(w), "+c"(n) : "a"(0xbeef) : "memory");
    GUEST_ASSERT_EQ((uintptr_t)w, MMIO + 0xffe);

    /* repe cmpsb, RCX 4, against "ABC": reads of 1 at 0xc0003000.., stops after the third */
    static const char abc[4] = "ABC";
    const char *p = (const char *)(MMIO + 0x3000), *q = abc;
    n = 4;
    __asm__ volatile("repe cmpsb" : "+S"(p), "+D"(q), "+c"(n) : : "memory", "cc");
    GUEST_ASSERT_EQ(n, 1);

    /* movdqu: one 16-byte load, two exits of 8 */
    __asm__ volatile("movdqu (%0), %%xmm0; movdqu %%xmm0, (%1)"
                     : : "r"(MMIO + 0x4000), "r"(xmm) : "memory");
    GUEST_ASSERT_EQ(((uint64_t *)xmm)[0], 0x0807060504030201ULL);
    GUEST_ASSERT_EQ(((uint64_t *)xmm)[1], 0x100f0e0d0c0b0a09ULL);

    /* an 8-byte load across 0xc0005000: one exit of 4 on each page */
    uint64_t x = *(volatile uint64_t *)(MMIO + 0x4ffc);
    GUEST_ASSERT_EQ(x, 0x44332211ddccbbaaULL);
    GUEST_DONE();
}
