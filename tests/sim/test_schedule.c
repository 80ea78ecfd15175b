/*
 * test_schedule.c - schedules as data (sim/schedule.c): the text form, and the rules by which
 * a loaded schedule makes each decision (hv.h): its own entry while its list lasts, the next
 * runnable vCPU when the named one cannot run, round-robin slices of HV_SCHED_TAIL * quantum
 * past the end, no preemption past the end, points kept in their range, and the seed's
 * choices (recorded) when nothing was loaded.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"
#include "tests/test_util.h"

void test_schedule_register(void);

/* ---- the text form ---- */

static const struct {
    const char *text;
    int err;                 /* 0 or the hv_err */
} load_rows[] = {
    { "", 0 },
    { "# comment only\n", 0 },
    { "slice 0 10\nslice 1 5\npreempt 1\npoint 2 40\n", 0 },
    { "slice 1 1", 0 },                          /* no final newline */
    { "slice 0 0\n", HV_EINVAL },                /* budget 0 */
    { "slice 64 10\n", HV_EINVAL },              /* no such vCPU */
    { "slice 0\n", HV_EINVAL },
    { "preempt 2\n", HV_EINVAL },
    { "preempt 1 1\n", HV_EINVAL },
    { "point 1\n", HV_EINVAL },
    { "slice 0 10 extra\n", HV_EINVAL },
    { "yield 0 10\n", HV_EINVAL },
};

static void test_load(void)
{
    for (size_t i = 0; i < TEST_N(load_rows); i++) {
        struct hv_schedule *s;
        CU_ASSERT_FATAL(hv_schedule_create(&s) == 0);
        int err = hv_schedule_load(s, load_rows[i].text, strlen(load_rows[i].text));
        TEST_CHECK(err == load_rows[i].err, "row %zu: err %d, want %d", i, err,
                   load_rows[i].err);
        TEST_CHECK(hv_schedule_loaded(s), "row %zu: loaded", i);
        hv_schedule_destroy(s);
    }
}

/* format -> load -> the same decisions, recorded again in the same text */
static void test_round_trip(void)
{
    const struct hv_sched_entry e[] = {
        { HV_SCHED_POINT, 0, 17 }, { HV_SCHED_PREEMPT, 1, 0 }, { HV_SCHED_PREEMPT, 0, 0 },
    };
    char *text = hv_schedule_format(e, TEST_N(e));
    CU_ASSERT_FATAL(text != NULL);
    struct hv_schedule *s;
    CU_ASSERT_FATAL(hv_schedule_create(&s) == 0);
    CU_ASSERT(hv_schedule_load(s, text, strlen(text)) == 0);
    CU_ASSERT(hv_schedule_loaded(s));
    CU_ASSERT(hv_schedule_point(s, 0, 10, 20, 12) == 17);
    CU_ASSERT(hv_schedule_preempt(s, false) == true);
    CU_ASSERT(hv_schedule_preempt(s, true) == false);
    const struct hv_sched_entry *rec;
    size_t n = hv_schedule_recorded(s, &rec);
    char *again = hv_schedule_format(rec, n);
    CU_ASSERT(again && strcmp(again, text) == 0);
    free(again);
    free(text);
    hv_schedule_destroy(s);
}

/* ---- seeded choices ---- */

static const struct {
    bool loaded;
    const char *text;        /* loaded schedule */
    bool drawn[3];           /* the seed's answers */
    bool want[3];
} preempt_rows[] = {
    { false, "", { true, false, true }, { true, false, true } },   /* the seed decides */
    { true, "preempt 0\npreempt 1\n", { true, false, true }, { false, true, false } },
    { true, "", { true, true, true }, { false, false, false } },   /* past the end: no */
};

static void test_preempt(void)
{
    for (size_t i = 0; i < TEST_N(preempt_rows); i++) {
        struct hv_schedule *s;
        CU_ASSERT_FATAL(hv_schedule_create(&s) == 0);
        if (preempt_rows[i].loaded)
            CU_ASSERT(hv_schedule_load(s, preempt_rows[i].text,
                                       strlen(preempt_rows[i].text)) == 0);
        for (size_t k = 0; k < 3; k++) {
            bool got = hv_schedule_preempt(s, preempt_rows[i].drawn[k]);
            TEST_CHECK(got == preempt_rows[i].want[k], "row %zu check %zu: %d", i, k, got);
        }
        const struct hv_sched_entry *rec;
        TEST_CHECK(hv_schedule_recorded(s, &rec) == 3, "row %zu: 3 recorded", i);
        for (size_t k = 0; k < 3; k++)
            TEST_CHECK(rec[k].kind == HV_SCHED_PREEMPT && rec[k].a == preempt_rows[i].want[k],
                       "row %zu: recorded %zu", i, k);
        hv_schedule_destroy(s);
    }
}

static const struct {
    const char *text;        /* NULL: nothing loaded */
    uint32_t step;
    uint64_t lo, hi, drawn, want;
} point_rows[] = {
    { NULL, 1, 10, 50, 33, 33 },
    { "point 1 20\n", 1, 10, 50, 33, 20 },
    { "point 1 20\n", 0, 10, 50, 33, 33 },       /* another step's: the seed's */
    { "point 1 5\n", 1, 10, 50, 33, 10 },        /* kept in the range */
    { "point 1 99\n", 1, 10, 50, 33, 50 },
};

static void test_point(void)
{
    for (size_t i = 0; i < TEST_N(point_rows); i++) {
        struct hv_schedule *s;
        CU_ASSERT_FATAL(hv_schedule_create(&s) == 0);
        if (point_rows[i].text)
            CU_ASSERT(hv_schedule_load(s, point_rows[i].text, strlen(point_rows[i].text)) == 0);
        uint64_t got = hv_schedule_point(s, point_rows[i].step, point_rows[i].lo,
                                         point_rows[i].hi, point_rows[i].drawn);
        TEST_CHECK(got == point_rows[i].want, "row %zu: %llu", i, (unsigned long long)got);
        hv_schedule_destroy(s);
    }
}

/* ---- slices (sched_slice on a VM with just what it reads) ---- */

static const struct {
    const char *text;        /* NULL: nothing loaded, the seed draws */
    unsigned runnable[3], n;
    int last;                /* id of the vCPU that ran the last slice, -1 none */
    unsigned want_vcpu;
    uint64_t want_budget;    /* 0: any in [1, quantum] */
} slice_rows[] = {
    { "slice 1 7\n", { 0, 1, 2 }, 3, -1, 1, 7 },
    { "slice 1 7\n", { 0, 2 }, 2, -1, 2, 7 },          /* vCPU 1 cannot run: the next */
    { "slice 2 7\n", { 0, 1 }, 2, -1, 0, 7 },          /* ... wrapping around */
    { "", { 0, 1, 2 }, 3, 0, 1, HV_SCHED_TAIL * 100 }, /* past the end: round-robin */
    { "", { 0, 1, 2 }, 3, 2, 0, HV_SCHED_TAIL * 100 },
    { "", { 0, 2 }, 2, -1, 0, HV_SCHED_TAIL * 100 },
    { NULL, { 0, 1 }, 2, -1, 2, 0 },                   /* the seed (vCPU checked below) */
};

static void test_slice(void)
{
    for (size_t i = 0; i < TEST_N(slice_rows); i++) {
        struct hv_vcpu vcpus[3];
        struct hv_vm vm;
        memset(vcpus, 0, sizeof vcpus);
        memset(&vm, 0, sizeof vm);
        for (unsigned k = 0; k < 3; k++)
            vcpus[k].id = k;
        vm.vcpus = vcpus;
        vm.nr = 3;
        vm.cfg.quantum = 100;
        vm.prng = 42;
        vm.last_run = slice_rows[i].last >= 0 ? &vcpus[slice_rows[i].last] : NULL;
        struct hv_schedule *s;
        CU_ASSERT_FATAL(hv_schedule_create(&s) == 0);
        if (slice_rows[i].text)
            CU_ASSERT(hv_schedule_load(s, slice_rows[i].text, strlen(slice_rows[i].text)) == 0);
        vm.cfg.schedule = s;
        unsigned vcpu = 99;
        uint64_t budget = 0;
        sched_slice(&vm, slice_rows[i].runnable, slice_rows[i].n, &vcpu, &budget);
        if (slice_rows[i].text) {
            TEST_CHECK(vcpu == slice_rows[i].want_vcpu && budget == slice_rows[i].want_budget,
                       "row %zu: vCPU %u budget %llu", i, vcpu, (unsigned long long)budget);
        } else {
            /* the seed's draws, as without a schedule: below(n) then 1 + below(quantum) */
            uint64_t st = 42;
            unsigned wv = slice_rows[i].runnable[sched_below(&st, slice_rows[i].n)];
            uint64_t wb = 1 + sched_below(&st, 100);
            TEST_CHECK(vcpu == wv && budget == wb, "row %zu: vCPU %u budget %llu", i, vcpu,
                       (unsigned long long)budget);
        }
        const struct hv_sched_entry *rec;
        TEST_CHECK(hv_schedule_recorded(s, &rec) == 1 && rec[0].kind == HV_SCHED_SLICE &&
                       rec[0].a == vcpu && rec[0].b == budget,
                   "row %zu: the decision is recorded", i);
        hv_schedule_destroy(s);
    }
}

static void test_switches(void)
{
    const struct hv_sched_entry e[] = {
        { HV_SCHED_SLICE, 0, 5 }, { HV_SCHED_SLICE, 0, 5 }, { HV_SCHED_PREEMPT, 1, 0 },
        { HV_SCHED_SLICE, 1, 5 }, { HV_SCHED_SLICE, 0, 5 }, { HV_SCHED_SLICE, 0, 5 },
    };
    struct hv_schedule *s;
    CU_ASSERT_FATAL(hv_schedule_create(&s) == 0);
    char *text = hv_schedule_format(e, TEST_N(e));
    CU_ASSERT(hv_schedule_load(s, "", 0) == 0);
    /* record the entries by making the decisions they name */
    struct hv_vcpu vcpus[2];
    struct hv_vm vm;
    memset(vcpus, 0, sizeof vcpus);
    memset(&vm, 0, sizeof vm);
    vcpus[1].id = 1;
    vm.vcpus = vcpus;
    vm.nr = 2;
    vm.cfg.quantum = 5;
    vm.cfg.schedule = s;
    CU_ASSERT(hv_schedule_load(s, text, strlen(text)) == 0);
    const unsigned runnable[2] = { 0, 1 };
    for (int k = 0; k < 5; k++) {
        unsigned v;
        uint64_t b;
        sched_slice(&vm, runnable, 2, &v, &b);
    }
    CU_ASSERT(hv_schedule_switches(s) == 2);
    free(text);
    hv_schedule_destroy(s);
}

void test_schedule_register(void)
{
    CU_pSuite s = CU_add_suite("schedule", NULL, NULL);
    CU_add_test(s, "text form: rows", test_load);
    CU_add_test(s, "text form: round trip", test_round_trip);
    CU_add_test(s, "preemption checks", test_preempt);
    CU_add_test(s, "seeded trigger points", test_point);
    CU_add_test(s, "slices", test_slice);
    CU_add_test(s, "context switches", test_switches);
}
