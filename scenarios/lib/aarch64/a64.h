/* a64.h - shared by the aarch64 files of the guest library; not for guest programs. */
#ifndef GUEST_A64_H
#define GUEST_A64_H

#include <stdint.h>

/* Builds the calling vCPU's tables (identity map, private window); returns the level-1 GPA. */
uint64_t a64_build_tables(void);

/* MAIR_EL1 attribute indexes used by the tables. */
#define A64_ATTR_DEVICE 0   /* 0x00: Device-nGnRnE */
#define A64_ATTR_NORMAL 1   /* 0xff: Normal, inner and outer write-back */
#define A64_MAIR        ((0x00ULL << (8 * A64_ATTR_DEVICE)) | (0xffULL << (8 * A64_ATTR_NORMAL)))

/*
 * TCR_EL1: T0SZ = 25 (39-bit VA, walks start at level 1), IRGN0 = ORGN0 = write-back
 * write-allocate, SH0 = inner shareable, TG0 = 4 KiB, T1SZ = 25 with EPD1 = 1 (no TTBR1
 * walks), TG1 = 4 KiB, IPS = 40 bits.
 */
#define A64_TCR ((25ULL << 0) | (1ULL << 8) | (1ULL << 10) | (3ULL << 12) | (0ULL << 14) | \
                 (25ULL << 16) | (1ULL << 23) | (2ULL << 30) | (2ULL << 32))

#endif
