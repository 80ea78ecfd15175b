/*
 * smccc_a32.c - SMCCC from an AArch32 guest through KVM (arch arm only): a conditional SMC
 * whose condition fails is only skipped, one whose condition passes is handled; a 64-bit
 * PSCI function ID is NOT_SUPPORTED from AArch32; a forwarded call exits to the VMM.
 */
#include "guest.h"
#include "hypercall.h"

#if !defined(__arm__)
#error "AArch32 only"
#endif

#define PSCI_VERSION 0x84000000u
#define PSCI_FEATURES 0x8400000au
#define PSCI_CPU_ON64 0xc4000003u
#define SIP_CALL 0x82000001u

void guest_main(void)
{
    struct hypercall_smccc_res r;
    r = hypercall_smcne(0, PSCI_VERSION, 7, 8, 9);   /* condition fails: only skipped */
    GUEST_PRINTF("smcne skipped: r0 %x r1 %x\n", r.a0, r.a1);
    r = hypercall_smcne(1, PSCI_VERSION, 7, 8, 9);   /* condition passes: handled */
    GUEST_PRINTF("smcne taken: r0 %x r1 %x\n", r.a0, r.a1);
    r = hypercall_hvc(PSCI_CPU_ON64, 1, 0x40000000u, 0, 0, 0, 0, 0);
    GUEST_PRINTF("CPU_ON64: r0 %x\n", r.a0);
    r = hypercall_hvc(PSCI_FEATURES, PSCI_CPU_ON64, 0, 0, 0, 0, 0, 0);
    GUEST_PRINTF("PSCI_FEATURES(CPU_ON64): r0 %x\n", r.a0);
    r = hypercall_smc(SIP_CALL, 0x11, 0, 0, 0, 0, 0, 0);
    GUEST_PRINTF("SiP: r0 %x r1 %x\n", r.a0, r.a1);
}
