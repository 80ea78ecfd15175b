/*
 * test_cursor.c - the re-execution cursor (debug/cursor.c) on a recording of a bundled
 * scenario, checked against that scenario's known facts.
 *
 * scenarios/kvm/bug-kvm-write-skips-dirty-x86_64.yaml (guest patch_dirty.c): vCPU 0 copies
 * `vmmcall; ret` (0f 01 d9 c3) into the first page of the dirty-logged slot 1 at 0x40000000,
 * syncs (1), calls it, and KVM, an Intel host, rewrites the instruction to vmcall
 * (0f 01 c1): a model write. At sync 2 the page is dirty again, unless the bug knob
 * kvm.bug.kvm_write_skips_dirty hides KVM's write from the log.
 *
 * scenarios/xen/runstate-cross-vcpu-current-x86_64.yaml (guest runstate_cross.c): vCPU 0
 * registers vCPU 1's runstate area at a linear address of the private window, which each vCPU
 * maps to its own page; Xen's registration write goes through vCPU 0's page tables into
 * vCPU 0's page (the `xen_area` event with why `register`, `via` 0), later updates through
 * vCPU 1's into vCPU 1's page.
 *
 * The suite records both scenarios once with the hvsim program beside it, then opens
 * cursors on the traces.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unicorn/unicorn.h>

#include "debug/cursor.h"
#include "tests/test_util.h"
#include "trace/trace.h"

void test_cursor_register(void);

#define CODE 0x40000000ULL
#define SCENARIO HVSIM_SOURCE_DIR "/scenarios/kvm/bug-kvm-write-skips-dirty-x86_64.yaml"
#define STALE_SCENARIO HVSIM_SOURCE_DIR "/scenarios/kvm/bug-stale-slot-cache-x86_64.yaml"
#define XEN_SCENARIO HVSIM_SOURCE_DIR "/scenarios/xen/runstate-cross-vcpu-current-x86_64.yaml"
#define AREA_VA 0x4000000100ULL   /* GUEST_PRIV_VA + AREA_OFF of runstate_cross.c */

static char dir[256];
static char trace[512], xen_trace[512], stale_trace[2][512];
static uint64_t register_seq;  /* the xen_area event of the registration */
static uint64_t sync_seq[3];   /* the ucall_sync events n = 1, 2 */
static uint64_t nr_events;

static int suite_init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/hvsim-test-cursor-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(trace, sizeof trace, "%s/pd.db", dir);
    snprintf(xen_trace, sizeof xen_trace, "%s/rs.db", dir);
    char cmd[8192];
    /* the stale-slot-cache scenario with the fix and with the bug (which fails: exit 1) */
    for (int bug = 0; bug < 2; bug++) {
        snprintf(stale_trace[bug], sizeof stale_trace[bug], "%s/stale%d.db", dir, bug);
        snprintf(cmd, sizeof cmd, "cd %s && %s/hvsim run %s --set kvm.bug.stale_slot_cache=%d "
                 "-o %s --quiet >/dev/null; test -s %s", dir, HVSIM_BINARY_DIR, STALE_SCENARIO,
                 bug, stale_trace[bug], stale_trace[bug]);
        if (system(cmd) != 0)
            return -1;
    }
    snprintf(cmd, sizeof cmd, "cd %s && %s/hvsim run %s -o %s --quiet >/dev/null && "
             "%s/hvsim run %s -o %s --quiet >/dev/null", dir, HVSIM_BINARY_DIR, SCENARIO,
             trace, HVSIM_BINARY_DIR, XEN_SCENARIO, xen_trace);
    if (system(cmd) != 0)
        return -1;
    struct trace_reader *r = NULL;
    struct trace_filter f = TRACE_FILTER_ALL;
    f.kind = "ucall_sync";
    struct hv_event ev;
    int n = 0;
    if (trace_reader_open(&r, trace) || trace_reader_events_begin(r, &f))
        return -1;
    while (n < 2 && trace_reader_events_next(r, &ev) == 1)
        sync_seq[++n] = ev.seq;
    nr_events = (uint64_t)trace_reader_event_count(r);
    trace_reader_close(r);
    r = NULL;
    f.kind = "xen_area";
    if (trace_reader_open(&r, xen_trace) || trace_reader_events_begin(r, &f) ||
        trace_reader_events_next(r, &ev) != 1 || !strstr(ev.detail, "\"why\":\"register\""))
        n = 0;
    register_seq = ev.seq;
    trace_reader_close(r);
    return n == 2 ? 0 : -1;
}

static int suite_cleanup(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct hv_cursor *open_trace(const char *path, const struct hv_cursor_opts *o)
{
    struct hv_cursor *c = NULL;
    char err[512] = "";
    int e = hv_cursor_open(&c, path, o, err, sizeof err);
    TEST_CHECK(e == 0, "open: %s", err);
    return c;
}

static struct hv_cursor *open_cursor(const struct hv_cursor_opts *o)
{
    return open_trace(trace, o);
}

/* The four bytes at CODE just after each event, forward and then backward (checkpoints). */
static void test_seek_memory(void)
{
    static const struct {
        unsigned sync;                 /* just after ucall_sync n */
        uint8_t code[4];
    } rows[] = {
        { 1, { 0x0f, 0x01, 0xd9, 0xc3 } },   /* the guest's copy: vmmcall; ret */
        { 2, { 0x0f, 0x01, 0xc1, 0xc3 } },   /* KVM rewrote it: vmcall */
        { 1, { 0x0f, 0x01, 0xd9, 0xc3 } },   /* backward again */
    };
    struct hv_cursor_opts o = { .ckpt_events = 2 };
    struct hv_cursor *c = open_cursor(&o);
    if (!c)
        return;
    TEST_CHECK(hv_cursor_arch(c) == HV_ARCH_X86_64 && hv_cursor_nr_vcpus(c) == 1,
               "x86_64, 1 vCPU");
    TEST_CHECK(hv_cursor_nr_events(c) == nr_events, "event count");
    for (size_t i = 0; i < TEST_N(rows); i++) {
        uint8_t got[4] = { 0 };
        TEST_CHECK(hv_cursor_seek_seq(c, sync_seq[rows[i].sync]) == 0, "row %zu: seek", i);
        struct hv_cursor_pos p;
        hv_cursor_pos(c, &p);
        TEST_CHECK(p.kind == HV_CSTOP_EVENT && p.seq == sync_seq[rows[i].sync],
                   "row %zu: at event %" PRIu64 ", got %" PRIu64, i, sync_seq[rows[i].sync],
                   p.seq);
        TEST_CHECK(hv_cursor_read_gpa(c, CODE, got, 4) == 0 && memcmp(got, rows[i].code, 4) == 0,
                   "row %zu: bytes %02x %02x %02x %02x", i, got[0], got[1], got[2], got[3]);
        /* the same bytes through vCPU 0's page tables (identity-mapped there) */
        uint8_t via[4] = { 0 };
        TEST_CHECK(hv_cursor_read_gva(c, 0, CODE, via, 4) == 0 && memcmp(via, got, 4) == 0,
                   "row %zu: gva read", i);
    }
    /* every event, backward from the end: each seek lands on its event */
    for (uint64_t s = nr_events; s-- > 0;) {
        struct hv_cursor_pos p;
        int e = hv_cursor_seek_seq(c, s);
        hv_cursor_pos(c, &p);
        TEST_CHECK(e == 0 && p.seq == s && p.kind == HV_CSTOP_EVENT, "seek back to %" PRIu64,
                   s);
    }
    TEST_CHECK(hv_cursor_seek_seq(c, nr_events) == HV_ENOENT, "past the end: HV_ENOENT");
    hv_cursor_close(c);
}

/* Who wrote each byte of the instruction, with and without the bug knob. */
static void test_blame(void)
{
    static const struct {
        const char *set;               /* NULL: as recorded */
        uint64_t gpa;
        const char *path;
        int logged;
    } rows[] = {
        { NULL, CODE + 2, "model write", 1 },   /* KVM's rewrite, marked (A.7) */
        { NULL, CODE + 3, "guest store", 1 },   /* the guest's own `ret` byte */
        { "kvm.bug.kvm_write_skips_dirty=1", CODE + 2, "model write", 0 },
        { "kvm.bug.kvm_write_skips_dirty=1", CODE + 3, "guest store", 1 },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        const char *sets[1] = { rows[i].set };
        struct hv_cursor_opts o = { .sets = sets, .nsets = rows[i].set ? 1 : 0 };
        struct hv_cursor *c = open_cursor(&o);
        if (!c)
            return;
        struct hv_cursor_write w;
        TEST_CHECK(hv_cursor_seek_seq(c, sync_seq[2]) == 0, "row %zu: seek", i);
        TEST_CHECK(hv_cursor_blame(c, rows[i].gpa, 1, &w) == 0, "row %zu: blame", i);
        TEST_CHECK(strcmp(w.path, rows[i].path) == 0 && w.vcpu == 0 &&
                       w.logged == rows[i].logged,
                   "row %zu: %s by vCPU %d, logged %d", i, w.path, w.vcpu, w.logged);
        /* the write came between the two syncs (the model's) or before the first */
        bool between = w.seq > sync_seq[1] && w.seq <= sync_seq[2];
        TEST_CHECK(between == (strcmp(rows[i].path, "model write") == 0),
                   "row %zu: write at seq %" PRIu64, i, w.seq);
        struct hv_cursor_pos p;
        hv_cursor_pos(c, &p);
        TEST_CHECK(p.seq == sync_seq[2], "row %zu: blame leaves the cursor where it was", i);
        hv_cursor_close(c);
    }
}

/*
 * A write through a stale slot cache is blamed where its bytes land: KVM's second
 * kvm_write_guest (for event 11, step 2) asks for 0xc0000000; with the fix it reaches the
 * moved slot there, with kvm.bug.stale_slot_cache=1 it goes through the cached old slot and
 * lands at 0xbffff000, and 0xc0000000 keeps the first write (step 0, event 6). (Provenance
 * is kept by gpa: bytes a MOVE carries to another gpa are not followed.)
 */
static void test_blame_stale(void)
{
    static const struct {
        int bug;
        uint64_t gpa;
        uint64_t seq;              /* the event the write was made for */
    } rows[] = {
        { 0, 0xc0000000, 11 },
        { 1, 0xbffff000, 11 },
        { 1, 0xc0000000, 6 },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct hv_cursor *c = open_trace(stale_trace[rows[i].bug], NULL);
        if (!c)
            return;
        struct hv_cursor_write w[8];
        TEST_CHECK(hv_cursor_seek_seq(c, hv_cursor_nr_events(c) - 1) == 0, "row %zu: end", i);
        TEST_CHECK(hv_cursor_blame(c, rows[i].gpa, 8, w) == 0, "row %zu: blame", i);
        for (size_t b = 0; b < 8; b++)
            TEST_CHECK(strcmp(w[b].path, "model write") == 0 && w[b].seq == rows[i].seq,
                       "row %zu byte %zu: %s for event %" PRIu64, i, b, w[b].path, w[b].seq);
        hv_cursor_close(c);
    }
}

static bool at_code(const void *ctx, unsigned vcpu, uint64_t pc)
{
    return pc == *(const uint64_t *)ctx;
}

/* Instruction stops: a predicate, stepi both ways, watched writes both ways. */
static void test_insns(void)
{
    struct hv_cursor_opts o = { .insns = true, .ckpt_insns = 4000 };
    struct hv_cursor *c = open_cursor(&o);
    if (!c)
        return;
    uint64_t code = CODE;
    struct hv_cursor_run r = { .stop = at_code, .ctx = &code, .ctx_len = sizeof code };
    struct hv_cursor_hit hit = { 0 };
    struct hv_cursor_pos p, q;
    TEST_CHECK(hv_cursor_run(c, 1, &r, &hit) == 0 && hit.why == HV_CWHY_STOP, "run to CODE");
    hv_cursor_pos(c, &p);
    TEST_CHECK(p.kind == HV_CSTOP_INSN && p.pc == CODE && p.vcpu == 0, "stopped before the "
               "instruction at CODE: pc 0x%" PRIx64, p.pc);
    /* registers at that point, one stepi forward and one back */
    uint64_t rsp0 = 0, rsp1 = 0, rip = 0;
    int rsp_id = UC_X86_REG_RSP;
    TEST_CHECK(hv_cursor_regs(c, 0, &rsp_id, 1, &rsp0) == 0, "rsp");
    TEST_CHECK(hv_cursor_stepi(c, 0, 1) == 0, "stepi");
    hv_cursor_pos(c, &q);
    TEST_CHECK(q.kind == HV_CSTOP_INSN && q.icount == p.icount + 1 && q.pc == CODE + 3,
               "after vmcall: pc 0x%" PRIx64 " icount %" PRIu64, q.pc, q.icount);
    TEST_CHECK(hv_cursor_stepi(c, 0, -1) == 0, "reverse stepi");
    hv_cursor_pos(c, &q);
    TEST_CHECK(q.step == p.step && q.pc == CODE && q.icount == p.icount, "back at CODE");
    TEST_CHECK(hv_cursor_regs(c, 0, &rsp_id, 1, &rsp1) == 0 && rsp1 == rsp0, "same rsp");
    TEST_CHECK(hv_cursor_reg_by_name(c, 0, "rip", &rip) == 0 && rip == CODE, "rip 0x%" PRIx64,
               rip);
    /* a watch on the rewritten byte: backward finds the guest's copy, forward KVM's */
    struct hv_cursor_range wr = { CODE + 2, 1, HV_CWATCH_WRITE };
    struct hv_cursor_run rw = { .watch = &wr, .nwatch = 1 };
    TEST_CHECK(hv_cursor_run(c, -1, &rw, &hit) == 0 && hit.why == HV_CWHY_WATCH &&
                   strcmp(hit.write.path, "guest store") == 0,
               "reverse to the guest's store: %s", hit.write.path);
    uint8_t b = 0;
    TEST_CHECK(hv_cursor_read_gpa(c, CODE + 2, &b, 1) == 0 && b == 0xd9, "0xd9 written");
    TEST_CHECK(hv_cursor_run(c, 1, &rw, &hit) == 0 && hit.why == HV_CWHY_WATCH &&
                   strcmp(hit.write.path, "model write") == 0 && hit.write.logged == 1,
               "forward to KVM's rewrite: %s", hit.write.path);
    TEST_CHECK(hv_cursor_read_gpa(c, CODE + 2, &b, 1) == 0 && b == 0xc1, "0xc1 written");
    TEST_CHECK(hv_cursor_run(c, 1, &rw, &hit) == 0 && hit.why == HV_CWHY_END, "then the end");
    hv_cursor_close(c);
}

/*
 * Read and access watches on the rewritten byte CODE + 2. The guest fetches it as code (not a
 * load) and loads it once, in GUEST_ASSERT_EQ(p[2], 0xc1), after KVM's rewrite; its copy
 * only stores. Each row starts at the stop before the instruction at CODE or at the end.
 */
static void test_read_watch(void)
{
    static const struct {
        bool from_end;
        int dir;
        enum hv_cursor_access access;
        enum hv_cursor_why why;
        const char *path;          /* HV_CWHY_WATCH: the access found */
    } rows[] = {
        { false, 1, HV_CWATCH_READ, HV_CWHY_WATCH, "guest load" },
        { false, 1, HV_CWATCH_ACCESS, HV_CWHY_WATCH, "model write" },  /* the rewrite first */
        { true, -1, HV_CWATCH_READ, HV_CWHY_WATCH, "guest load" },
        { true, -1, HV_CWATCH_ACCESS, HV_CWHY_WATCH, "guest load" },   /* the last access */
        { false, -1, HV_CWATCH_READ, HV_CWHY_BEGIN, "" },              /* no load before */
    };
    struct hv_cursor_opts o = { .insns = true, .ckpt_insns = 4000 };
    struct hv_cursor *c = open_cursor(&o);
    if (!c)
        return;
    uint64_t code = CODE;
    struct hv_cursor_run r = { .stop = at_code, .ctx = &code, .ctx_len = sizeof code };
    struct hv_cursor_hit hit = { 0 };
    struct hv_cursor_pos at_call, end, p;
    TEST_CHECK(hv_cursor_run(c, 1, &r, &hit) == 0 && hit.why == HV_CWHY_STOP, "run to CODE");
    hv_cursor_pos(c, &at_call);
    TEST_CHECK(hv_cursor_run(c, 1, NULL, &hit) == 0 && hit.why == HV_CWHY_END, "to the end");
    hv_cursor_pos(c, &end);
    uint64_t load_step = 0;
    for (size_t i = 0; i < TEST_N(rows); i++) {
        TEST_CHECK(hv_cursor_seek_step(c, rows[i].from_end ? end.step : at_call.step) == 0,
                   "row %zu: seek", i);
        struct hv_cursor_range w = { CODE + 2, 1, rows[i].access };
        struct hv_cursor_run rw = { .watch = &w, .nwatch = 1 };
        memset(&hit, 0, sizeof hit);
        int err = hv_cursor_run(c, rows[i].dir, &rw, &hit);
        TEST_CHECK(err == 0 && hit.why == rows[i].why && strcmp(hit.write.path, rows[i].path) == 0,
                   "row %zu: error %d, why %d, %s", i, err, (int)hit.why, hit.write.path);
        if (strcmp(rows[i].path, "guest load") != 0)
            continue;
        hv_cursor_pos(c, &p);
        /* stopped just after the loading instruction, which read the rewritten byte */
        uint8_t b = 0;
        err = hv_cursor_read_gpa(c, CODE + 2, &b, 1);
        TEST_CHECK(err == 0 && hit.write.read && hit.write.vcpu == 0 &&
                       p.kind == HV_CSTOP_INSN && p.icount == hit.write.icount + 1 && b == 0xc1,
                   "row %zu: load by vCPU %d at icount %" PRIu64 ", stop at %" PRIu64 ", 0x%x",
                   i, hit.write.vcpu, hit.write.icount, p.icount, b);
        TEST_CHECK(!load_step || p.step == load_step, "row %zu: the same load both ways", i);
        load_step = p.step;
    }
    hv_cursor_close(c);
}

/* The cross-vCPU runstate write: the same linear address, blamed through each vCPU. */
static void test_xen_runstate(void)
{
    static const struct {
        unsigned vcpu;             /* whose translation of AREA_VA */
        int32_t writer;            /* the vCPU Xen wrote for */
        bool registration;         /* the write was the registration's */
    } rows[] = {
        { 0, 0, true },            /* vCPU 0's page: written once, at the registration */
        { 1, 1, false },           /* vCPU 1's page: its own context switches */
    };
    struct hv_cursor *c = open_trace(xen_trace, NULL);
    if (!c)
        return;
    TEST_CHECK(hv_cursor_nr_vcpus(c) == 2, "2 vCPUs");
    TEST_CHECK(hv_cursor_seek_seq(c, hv_cursor_nr_events(c) - 1) == 0, "to the end");
    uint64_t gpa[2] = { 0, 0 };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct hv_cursor_write w;
        TEST_CHECK(hv_cursor_gva_to_gpa(c, rows[i].vcpu, AREA_VA, &gpa[i]) == 0,
                   "row %zu: mapped", i);
        TEST_CHECK(hv_cursor_blame(c, gpa[i], 1, &w) == 0, "row %zu: blame", i);
        TEST_CHECK(strcmp(w.path, "model write") == 0 && w.vcpu == rows[i].writer &&
                       (w.seq == register_seq) == rows[i].registration && w.logged == -1,
                   "row %zu: %s by vCPU %d for event %" PRIu64 " (registration %" PRIu64 ")",
                   i, w.path, w.vcpu, w.seq, register_seq);
    }
    TEST_CHECK(gpa[0] != gpa[1], "each vCPU maps the window to its own page");
    /* the model's state names the registration */
    char *text = NULL;
    int e = hv_cursor_text_model(c, false, &text);
    TEST_CHECK(e == 0 && text && strstr(text, "vCPU 1: runstate area va 0x4000000100"),
               "state: %s", text ? text : "");
    free(text);
    text = NULL;
    e = hv_cursor_text_model(c, true, &text);
    TEST_CHECK(e == 0 && text && strstr(text, "\"model\":\"xen\"") &&
                   strstr(text, "\"va\":274877907200"),
               "state as JSON: %s", text ? text : "");
    free(text);
    hv_cursor_close(c);
}

static void test_errors(void)
{
    struct hv_cursor *c = NULL;
    char err[512] = "";
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.db", dir);
    TEST_CHECK(hv_cursor_open(&c, missing, NULL, err, sizeof err) != 0 && !c &&
                   strstr(err, "missing.db"),
               "a missing trace: %s", err);
    c = open_cursor(NULL);
    if (!c)
        return;
    TEST_CHECK(hv_cursor_stepi(c, 0, 1) == HV_EUNSUPP, "stepi needs insns");
    struct hv_cursor_range rd = { CODE, 1, HV_CWATCH_READ };
    struct hv_cursor_run rr = { .watch = &rd, .nwatch = 1 };
    struct hv_cursor_hit hit;
    TEST_CHECK(hv_cursor_run(c, 1, &rr, &hit) == HV_EUNSUPP, "a read watch needs insns");
    struct hv_cursor_write w[2];
    TEST_CHECK(hv_cursor_blame(c, CODE, 0, w) == HV_EINVAL, "an empty blame");
    uint8_t b;
    TEST_CHECK(hv_cursor_read_gpa(c, 0x80000000ULL, &b, 1) != 0, "no RAM there");
    hv_cursor_close(c);
}

void test_cursor_register(void)
{
    CU_pSuite s = CU_add_suite("cursor", suite_init, suite_cleanup);
    CU_add_test(s, "seek and memory", test_seek_memory);
    CU_add_test(s, "blame", test_blame);
    CU_add_test(s, "blame a stale-cache write", test_blame_stale);
    CU_add_test(s, "instructions and watches", test_insns);
    CU_add_test(s, "read and access watches", test_read_watch);
    CU_add_test(s, "xen runstate", test_xen_runstate);
    CU_add_test(s, "errors", test_errors);
}
