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
#include "runner/scenario.h"
#include "tests/test_util.h"

void test_slots_steps_register(void);

/* Two slots (1 logs) over one 2 MiB buffer; vmm.dirty_ring optionally. */
static const char mem_text[] =
    "memory:\n"
    "  buffers: [{name: ram, size: 0x200000}]\n"
    "  slots:\n"
    "    - {slot: 0, gpa: 0x0, size: 0x100000, buffer: ram}\n"
    "    - {slot: 1, gpa: 0x100000, size: 0x100000, buffer: ram, offset: 0x100000,\n"
    "       flags: [log_dirty_pages]}\n";

struct vmx {
    struct scenario *sc;
    struct hv_vm *vm;
    const struct hv_model_ops *m;
};

static int no_sink(void *ctx, const struct hv_event *ev)
{
    (void)ctx;
    (void)ev;
    return 0;
}

/* A VM of the scenario text `steps` (a `steps:` section) on arch, with vmm text. */
static bool vmx_open(struct vmx *x, const char *arch, const char *vmm, const char *steps)
{
    size_t cap = strlen(mem_text) + strlen(vmm) + strlen(steps) + 256;
    char *text = malloc(cap);
    struct hv_diag d;
    memset(x, 0, sizeof *x);
    if (!text)
        return false;
    snprintf(text, cap, "name: t\ndescription: d\nmodel: kvm\narch: %s\nvcpus: 2\nguest: g.c\n"
             "%s%s%s", arch, mem_text, vmm, steps);
    int err = scenario_parse(&x->sc, "/fuzz.yaml", text, strlen(text), &d);
    free(text);
    if (err) {
        char buf[1200];
        hv_diag_format(&d, buf, sizeof buf);
        TEST_CHECK(false, "parse: %s", buf);
        return false;
    }
    x->m = hv_model_lookup("kvm");
    struct hv_vm_config cfg = { .arch = x->sc->arch, .nr_vcpus = 2, .seed = 1, .quantum = 100,
                                .limit = 1000, .model = x->m, .sink = no_sink,
                                .memory = x->sc->memory, .vmm = x->sc->vmm };
    err = hv_vm_create(&x->vm, &cfg);
    TEST_CHECK(err == 0, "VM on %s: %s", arch, hv_error_detail());
    return err == 0;
}

static void vmx_close(struct vmx *x)
{
    hv_vm_destroy(x->vm);
    scenario_destroy(x->sc);
}

/* The step's errno string from its JSON result ("" if none). */
static void result_errno(const char *result, char *eno, size_t size)
{
    const char *p = strstr(result, "\"errno\":\"");
    eno[0] = 0;
    if (p)
        snprintf(eno, size, "%.*s", (int)strcspn(p + 9, "\""), p + 9);
}

/* Runs step i as the runner would: check, then the step. Returns the run's error (0, or a
 * located run-time error) or HV_ESCENARIO for a check refusal; result gets the JSON. */
static int run_step(struct vmx *x, size_t i, char *result, size_t size)
{
    const struct sc_step *st = &x->sc->steps[i];
    struct hv_diag d;
    snprintf(result, size, "null");
    int err = x->m->check_step(st->action, st->args, st->expect, &d);
    if (err)
        return err;
    err = x->m->step(x->vm, st->action, st->args, st->expect, result, size);
    struct kvmm_vm *k = hv_vm_model_data(x->vm);
    TEST_CHECK(kvmm_slots_check(k->slots), "table invariants after step %zu", i);
    return err;
}

/* ---- rows: exact results ---------------------------------------------------------------- */

struct step_row {
    const char *why;
    const char *arch;
    const char *vmm;             /* "" or a vmm: section */
    const char *step;            /* one steps: item */
    const char *result;          /* a substring the result must have; NULL: the check refuses */
};

#define RING_X86 "vmm:\n  dirty_ring: {bytes: 4096}\n"
#define RING_A64 "vmm:\n  dirty_ring: {bytes: 4096, with_bitmap: false}\n"
#define RING_A64_BM "vmm:\n  dirty_ring: {bytes: 4096}\n"

static const struct step_row step_rows[] = {
    /* A.3.6: an address space the VM does not have, refused after A.3.1-A.3.5, before any
     * table is read; no generation to report */
    { "arm64 create in AS 1", "aarch64", "",
      "{do: set_memory_region, args: {slot: 5, as: 1, gpa: 0x400000, size: 0x1000, buffer: ram}}",
      "\"errno\":\"EINVAL\",\"rule\":\"AS_ID\",\"section\":\"A.3.6\",\"change\":null,"
      "\"generation\":null" },
    { "arm create in AS 1", "arm", "",
      "{do: set_memory_region2, args: {slot: 5, as: 1, gpa: 0x400000, size: 0x1000, buffer: ram}}",
      "\"errno\":\"EINVAL\",\"rule\":\"AS_ID\"" },
    { "arm64 delete in AS 1", "aarch64", "",
      "{do: set_memory_region, args: {slot: 0, as: 1, size: 0}}",
      "\"errno\":\"EINVAL\",\"rule\":\"AS_ID\"" },
    { "arm64 AS 0xffff", "aarch64", "",
      "{do: set_memory_region, args: {slot: 0, as: 0xffff, size: 0x1000, buffer: ram}}",
      "\"rule\":\"AS_ID\"" },
    { "x86 AS 1 (SMM) exists", "x86_64", "",
      "{do: set_memory_region, args: {slot: 5, as: 1, gpa: 0x400000, size: 0x1000, buffer: ram}}",
      "\"errno\":\"0\",\"rule\":\"OK\",\"section\":\"-\",\"change\":\"create\",\"generation\":3" },
    { "x86 AS 2", "x86_64", "",
      "{do: set_memory_region, args: {slot: 5, as: 2, gpa: 0x400000, size: 0x1000, buffer: ram}}",
      "\"rule\":\"AS_ID\",\"section\":\"A.3.6\",\"change\":null,\"generation\":null" },
    { "A.3.4 beats A.3.6", "aarch64", "",
      "{do: set_memory_region, args: {slot: 5, as: 1, size: 0x1000, hva: 0x1000000000001}}",
      "\"rule\":\"HVA\"" },
    { "A.2 beats A.3.6", "aarch64", "",
      "{do: set_memory_region, args: {slot: 32767, as: 1, size: 0x1000, buffer: ram}}",
      "\"rule\":\"USER_SLOT_ID\"" },
    { "slot id 0x1ffff is not a 16-bit id", "x86_64", "",
      "{do: set_memory_region, args: {slot: 0x1ffff, size: 0x1000, buffer: ram}}", NULL },
    /* A.3.4 with the host's TASK_SIZE_MAX */
    { "x86 slot ending at TASK_SIZE_MAX = 2^47 - 4096", "x86_64", "",
      "{do: set_memory_region, args: {slot: 5, gpa: 0x400000, size: 0x1000, hva: 0x7fffffffe000}}",
      "\"errno\":\"0\"" },
    { "x86 slot's last page at TASK_SIZE_MAX", "x86_64", "",
      "{do: set_memory_region, args: {slot: 5, gpa: 0x400000, size: 0x1000, hva: 0x7ffffffff000}}",
      "\"errno\":\"EINVAL\",\"rule\":\"HVA\"" },
    { "x86 two pages ending at 2^47", "x86_64", "",
      "{do: set_memory_region, args: {slot: 5, gpa: 0x400000, size: 0x2000, hva: 0x7fffffffe000}}",
      "\"errno\":\"EINVAL\",\"rule\":\"HVA\"" },
    { "arm64 slot's last page below 2^48", "aarch64", "",
      "{do: set_memory_region, args: {slot: 5, gpa: 0x400000, size: 0x1000, hva: 0xfffffffff000}}",
      "\"errno\":\"0\"" },
    { "arm64 slot's last page at 2^48", "aarch64", "",
      "{do: set_memory_region, args: {slot: 5, gpa: 0x400000, size: 0x2000, hva: 0xfffffffff000}}",
      "\"errno\":\"EINVAL\",\"rule\":\"HVA\"" },
    { "arm: the arm64 host's bound", "arm", "",
      "{do: set_memory_region, args: {slot: 5, gpa: 0x400000, size: 0x1000, hva: 0xfffffffff000}}",
      "\"errno\":\"0\"" },
    /* kvm_get_dirty_log_protect(), kvm_clear_dirty_log_protect() */
    { "arm64 GET in AS 1", "aarch64", "", "{do: get_dirty_log, args: {slot: 1, as: 1}}",
      "\"errno\":\"EINVAL\",\"bitmap\":null" },
    { "arm GET in AS 1", "arm", "", "{do: get_dirty_log, args: {slot: 0, as: 1}}",
      "\"errno\":\"EINVAL\"" },
    { "arm64 CLEAR in AS 1", "aarch64", "",
      "{do: clear_dirty_log, args: {slot: 1, as: 1, first_page: 0, num_pages: 64}}",
      "\"errno\":\"EINVAL\"" },
    { "x86 GET in AS 1: no slot", "x86_64", "", "{do: get_dirty_log, args: {slot: 1, as: 1}}",
      "\"errno\":\"ENOENT\"" },
    { "x86 GET in AS 2", "x86_64", "", "{do: get_dirty_log, args: {slot: 1, as: 2}}",
      "\"errno\":\"EINVAL\"" },
    { "x86 GET id 32764", "x86_64", "", "{do: get_dirty_log, args: {slot: 32764}}",
      "\"errno\":\"EINVAL\"" },
    { "x86 GET of the logging slot", "x86_64", "", "{do: get_dirty_log, args: {slot: 1}}",
      "\"errno\":\"0\",\"bitmap\":\"00000000" },
    { "GET slot 0x10000 is not 16 bits", "x86_64", "", "{do: get_dirty_log, args: {slot: 0x10000}}",
      NULL },
    { "CLEAR num_pages past u32", "x86_64", "",
      "{do: clear_dirty_log, args: {slot: 1, num_pages: 0x100000000}}", NULL },
    /* the dirty ring without bitmap backing: ENXIO before the ids are looked at */
    { "ring: GET is ENXIO", "x86_64", RING_X86, "{do: get_dirty_log, args: {slot: 1}}",
      "\"errno\":\"ENXIO\"" },
    { "ring: ENXIO beats AS 1 on arm64", "aarch64", RING_A64,
      "{do: get_dirty_log, args: {slot: 1, as: 1}}", "\"errno\":\"ENXIO\"" },
    { "ring: CLEAR is ENXIO", "x86_64", RING_X86,
      "{do: clear_dirty_log, args: {slot: 1, first_page: 1, num_pages: 64}}",
      "\"errno\":\"ENXIO\"" },
    { "ring with bitmap (arm64): GET works", "aarch64", RING_A64_BM,
      "{do: get_dirty_log, args: {slot: 1}}", "\"errno\":\"0\"" },
    { "ring with bitmap (arm64): AS 1 is EINVAL", "aarch64", RING_A64_BM,
      "{do: get_dirty_log, args: {slot: 1, as: 1}}", "\"errno\":\"EINVAL\"" },
    /* KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING[_ACQ_REL]): the vCPUs exist when steps run */
    { "ring size not a power of two", "x86_64", "",
      "{do: enable_cap, args: {cap: dirty_log_ring, args0: 3000}}",
      "\"errno\":\"EINVAL\",\"rule\":\"NOT_POW2\"" },
    { "ring size 0", "x86_64", "", "{do: enable_cap, args: {cap: dirty_log_ring_acq_rel}}",
      "\"errno\":\"EINVAL\",\"rule\":\"NOT_POW2\"" },
    { "ring smaller than a page", "x86_64", "",
      "{do: enable_cap, args: {cap: dirty_log_ring, args0: 2048}}",
      "\"errno\":\"EINVAL\",\"rule\":\"TOO_SMALL\"" },
    { "ring of 65536 entries is the largest", "x86_64", "",
      "{do: enable_cap, args: {cap: dirty_log_ring, args0: 0x100000}}",
      "\"errno\":\"EINVAL\",\"rule\":\"VCPUS\"" },
    { "ring larger than 65536 entries", "x86_64", "",
      "{do: enable_cap, args: {cap: dirty_log_ring, args0: 0x200000}}",
      "\"errno\":\"E2BIG\",\"rule\":\"TOO_LARGE\"" },
    { "args[0] is taken as a u32", "x86_64", "",
      "{do: enable_cap, args: {cap: dirty_log_ring, args0: 0x100001000}}",
      "\"errno\":\"EINVAL\",\"rule\":\"VCPUS\"" },
    { "after the vCPUs exist", "aarch64", "",
      "{do: enable_cap, args: {cap: dirty_log_ring_acq_rel, args0: 4096}}",
      "\"errno\":\"EINVAL\",\"rule\":\"VCPUS\"" },
    { "arm64 has no TSO ring", "aarch64", "",
      "{do: enable_cap, args: {cap: dirty_log_ring, args0: 4096}}",
      "\"errno\":\"EINVAL\",\"rule\":\"NO_CAP\"" },
    { "set only once", "x86_64", RING_X86,
      "{do: enable_cap, args: {cap: dirty_log_ring_acq_rel, args0: 8192}}",
      "\"errno\":\"EINVAL\",\"rule\":\"ALREADY_SET\"" },
    { "flags are not checked for the ring", "x86_64", "",
      "{do: enable_cap, args: {cap: dirty_log_ring, args0: 4096, flags: 1}}",
      "\"rule\":\"VCPUS\"" },
    { "WITH_BITMAP without a ring", "aarch64", "",
      "{do: enable_cap, args: {cap: dirty_log_ring_with_bitmap}}", "\"errno\":\"EINVAL\"" },
    { "WITH_BITMAP with slots", "aarch64", RING_A64,
      "{do: enable_cap, args: {cap: dirty_log_ring_with_bitmap}}", "\"errno\":\"EINVAL\"" },
    { "WITH_BITMAP on x86", "x86_64", RING_X86,
      "{do: enable_cap, args: {cap: dirty_log_ring_with_bitmap}}", "\"errno\":\"EINVAL\"" },
    /* KVM_RESET_DIRTY_RINGS */
    { "reset without a ring", "x86_64", "", "{do: reset_dirty_rings}",
      "\"errno\":\"EINVAL\",\"count\":0" },
    { "reset with nothing harvested", "aarch64", RING_A64, "{do: reset_dirty_rings}",
      "\"errno\":\"0\",\"count\":0" },
    { "harvest an empty ring", "x86_64", RING_X86, "{do: harvest_dirty_ring, args: {vcpu: 1}}",
      "\"vcpu\":1,\"count\":0,\"entries\":[],\"listed\":0" },
    { "harvest: vCPU id 64", "x86_64", RING_X86, "{do: harvest_dirty_ring, args: {vcpu: 64}}",
      NULL },
    /* KVM_CHECK_EXTENSION */
    { "check_extension by name", "x86_64", "",
      "{do: check_extension, args: {cap: nr_memslots}}",
      "\"cap\":10,\"name\":\"nr_memslots\",\"value\":32764" },
    { "check_extension by number", "aarch64", "", "{do: check_extension, args: {cap: 177}}",
      "\"cap\":177,\"name\":\"arm_nisv_to_user\",\"value\":1" },
    { "check_extension unknown number", "arm", "", "{do: check_extension, args: {cap: 9999}}",
      "\"cap\":9999,\"name\":null,\"value\":0" },
    { "check_extension unknown name", "arm", "", "{do: check_extension, args: {cap: nope}}",
      NULL },
};

static void test_rows(void)
{
    for (size_t i = 0; i < TEST_N(step_rows); i++) {
        const struct step_row *row = &step_rows[i];
        char steps[512], result[4096];
        snprintf(steps, sizeof steps, "steps:\n  - {at: start, %s\n", row->step + 1);
        struct vmx x;
        if (!vmx_open(&x, row->arch, row->vmm, steps))
            continue;
        int err = run_step(&x, 0, result, sizeof result);
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
    if (!vmx_open(&x, arch, vmm, t.p)) {
        free(t.p);
        return;
    }
    size_t refused = 0, ran = 0;
    for (size_t i = 0; i < x.sc->nsteps; i++) {
        char result[4096], eno[32];
        const struct sc_step *st = &x.sc->steps[i];
        int err = run_step(&x, i, result, sizeof result);
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
}
