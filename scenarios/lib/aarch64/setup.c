/*
 * setup.c - aarch64 boot after boot.S: page tables, MMU on, then the program.
 *
 * Runs on every vCPU at once, each on its own stack and with its own tables. Needs the host to
 * have put the vCPU in the Non-secure state (SCR_EL3 = 0x501) with HCR_EL2.RW = 1: in
 * Unicorn's default Secure state, enabling the MMU ends in a prefetch abort.
 */
#include "guest_int.h"
#include "aarch64/a64.h"

#define SCTLR_M (1ULL << 0)
#define SCTLR_C (1ULL << 2)
#define SCTLR_I (1ULL << 12)

unsigned guest_vcpu_id(void)
{
    uint64_t id;
    __asm__ volatile("mrs %0, tpidr_el1" : "=r"(id));
    return (unsigned)id;
}

_Noreturn void a64_setup(uint64_t id, uint64_t nr);

void a64_setup(uint64_t id, uint64_t nr)
{
    (void)id;   /* boot.S keeps it in TPIDR_EL1 */
    __atomic_store_n(&guest_nr_vcpus_, (unsigned)nr, __ATOMIC_RELAXED);

    uint64_t l1 = a64_build_tables();

    __asm__ volatile("dsb ish\n\t"
                     "msr mair_el1, %0\n\t"
                     "msr tcr_el1, %1\n\t"
                     "msr ttbr0_el1, %2\n\t"
                     "isb\n\t"
                     "tlbi vmalle1\n\t"
                     "dsb nsh\n\t"
                     "isb"
                     :
                     : "r"(A64_MAIR), "r"(A64_TCR), "r"(l1)
                     : "memory");
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    sctlr |= SCTLR_M | SCTLR_C | SCTLR_I;
    __asm__ volatile("msr sctlr_el1, %0\n\tisb" : : "r"(sctlr) : "memory");

    guest_start();
}
