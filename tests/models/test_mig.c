/*
 * test_mig.c - the Xen model's save/restore (mig.h, mig.c): log-dirty marking and
 * XEN_DOMCTL_SHADOW_OP_CLEAN's report-and-clear as data, and what xenm_mig_carry gives the
 * restored domain (docs/models/xen.md, Migration).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/xen/mig.h"
#include "models/xen/xen_int.h"

void test_mig_register(void);

struct seen {
    uint64_t gfn[16];
    unsigned n;
    unsigned stop_after;   /* 0: never stop */
};

static int record(void *ctx, uint64_t gfn)
{
    struct seen *s = ctx;
    if (s->n < 16)
        s->gfn[s->n] = gfn;
    s->n++;
    return s->stop_after && s->n == s->stop_after ? -1 : 0;
}

static void test_mark(void)
{
    static const struct {
        const char *what;
        uint64_t gfn;
        bool marked;
    } rows[] = {
        { "first page of RAM", 0x100, true },
        { "last page of RAM", 0x100 + 99, true },
        { "below RAM", 0xff, false },
        { "past RAM", 0x100 + 100, false },
        { "a page in word 1", 0x100 + 70, true },
    };
    struct xenm_logdirty ld = { 0 };
    xenm_logdirty_mark(&ld, 0x100);                         /* off: nothing */
    CU_ASSERT(!xenm_logdirty_test(&ld, 0x100));
    CU_ASSERT(xenm_logdirty_check(&ld));
    CU_ASSERT_EQUAL_FATAL(xenm_logdirty_enable(&ld, 0x100, 100), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        xenm_logdirty_mark(&ld, rows[i].gfn);
        xenm_logdirty_mark(&ld, rows[i].gfn);               /* twice counts once */
        if (xenm_logdirty_test(&ld, rows[i].gfn) != rows[i].marked)
            printf("\n  row %zu (%s)\n", i, rows[i].what);
        CU_ASSERT(xenm_logdirty_test(&ld, rows[i].gfn) == rows[i].marked);
    }
    CU_ASSERT_EQUAL(ld.count, 3);
    CU_ASSERT(xenm_logdirty_check(&ld));
    xenm_logdirty_disable(&ld);
    CU_ASSERT(xenm_logdirty_check(&ld));
}

static void test_clean(void)
{
    struct xenm_logdirty ld = { 0 };
    CU_ASSERT_EQUAL_FATAL(xenm_logdirty_enable(&ld, 0x10, 200), 0);
    uint64_t marks[] = { 0x10 + 150, 0x10 + 3, 0x10 + 64, 0x10 + 3 };
    for (size_t i = 0; i < 4; i++)
        xenm_logdirty_mark(&ld, marks[i]);
    /* report in gfn order, and clear */
    struct seen s = { 0 };
    CU_ASSERT_EQUAL(xenm_logdirty_clean(&ld, record, &s), 0);
    CU_ASSERT_EQUAL(s.n, 3);
    CU_ASSERT_EQUAL(s.gfn[0], 0x13);
    CU_ASSERT_EQUAL(s.gfn[1], 0x50);
    CU_ASSERT_EQUAL(s.gfn[2], 0xa6);
    CU_ASSERT_EQUAL(ld.count, 0);
    CU_ASSERT(xenm_logdirty_check(&ld));
    /* a second clean finds nothing; a new mark is reported once */
    s = (struct seen){ 0 };
    CU_ASSERT_EQUAL(xenm_logdirty_clean(&ld, record, &s), 0);
    CU_ASSERT_EQUAL(s.n, 0);
    xenm_logdirty_mark(&ld, 0x13);
    CU_ASSERT_EQUAL(xenm_logdirty_clean(&ld, record, &s), 0);
    CU_ASSERT_EQUAL(s.n, 1);
    /* a consumer that stops: the pages not yet reported stay dirty */
    xenm_logdirty_mark(&ld, 0x11);
    xenm_logdirty_mark(&ld, 0x12);
    s = (struct seen){ .stop_after = 1 };
    CU_ASSERT_EQUAL(xenm_logdirty_clean(&ld, record, &s), -1);
    CU_ASSERT(!xenm_logdirty_test(&ld, 0x11));
    CU_ASSERT(xenm_logdirty_test(&ld, 0x12));
    CU_ASSERT_EQUAL(ld.count, 1);
    CU_ASSERT(xenm_logdirty_check(&ld));
    xenm_logdirty_disable(&ld);
}

static struct xenm_vm *new_vm(unsigned cap)
{
    struct xenm_vm *x = calloc(1, sizeof *x);
    x->mem = malloc(sizeof *x->mem);
    xenm_memop_init(x->mem, 0, 1 << 20);
    x->stlb_capacity = cap;
    for (unsigned i = 0; cap && i < HV_MAX_VCPUS; i++) {
        xenm_stlb_init(&x->stlb[i], cap);
        x->stlb_of[i] = (uint8_t)i;
    }
    x->incarnation = 1;
    x->shutdown_code = -1;
    return x;
}

static void free_vm(struct xenm_vm *x)
{
    free(x->mem);
    free(x);
}

static void test_carry(void)
{
    struct xenm_vm *s = new_vm(4), *d = new_vm(2);
    /* vCPU 0 up with registrations and time; vCPU 1 down, resumed at 0x1234 */
    s->vcpu[0].efer = 0xd01;
    s->vcpu[0].a.rs = (struct xenm_runstate){ .state = XENM_RS_running, .entry = 900,
                                              .time = { 800, 100 } };
    s->vcpu[0].a.rs_va = 0x5000;
    s->vcpu[0].a.time_phys = true;
    s->vcpu[0].a.time_gpa = 0x6000;
    s->vcpu[0].a.primary.version = 8;
    s->vcpu[1].down = true;
    s->vcpu[1].rip = 0x1234;
    s->vcpu[1].gpr[7] = 1;
    /* three entries used in the order b, c, a: a table of 2 keeps c and a */
    xenm_stlb_insert(&s->stlb[0], 0xa000, 0x1000, 4096, NULL);
    xenm_stlb_insert(&s->stlb[0], 0xb000, 0x2000, 4096, NULL);
    xenm_stlb_insert(&s->stlb[0], 0xc000, 0x3000, 4096, NULL);
    uint64_t gpa;
    xenm_stlb_lookup(&s->stlb[0], 0xb000, &gpa);
    xenm_stlb_lookup(&s->stlb[0], 0xc000, &gpa);
    xenm_stlb_lookup(&s->stlb[0], 0xa000, &gpa);
    s->stlb_of[1] = 0;
    /* memory: one page given back, one unmapped page from increase_reservation */
    xenm_memop_decrease(s->mem, 5);
    xenm_memop_increase(s->mem);
    s->vmasst_runstate_flag = true;
    s->cons_idx = 3;
    s->hcpage_set = true;
    s->hcpage_gfn = 0x800;

    xenm_mig_carry(s, d, 2, 5000);
    CU_ASSERT(!d->vcpu[0].down && d->vcpu[1].down);
    CU_ASSERT_EQUAL(d->vcpu[0].efer, 0xd01);
    CU_ASSERT_EQUAL(d->vcpu[1].rip, 0x1234);
    CU_ASSERT_EQUAL(d->vcpu[1].gpr[7], 1);
    /* no registration carried; runstates restarted at the restore */
    CU_ASSERT_EQUAL(d->vcpu[0].a.rs_va, 0);
    CU_ASSERT(!d->vcpu[0].a.time_phys);
    CU_ASSERT_EQUAL(d->vcpu[0].a.primary.version, 0);
    CU_ASSERT_EQUAL(d->vcpu[0].a.rs.state, XENM_RS_runnable);
    CU_ASSERT_EQUAL(d->vcpu[0].a.rs.entry, 5000);
    CU_ASSERT_EQUAL(d->vcpu[0].a.rs.time[0], 0);
    CU_ASSERT_EQUAL(d->vcpu[1].a.rs.state, XENM_RS_offline);
    /* software TLB: the two most recently used, the sharing */
    CU_ASSERT_EQUAL(d->stlb[0].n, 2);
    CU_ASSERT(xenm_stlb_check(&d->stlb[0]));
    CU_ASSERT(xenm_stlb_lookup(&d->stlb[0], 0xa000, &gpa) && gpa == 0x1000);
    CU_ASSERT(xenm_stlb_lookup(&d->stlb[0], 0xc000, &gpa) && gpa == 0x3000);
    CU_ASSERT(!xenm_stlb_lookup(&d->stlb[0], 0xb000, &gpa));
    CU_ASSERT_EQUAL(d->stlb_of[1], 0);
    /* populated pages carried, the unmapped one not */
    CU_ASSERT(!xenm_memop_populated(d->mem, 5));
    CU_ASSERT_EQUAL(d->mem->tot_pages, 255);
    CU_ASSERT(xenm_memop_check(d->mem));
    /* the TSC info: incarnation + 1; domain state not in the stream stays new */
    CU_ASSERT_EQUAL(d->incarnation, 2);
    CU_ASSERT(!d->vmasst_runstate_flag);
    CU_ASSERT_EQUAL(d->cons_idx, 0);
    CU_ASSERT_EQUAL(d->shutdown_code, -1);
    CU_ASSERT(d->hcpage_set && d->hcpage_gfn == 0x800);
    free_vm(s);
    free_vm(d);
}

void test_mig_register(void)
{
    CU_pSuite s = CU_add_suite("mig", NULL, NULL);
    CU_add_test(s, "paging_mark_pfn_dirty in and out of RAM", test_mark);
    CU_add_test(s, "SHADOW_OP_CLEAN reports and clears", test_clean);
    CU_add_test(s, "what the restored domain gets", test_carry);
}
