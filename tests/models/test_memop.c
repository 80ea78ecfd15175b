/*
 * test_memop.c - memory_op continuations (docs/sources.md C.4, memop.h): the cmd / start-extent
 * encoding, the result of one leg for each rule, XENMEM_exchange with a start extent, the
 * preemption knob, and the domain's page accounting.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "models/xen/memop.h"
#include "models/xen/xen_int.h"

void test_memop_register(void);

static void test_encoding(void)
{
    static const struct {
        uint64_t cmd;
        unsigned op;
        uint64_t start;
    } rows[] = {
        { 0x0, 0, 0 },              /* increase_reservation, extent 0 */
        { 0x6, 6, 0 },              /* populate_physmap */
        { 0xc6, 6, 3 },             /* 6 | 3 << 6 */
        { 0x41, 1, 1 },             /* decrease_reservation from extent 1 */
        { 0x3f, 0x3f, 0 },          /* the whole op mask */
        { 0x4b, 11, 1 },            /* exchange with start 1 */
        { 0xffffffc6, 6, 0x3ffffff },  /* the largest start a 32-bit cmd holds */
        { 0x1000000006ULL, 6, 0x40000000ULL }, /* a 64-bit cmd keeps its high bits */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        CU_ASSERT_EQUAL(xenm_memop_op(rows[i].cmd), rows[i].op);
        CU_ASSERT_EQUAL(xenm_memop_start(rows[i].cmd), rows[i].start);
        CU_ASSERT_EQUAL(xenm_memop_cmd(rows[i].op, rows[i].start), rows[i].cmd);
    }
    CU_ASSERT_EQUAL(XENM_MEMOP_MAX_EXTENTS, 0x3ffffffu);
}

/* An extent list where extent `fail_at` fails (UINT64_MAX: none); counts the calls. */
struct fake {
    uint64_t fail_at, calls, first, last;
};

static int fake_extent(void *ctx, uint64_t i)
{
    struct fake *f = ctx;
    if (!f->calls)
        f->first = i;
    f->calls++;
    f->last = i;
    return i == f->fail_at;
}

static void test_legs(void)
{
    static const struct {
        const char *what;
        uint64_t cmd;
        bool copy_ok;
        uint64_t nr;
        uint16_t domid;
        uint32_t order;
        const char *preempt;
        bool bug;
        uint64_t fail_at;
        /* expected */
        int64_t ret;
        uint64_t done, calls;
        bool preempted;
        uint64_t next_cmd;
    } rows[] = {
        { "all in one leg", 6, true, 8, 0x7ff0, 0, "never", false, UINT64_MAX,
          8, 8, 8, false, 0 },
        { "every:3 from 0: preempted after 3", 6, true, 8, 0x7ff0, 0, "every:3", false,
          UINT64_MAX, 12, 3, 3, true, 0xc6 },
        { "every:3 from 3", 0xc6, true, 8, 0x7ff0, 0, "every:3", false, UINT64_MAX,
          12, 3, 3, true, 0x186 },
        { "every:3 from 6: the last leg", 0x186, true, 8, 0x7ff0, 0, "every:3", false,
          UINT64_MAX, 8, 2, 2, false, 0 },
        { "every:1: one extent per leg", 0x41, true, 4, 0x7ff0, 0, "every:1", false,
          UINT64_MAX, 12, 1, 1, true, 0x81 },
        { "bug: next start is nr_done + 1", 6, true, 6, 0x7ff0, 0, "every:2", true,
          UINT64_MAX, 12, 2, 2, true, 0xc6 },
        { "an extent fails: extents done", 6, true, 8, 0x7ff0, 0, "never", false, 5,
          5, 5, 6, false, 0 },
        { "the first extent fails: start", 0x106, true, 8, 0x7ff0, 0, "every:1", false, 4,
          4, 0, 1, false, 0 },
        { "copy of the struct fails: start", 0x146, false, 0, 0, 0, "every:1", false,
          UINT64_MAX, 5, 0, 0, false, 0 },
        { "start == nr_extents: start", 0x106, true, 4, 0x7ff0, 0, "never", false,
          UINT64_MAX, 4, 0, 0, false, 0 },
        { "start > nr_extents: start", 0x146, true, 4, 0x7ff0, 0, "never", false,
          UINT64_MAX, 5, 0, 0, false, 0 },
        { "nr_extents > UINT_MAX >> 6: start", 0x46, true, 0x4000000, 0x7ff0, 0, "never",
          false, UINT64_MAX, 1, 0, 0, false, 0 },
        { "nr_extents == UINT_MAX >> 6 accepted", 0xffffff86, true, 0x3ffffff, 0x7ff0, 0,
          "never", false, UINT64_MAX, 0x3ffffff, 1, 1, false, 0 },
        { "own domid", 0, true, 2, 7, 0, "never", false, UINT64_MAX, 2, 2, 2, false, 0 },
        { "another domid: start", 0x40, true, 2, 8, 0, "never", false, UINT64_MAX,
          1, 0, 0, false, 0 },
        { "extent_order != 0: start", 0, true, 2, 0x7ff0, 9, "never", false, UINT64_MAX,
          0, 0, 0, false, 0 },
        { "exchange, start 0: not modeled", 11, true, 2, 0x7ff0, 0, "never", false,
          UINT64_MAX, -XENM_ENOSYS, 0, 0, false, 0 },
        { "exchange, start 1: -EINVAL", 0x4b, true, 2, 0x7ff0, 0, "never", false,
          UINT64_MAX, -XENM_EINVAL, 0, 0, false, 0 },
        { "exchange, start in the high bits: -EINVAL", 0x100000000bULL, true, 2, 0x7ff0, 0,
          "never", false, UINT64_MAX, -XENM_EINVAL, 0, 0, false, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct xenm_reservation r = { 0x1000, rows[i].nr, rows[i].order, 0, rows[i].domid };
        struct xenm_preempt p;
        CU_ASSERT_EQUAL_FATAL(xenm_preempt_parse(rows[i].preempt, 1, &p), 0);
        struct fake f = { .fail_at = rows[i].fail_at };
        struct xenm_leg leg;
        xenm_memop_leg(rows[i].cmd, rows[i].copy_ok ? &r : NULL, 7, &p, rows[i].bug,
                       fake_extent, &f, &leg);
        bool ok = leg.ret == rows[i].ret && leg.done == rows[i].done &&
                  f.calls == rows[i].calls && leg.preempted == rows[i].preempted &&
                  leg.next_cmd == rows[i].next_cmd && leg.rule != NULL &&
                  (!f.calls || f.first == xenm_memop_start(rows[i].cmd));
        if (!ok)
            fprintf(stderr, "row %zu (%s): ret %lld done %llu calls %llu preempted %d "
                            "next_cmd %#llx rule %s\n", i, rows[i].what, (long long)leg.ret,
                    (unsigned long long)leg.done, (unsigned long long)f.calls, leg.preempted,
                    (unsigned long long)leg.next_cmd, leg.rule ? leg.rule : "(null)");
        CU_ASSERT(ok);
    }
}

/* Resuming legs as the guest would (re-executing with next_cmd) covers every extent once;
 * with the bug some are skipped while the final result still says nr_extents. */
static void test_resume(void)
{
    static const struct {
        const char *preempt;
        bool bug;
        uint64_t nr, legs, calls;
    } rows[] = {
        { "never", false, 10, 1, 10 },
        { "every:1", false, 10, 10, 10 },
        { "every:3", false, 10, 4, 10 },
        { "every:10", false, 10, 1, 10 },
        { "every:2", true, 6, 3, 4 },
        { "every:3", true, 10, 3, 8 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct xenm_reservation r = { 0x1000, rows[i].nr, 0, 0, 0x7ff0 };
        struct xenm_preempt p;
        CU_ASSERT_EQUAL_FATAL(xenm_preempt_parse(rows[i].preempt, 0, &p), 0);
        struct fake f = { .fail_at = UINT64_MAX };
        struct xenm_leg leg;
        uint64_t cmd = XENM_MEM_populate_physmap, legs = 0;
        do {
            xenm_memop_leg(cmd, &r, 1, &p, rows[i].bug, fake_extent, &f, &leg);
            legs++;
            CU_ASSERT(leg.done >= 1 || !leg.preempted);
            cmd = leg.next_cmd;
        } while (leg.preempted && legs < 100);
        CU_ASSERT_EQUAL(leg.ret, (int64_t)rows[i].nr);
        CU_ASSERT_EQUAL(legs, rows[i].legs);
        CU_ASSERT_EQUAL(f.calls, rows[i].calls);
    }
}

static void test_preempt_knob(void)
{
    static const struct {
        const char *s;
        int ret;
    } rows[] = {
        { "never", 0 }, { "seed", 0 }, { "every:1", 0 }, { "every:12", 0 },
        { "every:0", -1 }, { "every:", -1 }, { "every:-1", -1 }, { "every:3x", -1 },
        { "always", -1 }, { "", -1 },
    };
    struct xenm_preempt p;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CU_ASSERT_EQUAL(xenm_preempt_parse(rows[i].s, 0, &p), rows[i].ret);
    /* seed: the same seed gives the same decisions, another seed others */
    struct xenm_preempt a, b, c;
    xenm_preempt_parse("seed", 42, &a);
    xenm_preempt_parse("seed", 42, &b);
    xenm_preempt_parse("seed", 43, &c);
    unsigned yes = 0, same_c = 0;
    for (uint64_t k = 1; k <= 256; k++) {
        bool x = xenm_preempt_check(&a, k);
        CU_ASSERT_EQUAL(x, xenm_preempt_check(&b, k));
        same_c += x == xenm_preempt_check(&c, k);
        yes += x;
    }
    CU_ASSERT(yes > 32 && yes < 96);       /* about one in four */
    CU_ASSERT(same_c < 256);
}

static struct xenm_memop mem;

static void test_accounting(void)
{
    xenm_memop_init(&mem, 0, 16 << 20);
    CU_ASSERT_EQUAL(mem.tot_pages, 4096);
    CU_ASSERT_EQUAL(mem.max_pages, 4096 + 256);
    CU_ASSERT(xenm_memop_populated(&mem, 0xfff));
    CU_ASSERT(!xenm_memop_populated(&mem, 0x1000));
    CU_ASSERT_PTR_NULL(xenm_memop_populate(&mem, 0x2000));
    CU_ASSERT_STRING_EQUAL(xenm_memop_populate(&mem, 0x2000), "gfn already populated");
    CU_ASSERT_STRING_EQUAL(xenm_memop_populate(&mem, XENM_MEMOP_GFNS),
                           "gfn beyond the modeled physmap");
    CU_ASSERT_PTR_NULL(xenm_memop_decrease(&mem, 0x2000));
    CU_ASSERT_STRING_EQUAL(xenm_memop_decrease(&mem, 0x2000), "gfn not populated");
    CU_ASSERT_PTR_NULL(xenm_memop_decrease(&mem, 0x10));
    CU_ASSERT_EQUAL(mem.tot_pages, 4095);
    CU_ASSERT_PTR_NULL(xenm_memop_increase(&mem));
    CU_ASSERT_EQUAL(mem.unmapped, 1);
    CU_ASSERT(xenm_memop_check(&mem));
    unsigned added = 0;
    while (!xenm_memop_increase(&mem))
        added++;
    CU_ASSERT_EQUAL(added, 256);           /* up to max_pages */
    CU_ASSERT_STRING_EQUAL(xenm_memop_populate(&mem, 0x3000), "over max_pages");
    CU_ASSERT(xenm_memop_check(&mem));
    mem.tot_pages++;                       /* the check catches a broken count */
    CU_ASSERT(!xenm_memop_check(&mem));
}

static void test_reservation_layout(void)
{
    uint8_t b[XENM_RESERVATION_SIZE] = {
        0x00, 0x50, 0x10, 0, 0, 0, 0, 0,   /* extent_start 0x105000 */
        8, 0, 0, 0, 0, 0, 0, 0,            /* nr_extents 8 */
        2, 0, 0, 0,                        /* extent_order 2 */
        0x20, 0, 0, 0,                     /* mem_flags: address_bits 32 */
        0xf0, 0x7f, 0xaa, 0xbb, 0, 0, 0, 0 /* domid DOMID_SELF, padding */
    };
    struct xenm_reservation r;
    xenm_reservation_decode(b, &r);
    CU_ASSERT_EQUAL(r.extent_start, 0x105000);
    CU_ASSERT_EQUAL(r.nr_extents, 8);
    CU_ASSERT_EQUAL(r.extent_order, 2);
    CU_ASSERT_EQUAL(r.mem_flags, 0x20);
    CU_ASSERT_EQUAL(r.domid, 0x7ff0);
}

void test_memop_register(void)
{
    CU_pSuite s = CU_add_suite("memop", NULL, NULL);
    CU_add_test(s, "cmd / start extent encoding (C.4)", test_encoding);
    CU_add_test(s, "one leg's result per rule, exchange (C.4)", test_legs);
    CU_add_test(s, "resuming legs covers every extent once (C.4)", test_resume);
    CU_add_test(s, "xen.preempt", test_preempt_knob);
    CU_add_test(s, "page accounting", test_accounting);
    CU_add_test(s, "struct xen_memory_reservation layout", test_reservation_layout);
}
