/*
 * test_runner.c - the runner's end-of-run rules (runner/runner.c), on real runs of bundled
 * guests: the outcome, each vCPU's end state against `vcpus` (every vCPU done by default when
 * the run is expected to end done), the summary line, and the failure lines that give the
 * expected value beside the actual one. The rows come from the rules of
 * docs/scenario-format.md ("Outcomes") and the modeled behaviour they name (KVM A.6: a fetch
 * from unbacked memory fails the vCPU; PSCI CPU_OFF and SYSTEM_OFF power vCPUs off), and the
 * KVM model's default memory layout running a guest on each arch.
 */
#include <CUnit/CUnit.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/guestbuild.h"
#include "runner/runner.h"
#include "sim/model.h"
#include "tests/test_util.h"

void test_runner_register(void);

#define SRC HVSIM_SOURCE_DIR "/scenarios/"

static char tr_dir[256];

static int tr_init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(tr_dir, sizeof tr_dir, "%s/hvsim-test-runner-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(tr_dir) ? 0 : -1;
}

static int tr_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int tr_cleanup(void)
{
    nftw(tr_dir, tr_rm, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* The scenarios the rows run: everything but `expect`, which each row adds. */
enum { T_FETCH, T_PSCI, T_SPIN, T_ASSERT, T_LIMIT, T_KVM_X86, T_KVM_ARM64, T_KVM_ARM, T__COUNT };
static const struct {
    const char *text;
    const char *guest;   /* under scenarios/ */
} templates[T__COUNT] = {
    [T_FETCH] = { "model: kvm\narch: x86_64\n"
                  "memory:\n  buffers: [{name: ram, size: 0x1000000}]\n"
                  "  slots: [{slot: 0, gpa: 0, size: 0x1000000, buffer: ram}]\n",
                  "kvm/fetch_unbacked.c" },
    [T_PSCI] = { "model: kvm\narch: aarch64\nvcpus: 2\n"
                 "memory:\n  buffers: [{name: ram, size: 0x1000000}]\n"
                 "  slots: [{slot: 0, gpa: 0x40000000, size: 0x1000000, buffer: ram}]\n"
                 "vmm: {power_off: [1]}\n",
                 "kvm/psci.c" },
    [T_SPIN] = { "model: none\narch: x86_64\nvcpus: 2\nquantum: 500\n", "none/spinlock.c" },
    [T_ASSERT] = { "model: none\narch: x86_64\n", "none/assert_fail.c" },
    [T_LIMIT] = { "model: none\narch: x86_64\nlimit: 1000\n", "none/spinlock.c" },
    /* KVM without `memory`: the default layout (slot 0 of 16 MiB at the arch's RAM base) */
    [T_KVM_X86] = { "model: kvm\narch: x86_64\nvcpus: 2\n", "none/spinlock.c" },
    [T_KVM_ARM64] = { "model: kvm\narch: aarch64\nvcpus: 2\n", "none/spinlock.c" },
    [T_KVM_ARM] = { "model: kvm\narch: arm\nvcpus: 2\n", "none/spinlock.c" },
};

/* Builds (once per template) and runs template t with the expect section exp. */
static int run_row(int t, const char *exp, struct runner_result *res, char *failed,
                   size_t fsize, char *why, size_t wsize);

static void collect_failed(const char *line, void *ctx)
{
    char *buf = ctx;
    size_t l = strlen(buf);
    snprintf(buf + l, 4096 - l, "%s\n", line);
}

static int run_row(int t, const char *exp, struct runner_result *res, char *failed,
                   size_t fsize, char *why, size_t wsize)
{
    static char *elf[T__COUNT];
    static size_t elf_len[T__COUNT];
    char text[2048], path[512], log[8192];
    struct scenario *sc = NULL;
    struct hv_diag d;
    int err;
    snprintf(text, sizeof text, "name: t\ndescription: d\nguest: %s%s\n%sexpect:\n%s", SRC,
             templates[t].guest, templates[t].text, exp);
    if ((err = scenario_parse(&sc, "row.yaml", text, strlen(text), &d)) ||
        (err = runner_check(sc, &d))) {
        hv_diag_format(&d, why, wsize);
        goto out;
    }
    if (!elf[t]) {
        snprintf(path, sizeof path, "%s/guest%d.elf", tr_dir, t);
        if ((err = guest_build(sc->arch, sc->guest_path, path, log, sizeof log))) {
            snprintf(why, wsize, "guest_build: %.400s", log);
            goto out;
        }
        elf[t] = test_read_file(path, &elf_len[t]);
    }
    failed[0] = '\0';
    (void)fsize;
    struct runner_hooks hooks = { .failed = collect_failed, .ctx = failed };
    err = runner_execute(sc, elf[t], elf_len[t], NULL, NULL, &hooks, res);
    if (err)
        snprintf(why, wsize, "runner_execute: %s", hv_strerror(err));
out:
    scenario_destroy(sc);
    return err;
}

static void test_outcomes(void)
{
    static const struct {
        int t;
        const char *expect;    /* the scenario's expect section */
        const char *outcome;
        bool ok;               /* every expectation held */
        const char *summary;   /* part of the summary line */
        const char *failed;    /* part of the failure lines ("" when ok) */
    } rows[] = {
        /* a vCPU the model failed: KVM_EXIT_INTERNAL_ERROR (A.6) is outcome failed, never done */
        { T_FETCH, "  events: {kvm_exit: 1}\n", "failed", false,
          "outcome failed: vCPU 0 failed at pc 0xc0000000 (KVM_EXIT_INTERNAL_ERROR)",
          "expect outcome: expected \"done\", got \"failed\"\n"
          "expect vcpus.0: expected {\"state\":\"done\"}, got "
          "{\"state\":\"failed\",\"why\":\"KVM_EXIT_INTERNAL_ERROR\"}\n" },
        { T_FETCH, "  outcome: failed\n", "failed", true, "vCPU 0 failed", "" },
        { T_FETCH, "  outcome: failed\n  vcpus: {0: failed}\n", "failed", true, "", "" },
        { T_FETCH, "  outcome: failed\n  vcpus: {0: {state: failed, why: KVM_EXIT_INTERNAL_ERROR}}\n",
          "failed", true, "", "" },
        { T_FETCH, "  outcome: failed\n  vcpus: {0: {state: failed, why: \"KVM_RUN: -ENOEXEC\"}}\n",
          "failed", false, "",
          "expect vcpus.0: expected {\"state\":\"failed\",\"why\":\"KVM_RUN: -ENOEXEC\"}, got "
          "{\"state\":\"failed\",\"why\":\"KVM_EXIT_INTERNAL_ERROR\"}" },
        { T_FETCH, "  outcome: failed\n  vcpus: {0: stopped}\n", "failed", false, "",
          "expect vcpus.0: expected {\"state\":\"stopped\"}" },
        { T_FETCH, "  outcome: done\n  vcpus: {0: failed}\n", "failed", false, "",
          "expect outcome: expected \"done\", got \"failed\"\n" },
        /* powered off as the guest asked (PSCI CPU_OFF, SYSTEM_OFF): done, but not GUEST_DONE */
        { T_PSCI, "  outcome: done\n", "done", false,
          "outcome done: vCPU 0 stopped at pc 0x", "expect vcpus.0: expected {\"state\":\"done\"}, "
          "got {\"state\":\"stopped\",\"why\":\"PSCI SYSTEM_OFF\"}\n"
          "expect vcpus.1: expected {\"state\":\"done\"}, got "
          "{\"state\":\"stopped\",\"why\":\"PSCI CPU_OFF\"}\n" },
        { T_PSCI, "  vcpus: {0: stopped, 1: stopped}\n", "done", true, "(PSCI CPU_OFF)", "" },
        { T_PSCI, "  vcpus: {1: {state: stopped, why: PSCI CPU_OFF}}\n", "done", false, "",
          "expect vcpus.0: expected {\"state\":\"done\"}" },
        /* every vCPU called GUEST_DONE */
        { T_SPIN, "  outcome: done\n", "done", true, "outcome done", "" },
        { T_SPIN, "  vcpus: {0: done, 1: done}\n", "done", true, "outcome done", "" },
        { T_SPIN, "  vcpus: {1: stopped}\n", "done", false, "",
          "expect vcpus.1: expected {\"state\":\"stopped\"}, got "
          "{\"state\":\"done\",\"why\":\"GUEST_DONE\"}\n" },
        { T_SPIN, "  outcome: failed\n", "done", false, "",
          "expect outcome: expected \"failed\", got \"done\"\n" },
        /* other outcomes: only the vCPUs listed are checked */
        { T_ASSERT, "  outcome: assert\n", "assert", true,
          "guest assertion failed at assert_fail.c:10: 2 + 2 == 5", "" },
        { T_ASSERT, "  outcome: assert\n  vcpus: {0: {state: failed, why: assert}}\n", "assert",
          true, "", "" },
        { T_ASSERT, "  events: {ucall_sync: 1}\n", "assert", false, "",
          "expect vcpus.0: expected {\"state\":\"done\"}, got {\"state\":\"failed\",\"why\":\"assert\"}" },
        { T_LIMIT, "  outcome: limit\n", "limit", true, "outcome limit: vCPU 0 runnable at pc 0x",
          "" },
        /* the KVM model's default memory layout runs the guest on each arch */
        { T_KVM_X86, "  output: \"counter = 4000 (2 vCPUs x 2000)\"\n", "done", true,
          "outcome done", "" },
        { T_KVM_ARM64, "  output: \"counter = 4000 (2 vCPUs x 2000)\"\n", "done", true,
          "outcome done", "" },
        { T_KVM_ARM, "  output: \"counter = 4000 (2 vCPUs x 2000)\"\n", "done", true,
          "outcome done", "" },
        { T_LIMIT, "  outcome: limit\n  vcpus: {0: done}\n", "limit", false, "",
          "expect vcpus.0: expected {\"state\":\"done\"}, got {\"state\":\"runnable\"" },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        struct runner_result res;
        char failed[4096], why[1024];
        if (run_row(rows[i].t, rows[i].expect, &res, failed, sizeof failed, why, sizeof why)) {
            TEST_CHECK(false, "row %zu: %s", i, why);
            continue;
        }
        const char *outcome = hv_outcome_name(res.outcome);
        TEST_CHECK(strcmp(outcome, rows[i].outcome) == 0, "row %zu: outcome %s, expected %s", i,
                   outcome, rows[i].outcome);
        TEST_CHECK(res.expect_ok == rows[i].ok, "row %zu: expectations %s; failures:\n%s", i,
                   res.expect_ok ? "held" : "failed", failed);
        TEST_CHECK(runner_exit_code(&res) == (rows[i].ok ? 0 : 1), "row %zu: exit code %d", i,
                   runner_exit_code(&res));
        TEST_CHECK(strstr(res.summary, rows[i].summary) != NULL, "row %zu: summary '%s'", i,
                   res.summary);
        TEST_CHECK(rows[i].ok ? failed[0] == '\0' : strstr(failed, rows[i].failed) != NULL,
                   "row %zu: failure lines:\n%s", i, failed);
    }
}

/* `vcpus` and `outcome` are checked before anything runs, located, with a "did you mean". */
static void test_expect_checks(void)
{
    static const struct {
        const char *expect;
        int line, col;       /* within the expect section: line 1 is "expect:" */
        const char *msg;
    } rows[] = {
        { "  outcome: faild\n", 2, 12, "'outcome': unknown outcome 'faild' (did you mean 'failed'?)" },
        { "  outcome: bogus\n", 2, 12, "'outcome': unknown outcome 'bogus' (allowed: done, assert, "
                                       "limit, exception, failed, deadlock, error, budget)" },
        { "  vcpus: {0: stoped}\n", 2, 14, "'vcpus': unknown state 'stoped' (did you mean 'stopped'?)" },
        { "  vcpus: {2: done}\n", 2, 11, "'vcpus': vCPU 2 is out of range (the scenario has 2 vCPUs)" },
        { "  vcpus: {one: done}\n", 2, 11, "'vcpus': expected an unsigned integer, got 'one'" },
        { "  vcpus: {0: {stat: done}}\n", 2, 15, "unknown key 'stat' in vcpus entry (did you mean 'state'?)" },
        { "  vcpus: {0: {why: x}}\n", 2, 14, "'vcpus': an entry needs 'state'" },
        { "  vcpus: [done]\n", 2, 10, "'vcpus': expected a map, got a sequence" },
        { "  vcpu: {0: done}\n", 2, 3, "unknown key 'vcpu' in expect (did you mean 'vcpus'?)" },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        char text[1024];
        snprintf(text, sizeof text, "name: t\ndescription: d\nmodel: none\narch: x86_64\n"
                 "vcpus: 2\nguest: g.c\nexpect:\n%s", rows[i].expect);
        struct scenario *sc = NULL;
        struct hv_diag d;
        int err = scenario_parse(&sc, "s.yaml", text, strlen(text), &d);
        if (!err)
            err = runner_check(sc, &d);
        TEST_CHECK(err == HV_ESCENARIO && d.line == rows[i].line + 6 && d.col == rows[i].col &&
                   strcmp(d.msg, rows[i].msg) == 0,
                   "row %zu: %d:%d: %s", i, d.line - 6, d.col, d.msg);
        scenario_destroy(sc);
    }
}

/* Each model's step_actions (the "did you mean" vocabulary) are actions its check_step knows. */
static void test_step_actions(void)
{
    struct hv_node empty = { .type = HV_NODE_MAP, .file = "s.yaml", .line = 1, .col = 1 };
    for (const struct hv_model_ops *const *m = hv_model_list(); *m; m++) {
        for (const char *const *a = (*m)->step_actions; a && *a; a++) {
            struct hv_diag d;
            int err = (*m)->check_step ? (*m)->check_step(*a, &empty, NULL, &d) : HV_ENOENT;
            TEST_CHECK(err != HV_ENOENT, "model %s: step action '%s' is not accepted",
                       (*m)->name, *a);
        }
        TEST_CHECK(!(*m)->step_actions || (*m)->check_step, "model %s lists actions without "
                   "check_step", (*m)->name);
    }
}

void test_runner_register(void)
{
    CU_pSuite s = CU_add_suite("runner", tr_init, tr_cleanup);
    CU_add_test(s, "outcomes", test_outcomes);
    CU_add_test(s, "expect checks", test_expect_checks);
    CU_add_test(s, "step actions", test_step_actions);
}
