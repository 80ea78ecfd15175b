/*
 * nisv.c - loads and stores to an IPA no memslot covers by instructions whose data abort has
 * no valid instruction syndrome (ISV = 0: pairs, writeback, LDRD/STRD, LDM): KVM cannot
 * emulate them (A.6). aarch64 with two vCPUs (nisv-enosys-aarch64): vCPU 1 tries one before
 * the VMM enables KVM_CAP_ARM_NISV_TO_USER, and KVM_RUN fails; with one (nisv-aarch64): vCPU 0
 * after it, with the VMM injecting an external data abort; arm: every one after it, with the
 * VMM skipping the instruction.
 */
#include "guest.h"

#define UNBACKED 0xc0000000UL

#if defined(__aarch64__)
static volatile uint32_t tried;     /* vCPU 1 is at its ldp */
static volatile unsigned aborts;
static volatile uint64_t esr, far;

/* The VMM injected a synchronous external abort: give up the access. */
static void on_dabt(struct guest_regs *r)
{
    esr = r->esr;
    far = r->far;
    aborts++;
    r->pc += 4;
}

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        /* one block: the flag and the ldp, so vCPU 0 sees the flag only after the ldp ran */
        __asm__ volatile("str %w0, [%1]\n\tldp x2, x3, [%2]"
                         : : "r"(1), "r"(&tried), "r"(UNBACKED) : "x2", "x3", "memory");
        GUEST_ASSERT(0); /* KVM_RUN failed: the VMM does not run this vCPU again */
    }
    guest_set_handler(GUEST_EC_DABT_CUR, on_dabt);
    while (guest_nr_vcpus() > 1 && !tried)
        guest_cpu_relax();
    GUEST_SYNC(1); /* the VMM enables KVM_CAP_ARM_NISV_TO_USER */

    /* a load of one general-purpose register: a valid syndrome, an ordinary MMIO exit */
    GUEST_ASSERT_EQ(*(volatile uint64_t *)UNBACKED, 0x1122334455667788ULL);

    uint64_t a = 1, b = 2;
    __asm__ volatile("ldp %0, %1, [%2]" : "+r"(a), "+r"(b) : "r"(UNBACKED) : "memory");
    GUEST_ASSERT_EQ(aborts, 1);
    GUEST_ASSERT_EQ(esr, 0x96000010); /* EC 0x25 (data abort, same EL), IL, FSC 0x10 */
    GUEST_ASSERT_EQ(far, UNBACKED);
    GUEST_ASSERT_EQ(a, 1); /* nothing loaded */
    GUEST_ASSERT_EQ(b, 2);

    __asm__ volatile("stp %0, %1, [%2]" : : "r"(a), "r"(b), "r"(UNBACKED + 0x10) : "memory");
    GUEST_ASSERT_EQ(aborts, 2);
    GUEST_ASSERT_EQ(far, UNBACKED + 0x10);

    uint64_t *p = (uint64_t *)(UNBACKED + 0x20);
    __asm__ volatile("ldr %0, [%1], #8" : "+r"(a), "+r"(p) : : "memory");
    GUEST_ASSERT_EQ(aborts, 3);
    GUEST_ASSERT_EQ((uintptr_t)p, UNBACKED + 0x20); /* no writeback */
    GUEST_ASSERT_EQ(a, 1);
    GUEST_DONE();
}
#else
void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    GUEST_SYNC(1); /* the VMM enables KVM_CAP_ARM_NISV_TO_USER */
    uint32_t r0, r1, base = UNBACKED;
    /* ldrd, strd, ldm and a post-indexed ldr: each skipped by the VMM, nothing done */
    __asm__ volatile("mov r0, #1\n\tmov r1, #2\n\t"
                     "ldrd r0, r1, [%2]\n\t"
                     "strd r0, r1, [%2, #8]\n\t"
                     "ldm %2, {r0, r1}\n\t"
                     "ldr r0, [%2], #4\n\t"
                     "mov %0, r0\n\tmov %1, r1"
                     : "=r"(r0), "=r"(r1), "+r"(base) : : "r0", "r1", "memory");
    GUEST_ASSERT_EQ(r0, 1);
    GUEST_ASSERT_EQ(r1, 2);
    GUEST_ASSERT_EQ(base, UNBACKED);
    /* a single-register load: a valid syndrome, an ordinary MMIO exit */
    GUEST_ASSERT_EQ(*(volatile uint32_t *)UNBACKED, 0x55667788);
    GUEST_DONE();
}
#endif
