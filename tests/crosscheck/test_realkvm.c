/*
 * test_realkvm.c - the KVM model's rule rows crosschecked on this machine's /dev/kvm: the
 * memslot rows (A.1-A.3) and the dirty-log rows (A.7: GET, CLEAR, ENABLE_CAP) of
 * tests/models/memslot_rows.h, the x86_64 step rows of tests/models/slots_steps_rows.h, and
 * KVM_CHECK_EXTENSION of every capability the model knows (models/kvm/caps.h).
 * Each row the real kernel can run (an x86 host of the default kind) gives the model's result
 * (same), or the result the model gives with this kernel's facts applied (explained:
 * crosscheck/facts.h); any other result fails. Skipped, never passed, without a usable
 * /dev/kvm.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "crosscheck/crosscheck.h"
#include "kvmhost/kvmhost.h"
#include "kvmhost/kvmrun.h"
#include "models/kvm/caps.h"
#include "models/kvm/vmm.h"
#include "runner/runner.h"
#include "tests/models/memslot_rows.h"
#include "tests/models/slots_steps_rows.h"
#include "tests/test_util.h"

void test_realkvm_register(void);

static struct facts facts;           /* this kernel's */
static char facts_config[256];       /* the facts to apply as a `config:` section ("" if none) */
static struct hv_kv facts_kv[FACTS__COUNT];
static char facts_kv_text[FACTS__COUNT][2][32];
static size_t nfacts_kv;

/* Whether /dev/kvm can be used; if not, the test skips. Reads the kernel's facts once. */
static bool kernel_ready(void)
{
    static int ready = -1;
    char why[256];
    struct kvmh_kernel k;
    if (ready >= 0)
        return ready;
    ready = kvmh_usable(why, sizeof why) == 0 && kvmh_kernel_info(&k) == 0;
    if (!ready)
        return false;
    facts_derive(&k, &facts);
    size_t l = 0;
    for (unsigned f = 0; f < FACTS__COUNT; f++) {
        if (!facts_differs(&facts, NULL, (enum facts_id)f))
            continue;
        const char *knob = facts_desc((enum facts_id)f)->knob;
        l += (size_t)snprintf(facts_config + l, sizeof facts_config - l, "%s  %s: %s\n",
                              l ? "" : "config:\n", knob, facts.value[f]);
        snprintf(facts_kv_text[nfacts_kv][0], sizeof facts_kv_text[0][0], "%s", knob);
        snprintf(facts_kv_text[nfacts_kv][1], sizeof facts_kv_text[0][1], "%s", facts.value[f]);
        facts_kv[nfacts_kv] = (struct hv_kv){ facts_kv_text[nfacts_kv][0],
                                              facts_kv_text[nfacts_kv][1], NULL };
        nfacts_kv++;
    }
    return true;
}

static bool skip_without_kvm(void)
{
    char why[256];
    if (kernel_ready())
        return false;
    if (kvmh_usable(why, sizeof why) == 0)
        snprintf(why, sizeof why, "%s", hv_error_detail());
    test_skip("no usable /dev/kvm: %s", why);
    return true;
}

/* The memslot table of an x86 host of the default kind as the model's knobs give it (kvm.c):
 * with none of this kernel's facts (NONE), all of them (ALL), or fact kv[only] alone. */
enum { NONE = -1, ALL = FACTS__COUNT };

static struct kvmm_slots *model_table(int only)
{
    struct kvmm_slots_params p;
    struct kvmm_slots *s = NULL;
    struct hv_diag d;
    struct hv_check_ctx c = { .model = hv_model_lookup("kvm"), .arch = HV_ARCH_X86_64,
                              .nr_vcpus = 1,
                              .config = only == NONE ? NULL : only == ALL ? facts_kv
                                                                          : &facts_kv[only],
                              .nconfig = only == NONE ? 0 : only == ALL ? nfacts_kv : 1 };
    CU_ASSERT_EQUAL_FATAL(kvmm_config_slots_params(&c, &p, &d), 0);
    CU_ASSERT_EQUAL_FATAL(kvmm_slots_create(&s, &p), 0);
    return s;
}

/* The model's errno for a row, with the facts `only` selects (model_table()). */
typedef int model_fn(const void *row, int only);

/*
 * same, explained or different: the kernel's errno against the model's without and with this
 * kernel's facts; an explained row is listed with the facts that explain it alone.
 */
static void classify(const char *table, size_t i, const char *why, model_fn *model,
                     const void *row, int kernel, unsigned counts[3])
{
    int m = model(row, NONE), all = m == kernel ? m : model(row, ALL);
    int c = kernel == m ? 0 : kernel == all ? 1 : 2;
    counts[c]++;
    TEST_CHECK(c != 2, "%s row %zu (%s): the model says %d (%d with this kernel's facts), "
               "/dev/kvm %d", table, i, why, m, all, kernel);
    if (c != 1)
        return;
    char names[128] = "";
    size_t l = 0;
    for (size_t f = 0; f < nfacts_kv; f++)
        if (model(row, (int)f) == kernel)
            l += (size_t)snprintf(names + l, l < sizeof names ? sizeof names - l : 0, "%s%s",
                                  l ? ", " : "", facts_kv[f].key);
    fprintf(stderr, "\nexplained: %s row %zu (%s): the model says %d, /dev/kvm %d (%s)", table,
            i, why, m, kernel, l ? names : "the facts together");
}

static void report(const char *table, const unsigned counts[3])
{
    fprintf(stderr, "\n%s: %u same, %u explained by kernel facts, %u different\n", table,
            counts[0], counts[1], counts[2]);
}

/* A VM on /dev/kvm with the given slots created (KVM_SET_USER_MEMORY_REGION2 each). */
static struct kvmh *kernel_vm(const struct kvmm_region *r, size_t n)
{
    struct kvmh *h = NULL;
    CU_ASSERT_EQUAL_FATAL(kvmh_create(&h), 0);
    for (size_t i = 0; i < n; i++)
        TEST_CHECK(kvmh_set_region(h, true, &r[i]) == 0, "prior slot %zu refused", i);
    return h;
}

static int rule_model(const void *p, int only)
{
    const struct rule_row *row = p;
    struct kvmm_region prior[4];
    struct kvmm_set_result res;
    struct kvmm_slots *s = model_table(only);
    for (size_t k = 0, n = memslot_rows_prior(row->cfg, prior); k < n; k++)
        CU_ASSERT(kvmm_memslot_set(s, &prior[k], true, &res) == 0 && res.err == 0);
    CU_ASSERT_EQUAL(kvmm_memslot_set(s, &row->r, row->v2, &res), 0);
    kvmm_slots_destroy(s);
    return res.err;
}

static void test_rule_rows(void)
{
    unsigned counts[3] = { 0 };
    if (skip_without_kvm())
        return;
    for (size_t i = 0; i < memslot_nrule_rows; i++) {
        const struct rule_row *row = &memslot_rule_rows[i];
        struct kvmm_region prior[4];
        if (row->cfg != X86)   /* a host of another kind: not this machine */
            continue;
        struct kvmh *h = kernel_vm(prior, memslot_rows_prior(row->cfg, prior));
        int e = kvmh_set_region(h, row->v2, &row->r);
        kvmh_destroy(h);
        classify("memslot", i, row->why, rule_model, row, e, counts);
    }
    report("memslot rule rows", counts);
}

/* A user buffer of len bytes the kernel faults right after (NULL when nobuf). */
static uint8_t *user_buffer(bool nobuf, size_t len, uint8_t fill, uint8_t **map)
{
    *map = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CU_ASSERT_FATAL(*map != MAP_FAILED);
    mprotect(*map + 4096, 4096, PROT_NONE);
    memset(*map, fill, 4096);
    return nobuf ? NULL : *map + 4096 - len;
}

/* The dirty-log table of the GET or CLEAR rows on the model (the facts `only` selects) and
 * on /dev/kvm, manual protect set to manual on each. */
static struct kvmm_slots *dirty_model(bool clear, uint64_t manual, int only)
{
    struct kvmm_slots *s = model_table(only);
    struct kvmm_region r[3];
    struct kvmm_set_result res;
    int e = 1;
    CU_ASSERT_EQUAL(kvmm_dirty_enable_manual(s, manual, 0, &e), 0);
    for (size_t i = 0, n = dirty_rows_prior(clear, r); i < n; i++)
        CU_ASSERT(kvmm_memslot_set(s, &r[i], true, &res) == 0 && res.err == 0);
    return s;
}

static struct kvmh *dirty_kernel(bool clear, uint64_t manual)
{
    struct kvmm_region r[3];
    struct kvmh *h = NULL;
    CU_ASSERT_EQUAL_FATAL(kvmh_create(&h), 0);
    TEST_CHECK(kvmh_enable_cap(h, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, manual, 0) == 0,
               "manual protect %llu", (unsigned long long)manual);
    for (size_t i = 0, n = dirty_rows_prior(clear, r); i < n; i++)
        TEST_CHECK(kvmh_set_region(h, true, &r[i]) == 0, "dirty table slot %zu", i);
    return h;
}

/* A GET or CLEAR row in a manual-protect mode. */
struct dirty_case {
    const struct dirty_get_row *get;
    const struct dirty_clear_row *clear;
    uint64_t manual;
};

static int dirty_model_err(const void *p, int only)
{
    const struct dirty_case *c = p;
    static uint8_t buf[4096];
    int e = 0;
    struct kvmm_slots *s = dirty_model(c->clear != NULL, c->manual, only);
    int err = c->get ? kvmm_dirty_get_log(s, c->get->slot, c->get->nobuf ? NULL : buf,
                                          c->get->len, &e)
                     : kvmm_dirty_clear_log(s, c->clear->slot, c->clear->first, c->clear->num,
                                            c->clear->nobuf ? NULL : buf, c->clear->len, &e);
    CU_ASSERT_EQUAL(err, 0);
    kvmm_slots_destroy(s);
    return e;
}

static int cap_model_err(const void *p, int only)
{
    const struct manual_cap_row *row = p;
    int e = 0;
    struct kvmm_slots *s = model_table(only);
    CU_ASSERT_EQUAL(kvmm_dirty_enable_manual(s, row->args0, row->flags, &e), 0);
    kvmm_slots_destroy(s);
    return e;
}

static void test_dirty_rows(void)
{
    unsigned counts[3] = { 0 };
    uint8_t *map;
    if (skip_without_kvm())
        return;
    for (uint64_t manual = 0; manual < 2; manual++)
        for (size_t i = 0; i < dirty_nget_rows; i++) {
            const struct dirty_get_row *row = &dirty_get_rows[i];
            struct dirty_case c = { row, NULL, manual };
            struct kvmh *h = dirty_kernel(false, manual);
            int e = kvmh_get_dirty_log(h, row->slot, user_buffer(row->nobuf, row->len, 0, &map));
            munmap(map, 2 * 4096);
            kvmh_destroy(h);
            classify("GET", i, row->why, dirty_model_err, &c, e, counts);
        }
    for (uint64_t manual = 0; manual < 4; manual += 3)
        for (size_t i = 0; i < dirty_nclear_rows; i++) {
            const struct dirty_clear_row *row = &dirty_clear_rows[i];
            struct dirty_case c = { NULL, row, manual };
            struct kvmh *h = dirty_kernel(true, manual);
            int e = kvmh_clear_dirty_log(h, row->slot, row->first, row->num,
                                         user_buffer(row->nobuf, row->len, 0, &map));
            munmap(map, 2 * 4096);
            kvmh_destroy(h);
            classify("CLEAR", i, row->why, dirty_model_err, &c, e, counts);
        }
    for (size_t i = 0; i < manual_ncap_rows; i++) {
        const struct manual_cap_row *row = &manual_cap_rows[i];
        struct kvmh *h = NULL;
        CU_ASSERT_EQUAL_FATAL(kvmh_create(&h), 0);
        if (kvmh_check_extension(h, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) != (int)row->caps) {
            kvmh_destroy(h);   /* a row for a host with other KVM_DIRTY_LOG_MANUAL_CAPS */
            continue;
        }
        int e = kvmh_enable_cap(h, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, row->args0, row->flags);
        kvmh_destroy(h);
        classify("ENABLE_CAP", i, "manual protect", cap_model_err, row, e, counts);
    }
    report("dirty-log rule rows", counts);
}

/* KVM_CHECK_EXTENSION on a VM fd of every capability the model knows. */
static int cap_model_value(const void *p, int only)
{
    struct kvmm_slots *s = model_table(only);
    int v = kvmm_check_extension(kvmm_slots_params(s), *(const unsigned *)p);
    kvmm_slots_destroy(s);
    return v;
}

static void test_caps(void)
{
    unsigned counts[3] = { 0 };
    struct kvmh_kernel k;
    if (skip_without_kvm())
        return;
    CU_ASSERT_EQUAL_FATAL(kvmh_kernel_info(&k), 0);
    TEST_CHECK(k.ncaps > 10, "%zu capabilities asked", k.ncaps);
    for (size_t i = 0; i < k.ncaps; i++)
        classify("KVM_CHECK_EXTENSION", i, k.caps[i].name, cap_model_value, &k.caps[i].nr,
                 k.caps[i].value, counts);
    report("capabilities", counts);
}

/* A step row's result on /dev/kvm (the VM of slots_steps_text(), no guest running). */
static char *kernel_step(const struct step_row *row, const char *steps)
{
    char *text = slots_steps_text(row->arch, "", row->vmm, steps), result[4096];
    struct scenario *sc = NULL;
    struct kvmrun *r = NULL;
    struct hv_diag d;
    bool ok;
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL_FATAL(scenario_parse(&sc, "/row.yaml", text, strlen(text), &d), 0);
    free(text);
    CU_ASSERT_EQUAL_FATAL(runner_check(sc, &d), 0);
    int err = kvmrun_open(&r, sc);
    TEST_CHECK(err == 0, "%s: %s", row->why, hv_error_detail());
    if (!err)
        err = kvmrun_step(r, 0, result, sizeof result, &ok);
    char *out = err ? NULL : crosscheck_step_result(sc->steps[0].action, result);
    kvmrun_close(r);
    scenario_destroy(sc);
    return out;
}

/* The model's result for a step row under the config section (the facts `only` selects). */
static char *model_step(const struct step_row *row, const char *steps, int only)
{
    struct vmx x;
    char result[4096], config[256] = "";
    char *out = NULL;
    if (only == ALL)
        snprintf(config, sizeof config, "%s", facts_config);
    else if (only != NONE)
        snprintf(config, sizeof config, "config:\n  %s: %s\n", facts_kv[only].key,
                 facts_kv[only].value);
    if (vmx_open(&x, row->arch, config, row->vmm, steps) &&
        vmx_step(&x, 0, result, sizeof result) == 0)
        out = crosscheck_step_result(x.sc->steps[0].action, result);
    vmx_close(&x);
    return out;
}

static void test_step_rows(void)
{
    unsigned counts[3] = { 0 };
    if (skip_without_kvm())
        return;
    for (size_t i = 0; i < slots_nstep_rows; i++) {
        const struct step_row *row = &slots_step_rows[i];
        char steps[512];
        if (strcmp(row->arch, "x86_64") != 0 || !row->result)
            continue;   /* another arch, or a step the scenario check refuses */
        snprintf(steps, sizeof steps, "steps:\n  - {at: start, %s\n", row->step + 1);
        char *m = model_step(row, steps, NONE), *f = model_step(row, steps, ALL);
        char *k = kernel_step(row, steps);
        int c = m && k && strcmp(m, k) == 0 ? 0 : f && k && strcmp(f, k) == 0 ? 1 : 2;
        counts[c]++;
        for (size_t fi = 0; c == 1 && fi < nfacts_kv; fi++) {
            char *one = model_step(row, steps, (int)fi);
            if (one && strcmp(one, k) == 0)
                fprintf(stderr, "\nexplained: step row %zu (%s): the model says %s, /dev/kvm %s "
                        "(%s)", i, row->why, m, k, facts_kv[fi].key);
            free(one);
        }
        TEST_CHECK(c != 2, "step row %zu (%s): the model says %s (%s with this kernel's facts), "
                   "/dev/kvm %s", i, row->why, m ? m : "?", f ? f : "?", k ? k : "?");
        free(m);
        free(f);
        free(k);
    }
    report("step rows", counts);
}

void test_realkvm_register(void)
{
    CU_pSuite s = CU_add_suite("realkvm", NULL, NULL);
    CU_add_test(s, "memslot rule rows (A.1-A.3) on /dev/kvm", test_rule_rows);
    CU_add_test(s, "dirty-log rule rows (A.7) on /dev/kvm", test_dirty_rows);
    CU_add_test(s, "x86_64 step rows on /dev/kvm", test_step_rows);
    CU_add_test(s, "KVM_CHECK_EXTENSION of the model's capabilities on /dev/kvm", test_caps);
}
