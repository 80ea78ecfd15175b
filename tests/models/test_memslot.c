/*
 * test_memslot.c - the KVM model's memslot table and dirty log (models/kvm/memslot.c) against
 * the Linux v6.12 rules of reference sections A.1-A.7 and the guest-free cases of A.9.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "models/kvm/memslot.h"
#include "sim/hv_err.h"
#include "tests/models/memslot_rows.h"

void test_memslot_register(void);


/* ---- fixtures --------------------------------------------------------------------------- */

/* Every re-arm report, in order. */
struct rearm_rec { uint16_t id; uint64_t offset, mask; };
static struct {
    size_t n;
    struct rearm_rec e[64];
} rearmed;

static void record_rearm(void *ctx, const struct kvmm_memslot *slot, uint64_t off, uint64_t mask)
{
    (void)ctx;
    if (rearmed.n < 64)
        rearmed.e[rearmed.n] = (struct rearm_rec){ slot->id, off, mask };
    rearmed.n++;
}



static struct kvmm_slots *mk_params(const struct kvmm_slots_params *p)
{
    struct kvmm_slots *s = NULL;
    CU_ASSERT_EQUAL_FATAL(kvmm_slots_create(&s, p), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

static struct kvmm_slots *mk(enum cfg c)
{
    struct kvmm_slots_params p;
    memslot_rows_params(c, &p);
    p.rearm = record_rearm;
    return mk_params(&p);
}

static struct kvmm_region region(uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
                                 uint64_t hva)
{
    return (struct kvmm_region){ .slot = slot, .flags = flags, .guest_phys_addr = gpa,
                                 .memory_size = size, .userspace_addr = hva };
}

/* KVM_SET_USER_MEMORY_REGION2, modeled result returned (STYLE 6: the _raw helper). */
static struct kvmm_set_result set_raw(struct kvmm_slots *s, struct kvmm_region r, bool v2)
{
    struct kvmm_set_result res;
    CU_ASSERT_EQUAL(kvmm_memslot_set(s, &r, v2, &res), 0);
    CU_ASSERT_FALSE(res.window);
    return res;
}

/* The checked helper: the update must succeed. */
static void set_ok(struct kvmm_slots *s, uint32_t slot, uint32_t flags, uint64_t gpa,
                   uint64_t size, uint64_t hva)
{
    struct kvmm_set_result res = set_raw(s, region(slot, flags, gpa, size, hva), true);
    if (res.err)
        fprintf(stderr, "\nset_ok(slot %#x): %d %s\n", slot, res.err, kvmm_rule_name(res.rule));
    CU_ASSERT_EQUAL_FATAL(res.err, 0);
}

/* The slots every rule row starts from (address space 0). */
static void prior_state(struct kvmm_slots *s, enum cfg c)
{
    struct kvmm_region r[4];
    size_t n = memslot_rows_prior(c, r);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL_FATAL(set_raw(s, r[i], true).err, 0);
}

/* A printable copy of all slots, to show that a refused update changed nothing. */
static size_t snapshot(const struct kvmm_slots *s, char *buf, size_t size)
{
    size_t len = 0;
    for (unsigned a = 0; a < kvmm_slots_params(s)->nr_as; a++)
        for (size_t i = 0; i < kvmm_memslot_count(s, a); i++) {
            const struct kvmm_memslot *m = kvmm_memslot_at(s, a, i);
            len += (size_t)snprintf(buf + len, size - len, "%u:%u %llx+%llx %x %llx %p;", a,
                                    m->id, (unsigned long long)m->base_gfn,
                                    (unsigned long long)m->npages, m->flags,
                                    (unsigned long long)m->userspace_addr,
                                    (void *)m->dirty_bitmap);
            if (len >= size)
                return size;
        }
    return len;
}

/* ---- A.1-A.3: one row per rule, in the kernel's order ----------------------------------- */



static void test_rules(void)
{
    for (size_t i = 0; i < memslot_nrule_rows; i++) {
        const struct rule_row *row = &memslot_rule_rows[i];
        struct kvmm_slots *s = mk(row->cfg);
        prior_state(s, row->cfg);
        unsigned nr_as = kvmm_slots_params(s)->nr_as;
        unsigned as = row->r.slot >> 16 < nr_as ? row->r.slot >> 16 : 0;
        uint64_t gen[KVMM_MAX_NR_AS] = { 0 };
        for (unsigned a = 0; a < nr_as; a++)
            gen[a] = kvmm_memslot_generation(s, a);
        char before[4096], after[4096];
        snapshot(s, before, sizeof before);

        struct kvmm_set_result res = set_raw(s, row->r, row->v2);

        bool ok = res.err == row->err && res.rule == row->rule && res.change == row->change;
        for (unsigned a = 0; a < nr_as; a++) {
            uint64_t want = gen[a] + (a == as ? row->swaps * nr_as : 0);
            ok = ok && kvmm_memslot_generation(s, a) == want;
        }
        if (row->err) {   /* a refused update leaves every slot as it was */
            snapshot(s, after, sizeof after);
            ok = ok && strcmp(before, after) == 0;
        }
        if (!ok)
            fprintf(stderr, "\nrow %zu (%s): err %d rule %s change %s gen %llu\n", i, row->why,
                    res.err, kvmm_rule_name(res.rule), kvmm_change_name(res.change),
                    (unsigned long long)kvmm_memslot_generation(s, as));
        CU_ASSERT(ok);
        CU_ASSERT(kvmm_slots_check(s));
        kvmm_slots_destroy(s);
    }
}

/* Every rule has a name, a section and the errno its table says. */
static void test_rule_names(void)
{
    for (int r = 0; r < KVMM_RULE__COUNT; r++) {
        CU_ASSERT_STRING_NOT_EQUAL(kvmm_rule_section((enum kvmm_rule)r), "?");
        CU_ASSERT_STRING_NOT_EQUAL(kvmm_rule_text((enum kvmm_rule)r), "?");
        CU_ASSERT_STRING_NOT_EQUAL(kvmm_rule_name((enum kvmm_rule)r), "?");
    }
    CU_ASSERT_STRING_EQUAL(kvmm_rule_section(KVMM_RULE_HVA), "A.3.4");
    CU_ASSERT_STRING_EQUAL(kvmm_change_name(KVMM_CHANGE_FLAGS_ONLY), "flags_only");
    CU_ASSERT_STRING_EQUAL(kvmm_lookup_via_name(KVMM_LOOKUP_VCPU_CACHE), "vcpu_cache");
}

/* ---- A.9 test_invalid_memory_region_flags ----------------------------------------------- */

static void test_flag_bits(void)
{
    for (unsigned variant = 0; variant < 4; variant++) {
        bool readonly = variant & 1, priv = variant & 2;
        struct kvmm_slots_params p;
        kvmm_slots_params_default(&p, KVMM_ARCH_X86);
        p.readonly_mem = readonly;
        p.private_mem = priv;
        p.nr_as = priv ? 1 : 2;
        struct kvmm_slots *s = mk_params(&p);
        uint32_t v1_ok = LOG | (readonly ? RO : 0);
        uint32_t v2_ok = v1_ok | (priv ? GMEM : 0);
        for (unsigned bit = 0; bit < 32; bit++) {
            uint32_t flag = 1u << bit;
            for (int v2 = 0; v2 < 2; v2++) {
                bool want = flag & (v2 ? v2_ok : v1_ok);
                struct kvmm_set_result res = set_raw(s, region(0, flag, 0, MB2, HVA), v2);
                if ((res.err == 0) != want)
                    fprintf(stderr, "\nbit %u v%d ro %d priv %d: err %d\n", bit, v2 + 1,
                            readonly, priv, res.err);
                CU_ASSERT_EQUAL(res.err, want ? 0 : -EINVAL);
                if (!want)
                    CU_ASSERT(res.rule == (v2 || (flag & KVMM_MEM_V1_FLAGS) ? KVMM_RULE_FLAGS
                                                                             : KVMM_RULE_V1_FLAGS));
                if (res.err == 0)
                    set_ok(s, 0, 0, 0, 0, HVA);
            }
        }
        if (priv) {
            CU_ASSERT_EQUAL(set_raw(s, region(0, GMEM | LOG, 0, MB2, HVA), true).err, -EINVAL);
            CU_ASSERT_EQUAL(set_raw(s, region(0, GMEM | RO, 0, MB2, HVA), true).err, -EINVAL);
        }
        CU_ASSERT_EQUAL(kvmm_memslot_count(s, 0), 0);
        kvmm_slots_destroy(s);
    }
}

/* ---- A.9 test_add_max_memory_regions ---------------------------------------------------- */

static void add_max(unsigned max)
{
    struct kvmm_slots_params p;
    kvmm_slots_params_default(&p, KVMM_ARCH_X86);
    p.max_user_slots = max;
    struct kvmm_slots *s = mk_params(&p);
    unsigned created = 0;
    for (unsigned slot = 0; slot < max; slot++) {
        uint64_t gpa = (uint64_t)slot * MB2;
        struct kvmm_set_result res = set_raw(s, region(slot, 0, gpa, MB2, HVA + gpa), false);
        created += res.err == 0 && res.change == KVMM_CHANGE_CREATE;
    }
    CU_ASSERT_EQUAL(created, max);
    struct kvmm_set_result res =
        set_raw(s, region(max, 0, (uint64_t)max * MB2, MB2, HVA + (uint64_t)max * MB2), false);
    CU_ASSERT_EQUAL(res.err, -EINVAL);
    CU_ASSERT_EQUAL(res.rule, KVMM_RULE_USER_SLOT_ID);
    CU_ASSERT_EQUAL(kvmm_memslot_count(s, 0), max);
    CU_ASSERT_EQUAL(kvmm_memslot_total_pages(s), (uint64_t)max * 512);
    CU_ASSERT_EQUAL(kvmm_memslot_generation(s, 0), 2ull * max);
    unsigned found = 0;
    for (unsigned slot = 0; slot < max; slot++) {
        const struct kvmm_memslot *m = kvmm_memslot_search(s, 0, (uint64_t)slot * 512 + 511);
        found += m && m->id == slot;
    }
    CU_ASSERT_EQUAL(found, max);
    CU_ASSERT(kvmm_slots_check(s));
    kvmm_slots_destroy(s);
}

static void test_max_slots(void)
{
    add_max(64);
    add_max(KVMM_USER_SLOTS_OLD_X86);
    add_max(KVMM_USER_SLOTS_X86);
}

/* ---- A.4/A.5 lookups, caches and generations -------------------------------------------- */

enum lk_op { L_SET, L_BEGIN, L_FINISH, L_VM, L_VCPU };

struct lk_row {
    const char *why;
    enum lk_op op;
    unsigned vcpu;               /* L_VCPU: which vCPU's cache */
    unsigned as;
    uint64_t gfn;
    struct kvmm_region r;        /* L_SET, L_BEGIN */
    int id;                      /* lookups: the slot id expected, -1 for none */
    enum kvmm_lookup_via via;
    uint32_t flags;              /* lookups: the flags expected of the slot */
    uint64_t gen;                /* generation of `as` after the row */
};

#define SET(why, as_, r_, gen_) { why, L_SET, 0, as_, 0, r_, -1, 0, 0, gen_ }
#define BEGIN(why, r_, gen_) { why, L_BEGIN, 0, 0, 0, r_, -1, 0, 0, gen_ }
#define FINISH(why, gen_) { why, L_FINISH, 0, 0, 0, R(0, 0, 0, 0, 0), -1, 0, 0, gen_ }
#define VM(why, as_, gfn_, id_, via_, fl_, gen_) \
    { why, L_VM, 0, as_, gfn_, R(0, 0, 0, 0, 0), id_, KVMM_LOOKUP_##via_, fl_, gen_ }
#define VCPU(why, c_, as_, gfn_, id_, via_, fl_, gen_) \
    { why, L_VCPU, c_, as_, gfn_, R(0, 0, 0, 0, 0), id_, KVMM_LOOKUP_##via_, fl_, gen_ }
#define INV KVMM_MEMSLOT_INVALID

static const struct lk_row lk_rows[] = {
    SET("create slot 1 [0x100,0x200)", 0, R(1, 0, MB, MB, HVA + MB), 2),
    SET("create slot 2 [0x200,0x300)", 0, R(2, 0, 2 * MB, MB, HVA + 2 * MB), 4),
    VM("first lookup searches", 0, 0x150, 1, SEARCH, 0, 4),
    VM("then the VM-wide cache", 0, 0x1ff, 1, VM_CACHE, 0, 4),
    VM("adjacent slot: end exclusive", 0, 0x200, 2, SEARCH, 0, 4),
    VM("cache refilled", 0, 0x2ff, 2, VM_CACHE, 0, 4),
    VM("hole", 0, 0x300, -1, NONE, 0, 4),
    VM("a miss keeps the cache", 0, 0x250, 2, VM_CACHE, 0, 4),
    VCPU("vCPU 0 searches", 0, 0, 0x150, 1, SEARCH, 0, 4),
    VM("vCPU search left the VM cache alone", 0, 0x260, 2, VM_CACHE, 0, 4),
    VCPU("vCPU 0 cache", 0, 0, 0x160, 1, VCPU_CACHE, 0, 4),
    VCPU("vCPU 1 searches", 1, 0, 0x260, 2, SEARCH, 0, 4),
    VCPU("no thrashing between vCPUs", 0, 0, 0x170, 1, VCPU_CACHE, 0, 4),
    VCPU("AS 1 (SMM): other generation, reset", 0, 1, 0x150, -1, NONE, 0, 1),
    VCPU("back in AS 0: reset again", 0, 0, 0x150, 1, SEARCH, 0, 4),
    SET("create slot 3: one swap", 0, R(3, 0, 4 * MB, MB, HVA + 4 * MB), 6),
    VCPU("generation moved: vCPU cache reset", 0, 0, 0x151, 1, SEARCH, 0, 6),
    VM("the other memslot set's cache is empty", 0, 0x250, 2, SEARCH, 0, 6),
    SET("create slot 4: swap back", 0, R(4, 0, 5 * MB, MB, HVA + 5 * MB), 8),
    VM("this set's cache from its last active period", 0, 0x2aa, 2, VM_CACHE, 0, 8),
    SET("slot 2 logging on: FLAGS_ONLY", 0, R(2, LOG, 2 * MB, MB, HVA + 2 * MB), 10),
    VM("the cache followed the replacement", 0, 0x2bb, 2, VM_CACHE, LOG, 10),
    VCPU("vCPU 1 reset, finds the new object", 1, 0, 0x2bb, 2, SEARCH, LOG, 10),
    SET("delete slot 2: two swaps", 0, R(2, 0, 0, 0, 0), 14),
    VM("deleted", 0, 0x2bb, -1, NONE, 0, 14),
    VCPU("deleted (vCPU)", 1, 0, 0x2bb, -1, NONE, 0, 14),
    VM("slot 1", 0, 0x150, 1, SEARCH, 0, 14),
    BEGIN("MOVE slot 1: INVALID window", R(1, 0, 16 * MB, MB, HVA + MB), 16),
    VM("the INVALID copy, found by search", 0, 0x150, 1, SEARCH, INV, 16),
    VM("... and cached", 0, 0x151, 1, VM_CACHE, INV, 16),
    VCPU("vCPU sees the INVALID copy", 0, 0, 0x150, 1, SEARCH, INV, 16),
    VM("not yet at the new base", 0, 0x1050, -1, NONE, 0, 16),
    FINISH("commit the MOVE", 18),
    VM("old range empty", 0, 0x150, -1, NONE, 0, 18),
    VM("new base, cache followed old -> new", 0, 0x1050, 1, VM_CACHE, 0, 18),
    VCPU("vCPU searches the new base", 0, 0, 0x1050, 1, SEARCH, 0, 18),
    VCPU("vCPU cache", 0, 0, 0x10ff, 1, VCPU_CACHE, 0, 18),
    BEGIN("delete slot 3: window", R(3, 0, 0, 0, 0), 20),
    VM("INVALID while deleting", 0, 0x400, 3, SEARCH, INV, 20),
    FINISH("commit the DELETE", 22),
    VM("gone", 0, 0x400, -1, NONE, 0, 22),
    SET("AS 1: slot 5 over AS 0's old slot 1", 1, R(AS1 | 5, 0, MB, MB, HVA + 9 * MB), 3),
    VM("AS 1 lookup", 1, 0x150, 5, SEARCH, 0, 3),
    VM("AS 0 untouched", 0, 0x150, -1, NONE, 0, 22),
    VCPU("vCPU in AS 1", 0, 1, 0x150, 5, SEARCH, 0, 3),
    VCPU("vCPU back in AS 0", 0, 0, 0x1050, 1, SEARCH, 0, 22),
};

static void test_lookup_caches(void)
{
    struct kvmm_slots *s = mk(X86);
    struct kvmm_vcpu_slot_cache vc[2];
    kvmm_vcpu_slot_cache_init(&vc[0]);
    kvmm_vcpu_slot_cache_init(&vc[1]);
    struct kvmm_set_result win = { 0 };
    CU_ASSERT_EQUAL(kvmm_memslot_generation(s, 0), 0);
    CU_ASSERT_EQUAL(kvmm_memslot_generation(s, 1), 1);
    for (size_t i = 0; i < sizeof lk_rows / sizeof lk_rows[0]; i++) {
        const struct lk_row *row = &lk_rows[i];
        const struct kvmm_memslot *m = NULL;
        enum kvmm_lookup_via via = KVMM_LOOKUP_NONE;
        bool ok = true;
        switch (row->op) {
        case L_SET:
            ok = set_raw(s, row->r, true).err == 0;
            break;
        case L_BEGIN:
            ok = kvmm_memslot_begin(s, &row->r, true, &win) == 0 && win.err == 0 && win.window &&
                 kvmm_memslot_in_window(s);
            break;
        case L_FINISH:
            kvmm_memslot_finish(s, &win);
            ok = win.err == 0 && !win.window && !kvmm_memslot_in_window(s);
            break;
        case L_VM:
            m = kvmm_memslot_lookup(s, row->as, row->gfn, &via);
            break;
        case L_VCPU:
            m = kvmm_memslot_vcpu_lookup(s, &vc[row->vcpu], row->as, row->gfn, &via);
            break;
        }
        if (row->op == L_VM || row->op == L_VCPU) {
            ok = via == row->via && (row->id < 0 ? !m : m && m->id == row->id &&
                                     m->flags == row->flags &&
                                     kvmm_memslot_usable(m) == !(row->flags & INV));
            /* the answer never depends on the caches */
            ok = ok && m == kvmm_memslot_search(s, row->as, row->gfn);
        }
        ok = ok && kvmm_memslot_generation(s, row->as) == row->gen;
        if (!ok)
            fprintf(stderr, "\nlookup row %zu (%s): slot %d via %s gen %llu\n", i, row->why,
                    m ? m->id : -1, kvmm_lookup_via_name(via),
                    (unsigned long long)kvmm_memslot_generation(s, row->as));
        CU_ASSERT(ok);
    }
    CU_ASSERT(kvmm_slots_check(s));
    kvmm_slots_destroy(s);
}

/* arm64 has one address space: every swap advances the generation by 1. */
static void test_generation_arm64(void)
{
    struct kvmm_slots *s = mk(ARM64);
    const struct { struct kvmm_region r; uint64_t gen; } rows[] = {
        { R(1, 0, MB, MB, HVA), 1 },                 /* CREATE */
        { R(1, LOG, MB, MB, HVA), 2 },               /* FLAGS_ONLY */
        { R(1, LOG, MB, MB, HVA), 2 },               /* NONE */
        { R(1, LOG, 4 * MB, MB, HVA), 4 },           /* MOVE */
        { R(1, LOG, 1ull << 40, MB, HVA), 6 },       /* MOVE refused inside the window */
        { R(2, 0, 4 * MB, MB, HVA), 6 },             /* EEXIST: no swap */
        { R(1, 0, 0, 0, 0), 8 },                     /* DELETE */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        set_raw(s, rows[i].r, true);
        CU_ASSERT_EQUAL(kvmm_memslot_generation(s, 0), rows[i].gen);
    }
    kvmm_slots_destroy(s);
}

/* A refused MOVE puts the very same slot object back, and the caches follow it. */
static void test_move_rollback(void)
{
    struct kvmm_slots *s = mk(X86);
    set_ok(s, 1, LOG, MB, MB, HVA + MB);
    const struct kvmm_memslot *before = kvmm_memslot_by_id(s, 0, 1);
    uint64_t *bitmap = before->dirty_bitmap;
    CU_ASSERT(kvmm_dirty_mark(s, 0, 0x105, NULL));
    CU_ASSERT_PTR_EQUAL(kvmm_memslot_lookup(s, 0, 0x150, NULL), before);

    struct kvmm_set_result res;
    struct kvmm_region r = region(1, LOG, 1ull << 46, MB, HVA + MB);
    CU_ASSERT_EQUAL(kvmm_memslot_begin(s, &r, true, &res), 0);
    CU_ASSERT(res.window);
    enum kvmm_lookup_via via;
    const struct kvmm_memslot *inv = kvmm_memslot_lookup(s, 0, 0x150, &via);
    CU_ASSERT_EQUAL(via, KVMM_LOOKUP_SEARCH);   /* the other set's cache was empty */
    CU_ASSERT_FALSE(kvmm_memslot_usable(inv));
    kvmm_memslot_finish(s, &res);
    CU_ASSERT_EQUAL(res.err, -EINVAL);
    CU_ASSERT_EQUAL(res.rule, KVMM_RULE_X86_MAX_GFN);

    CU_ASSERT_PTR_EQUAL(kvmm_memslot_by_id(s, 0, 1), before);
    CU_ASSERT_PTR_EQUAL(before->dirty_bitmap, bitmap);
    CU_ASSERT(kvmm_dirty_test(before, 0x105));
    /* The cache of the set active again still names the old object. */
    CU_ASSERT_PTR_EQUAL(kvmm_memslot_lookup(s, 0, 0x160, &via), before);
    CU_ASSERT_EQUAL(via, KVMM_LOOKUP_VM_CACHE);
    kvmm_slots_destroy(s);
}

/* Destroying a table with an open window frees everything (ASan's leak check). */
static void test_destroy_in_window(void)
{
    for (int del = 0; del < 2; del++) {
        struct kvmm_slots *s = mk(X86);
        set_ok(s, 1, LOG, MB, MB, HVA + MB);
        struct kvmm_set_result res;
        struct kvmm_region r = del ? region(1, 0, 0, 0, 0) : region(1, 0, 8 * MB, MB, HVA + MB);
        CU_ASSERT_EQUAL(kvmm_memslot_begin(s, &r, true, &res), 0);
        CU_ASSERT(kvmm_memslot_in_window(s));
        CU_ASSERT(kvmm_slots_check(s));
        kvmm_slots_destroy(s);
    }
    kvmm_slots_destroy(NULL);
}

static void test_bad_params(void)
{
    for (int i = 0; i < 7; i++) {
        struct kvmm_slots_params p;
        kvmm_slots_params_default(&p, i < 6 ? KVMM_ARCH_X86 : KVMM_ARCH_ARM64);
        switch (i) {
        case 0: p.nr_as = 3; break;
        case 1: p.nr_as = 0; break;
        case 2: p.max_user_slots = KVMM_MEM_SLOTS_NUM + 1; break;
        case 3: p.manual_caps = 2; break;
        case 4: p.private_mem = true; break;   /* x86 private-memory VMs have one AS */
        case 5: p.x86_phys_bits = 12; break;
        case 6: p.arm64_ipa_bits = 60; break;
        }
        struct kvmm_slots *s = (struct kvmm_slots *)&p;   /* must come back NULL */
        CU_ASSERT_EQUAL(kvmm_slots_create(&s, &p), HV_EINVAL);
        CU_ASSERT_PTR_NULL(s);
    }
}

/* ---- randomized: lookup == linear scan -------------------------------------------------- */

#define RND_IDS 4096
#define RND_SPACE (1ull << 20)       /* gfns */

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    uint64_t x = rnd_state;       /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rnd_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

struct shadow { bool present; uint64_t base, npages; };

static int scan(const struct shadow *sh, uint64_t gfn)
{
    for (int id = 0; id < RND_IDS; id++)
        if (sh[id].present && gfn >= sh[id].base && gfn < sh[id].base + sh[id].npages)
            return id;
    return -1;
}

static void test_random_lookup(void)
{
    static struct shadow sh[2][RND_IDS];
    memset(sh, 0, sizeof sh);
    struct kvmm_slots *s = mk(X86);
    struct kvmm_vcpu_slot_cache vc[3];
    for (int i = 0; i < 3; i++)
        kvmm_vcpu_slot_cache_init(&vc[i]);
    unsigned mismatches = 0, updates = 0, lookups = 0, max_slots = 0;
    for (int step = 0; step < 6000; step++) {
        unsigned as = rnd() % 2, id = rnd() % RND_IDS;
        uint64_t npages = id % 61 + 1;   /* fixed per id: no resizing */
        uint64_t base = rnd() % RND_SPACE;
        bool del = rnd() % 8 == 0;
        uint64_t hva = HVA + (uint64_t)id * 64 * KB4;
        struct kvmm_region r = region(as << 16 | id, 0, del ? 0 : base << 12,
                                      del ? 0 : npages << 12, hva);
        /* Expected outcome from the shadow. */
        int want = 0;
        if (del) {
            want = sh[as][id].present ? 0 : -EINVAL;
        } else if (!(sh[as][id].present && sh[as][id].base == base)) {
            for (int o = 0; o < RND_IDS && !want; o++)
                if (o != (int)id && sh[as][o].present && sh[as][o].base < base + npages &&
                    base < sh[as][o].base + sh[as][o].npages)
                    want = -EEXIST;
        }
        struct kvmm_set_result res = set_raw(s, r, true);
        mismatches += res.err != want;
        if (res.err == 0) {
            sh[as][id] = (struct shadow){ !del, base, npages };
            updates++;
        }
        size_t n = kvmm_memslot_count(s, 0) + kvmm_memslot_count(s, 1);
        max_slots = n > max_slots ? (unsigned)n : max_slots;
        for (int k = 0; k < 3; k++) {
            unsigned la = rnd() % 2;
            uint64_t gfn = rnd() % (RND_SPACE + 64);
            int expect = scan(sh[la], gfn);
            const struct kvmm_memslot *m;
            switch (rnd() % 3) {
            case 0: m = kvmm_memslot_lookup(s, la, gfn, NULL); break;
            case 1: m = kvmm_memslot_vcpu_lookup(s, &vc[rnd() % 3], la, gfn, NULL); break;
            default: m = kvmm_memslot_search(s, la, gfn); break;
            }
            mismatches += expect < 0 ? m != NULL : !(m && m->id == expect);
            lookups++;
            /* a gfn just inside a cached slot: the caches are exercised on hits too */
            if (m) {
                uint64_t g2 = m->base_gfn + rnd() % m->npages;
                const struct kvmm_memslot *m2 = kvmm_memslot_lookup(s, la, g2, NULL);
                const struct kvmm_memslot *m3 = kvmm_memslot_vcpu_lookup(s, &vc[0], la, g2, NULL);
                mismatches += m2 != m || m3 != m;
                lookups += 2;
            }
        }
    }
    if (mismatches)
        fprintf(stderr, "\nrandom: %u mismatches\n", mismatches);
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT(max_slots >= 2000);   /* thousands of slots */
    CU_ASSERT(updates > 3000 && lookups > 18000);
    CU_ASSERT(kvmm_slots_check(s));
    kvmm_slots_destroy(s);
}

/* ---- A.7 dirty log ---------------------------------------------------------------------- */

/* A logging table: slot 1 [0x100, +256) without logging, slot 2 of npages with logging. */
static struct kvmm_slots *dirty_table(uint64_t manual, uint64_t npages)
{
    struct kvmm_slots *s = mk(X86);
    int err = 1;
    CU_ASSERT_EQUAL(kvmm_dirty_enable_manual(s, manual, 0, &err), 0);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    set_ok(s, 1, 0, MB, MB, HVA + MB);
    set_ok(s, 2, LOG, 2 * MB, npages * KB4, HVA + 2 * MB);
    rearmed.n = 0;
    return s;
}

/* The table of the GET (clear false) or CLEAR rows (memslot_rows.h), manual protect on or off. */
static struct kvmm_slots *dirty_rows_table(uint64_t manual, bool clear)
{
    struct kvmm_slots *s = mk(X86);
    struct kvmm_region r[3];
    int err = 1;
    CU_ASSERT_EQUAL(kvmm_dirty_enable_manual(s, manual, 0, &err), 0);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    for (size_t i = 0, n = dirty_rows_prior(clear, r); i < n; i++)
        CU_ASSERT_EQUAL_FATAL(set_raw(s, r[i], true).err, 0);
    rearmed.n = 0;
    return s;
}

static int get_log(struct kvmm_slots *s, uint32_t slot, uint8_t *out, size_t len)
{
    int err = 12345;
    CU_ASSERT_EQUAL(kvmm_dirty_get_log(s, slot, out, len, &err), 0);
    return err;
}

static int clear_log(struct kvmm_slots *s, uint32_t slot, uint64_t first, uint32_t num,
                     const uint8_t *bm, size_t len)
{
    int err = 12345;
    CU_ASSERT_EQUAL(kvmm_dirty_clear_log(s, slot, first, num, bm, len, &err), 0);
    return err;
}

static void test_dirty_get_rules(void)
{
    static uint8_t buf[64];
    for (uint64_t manual = 0; manual < 2; manual++) {
        struct kvmm_slots *s = dirty_rows_table(manual, false);
        for (size_t i = 0; i < dirty_nget_rows; i++) {
            const struct dirty_get_row *row = &dirty_get_rows[i];
            int err = get_log(s, row->slot, row->nobuf ? NULL : buf, row->len);
            if (err != row->err)
                fprintf(stderr, "\nGET row %zu (%s) manual %llu: %d\n", i, row->why,
                        (unsigned long long)manual, err);
            CU_ASSERT_EQUAL(err, row->err);
        }
        kvmm_slots_destroy(s);
    }
}

static void test_dirty_get_default(void)
{
    struct kvmm_slots *s = dirty_table(0, 100);
    const struct kvmm_memslot *m = kvmm_memslot_by_id(s, 0, 2);
    CU_ASSERT_EQUAL(kvmm_dirty_bitmap_bytes(m), 16);   /* ALIGN(100, 64) / 8 */
    const uint64_t pages[] = { 0, 9, 63, 64, 99 };
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT(kvmm_dirty_mark(s, 0, 0x200 + pages[i], NULL));
    CU_ASSERT_FALSE(kvmm_dirty_mark(s, 0, 0x209, NULL));     /* already dirty */
    CU_ASSERT_FALSE(kvmm_dirty_mark(s, 0, 0x150, NULL));     /* slot 1 does not log */
    CU_ASSERT_FALSE(kvmm_dirty_mark(s, 0, 0x264, NULL));     /* past slot 2: a hole */
    CU_ASSERT_FALSE(kvmm_dirty_mark(s, 1, 0x209, NULL));     /* AS 1 has no slot there */
    CU_ASSERT_EQUAL(rearmed.n, 0);

    uint8_t out[16], want[16] = { 0 };
    want[0] = 0x01; want[1] = 0x02; want[7] = 0x80; want[8] = 0x01; want[12] = 0x08;
    memset(out, 0xee, sizeof out);
    CU_ASSERT_EQUAL(get_log(s, 2, out, sizeof out), 0);
    CU_ASSERT_EQUAL(memcmp(out, want, sizeof out), 0);       /* LE bits; past npages zero */
    CU_ASSERT_EQUAL(rearmed.n, 2);                           /* exactly the dirty pages */
    CU_ASSERT(rearmed.e[0].id == 2 && rearmed.e[0].offset == 0 &&
              rearmed.e[0].mask == ((1ull << 0) | (1ull << 9) | (1ull << 63)));
    CU_ASSERT(rearmed.e[1].offset == 64 && rearmed.e[1].mask == ((1ull << 0) | (1ull << 35)));

    /* Snapshot-and-clear: nothing left; writes after the snapshot show up next time. */
    rearmed.n = 0;
    CU_ASSERT_EQUAL(get_log(s, 2, out, sizeof out), 0);
    memset(want, 0, sizeof want);
    CU_ASSERT_EQUAL(memcmp(out, want, sizeof out), 0);
    CU_ASSERT_EQUAL(rearmed.n, 0);
    CU_ASSERT(kvmm_dirty_mark_in_slot(s, m, 0x205));
    CU_ASSERT_EQUAL(get_log(s, 2, out, sizeof out), 0);
    CU_ASSERT_EQUAL(out[0], 0x20);

    /* A copy-out that faults has already cleared (and re-armed) the bits. */
    CU_ASSERT(kvmm_dirty_mark(s, 0, 0x201, NULL));
    rearmed.n = 0;
    CU_ASSERT_EQUAL(get_log(s, 2, out, 8), -EFAULT);
    CU_ASSERT_EQUAL(rearmed.n, 1);
    CU_ASSERT_FALSE(kvmm_dirty_test(m, 0x201));
    CU_ASSERT_EQUAL(get_log(s, 2, out, sizeof out), 0);
    CU_ASSERT_EQUAL(out[0], 0);
    kvmm_slots_destroy(s);
}

static void test_dirty_get_manual(void)
{
    struct kvmm_slots *s = dirty_table(KVMM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, 100);
    CU_ASSERT(kvmm_dirty_mark(s, 0, 0x203, NULL));
    CU_ASSERT(kvmm_dirty_mark(s, 0, 0x250, NULL));
    uint8_t out[16];
    for (int pass = 0; pass < 2; pass++) {   /* the live bitmap, not cleared */
        CU_ASSERT_EQUAL(get_log(s, 2, out, sizeof out), 0);
        CU_ASSERT_EQUAL(out[0], 0x08);
        CU_ASSERT_EQUAL(out[10], 0x01);      /* page 80 */
    }
    CU_ASSERT_EQUAL(rearmed.n, 0);           /* nothing re-armed by GET */
    uint8_t ones[16];
    memset(ones, 0xff, sizeof ones);
    CU_ASSERT_EQUAL(clear_log(s, 2, 0, 64, ones, sizeof ones), 0);
    CU_ASSERT_EQUAL(rearmed.n, 1);
    CU_ASSERT(rearmed.e[0].offset == 0 && rearmed.e[0].mask == 1ull << 3);
    CU_ASSERT_EQUAL(get_log(s, 2, out, sizeof out), 0);
    CU_ASSERT_EQUAL(out[0], 0);
    CU_ASSERT_EQUAL(out[10], 0x01);          /* outside the cleared range */
    /* Turning manual protect off goes back to snapshot-and-clear. */
    int err = 1;
    kvmm_dirty_enable_manual(s, 0, 0, &err);
    CU_ASSERT_EQUAL(err, 0);
    CU_ASSERT_EQUAL(get_log(s, 2, out, sizeof out), 0);
    CU_ASSERT_EQUAL(out[10], 0x01);
    CU_ASSERT_EQUAL(get_log(s, 2, out, sizeof out), 0);
    CU_ASSERT_EQUAL(out[10], 0);
    kvmm_slots_destroy(s);
}

static void test_dirty_clear_rules(void)
{
    static uint8_t bm[64];
    for (uint64_t manual = 0; manual < 4; manual += 3) {   /* CLEAR works in both modes */
        struct kvmm_slots *s = dirty_rows_table(manual, true);
        for (size_t i = 0; i < dirty_nclear_rows; i++) {
            const struct dirty_clear_row *row = &dirty_clear_rows[i];
            int err = clear_log(s, row->slot, row->first, row->num, row->nobuf ? NULL : bm,
                                row->len);
            if (err != row->err)
                fprintf(stderr, "\nCLEAR row %zu (%s): %d\n", i, row->why, err);
            CU_ASSERT_EQUAL(err, row->err);
        }
        kvmm_slots_destroy(s);
    }
}

static void test_dirty_clear_effect(void)
{
    /* INITIALLY_SET: all 200 pages start dirty, none armed. */
    struct kvmm_slots *s = dirty_table(3, 200);
    const struct kvmm_memslot *m = kvmm_memslot_by_id(s, 0, 2);
    uint8_t ones[16], out[32];
    memset(ones, 0xff, sizeof ones);
    CU_ASSERT_EQUAL(clear_log(s, 2, 128, 72, ones, sizeof ones), 0);
    CU_ASSERT_EQUAL(rearmed.n, 2);       /* pages 128..199; user bits past the end ignored */
    CU_ASSERT(rearmed.e[0].offset == 128 && rearmed.e[0].mask == ~0ull);
    CU_ASSERT(rearmed.e[1].offset == 192 && rearmed.e[1].mask == 0xff);
    CU_ASSERT_EQUAL(get_log(s, 2, out, sizeof out), 0);
    for (int i = 0; i < 16; i++)
        CU_ASSERT_EQUAL(out[i], 0xff);
    for (int i = 16; i < 32; i++)
        CU_ASSERT_EQUAL(out[i], 0);
    rearmed.n = 0;                       /* clearing clear bits re-arms nothing */
    CU_ASSERT_EQUAL(clear_log(s, 2, 128, 72, ones, sizeof ones), 0);
    CU_ASSERT_EQUAL(rearmed.n, 0);
    const uint8_t pick[8] = { 0x05 };    /* pages 0 and 2 only */
    CU_ASSERT_EQUAL(clear_log(s, 2, 0, 64, pick, sizeof pick), 0);
    CU_ASSERT(rearmed.n == 1 && rearmed.e[0].mask == 0x5);
    CU_ASSERT_FALSE(kvmm_dirty_test(m, 0x200));
    CU_ASSERT(kvmm_dirty_test(m, 0x201));
    CU_ASSERT_FALSE(kvmm_dirty_test(m, 0x202));
    /* A cleared page is dirtied again by the next store. */
    CU_ASSERT(kvmm_dirty_mark(s, 0, 0x200, NULL));
    kvmm_slots_destroy(s);
}

static void test_enable_cap(void)
{
    for (size_t i = 0; i < manual_ncap_rows; i++) {
        const struct manual_cap_row *row = &manual_cap_rows[i];
        struct kvmm_slots_params p;
        kvmm_slots_params_default(&p, KVMM_ARCH_ARM64);
        p.manual_caps = row->caps;
        struct kvmm_slots *s = mk_params(&p);
        int err = 1;
        CU_ASSERT_EQUAL(kvmm_dirty_enable_manual(s, row->args0, row->flags, &err), 0);
        if (err != row->err)
            fprintf(stderr, "\nENABLE_CAP row %zu: %d\n", i, err);
        CU_ASSERT_EQUAL(err, row->err);
        CU_ASSERT_EQUAL(kvmm_dirty_manual(s), row->err ? 0 : row->args0);
        kvmm_slots_destroy(s);
    }
    /* A refused call keeps the previous mode; 0 turns it off. */
    struct kvmm_slots *s = mk(X86);
    int err;
    kvmm_dirty_enable_manual(s, 3, 0, &err);
    kvmm_dirty_enable_manual(s, 2, 0, &err);
    CU_ASSERT_EQUAL(err, -EINVAL);
    CU_ASSERT_EQUAL(kvmm_dirty_manual(s), 3);
    kvmm_dirty_enable_manual(s, 0, 0, &err);
    CU_ASSERT_EQUAL(kvmm_dirty_manual(s), 0);
    kvmm_slots_destroy(s);
}

/* Bitmap lifetime across updates (A.4): one row per transition. */
static void test_bitmap_fate(void)
{
    const struct {
        const char *why;
        uint64_t manual;
        uint32_t flags0;              /* slot 1 created with these flags at [0x100, +100) */
        bool mark;                    /* page 0x103 and the slot's page 70 marked */
        struct kvmm_region r;         /* then this update */
        int err;
        enum kvmm_bitmap_fate fate;
        bool kept;                    /* page 3 and 70 still dirty afterwards */
        int first_word;               /* expected GET word 0 low byte, -1: ENOENT */
    } rows[] = {
        { "CREATE with logging", 0, 0, false, R(2, LOG, 8 * MB, 100 * KB4, HVA),
      0, KVMM_BITMAP_ZEROED, false, 0 },
        { "CREATE with INITIALLY_SET", 3, 0, false, R(2, LOG, 8 * MB, 100 * KB4, HVA),
      0, KVMM_BITMAP_ALL_SET, false, 0xff },
        { "CREATE, ENABLE only", 1, 0, false, R(2, LOG, 8 * MB, 100 * KB4, HVA),
      0, KVMM_BITMAP_ZEROED, false, 0 },
        { "CREATE without logging", 3, 0, false, R(2, 0, 8 * MB, 100 * KB4, HVA),
      0, KVMM_BITMAP_NONE, false, -1 },
        { "MOVE keeps the bitmap", 0, LOG, true, R(1, LOG, 8 * MB, 100 * KB4, HVA + MB),
      0, KVMM_BITMAP_REUSED, true, 0x08 },
        { "MOVE, INITIALLY_SET: still reused", 3, LOG, true, R(1, LOG, 8 * MB, 100 * KB4, HVA + MB),
      0, KVMM_BITMAP_REUSED, true, 0xff },
        { "MOVE turning logging off", 0, LOG, true, R(1, 0, 8 * MB, 100 * KB4, HVA + MB),
      0, KVMM_BITMAP_NONE, false, -1 },
        { "MOVE turning logging on", 0, 0, false, R(1, LOG, 8 * MB, 100 * KB4, HVA + MB),
      0, KVMM_BITMAP_ZEROED, false, 0 },
        { "MOVE on, INITIALLY_SET", 3, 0, false, R(1, LOG, 8 * MB, 100 * KB4, HVA + MB),
      0, KVMM_BITMAP_ALL_SET, false, 0xff },
        { "FLAGS_ONLY logging off", 0, LOG, true, R(1, 0, MB, 100 * KB4, HVA + MB),
      0, KVMM_BITMAP_NONE, false, -1 },
        { "FLAGS_ONLY logging on", 0, 0, false, R(1, LOG, MB, 100 * KB4, HVA + MB),
      0, KVMM_BITMAP_ZEROED, false, 0 },
        { "FLAGS_ONLY on, INITIALLY_SET", 3, 0, false, R(1, LOG, MB, 100 * KB4, HVA + MB),
      0, KVMM_BITMAP_ALL_SET, false, 0xff },
        { "identical re-issue", 0, LOG, true, R(1, LOG, MB, 100 * KB4, HVA + MB),
      0, KVMM_BITMAP_REUSED, true, 0x08 },
        { "refused MOVE keeps the bits", 0, LOG, true, R(1, LOG, 1ull << 46, 100 * KB4, HVA + MB),
      -EINVAL, KVMM_BITMAP_NONE, true, 0x08 },
        { "EEXIST keeps the bits", 0, LOG, true, R(1, LOG, 0, 100 * KB4, HVA + MB),
      -EEXIST, KVMM_BITMAP_NONE, true, 0x08 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct kvmm_slots *s = mk(X86);
        int err;
        kvmm_dirty_enable_manual(s, rows[i].manual, 0, &err);
        set_ok(s, 9, 0, 0, MB / 2, HVA + 64 * MB);      /* [0, 0x80): for the EEXIST row */
        set_ok(s, 1, rows[i].flags0, MB, 100 * KB4, HVA + MB);
        if (rows[i].mark) {
            kvmm_dirty_mark(s, 0, 0x103, NULL);
            kvmm_dirty_mark(s, 0, 0x100 + 70, NULL);
        }
        struct kvmm_set_result res = set_raw(s, rows[i].r, true);
        const struct kvmm_memslot *m = kvmm_memslot_by_id(s, 0, rows[i].r.slot & 0xffff);
        bool ok = res.err == rows[i].err && res.bitmap == rows[i].fate && m;
        if (ok && rows[i].kept)
            ok = kvmm_dirty_test(m, m->base_gfn + 3) && kvmm_dirty_test(m, m->base_gfn + 70);
        uint8_t out[16];
        err = get_log(s, rows[i].r.slot & 0xffff, out, sizeof out);
        if (rows[i].first_word < 0)
            ok = ok && err == -ENOENT && (!m || !m->dirty_bitmap);
        else
            ok = ok && err == 0 && out[0] == rows[i].first_word && out[13] == 0;
        if (!ok)
            fprintf(stderr, "\nbitmap row %zu (%s): err %d fate %d GET %d\n", i, rows[i].why,
                    res.err, res.bitmap, err);
        CU_ASSERT(ok);
        CU_ASSERT(kvmm_slots_check(s));
        kvmm_slots_destroy(s);
    }
}

/* ---- A.7 with the dirty ring: which write pushes, re-arming, ENXIO, bitmap backing -------- */

/* A guest store to page rel of the slot at 2 MiB: did it push, and what. */
static bool store(struct kvmm_slots *s, uint64_t rel, uint32_t *slot, uint64_t *off)
{
    return kvmm_dirty_guest_store(s, 0, (2 * MB >> 12) + rel, slot, off);
}

static void test_dirty_ring(void)
{
    struct kvmm_slots *s = mk(X86);
    uint32_t slot = 0;
    uint64_t off = 0;
    uint8_t bm[16];
    CU_ASSERT_EQUAL_FATAL(kvmm_dirty_ring_on(s), 0);
    set_ok(s, 1, 0, MB, MB, HVA + MB);
    set_ok(s, 2, LOG, 2 * MB, 128 * KB4, HVA + 2 * MB);
    const struct kvmm_memslot *m = kvmm_memslot_by_slot(s, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_NULL(m->dirty_bitmap);               /* no bitmap with the ring */
    CU_ASSERT_PTR_NOT_NULL(m->ring_dirty);
    /* the first store to an armed page faults and pushes; the next does not */
    CU_ASSERT(store(s, 3, &slot, &off) && slot == 2 && off == 3);
    CU_ASSERT(!store(s, 3, &slot, &off));
    /* a write KVM makes for a vCPU pushes whatever the page's state */
    slot = 0, off = 0;
    CU_ASSERT(kvmm_dirty_mark_vcpu(s, m, m->base_gfn + 3, &slot, &off) && slot == 2 && off == 3);
    /* no vCPU running and no bitmap: lost (the kernel's WARN) */
    CU_ASSERT(!kvmm_dirty_mark_in_slot(s, m, m->base_gfn + 4));
    CU_ASSERT_EQUAL(kvmm_dirty_lost(s), 1);
    /* a slot that does not log pushes nothing, and loses nothing */
    CU_ASSERT(!kvmm_dirty_guest_store(s, 0, MB >> 12, &slot, &off));
    CU_ASSERT(!kvmm_dirty_mark_in_slot(s, kvmm_memslot_by_slot(s, 1), MB >> 12));
    CU_ASSERT_EQUAL(kvmm_dirty_lost(s), 1);
    /* a reset re-arms the run, if its last page is inside the slot */
    rearmed.n = 0;
    kvmm_dirty_ring_rearm(s, 2, 3, 1);
    CU_ASSERT(rearmed.n == 1 && rearmed.e[0].id == 2 && rearmed.e[0].offset == 3);
    CU_ASSERT(store(s, 3, &slot, &off));
    CU_ASSERT(store(s, 127, &slot, &off) && store(s, 126, &slot, &off));
    kvmm_dirty_ring_rearm(s, 2, 126, 0x3);             /* 126 + fls(0x3) = 127: inside */
    CU_ASSERT(store(s, 127, &slot, &off));
    kvmm_dirty_ring_rearm(s, 2, 127, 0x3);             /* 127 + 1 = 128: the whole run skipped */
    CU_ASSERT(!store(s, 127, &slot, &off));
    kvmm_dirty_ring_rearm(s, 3, 0, 1);                 /* no slot 3: nothing */
    kvmm_dirty_ring_rearm(s, AS1 | 2, 0, 1);           /* no such slot in AS 1 */
    rearmed.n = 0;
    kvmm_dirty_ring_rearm(s, AS2 | 2, 0, 1);           /* no AS 2 */
    CU_ASSERT_EQUAL(rearmed.n, 0);
    /* GET and CLEAR: ENXIO first, even for an address space the VM lacks */
    CU_ASSERT_EQUAL(get_log(s, 2, bm, sizeof bm), -ENXIO);
    CU_ASSERT_EQUAL(get_log(s, AS2 | 2, bm, sizeof bm), -ENXIO);
    CU_ASSERT_EQUAL(clear_log(s, 2, 1, 64, bm, sizeof bm), -ENXIO);
    int err = 0;
    kvmm_dirty_ring_with_bitmap(s, 0, &err);           /* x86 does not need it */
    CU_ASSERT_EQUAL(err, -EINVAL);
    /* logging off and on again (FLAGS_ONLY): every page armed again */
    set_ok(s, 2, 0, 2 * MB, 128 * KB4, HVA + 2 * MB);
    CU_ASSERT_PTR_NULL(kvmm_memslot_by_slot(s, 2)->ring_dirty);
    CU_ASSERT(!store(s, 3, &slot, &off));              /* not logging: nothing */
    set_ok(s, 2, LOG, 2 * MB, 128 * KB4, HVA + 2 * MB);
    CU_ASSERT(store(s, 127, &slot, &off));
    /* FLAGS_ONLY under INITIALLY_SET leaves the mappings writable: nothing armed */
    CU_ASSERT_EQUAL(kvmm_dirty_enable_manual(s, 3, 0, &err), 0);
    set_ok(s, 2, 0, 2 * MB, 128 * KB4, HVA + 2 * MB);
    set_ok(s, 2, LOG, 2 * MB, 128 * KB4, HVA + 2 * MB);
    CU_ASSERT(!store(s, 5, &slot, &off));
    /* ... but a MOVE has no mappings yet: armed */
    set_ok(s, 2, LOG, 4 * MB, 128 * KB4, HVA + 2 * MB);
    CU_ASSERT(kvmm_dirty_guest_store(s, 0, (4 * MB >> 12) + 5, &slot, &off) && off == 5);
    CU_ASSERT(kvmm_slots_check(s));
    kvmm_slots_destroy(s);

    /* arm64 with bitmap backing: enabled before any slot; writes with no vCPU reach it */
    s = mk(ARM64);
    CU_ASSERT_EQUAL(kvmm_dirty_ring_on(s), 0);
    CU_ASSERT_EQUAL(kvmm_dirty_ring_with_bitmap(s, 1, &err), 0);
    CU_ASSERT_EQUAL(err, -EINVAL);                     /* flags */
    CU_ASSERT_EQUAL(kvmm_dirty_ring_with_bitmap(s, 0, &err), 0);
    CU_ASSERT_EQUAL(err, 0);
    set_ok(s, 2, LOG, 2 * MB, 128 * KB4, HVA + 2 * MB);
    m = kvmm_memslot_by_slot(s, 2);
    CU_ASSERT(m->dirty_bitmap && m->ring_dirty);
    CU_ASSERT(kvmm_dirty_mark_in_slot(s, m, m->base_gfn + 1));
    CU_ASSERT(store(s, 2, &slot, &off));               /* a vCPU's store: the ring only */
    memset(bm, 0, sizeof bm);
    CU_ASSERT_EQUAL(get_log(s, 2, bm, sizeof bm), 0);
    CU_ASSERT_EQUAL(bm[0], 0x02);
    CU_ASSERT_EQUAL(get_log(s, AS1 | 2, bm, sizeof bm), -EINVAL);
    CU_ASSERT_EQUAL(kvmm_dirty_ring_with_bitmap(s, 0, &err), 0);
    CU_ASSERT_EQUAL(err, -EINVAL);                     /* a slot exists now */
    CU_ASSERT(kvmm_slots_check(s));
    kvmm_slots_destroy(s);

    /* a ring turned on over a logging slot: armed where its bitmap bit is clear */
    s = mk(X86);
    set_ok(s, 2, LOG, 2 * MB, 128 * KB4, HVA + 2 * MB);
    kvmm_dirty_mark(s, 0, (2 * MB >> 12) + 7, NULL);
    CU_ASSERT_EQUAL(kvmm_dirty_ring_on(s), 0);
    CU_ASSERT(!store(s, 7, &slot, &off));
    CU_ASSERT(store(s, 8, &slot, &off));
    CU_ASSERT(kvmm_slots_check(s));
    kvmm_slots_destroy(s);
}

void test_memslot_register(void)
{
    CU_pSuite s = CU_add_suite("memslot", NULL, NULL);
    CU_add_test(s, "A.1-A.3 rule table", test_rules);
    CU_add_test(s, "rule names", test_rule_names);
    CU_add_test(s, "A.9 flag bits 0-31", test_flag_bits);
    CU_add_test(s, "A.9 max slots", test_max_slots);
    CU_add_test(s, "A.4/A.5 lookups, caches, generations", test_lookup_caches);
    CU_add_test(s, "A.4 arm64 generation", test_generation_arm64);
    CU_add_test(s, "A.4 refused MOVE rolls back", test_move_rollback);
    CU_add_test(s, "destroy inside a window", test_destroy_in_window);
    CU_add_test(s, "bad parameters", test_bad_params);
    CU_add_test(s, "random lookups = linear scan", test_random_lookup);
    CU_add_test(s, "A.7 GET rules", test_dirty_get_rules);
    CU_add_test(s, "A.7 GET default mode", test_dirty_get_default);
    CU_add_test(s, "A.7 GET manual mode", test_dirty_get_manual);
    CU_add_test(s, "A.7 CLEAR rules", test_dirty_clear_rules);
    CU_add_test(s, "A.7 CLEAR effect, INITIALLY_SET", test_dirty_clear_effect);
    CU_add_test(s, "A.7 ENABLE_CAP", test_enable_cap);
    CU_add_test(s, "A.4 bitmap across updates", test_bitmap_fate);
    CU_add_test(s, "A.7 dirty ring: pushes, re-arms, ENXIO, bitmap backing", test_dirty_ring);
}
