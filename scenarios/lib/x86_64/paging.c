/*
 * paging.c - x86_64 4-level page tables, one set per vCPU.
 *
 * Invariants:
 *  1. Every table page comes from the vCPU's own pool (guest_pt_alloc), which lies in the
 *     identity map, so a table's virtual address equals its guest-physical address. hvsim
 *     walks these tables by GPA and relies on this.
 *  2. Entries are written with A and D already set, so the CPU never writes them back.
 *  3. After changing an entry of live tables the code executes invlpg for the address (or the
 *     boot code reloads CR3): the points where hvsim re-derives the vCPU's mappings.
 *  4. Entries are supervisor-only (U = 0) until the vCPU first calls guest_call_user(); from
 *     then on every entry of its tables, and every one written later, has U = 1.
 *
 * Boot layout: PML4[0] -> PDPT; PDPT[0..3] -> four PDs of 2 MiB pages covering 0..4 GiB;
 * GUEST_PRIV_VA (PML4[0], PDPT[256]) -> a PD -> a PT -> the vCPU's private page.
 */
#include "guest_int.h"
#include "x86_64/x86.h"

#define PTE_P    (1ULL << 0)
#define PTE_W    (1ULL << 1)
#define PTE_U    (1ULL << 2)
#define PTE_PWT  (1ULL << 3)
#define PTE_PCD  (1ULL << 4)
#define PTE_A    (1ULL << 5)
#define PTE_D    (1ULL << 6)
#define PTE_PS   (1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL
/* Attribute bits of a leaf (everything but the address and, for large pages, PS/PAT). */
#define PTE_ATTR (0xfffULL | (1ULL << 63))

#define TABLE_FLAGS (PTE_P | PTE_W | PTE_A)

/* Per vCPU: its tables are user-accessible (invariant 4). Only the owning vCPU writes it. */
static bool user_on[GUEST_MAX_VCPUS];

static uint64_t user_bit(void)
{
    return user_on[guest_vcpu_id()] ? PTE_U : 0;
}

static uint64_t *table_of(uint64_t e)
{
    return (uint64_t *)(uintptr_t)(e & PTE_ADDR);
}

static unsigned index_at(uint64_t va, int level)
{
    return (unsigned)(va >> (12 + 9 * (level - 1))) & 511;
}

/*
 * Replaces the large page in *e (mapping 1 GiB at level 3, 2 MiB at level 2) by a table of
 * the next level mapping the same range with the same attributes.
 */
static void split(uint64_t *e, int level)
{
    uint64_t *t = guest_pt_alloc();
    uint64_t size = 1ULL << (12 + 9 * (level - 1));   /* what the large page maps */
    uint64_t base = *e & PTE_ADDR & ~(size - 1);       /* drops the large-page PAT bit 12 */
    uint64_t child = size / 512;
    /* Bit 7 is PS in a PD/PDPT entry but PAT in a PTE: only 1 GiB -> 2 MiB keeps it. */
    uint64_t attr = *e & PTE_ATTR & ~PTE_PS;
    if (level == 3)
        attr |= PTE_PS;
    for (unsigned i = 0; i < 512; i++)
        t[i] = (base + i * child) | attr;
    *e = (uintptr_t)t | TABLE_FLAGS;
}

/*
 * The level-1 entry for va under pml4: missing tables are created when `create`, large pages
 * on the way are split. NULL if a table is missing and !create.
 */
static uint64_t *walk(uint64_t *pml4, uint64_t va, bool create)
{
    uint64_t *t = pml4;
    for (int level = 4; level >= 2; level--) {
        uint64_t *e = &t[index_at(va, level)];
        if (!(*e & PTE_P)) {
            if (!create)
                return NULL;
            *e = (uintptr_t)guest_pt_alloc() | TABLE_FLAGS | user_bit();
        } else if (*e & PTE_PS) {
            split(e, level);
        }
        t = table_of(*e);
    }
    return &t[index_at(va, 1)];
}

static uint64_t leaf(uint64_t gpa, unsigned flags)
{
    uint64_t e = gpa | PTE_P | PTE_A | PTE_D | user_bit();
    if (flags & GUEST_MAP_WRITE)
        e |= PTE_W;
    if (flags & GUEST_MAP_DEVICE)
        e |= PTE_PCD | PTE_PWT;
    return e;
}

static void check_va(uint64_t va)
{
    uint64_t top = va >> 47;
    GUEST_ASSERT_MSG((top == 0 || top == 0x1ffff) && (va & (GUEST_PAGE_SIZE - 1)) == 0,
                     "va %#llx is not a page-aligned canonical address",
                     (unsigned long long)va);
}

static uint64_t *current_pml4(void)
{
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    return table_of(cr3);
}

static void invlpg(uint64_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

uint64_t x86_build_tables(void)
{
    uint64_t *pml4 = guest_pt_alloc();
    uint64_t *pdpt = guest_pt_alloc();
    pml4[0] = (uintptr_t)pdpt | TABLE_FLAGS;
    for (uint64_t g = 0; g < 4; g++) {
        uint64_t *pd = guest_pt_alloc();
        pdpt[g] = (uintptr_t)pd | TABLE_FLAGS;
        for (uint64_t i = 0; i < 512; i++)
            pd[i] = ((g << 30) + (i << 21)) | PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS;
    }
    /* Paging is still off: no flush needed, CR3 is loaded next. */
    *walk(pml4, GUEST_PRIV_VA, true) = leaf(guest_priv_page_gpa(guest_vcpu_id()),
                                            GUEST_MAP_WRITE);
    return (uintptr_t)pml4;
}

static void set_user(uint64_t *t, int level)
{
    for (unsigned i = 0; i < 512; i++) {
        if (!(t[i] & PTE_P))
            continue;
        t[i] |= PTE_U;
        if (level > 1 && !(t[i] & PTE_PS))
            set_user(table_of(t[i]), level - 1);
    }
}

void x86_tables_user(void)
{
    unsigned id = guest_vcpu_id();
    if (user_on[id])
        return;
    user_on[id] = true;
    set_user(current_pml4(), 4);
    __asm__ volatile("mov %%cr3, %%rax\n\tmov %%rax, %%cr3" : : : "rax", "memory");
}

void guest_map(uint64_t va, uint64_t gpa, unsigned flags)
{
    check_va(va);
    GUEST_ASSERT_MSG((gpa & ~PTE_ADDR) == 0, "gpa %#llx is not a page-aligned address",
                     (unsigned long long)gpa);
    *walk(current_pml4(), va, true) = leaf(gpa, flags);
    invlpg(va);
}

void guest_unmap(uint64_t va)
{
    check_va(va);
    uint64_t *pte = walk(current_pml4(), va, false);
    if (pte)
        *pte = 0;
    invlpg(va);
}
