/*
 * test_xif.c - the xinterface copies and mappings of models/kvm/xif.c (reference section E)
 * in both variants, patch and mainline, and the stale_slot_cache bug knob on the per-vCPU
 * memslot lookup (A.5). Each table is a sequence of operations on one VM, run in order (the
 * caches carry state from row to row), with what each must return.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/kvm_int.h"
#include "tests/test_util.h"

void test_xif_register(void);

#define HVA_A 0x7f0000000000ull          /* buffer a: 4 pages */
#define HVA_B (HVA_A + 5 * 0x1000ull)    /* buffer b: 2 pages, after a guard page */
#define LOG KVMM_MEM_LOG_DIRTY_PAGES
#define RO KVMM_MEM_READONLY

/* ---- fixture: a VM with buffers a and b, no running guest -------------------------------- */

static struct {
    char via[16];
    bool stale;
    size_t n;
} last;

static int record(void *ctx, struct hv_vcpu *v, const struct hv_ev_kvm_lookup *ev)
{
    (void)ctx;
    (void)v;
    snprintf(last.via, sizeof last.via, "%s", ev->via);
    last.stale = ev->stale;
    last.n++;
    return 0;
}

static struct kvmm_vm *vm_new(enum kvmm_xif_mode mode)
{
    struct kvmm_vm *k = calloc(1, sizeof *k);
    struct kvmm_slots_params p;
    kvmm_slots_params_default(&p, KVMM_ARCH_X86);
    CU_ASSERT_FATAL(k && kvmm_slots_create(&k->slots, &p) == 0);
    static char na[] = "a", nb[] = "b";
    k->buf[0] = (struct kvmm_buffer){ na, 0x4000, HVA_A, calloc(1, 0x4000) };
    k->buf[1] = (struct kvmm_buffer){ nb, 0x2000, HVA_B, calloc(1, 0x2000) };
    k->nbuf = 2;
    k->xif.mode = mode;
    k->on_lookup = record;
    return k;
}

static void vm_free(struct kvmm_vm *k)
{
    kvmm_slots_destroy(k->slots);
    free(k->buf[0].host);
    free(k->buf[1].host);
    free(k);
}

static int set_slot(struct kvmm_vm *k, unsigned id, uint32_t flags, uint64_t gpa, uint64_t size,
                    uint64_t hva)
{
    struct kvmm_region r = { .slot = id, .flags = flags, .guest_phys_addr = gpa,
                             .memory_size = size, .userspace_addr = hva };
    struct kvmm_set_result res;
    CU_ASSERT_FATAL(kvmm_memslot_set(k->slots, &r, true, &res) == 0);
    return res.err;
}

/* Slots 1 (a[0..2), logging), 2 (b) right after it, 3 (a[2..4)) further up; a gap at
 * 0x40004000. */
static void layout(struct kvmm_vm *k)
{
    CU_ASSERT_FATAL(set_slot(k, 1, LOG, 0x40000000, 0x2000, HVA_A) == 0);
    CU_ASSERT_FATAL(set_slot(k, 2, 0, 0x40002000, 0x2000, HVA_B) == 0);
    CU_ASSERT_FATAL(set_slot(k, 3, 0, 0x40010000, 0x2000, HVA_A + 0x2000) == 0);
}

/* ---- copy rules ------------------------------------------------------------------------- */

enum op { TO, FROM, MOVE1, DEL1, RO4 };

struct copy_row {
    const char *why;
    enum op op;
    unsigned cpu;
    uint64_t gpa, len;
    uint64_t not_copied;
    int err;
    const char *via;             /* the last translation's cache; NULL: no translation */
    bool stale;
    int dirty;                   /* -1: not checked; else slot 1's bit for gpa after the op */
    uint64_t where;              /* TO: host offset in a (or b if >= 0x10000) of the first byte, or
                                  * ~0: not checked */
    uint64_t tail;               /* TO: the same for byte 4, or 0 (not checked) */
};

#define NOCHK ~0ull
#define INB(off) (0x10000 + (off))

static const struct copy_row patch_rows[] = {
    { "inside slot 1, across a page", TO, 0, 0x40000ffc, 8, 0, 0, "search", false, 0, 0xffc, 0 },
    { "across slot 1's end: linear in host memory, a's page 2 (slot 3), not slot 2",
      TO, 0, 0x40001ffc, 8, 0, 0, "xif_cache", false, -1, 0x1ffc, 0x2000 },
    { "across slot 2's end: stops at buffer b's end", TO, 1, 0x40003ffe, 6, 4, 0, "search",
      false, -1, INB(0x1ffe), 0 },
    { "a gap: no slot, nothing copied", FROM, 2, 0x40004000, 4, 4, 0, "none", false, -1, NOCHK, 0 },
    { "three pages from a's page 1, one byte into the guard page", TO, 0, 0x40001000, 0x3001,
      1, 0, "xif_cache", false, -1, NOCHK, 0 },
    { "slot 1 moves to 0x40020000", MOVE1, 0, 0, 0, 0, 0, NULL, false, -1, NOCHK, 0 },
    { "CPU 0's cache: the replaced slot, no generation check", TO, 0, 0x40000010, 4, 0, 0,
      "xif_cache", true, -1, 0x10, 0 },
    { "CPU 1's cache holds slot 2: a search finds nothing", TO, 1, 0x40000010, 4, 4, 0, "none",
      false, -1, NOCHK, 0 },
    { "copy_from through the stale cache", FROM, 0, 0x40000010, 4, 0, 0, "xif_cache", true, -1,
      NOCHK, 0 },
    { "the moved slot, fresh CPU", TO, 3, 0x40020020, 4, 0, 0, "search", false, 0, 0x20, 0 },
    { "slot 1 deleted", DEL1, 0, 0, 0, 0, 0, NULL, false, -1, NOCHK, 0 },
    { "CPU 0's cache still holds the slot from before the MOVE", TO, 0, 0x40000010, 4, 0, 0,
      "xif_cache", true, -1, 0x10, 0 },
    { "read-only slot 4 (over b): copy_to_user ignores it", RO4, 0, 0, 0, 0, 0, NULL, false, -1,
      NOCHK, 0 },
    { "write to the read-only slot", TO, 4, 0x40030000, 4, 0, 0, "search", false, -1, INB(0), 0 },
};

static const struct copy_row mainline_rows[] = {
    { "cross-page: init checks slot 1, kvm_write_guest page by page", TO, 0, 0x40000ffc, 8, 0,
      0, "vm_cache", false, 1, 0xffc, 0 },
    { "across slot 1's end: lands in slot 2", TO, 0, 0x40001ffc, 8, 0, 0, "search", false, -1,
      0x1ffc, INB(0) },
    { "across slot 2's end into the gap: init fails, nothing written", TO, 1, 0x40003ffe, 6, 6,
      -EFAULT, "none", false, -1, NOCHK, 0 },
    { "a gap", FROM, 2, 0x40004000, 4, 4, -EFAULT, "none", false, -1, NOCHK, 0 },
    { "one page: the fast path", TO, 2, 0x40000010, 4, 0, 0, "search", false, 1, 0x10, 0 },
    { "the same again: served by the gfn_to_hva_cache", TO, 2, 0x40000010, 4, 0, 0, "hva_cache",
      false, 1, 0x10, 0 },
    { "slot 1 moves to 0x40020000", MOVE1, 0, 0, 0, 0, 0, NULL, false, -1, NOCHK, 0 },
    { "generation moved: re-init finds no slot", TO, 2, 0x40000010, 4, 4, -EFAULT, "none",
      false, -1, NOCHK, 0 },
    { "the moved slot: the VM-wide cache followed it", FROM, 3, 0x40020010, 4, 0, 0, "vm_cache", false, -1, NOCHK, 0 },
    { "a zero-length range at a page start wraps backwards", FROM, 5, 0x40020000, 0, 0, -EINVAL,
      NULL, false, -1, NOCHK, 0 },
    { "read-only slot 4 (over b)", RO4, 0, 0, 0, 0, 0, NULL, false, -1, NOCHK, 0 },
    { "init asks for a writable address, also for reads", FROM, 4, 0x40030000, 4, 4, -EFAULT,
      "search", false, -1, NOCHK, 0 },
};

/* Host bytes at offset off of buffer a, or of b for INB(off). */
static const uint8_t *host_at(const struct kvmm_vm *k, uint64_t off)
{
    return off >= 0x10000 ? k->buf[1].host + (off - 0x10000) : k->buf[0].host + off;
}

static void run_copy_rows(enum kvmm_xif_mode mode, const struct copy_row *rows, size_t n)
{
    struct kvmm_vm *k = vm_new(mode);
    layout(k);
    static uint8_t data[0x4000], back[0x4000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < n; i++) {
        const struct copy_row *r = &rows[i];
        struct kvmm_xif_res res;
        size_t before = last.n;
        switch (r->op) {
        case MOVE1:
            TEST_CHECK(set_slot(k, 1, LOG, 0x40020000, 0x2000, HVA_A) == 0, "row %zu", i);
            continue;
        case DEL1:
            TEST_CHECK(set_slot(k, 1, LOG, 0, 0, HVA_A) == 0, "row %zu", i);
            continue;
        case RO4:
            TEST_CHECK(set_slot(k, 4, RO, 0x40030000, 0x2000, HVA_B) == 0, "row %zu", i);
            continue;
        case TO:
            CU_ASSERT_FATAL(kvmm_xif_copy_to(k, r->cpu, r->gpa, data, r->len, &res) == 0);
            break;
        case FROM:
            memset(back, 0xee, sizeof back);
            CU_ASSERT_FATAL(kvmm_xif_copy_from(k, r->cpu, r->gpa, back, r->len, &res) == 0);
            break;
        }
        TEST_CHECK(res.not_copied == r->not_copied && res.err == r->err,
                   "%s row %zu (%s): not_copied %llu err %d", mode ? "mainline" : "patch", i,
                   r->why, (unsigned long long)res.not_copied, res.err);
        TEST_CHECK(r->via ? strcmp(last.via, r->via) == 0 && last.stale == r->stale
                          : last.n == before,
                   "%s row %zu (%s): via %s stale %d", mode ? "mainline" : "patch", i, r->why,
                   last.via, last.stale);
        if (r->dirty >= 0) {
            const struct kvmm_memslot *s1 = kvmm_memslot_by_id(k->slots, 0, 1);
            TEST_CHECK(kvmm_dirty_test(s1, r->gpa >> 12) == (r->dirty == 1),
                       "%s row %zu (%s): dirty bit", mode ? "mainline" : "patch", i, r->why);
        }
        if (r->op == TO && r->where != NOCHK) {
            size_t cmp = r->len - r->not_copied < 4 ? r->len - r->not_copied : 4;
            TEST_CHECK(memcmp(host_at(k, r->where), data, cmp) == 0, "%s row %zu (%s): bytes "
                       "not at the expected host place", mode ? "mainline" : "patch", i, r->why);
        }
        if (r->op == TO && r->tail)
            TEST_CHECK(memcmp(host_at(k, r->tail), data + 4, 4) == 0, "%s row %zu (%s): tail "
                       "not at the expected host place", mode ? "mainline" : "patch", i, r->why);
        if (r->op == FROM && !r->not_copied)
            TEST_CHECK(back[r->len] == 0xee, "row %zu: copy_from wrote past len", i);
    }
    vm_free(k);
}

static void test_patch_copies(void)
{
    run_copy_rows(KVMM_XIF_PATCH, patch_rows, TEST_N(patch_rows));
}

static void test_mainline_copies(void)
{
    run_copy_rows(KVMM_XIF_MAINLINE, mainline_rows, TEST_N(mainline_rows));
}

/* The patch never marks dirty pages; mainline marks each page it wrote. */
static void test_dirty(void)
{
    for (int mode = 0; mode < 2; mode++) {
        struct kvmm_vm *k = vm_new((enum kvmm_xif_mode)mode);
        layout(k);
        uint8_t d[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
        struct kvmm_xif_res res;
        CU_ASSERT(kvmm_xif_copy_to(k, 0, 0x40000ffc, d, 8, &res) == 0 && res.not_copied == 0);
        const struct kvmm_memslot *s1 = kvmm_memslot_by_id(k->slots, 0, 1);
        TEST_CHECK(kvmm_dirty_test(s1, 0x40000) == mode && kvmm_dirty_test(s1, 0x40001) == mode,
                   "mode %d: copy_to dirty bits", mode);
        vm_free(k);
    }
}

/* ---- vmap ------------------------------------------------------------------------------- */

struct vmap_row {
    const char *why;
    enum kvmm_xif_mode mode;
    uint64_t gpa, len;
    int err;
    uint64_t npages;
};

static const struct vmap_row vmap_rows[] = {
    { "inside slot 1", KVMM_XIF_PATCH, 0x40000100, 0x100, 0, 1 },
    { "slot 1 whole", KVMM_XIF_PATCH, 0x40000000, 0x2000, 0, 2 },
    { "one byte longer than the slot", KVMM_XIF_PATCH, 0x40000000, 0x2001, -EINVAL, 0 },
    { "starts in the last page, runs past the end: the length check lets it through",
      KVMM_XIF_PATCH, 0x40001800, 0x1000, 0, 2 },
    { "past the end and past buffer b's end: get_user_pages fails", KVMM_XIF_PATCH, 0x40003000,
      0x2000, -EFAULT, 0 },
    { "no slot", KVMM_XIF_PATCH, 0x40004000, 0x10, -EINVAL, 0 },
    { "nothing to map", KVMM_XIF_PATCH, 0x40000000, 0, -EFAULT, 0 },
    { "offset inside the page, zero length: one page", KVMM_XIF_PATCH, 0x40000010, 0, 0, 1 },
    { "one page", KVMM_XIF_MAINLINE, 0x40000100, 0x100, 0, 1 },
    { "crosses a page", KVMM_XIF_MAINLINE, 0x40000f00, 0x200, -EINVAL, 0 },
    { "no slot", KVMM_XIF_MAINLINE, 0x40004000, 0x10, -EFAULT, 0 },
};

static void test_vmap_rules(void)
{
    for (size_t i = 0; i < TEST_N(vmap_rows); i++) {
        const struct vmap_row *r = &vmap_rows[i];
        struct kvmm_vm *k = vm_new(r->mode);
        layout(k);
        struct kvmm_xvmap m;
        struct kvmm_xif_res res;
        CU_ASSERT_FATAL(kvmm_xif_vmap(k, &m, r->gpa, r->len, &res) == 0);
        TEST_CHECK(res.err == r->err && res.npages == r->npages && m.live == !r->err,
                   "vmap row %zu (%s): err %d npages %llu", i, r->why, res.err,
                   (unsigned long long)res.npages);
        vm_free(k);
    }
    /* more than PAGE_SIZE / 8 pages: _vmap() refuses, -EFAULT */
    struct kvmm_vm *k = vm_new(KVMM_XIF_PATCH);
    static uint8_t *big;
    big = calloc(1, 0x202000);
    k->buf[2] = (struct kvmm_buffer){ (char *)"big", 0x202000, HVA_A + 0x100000, big };
    k->nbuf = 3;
    CU_ASSERT(set_slot(k, 5, 0, 0x80000000, 0x202000, HVA_A + 0x100000) == 0);
    struct kvmm_xvmap m;
    struct kvmm_xif_res res;
    CU_ASSERT(kvmm_xif_vmap(k, &m, 0x80000000, 512 * 4096, &res) == 0 && res.err == 0 &&
              res.npages == 512);
    CU_ASSERT(kvmm_xif_vmap(k, &m, 0x80000000, 512 * 4096 + 1, &res) == 0 &&
              res.err == -EFAULT);
    vm_free(k);
    free(big);
}

/* A mapping across a DELETE: the patch's pins outlive it, mainline's pfn cache refreshes. */
static void test_vmap_lifetime(void)
{
    for (int mode = 0; mode < 2; mode++) {
        struct kvmm_vm *k = vm_new((enum kvmm_xif_mode)mode);
        layout(k);
        struct kvmm_xvmap m;
        struct kvmm_xif_res res;
        uint8_t w[4] = { 0xa1, 0xa2, 0xa3, 0xa4 };
        CU_ASSERT_FATAL(kvmm_xif_vmap(k, &m, 0x40000100, 0x100, &res) == 0 && !res.err);
        CU_ASSERT(kvmm_xif_vmap_access(k, &m, 0, w, 4, true, &res) == 0 && !res.err);
        const struct kvmm_memslot *s1 = kvmm_memslot_by_id(k->slots, 0, 1);
        TEST_CHECK(kvmm_dirty_test(s1, 0x40000) == mode, "mode %d: vmap write dirty", mode);
        TEST_CHECK(strcmp(last.via, mode ? "pfn_cache" : "search") == 0, "mode %d: via %s",
                   mode, last.via);
        CU_ASSERT(set_slot(k, 1, LOG, 0, 0, HVA_A) == 0);
        CU_ASSERT(kvmm_xif_vmap_access(k, &m, 4, w, 4, true, &res) == 0);
        TEST_CHECK(res.err == (mode ? -EFAULT : 0), "mode %d: write after DELETE: %d", mode,
                   res.err);
        TEST_CHECK((memcmp(k->buf[0].host + 0x104, w, 4) == 0) == !mode,
                   "mode %d: pinned page written", mode);
        kvmm_xif_vmap_put(&m);
        CU_ASSERT(!m.live);
        vm_free(k);
    }
}

/* ---- kvm.bug.stale_slot_cache on kvm_vcpu_gfn_to_memslot() ----------------------------- */

struct stale_row {
    const char *why;
    int op;                      /* 0 lookup, 1 move slot 1 to 4 MiB, 2 delete slot 1, 3 VM-wide */
    uint64_t gfn;
    enum kvmm_lookup_via via[2]; /* knob off, on */
    int base[2];                 /* base gfn of the answer, -1 none */
    bool current[2];             /* the answer is a slot of the table now */
};

#define V(a, b) { KVMM_LOOKUP_##a, KVMM_LOOKUP_##b }
static const struct stale_row stale_rows[] = {
    { "fills the cache", 0, 256, V(SEARCH, SEARCH), { 256, 256 }, { true, true } },
    { "hit", 0, 300, V(VCPU_CACHE, VCPU_CACHE), { 256, 256 }, { true, true } },
    { "MOVE to 4 MiB", 1, 0, V(NONE, NONE), { 0, 0 }, { false, false } },
    { "the old range: off resets the cache; on returns the replaced slot", 0, 256,
      V(NONE, VCPU_CACHE), { -1, 256 }, { false, false } },
    { "the VM-wide lookup has no such bug", 3, 256, V(NONE, NONE), { -1, -1 },
      { false, false } },
    { "the new range refills the cache", 0, 1024, V(SEARCH, SEARCH), { 1024, 1024 },
      { true, true } },
    { "the old range again: now none either way", 0, 256, V(NONE, NONE), { -1, -1 },
      { false, false } },
    { "DELETE", 2, 0, V(NONE, NONE), { 0, 0 }, { false, false } },
    { "a deleted slot keeps answering with the knob", 0, 1100, V(NONE, VCPU_CACHE),
      { -1, 1024 }, { false, false } },
};

static void test_stale_slot_cache(void)
{
    for (int on = 0; on < 2; on++) {
        struct kvmm_slots_params p;
        struct kvmm_slots *s;
        kvmm_slots_params_default(&p, KVMM_ARCH_X86);
        p.bug_stale_slot_cache = on;
        CU_ASSERT_FATAL(kvmm_slots_create(&s, &p) == 0);
        struct kvmm_region r = { .slot = 1, .flags = LOG, .guest_phys_addr = 0x100000,
                                 .memory_size = 0x100000, .userspace_addr = HVA_A };
        struct kvmm_set_result res;
        CU_ASSERT_FATAL(kvmm_memslot_set(s, &r, true, &res) == 0 && !res.err);
        struct kvmm_vcpu_slot_cache c;
        kvmm_vcpu_slot_cache_init(&c);
        for (size_t i = 0; i < TEST_N(stale_rows); i++) {
            const struct stale_row *row = &stale_rows[i];
            if (row->op == 1 || row->op == 2) {
                r.guest_phys_addr = 0x400000;
                r.memory_size = row->op == 1 ? 0x100000 : 0;
                CU_ASSERT(kvmm_memslot_set(s, &r, true, &res) == 0 && !res.err);
                continue;
            }
            enum kvmm_lookup_via via;
            const struct kvmm_memslot *m = row->op == 3 ?
                kvmm_memslot_lookup(s, 0, row->gfn, &via) :
                kvmm_memslot_vcpu_lookup(s, &c, 0, row->gfn, &via);
            bool ok = via == row->via[on] &&
                      (row->base[on] < 0 ? !m : m && m->base_gfn == (uint64_t)row->base[on]) &&
                      kvmm_memslot_current(s, m) == row->current[on];
            /* a write through a retired slot is logged nowhere */
            if (m && !kvmm_memslot_current(s, m))
                ok = ok && !kvmm_dirty_mark_in_slot(s, m, row->gfn);
            TEST_CHECK(ok, "knob %d row %zu (%s): via %s base %lld", on, i, row->why,
                       kvmm_lookup_via_name(via), m ? (long long)m->base_gfn : -1);
        }
        CU_ASSERT(kvmm_slots_check(s));
        kvmm_slots_destroy(s);
    }
}

void test_xif_register(void)
{
    CU_pSuite s = CU_add_suite("xif", NULL, NULL);
    CU_add_test(s, "E copy rules: patch", test_patch_copies);
    CU_add_test(s, "E copy rules: mainline", test_mainline_copies);
    CU_add_test(s, "E dirty log", test_dirty);
    CU_add_test(s, "E vmap rules", test_vmap_rules);
    CU_add_test(s, "E vmap across a DELETE", test_vmap_lifetime);
    CU_add_test(s, "A.5 stale_slot_cache knob", test_stale_slot_cache);
}
