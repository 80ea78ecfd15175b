/*
 * mem.c - what each vCPU's engine maps, and guest page-table walks.
 *
 * Unicorn has one flat address space per engine. hvsim fills it so that the guest sees its
 * own view of guest-physical memory:
 *   - aarch64, arm (and x86_64 before paging is on): the physical layout. RAM regions are the
 *     host buffers at their GPA (uc_mem_map_ptr); every hole below the PA limit is an MMIO
 *     region whose accesses become exits. On aarch64 and arm Unicorn's MMU translates VA->PA
 *     itself; it only needs the VA to be mapped too, which the hole regions guarantee below
 *     the limit (arm: the whole 32-bit space).
 *   - x86_64 with paging on: a shadow of the vCPU's page tables, because Unicorn 2.0.1 uses
 *     the virtual address as the physical one. Each present VA run is mapped to the host
 *     buffer (or MMIO) of the GPA its PTEs name. Unicorn still walks the tables for presence
 *     and permission checks, reading them at their GPA as a VA, hence the guest rule that
 *     page-table pages are identity-mapped (scenarios/lib/README.md).
 *
 * A remap keeps what did not change mapped and changes the rest, or moves the vCPU to a new
 * engine when much would have to be unmapped (apply_pieces): the cost of a memslot change
 * follows the slot, not the hole around it.
 *
 * Invariants:
 *   1. v->runs lists exactly what is mapped in v->uc, one entry per RAM or MMIO piece.
 *   2. An MMIO piece owns its callbacks' user data, freed when the piece is unmapped.
 *   3. mem_remap() is called only outside uc_emu_start, except the single-page additions of
 *      mem_fault_in().
 */
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"


#define PAGE 4096ULL
/* Above this many pages to unmap, a remap opens a new engine (apply_pieces). */
#define MEM_UNMAP_MAX_PAGES 2048

static int runs_push(struct hv_run **runs, size_t *n, size_t *cap, uint64_t va, uint64_t gpa,
                     uint64_t size, bool w)
{
    if (*n) {
        struct hv_run *last = &(*runs)[*n - 1];
        if (last->va + last->size == va && last->gpa + last->size == gpa && last->writable == w) {
            last->size += size;
            return 0;
        }
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct hv_run *nr = realloc(*runs, nc * sizeof *nr);
        if (!nr)
            return HV_ENOMEM;
        *runs = nr;
        *cap = nc;
    }
    (*runs)[(*n)++] = (struct hv_run){ .va = va, .gpa = gpa, .size = size, .writable = w };
    return 0;
}

static bool read_phys64(struct hv_vm *vm, uint64_t gpa, uint64_t *out)
{
    uint8_t *p = hv_vm_gpa_ptr(vm, gpa, 8);
    if (!p)
        return false;
    memcpy(out, p, 8);
    return true;
}

#define X86_P  (1ULL << 0)
#define X86_W  (1ULL << 1)
#define X86_PS (1ULL << 7)
#define X86_ADDR 0x000ffffffffff000ULL

static uint64_t canon(uint64_t va)
{
    return (va & (1ULL << 47)) ? (va | 0xffff000000000000ULL) : va;
}

/* Enumerates every present mapping of an x86-64 4-level table into runs. */
static int x86_enum(struct hv_vm *vm, uint64_t table, int level, uint64_t va_base, bool w,
                    struct hv_run **runs, size_t *n, size_t *cap)
{
    static const unsigned shift[] = { 0, 12, 21, 30, 39 };
    for (unsigned i = 0; i < 512; i++) {
        uint64_t e;
        if (!read_phys64(vm, (table & X86_ADDR) + i * 8, &e) || !(e & X86_P))
            continue;
        uint64_t va = va_base + ((uint64_t)i << shift[level]);
        bool ew = w && (e & X86_W);
        if (level == 1 || ((level == 2 || level == 3) && (e & X86_PS))) {
            uint64_t size = 1ULL << shift[level];
            uint64_t gpa = e & X86_ADDR & ~(size - 1);
            int err = runs_push(runs, n, cap, canon(va), gpa, size, ew);
            if (err)
                return err;
        } else if (level > 1) {
            int err = x86_enum(vm, e, level - 1, va, ew, runs, n, cap);
            if (err)
                return err;
        }
    }
    return 0;
}

/* Walkers: HV_EINVAL when va does not translate; *hole (if not NULL) is then set to the GPA of
 * a table entry no RAM backs, or left alone when the tables simply have no mapping. */
static int x86_walk(struct hv_vm *vm, uint64_t cr3, uint64_t va, uint64_t *gpa, bool *writable,
                    uint64_t *hole)
{
    if (canon(va) != va)
        return HV_EINVAL; /* non-canonical: #GP on hardware, never translated */
    uint64_t table = cr3;
    bool w = true;
    for (int level = 4; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        uint64_t e, ea = (table & X86_ADDR) + ((va >> shift) & 511) * 8;
        if (!read_phys64(vm, ea, &e)) {
            if (hole && !hv_vm_gpa_ptr(vm, ea, 1))
                *hole = ea;
            return HV_EINVAL;
        }
        if (!(e & X86_P))
            return HV_EINVAL;
        w = w && (e & X86_W);
        if (level == 1 || ((level == 2 || level == 3) && (e & X86_PS))) {
            uint64_t size = 1ULL << shift;
            *gpa = (e & X86_ADDR & ~(size - 1)) | (va & (size - 1));
            if (writable)
                *writable = w;
            return 0;
        }
        table = e;
    }
    return HV_EINVAL;
}

static uint64_t a64_sysreg(struct hv_vcpu *v, uint32_t op0, uint32_t op1, uint32_t crn,
                           uint32_t crm, uint32_t op2)
{
    uc_arm64_cp_reg r = { .crn = crn, .crm = crm, .op0 = op0, .op1 = op1, .op2 = op2 };
    uc_reg_read(v->uc, UC_ARM64_REG_CP_REG, &r);
    return r.val;
}

/* AArch64 stage-1 walk, 4 KiB granule, TTBR0 or TTBR1 by the top VA bit. */
static int a64_walk(struct hv_vcpu *v, uint64_t va, uint64_t *gpa, bool *writable,
                    uint64_t *hole)
{
    uint64_t sctlr = a64_sysreg(v, 3, 0, 1, 0, 0);
    if (!(sctlr & 1)) {
        *gpa = va;
        if (writable)
            *writable = true;
        return 0;
    }
    uint64_t tcr = a64_sysreg(v, 3, 0, 2, 0, 2);
    bool hi = (va >> 63) & 1;
    unsigned tsz = hi ? (unsigned)((tcr >> 16) & 63) : (unsigned)(tcr & 63);
    uint64_t ttbr;
    uc_reg_read(v->uc, hi ? UC_ARM64_REG_TTBR1_EL1 : UC_ARM64_REG_TTBR0_EL1, &ttbr);
    unsigned vabits = 64 - tsz;
    if (tsz < 16 || tsz > 39)
        return HV_EINVAL;
    uint64_t vamask = (1ULL << vabits) - 1;
    uint64_t off = va & vamask;
    if (!hi && (va >> vabits))
        return HV_EINVAL;
    if (hi && (~va >> vabits))
        return HV_EINVAL; /* TTBR1 addresses have every bit above the range set */
    int level = 4 - (int)((vabits - 12 + 8) / 9);
    uint64_t table = ttbr & 0x0000fffffffff000ULL;
    bool w = true;
    for (; level <= 3; level++) {
        unsigned shift = 12 + 9 * (unsigned)(3 - level);
        uint64_t e, ea = table + ((off >> shift) & 511) * 8;
        if (!read_phys64(v->vm, ea, &e)) {
            if (hole && !hv_vm_gpa_ptr(v->vm, ea, 1))
                *hole = ea;
            return HV_EINVAL;
        }
        if (!(e & 1))
            return HV_EINVAL;
        bool table_desc = (e & 2) && level < 3;
        if (table_desc) {
            if (e & (1ULL << 62))
                w = false; /* APTable[1]: everything below is read-only */
        } else {
            if ((level == 3 && !(e & 2)) || level == 0)
                return HV_EINVAL; /* reserved page encoding, or a level-0 block */
            if (e & (1ULL << 7))
                w = false; /* AP[2]: read-only */
            uint64_t size = 1ULL << shift;
            *gpa = (e & 0x0000fffffffff000ULL & ~(size - 1)) | (off & (size - 1));
            if (writable)
                *writable = w;
            return 0;
        }
        table = e & 0x0000fffffffff000ULL;
    }
    return HV_EINVAL;
}

static bool read_phys32(struct hv_vm *vm, uint64_t gpa, uint32_t *out)
{
    uint8_t *p = hv_vm_gpa_ptr(vm, gpa, 4);
    if (!p)
        return false;
    memcpy(out, p, 4);
    return true;
}

/*
 * AArch32 short-descriptor walk (ARM DDI 0406C B3.5), the Non-secure PL1 tables: TTBCR.N
 * picks TTBR0 or TTBR1; level 1 holds sections (1 MiB), supersections (16 MiB, the
 * extended-address bits ignored) and level-2 tables of 256 entries: large (64 KiB) and small
 * (4 KiB) pages. Writable at PL1 unless AP[2] is set or AP[1:0] is 0 (no access), except in a
 * Manager domain, which skips permission checks. The long-descriptor format (TTBCR.EAE) is not
 * walked. *level tells where a translation fault was found (1 or 2), or which level mapped.
 */
static int a32_walk(struct hv_vcpu *v, uint64_t va, uint64_t *gpa, bool *writable, int *level,
                    uint64_t *hole)
{
    uint32_t sctlr = a32_cp15_read(v->uc, 1, 0, 0, 0);
    *level = 0;
    va &= 0xffffffffULL;
    if (!(sctlr & 1)) {
        *gpa = va;
        if (writable)
            *writable = true;
        return 0;
    }
    uint32_t ttbcr = a32_cp15_read(v->uc, 2, 0, 0, 2);
    if (ttbcr & (1u << 31))
        return HV_EUNSUPP;
    unsigned n = ttbcr & 7;
    bool ttbr1 = n && (va >> (32 - n)) != 0;
    uint32_t ttbr = a32_cp15_read(v->uc, 2, 0, 0, ttbr1 ? 1 : 0);
    uint32_t base = ttbr1 ? (ttbr & ~0x3fffu) : (ttbr & ~((1u << (14 - n)) - 1));
    uint32_t index_mask = ttbr1 ? 0xfff : (0xfffu >> n);
    uint32_t dacr = a32_cp15_read(v->uc, 3, 0, 0, 0);
    uint32_t d1;
    *level = 1;
    uint32_t ea1 = base + ((uint32_t)(va >> 20) & index_mask) * 4;
    if (!read_phys32(v->vm, ea1, &d1)) {
        if (hole && !hv_vm_gpa_ptr(v->vm, ea1, 1))
            *hole = ea1;
        return HV_EINVAL;
    }
    if ((d1 & 3) == 0)
        return HV_EINVAL;
    unsigned domain = (d1 >> 5) & 15, ap2, ap10;
    if ((d1 & 3) == 1) {
        uint32_t d2;
        *level = 2;
        uint32_t ea2 = (d1 & 0xfffffc00u) + (uint32_t)((va >> 12) & 0xff) * 4;
        if (!read_phys32(v->vm, ea2, &d2)) {
            if (hole && !hv_vm_gpa_ptr(v->vm, ea2, 1))
                *hole = ea2;
            return HV_EINVAL;
        }
        if ((d2 & 3) == 0)
            return HV_EINVAL;
        if ((d2 & 3) == 1)
            *gpa = (d2 & 0xffff0000u) | (va & 0xffff);
        else
            *gpa = (d2 & 0xfffff000u) | (va & 0xfff);
        ap2 = (d2 >> 9) & 1;
        ap10 = (d2 >> 4) & 3;
    } else {
        if (d1 & (1u << 18)) /* supersection, domain 0 */
            *gpa = (d1 & 0xff000000u) | (va & 0xffffff), domain = 0;
        else
            *gpa = (d1 & 0xfff00000u) | (va & 0xfffff);
        ap2 = (d1 >> 15) & 1;
        ap10 = (d1 >> 10) & 3;
    }
    unsigned dom = (dacr >> (2 * domain)) & 3;
    if (dom == 0 || dom == 2)
        return HV_EINVAL; /* domain fault: no access */
    if (dom == 1 && ap10 == 0)
        return HV_EINVAL; /* permission fault: no access at PL1 */
    if (writable)
        *writable = dom == 3 || !ap2;
    return 0;
}

unsigned mem_a32_fault_status(struct hv_vcpu *v, uint64_t va)
{
    uint64_t gpa;
    int level;
    int err = a32_walk(v, va, &gpa, NULL, &level, NULL);
    if (level == 0)
        return 0x08; /* MMU off: a synchronous external abort */
    if (err == HV_EINVAL)
        return level == 1 ? 0x05 : 0x07; /* translation fault, section / page */
    return level == 1 ? 0x0d : 0x0f;     /* mapped: a permission fault */
}

static bool x86_paging(struct hv_vcpu *v)
{
    uint64_t cr0 = 0;
    uc_reg_read(v->uc, UC_X86_REG_CR0, &cr0);
    return (cr0 >> 31) & 1;
}

static int walk(struct hv_vcpu *v, uint64_t va, uint64_t *gpa, bool *writable, uint64_t *hole)
{
    switch (v->vm->arch) {
    case HV_ARCH_X86_64:
        if (!x86_paging(v)) {
            *gpa = va;
            if (writable)
                *writable = true;
            return 0;
        }
        uint64_t cr3 = 0;
        uc_reg_read(v->uc, UC_X86_REG_CR3, &cr3);
        return x86_walk(v->vm, cr3, va, gpa, writable, hole);
    case HV_ARCH_AARCH64:
        return a64_walk(v, va, gpa, writable, hole);
    default: {
        int level;
        return a32_walk(v, va, gpa, writable, &level, hole) ? HV_EINVAL : 0;
    }
    }
}

int mem_walk(struct hv_vcpu *v, uint64_t va, uint64_t *gpa, bool *writable)
{
    return walk(v, va, gpa, writable, NULL);
}

bool mem_fetch_unbacked(struct hv_vcpu *v, uint64_t va, uint64_t *gpa)
{
    uint64_t hole = UINT64_MAX;
    if (walk(v, va, gpa, NULL, &hole) != 0) {
        *gpa = hole;
        return hole != UINT64_MAX;
    }
    return vm_region_find(v->vm, *gpa) == NULL;
}

/* Removes one piece from the engine (and frees its MMIO user data). */
static void unmap_piece(struct hv_vcpu *v, const struct hv_run *r, bool unmap)
{
    if (unmap)
        uc_mem_unmap(v->uc, r->va, r->size);
    free(r->mmio);
}

/* Forgets the engine map; with unmap, also removes it from the engine (not needed when the
 * engine is being closed: unmapping a large MMIO hole costs time per page). */
static void mem_forget(struct hv_vcpu *v, bool unmap)
{
    for (size_t i = 0; i < v->nruns; i++)
        unmap_piece(v, &v->runs[i], unmap);
    free(v->runs);
    v->runs = NULL;
    v->nruns = 0;
}

void mem_unmap_all(struct hv_vcpu *v)
{
    mem_forget(v, false);
}

static int pieces_push(struct hv_run **p, size_t *n, size_t *cap, const struct hv_run *r)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct hv_run *nr = realloc(*p, nc * sizeof *nr);
        if (!nr)
            return HV_ENOMEM;
        *p = nr;
        *cap = nc;
    }
    (*p)[(*n)++] = *r;
    return 0;
}

/* Splits a va -> gpa run at RAM region boundaries into pieces: RAM (host set) or MMIO. */
static int split_run(struct hv_vm *vm, const struct hv_run *r, struct hv_run **out, size_t *n,
                     size_t *cap)
{
    uint64_t va = r->va, gpa = r->gpa, left = r->size;
    while (left) {
        struct hv_region *reg = NULL;
        uint64_t piece = left;
        size_t i = vm_region_above(vm, gpa); /* the region holding gpa, or the next one */
        if (i < vm->nregions) {
            struct hv_region *g = &vm->regions[i];
            if (gpa >= g->gpa) {
                reg = g;
                piece = g->gpa + g->size - gpa;
            } else if (g->gpa - gpa < piece) {
                piece = g->gpa - gpa;
            }
        }
        if (piece > left)
            piece = left;
        struct hv_run p = { .va = va, .gpa = gpa, .size = piece, .writable = r->writable,
                            .host = reg ? reg->host + (gpa - reg->gpa) : NULL,
                            .readonly = reg && reg->readonly };
        int err = pieces_push(out, n, cap, &p);
        if (err)
            return err;
        va += piece;
        gpa += piece;
        left -= piece;
    }
    return 0;
}

static bool same_piece(const struct hv_run *a, const struct hv_run *b)
{
    return a->va == b->va && a->gpa == b->gpa && a->size == b->size && a->host == b->host &&
           a->readonly == b->readonly;
}

/* Maps one piece into the engine; fills p->mmio for an MMIO piece. */
static int map_piece(struct hv_vcpu *v, struct hv_run *p)
{
    uc_err e;
    if (p->host) {
        /* Permissions come from the guest's own tables (Unicorn's walk checks them on x86,
         * its MMU on aarch64), so the engine maps RAM with every permission. */
        e = uc_mem_map_ptr(v->uc, p->va, p->size, UC_PROT_ALL, p->host);
        /* Read-only through uc_mem_protect: unlike the map's own perms, it also marks the
         * memory region read-only, so a store the write-protect hook accepts is dropped
         * instead of reaching the buffer. */
        if (e == UC_ERR_OK && p->readonly)
            e = uc_mem_protect(v->uc, p->va, p->size, UC_PROT_READ | UC_PROT_EXEC);
    } else {
        p->mmio = malloc(sizeof *p->mmio);
        if (!p->mmio)
            return HV_ENOMEM;
        *p->mmio = (struct hv_mmio_map){ v, p->va, p->gpa, p->size };
        e = uc_mmio_map(v->uc, p->va, p->size, vcpu_mmio_read, p->mmio, vcpu_mmio_write,
                        p->mmio);
    }
    return e == UC_ERR_OK ? 0 : vm_err_uc(e, "mapping guest memory");
}

static int run_cmp(const void *a, const void *b)
{
    const struct hv_run *x = a, *y = b;
    return (x->va > y->va) - (x->va < y->va);
}

/*
 * Makes the engine map exactly `want` (pieces, sorted by va), touching only what differs.
 * Unicorn unmaps a region one page at a time, and splitting a region unmaps all of it: the
 * hole next to a changed memslot can be most of the address space (a 1 TiB IPA hole takes
 * minutes). So pieces that stay the same stay mapped, and when more than MEM_UNMAP_MAX_PAGES
 * pages would go, the vCPU gets a new engine instead (vcpu_reopen(), about a millisecond) and
 * every piece is mapped afresh: a change costs time in proportion to what changed, bounded by
 * a new engine, never to the size of the address space. Takes ownership of want.
 */
static int apply_pieces(struct hv_vcpu *v, struct hv_run *want, size_t nwant, bool *changed)
{
    *changed = false;
    /* pieces added by mem_fault_in() are appended out of order */
    if (v->nruns > 1)
        qsort(v->runs, v->nruns, sizeof *v->runs, run_cmp);
    uint64_t drop = 0;
    for (size_t i = 0, j = 0; i < v->nruns; i++) {
        struct hv_run *old = &v->runs[i];
        while (j < nwant && want[j].va < old->va)
            j++;
        old->kept = j < nwant && same_piece(old, &want[j]);
        if (old->kept) {
            want[j].mmio = old->mmio; /* kept as it is */
            want[j].kept = true;
            j++;
        } else {
            drop += old->size / PAGE;
            *changed = true;
        }
    }
    bool reopen = drop > MEM_UNMAP_MAX_PAGES;
    int err = reopen ? vcpu_reopen(v) : 0;
    if (err)
        reopen = false; /* the old engine stays: unmap piece by piece after all */
    for (size_t i = 0; i < v->nruns; i++) {
        struct hv_run *old = &v->runs[i];
        if (!old->kept)
            unmap_piece(v, old, !reopen);
        else if (reopen)
            free(old->mmio); /* mapped again below, with new user data */
    }
    free(v->runs);
    v->runs = want;
    v->nruns = nwant;
    for (size_t j = 0; j < nwant; j++) {
        bool was_kept = want[j].kept;
        want[j].kept = false;
        if (was_kept && !reopen)
            continue;
        if (!was_kept)
            *changed = true;
        want[j].mmio = NULL;
        if (!err)
            err = map_piece(v, &want[j]);
    }
    return err;
}

int mem_remap(struct hv_vcpu *v, const char *why)
{
    struct hv_vm *vm = v->vm;
    struct hv_run *want = NULL, *pieces = NULL;
    size_t nwant = 0, cap = 0, npieces = 0, pcap = 0;
    int err = 0;
    bool paging = vm->arch == HV_ARCH_X86_64 && x86_paging(v);
    uint64_t root = 0;
    if (paging) {
        uc_reg_read(v->uc, UC_X86_REG_CR3, &root);
        err = x86_enum(vm, root, 4, 0, true, &want, &nwant, &cap);
    } else {
        uint64_t limit = vm->arch == HV_ARCH_AARCH64 ? HV_PA_LIMIT_ARM64
                         : vm->arch == HV_ARCH_ARM   ? HV_PA_LIMIT_ARM
                                                     : HV_PA_LIMIT_X86;
        err = runs_push(&want, &nwant, &cap, 0, 0, limit, true);
    }
    for (size_t i = 0; !err && i < nwant; i++)
        err = split_run(vm, &want[i], &pieces, &npieces, &pcap);
    free(want);
    if (err) {
        free(pieces);
        return err;
    }
    bool changed;
    err = apply_pieces(v, pieces, npieces, &changed);
    v->paging = paging;
    v->root = root;
    v->remap_pending = false;
    if (err || !changed)
        return err;
    /* Translated blocks are keyed by physical page, so remapped code is retranslated by
     * itself; only the block table (pc -> instruction count) must be rebuilt. */
    blk_clear(&v->blocks);
    v->last_blk = NULL;
    if (vm->started) {
        /* where the vCPU resumes: after a stop inside a block the engine's own pc is stale,
         * and what it holds depends on Unicorn's translation cache (a new engine's differs) */
        uint64_t pc = v->resume_valid ? v->resume_pc : vcpu_read_pc(v);
        struct hv_ev_paging ev = { .root = root, .runs = v->nruns, .why = why };
        err = vm_emit(vm, (int32_t)v->id, v->icount, pc, HV_EV_paging, &ev);
    }
    return err;
}

/* Adds one page to the engine map from inside a memory hook (see hook_unmapped). */
int mem_fault_in(struct hv_vcpu *v, const struct hv_run *r)
{
    struct hv_run *pieces = NULL;
    size_t n = 0, cap = 0;
    int err = split_run(v->vm, r, &pieces, &n, &cap);
    for (size_t i = 0; !err && i < n; i++) {
        err = map_piece(v, &pieces[i]);
        if (!err) {
            size_t rcap = v->nruns;
            err = pieces_push(&v->runs, &v->nruns, &rcap, &pieces[i]);
        }
    }
    free(pieces);
    return err;
}

const struct hv_run *mem_run_at(const struct hv_vcpu *v, uint64_t va)
{
    size_t lo = 0, hi = v->nruns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct hv_run *r = &v->runs[mid];
        if (va < r->va)
            hi = mid;
        else if (va - r->va >= r->size)
            lo = mid + 1;
        else
            return r;
    }
    /* runs added by faults are appended out of order */
    for (size_t i = 0; i < v->nruns; i++)
        if (va >= v->runs[i].va && va - v->runs[i].va < v->runs[i].size)
            return &v->runs[i];
    return NULL;
}
