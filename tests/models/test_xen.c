/*
 * test_xen.c - the Xen model's pure parts against docs/sources.md C.1-C.3 and Xen at c447b7308b:
 * hypercall-page bytes for both vendors, the hypercall-page MSR's #GP cases, the HVM ABI
 * register mapping and debug clobber, the guest page walker, and copy failure semantics.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/xen/xen_int.h"
#include "tests/test_util.h"

void test_xen_register(void);

/* ---- a small guest-physical memory: 64 pages, gfn 0..63 ---- */

#define NPAGES 64
static uint64_t ram[NPAGES][512];
static unsigned dirty_count;

static uint8_t *page_of(void *ctx, uint64_t gfn)
{
    (void)ctx;
    return gfn < NPAGES ? (uint8_t *)ram[gfn] : NULL;
}

static void mark_dirty(void *ctx, uint64_t gfn)
{
    (void)ctx;
    (void)gfn;
    dirty_count++;
}

static const struct xenm_mem mem = { page_of, mark_dirty, NULL };

#define P 1ULL
#define W 2ULL
#define U 4ULL
#define A 0x20ULL
#define D 0x40ULL
#define PS 0x80ULL
#define G 0x100ULL
#define NX (1ULL << 63)

/*
 * Tables: PML4 at gfn 1; PML4[0] -> PDPT gfn 2; PDPT[0] -> PD gfn 3; PD[0] -> PT gfn 4.
 * PT[i] maps VA i*4K to gfn 10+i with flags given per test. PD[1] is a 2 MiB page at
 * GPA 0x200000 (which is beyond the RAM: only translation is checked), PDPT[1] a 1 GiB page.
 */
static void build(uint64_t l4f, uint64_t l3f, uint64_t l2f, uint64_t l1f)
{
    memset(ram, 0, sizeof ram);
    ram[1][0] = (2ULL << 12) | l4f;
    ram[2][0] = (3ULL << 12) | l3f;
    ram[3][0] = (4ULL << 12) | l2f;
    for (unsigned i = 0; i < 8; i++)
        ram[4][i] = ((10ULL + i) << 12) | l1f;
    ram[4][2] = 0;                                       /* VA 0x2000 not present */
    ram[3][1] = 0x200000ULL | P | W | PS;                /* VA 0x200000: 2 MiB page */
    ram[2][1] = 0x40000000ULL | P | W | PS;              /* VA 0x40000000: 1 GiB page */
}

static struct xenm_paging paging(void)
{
    struct xenm_paging p = { .cr0 = (1ULL << 31) | (1ULL << 16) | 1, .cr3 = 1ULL << 12,
                             .cr4 = 1ULL << 5, .efer = (1ULL << 8) | (1ULL << 10),
                             .maxphysaddr = 48, .page1gb = true };
    return p;
}

/* ---- C.2: the hypercall page ---- */

static void test_hcpage_bytes(void)
{
    static const struct {
        bool amd;
        unsigned off;
        const char *hex;   /* expected bytes at off */
        unsigned len;      /* xen.bug.hcpage_insn_len; 0: 3 */
    } rows[] = {
        { false, 0, "b8000000000f01c1c3cccccccccccccccccccccccccccccccccccccccccccccc", 0 },
        { false, 32 * 17, "b8110000000f01c1c3cc", 0 },
        { false, 32 * 22 + 8, "c3cc", 0 },
        { false, 32 * 23, "0f0bcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", 0 },
        { false, 32 * 24, "b8180000000f01c1c3", 0 },
        { false, 32 * 127, "b87f0000000f01c1c3cccccccccccccccccccccccccccccccccccccccccccccc", 0 },
        { true, 0, "b8000000000f01d9c3cccccccccccccccccccccccccccccccccccccccccccccc", 0 },
        { true, 32 * 18, "b8120000000f01d9c3cc", 0 },
        { true, 32 * 23, "0f0bcccc", 0 },
        { true, 32 * 127 + 9, "cccccccccccccccccccccccccccccccccccccccccccccc", 0 },
        /* xen.bug.hcpage_insn_len 4: one CS prefix, and ret moves to offset 9 */
        { true, 32 * 24, "b8180000002e0f01d9c3cc", 4 },
        { false, 32 * 1, "b8010000002e2e0f01c1c3cc", 5 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t page[4096];
        memset(page, 0x55, sizeof page);
        xenm_hcpage_fill(page, rows[i].amd, rows[i].len ? rows[i].len : 3);
        size_t n = strlen(rows[i].hex) / 2;
        for (size_t k = 0; k < n; k++) {
            unsigned b;
            char two[3] = { rows[i].hex[2 * k], rows[i].hex[2 * k + 1], 0 };
            b = (unsigned)strtoul(two, NULL, 16);
            CU_ASSERT_EQUAL(page[rows[i].off + k], b);
        }
    }
    /* every byte is a stub byte or int3: count them */
    uint8_t page[4096];
    xenm_hcpage_fill(page, false, 3);
    unsigned cc = 0;
    for (unsigned k = 0; k < 4096; k++)
        cc += page[k] == 0xcc;
    CU_ASSERT_EQUAL(cc, 127 * 23 + 30);
}

static bool ram_below_16m(void *ctx, uint64_t gfn)
{
    (void)ctx;
    return gfn < 0x1000;
}

static void test_hcpage_msr(void)
{
    static const struct {
        uint64_t value;
        const char *rule;   /* NULL: accepted */
        uint64_t gfn;
    } rows[] = {
        { 0x800000, NULL, 0x800 },
        { 0x0, NULL, 0 },
        { 0xfff000, NULL, 0xfff },
        { 0x800001, "page index != 0", 0x800 },
        { 0x800fff, "page index != 0", 0x800 },
        { 0x1000000, "gfn not a writable RAM page", 0x1000 },
        { 0xffffffffffff0000ULL, "gfn not a writable RAM page", 0xffffffffffff0ULL },
        { 0xffffffffffffffffULL, "page index != 0", 0xfffffffffffffULL },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t gfn = 0;
        const char *r = xenm_hcpage_msr_rule(rows[i].value, ram_below_16m, NULL, &gfn);
        if (rows[i].rule) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(r);
            CU_ASSERT_STRING_EQUAL(r, rows[i].rule);
        } else {
            CU_ASSERT_PTR_NULL(r);
        }
        CU_ASSERT_EQUAL(gfn, rows[i].gfn);
    }
}

/* ---- C.1: the ABI ---- */

static void test_abi(void)
{
    /* registers by hv_vcpu_gpr index: rax 0, rcx 1, rdx 2, rbx 3, rsi 6, rdi 7, r8 8, r10 10 */
    uint64_t gpr[16];
    for (unsigned i = 0; i < 16; i++)
        gpr[i] = 0x1111111100000000ULL * (i + 1) + i;
    static const struct {
        bool mode64;
        unsigned nr_reg, regs[5];
        bool trunc;
    } rows[] = {
        { true, 0, { 7, 6, 2, 10, 8 }, false },   /* rdi rsi rdx r10 r8 */
        { false, 0, { 3, 1, 2, 6, 7 }, true },    /* ebx ecx edx esi edi */
    };
    for (size_t i = 0; i < 2; i++) {
        uint64_t nr, args[5];
        xenm_abi_decode(gpr, rows[i].mode64, &nr, args);
        uint64_t mask = rows[i].trunc ? 0xffffffffULL : ~0ULL;
        CU_ASSERT_EQUAL(nr, gpr[0] & mask);
        for (unsigned k = 0; k < 5; k++)
            CU_ASSERT_EQUAL(args[k], gpr[rows[i].regs[k]] & mask);
    }
    /* hvm_hypercall: hvm_guest_x86_mode() and CPL decide the ABI or -EPERM */
    static const struct {
        unsigned mode, cpl;
        const char *refused;
        bool mode64;
    } entry[] = {
        { 8, 0, NULL, true },                  /* 64-bit mode */
        { 8, 3, "CPL != 0", true },
        { 4, 0, NULL, false },                 /* 32-bit code segment: compat or protected */
        { 4, 3, "CPL != 0", false },
        { 2, 0, NULL, false },                 /* 16-bit code segment */
        { 2, 1, "CPL != 0", false },
        { 1, 3, "virtual-8086 mode", false },  /* X86_MODE_VM86: -EPERM whatever the CPL */
        { 0, 0, NULL, false },                 /* real mode is allowed */
    };
    for (size_t i = 0; i < sizeof entry / sizeof entry[0]; i++) {
        bool m64 = !entry[i].mode64;
        const char *r = xenm_abi_entry(entry[i].mode, entry[i].cpl, &m64);
        TEST_CHECK((r == NULL) == (entry[i].refused == NULL) &&
                       (!r || strcmp(r, entry[i].refused) == 0) && m64 == entry[i].mode64,
                   "mode %u cpl %u: %s, mode64 %d", entry[i].mode, entry[i].cpl,
                   r ? r : "goes on", m64);
    }
    /* the result: all of RAX (64-bit ABI) or EAX with RAX's upper half kept (32-bit ABI) */
    static const struct {
        uint64_t rax;
        bool mode64;
        int64_t ret;
        uint64_t want;
    } res[] = {
        { 0x1234567800000011ULL, true, -38, 0xffffffffffffffdaULL },
        { 0x1234567800000011ULL, false, -38, 0x12345678ffffffdaULL },
        { 0x1234567800000011ULL, false, 0x40017, 0x1234567800040017ULL },
        { 0x0000000000000011ULL, false, -14, 0x00000000fffffff2ULL },
        { 0xffffffff00000011ULL, true, 0x40017, 0x40017 },
    };
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++)
        TEST_CHECK(xenm_abi_rax(res[i].rax, res[i].mode64, res[i].ret) == res[i].want,
                   "result row %zu: %#llx", i,
                   (unsigned long long)xenm_abi_rax(res[i].rax, res[i].mode64, res[i].ret));
    /* hypercall-defs.c: the handler's argument count in the HVM64 and HVM32 columns */
    static const struct {
        uint64_t nr;
        unsigned nargs64, nargs32;
        const char *name;
    } nargs[] = {
        { 17, 2, 2, "xen_version" }, { 18, 3, 3, "console_io" }, { 24, 3, 3, "vcpu_op" },
        { 29, 2, 2, "sched_op" }, { 12, 2, 2, "memory_op" }, { 42, 5, 5, "hypfs_op" },
        { 15, 1, 2, "set_timer_op" }, /* do_set_timer_op(s_time_t), compat (lo, hi) */
        { 21, 2, 2, "vm_assist" }, { 7, 1, 1, "platform_op" },
        { 49, 1, 1, "paging_domctl_cont" }, { 1, 0, 0, "mmu_update" }, { 23, 0, 0, "iret" },
        { 39, 0, 0, "argo_op" }, { 11, 0, 0, NULL }, { 64, 0, 0, NULL },
        { 1ULL << 32 | 17, 0, 0, NULL },
    };
    for (size_t i = 0; i < sizeof nargs / sizeof nargs[0]; i++) {
        TEST_CHECK(xenm_abi_nargs(nargs[i].nr, true) == nargs[i].nargs64 &&
                       xenm_abi_nargs(nargs[i].nr, false) == nargs[i].nargs32,
                   "nargs of %llu: %u/%u", (unsigned long long)nargs[i].nr,
                   xenm_abi_nargs(nargs[i].nr, true), xenm_abi_nargs(nargs[i].nr, false));
        const char *n = xenm_hc_name(nargs[i].nr);
        if (nargs[i].name) {
            CU_ASSERT(n && strcmp(n, nargs[i].name) == 0);
        } else {
            CU_ASSERT_PTR_NULL(n);
        }
    }
    /* clobber_regs64/32: exactly the first nargs argument registers */
    static const struct {
        bool mode64;
        unsigned nargs;
    } cl[] = { { true, 0 }, { true, 2 }, { true, 3 }, { true, 5 }, { false, 1 }, { false, 5 } };
    for (size_t i = 0; i < sizeof cl / sizeof cl[0]; i++) {
        uint64_t g[16];
        memcpy(g, gpr, sizeof g);
        xenm_abi_clobber(g, cl[i].mode64, cl[i].nargs);
        const unsigned *r = xenm_abi_arg_regs(cl[i].mode64);
        for (unsigned k = 0; k < 16; k++) {
            bool hit = false;
            for (unsigned a = 0; a < cl[i].nargs; a++)
                hit = hit || r[a] == k;
            uint64_t want = !hit ? gpr[k]
                            : cl[i].mode64 ? 0xdeadbeefdeadf00dULL
                                           : (gpr[k] & 0xffffffff00000000ULL) | 0xdeadf00dULL;
            CU_ASSERT_EQUAL(g[k], want);
        }
    }
}

/* ---- C.3: the walker ---- */

static void test_walk(void)
{
    enum { ACC_W = XENM_PFEC_WRITE, ACC_U = XENM_PFEC_USER, ACC_I = XENM_PFEC_IMPLICIT };
    static const struct {
        const char *what;
        uint64_t l4f, l3f, l2f, l1f;
        uint64_t va;
        uint32_t access;
        uint64_t cr0_clear, cr4_set, efer_clear, rflags;
        bool amd;
        enum xenm_walk_why why;
        unsigned level;
        uint64_t gpa;
    } rows[] = {
        { "4K read", P, P, P, P, 0x1234, 0, 0, 0, 0, 0, false, XENM_WALK_OK, 1, 0xb234 },
        { "4K write needs RW (WP)", P | W, P | W, P | W, P, 0x1000, ACC_W, 0, 0, 0, 0, false,
          XENM_WALK_WRITE, 1, 0 },
        { "RW must be on every level", P, P | W, P | W, P | W, 0x1000, ACC_W, 0, 0, 0, 0,
          false, XENM_WALK_WRITE, 1, 0 },
        { "WP clear: supervisor writes read-only", P, P, P, P, 0x1000, ACC_W, 1ULL << 16, 0,
          0, 0, false, XENM_WALK_OK, 1, 0xb000 },
        { "user needs U everywhere", P | U, P | U, P, P | U, 0x0, ACC_U, 0, 0, 0, 0, false,
          XENM_WALK_USER, 1, 0 },
        { "user write needs RW even without WP", P | U | W, P | U | W, P | U | W, P | U,
          0x0, ACC_U | ACC_W, 1ULL << 16, 0, 0, 0, false, XENM_WALK_WRITE, 1, 0 },
        { "user ok", P | U | W, P | U | W, P | U | W, P | U | W, 0x10, ACC_U | ACC_W, 0, 0,
          0, 0, false, XENM_WALK_OK, 1, 0xa010 },
        { "SMAP: supervisor data to a user page", P | U, P | U, P | U, P | U, 0x0, 0, 0,
          1ULL << 21, 0, 0, false, XENM_WALK_SMAP, 1, 0 },
        { "SMAP with RFLAGS.AC", P | U, P | U, P | U, P | U, 0x0, 0, 0, 1ULL << 21, 0,
          1ULL << 18, false, XENM_WALK_OK, 1, 0xa000 },
        { "SMAP implicit ignores AC", P | U, P | U, P | U, P | U, 0x0, ACC_I, 0, 1ULL << 21,
          0, 1ULL << 18, false, XENM_WALK_SMAP, 1, 0 },
        { "not present L1", P, P, P, P, 0x2000, 0, 0, 0, 0, 0, false, XENM_WALK_NOT_PRESENT,
          1, 0 },
        { "not present L4", 0, P, P, P, 0x0, 0, 0, 0, 0, 0, false, XENM_WALK_NOT_PRESENT, 4,
          0 },
        { "2 MiB page", P, P, P, P, 0x212345, 0, 0, 0, 0, 0, false, XENM_WALK_OK, 2,
          0x212345 },
        { "1 GiB page", P, P, P, P, 0x40123456, 0, 0, 0, 0, 0, false, XENM_WALK_OK, 3,
          0x40123456 },
        { "NX reserved without EFER.NX", P | NX, P, P, P, 0x0, 0, 0, 0, 1ULL << 11, 0, false,
          XENM_WALK_RSVD, 4, 0 },
        { "NX fine with EFER.NX", P | NX, P, P, P | NX, 0x0, 0, 0, 0, 0, 0, false,
          XENM_WALK_OK, 1, 0xa000 },
        { "PS in L4 reserved", P | PS, P, P, P, 0x0, 0, 0, 0, 0, 0, false, XENM_WALK_RSVD,
          4, 0 },
        { "G in L4 reserved on AMD", P | G, P, P, P, 0x0, 0, 0, 0, 0, 0, true,
          XENM_WALK_RSVD, 4, 0 },
        { "G in L4 ignored on Intel", P | G, P, P, P, 0x0, 0, 0, 0, 0, 0, false,
          XENM_WALK_OK, 1, 0xa000 },
        { "address bit above maxphysaddr", P | (1ULL << 50), P, P, P, 0x0, 0, 0, 0, 0, 0,
          false, XENM_WALK_RSVD, 4, 0 },
        { "L1 bits 62:52 reserved", P, P, P, P | (1ULL << 55), 0x0, 0, 0, 0, 0, 0, false,
          XENM_WALK_RSVD, 1, 0 },
        { "non-canonical: bits 63:48 ignored", P, P, P, P, 0x8000000000001234ULL, 0, 0, 0, 0,
          0, false, XENM_WALK_OK, 1, 0xb234 },
        { "paging off: identity", 0, 0, 0, 0, 0x123456789ULL, ACC_W, 1ULL << 31, 0, 0, 0,
          false, XENM_WALK_OK, 0, 0x123456789ULL },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        build(rows[i].l4f, rows[i].l3f, rows[i].l2f, rows[i].l1f);
        struct xenm_paging p = paging();
        p.cr0 &= ~rows[i].cr0_clear;
        p.cr4 |= rows[i].cr4_set;
        p.efer |= 1ULL << 11;
        p.efer &= ~rows[i].efer_clear;
        p.rflags = rows[i].rflags;
        p.amd = rows[i].amd;
        struct xenm_walk w;
        enum xenm_walk_why why = xenm_walk(&mem, &p, rows[i].va, rows[i].access, &w);
        if (why != rows[i].why || w.level != rows[i].level)
            fprintf(stderr, "\n  walk '%s': %s level %u\n", rows[i].what,
                    xenm_walk_why_name(why), w.level);
        CU_ASSERT_EQUAL(why, rows[i].why);
        CU_ASSERT_EQUAL(w.level, rows[i].level);
        if (why == XENM_WALK_OK && w.gpa != rows[i].gpa)
            fprintf(stderr, "\n  walk '%s': gpa %#llx\n", rows[i].what,
                    (unsigned long long)w.gpa);
        if (why == XENM_WALK_OK)
            CU_ASSERT_EQUAL(w.gpa, rows[i].gpa);
    }
    /* a table page that is not RAM; a CR3 that is not RAM */
    build(P, P, P, P);
    ram[3][0] = (100ULL << 12) | P;
    struct xenm_paging p = paging();
    struct xenm_walk w;
    CU_ASSERT_EQUAL(xenm_walk(&mem, &p, 0, 0, &w), XENM_WALK_NO_RAM);
    CU_ASSERT_EQUAL(w.level, 1);
    p.cr3 = 200ULL << 12;
    CU_ASSERT_EQUAL(xenm_walk(&mem, &p, 0, 0, &w), XENM_WALK_NO_RAM);
    CU_ASSERT_EQUAL(w.level, 0);
}

/* A/D bits: only a successful walk sets A on every level, D on the leaf for a write. */
static void test_walk_ad(void)
{
    struct xenm_paging p = paging();
    struct xenm_walk w;
    build(P | W, P | W, P | W, P | W);
    dirty_count = 0;
    CU_ASSERT_EQUAL(xenm_walk(&mem, &p, 0x1000, XENM_PFEC_WRITE, &w), XENM_WALK_OK);
    CU_ASSERT_EQUAL(ram[1][0] & (A | D), A);
    CU_ASSERT_EQUAL(ram[2][0] & (A | D), A);
    CU_ASSERT_EQUAL(ram[3][0] & (A | D), A);
    CU_ASSERT_EQUAL(ram[4][1] & (A | D), A | D);
    CU_ASSERT_EQUAL(dirty_count, 4);
    CU_ASSERT_EQUAL(xenm_walk(&mem, &p, 0x1000, XENM_PFEC_WRITE, &w), XENM_WALK_OK);
    CU_ASSERT_EQUAL(dirty_count, 4);                     /* nothing changed the second time */
    build(P | W, P | W, P | W, P);                       /* read-only leaf: the write fails */
    CU_ASSERT_EQUAL(xenm_walk(&mem, &p, 0x1000, XENM_PFEC_WRITE, &w), XENM_WALK_WRITE);
    CU_ASSERT_EQUAL(ram[1][0] & A, 0);
    CU_ASSERT_EQUAL(ram[4][1] & A, 0);
    build(P | W, P | W, P | W, P | W);                   /* 2 MiB leaf: D on the PD entry */
    CU_ASSERT_EQUAL(xenm_walk(&mem, &p, 0x200000, XENM_PFEC_WRITE, &w), XENM_WALK_OK);
    CU_ASSERT_EQUAL(ram[3][1] & (A | D), A | D);
    CU_ASSERT_EQUAL(ram[2][0] & (A | D), A);
}

/* ---- C.3: copies ---- */

static void test_copy(void)
{
    static const struct {
        const char *what;
        int to_guest;
        uint64_t va;
        uint32_t len;
        uint32_t ret, done;
        uint64_t fault_va;
    } rows[] = {
        { "within a page", 1, 0x1100, 16, 0, 16, 0 },
        { "across two pages", 1, 0x0ff8, 16, 0, 16, 0 },
        { "into an unmapped page", 1, 0x1ff8, 16, 16, 8, 0x2000 },
        { "from an unmapped page", 0, 0x2000, 4, 4, 0, 0x2000 },
        { "into a read-only page", 1, 0x3ff0, 32, 32, 16, 0x4000 },
        { "from a read-only page", 0, 0x4000, 32, 0, 32, 0 },
        { "leaf beyond RAM", 1, 0x7000, 4, 4, 0, 0x7000 },
        { "zero length", 1, 0x2000, 0, 0, 0, 0 },
        { "wraps past 2^64 to VA 0", 1, 0xfffffffffffffff8ULL, 16, 0, 16, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        build(P | W, P | W, P | W, P | W);
        ram[4][4] &= ~W;                                 /* VA 0x4000 read-only */
        ram[4][7] = (1000ULL << 12) | P | W;             /* VA 0x7000 -> not RAM */
        ram[1][511] = (2ULL << 12) | P | W;              /* top of the address space: */
        ram[2][511] = (3ULL << 12) | P | W;              /* VA 0xffff...f000 -> PD[511] */
        ram[3][511] = (4ULL << 12) | P | W;              /* -> PT; PT[511] -> gfn 30 */
        ram[4][511] = (30ULL << 12) | P | W;
        uint8_t buf[64];
        memset(buf, 0xab, sizeof buf);
        struct xenm_copy c;
        struct xenm_paging p = paging();
        uint32_t r = rows[i].to_guest
                         ? xenm_copy_to_guest(&mem, &p, rows[i].va, buf, rows[i].len, &c)
                         : xenm_copy_from_guest(&mem, &p, buf, rows[i].va, rows[i].len, &c);
        if (r != rows[i].ret || c.done != rows[i].done)
            fprintf(stderr, "\n  copy '%s': ret %u done %u\n", rows[i].what, r, c.done);
        CU_ASSERT_EQUAL(r, rows[i].ret);
        CU_ASSERT_EQUAL(c.done, rows[i].done);
        if (r)
            CU_ASSERT_EQUAL(c.fault_va, rows[i].fault_va);
    }
    /* the bytes before the failing page stay written */
    build(P | W, P | W, P | W, P | W);
    struct xenm_paging p = paging();
    CU_ASSERT_EQUAL(xenm_copy_to_guest(&mem, &p, 0x1ffc, "abcdefgh", 8, NULL), 8);
    CU_ASSERT_EQUAL(memcmp((uint8_t *)ram[11] + 0xffc, "abcd", 4), 0);
}

void test_xen_register(void)
{
    CU_pSuite s = CU_add_suite("xen", NULL, NULL);
    CU_add_test(s, "hypercall page bytes (C.2)", test_hcpage_bytes);
    CU_add_test(s, "hypercall-page MSR #GP cases (C.2)", test_hcpage_msr);
    CU_add_test(s, "ABI registers, nargs, clobber (C.1)", test_abi);
    CU_add_test(s, "page walk rules (C.3)", test_walk);
    CU_add_test(s, "page walk A/D bits (C.3)", test_walk_ad);
    CU_add_test(s, "copy failure semantics (C.3)", test_copy);
}
