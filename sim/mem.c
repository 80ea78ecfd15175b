/*
 * mem.c - what each vCPU's engine maps, and guest page-table walks.
 *
 * Unicorn has one flat address space per engine. hvsim fills it so that the guest sees its
 * own view of guest-physical memory:
 *   - aarch64 (and x86_64 before paging is on): the physical layout. RAM regions are the
 *     host buffers at their GPA (uc_mem_map_ptr); every hole below the PA limit is an MMIO
 *     region whose accesses become exits. On aarch64 Unicorn's MMU translates VA->PA itself;
 *     it only needs the VA to be mapped too, which the hole regions guarantee below the limit.
 *   - x86_64 with paging on: a shadow of the vCPU's page tables, because Unicorn 2.0.1 uses
 *     the virtual address as the physical one. Each present VA run is mapped to the host
 *     buffer (or MMIO) of the GPA its PTEs name. Unicorn still walks the tables for presence
 *     and permission checks, reading them at their GPA as a VA, hence the guest rule that
 *     page-table pages are identity-mapped (scenarios/lib/README.md).
 *
 * Invariants:
 *   1. v->runs lists exactly what is mapped in v->uc (RAM and MMIO pieces), sorted by va.
 *   2. v->mmio holds the user data of every MMIO piece, freed when it is unmapped.
 *   3. mem_remap() is called only outside uc_emu_start, except the single-page additions of
 *      mem_fault_in().
 */
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"


#define PAGE 4096ULL

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
    (*runs)[(*n)++] = (struct hv_run){ va, gpa, size, w };
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

static int x86_walk(struct hv_vm *vm, uint64_t cr3, uint64_t va, uint64_t *gpa, bool *writable)
{
    if (canon(va) != va)
        return HV_EINVAL; /* non-canonical: #GP on hardware, never translated */
    uint64_t table = cr3;
    bool w = true;
    for (int level = 4; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        uint64_t e;
        if (!read_phys64(vm, (table & X86_ADDR) + ((va >> shift) & 511) * 8, &e))
            return HV_EINVAL;
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
static int a64_walk(struct hv_vcpu *v, uint64_t va, uint64_t *gpa, bool *writable)
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
        uint64_t e;
        if (!read_phys64(v->vm, table + ((off >> shift) & 511) * 8, &e) || !(e & 1))
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

static bool x86_paging(struct hv_vcpu *v)
{
    uint64_t cr0 = 0;
    uc_reg_read(v->uc, UC_X86_REG_CR0, &cr0);
    return (cr0 >> 31) & 1;
}

int mem_walk(struct hv_vcpu *v, uint64_t va, uint64_t *gpa, bool *writable)
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
        return x86_walk(v->vm, cr3, va, gpa, writable);
    case HV_ARCH_AARCH64:
        return a64_walk(v, va, gpa, writable);
    default:
        *gpa = va & 0xffffffffULL;
        if (writable)
            *writable = true;
        return 0;
    }
}

/* Forgets the engine map; with unmap, also removes it from the engine (not needed when the
 * engine is being closed: unmapping a large MMIO hole costs time per page). */
static void mem_forget(struct hv_vcpu *v, bool unmap)
{
    for (size_t i = 0; unmap && i < v->nruns; i++)
        uc_mem_unmap(v->uc, v->runs[i].va, v->runs[i].size);
    for (size_t i = 0; i < v->nmmio; i++)
        free(v->mmio[i]);
    free(v->mmio);
    v->mmio = NULL;
    v->nmmio = 0;
    free(v->runs);
    v->runs = NULL;
    v->nruns = 0;
}

void mem_unmap_all(struct hv_vcpu *v)
{
    mem_forget(v, false);
}

/* Maps [va, va+size) -> [gpa, ...) in v's engine, split at RAM region boundaries. */
static int map_run(struct hv_vcpu *v, const struct hv_run *r, size_t *cap)
{
    struct hv_vm *vm = v->vm;
    uint64_t va = r->va, gpa = r->gpa, left = r->size;
    while (left) {
        struct hv_region *reg = NULL;
        uint64_t piece = left;
        for (size_t i = 0; i < vm->nregions; i++) {
            struct hv_region *g = &vm->regions[i];
            if (gpa >= g->gpa && gpa < g->gpa + g->size) {
                reg = g;
                piece = g->gpa + g->size - gpa;
                break;
            }
            if (g->gpa > gpa && g->gpa - gpa < piece)
                piece = g->gpa - gpa;
        }
        if (piece > left)
            piece = left;
        uc_err e;
        if (reg) {
            /* Permissions come from the guest's own tables (Unicorn's walk checks them on x86,
             * its MMU on aarch64), so the engine maps RAM with every permission. */
            e = uc_mem_map_ptr(v->uc, va, piece, UC_PROT_ALL, reg->host + (gpa - reg->gpa));
            /* Read-only through uc_mem_protect: unlike the map's own perms, it also marks
             * the memory region read-only, so a store the write-protect hook accepts is
             * dropped instead of reaching the buffer. */
            if (e == UC_ERR_OK && reg->readonly)
                e = uc_mem_protect(v->uc, va, piece, UC_PROT_READ | UC_PROT_EXEC);
        } else {
            struct hv_mmio_map *m = malloc(sizeof *m);
            if (!m)
                return HV_ENOMEM;
            *m = (struct hv_mmio_map){ v, va, gpa, piece };
            struct hv_mmio_map **nm = realloc(v->mmio, (v->nmmio + 1) * sizeof *nm);
            if (!nm) {
                free(m);
                return HV_ENOMEM;
            }
            v->mmio = nm;
            v->mmio[v->nmmio++] = m;
            e = uc_mmio_map(v->uc, va, piece, vcpu_mmio_read, m, vcpu_mmio_write, m);
        }
        if (e != UC_ERR_OK)
            return vm_err_uc(e, "mapping guest memory");
        /* one entry per mapped piece, never merged, so unmapping matches mapping */
        if (v->nruns == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            struct hv_run *nr = realloc(v->runs, nc * sizeof *nr);
            if (!nr)
                return HV_ENOMEM;
            v->runs = nr;
            *cap = nc;
        }
        v->runs[v->nruns++] = (struct hv_run){ va, gpa, piece, r->writable };
        va += piece;
        gpa += piece;
        left -= piece;
    }
    return 0;
}

/* True if mapping `want` would give exactly the pieces already mapped. */
static bool same_layout(struct hv_vcpu *v, const struct hv_run *want, size_t nwant)
{
    size_t k = 0;
    for (size_t i = 0; i < nwant; i++) {
        uint64_t va = want[i].va, gpa = want[i].gpa, left = want[i].size;
        while (left) {
            if (k >= v->nruns || v->runs[k].va != va || v->runs[k].gpa != gpa ||
                v->runs[k].size > left)
                return false;
            va += v->runs[k].size;
            gpa += v->runs[k].size;
            left -= v->runs[k].size;
            k++;
        }
    }
    return k == v->nruns && v->vm->regions_gen == v->regions_gen;
}

int mem_remap(struct hv_vcpu *v, const char *why)
{
    struct hv_vm *vm = v->vm;
    struct hv_run *want = NULL;
    size_t nwant = 0, cap = 0;
    int err = 0;
    bool paging = vm->arch == HV_ARCH_X86_64 && x86_paging(v);
    uint64_t root = 0;
    if (paging) {
        uc_reg_read(v->uc, UC_X86_REG_CR3, &root);
        err = x86_enum(vm, root, 4, 0, true, &want, &nwant, &cap);
    } else {
        uint64_t limit = vm->arch == HV_ARCH_AARCH64 ? HV_PA_LIMIT_ARM64 : HV_PA_LIMIT_X86;
        err = runs_push(&want, &nwant, &cap, 0, 0, limit, true);
    }
    if (err)
        goto out;
    /* Nothing changed (the common case for a CR3 reload): keep the engine map as it is. */
    if (same_layout(v, want, nwant)) {
        v->remap_pending = false;
        v->paging = paging;
        v->root = root;
        goto out;
    }
    mem_forget(v, true);
    size_t rcap = 0;
    for (size_t i = 0; i < nwant; i++) {
        err = map_run(v, &want[i], &rcap);
        if (err)
            goto out;
    }
    v->paging = paging;
    v->root = root;
    v->remap_pending = false;
    v->regions_gen = vm->regions_gen;
    /* Translated blocks are keyed by physical page, so remapped code is retranslated by
     * itself; only the block table (pc -> instruction count) must be rebuilt. */
    blk_clear(&v->blocks);
    if (vm->started) {
        struct hv_ev_paging ev = { .root = root, .runs = v->nruns, .why = why };
        err = vm_emit(vm, (int32_t)v->id, v->icount, vcpu_read_pc(v), HV_EV_paging, &ev);
    }
out:
    free(want);
    return err;
}

/* Adds one page to the engine map from inside a memory hook (see hook_unmapped). */
int mem_fault_in(struct hv_vcpu *v, const struct hv_run *r)
{
    size_t cap = v->nruns; /* forces map_run to grow the array on the first append */
    return map_run(v, r, &cap);
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
