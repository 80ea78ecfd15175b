/*
 * test_crosscheck.c - the comparison of a model run with a kernel run (crosscheck/), with no
 * /dev/kvm: the kernel facts derived from what a kernel reports (facts.c, sources listed
 * there), the knob values a scenario runs with, what of a step's result the ioctl returns,
 * and the rows two event streams give (same, explained by which fact, different).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crosscheck/crosscheck.h"
#include "tests/test_util.h"

void test_crosscheck_register(void);

static void test_derive(void)
{
    static const struct {
        const char *release, *vendor;
        int multi_as, nr_memslots;
        unsigned phys, guest_phys;
        const char *smm, *gpa_bits, *slots, *cpu;   /* NULL: not derived */
    } rows[] = {
        /* v6.12 x86 with SMM and TDP on a 46-bit host: the model's defaults */
        { "6.12.0", "GenuineIntel", 2, 32764, 46, 46, "1", "46", "32764", "intel" },
        /* this machine's kind: SMM compiled out, shadow paging (GuestPhysAddrSize 0) */
        { "6.18.44-fc", "AuthenticAMD", 0, 32764, 48, 0, "0", "52", "32764", "amd" },
        /* TDP with 5-level support: PhysAddrSize is the width */
        { "6.12.1", "AuthenticAMD", 2, 509, 52, 52, "1", "52", "509", "amd" },
        /* before 6.10 GuestPhysAddrSize is never reported: PhysAddrSize */
        { "6.1.0", "GenuineIntel", 2, 509, 46, 0, "1", "46", "509", "intel" },
        { "6.12.0", "HygonGenuine", 1, 32764, 48, 48, "0", "48", "32764", "amd" },
        { "6.12.0", "VIA VIA VIA ", -22, 0, 0, 0, NULL, NULL, NULL, NULL },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct kvmh_kernel k;
        struct facts f;
        memset(&k, 0, sizeof k);
        snprintf(k.release, sizeof k.release, "%s", rows[i].release);
        snprintf(k.vendor, sizeof k.vendor, "%s", rows[i].vendor);
        k.phys_bits = rows[i].phys;
        k.guest_phys_bits = rows[i].guest_phys;
        k.ncaps = 2;
        k.caps[0].nr = 118;
        k.caps[0].value = rows[i].multi_as;
        k.caps[1].nr = 10;
        k.caps[1].value = rows[i].nr_memslots;
        facts_derive(&k, &f);
        const char *want[FACTS__COUNT] = { [FACTS_SMM] = rows[i].smm,
                                           [FACTS_MAX_GPA_BITS] = rows[i].gpa_bits,
                                           [FACTS_MAX_SLOTS] = rows[i].slots,
                                           [FACTS_VENDOR] = rows[i].cpu };
        for (unsigned id = 0; id < FACTS__COUNT; id++)
            TEST_CHECK(want[id] ? f.have[id] && strcmp(f.value[id], want[id]) == 0 : !f.have[id],
                       "row %zu: %s %s (%d)", i, facts_desc((enum facts_id)id)->name,
                       f.have[id] ? f.value[id] : "-", f.have[id]);
    }
}

static void test_scenario_values(void)
{
    static const struct {
        const char *config;
        enum facts_id id;
        const char *want;
    } rows[] = {
        { "", FACTS_SMM, "1" }, { "", FACTS_MAX_GPA_BITS, "46" }, { "", FACTS_VENDOR, "intel" },
        { "", FACTS_MAX_SLOTS, "32764" },             /* 0: the arch's */
        { "config: {kvm.max_slots: 509}\n", FACTS_MAX_SLOTS, "509" },
        { "config: {kvm.max_slots: 0x1fd}\n", FACTS_MAX_SLOTS, "509" },
        { "config: {kvm: {smm: 0}}\n", FACTS_SMM, "0" },
        { "config: {kvm.vendor: amd}\n", FACTS_VENDOR, "amd" },
        { "config: {kvm.max_gpa_bits: 52}\n", FACTS_MAX_GPA_BITS, "52" },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        char text[512], buf[24];
        struct scenario *sc = NULL;
        struct hv_diag d;
        snprintf(text, sizeof text, "name: t\ndescription: d\nmodel: kvm\narch: x86_64\n"
                 "guest: g.c\n%s", rows[i].config);
        CU_ASSERT_EQUAL_FATAL(scenario_parse(&sc, "/t.yaml", text, strlen(text), &d), 0);
        const char *v = facts_scenario_value(sc, rows[i].id, buf, sizeof buf);
        TEST_CHECK(strcmp(v, rows[i].want) == 0, "row %zu: %s", i, v);
        struct facts f = { .have = { [FACTS_SMM] = true, [FACTS_MAX_GPA_BITS] = true,
                                     [FACTS_MAX_SLOTS] = true, [FACTS_VENDOR] = true } };
        snprintf(f.value[rows[i].id], sizeof f.value[0], "%s", rows[i].want);
        TEST_CHECK(!facts_differs(&f, sc, rows[i].id), "row %zu: differs", i);
        scenario_destroy(sc);
    }
}

/* The part of a step's result the ioctl returns. */
static void test_step_result(void)
{
    static const struct { const char *action, *result, *want; } rows[] = {
        { "set_memory_region",
          "{\"errno\":\"0\",\"rule\":\"OK\",\"section\":\"-\",\"change\":\"create\","
          "\"generation\":3}", "{\"errno\":\"0\"}" },
        { "set_memory_region2", "{\"errno\":\"EEXIST\",\"rule\":\"OVERLAP\",\"window\":null}",
          "{\"errno\":\"EEXIST\"}" },
        { "get_dirty_log", "{\"errno\":\"0\",\"bitmap\":\"0100\"}",
          "{\"errno\":\"0\",\"bitmap\":\"0100\"}" },
        { "enable_cap", "{\"errno\":\"EINVAL\",\"rule\":\"VCPUS\"}", "{\"errno\":\"EINVAL\"}" },
        { "check_extension", "{\"cap\":10,\"name\":\"nr_memslots\",\"value\":32764}",
          "{\"cap\":10,\"name\":\"nr_memslots\",\"value\":32764}" },
        { "harvest_dirty_ring", "{\"vcpu\":1,\"count\":2,\"entries\":[[1,0],[1,2]],\"listed\":2}",
          "{\"vcpu\":1,\"count\":2,\"entries\":[[1,0],[1,2]],\"listed\":2}" },
        { "reset_dirty_rings", "{\"errno\":\"0\",\"count\":0}", "{\"errno\":\"0\",\"count\":0}" },
        { "mem_read", "{\"value\":48879}", "{\"value\":48879}" },
        { "set_memory_region", "{\"error\":\"trigger never reached\"}",
          "{\"error\":\"trigger never reached\"}" },
        { "xif_copy_to", "{\"not_copied\":0,\"errno\":\"0\"}",
          "{\"not_copied\":0,\"errno\":\"0\"}" },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        char *p = crosscheck_step_result(rows[i].action, rows[i].result);
        TEST_CHECK(p && strcmp(p, rows[i].want) == 0, "row %zu: %s", i, p ? p : "(null)");
        free(p);
    }
}

/* An event stream from "vcpu kind detail" lines. */
static void stream(struct crosscheck_events *e, const char *const *lines)
{
    memset(e, 0, sizeof *e);
    for (size_t i = 0; lines[i]; i++) {
        char kind[32];
        int vcpu, n;
        CU_ASSERT_FATAL(sscanf(lines[i], "%d %31s %n", &vcpu, kind, &n) == 2);
        struct hv_event ev = { .seq = i, .vcpu = vcpu,
                               .kind = (enum hv_ev_kind)hv_kind_lookup(kind),
                               .detail = lines[i] + n, .detail_len = strlen(lines[i] + n) };
        CU_ASSERT_EQUAL_FATAL(crosscheck_collect(e, &ev), 0);
    }
}

static void test_compare(void)
{
    static const char *const model[] = {
        "-1 run_start {}",
        "0 ucall_sync {\"n\":1}",
        "-1 step {\"index\":0,\"action\":\"set_memory_region\",\"result\":{\"errno\":\"0\","
        "\"rule\":\"OK\",\"change\":\"create\",\"generation\":3},\"ok\":true}",
        "-1 step {\"index\":1,\"action\":\"set_memory_region\",\"result\":{\"errno\":\"0\","
        "\"rule\":\"OK\"},\"ok\":true}",
        "0 kvm_hypercall {\"nr\":1,\"ret\":0,\"exit\":false}",
        "0 kvm_exit {\"reason\":\"KVM_EXIT_MMIO\",\"phys_addr\":\"0xc0000000\",\"len\":8}",
        "0 ucall_done {}",
        "0 vcpu_state {\"from\":\"runnable\",\"to\":\"done\",\"why\":\"GUEST_DONE\"}",
        "-1 expect {\"what\":\"events.sched\",\"expected\":\"3\",\"actual\":3,\"ok\":true}",
        "-1 expect {\"what\":\"memory[0x1000]\",\"expected\":\"01\",\"actual\":\"01\",\"ok\":true}",
        "-1 run_end {\"outcome\":\"done\",\"instructions\":15000}",
        NULL,
    };
    static const char *const kernel[] = {
        "-1 run_start {}",
        "0 ucall_sync {\"n\":1}",
        "-1 step {\"index\":0,\"action\":\"set_memory_region\",\"result\":{\"errno\":\"0\"},"
        "\"ok\":true}",
        "-1 step {\"index\":1,\"action\":\"set_memory_region\",\"result\":{\"errno\":\"EINVAL\"},"
        "\"ok\":false}",
        "0 kvm_exit {\"reason\":\"KVM_EXIT_MMIO\",\"phys_addr\":\"0xc0000000\",\"len\":8}",
        "0 kvm_exit {\"reason\":\"KVM_EXIT_MMIO\",\"phys_addr\":\"0xc0000008\",\"len\":4}",
        "0 ucall_done {}",
        "0 vcpu_state {\"from\":\"runnable\",\"to\":\"done\",\"why\":\"GUEST_DONE\"}",
        "-1 expect {\"what\":\"memory[0x1000]\",\"expected\":\"01\",\"actual\":\"02\","
        "\"ok\":false}",
        "-1 run_end {\"outcome\":\"done\",\"instructions\":0}",
        NULL,
    };
    /* the model with the kernel's facts: step 1 refused as the kernel refuses it, by smm
     * alone (max_slots alone does not) */
    static const char *const all[] = {
        "-1 step {\"index\":1,\"action\":\"set_memory_region\",\"result\":{\"errno\":\"EINVAL\","
        "\"rule\":\"AS_ID\"},\"ok\":false}",
        NULL,
    };
    static const char *const smm_only[] = {
        "-1 step {\"index\":1,\"action\":\"set_memory_region\",\"result\":{\"errno\":\"EINVAL\"},"
        "\"ok\":false}",
        NULL,
    };
    static const char *const slots_only[] = {
        "-1 step {\"index\":1,\"action\":\"set_memory_region\",\"result\":{\"errno\":\"0\"},"
        "\"ok\":false}",
        NULL,
    };
    static const struct {
        const char *what;
        enum crosscheck_status st;
        const char *facts;
    } want[] = {
        { "vcpu 0 ucall 0", CROSSCHECK_SAME, "" },
        { "step 0 (set_memory_region)", CROSSCHECK_SAME, "" },
        { "step 1 (set_memory_region)", CROSSCHECK_EXPLAINED, "smm" },
        { "vcpu 0 exit 0", CROSSCHECK_SAME, "" },    /* the in-kernel hypercall is no exit */
        { "vcpu 0 ucall 1", CROSSCHECK_SAME, "" },
        { "expect memory[0x1000]", CROSSCHECK_DIFFERENT, "" },
        { "vcpu 0 end state", CROSSCHECK_SAME, "" },
        { "outcome", CROSSCHECK_SAME, "" },
        { "vcpu 0 exit 1", CROSSCHECK_DIFFERENT, "" }, /* the kernel's alone, last */
    };
    struct crosscheck_events m, k, a, s1, s2;
    const struct crosscheck_events *with[FACTS__COUNT] = { [FACTS_SMM] = &s1,
                                                           [FACTS_MAX_SLOTS] = &s2 };
    struct crosscheck_report r;
    memset(&r, 0, sizeof r);
    r.runnable = true;
    r.applied[FACTS_SMM] = r.applied[FACTS_MAX_SLOTS] = true;
    stream(&m, model);
    stream(&k, kernel);
    stream(&a, all);
    stream(&s1, smm_only);
    stream(&s2, slots_only);
    CU_ASSERT_EQUAL(crosscheck_compare(&m, &k, &a, with, 1, &r), 0);
    TEST_CHECK(r.nrows == TEST_N(want), "%zu rows", r.nrows);
    for (size_t i = 0; i < r.nrows && i < TEST_N(want); i++)
        TEST_CHECK(strcmp(r.rows[i].what, want[i].what) == 0 && r.rows[i].status == want[i].st &&
                   strcmp(r.rows[i].facts, want[i].facts) == 0,
                   "row %zu: %s %d '%s' (model %s, kernel %s)", i, r.rows[i].what,
                   r.rows[i].status, r.rows[i].facts, r.rows[i].model ? r.rows[i].model : "-",
                   r.rows[i].kernel ? r.rows[i].kernel : "-");
    TEST_CHECK(r.same == 6 && r.explained == 1 && r.different == 2, "%zu %zu %zu", r.same,
               r.explained, r.different);
    TEST_CHECK(crosscheck_exit_code(&r) == 1, "a difference exits 1");
    r.different = 0;
    TEST_CHECK(crosscheck_exit_code(&r) == 0, "same and explained exit 0");
    r.runnable = false;
    TEST_CHECK(crosscheck_exit_code(&r) == 1, "not runnable exits 1");
    crosscheck_report_fini(&r);
    crosscheck_events_fini(&m);
    crosscheck_events_fini(&k);
    crosscheck_events_fini(&a);
    crosscheck_events_fini(&s1);
    crosscheck_events_fini(&s2);
}

void test_crosscheck_register(void)
{
    CU_pSuite s = CU_add_suite("crosscheck", NULL, NULL);
    CU_add_test(s, "kernel facts from KVM_CHECK_EXTENSION and CPUID", test_derive);
    CU_add_test(s, "the knob values a scenario runs the model with", test_scenario_values);
    CU_add_test(s, "what of a step's result the ioctl returns", test_step_result);
    CU_add_test(s, "rows of two event streams and the facts' runs", test_compare);
}
