/*
 * test_stlb.c - the software TLB of the 2022 proposal (docs/sources.md C.6, stlb.h): insert,
 * purge, lookup, capacity and least-recently-used eviction as one table of operations run in
 * order against one table, and the translation order (physical, lookup, walk, encrypted).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "models/xen/xen_int.h"

void test_stlb_register(void);

enum op { INS, PURGE, LOOK };

/*
 * One operation and what it must give: ret is insert's result (0, 1 = evicted, -errno) or
 * purge's count; for a lookup, ret is 1 for a hit with gpa, 0 for a miss. n is the number of
 * entries afterwards; evicted is the va of the entry an insert evicted.
 */
struct row {
    enum op op;
    uint64_t va, gpa, size;
    int ret;
    uint64_t want_gpa;
    unsigned n;
    uint64_t evicted;
};

#define K 0x1000ULL

static const struct row rows[] = {
    /* insert: alignment, size and wrap rules (-EINVAL = -22) */
    { INS, 0x10000, 0x200000, 0, -22, 0, 0, 0 },
    { INS, 0x10001, 0x200000, K, -22, 0, 0, 0 },
    { INS, 0x10000, 0x200800, K, -22, 0, 0, 0 },
    { INS, 0x10000, 0x200000, 0x800, -22, 0, 0, 0 },
    { INS, 0xfffffffffffff000ULL, 0x200000, 2 * K, -22, 0, 0, 0 },
    { INS, 0x10000, 0xfffffffffffff000ULL, 2 * K, -22, 0, 0, 0 },
    { INS, 0xfffffffffffff000ULL, 0x300000, K, 0, 0, 1, 0 },       /* up to 2^64: fine */
    { LOOK, 0xffffffffffffffffULL, 0, 0, 1, 0x300fff, 1, 0 },
    { PURGE, 0xfffffffffffff800ULL, 0, 0x10000, 1, 0, 0, 0 },      /* range past 2^64 */
    /* insert, hit at every offset, miss just outside */
    { INS, 0x10000, 0x200000, 2 * K, 0, 0, 1, 0 },
    { LOOK, 0x10000, 0, 0, 1, 0x200000, 1, 0 },
    { LOOK, 0x11fff, 0, 0, 1, 0x201fff, 1, 0 },
    { LOOK, 0x12000, 0, 0, 0, 0, 1, 0 },
    { LOOK, 0xffff, 0, 0, 0, 0, 1, 0 },
    /* overlap in va is -EEXIST (-17); the same gpa twice is allowed */
    { INS, 0x11000, 0x900000, K, -17, 0, 1, 0 },
    { INS, 0xf000, 0x900000, 2 * K, -17, 0, 1, 0 },
    { INS, 0x20000, 0x200000, K, 0, 0, 2, 0 },
    { INS, 0x30000, 0x400000, K, 0, 0, 3, 0 },
    /* capacity 3: the least recently used goes. 0x10000 was used last by a lookup before
     * 0x20000 and 0x30000 were inserted, so it is the oldest */
    { INS, 0x40000, 0x500000, K, 1, 0, 3, 0x10000 },
    { LOOK, 0x10000, 0, 0, 0, 0, 3, 0 },
    /* a hit refreshes: 0x20000 is used, so 0x30000 is now the oldest */
    { LOOK, 0x20000, 0, 0, 1, 0x200000, 3, 0 },
    { INS, 0x50000, 0x600000, K, 1, 0, 3, 0x30000 },
    { LOOK, 0x30000, 0, 0, 0, 0, 3, 0 },
    { LOOK, 0x40000, 0, 0, 1, 0x500000, 3, 0 },
    /* purge: a range overlapping one entry, a range between entries, then all */
    { PURGE, 0x20800, 0, 0x100, 1, 0, 2, 0 },
    { LOOK, 0x20000, 0, 0, 0, 0, 2, 0 },
    { PURGE, 0x21000, 0, 0x1f000, 0, 0, 2, 0 },
    { PURGE, 0x3ffff, 0, 0x11002, 2, 0, 0, 0 },
    { INS, 0x60000, 0x700000, K, 0, 0, 1, 0 },
    { INS, 0x61000, 0x701000, K, 0, 0, 2, 0 },
    { PURGE, 0x123, 0, 0, 2, 0, 0, 0 },                          /* size 0: all */
    { LOOK, 0x60000, 0, 0, 0, 0, 0, 0 },
    { PURGE, 0, 0, 0, 0, 0, 0, 0 },
};

static void test_table_ops(void)
{
    struct xenm_stlb t;
    xenm_stlb_init(&t, 3);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        struct xenm_stlb_entry ev = { 0 };
        uint64_t gpa = 0;
        int ret;
        switch (r->op) {
        case INS:
            ret = xenm_stlb_insert(&t, r->va, r->gpa, r->size, &ev);
            break;
        case PURGE:
            ret = (int)xenm_stlb_purge(&t, r->va, r->size);
            break;
        default:
            ret = xenm_stlb_lookup(&t, r->va, &gpa);
            break;
        }
        if (ret != r->ret || t.n != r->n || (r->op == LOOK && gpa != r->want_gpa) ||
            (r->op == INS && ret == 1 && ev.va != r->evicted))
            printf("\n  row %zu: ret %d n %u gpa 0x%llx evicted 0x%llx\n", i, ret, t.n,
                   (unsigned long long)gpa, (unsigned long long)ev.va);
        CU_ASSERT_EQUAL(ret, r->ret);
        CU_ASSERT_EQUAL(t.n, r->n);
        if (r->op == LOOK)
            CU_ASSERT_EQUAL(gpa, r->want_gpa);
        if (r->op == INS && ret == 1)
            CU_ASSERT_EQUAL(ev.va, r->evicted);
        CU_ASSERT(xenm_stlb_check(&t));
    }
}

static void test_capacity(void)
{
    /* capacity 1..64: a full table always evicts exactly one entry, the oldest */
    static const unsigned caps[] = { 1, 2, 7, XENM_STLB_MAX };
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        struct xenm_stlb t;
        xenm_stlb_init(&t, caps[c]);
        for (unsigned i = 0; i < caps[c] + 5; i++) {
            struct xenm_stlb_entry ev = { 0 };
            int ret = xenm_stlb_insert(&t, (uint64_t)i * K, 0x100000 + (uint64_t)i * K, K, &ev);
            CU_ASSERT_EQUAL(ret, i < caps[c] ? 0 : 1);
            if (ret == 1)
                CU_ASSERT_EQUAL(ev.va, (uint64_t)(i - caps[c]) * K);
            CU_ASSERT_EQUAL(t.n, i < caps[c] ? i + 1 : caps[c]);
        }
        uint64_t gpa;
        CU_ASSERT(!xenm_stlb_lookup(&t, 4 * K, &gpa));
        CU_ASSERT(xenm_stlb_lookup(&t, (uint64_t)(caps[c] + 4) * K, &gpa));
    }
}

/* ---- translation order: a tiny guest with paging off, so the walk gives gpa = va ---- */

static uint8_t ram[4][4096];

static uint8_t *page_of(void *ctx, uint64_t gfn)
{
    (void)ctx;
    return gfn < 4 ? ram[gfn] : NULL;
}

static unsigned notes, note_hits;
static enum xenm_walk_why note_why;

static void note(void *ctx, unsigned table, uint64_t va, bool hit, const struct xenm_walk *w)
{
    (void)ctx;
    (void)va;
    CU_ASSERT_EQUAL(table, 5);
    notes++;
    note_hits += hit;
    note_why = w->why;
}

static void test_translate(void)
{
    static const struct {
        bool phys, encrypted, has_table;
        uint64_t va;
        enum xenm_walk_why why;
        uint64_t gpa;
        unsigned notes, hits;
    } rows2[] = {
        { false, false, false, 0x1000, XENM_WALK_OK, 0x1000, 0, 0 },    /* no table: walk */
        { false, false, true, 0x7000, XENM_WALK_OK, 0x2000, 1, 1 },     /* hit */
        { false, false, true, 0x1000, XENM_WALK_OK, 0x1000, 1, 0 },     /* miss: walk */
        { false, true, true, 0x7000, XENM_WALK_OK, 0x2000, 1, 1 },      /* encrypted hit */
        { false, true, true, 0x1000, XENM_WALK_STLB_MISS, 0, 1, 0 },    /* encrypted miss */
        { true, true, true, 0x3000, XENM_WALK_OK, 0x3000, 0, 0 },       /* physical: no lookup */
    };
    struct xenm_mem m = { page_of, NULL, NULL };
    struct xenm_stlb t;
    xenm_stlb_init(&t, 2);
    CU_ASSERT_EQUAL(xenm_stlb_insert(&t, 0x7000, 0x2000, K, NULL), 0);
    for (size_t i = 0; i < sizeof rows2 / sizeof rows2[0]; i++) {
        struct xenm_stlb_use u = { rows2[i].has_table ? &t : NULL, 5, rows2[i].encrypted,
                                   rows2[i].phys, note, NULL, NULL };
        struct xenm_paging p = { .maxphysaddr = 48, .stlb = &u }; /* CR0.PG = 0 */
        struct xenm_walk w;
        notes = note_hits = 0;
        CU_ASSERT_EQUAL(xenm_stlb_translate(&m, &p, rows2[i].va, 0, &w), rows2[i].why);
        CU_ASSERT_EQUAL(w.gpa, rows2[i].gpa);
        CU_ASSERT_EQUAL(notes, rows2[i].notes);
        CU_ASSERT_EQUAL(note_hits, rows2[i].hits);
        if (notes)
            CU_ASSERT_EQUAL(note_why, rows2[i].why);
    }
    /* through copy: an encrypted miss stops the copy on the page that missed */
    struct xenm_stlb_use u = { &t, 5, true, false, note, NULL, NULL };
    struct xenm_paging p = { .maxphysaddr = 48, .stlb = &u };
    struct xenm_copy c;
    memset(ram[2], 0, 4096);
    CU_ASSERT_EQUAL(xenm_copy_to_guest(&m, &p, 0x7ffc, "abcdefgh", 8, &c), 8);
    CU_ASSERT_EQUAL(c.done, 4);
    CU_ASSERT_EQUAL(c.walk.why, XENM_WALK_STLB_MISS);
    CU_ASSERT_EQUAL(memcmp(ram[2] + 0xffc, "abcd", 4), 0);
}

/* xen.bug.stlb_purge_shared: a vCPU's lookaside keeps answering for a page another vCPU
 * purged from their shared table; the purging vCPU's own lookaside is cleared. */
static void test_purge_lookaside(void)
{
    struct xenm_mem m = { page_of, NULL, NULL };
    struct xenm_stlb t;
    xenm_stlb_init(&t, 2);
    CU_ASSERT_EQUAL(xenm_stlb_insert(&t, 0x7000, 0x2000, K, NULL), 0);
    struct xenm_stlb_last a = { false, 0, 0 }, b = { false, 0, 0 };
    struct xenm_stlb_use ua = { &t, 5, false, false, note, NULL, &a };
    struct xenm_stlb_use ub = { &t, 5, false, false, note, NULL, &b };
    struct xenm_paging pa = { .maxphysaddr = 48, .stlb = &ua };
    struct xenm_paging pb = { .maxphysaddr = 48, .stlb = &ub };
    struct xenm_walk w;
    /* both hit, so both lookasides hold the page */
    CU_ASSERT_EQUAL(xenm_stlb_translate(&m, &pa, 0x7123, 0, &w), XENM_WALK_OK);
    CU_ASSERT_EQUAL(w.gpa, 0x2123);
    CU_ASSERT_EQUAL(xenm_stlb_translate(&m, &pb, 0x7456, 0, &w), XENM_WALK_OK);
    CU_ASSERT(a.valid && a.va == 0x7000 && a.gpa == 0x2000 && b.valid);
    /* vCPU b purges: the table loses the entry, b's lookaside is cleared, a's is not */
    CU_ASSERT_EQUAL(xenm_stlb_purge(&t, 0x7000, K), 1);
    b.valid = false;
    notes = note_hits = 0;
    CU_ASSERT_EQUAL(xenm_stlb_translate(&m, &pa, 0x7010, 0, &w), XENM_WALK_OK);
    CU_ASSERT_EQUAL(w.gpa, 0x2010);                     /* the purged entry answers */
    CU_ASSERT_EQUAL(note_hits, 1);
    notes = note_hits = 0;
    CU_ASSERT_EQUAL(xenm_stlb_translate(&m, &pb, 0x7010, 0, &w), XENM_WALK_OK);
    CU_ASSERT_EQUAL(w.gpa, 0x7010);                     /* a miss: the walk (CR0.PG = 0) */
    CU_ASSERT_EQUAL(note_hits, 0);
}

void test_stlb_register(void)
{
    CU_pSuite s = CU_add_suite("stlb", NULL, NULL);
    CU_add_test(s, "insert/purge/lookup/eviction table (C.6)", test_table_ops);
    CU_add_test(s, "xen.bug.stlb_purge_shared: a lookaside outlives a purge", test_purge_lookaside);
    CU_add_test(s, "capacity 1..64 evicts the oldest (C.6)", test_capacity);
    CU_add_test(s, "translation order: physical, lookup, walk, encrypted (C.6)",
                test_translate);
}
