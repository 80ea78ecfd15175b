/*
 * psci.c - PSCI through KVM: vCPU 1 is created powered off; vCPU 0 brings it up with CPU_ON,
 * checks AFFINITY_INFO before and after, tries the errors, and ends the VM with SYSTEM_OFF
 * once vCPU 1 has turned itself off with CPU_OFF.
 */
#include "guest.h"
#include "hypercall.h"

#define PSCI_VERSION 0x84000000ULL
#define PSCI_CPU_OFF 0x84000002ULL
#define PSCI_CPU_ON 0xc4000003ULL
#define PSCI_AFFINITY_INFO 0xc4000004ULL
#define PSCI_SYSTEM_OFF 0x84000008ULL

static volatile unsigned stage, boots;

static int64_t psci(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
    return (int64_t)hypercall_hvc(fn, a1, a2, a3, 0, 0, 0, 0).a0;
}

void guest_main(void)
{
    if (guest_vcpu_id() == 1) {
        boots++;
        GUEST_PRINTF("vCPU 1 is up (boot %u)\n", boots);
        stage = 1;
        while (stage != 2)
            guest_cpu_relax();
        stage = 3;
        psci(PSCI_CPU_OFF, 0, 0, 0);
        GUEST_ASSERT_MSG(0, "CPU_OFF returned");
    }
    GUEST_ASSERT_EQ(psci(PSCI_VERSION, 0, 0, 0), 0x10001);
    GUEST_ASSERT_EQ(psci(PSCI_AFFINITY_INFO, 1, 0, 0), 1);          /* OFF */
    GUEST_ASSERT_EQ(psci(PSCI_CPU_ON, 1, (uint64_t)(uintptr_t)guest_psci_entry, 1), 0);
    GUEST_ASSERT_EQ(psci(PSCI_CPU_ON, 1, (uint64_t)(uintptr_t)guest_psci_entry, 1), -4);
    GUEST_ASSERT_EQ(psci(PSCI_CPU_ON, 7, 0, 0), -2);                 /* no such vCPU */
    GUEST_ASSERT_EQ(psci(PSCI_AFFINITY_INFO, 1, 0, 0), 0);           /* ON */
    while (stage != 1)
        guest_cpu_relax();
    stage = 2;
    while (stage != 3)
        guest_cpu_relax();
    while (psci(PSCI_AFFINITY_INFO, 1, 0, 0) != 1)
        guest_cpu_relax();
    GUEST_PRINTF("vCPU 1 is off again\n");
    /* a second CPU_ON resets it again: it boots from scratch (MMU off, registers zero) */
    stage = 0;
    GUEST_ASSERT_EQ(psci(PSCI_CPU_ON, 1, (uint64_t)(uintptr_t)guest_psci_entry, 1), 0);
    while (stage != 1)
        guest_cpu_relax();
    stage = 2;
    while (stage != 3)
        guest_cpu_relax();
    while (psci(PSCI_AFFINITY_INFO, 1, 0, 0) != 1)
        guest_cpu_relax();
    psci(PSCI_SYSTEM_OFF, 0, 0, 0);
    GUEST_ASSERT_MSG(0, "SYSTEM_OFF returned");
}
