/* a32.h - shared by the arm (AArch32) files of the guest library; not for guest programs. */
#ifndef GUEST_A32_H
#define GUEST_A32_H

#include <stdint.h>

/* Builds the calling vCPU's tables (identity map, private window); returns the level-1 GPA. */
uint32_t a32_build_tables(void);

/* Short-descriptor bits (ARM DDI 0406C B3.5.1). */
#define A32_L1_TABLE    0x1u            /* level 1: a level-2 table follows */
#define A32_L1_SECTION  0x2u            /* level 1: a 1 MiB section */
#define A32_L1_TYPE     0x3u
#define A32_L2_SMALL    0x2u            /* level 2: a 4 KiB page */

#define A32_SCTLR_M (1u << 0)
#define A32_SCTLR_C (1u << 2)
#define A32_SCTLR_Z (1u << 11)
#define A32_SCTLR_I (1u << 12)

/* DACR: every domain Client (permissions checked); the tables use domain 0. */
#define A32_DACR 0x55555555u

static inline void a32_tlb_flush_all(void)
{
    __asm__ volatile("dsb\n\tmcr p15, 0, %0, c8, c7, 0\n\tdsb\n\tisb" : : "r"(0) : "memory");
}

static inline void a32_tlb_flush_va(uint32_t va)
{
    __asm__ volatile("dsb\n\tmcr p15, 0, %0, c8, c7, 1\n\tdsb\n\tisb" : : "r"(va & ~0xfffu)
                     : "memory");
}

#endif
