/*
 * test_slots_steps.c - the KVM model's memslot, dirty-log, capability and dirty-ring steps
 * (models/kvm/slots_steps.c, ring_steps.c) as a scenario drives them, on x86_64, aarch64 and
 * arm VMs with no guest running: rows with the exact errno of each ioctl's own order of
 * validation (virt/kvm/kvm_main.c kvm_vm_ioctl_set_memory_region(), __kvm_set_memory_region(),
 * kvm_get_dirty_log_protect(), kvm_clear_dirty_log_protect(), kvm_vm_ioctl_enable_cap_generic(),
 * kvm_vm_ioctl_enable_dirty_log_ring(), kvm_vm_ioctl_reset_dirty_pages()), then a fuzz of the
 * step arguments from a seeded splitmix64 stream: no crash, the table's invariants hold, and
 * every result is one of the errnos its rule allows.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/caps.h"
#include "models/kvm/kvm_int.h"
#include "runner/runner.h"
#include "runner/scenario.h"
#include "tests/models/slots_steps_rows.h"
#include "tests/test_util.h"

void test_slots_steps_register(void);

/* The step's errno string from its JSON result ("" if none). */
static void result_errno(const char *result, char *eno, size_t size)
{
    const char *p = strstr(result, "\"errno\":\"");
    eno[0] = 0;
    if (p)
        snprintf(eno, size, "%.*s", (int)strcspn(p + 9, "\""), p + 9);
}

/* ---- rows: exact results ---------------------------------------------------------------- */

static void test_rows(void)
{
    for (size_t i = 0; i < slots_nstep_rows; i++) {
        const struct step_row *row = &slots_step_rows[i];
        char steps[512], result[4096];
        snprintf(steps, sizeof steps, "steps:\n  - {at: start, %s\n", row->step + 1);
        struct vmx x;
        if (!vmx_open(&x, row->arch, "", row->vmm, steps))
            continue;
        int err = vmx_step(&x, 0, result, sizeof result);
        bool ok = row->result ? err == 0 && strstr(result, row->result) != NULL
                              : err == HV_ESCENARIO;
        TEST_CHECK(ok, "row %zu (%s): err %d, result %s", i, row->why, err, result);
        vmx_close(&x);
    }
}

/* ---- the fuzz ----------------------------------------------------------------------------- */

static uint64_t sm_state;

/* splitmix64 (Steele, Lea, Flood 2014): a deterministic stream from its seed. */
static uint64_t sm_next(void)
{
    uint64_t z = (sm_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define PICK(a) ((a)[sm_next() % TEST_N(a)])

struct text {
    char *p;
    size_t n, cap;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    if (t->cap - t->n < 1024) {
        t->cap = t->cap * 2 + 4096;
        t->p = realloc(t->p, t->cap);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t->p);
    }
    va_start(ap, fmt);
    t->n += (size_t)vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
}

static const uint64_t as_ids[] = { 0, 1, 2, 0xffff };
static const uint64_t sizes[] = { 0, 1, 4095, 0x1000, 0x2000, 0x100000, 0x100000000ull,
                                  1ull << 47, 0x7fffffff000ull, 0xfffffffffffff000ull,
                                  0x8000000000000000ull };
static const uint64_t gpas[] = { 0, 0x1000, 0x100000, 0x180000, 0x200000, 1ull << 40,
                                 1ull << 52, 0xfffffffffffff000ull, 0xffffffffffe00000ull,
                                 0x800 };
static const uint64_t hvas[] = { 0, 0x1000, KVMM_HVA_BASE, KVMM_HVA_BASE + 0x1ff000,
                                 (1ull << 47) - 4096, 1ull << 47, (1ull << 48) - 4096,
                                 0xfffffffffffff000ull, KVMM_HVA_BASE + 0x800 };
static const uint64_t flag_vals[] = { 0, 1, 2, 3, 4, 5, 1u << 16, 0xffffffffu, 0x80000000u };
static const uint64_t pages[] = { 0, 1, 63, 64, 128, 255, 256, 257, 0xffffffffu,
                                  0x100000000ull, 0xffffffffffffffc0ull };
static const uint64_t args0s[] = { 0, 1, 2, 3, 4, 2048, 3000, 4096, 8192, 0x100000, 0x200000,
                                   0xffffffffu, 0x100001000ull, 1u << 12 };
static const char *const caps[] = { "manual_dirty_log_protect2", "exit_hypercall",
                                    "dirty_log_ring", "dirty_log_ring_acq_rel",
                                    "dirty_log_ring_with_bitmap", "arm_nisv_to_user", "bogus" };
static const char *const ext_caps[] = { "nr_memslots", "readonly_mem", "multi_address_space",
                                        "manual_dirty_log_protect2", "exit_hypercall",
                                        "user_memory2", "dirty_log_ring",
                                        "dirty_log_ring_acq_rel", "dirty_log_ring_with_bitmap",
                                        "arm_nisv_to_user", "0", "10", "118", "2147483647",
                                        "2147483648", "-1", "nope" };

/* One random step as a steps: item. */
static void fuzz_step(struct text *t, unsigned max_slots)
{
    uint64_t slot_ids[] = { 0, 1, 2, max_slots - 1, max_slots, 0xffff, 0x1ffff };
    static const char *const actions[] = { "set_memory_region", "set_memory_region2",
                                           "get_dirty_log", "clear_dirty_log", "enable_cap",
                                           "check_extension", "harvest_dirty_ring",
                                           "reset_dirty_rings" };
    const char *a = PICK(actions);
    add(t, "  - {at: start, do: %s", a);
    if (strncmp(a, "set_memory_region", 17) == 0) {
        add(t, ", args: {slot: %" PRIu64 ", as: %" PRIu64 ", gpa: %#" PRIx64 ", size: %#" PRIx64
            ", flags: %" PRIu64, PICK(slot_ids), PICK(as_ids), PICK(gpas), PICK(sizes),
            sm_next() % 4 ? PICK(flag_vals) : (uint64_t)(uint32_t)sm_next());
        if (sm_next() % 2)
            add(t, ", buffer: ram, offset: %#" PRIx64, PICK(gpas) & 0x3fffff);
        else
            add(t, ", hva: %#" PRIx64, PICK(hvas));
        if (sm_next() % 5 == 0)
            add(t, ", window: %" PRIu64, sm_next() % 3 * 500);
        add(t, "}");
    } else if (strcmp(a, "get_dirty_log") == 0) {
        add(t, ", args: {slot: %" PRIu64 ", as: %" PRIu64 "}", PICK(slot_ids), PICK(as_ids));
    } else if (strcmp(a, "clear_dirty_log") == 0) {
        add(t, ", args: {slot: %" PRIu64 ", as: %" PRIu64 ", first_page: %" PRIu64
            ", num_pages: %" PRIu64, PICK(slot_ids), PICK(as_ids), PICK(pages), PICK(pages));
        if (sm_next() % 2) {
            add(t, ", bitmap: \"");
            for (uint64_t n = sm_next() % 40; n; n--)
                add(t, "%02x", (unsigned)(sm_next() & 0xff));
            add(t, "\"");
        }
        add(t, "}");
    } else if (strcmp(a, "enable_cap") == 0) {
        add(t, ", args: {cap: %s, args0: %#" PRIx64 ", flags: %d}", PICK(caps), PICK(args0s),
            sm_next() % 4 == 0);
    } else if (strcmp(a, "check_extension") == 0) {
        add(t, ", args: {cap: %s}", PICK(ext_caps));
    } else if (strcmp(a, "harvest_dirty_ring") == 0) {
        add(t, ", args: {vcpu: %" PRIu64 "}", sm_next() % 4 ? sm_next() % 2 : sm_next() % 70);
    }
    add(t, "}\n");
}

static bool one_of(const char *eno, const char *const *allowed)
{
    for (size_t i = 0; allowed[i]; i++)
        if (strcmp(eno, allowed[i]) == 0)
            return true;
    return false;
}

/* The errnos a step's rule allows (NULL-terminated), for this VM. */
static const char *const *allowed_errnos(const char *action, const char *args_cap, bool arm,
                                         bool ring)
{
    static const char *const set_x86[] = { "0", "EINVAL", "EEXIST", NULL };
    static const char *const set_arm[] = { "0", "EINVAL", "EEXIST", "EFAULT", NULL };
    static const char *const get[] = { "0", "EINVAL", "ENOENT", NULL };
    static const char *const get_ring[] = { "0", "EINVAL", "ENOENT", "ENXIO", NULL };
    static const char *const clr[] = { "0", "EINVAL", "ENOENT", "EFAULT", NULL };
    static const char *const clr_ring[] = { "0", "EINVAL", "ENOENT", "EFAULT", "ENXIO", NULL };
    static const char *const cap_ok[] = { "0", "EINVAL", NULL };
    static const char *const cap_ring[] = { "EINVAL", "E2BIG", NULL };
    static const char *const cap_bm[] = { "EINVAL", NULL };
    static const char *const reset[] = { "0", "EINVAL", NULL };
    static const char *const none[] = { "", NULL };
    if (strncmp(action, "set_memory_region", 17) == 0)
        return arm ? set_arm : set_x86;
    if (strcmp(action, "get_dirty_log") == 0)
        return ring ? get_ring : get;
    if (strcmp(action, "clear_dirty_log") == 0)
        return ring ? clr_ring : clr;
    if (strcmp(action, "enable_cap") == 0) {
        if (strcmp(args_cap, "dirty_log_ring_with_bitmap") == 0)
            return cap_bm;   /* slots exist */
        return strncmp(args_cap, "dirty_log_ring", 14) == 0 ? cap_ring : cap_ok;
    }
    if (strcmp(action, "reset_dirty_rings") == 0)
        return reset;
    return none;   /* check_extension and harvest_dirty_ring have no errno */
}

static void fuzz_vm(const char *arch, const char *vmm, uint64_t seed, size_t nsteps)
{
    bool arm = strcmp(arch, "x86_64") != 0, ring = vmm[0] != 0;
    struct text t = { 0 };
    sm_state = seed;
    add(&t, "steps:\n");
    for (size_t i = 0; i < nsteps; i++)
        fuzz_step(&t, arm ? KVMM_USER_SLOTS_ARM64 : KVMM_USER_SLOTS_X86);
    struct vmx x;
    if (!vmx_open(&x, arch, "", vmm, t.p)) {
        free(t.p);
        return;
    }
    size_t refused = 0, ran = 0;
    for (size_t i = 0; i < x.sc->nsteps; i++) {
        char result[4096], eno[32];
        const struct sc_step *st = &x.sc->steps[i];
        int err = vmx_step(&x, i, result, sizeof result);
        if (err == HV_ESCENARIO && strcmp(result, "null") == 0) {   /* refused by the check */
            refused++;
            continue;
        }
        /* a run-time refusal by the VMM: a harvest with no ring or no such vCPU, a buffer
         * offset past the buffer */
        bool located = err == HV_EINVAL || err == HV_ESCENARIO;
        TEST_CHECK(err == 0 || located, "%s step %zu (%s, line %d): error %d (%s)", arch, i,
                   st->action, st->node->line, err, hv_error_detail());
        if (err)
            continue;
        ran++;
        result_errno(result, eno, sizeof eno);
        const struct hv_node *c = st->args ? hv_node_get(st->args, "cap") : NULL;
        const char *const *allowed = allowed_errnos(st->action, c ? c->str : "", arm, ring);
        TEST_CHECK(one_of(eno, allowed), "%s step %zu (%s, line %d): errno '%s' not allowed: %s",
                   arch, i, st->action, st->node->line, eno, result);
        if (strcmp(st->action, "check_extension") == 0)
            TEST_CHECK(strstr(result, "\"value\":") && !strstr(result, "\"value\":-"),
                       "%s step %zu: %s", arch, i, result);
    }
    TEST_CHECK(refused > 0 && ran > nsteps / 4, "%s: %zu steps ran, %zu refused by the check",
               arch, ran, refused);
    vmx_close(&x);
    free(t.p);
}

static int count_page(void *ctx, uint64_t gpa)
{
    (void)gpa;
    ++*(unsigned *)ctx;
    return 0;
}

/* A migration over the dirty ring that syncs before any page was harvested (a migrate step at
 * start) reports no page: found by tests/fuzz (fuzz_steps), a qsort of the empty, unallocated
 * list before. */
static void test_nothing_collected(void)
{
    struct vmx x;
    if (!vmx_open(&x, "x86_64", "", RING_X86, ""))
        return;
    unsigned n = 0;
    int err = kvmm_ring_collected(hv_vm_model_data(x.vm), count_page, &n);
    TEST_CHECK(err == 0 && n == 0, "err %d, %u pages", err, n);
    vmx_close(&x);
}

/* A vmm.dirty_ring KVM refuses (not a power of two: kvm_vm_ioctl_enable_dirty_log_ring())
 * fails the VM after the buffers were parsed: the names the model did not copy yet belong to
 * the scenario, and only it frees them (a double free before; found by tests/fuzz). */
static void test_refused_vm(void)
{
    char *text = slots_steps_text("x86_64", "", "vmm:\n  dirty_ring: {bytes: 65537}\n", "");
    struct scenario *sc = NULL;
    struct hv_diag d;
    if (!text || scenario_parse(&sc, "/refused.yaml", text, strlen(text), &d)) {
        TEST_CHECK(false, "the scenario does not parse");
        free(text);
        return;
    }
    struct hv_kv *kv = runner_config(sc);
    struct hv_vm_config cfg = { .arch = sc->arch, .nr_vcpus = 2, .seed = 1, .quantum = 100,
                                .limit = 1000, .model = hv_model_lookup("kvm"),
                                .config = kv, .nconfig = sc->nconfig, .memory = sc->memory,
                                .vmm = sc->vmm };
    struct hv_vm *vm = NULL;
    int err = kv ? hv_vm_create(&vm, &cfg) : HV_ENOMEM;
    TEST_CHECK(err == HV_ESCENARIO, "err %d: %s", err, hv_error_detail());
    hv_vm_destroy(vm);
    free(kv);
    scenario_destroy(sc);
    free(text);
}

static void test_fuzz(void)
{
    static const char *const archs[] = { "x86_64", "aarch64", "arm" };
    for (size_t a = 0; a < TEST_N(archs); a++) {
        const char *ring = strcmp(archs[a], "x86_64") == 0 ? RING_X86 : RING_A64_BM;
        for (uint64_t seed = 1; seed <= 3; seed++) {
            fuzz_vm(archs[a], "", seed * 0x1234567ull + a, 400);
            fuzz_vm(archs[a], ring, seed * 0x7654321ull + a, 400);
        }
    }
}

void test_slots_steps_register(void)
{
    CU_pSuite s = CU_add_suite("slots_steps", NULL, NULL);
    CU_add_test(s, "exact results of the ioctls' validation order", test_rows);
    CU_add_test(s, "fuzzed step arguments (splitmix64)", test_fuzz);
    CU_add_test(s, "a migration sync with nothing harvested", test_nothing_collected);
    CU_add_test(s, "a VM the model refuses frees each buffer name once", test_refused_vm);
}
