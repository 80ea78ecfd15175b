/* x86.h - shared by the x86_64 files of the guest library (C and assembly); not for guest
 * programs, which use guest.h's GUEST_SEL_* / GUEST_REAL_* names for the same numbers. */
#ifndef GUEST_X86_H
#define GUEST_X86_H

/* GDT selectors (boot.S). */
#define X86_SEL_CODE64      0x08
#define X86_SEL_DATA        0x10
#define X86_SEL_CODE32      0x18
#define X86_SEL_CODE16      0x20
#define X86_SEL_DATA16      0x28
#define X86_SEL_USER_CODE32 0x33
#define X86_SEL_USER_DATA   0x3b
#define X86_SEL_USER_CODE64 0x43
#define X86_SEL_TSS         0x48    /* + 16 * vCPU id */

/* The vector whose gate (DPL 3) brings guest_call_user() back to CPL 0. */
#define X86_VEC_USER_RET    0x81

/* Real mode (modes.S): the trampoline page, then one slot per vCPU with its code at offset 0,
 * its stack below X86_REAL_REGS, the registers in and out at X86_REAL_REGS and the 64-bit RSP
 * at X86_REAL_RSP. */
#define X86_REAL_TRAMP      0x8000
#define X86_REAL_BASE       0x9000
#define X86_REAL_SLOT       0x1000
#define X86_REAL_CODE_MAX   0xe00
#define X86_REAL_REGS       0xfc0
#define X86_REAL_RSP        0xfe0

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Builds the calling vCPU's tables (identity map, private window); returns the PML4's GPA. */
uint64_t x86_build_tables(void);
/* Makes every entry of the calling vCPU's tables user-accessible (U) once, and the entries
 * guest_map() writes later. */
void x86_tables_user(void);
/* Fills the IDT (the same for every vCPU) and loads it. */
void x86_idt_load(void);
/* Fills the calling vCPU's TSS descriptor and loads TR (modes.c). */
void x86_tss_load(unsigned id);
#endif

#endif
