/*
 * rdtsc.c - the guest reads the time-stamp counter with rdtsc and rdtscp.
 *
 * hvsim's TSC is the VM clock: the guest instructions retired so far (by all vCPUs), one tick
 * each, so a read is the same number on every run. The program sets IA32_TSC_AUX, reads the
 * TSC with rdtsc, runs exactly three instructions, reads it again with rdtscp, and stores the
 * registers both left, each loaded with all ones beforehand, at GPA 0x2000 for the scenario's
 * expectations:
 *
 *     0x2000 rax after rdtsc     0x2008 rdx after rdtsc
 *     0x2010 rax after rdtscp    0x2018 rdx after rdtscp    0x2020 rcx after rdtscp
 *     0x2028 the second reading minus the first: 4 (rdtsc itself and the three between)
 */
#include "guest.h"

#define OUT          0x2000UL
#define MSR_TSC_AUX  0xc0000103u
#define AUX          0x1234u

void guest_main(void)
{
    volatile uint64_t *out = (volatile uint64_t *)OUT;
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    __asm__ volatile("wrmsr" : : "c"(MSR_TSC_AUX), "a"(AUX), "d"(0u) : "memory");
    __asm__ volatile("mov $-1, %%rax\n\t"
                     "mov $-1, %%rdx\n\t"
                     "mov $-1, %%rcx\n\t"
                     "rdtsc\n\t"
                     "mov %%rax, 0x2000\n\t"   /* three instructions between the reads */
                     "mov %%rdx, 0x2008\n\t"
                     "mov $-1, %%rdx\n\t"
                     "rdtscp\n\t"
                     "mov %%rax, 0x2010\n\t"
                     "mov %%rdx, 0x2018\n\t"
                     "mov %%rcx, 0x2020\n\t"
                     : : : "rax", "rcx", "rdx", "memory");
    out[5] = out[2] - out[0];
    GUEST_ASSERT_EQ(out[1], 0);     /* EDX: the high half, and RDX's upper half cleared */
    GUEST_ASSERT_EQ(out[3], 0);
    GUEST_ASSERT_EQ(out[4], AUX);   /* ECX = IA32_TSC_AUX, RCX's upper half cleared */
    GUEST_ASSERT_EQ(out[5], 4);
    GUEST_PRINTF("rdtsc to rdtscp: %llu ticks", (unsigned long long)out[5]);
}
