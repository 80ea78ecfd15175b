/* x86.h - shared by the x86_64 files of the guest library; not for guest programs. */
#ifndef GUEST_X86_H
#define GUEST_X86_H

#include <stdint.h>

/* Builds the calling vCPU's tables (identity map, private window); returns the PML4's GPA. */
uint64_t x86_build_tables(void);
/* Fills the IDT (the same for every vCPU) and loads it. */
void x86_idt_load(void);

#endif
