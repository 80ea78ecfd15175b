/*
 * smccc.c - the same SMCCC calls under different SMCCC filters and forwarding ABIs: the
 * scenario decides what KVM does with each, the guest prints what it got back in x0.
 */
#include "guest.h"
#include "hypercall.h"

#define PSCI_VERSION 0x84000000ULL
#define SIP_CALL 0x82000001ULL            /* SiP service call 1: nothing in KVM handles it */
#define SMCCC_VERSION 0x80000000ULL
#define SMCCC_ARCH_FEATURES 0x80000001ULL
#define SMCCC_ARCH_WORKAROUND_1 0x80008000ULL

/* smc #1: a non-zero immediate, which SMCCC reserves */
static uint64_t smc_imm1(uint64_t fn)
{
    register uint64_t x0 __asm__("x0") = fn;
    __asm__ volatile("smc #1" : "+r"(x0) : : "x1", "x2", "x3", "memory");
    return x0;
}

void guest_main(void)
{
    GUEST_PRINTF("hvc PSCI_VERSION %llx\n",
                 (unsigned long long)hypercall_hvc(PSCI_VERSION, 0, 0, 0, 0, 0, 0, 0).a0);
    GUEST_PRINTF("smc PSCI_VERSION %llx\n",
                 (unsigned long long)hypercall_smc(PSCI_VERSION, 0, 0, 0, 0, 0, 0, 0).a0);
    struct hypercall_smccc_res r = hypercall_hvc(SIP_CALL, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0);
    GUEST_PRINTF("hvc SiP %llx %llx\n", (unsigned long long)r.a0, (unsigned long long)r.a1);
    r = hypercall_smc(SIP_CALL, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0);
    GUEST_PRINTF("smc SiP %llx %llx\n", (unsigned long long)r.a0, (unsigned long long)r.a1);
    GUEST_PRINTF("smc #1 %llx\n", (unsigned long long)smc_imm1(PSCI_VERSION));
    GUEST_PRINTF("SMCCC_VERSION %llx\n",
                 (unsigned long long)hypercall_hvc(SMCCC_VERSION, 0, 0, 0, 0, 0, 0, 0).a0);
    GUEST_PRINTF("ARCH_FEATURES(WORKAROUND_1) %llx\n",
                 (unsigned long long)hypercall_hvc(SMCCC_ARCH_FEATURES,
                                                   SMCCC_ARCH_WORKAROUND_1, 0, 0, 0, 0, 0, 0)
                     .a0);
    GUEST_SYNC(1);
}
