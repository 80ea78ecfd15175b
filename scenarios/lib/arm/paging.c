/*
 * paging.c - arm (AArch32) short-descriptor tables for PL1, one set per vCPU, in TTBR0 with
 * TTBCR.N = 0 (the whole 32-bit space through one 16 KiB level-1 table).
 *
 * Invariants:
 *  1. Every table page comes from the vCPU's own pool (guest_pt_alloc), which lies in the
 *     identity map, so a table's virtual address equals its guest-physical address. The
 *     level-1 table is the pool's first four pages, 16 KiB aligned; a level-2 table (1 KiB)
 *     takes a whole pool page.
 *  2. Everything uses domain 0, a Client domain (DACR), so the AP bits are checked.
 *  3. After changing a descriptor of live tables the code executes TLBIMVA for the page
 *     (TLBIALL after a section was split), between dsb and isb.
 *
 * Boot layout: 4096 sections of 1 MiB identity-map 0..4 GiB, Normal write-back for the RAM
 * gigabyte at 0x40000000, Device (shareable, XN) everywhere else; the last MiB goes through a
 * level-2 table: GUEST_PRIV_VA -> the vCPU's private page, the rest of that MiB identity
 * (Device).
 */
#include "guest_int.h"
#include "arm/a32.h"

/* Sections: B bit 2, C bit 3, XN bit 4, domain bits 8:5, AP[1:0] bits 11:10, TEX bits 14:12,
 * AP[2] bit 15, S bit 16. */
#define S_NORMAL  ((1u << 2) | (1u << 3) | (3u << 10) | (1u << 12) | (1u << 16))
#define S_DEVICE  ((1u << 2) | (1u << 4) | (3u << 10))
/* Small pages: XN bit 0, B bit 2, C bit 3, AP[1:0] bits 5:4, TEX bits 8:6, AP[2] bit 9, S
 * bit 10. */
#define P_NORMAL  ((1u << 2) | (1u << 3) | (1u << 6) | (1u << 10))
#define P_DEVICE  ((1u << 2) | (1u << 0))
#define P_RW      (3u << 4)             /* AP = 0b011: read/write */
#define P_RO      ((1u << 9) | (1u << 4)) /* AP = 0b101: read-only at PL1 */

static uint32_t *current_l1(void)
{
    uint32_t ttbr0;
    __asm__ volatile("mrc p15, 0, %0, c2, c0, 0" : "=r"(ttbr0));
    return (uint32_t *)(uintptr_t)(ttbr0 & ~0x3fffu);
}

/* The small-page attributes equivalent to a section's. */
static uint32_t page_attrs_of_section(uint32_t s)
{
    uint32_t p = A32_L2_SMALL;
    p |= s & ((1u << 2) | (1u << 3));           /* B, C */
    p |= (s >> 4) & 1u;                         /* XN */
    p |= ((s >> 10) & 3u) << 4;                 /* AP[1:0] */
    p |= ((s >> 12) & 7u) << 6;                 /* TEX */
    p |= ((s >> 15) & 1u) << 9;                 /* AP[2] */
    p |= ((s >> 16) & 1u) << 10;                /* S */
    return p;
}

/*
 * The level-2 table for va's MiB: a section there is split into an equivalent table
 * (*split_done set); with nothing there, a new empty table when `create`, else NULL.
 */
static uint32_t *l2_for(uint32_t *l1, uint32_t va, bool create, bool *split_done)
{
    uint32_t *d = &l1[va >> 20];
    if ((*d & A32_L1_TYPE) == A32_L1_TABLE)
        return (uint32_t *)(uintptr_t)(*d & ~0x3ffu);
    if ((*d & A32_L1_TYPE) == 0 && !create)
        return NULL;
    uint32_t *t = (uint32_t *)guest_pt_alloc();
    if ((*d & A32_L1_TYPE) == A32_L1_SECTION) {
        uint32_t base = *d & 0xfff00000u, attrs = page_attrs_of_section(*d);
        for (uint32_t i = 0; i < 256; i++)
            t[i] = (base + (i << 12)) | attrs;
        *split_done = true;
    }
    __asm__ volatile("dsb" ::: "memory");
    *d = (uint32_t)(uintptr_t)t | A32_L1_TABLE;
    return t;
}

static uint32_t page(uint32_t gpa, unsigned flags)
{
    uint32_t d = gpa | A32_L2_SMALL | (flags & GUEST_MAP_DEVICE ? P_DEVICE : P_NORMAL);
    return d | (flags & GUEST_MAP_WRITE ? P_RW : P_RO);
}

static void check_va(uint64_t va)
{
    GUEST_ASSERT_MSG(va < (1ULL << 32) && (va & (GUEST_PAGE_SIZE - 1)) == 0,
                     "va %#llx is not a page-aligned address below 2^32",
                     (unsigned long long)va);
}

uint32_t a32_build_tables(void)
{
    /* four consecutive pool pages: the pool is 16 KiB aligned and this is the first use */
    uint32_t *l1 = (uint32_t *)guest_pt_alloc();
    for (int i = 1; i < 4; i++)
        GUEST_ASSERT((uint8_t *)guest_pt_alloc() == (uint8_t *)l1 + i * GUEST_PAGE_SIZE);
    GUEST_ASSERT(((uintptr_t)l1 & 0x3fff) == 0);
    for (uint32_t i = 0; i < 4096; i++)
        l1[i] = (i << 20) | A32_L1_SECTION | (i >= 0x400 && i < 0x800 ? S_NORMAL : S_DEVICE);
    bool split_done = false;
    /* The MMU is still off: nothing to flush. */
    uint32_t *l2 = l2_for(l1, (uint32_t)GUEST_PRIV_VA, true, &split_done);
    l2[((uint32_t)GUEST_PRIV_VA >> 12) & 0xff] =
        page((uint32_t)guest_priv_page_gpa(guest_vcpu_id()), GUEST_MAP_WRITE);
    return (uint32_t)(uintptr_t)l1;
}

void guest_map(uint64_t va, uint64_t gpa, unsigned flags)
{
    check_va(va);
    GUEST_ASSERT_MSG(gpa < (1ULL << 32) && (gpa & (GUEST_PAGE_SIZE - 1)) == 0,
                     "gpa %#llx is not a page-aligned address below 2^32",
                     (unsigned long long)gpa);
    bool split_done = false;
    uint32_t *l2 = l2_for(current_l1(), (uint32_t)va, true, &split_done);
    uint32_t *d = &l2[(va >> 12) & 0xff];
    uint32_t want = page((uint32_t)gpa, flags);
    if ((*d & 3) && *d != want) {
        /* Break before make: a live translation is never replaced directly. */
        *d = 0;
        a32_tlb_flush_va((uint32_t)va);
    }
    *d = want;
    if (split_done)
        a32_tlb_flush_all();
    else
        a32_tlb_flush_va((uint32_t)va);
}

void guest_unmap(uint64_t va)
{
    check_va(va);
    bool split_done = false;
    uint32_t *l2 = l2_for(current_l1(), (uint32_t)va, false, &split_done);
    if (l2)
        l2[(va >> 12) & 0xff] = 0;
    if (split_done)
        a32_tlb_flush_all();
    else
        a32_tlb_flush_va((uint32_t)va);
}
