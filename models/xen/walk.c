/*
 * walk.c - Xen's guest page walk for 64-bit HVM guests (walk.h has the rules, numbered).
 */
#include <string.h>

#include "models/xen/walk.h"

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_G (1ULL << 8)
#define PTE_NX (1ULL << 63)
#define PADDR_MASK ((1ULL << 52) - 1)
#define PTE_ADDR (PADDR_MASK & ~0xfffULL)
#define CR0_PG (1ULL << 31)
#define CR0_WP (1ULL << 16)
#define CR4_SMAP (1ULL << 21)
#define EFER_NX (1ULL << 11)
#define RFLAGS_AC (1ULL << 18)
/* Address bits 13..bit-1 of a large page: reserved (bit 12 is PAT). */
#define SUPERPAGE_RSVD(bit) (((1ULL << (bit)) - 1) & ~0x1fffULL)

const char *xenm_walk_why_name(enum xenm_walk_why why)
{
    static const char *const names[] = { "ok", "no_ram", "not_present", "rsvd", "user",
                                         "write", "smap", "stlb_miss" };
    return (unsigned)why < sizeof names / sizeof names[0] ? names[why] : "?";
}

/* Reserved bits of an entry at level (rule 4). */
static uint64_t rsvd_bits(const struct xenm_paging *p, unsigned level, uint64_t e)
{
    uint64_t r = PADDR_MASK;
    if (p->maxphysaddr < 52)
        r &= ~((1ULL << p->maxphysaddr) - 1);
    else
        r = 0;
    if (!(p->efer & EFER_NX))
        r |= PTE_NX;
    switch (level) {
    case 4:
        r |= PTE_PS | (p->amd ? PTE_G : 0);
        break;
    case 3:
        if (!p->page1gb)
            r |= PTE_PS;
        else if (e & PTE_PS)
            r |= SUPERPAGE_RSVD(30);
        break;
    case 2:
        r |= 0x7ff0000000000000ULL;
        if (e & PTE_PS)
            r |= SUPERPAGE_RSVD(21);
        break;
    default:
        r |= 0x7ff0000000000000ULL;
        break;
    }
    return e & r;
}

static enum xenm_walk_why fail(struct xenm_walk *w, enum xenm_walk_why why, unsigned level,
                               uint32_t pfec)
{
    w->why = why;
    w->level = level;
    w->pfec = pfec;
    return why;
}

enum xenm_walk_why xenm_walk(const struct xenm_mem *m, const struct xenm_paging *p, uint64_t va,
                             uint32_t access, struct xenm_walk *w)
{
    memset(w, 0, sizeof *w);
    uint32_t pfec = access & (XENM_PFEC_USER | XENM_PFEC_WRITE);
    if (!(p->cr0 & CR0_PG)) {                               /* rule 1 */
        w->gpa = va;
        return XENM_WALK_OK;
    }
    uint64_t gfn = p->cr3 >> 12;                            /* rule 2 */
    uint64_t *ent[5] = { 0 };                               /* the entry used at each level */
    uint64_t *table = (uint64_t *)(void *)m->page(m->ctx, gfn);
    uint64_t table_gfn[5] = { 0 };
    if (!table)
        return fail(w, XENM_WALK_NO_RAM, 0, pfec);          /* rule 3 */
    uint64_t ar_and = ~0ULL, ar_or = 0;
    unsigned level = 4, leaf = 0;
    for (;; level--) {
        unsigned shift = 12 + 9 * (level - 1);
        uint64_t *e = &table[(va >> shift) & 511];
        ent[level] = e;
        table_gfn[level] = gfn;
        if (!(*e & PTE_P))
            return fail(w, XENM_WALK_NOT_PRESENT, level, pfec);
        if (rsvd_bits(p, level, *e))
            return fail(w, XENM_WALK_RSVD, level, pfec | XENM_PFEC_RSVD | XENM_PFEC_PRESENT);
        ar_and &= *e;                                       /* rule 5 */
        ar_or |= *e;
        if (level == 1 || (level <= 3 && (*e & PTE_PS))) {
            uint64_t size = 1ULL << shift;
            w->gpa = (*e & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
            leaf = level;
            break;
        }
        gfn = (*e & PTE_ADDR) >> 12;
        table = (uint64_t *)(void *)m->page(m->ctx, gfn);
        if (!table)
            return fail(w, XENM_WALK_NO_RAM, level - 1, pfec);
    }
    pfec |= XENM_PFEC_PRESENT;
    bool user = ar_and & PTE_U, rw = ar_and & PTE_RW;       /* rule 6 */
    (void)ar_or; /* NX only matters for instruction fetches, which are not walked here */
    if (access & XENM_PFEC_USER) {
        if (!user)
            return fail(w, XENM_WALK_USER, leaf, pfec);
        if ((access & XENM_PFEC_WRITE) && !rw)
            return fail(w, XENM_WALK_WRITE, leaf, pfec);
    } else {
        if (user && (p->cr4 & CR4_SMAP) &&
            ((access & XENM_PFEC_IMPLICIT) || !(p->rflags & RFLAGS_AC)))
            return fail(w, XENM_WALK_SMAP, leaf, pfec);
        if ((access & XENM_PFEC_WRITE) && !rw && (p->cr0 & CR0_WP))
            return fail(w, XENM_WALK_WRITE, leaf, pfec);
    }
    /* rule 7: A in each entry from the leaf up, D in the leaf for a write */
    for (unsigned l = leaf; l <= 4; l++) {
        uint64_t set = PTE_A | ((l == leaf && (access & XENM_PFEC_WRITE)) ? PTE_D : 0);
        if ((*ent[l] | set) != *ent[l]) {
            *ent[l] |= set;
            if (m->dirty)
                m->dirty(m->ctx, table_gfn[l]);
        }
    }
    w->level = leaf;
    w->pfec = pfec;
    return XENM_WALK_OK;
}
