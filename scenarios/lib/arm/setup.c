/*
 * setup.c - arm (AArch32) boot after boot.S: page tables, MMU on, then the program.
 *
 * Runs on every vCPU at once, each on its own stack and with its own tables. hvsim starts the
 * vCPU Non-secure (SCR.NS = 1), so the CP15 registers written here are the Non-secure copies
 * that the MMU of Non-secure PL1 uses.
 */
#include "guest_int.h"
#include "arm/a32.h"

unsigned guest_vcpu_id(void)
{
    uint32_t id;
    __asm__ volatile("mrc p15, 0, %0, c13, c0, 4" : "=r"(id)); /* TPIDRPRW */
    return id;
}

_Noreturn void arm_setup(uint32_t id, uint32_t nr);

void arm_setup(uint32_t id, uint32_t nr)
{
    (void)id;   /* boot.S keeps it in TPIDRPRW */
    __atomic_store_n(&guest_nr_vcpus_, (unsigned)nr, __ATOMIC_RELAXED);

    uint32_t l1 = a32_build_tables();

    __asm__ volatile("dsb\n\t"
                     "mcr p15, 0, %0, c3, c0, 0\n\t"   /* DACR */
                     "mcr p15, 0, %1, c2, c0, 2\n\t"   /* TTBCR: N = 0, short descriptors */
                     "mcr p15, 0, %2, c2, c0, 0\n\t"   /* TTBR0 */
                     "isb"
                     :
                     : "r"(A32_DACR), "r"(0), "r"(l1)
                     : "memory");
    a32_tlb_flush_all();
    uint32_t sctlr;
    __asm__ volatile("mrc p15, 0, %0, c1, c0, 0" : "=r"(sctlr));
    sctlr |= A32_SCTLR_M | A32_SCTLR_C | A32_SCTLR_I | A32_SCTLR_Z;
    sctlr &= ~((1u << 13) | (1u << 28) | (1u << 29) | (1u << 30)); /* V, TRE, AFE, TE */
    __asm__ volatile("mcr p15, 0, %0, c1, c0, 0\n\tisb" : : "r"(sctlr) : "memory");

    guest_start();
}
