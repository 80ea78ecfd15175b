/* slots_steps_rows.c - the rows and the VM of slots_steps_rows.h. */
#include "tests/models/slots_steps_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/kvm_int.h"
#include "runner/runner.h"
#include "tests/test_util.h"

static const char mem_text[] =
    "memory:\n"
    "  buffers: [{name: ram, size: 0x200000}]\n"
    "  slots:\n"
    "    - {slot: 0, gpa: 0x0, size: 0x100000, buffer: ram}\n"
    "    - {slot: 1, gpa: 0x100000, size: 0x100000, buffer: ram, offset: 0x100000,\n"
    "       flags: [log_dirty_pages]}\n";

char *slots_steps_text(const char *arch, const char *config, const char *vmm, const char *steps)
{
    size_t cap = strlen(mem_text) + strlen(config) + strlen(vmm) + strlen(steps) + 256;
    char *text = malloc(cap);
    if (text)
        snprintf(text, cap, "name: t\ndescription: d\nmodel: kvm\narch: %s\nvcpus: 2\n"
                 "guest: g.c\n%s%s%s%s", arch, mem_text, config, vmm, steps);
    return text;
}

static int no_sink(void *ctx, const struct hv_event *ev)
{
    (void)ctx;
    (void)ev;
    return 0;
}

bool vmx_open(struct vmx *x, const char *arch, const char *config, const char *vmm,
              const char *steps)
{
    char *text = slots_steps_text(arch, config, vmm, steps);
    struct hv_diag d;
    memset(x, 0, sizeof *x);
    if (!text)
        return false;
    int err = scenario_parse(&x->sc, "/fuzz.yaml", text, strlen(text), &d);
    free(text);
    if (err) {
        char buf[1200];
        hv_diag_format(&d, buf, sizeof buf);
        TEST_CHECK(false, "parse: %s", buf);
        return false;
    }
    x->m = hv_model_lookup("kvm");
    x->kv = runner_config(x->sc);
    struct hv_vm_config cfg = { .arch = x->sc->arch, .nr_vcpus = 2, .seed = 1, .quantum = 100,
                                .limit = 1000, .model = x->m, .sink = no_sink,
                                .config = x->kv, .nconfig = x->sc->nconfig,
                                .memory = x->sc->memory, .vmm = x->sc->vmm };
    err = x->kv ? hv_vm_create(&x->vm, &cfg) : HV_ENOMEM;
    TEST_CHECK(err == 0, "VM on %s: %s", arch, hv_error_detail());
    return err == 0;
}

void vmx_close(struct vmx *x)
{
    hv_vm_destroy(x->vm);
    scenario_destroy(x->sc);
    free(x->kv);
}

int vmx_step(struct vmx *x, size_t i, char *result, size_t size)
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

const struct step_row slots_step_rows[] = {
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

const size_t slots_nstep_rows = sizeof slots_step_rows / sizeof slots_step_rows[0];
