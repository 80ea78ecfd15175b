/*
 * test_memory.c - guest physical memory (hv_vm_add_ram, hv_vm_gpa_ptr, hv_vm_read_gpa,
 * hv_vm_write_gpa in sim/vm.c) and guest page-table walks (hv_vcpu_gva_to_gpa,
 * hv_vcpu_read_gva through sim/mem.c).
 *
 * The VMs use a model defined here whose vm_init adds no RAM, so every row controls the whole
 * layout. Page tables are written into guest RAM by hand; the vCPU never runs, the walks only
 * read the tables through sim/.
 *
 * x86_64 turns paging on through the register API (cr3, cr4.PAE, cr0.PG). AArch64 has no
 * register names for SCTLR_EL1, TCR_EL1 and TTBR0/1_EL1, so its rows write them through the
 * vCPU's engine (struct hv_vcpu from sim/sim_int.h) with the Unicorn calls sim/mem.c reads
 * them with. arm writes SCTLR, TTBCR, TTBR0/1 and DACR by name, the names hvsim offers for
 * them.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tests/test_util.h"
#include "sim/model.h"
#include "sim/sim_int.h"

void test_memory_register(void);

#define TM_N(a) (sizeof(a) / sizeof((a)[0]))

#define TM_CHECK(cond, ...) TEST_CHECK((cond), __VA_ARGS__)

/* ---- a VM without RAM ---------------------------------------------------------------------- */

static int tm_bare_init(struct hv_vm *vm, const struct hv_node *mem, const struct hv_node *vmm)
{
    (void)vm;
    (void)mem;
    (void)vmm;
    return 0;
}

static const struct hv_model_ops tm_bare = {
    .name = "test-bare",
    .summary = "no RAM until the test adds it",
    .vm_init = tm_bare_init,
};

static struct hv_vm *tm_vm(enum hv_arch arch)
{
    struct hv_vm_config cfg = { .arch = arch, .nr_vcpus = 1, .seed = 1, .quantum = 100,
                                .limit = 1000, .model = &tm_bare };
    struct hv_vm *vm = NULL;
    int err = hv_vm_create(&vm, &cfg);
    TM_CHECK(err == 0 && vm, "creating a %s VM: %s (%s)", hv_arch_name(arch),
             hv_err_name(err), hv_error_detail());
    return vm;
}

static int tm_add_ram_raw(struct hv_vm *vm, uint64_t gpa, uint64_t size)
{
    return hv_vm_add_ram(vm, gpa, size);
}

static void tm_add_ram(struct hv_vm *vm, uint64_t gpa, uint64_t size)
{
    int err = tm_add_ram_raw(vm, gpa, size);
    TM_CHECK(err == 0, "add_ram(0x%" PRIx64 ", 0x%" PRIx64 "): %s (%s)", gpa, size,
             hv_err_name(err), hv_error_detail());
}

static void tm_write64(struct hv_vm *vm, uint64_t gpa, uint64_t val)
{
    int err = hv_vm_write_gpa(vm, gpa, &val, sizeof val);
    TM_CHECK(err == 0, "write_gpa(0x%" PRIx64 "): %s", gpa, hv_err_name(err));
}

static void tm_set_reg(struct hv_vcpu *v, const char *name, uint64_t val)
{
    int err = hv_vcpu_set_reg_by_name(v, name, val);
    TM_CHECK(err == 0, "set %s: %s", name, hv_err_name(err));
}

static uint64_t tm_reg(struct hv_vcpu *v, const char *name)
{
    uint64_t val = 0;
    int err = hv_vcpu_reg_by_name(v, name, &val);
    TM_CHECK(err == 0, "read %s: %s", name, hv_err_name(err));
    return val;
}

/* ---- hv_vm_add_ram ------------------------------------------------------------------------ */

static void test_add_ram_rules(void)
{
    /* Applied in order to one VM: each row sees the regions the rows before it added. */
    static const struct {
        const char *name;
        uint64_t gpa, size;
        int err;
    } rows[] = {
        { "first region", 0x10000, 0x10000, 0 },
        { "adjacent above", 0x20000, 0x10000, 0 },
        { "adjacent below", 0x0, 0x10000, 0 },
        { "after a hole", 0x40000, 0x1000, 0 },
        { "between two regions", 0x31000, 0x1000, 0 },
        { "zero size", 0x50000, 0, HV_EINVAL },
        { "unaligned gpa", 0x50800, 0x1000, HV_EINVAL },
        { "unaligned size", 0x50000, 0x800, HV_EINVAL },
        { "gpa and size unaligned", 0x50001, 0xfff, HV_EINVAL },
        { "same as an existing region", 0x10000, 0x10000, HV_EINVAL },
        { "inside a region", 0x18000, 0x1000, HV_EINVAL },
        { "over the start of a region", 0x3f000, 0x2000, HV_EINVAL },
        { "over the end of a region", 0x2f000, 0x2000, HV_EINVAL },
        { "covering several regions", 0x0, 0x100000, HV_EINVAL },
        { "filling the hole exactly", 0x30000, 0x1000, 0 },
        { "wrapping past 2^64", 0xfffffffffffff000ULL, 0x2000, HV_EINVAL },
        { "ending exactly at 2^64", 0xfffffffffffff000ULL, 0x1000, HV_EINVAL },
        { "larger than 16 GiB", 1ULL << 40, (1ULL << 34) + 0x1000, HV_ELIMIT },
    };
    struct hv_vm *vm = tm_vm(HV_ARCH_X86_64);
    if (!vm)
        return;
    for (size_t i = 0; i < TM_N(rows); i++) {
        int err = tm_add_ram_raw(vm, rows[i].gpa, rows[i].size);
        TM_CHECK(err == rows[i].err, "%s: add_ram(0x%" PRIx64 ", 0x%" PRIx64 ") gave %s, "
                 "expected %s", rows[i].name, rows[i].gpa, rows[i].size, hv_err_name(err),
                 hv_err_name(rows[i].err));
    }
    /* The accepted regions, sorted and disjoint (vm.c invariant 2), each found by lookup. */
    static const struct {
        uint64_t gpa, size;
    } want[] = { { 0x0, 0x10000 }, { 0x10000, 0x10000 }, { 0x20000, 0x10000 },
                 { 0x30000, 0x1000 }, { 0x31000, 0x1000 }, { 0x40000, 0x1000 } };
    TM_CHECK(vm->nregions == TM_N(want), "%zu regions", vm->nregions);
    for (size_t i = 0; i < TM_N(want) && i < vm->nregions; i++) {
        TM_CHECK(vm->regions[i].gpa == want[i].gpa && vm->regions[i].size == want[i].size,
                 "region %zu is [0x%" PRIx64 ", +0x%" PRIx64 ")", i, vm->regions[i].gpa,
                 vm->regions[i].size);
        TM_CHECK(hv_vm_gpa_ptr(vm, want[i].gpa, want[i].size) == vm->regions[i].host,
                 "region %zu not found by gpa_ptr", i);
        uint8_t zero[64], got[64];
        memset(zero, 0, sizeof zero);
        TM_CHECK(hv_vm_read_gpa(vm, want[i].gpa + want[i].size - sizeof got, got,
                                sizeof got) == 0 &&
                 memcmp(got, zero, sizeof got) == 0, "region %zu is not zeroed", i);
    }
    hv_vm_destroy(vm);
}

/* ---- gpa_ptr, read_gpa, write_gpa ---------------------------------------------------------- */

/* A = [0, 0x10000), B = [0x10000, 0x20000) adjacent, a hole, C = [0x30000, 0x31000). */
static struct hv_vm *tm_layout(void)
{
    struct hv_vm *vm = tm_vm(HV_ARCH_X86_64);
    if (!vm)
        return NULL;
    tm_add_ram(vm, 0x30000, 0x1000);
    tm_add_ram(vm, 0x10000, 0x10000);
    tm_add_ram(vm, 0x0, 0x10000);
    return vm;
}

static void test_gpa_ptr(void)
{
    static const struct {
        const char *name;
        uint64_t gpa, len;
        int region;        /* which region holds it all: 0 A, 1 B, 2 C; -1 none */
    } rows[] = {
        { "all of A", 0x0, 0x10000, 0 },
        { "last bytes of A", 0xfff0, 0x10, 0 },
        { "A into B", 0xfff0, 0x11, -1 },
        { "first byte of B", 0x10000, 1, 1 },
        { "all of B", 0x10000, 0x10000, 1 },
        { "B into the hole", 0x1ffff, 2, -1 },
        { "in the hole", 0x20000, 1, -1 },
        { "last byte of C", 0x30fff, 1, 2 },
        { "just past C", 0x31000, 1, -1 },
        { "empty range inside A", 0x100, 0, 0 },
        { "length near 2^64", 0x0, UINT64_MAX, -1 },
        { "gpa near 2^64", UINT64_MAX, 1, -1 },
    };
    static const uint64_t starts[] = { 0x0, 0x10000, 0x30000 };
    struct hv_vm *vm = tm_layout();
    if (!vm)
        return;
    uint8_t *base[3];
    for (size_t r = 0; r < 3; r++)
        base[r] = hv_vm_gpa_ptr(vm, starts[r], 1);
    CU_ASSERT_FATAL(base[0] && base[1] && base[2]);
    for (size_t i = 0; i < TM_N(rows); i++) {
        uint8_t *p = hv_vm_gpa_ptr(vm, rows[i].gpa, rows[i].len);
        if (rows[i].region < 0)
            TM_CHECK(p == NULL, "%s: expected NULL", rows[i].name);
        else
            TM_CHECK(p == base[rows[i].region] + (rows[i].gpa - starts[rows[i].region]),
                     "%s: wrong host pointer", rows[i].name);
    }
    hv_vm_destroy(vm);
}

static void test_read_write(void)
{
    struct hv_vm *vm = tm_layout();
    if (!vm)
        return;
    uint8_t *a = hv_vm_gpa_ptr(vm, 0xfff0, 0x10), *b = hv_vm_gpa_ptr(vm, 0x10000, 0x10);
    CU_ASSERT_FATAL(a && b);

    /* within one region, then across the A/B boundary */
    uint8_t buf[32], got[32];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(0x80 + i);
    TM_CHECK(hv_vm_write_gpa(vm, 0x30100, buf, sizeof buf) == 0, "write inside C");
    TM_CHECK(memcmp(hv_vm_gpa_ptr(vm, 0x30100, 32), buf, 32) == 0, "C's bytes");
    TM_CHECK(hv_vm_write_gpa(vm, 0xfff0, buf, sizeof buf) == 0, "write across A and B");
    TM_CHECK(memcmp(a, buf, 16) == 0 && memcmp(b, buf + 16, 16) == 0,
             "bytes across A and B landed in the wrong place");
    memset(got, 0, sizeof got);
    TM_CHECK(hv_vm_read_gpa(vm, 0xfff0, got, sizeof got) == 0, "read across A and B");
    TM_CHECK(memcmp(got, buf, sizeof got) == 0, "read across A and B: wrong bytes");

    /* any unbacked byte is an error */
    static const struct {
        const char *name;
        uint64_t gpa;
        size_t len;
        int err;
    } rows[] = {
        { "inside the hole", 0x20000, 8, HV_EINVAL },
        { "B into the hole", 0x1fff8, 16, HV_EINVAL },
        { "hole into C", 0x2fff8, 16, HV_EINVAL },
        { "past C", 0x30ff8, 16, HV_EINVAL },
        { "far above", 1ULL << 40, 1, HV_EINVAL },
        { "empty, in the hole", 0x20000, 0, 0 },
        { "A, B and their boundary", 0x0, 0x20000, 0 },
    };
    static uint8_t big[0x20000];
    for (size_t i = 0; i < TM_N(rows); i++) {
        int r = hv_vm_read_gpa(vm, rows[i].gpa, big, rows[i].len);
        int w = hv_vm_write_gpa(vm, rows[i].gpa, big, rows[i].len);
        TM_CHECK(r == rows[i].err && w == rows[i].err, "%s: read %s, write %s, expected %s",
                 rows[i].name, hv_err_name(r), hv_err_name(w), hv_err_name(rows[i].err));
    }
    hv_vm_destroy(vm);
}

/* ---- x86-64 page walk ---------------------------------------------------------------------- */

#define X_P  0x1ULL
#define X_W  0x2ULL
#define X_PS 0x80ULL

/* Tables in RAM [0, 4 MiB): PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000, high PDPT 0x5000,
 * a read-only PD 0x6000. */
static void tm_x86_tables(struct hv_vm *vm)
{
    static const struct {
        uint64_t at, val;
    } e[] = {
        { 0x1000 + 0 * 8, 0x2000 | X_P | X_W },            /* PML4[0] -> PDPT */
        { 0x1000 + 511 * 8, 0x5000 | X_P | X_W },          /* PML4[511] -> high PDPT */
        { 0x2000 + 0 * 8, 0x3000 | X_P | X_W },            /* PDPT[0] -> PD */
        { 0x2000 + 1 * 8, 0x0 | X_P | X_W | X_PS },        /* PDPT[1]: 1 GiB -> 0 */
        { 0x2000 + 3 * 8, 0x6000 | X_P },                  /* PDPT[3] -> PD, read-only */
        { 0x2000 + 4 * 8, 0x40000000 | X_P | X_PS },       /* PDPT[4]: 1 GiB, read-only */
        { 0x3000 + 0 * 8, 0x4000 | X_P | X_W },            /* PD[0] -> PT */
        { 0x3000 + 1 * 8, 0x0 | X_P | X_W | X_PS },        /* PD[1]: 2 MiB -> 0 */
        { 0x3000 + 3 * 8, 0x200000 | X_P | X_PS },         /* PD[3]: 2 MiB, read-only */
        { 0x3000 + 4 * 8, 0x10000000 | X_P | X_W },        /* PD[4] -> PT outside RAM */
        { 0x4000 + 5 * 8, 0x9000 | X_P | X_W },            /* PT[5]: 4 KiB -> 0x9000 */
        { 0x4000 + 6 * 8, 0xa000 | X_P },                  /* PT[6]: 4 KiB, read-only */
        { 0x4000 + 8 * 8, 0xb000 | X_W },                  /* PT[8]: not present */
        { 0x5000 + 510 * 8, 0x0 | X_P | X_W | X_PS },      /* high PDPT[510]: 1 GiB -> 0 */
        { 0x6000 + 0 * 8, 0x200000 | X_P | X_W | X_PS },   /* 2 MiB, writable under r/o PD */
    };
    for (size_t i = 0; i < TM_N(e); i++)
        tm_write64(vm, e[i].at, e[i].val);
}

static const struct {
    const char *name;
    uint64_t gva;
    int err;
    uint64_t gpa;
    bool writable;
} tm_x86_walks[] = {
    { "4 KiB page", 0x5123, 0, 0x9123, true },
    { "4 KiB page, last byte", 0x5fff, 0, 0x9fff, true },
    { "4 KiB page, read-only PTE", 0x6008, 0, 0xa008, false },
    { "2 MiB page", 0x2abcde, 0, 0xabcde, true },
    { "2 MiB page, read-only PDE", 0x612345, 0, 0x212345, false },
    { "1 GiB page", 0x40000000 + 0x3456789, 0, 0x3456789, true },
    { "1 GiB page, read-only PDPTE", 0x100000000 + 0x1234, 0, 0x40001234, false },
    { "writable 2 MiB page under a read-only PDPTE", 0xc0000000 + 0x42, 0, 0x200042, false },
    { "high half, 1 GiB page", 0xffffffff80001234ULL, 0, 0x1234, true },
    { "not present: PML4E", 0x8000000000ULL, HV_EINVAL, 0, false },
    { "not present: PDPTE", 0x80000000, HV_EINVAL, 0, false },
    { "not present: PDE", 0x400000, HV_EINVAL, 0, false },
    { "not present: PTE (zero)", 0x7000, HV_EINVAL, 0, false },
    { "not present: PTE (P clear, other bits set)", 0x8000, HV_EINVAL, 0, false },
    { "not present: PTE 0", 0x0, HV_EINVAL, 0, false },
    { "page table outside RAM", 0x800000, HV_EINVAL, 0, false },
};

static void test_x86_walk(void)
{
    struct hv_vm *vm = tm_vm(HV_ARCH_X86_64);
    if (!vm)
        return;
    tm_add_ram(vm, 0x0, 0x400000);
    tm_x86_tables(vm);
    struct hv_vcpu *v = hv_vm_vcpu(vm, 0);

    /* paging off: identity, writable */
    uint64_t gpa = 0;
    bool w = false;
    TM_CHECK(hv_vcpu_gva_to_gpa(v, 0x6008, &gpa, &w) == 0 && gpa == 0x6008 && w,
             "paging off: 0x6008 -> 0x%" PRIx64 " %s", gpa, w ? "rw" : "ro");

    tm_set_reg(v, "cr3", 0x1000);
    tm_set_reg(v, "cr4", tm_reg(v, "cr4") | (1ULL << 5));            /* PAE */
    tm_set_reg(v, "cr0", tm_reg(v, "cr0") | (1ULL << 31) | 1);      /* PG | PE */
    TM_CHECK(tm_reg(v, "cr3") == 0x1000, "cr3 reads 0x%" PRIx64, tm_reg(v, "cr3"));
    TM_CHECK(tm_reg(v, "cr4") & (1ULL << 5), "cr4.PAE did not stick: 0x%" PRIx64,
             tm_reg(v, "cr4"));
    TM_CHECK(tm_reg(v, "cr0") & (1ULL << 31), "cr0.PG did not stick: 0x%" PRIx64,
             tm_reg(v, "cr0"));

    for (size_t i = 0; i < TM_N(tm_x86_walks); i++) {
        gpa = 0xdead;
        w = !tm_x86_walks[i].writable;
        int err = hv_vcpu_gva_to_gpa(v, tm_x86_walks[i].gva, &gpa, &w);
        TM_CHECK(err == tm_x86_walks[i].err, "%s: %s, expected %s", tm_x86_walks[i].name,
                 hv_err_name(err), hv_err_name(tm_x86_walks[i].err));
        if (err == 0 && tm_x86_walks[i].err == 0)
            TM_CHECK(gpa == tm_x86_walks[i].gpa && w == tm_x86_walks[i].writable,
                     "%s: 0x%" PRIx64 " -> 0x%" PRIx64 " %s, expected 0x%" PRIx64 " %s",
                     tm_x86_walks[i].name, tm_x86_walks[i].gva, gpa, w ? "rw" : "ro",
                     tm_x86_walks[i].gpa, tm_x86_walks[i].writable ? "rw" : "ro");
        /* writable is optional */
        if (tm_x86_walks[i].err == 0)
            TM_CHECK(hv_vcpu_gva_to_gpa(v, tm_x86_walks[i].gva, &gpa, NULL) == 0,
                     "%s: walk without writable", tm_x86_walks[i].name);
    }

    /* read_gva follows the tables page by page: VA 0x5ff8.. spans GPA 0x9ff8 and 0xa000 */
    uint8_t pat[16], got[16];
    for (size_t i = 0; i < 16; i++)
        pat[i] = (uint8_t)(0x30 + i);
    TM_CHECK(hv_vm_write_gpa(vm, 0x9ff8, pat, 8) == 0 && hv_vm_write_gpa(vm, 0xa000, pat + 8,
                                                                          8) == 0, "pattern");
    memset(got, 0, sizeof got);
    TM_CHECK(hv_vcpu_read_gva(v, 0x5ff8, got, sizeof got) == 0 &&
             memcmp(got, pat, sizeof got) == 0, "read_gva across two pages");
    TM_CHECK(hv_vcpu_read_gva(v, 0x6ff8, got, sizeof got) == HV_EINVAL,
             "read_gva into a not-present page");
    hv_vm_destroy(vm);
}

/* ---- AArch64 page walk --------------------------------------------------------------------- */

#define A_BASE  0x40000000ULL
#define A_VALID 0x1ULL
#define A_TABLE 0x3ULL          /* table (levels 0-2) or page (level 3) */
#define A_AF    (1ULL << 10)
#define A_RO    (1ULL << 7)     /* AP[2] */

static void tm_a64_sysreg(struct hv_vcpu *v, uint32_t op0, uint32_t op1, uint32_t crn,
                          uint32_t crm, uint32_t op2, uint64_t val)
{
    uc_arm64_cp_reg r = { .crn = crn, .crm = crm, .op0 = op0, .op1 = op1, .op2 = op2,
                          .val = val };
    TM_CHECK(uc_reg_write(v->uc, UC_ARM64_REG_CP_REG, &r) == UC_ERR_OK,
             "write sysreg S%u_%u_C%u_C%u_%u", op0, op1, crn, crm, op2);
    uc_arm64_cp_reg back = { .crn = crn, .crm = crm, .op0 = op0, .op1 = op1, .op2 = op2 };
    uc_reg_read(v->uc, UC_ARM64_REG_CP_REG, &back);
    TM_CHECK(back.val == val, "sysreg S%u_%u_C%u_C%u_%u reads 0x%" PRIx64 " after writing 0x%"
             PRIx64, op0, op1, crn, crm, op2, back.val, val);
}

static void tm_a64_reg(struct hv_vcpu *v, int id, uint64_t val)
{
    TM_CHECK(uc_reg_write(v->uc, id, &val) == UC_ERR_OK, "write register %d", id);
}

/*
 * RAM [A_BASE, +4 MiB). L0 at +0x1000 (used with T0SZ 16), L1 at +0x2000 (the start level
 * with T0SZ 25), L2 at +0x3000, L3 at +0x4000.
 */
static void tm_a64_tables(struct hv_vm *vm)
{
    static const struct {
        uint64_t at, val;
    } e[] = {
        { 0x1000 + 0 * 8, (A_BASE + 0x2000) | A_TABLE },            /* L0[0] -> L1 */
        { 0x2000 + 0 * 8, A_BASE | A_VALID | A_AF },                /* L1[0]: 1 GiB block */
        { 0x2000 + 1 * 8, (A_BASE + 0x3000) | A_TABLE },            /* L1[1] -> L2 */
        { 0x2000 + 3 * 8, A_BASE | A_VALID | A_AF | A_RO },         /* L1[3]: 1 GiB, r/o */
        { 0x3000 + 0 * 8, (A_BASE + 0x4000) | A_TABLE },            /* L2[0] -> L3 */
        { 0x3000 + 1 * 8, A_BASE | A_VALID | A_AF },                /* L2[1]: 2 MiB block */
        { 0x3000 + 3 * 8, (A_BASE + 0x200000) | A_VALID | A_AF | A_RO }, /* 2 MiB, r/o */
        { 0x4000 + 5 * 8, (A_BASE + 0x9000) | A_TABLE | A_AF },     /* L3[5]: 4 KiB page */
        { 0x4000 + 6 * 8, (A_BASE + 0xa000) | A_TABLE | A_AF | A_RO }, /* 4 KiB, r/o */
        { 0x4000 + 7 * 8, (A_BASE + 0xb000) | A_VALID | A_AF },     /* L3: reserved encoding */
        { 0x4000 + 8 * 8, (A_BASE + 0xc000) | A_AF | 0x2 },         /* L3: not valid */
    };
    for (size_t i = 0; i < TM_N(e); i++)
        tm_write64(vm, A_BASE + e[i].at, e[i].val);
}

static void test_a64_walk(void)
{
    static const struct {
        const char *name;
        unsigned t0sz;     /* TCR_EL1.T0SZ (T1SZ is 25 in every row) */
        uint64_t gva;
        int err;
        uint64_t gpa;
        bool writable;
    } rows[] = {
        { "4 KiB page", 25, 0x40005123, 0, A_BASE + 0x9123, true },
        { "4 KiB page, read-only", 25, 0x40006ff0, 0, A_BASE + 0xaff0, false },
        { "2 MiB block", 25, 0x40212345, 0, A_BASE + 0x12345, true },
        { "2 MiB block, read-only", 25, 0x40612345, 0, A_BASE + 0x212345, false },
        { "1 GiB block", 25, 0x3456789, 0, A_BASE + 0x3456789, true },
        { "1 GiB block, read-only", 25, 0xc0000042, 0, A_BASE + 0x42, false },
        { "4 KiB page from level 0 (T0SZ 16)", 16, 0x40005123, 0, A_BASE + 0x9123, true },
        { "TTBR1 (top bit set)", 25, 0xffffff8040005123ULL, 0, A_BASE + 0x9123, true },
        { "invalid: L1", 25, 0x80000000, HV_EINVAL, 0, false },
        { "invalid: L2", 25, 0x40400000, HV_EINVAL, 0, false },
        { "invalid: L3", 25, 0x40008000, HV_EINVAL, 0, false },
        { "invalid: L3 block encoding", 25, 0x40007000, HV_EINVAL, 0, false },
        { "invalid: L0 (T0SZ 16)", 16, 0x8000000000ULL, HV_EINVAL, 0, false },
        { "beyond the 39-bit TTBR0 range", 25, 0x8000000000ULL, HV_EINVAL, 0, false },
    };
    struct hv_vm *vm = tm_vm(HV_ARCH_AARCH64);
    if (!vm)
        return;
    tm_add_ram(vm, A_BASE, 0x400000);
    tm_a64_tables(vm);
    struct hv_vcpu *v = hv_vm_vcpu(vm, 0);

    uint64_t gpa = 0;
    bool w = false;
    TM_CHECK(hv_vcpu_gva_to_gpa(v, 0x40005123, &gpa, &w) == 0 && gpa == 0x40005123 && w,
             "MMU off: identity");

    /* MAIR, then TTBR0/TTBR1, then TCR, then SCTLR.M */
    tm_a64_sysreg(v, 3, 0, 10, 2, 0, 0xff);                          /* MAIR_EL1 */
    tm_a64_reg(v, UC_ARM64_REG_TTBR1_EL1, A_BASE + 0x2000);
    unsigned cur = 0;
    for (size_t i = 0; i < TM_N(rows); i++) {
        if (rows[i].t0sz != cur) {
            cur = rows[i].t0sz;
            tm_a64_reg(v, UC_ARM64_REG_TTBR0_EL1, A_BASE + (cur == 16 ? 0x1000 : 0x2000));
            /* T0SZ, T1SZ 25, 4 KiB granules (TG0 0, TG1 2), IPS 40 bits */
            uint64_t tcr = cur | (25ULL << 16) | (2ULL << 30) | (2ULL << 32);
            tm_a64_sysreg(v, 3, 0, 2, 0, 2, tcr);                    /* TCR_EL1 */
            tm_a64_sysreg(v, 3, 0, 1, 0, 0, 0x30d00801);             /* SCTLR_EL1.M */
        }
        gpa = 0xdead;
        w = !rows[i].writable;
        int err = hv_vcpu_gva_to_gpa(v, rows[i].gva, &gpa, &w);
        TM_CHECK(err == rows[i].err, "%s: %s, expected %s", rows[i].name, hv_err_name(err),
                 hv_err_name(rows[i].err));
        if (err == 0 && rows[i].err == 0)
            TM_CHECK(gpa == rows[i].gpa && w == rows[i].writable,
                     "%s: 0x%" PRIx64 " -> 0x%" PRIx64 " %s, expected 0x%" PRIx64 " %s",
                     rows[i].name, rows[i].gva, gpa, w ? "rw" : "ro", rows[i].gpa,
                     rows[i].writable ? "rw" : "ro");
    }
    hv_vm_destroy(vm);
}

/*
 * AArch32 short descriptors. RAM [R_BASE, +4 MiB); the level-1 table (16 KiB) at +0x4000, one
 * level-2 table at +0x8000. The registers are written by name (hv_vcpu_set_reg_by_name), the
 * Non-secure copies the guest uses.
 */
#define R_BASE      0x40000000ULL
#define R_SECT      0x2u                              /* section */
#define R_AP_RW     (3u << 10)                        /* AP[1:0] = 11 */
#define R_AP_RO     ((1u << 15) | (1u << 10))         /* AP[2:0] = 101 */
#define R_DOM(d)    ((uint32_t)(d) << 5)
#define R_PT        0x1u                              /* level 1: page table */
#define R_SMALL     (0x2u | (3u << 4))                /* small page, AP 011 */
#define R_SMALL_RO  (0x2u | (1u << 9) | (1u << 4))    /* small page, AP 101 */
#define R_LARGE     (0x1u | (3u << 4))                /* large page, AP 011 */

static void tm_write32(struct hv_vm *vm, uint64_t gpa, uint32_t val)
{
    TM_CHECK(hv_vm_write_gpa(vm, gpa, &val, 4) == 0, "write 0x%" PRIx64, gpa);
}

static void tm_a32_tables(struct hv_vm *vm)
{
    const uint64_t l1 = R_BASE + 0x4000, l2 = R_BASE + 0x8000;
    static const struct {
        unsigned index;
        uint32_t val;
    } e1[] = {
        { 0x000, 0x40000000u | R_SECT | R_AP_RW },            /* 1 MiB section */
        { 0x001, 0x40100000u | R_SECT | R_AP_RO },            /* section, read-only */
        { 0x002, 0x40008000u | R_PT },                        /* -> level 2 */
        { 0x004, 0x40000000u | R_SECT | R_AP_RW | R_DOM(1) }, /* domain 1: no access */
        { 0x005, 0x40000000u | R_SECT | R_AP_RO | R_DOM(2) }, /* domain 2: manager */
        { 0x006, 0x40000000u | R_SECT | R_DOM(0) },           /* AP 000: no access */
        { 0x800, 0x40200000u | R_SECT | R_AP_RW },            /* reached through TTBR1 */
    };
    for (size_t i = 0; i < TM_N(e1); i++)
        tm_write32(vm, l1 + e1[i].index * 4, e1[i].val);
    for (unsigned i = 0x010; i < 0x020; i++) /* a supersection, written 16 times */
        tm_write32(vm, l1 + i * 4, 0x40000000u | R_SECT | (1u << 18) | R_AP_RW);
    tm_write32(vm, l2 + 5 * 4, 0x40009000u | R_SMALL);
    tm_write32(vm, l2 + 6 * 4, 0x4000a000u | R_SMALL_RO);
    for (unsigned i = 0x10; i < 0x20; i++)   /* a large page, written 16 times */
        tm_write32(vm, l2 + i * 4, 0x40010000u | R_LARGE);
}

static void test_a32_walk(void)
{
    static const struct {
        const char *name;
        unsigned n;        /* TTBCR.N */
        uint64_t gva;
        int err;
        uint64_t gpa;
        bool writable;
        unsigned fsr;      /* what mem_a32_fault_status reports for gva */
    } rows[] = {
        { "section", 0, 0x00012345, 0, 0x40012345, true, 0x0d },
        { "section, read-only", 0, 0x00100042, 0, 0x40100042, false, 0x0d },
        { "small page", 0, 0x00205123, 0, 0x40009123, true, 0x0f },
        { "small page, read-only", 0, 0x00206ff0, 0, 0x4000aff0, false, 0x0f },
        { "large page", 0, 0x00213456, 0, 0x40013456, true, 0x0f },
        { "supersection", 0, 0x01234567, 0, 0x40234567, true, 0x0d },
        { "manager domain ignores AP[2]", 0, 0x00512345, 0, 0x40012345, true, 0x0d },
        { "invalid: level 1", 0, 0x7ff00000, HV_EINVAL, 0, false, 0x05 },
        { "invalid: level 2", 0, 0x00207000, HV_EINVAL, 0, false, 0x07 },
        { "no-access domain", 0, 0x00400000, HV_EINVAL, 0, false, 0x05 },
        { "AP 000 in a client domain", 0, 0x00600000, HV_EINVAL, 0, false, 0x05 },
        { "TTBR1 (N = 1, top bit set)", 1, 0x80012345, 0, 0x40212345, true, 0x0d },
        { "TTBR0 with N = 1", 1, 0x00012345, 0, 0x40012345, true, 0x0d },
    };
    struct hv_vm *vm = tm_vm(HV_ARCH_ARM);
    if (!vm)
        return;
    tm_add_ram(vm, R_BASE, 0x400000);
    tm_a32_tables(vm);
    struct hv_vcpu *v = hv_vm_vcpu(vm, 0);

    uint64_t gpa = 0;
    bool w = false;
    TM_CHECK(hv_vcpu_gva_to_gpa(v, 0x40005123, &gpa, &w) == 0 && gpa == 0x40005123 && w,
             "MMU off: identity");
    TM_CHECK(mem_a32_fault_status(v, 0x40005123) == 0x08, "MMU off: external abort status");

    /* domain 0 client, 1 no access, 2 manager */
    TM_CHECK(hv_vcpu_set_reg_by_name(v, "dacr", 0x31) == 0, "dacr");
    TM_CHECK(hv_vcpu_set_reg_by_name(v, "ttbr0", R_BASE + 0x4000) == 0, "ttbr0");
    TM_CHECK(hv_vcpu_set_reg_by_name(v, "ttbr1", R_BASE + 0x4000) == 0, "ttbr1");
    TM_CHECK(hv_vcpu_set_reg_by_name(v, "sctlr", 0x00c50079) == 0, "sctlr"); /* M set */
    uint64_t back = 0;
    TM_CHECK(hv_vcpu_reg_by_name(v, "ttbr0", &back) == 0 && back == R_BASE + 0x4000,
             "ttbr0 reads back 0x%" PRIx64, back);
    unsigned cur = ~0u;
    for (size_t i = 0; i < TM_N(rows); i++) {
        if (rows[i].n != cur) {
            cur = rows[i].n;
            TM_CHECK(hv_vcpu_set_reg_by_name(v, "ttbcr", cur) == 0, "ttbcr");
        }
        gpa = 0xdead;
        w = !rows[i].writable;
        int err = hv_vcpu_gva_to_gpa(v, rows[i].gva, &gpa, &w);
        TM_CHECK(err == rows[i].err, "%s: %s, expected %s", rows[i].name, hv_err_name(err),
                 hv_err_name(rows[i].err));
        if (err == 0 && rows[i].err == 0)
            TM_CHECK(gpa == rows[i].gpa && w == rows[i].writable,
                     "%s: 0x%" PRIx64 " -> 0x%" PRIx64 " %s, expected 0x%" PRIx64 " %s",
                     rows[i].name, rows[i].gva, gpa, w ? "rw" : "ro", rows[i].gpa,
                     rows[i].writable ? "rw" : "ro");
        unsigned fsr = mem_a32_fault_status(v, rows[i].gva);
        TM_CHECK(fsr == rows[i].fsr, "%s: fault status 0x%02x, expected 0x%02x", rows[i].name,
                 fsr, rows[i].fsr);
    }
    hv_vm_destroy(vm);
}

/* ---- the engine map after layout changes (mem.c) ------------------------------------------ */

/* Every Unicorn region of v's engine is one piece of v->runs and the other way round (mem.c
 * invariant 1). */
static bool tm_engine_matches(struct hv_vcpu *v, const char *row)
{
    uc_mem_region *regs = NULL;
    uint32_t n = 0;
    bool ok = uc_mem_regions(v->uc, &regs, &n) == UC_ERR_OK && n == v->nruns;
    TM_CHECK(ok, "%s: the engine has %u regions, the map %zu pieces", row, n, v->nruns);
    for (uint32_t i = 0; ok && i < n; i++) {
        const struct hv_run *r = mem_run_at(v, regs[i].begin);
        ok = r && r->va == regs[i].begin && r->va + r->size - 1 == regs[i].end;
        TM_CHECK(ok, "%s: engine region [0x%" PRIx64 ", 0x%" PRIx64 "] is no piece", row,
                 regs[i].begin, regs[i].end);
    }
    uc_free(regs);
    return ok;
}

static void test_engine_map(void)
{
    /*
     * Applied in order to one vCPU of each arch (paging off: the engine map is the physical
     * layout, RAM pieces between MMIO holes up to the arch's PA limit). After each change the
     * map is derived again: `pieces` is what it must hold, and `reopen` whether the change
     * unmapped so much (a hole of most of the address space) that the vCPU moved to a new
     * engine rather than have Unicorn unmap it page by page.
     */
    static const struct {
        const char *name;
        enum hv_arch arch;
        bool add;           /* else remove the region at gpa */
        uint64_t gpa, size;
        int err;
        size_t pieces;
        bool reopen;
    } rows[] = {
        { "arm64: RAM at 1 GiB", HV_ARCH_AARCH64, true, 0x40000000, 0x1000000, 0, 3, false },
        { "arm64: 2 MiB above RAM, in the 1 TiB hole", HV_ARCH_AARCH64, true, 0xc0000000,
          0x200000, 0, 5, true },
        { "arm64: 2 MiB at 512 GiB", HV_ARCH_AARCH64, true, 0x8000000000ULL, 0x200000, 0, 7,
          true },
        { "arm64: remove the slot at 3 GiB", HV_ARCH_AARCH64, false, 0xc0000000, 0, 0, 5,
          true },
        { "arm64: remove a region that is not there", HV_ARCH_AARCH64, false, 0xc0000000, 0,
          HV_EINVAL, 5, false },
        { "arm64: remove from inside a region", HV_ARCH_AARCH64, false, 0x40001000, 0,
          HV_EINVAL, 5, false },
        { "x86: RAM at 0", HV_ARCH_X86_64, true, 0x0, 0x1000000, 0, 2, false },
        { "x86: RAM two pages above it", HV_ARCH_X86_64, true, 0x1002000, 0x1000, 0, 4, true },
        { "x86: a page in the two-page hole", HV_ARCH_X86_64, true, 0x1000000, 0x1000, 0, 5,
          false },
        { "x86: that page again", HV_ARCH_X86_64, false, 0x1000000, 0, 0, 4, false },
        { "x86: the region above the hole", HV_ARCH_X86_64, false, 0x1002000, 0, 0, 2, true },
    };
    struct hv_vm *vm = NULL;
    enum hv_arch arch = HV_ARCH_ARM;
    for (size_t i = 0; i < TM_N(rows); i++) {
        if (rows[i].arch != arch) {
            hv_vm_destroy(vm);
            arch = rows[i].arch;
            if (!(vm = tm_vm(arch)))
                return;
            /* a register the new engine must carry over */
            tm_set_reg(hv_vm_vcpu(vm, 0), arch == HV_ARCH_X86_64 ? "rbx" : "x5", 0xfeed);
        }
        struct hv_vcpu *v = hv_vm_vcpu(vm, 0);
        uc_engine *before = v->uc;
        int err = rows[i].add ? hv_vm_add_ram(vm, rows[i].gpa, rows[i].size)
                              : hv_vm_unmap_ram(vm, rows[i].gpa);
        TM_CHECK(err == rows[i].err, "%s: %s, expected %s", rows[i].name, hv_err_name(err),
                 hv_err_name(rows[i].err));
        err = mem_remap(v, "test");
        TM_CHECK(err == 0, "%s: remap: %s (%s)", rows[i].name, hv_err_name(err),
                 hv_error_detail());
        TM_CHECK(v->nruns == rows[i].pieces, "%s: %zu pieces, expected %zu", rows[i].name,
                 v->nruns, rows[i].pieces);
        TM_CHECK((v->uc != before) == rows[i].reopen, "%s: %s", rows[i].name,
                 rows[i].reopen ? "the engine was kept" : "a new engine");
        tm_engine_matches(v, rows[i].name);
        TM_CHECK(tm_reg(v, arch == HV_ARCH_X86_64 ? "rbx" : "x5") == 0xfeed,
                 "%s: the register did not survive", rows[i].name);
    }
    hv_vm_destroy(vm);
}

void test_memory_register(void)
{
    CU_pSuite s = CU_add_suite("memory", NULL, NULL);
    CU_add_test(s, "add_ram: alignment, overlap, size", test_add_ram_rules);
    CU_add_test(s, "gpa_ptr: one region holds it all", test_gpa_ptr);
    CU_add_test(s, "read/write_gpa: regions, boundaries, holes", test_read_write);
    CU_add_test(s, "engine map: layout changes, a new engine for large unmaps",
                test_engine_map);
    CU_add_test(s, "x86-64 page walk", test_x86_walk);
    CU_add_test(s, "AArch64 page walk", test_a64_walk);
    CU_add_test(s, "AArch32 short-descriptor walk", test_a32_walk);
}
