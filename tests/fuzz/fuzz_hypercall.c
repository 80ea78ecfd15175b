/*
 * fuzz_hypercall.c - libFuzzer harness: each model's hypercall handlers (KVM x86 vmcall and
 * vmmcall, KVM's SMCCC over hvc and smc from AArch64 and AArch32, Xen x86), given hostile
 * registers and guest memory.
 *
 * The VM is one of the targets below, built from its scenario text as `hvsim run` builds it
 * (with the start steps its model defines: an SMCCC filter, a capability); its guest is a
 * few hypercall instructions and then a loop (fuzz_image()). Input layout:
 *   byte 0       the target (modulo their number)
 *   byte 1       how many hypercall instructions run one after another (1 + byte % 3)
 *   8 x NREGS    the general registers before the first (little-endian; missing bytes 0)
 *   the rest     guest memory at fuzz_data_gpa(), up to 8 KiB (where a register may point)
 * The hypercalls are real exits of real vCPUs (sim/vcpu.c calls the model's hypercall op as
 * for any guest), so whatever a handler reads or writes goes through the same guest memory,
 * continuation and event paths. Any crash, leak or undefined behaviour is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/runner.h"
#include "sim/model.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NREGS = 18, DATA_MAX = 8192 };

/* RAM over the code and data pages; kvm.max_slots: 8 because building a VM visits every slot
 * id the model has (32764 by default), the bulk of each input's time */
#define KVM_RAM_X86 "memory:\n  buffers: [{name: ram, size: 0x200000}]\n" \
                    "  slots: [{slot: 0, gpa: 0x0, size: 0x200000, buffer: ram}]\n" \
                    "config:\n  kvm.max_slots: 8\n"
#define KVM_RAM_ARM "memory:\n  buffers: [{name: ram, size: 0x200000}]\n" \
                    "  slots: [{slot: 0, gpa: 0x40000000, size: 0x200000, buffer: ram}]\n" \
                    "config:\n  kvm.max_slots: 8\n"

static const struct target {
    const char *text;         /* the scenario, without name / description / guest */
    uint8_t insn[4];          /* one hypercall instruction */
    size_t len;
} targets[] = {
    { "model: kvm\narch: x86_64\n" KVM_RAM_X86
      "vmm:\n  hypercall: [{nr: 12, ret: 0}]\n"
      "steps:\n  - {at: start, do: enable_cap, args: {cap: exit_hypercall, args0: 0x1000}}\n",
      { 0x0f, 0x01, 0xc1 }, 3 },                                    /* vmcall */
    { "model: kvm\narch: x86_64\n" KVM_RAM_X86 "  kvm.vendor: amd\n",
      { 0x0f, 0x01, 0xc1 }, 3 },                                    /* vmcall, patched */
    { "model: kvm\narch: x86_64\nvcpus: 2\n" KVM_RAM_X86
      "  kvm.fix_hypercall_insn: 0\n",
      { 0x0f, 0x01, 0xd9 }, 3 },                                    /* vmmcall, #UD */
    { "model: kvm\narch: aarch64\nvcpus: 2\n" KVM_RAM_ARM
      "vmm:\n  hypercall: [{nr: 0x84000000, x0: 0x10000}]\n",
      { 0x02, 0x00, 0x00, 0xd4 }, 4 },                              /* hvc #0 */
    { "model: kvm\narch: aarch64\nvcpus: 2\n" KVM_RAM_ARM
      "vmm:\n  hypercall: [{nr: 0x82000001, x0: 0, x1: 0x99}]\n"
      "steps:\n"
      "  - {at: start, do: smccc_filter, args: {base: 0x82000000, nr_functions: 0x100, "
      "action: fwd_to_user}}\n"
      "  - {at: start, do: smccc_filter, args: {base: 0x84000003, nr_functions: 1, "
      "action: deny}}\n",
      { 0x03, 0x00, 0x00, 0xd4 }, 4 },                              /* smc #0 */
    { "model: kvm\narch: aarch64\n" KVM_RAM_ARM "  kvm.arm_forward: rfc2019\n"
      "steps:\n  - {at: start, do: enable_cap, args: {cap: forward_hypercall}}\n",
      { 0x02, 0x00, 0x00, 0xd4 }, 4 },                              /* hvc #0 */
    { "model: kvm\narch: arm\nvcpus: 2\n" KVM_RAM_ARM,
      { 0x70, 0x00, 0x40, 0xe1 }, 4 },                              /* hvc #0 (A32) */
    { "model: kvm\narch: arm\n" KVM_RAM_ARM,
      { 0x70, 0x00, 0x60, 0xe1 }, 4 },                              /* smc #0 (A32) */
    { "model: xen\narch: x86_64\nvcpus: 2\nmemory: {size: 0x200000}\n"
      "config: {xen.debug_clobber: 1, xen.is_console: 1}\n",
      { 0x0f, 0x01, 0xc1 }, 3 },                                    /* vmcall */
    { "model: xen\narch: x86_64\nmemory: {size: 0x200000}\n"
      "config: {xen.vendor: amd, xen.preempt: 'every:1', xen.stlb.capacity: 4}\n",
      { 0x0f, 0x01, 0xd9 }, 3 },                                    /* vmmcall */
};
#define NTARGETS (sizeof targets / sizeof targets[0])

static uint64_t fuzz_data_gpa(enum hv_arch arch)
{
    return fuzz_code_gpa(arch) + 0x10000;
}

/* The target's scenario, parsed and checked once. */
static struct scenario *target_scenario(size_t t)
{
    static struct scenario *sc[NTARGETS];
    if (!sc[t]) {
        char text[2048];
        int n = snprintf(text, sizeof text, "name: fuzz\ndescription: fuzz\nguest: fuzz.c\n%s",
                         targets[t].text);
        sc[t] = fuzz_scenario(text, (size_t)n);
        if (!sc[t]) /* a target the checks refuse is a broken harness */
            abort();
    }
    return sc[t];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const struct target *t = &targets[data[0] % NTARGETS];
    struct scenario *sc = target_scenario(data[0] % NTARGETS);
    unsigned ncalls = 1 + data[1] % 3;
    data += 2, size -= 2;
    uint64_t regs[NREGS] = { 0 };
    size_t rbytes = size < sizeof regs ? size : sizeof regs;
    for (size_t i = 0; i < rbytes; i++)
        regs[i / 8] |= (uint64_t)data[i] << (8 * (i % 8));
    data += rbytes, size -= rbytes;

    uint8_t code[16], image[256];
    size_t len;
    for (unsigned i = 0; i < ncalls; i++)
        memcpy(code + i * t->len, t->insn, t->len);
    fuzz_image(sc->arch, code, ncalls * t->len, image, &len);
    struct hv_kv *kv = runner_config(sc);
    struct hv_vm_config cfg = {
        .arch = sc->arch, .nr_vcpus = (unsigned)sc->vcpus, .seed = 1, .quantum = 50,
        .limit = 400, .model = hv_model_lookup(sc->model), .sink = fuzz_sink, .config = kv,
        .nconfig = sc->nconfig, .memory = sc->memory, .vmm = sc->vmm,
    };
    struct hv_vm *vm = NULL;
    if (!kv || hv_vm_create(&vm, &cfg) || hv_vm_load_elf(vm, image, len))
        abort(); /* a fixed, checked scenario and image: anything else is a bug */
    for (size_t i = 0; i < sc->nsteps; i++) {
        const struct sc_step *st = &sc->steps[i];
        char result[4096];
        if (cfg.model->step(vm, st->action, st->args, st->expect, result, sizeof result))
            abort();
    }
    /* registers of every vCPU: a secondary that PSCI or VCPUOP_up starts sees them too */
    unsigned nregs = sc->arch == HV_ARCH_X86_64 ? 16 : sc->arch == HV_ARCH_AARCH64 ? 18 : 8;
    for (unsigned v = 0; v < hv_vm_nr_vcpus(vm); v++)
        for (unsigned r = 0; r < nregs; r++)
            if (sc->arch != HV_ARCH_X86_64 || r != 4) /* rsp stays the guest's */
                hv_vcpu_set_gpr(hv_vm_vcpu(vm, v), r, regs[r]);
    if (size > DATA_MAX)
        size = DATA_MAX;
    if (size && hv_vm_write_gpa(vm, fuzz_data_gpa(sc->arch), data, size))
        abort();
    bool paused = true;
    while (paused && !hv_vm_run(vm, &paused))
        ;
    hv_vm_destroy(vm);
    free(kv);
    return 0;
}
