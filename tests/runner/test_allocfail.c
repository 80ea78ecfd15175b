/*
 * test_allocfail.c - out of memory on a run's path (sim/allocfail.h), as SQLite's malloc
 * tests fail each allocation in turn: for N = 1, 2, ... the Nth allocation hvsim makes while
 * it loads and checks a bundled scenario, opens its trace, builds the VM with its buffers and
 * slots, runs it and finishes the trace fails once. Every N must end as `hvsim run` ends on
 * bad input, exit 2, with an "out of memory" error, and nothing freed twice or leaked (ASan
 * and LeakSanitizer watch the process); the first N past the last allocation runs clean.
 * The guest is built before counting starts: the build cache is not on the path under test.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/guestbuild.h"
#include "runner/runner.h"
#include "sim/allocfail.h"
#include "tests/test_util.h"
#include "trace/trace.h"

void test_allocfail_register(void);

#define SRC HVSIM_SOURCE_DIR "/scenarios/"

/* The trace writer's sink, and a hash of every event it is given (FNV-1a). */
struct hash_sink {
    struct trace_writer *w;
    uint64_t hash;
};

static void hash_bytes(uint64_t *h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ULL;
}

static int hash_sink_fn(void *ctx, const struct hv_event *ev)
{
    struct hash_sink *hs = ctx;
    uint64_t row[5] = { ev->seq, (uint64_t)ev->vcpu, ev->icount, (uint64_t)ev->kind, ev->pc };
    hash_bytes(&hs->hash, row, sizeof row);
    hash_bytes(&hs->hash, ev->detail, ev->detail_len);
    return trace_writer_event(hs->w, ev);
}

/* The path of `hvsim run`, in its order; returns its exit code and the error's text. */
static int run_path(const char *scen, const void *elf, size_t elf_len, const char *db,
                    int *err_out, char *why, size_t why_size, struct runner_result *res,
                    uint64_t *hash)
{
    struct scenario *sc = NULL;
    struct trace_writer *w = NULL;
    memset(res, 0, sizeof *res);
    struct hv_diag d;
    char *cfg = NULL;
    int code = HV_EXIT_BADINPUT;
    int err = scenario_load(&sc, scen, &d);
    if (err || (err = runner_check(sc, &d))) {
        hv_diag_format(&d, why, why_size);
        goto out;
    }
    if ((err = trace_writer_open(&w, db)))
        goto detail;
    if (!(cfg = runner_config_json(sc))) {
        err = HV_ENOMEM;
        snprintf(why, why_size, "the config");
        goto out;
    }
    if ((err = trace_writer_set_info(w, "scenario_text", sc->text)) ||
        (err = trace_writer_set_info(w, "config", cfg)) ||
        (err = trace_writer_put_blob(w, "guest.elf", elf, elf_len)))
        goto detail;
    struct hash_sink hs = { w, 0xcbf29ce484222325ULL };
    err = runner_execute(sc, elf, elf_len, hash_sink_fn, &hs, NULL, res);
    *hash = hs.hash;
    code = runner_exit_code(res);
    if (err || (err = trace_writer_finish(w))) {
        code = HV_EXIT_BADINPUT;
        goto detail;
    }
    goto out;
detail:
    snprintf(why, why_size, "%s", hv_error_detail());
out:
    trace_writer_close(w);
    scenario_destroy(sc);
    free(cfg);
    *err_out = err;
    return code;
}

static void fail_each(const char *name, const char *arch_guest, enum hv_arch arch,
                      const char *buffer_msg)
{
    if (!allocfail_available()) {
        test_skip("this build has no allocation hook (HVSIM_ALLOC_HOOK)");
        return;
    }
    char scen[512], guest[512], dir[] = "/tmp/hvsim-test-allocfail-XXXXXX", elf_path[600],
         db[600], why[1200];
    snprintf(scen, sizeof scen, SRC "%s", name);
    snprintf(guest, sizeof guest, SRC "%s", arch_guest);
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    snprintf(elf_path, sizeof elf_path, "%s/guest.elf", dir);
    snprintf(db, sizeof db, "%s/t.db", dir);
    static char log[8192];
    size_t elf_len = 0;
    int err = guest_build(arch, guest, elf_path, log, sizeof log);
    char *elf = err ? NULL : test_read_file(elf_path, &elf_len);
    TEST_CHECK(elf != NULL, "%s: building %s: %s", name, guest, log);
    /* a clean run first: what hvsim builds once per process (the trace schema's SQL) is
     * built, so each N below meets the same sequence of allocations; its result is what a
     * run must still give when the allocation that failed was only a cache's */
    struct runner_result clean, res;
    uint64_t clean_hash = 0, hash = 0;
    TEST_CHECK(elf && run_path(scen, elf, elf_len, db, &err, why, sizeof why, &clean,
                               &clean_hash) ==
                          HV_EXIT_OK, "%s: the first run: %s", name, why);
    unlink(db);
    bool buffer_seen = false;
    uint64_t n = 1;
    for (; elf && n < 100000; n++) {
        why[0] = 0;
        hv_error_set(0, "%s", "");   /* no detail left from the previous N */
        allocfail_arm(n);
        int code = run_path(scen, elf, elf_len, db, &err, why, sizeof why, &res, &hash);
        uint64_t count = allocfail_disarm();
        bool fired = allocfail_fired();
        unlink(db);
        if (!fired) {
            /* past the last allocation: the run is clean */
            TEST_CHECK(code == HV_EXIT_OK && count == n - 1,
                       "%s: clean run after %llu allocations: exit %d (%s)", name,
                       (unsigned long long)count, code, why);
            break;
        }
        if (code == HV_EXIT_OK) {
            /* a cache that did without: the run is the same run, event for event */
            TEST_CHECK(hash == clean_hash && res.instructions == clean.instructions,
                       "%s: allocation %llu failed, yet exit 0 with other events", name,
                       (unsigned long long)n);
            continue;
        }
        TEST_CHECK(code == HV_EXIT_BADINPUT && err == HV_ENOMEM && why[0],
                   "%s: allocation %llu of %llu failed: exit %d, %s: \"%s\"", name,
                   (unsigned long long)n, (unsigned long long)count, code, hv_strerror(err),
                   why);
        buffer_seen = buffer_seen || strstr(why, buffer_msg) != NULL;
    }
    TEST_CHECK(n > 10, "%s: only %llu allocations counted", name, (unsigned long long)n);
    TEST_CHECK(buffer_seen, "%s: no failure said \"%s\"", name, buffer_msg);
    free(elf);
    unlink(elf_path);
    rmdir(dir);
}

static void test_kvm_buffers(void)
{
    fail_each("kvm/readonly-x86_64.yaml", "kvm/readonly.c", HV_ARCH_X86_64,
              "buffer rom of 65536 bytes");
}

static void test_xen_ram(void)
{
    fail_each("xen/console-hello-x86_64.yaml", "xen/console.c", HV_ARCH_X86_64,
              "RAM of 16777216 bytes at 0x0");
}

void test_allocfail_register(void)
{
    CU_pSuite s = CU_add_suite("allocfail", NULL, NULL);
    CU_add_test(s, "every allocation of a KVM run with buffers fails in turn", test_kvm_buffers);
    CU_add_test(s, "every allocation of a Xen run fails in turn", test_xen_ram);
}
