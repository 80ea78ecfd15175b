/*
 * paging.c - aarch64 stage-1 tables for EL1, 4 KiB granule, 39-bit VA (levels 1-3), one set
 * per vCPU, in TTBR0_EL1.
 *
 * Invariants:
 *  1. Every table page comes from the vCPU's own pool (guest_pt_alloc), which lies in the
 *     identity map, so a table's virtual address equals its guest-physical address.
 *  2. Descriptors are written with AF set, so no access flag fault ever happens.
 *  3. After changing a descriptor of live tables the code executes a TLBI (vaae1 for one page,
 *     vmalle1 after a block was split): the points where hvsim re-derives the vCPU's mappings.
 *
 * Boot layout: level 1 entries 0..3 are 1 GiB blocks covering 0..4 GiB, Device-nGnRnE except
 * entry 1 (the RAM gigabyte at 0x40000000), Normal write-back; GUEST_PRIV_VA (level-1 entry
 * 256) -> a level-2 table -> a level-3 table -> the vCPU's private page.
 */
#include "guest_int.h"
#include "aarch64/a64.h"

#define D_VALID    (1ULL << 0)
#define D_TABLE    (3ULL << 0)      /* table at levels 1-2, page at level 3 */
#define D_BLOCK    (1ULL << 0)
#define D_TYPE     (3ULL << 0)
#define D_ATTR(i)  ((uint64_t)(i) << 2)
#define D_AP_RO    (1ULL << 7)
#define D_SH_INNER (3ULL << 8)
#define D_AF       (1ULL << 10)
#define D_PXN      (1ULL << 53)
#define D_UXN      (1ULL << 54)
#define D_ADDR     0x0000fffffffff000ULL

#define VA_BITS 39

static const uint64_t normal = D_ATTR(A64_ATTR_NORMAL) | D_SH_INNER | D_AF | D_UXN;
static const uint64_t device = D_ATTR(A64_ATTR_DEVICE) | D_AF | D_PXN | D_UXN;

static uint64_t *table_of(uint64_t d)
{
    return (uint64_t *)(uintptr_t)(d & D_ADDR);
}

static unsigned index_at(uint64_t va, int level)
{
    return (unsigned)(va >> (12 + 9 * (3 - level))) & 511;
}

/*
 * Replaces the block in *d (1 GiB at level 1, 2 MiB at level 2) by an equivalent table. Done
 * without break-before-make: the code doing it may run from that very block, and every
 * address keeps its translation and attributes.
 */
static void split(uint64_t *d, int level)
{
    uint64_t *t = guest_pt_alloc();
    uint64_t size = 1ULL << (12 + 9 * (3 - level));
    uint64_t base = *d & D_ADDR & ~(size - 1);
    uint64_t child = size / 512;
    uint64_t attr = (*d & ~D_ADDR & ~D_TYPE) | (level == 2 ? D_TABLE : D_BLOCK);
    for (unsigned i = 0; i < 512; i++)
        t[i] = (base + i * child) | attr;
    __asm__ volatile("dsb ishst" ::: "memory");
    *d = (uintptr_t)t | D_TABLE;
}

/*
 * The level-3 descriptor for va under l1: missing tables are created when `create`, blocks on
 * the way are split (*split_done set). NULL if a table is missing and !create.
 */
static uint64_t *walk(uint64_t *l1, uint64_t va, bool create, bool *split_done)
{
    uint64_t *t = l1;
    for (int level = 1; level <= 2; level++) {
        uint64_t *d = &t[index_at(va, level)];
        if (!(*d & D_VALID)) {
            if (!create)
                return NULL;
            *d = (uintptr_t)guest_pt_alloc() | D_TABLE;
        } else if ((*d & D_TYPE) == D_BLOCK) {
            split(d, level);
            *split_done = true;
        }
        t = table_of(*d);
    }
    return &t[index_at(va, 3)];
}

static uint64_t page(uint64_t gpa, unsigned flags)
{
    uint64_t d = gpa | D_TABLE | (flags & GUEST_MAP_DEVICE ? device : normal);
    if (!(flags & GUEST_MAP_WRITE))
        d |= D_AP_RO;
    return d;
}

static void check_va(uint64_t va)
{
    GUEST_ASSERT_MSG(va < (1ULL << VA_BITS) && (va & (GUEST_PAGE_SIZE - 1)) == 0,
                     "va %#llx is not a page-aligned address below 2^%d",
                     (unsigned long long)va, VA_BITS);
}

static uint64_t *current_l1(void)
{
    uint64_t ttbr0;
    __asm__ volatile("mrs %0, ttbr0_el1" : "=r"(ttbr0));
    return table_of(ttbr0);
}

/* This vCPU only: every vCPU has its own tables, so no broadcast (IS) form is needed. */
static void flush(uint64_t va, bool all)
{
    __asm__ volatile("dsb ishst" ::: "memory");
    if (all)
        __asm__ volatile("tlbi vmalle1" ::: "memory");
    else
        __asm__ volatile("tlbi vaae1, %0" : : "r"(va >> 12) : "memory");
    __asm__ volatile("dsb ish\n\tisb" ::: "memory");
}

uint64_t a64_build_tables(void)
{
    uint64_t *l1 = guest_pt_alloc();
    for (uint64_t g = 0; g < 4; g++)
        l1[g] = (g << 30) | D_BLOCK | (g == 1 ? normal : device);
    bool split_done = false;
    /* The MMU is still off: nothing to flush. */
    *walk(l1, GUEST_PRIV_VA, true, &split_done) =
        page(guest_priv_page_gpa(guest_vcpu_id()), GUEST_MAP_WRITE);
    return (uintptr_t)l1;
}

void guest_map(uint64_t va, uint64_t gpa, unsigned flags)
{
    check_va(va);
    GUEST_ASSERT_MSG((gpa & ~D_ADDR) == 0, "gpa %#llx is not a page-aligned address",
                     (unsigned long long)gpa);
    bool split_done = false;
    uint64_t *d = walk(current_l1(), va, true, &split_done);
    uint64_t want = page(gpa, flags);
    if ((*d & D_VALID) && *d != want) {
        /* Break before make: a live translation is never replaced directly. */
        *d = 0;
        flush(va, false);
    }
    *d = want;
    flush(va, split_done);
}

void guest_unmap(uint64_t va)
{
    check_va(va);
    bool split_done = false;
    uint64_t *d = walk(current_l1(), va, false, &split_done);
    if (d)
        *d = 0;
    flush(va, split_done);
}
