/*
 * dstate.c - registers, code and the dispatch to the model's state function (dstate.h).
 */
#include <inttypes.h>
#include <string.h>

#include <unicorn/unicorn.h>

#include "debug/dstate.h"
#include "sim/migrate.h"
#include "sim/model.h"

/* The registers `state` shows, by hvsim's names (hv_vcpu_reg_by_name), general first. */
static const char *const x86_regs[] = {
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12",
    "r13", "r14", "r15", "rip", "rflags", "cr0", "cr2", "cr3", "cr4", "cs", NULL,
};
static const char *const a64_regs[] = {
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
    "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
    "x27", "x28", "x29", "x30", "sp", "pc", "nzcv", "pstate", "sctlr_el1", "tcr_el1",
    "ttbr0_el1", "ttbr1_el1", "vbar_el1", "elr_el1", "esr_el1", "far_el1", NULL,
};
static const char *const a32_regs[] = {
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp",
    "lr", "pc", "cpsr", "spsr", "sctlr", "ttbcr", "ttbr0", "ttbr1", "dacr", "vbar", "dfsr",
    "dfar", "ifsr", "ifar", NULL,
};

static const char *const *reg_list(enum hv_arch a)
{
    return a == HV_ARCH_X86_64 ? x86_regs : a == HV_ARCH_AARCH64 ? a64_regs : a32_regs;
}

/* x86 registers hvsim has no name for: SS and EFER (an MSR). */
static int x86_extra(struct hv_vcpu *v, const char *name, uint64_t *out)
{
    if (strcmp(name, "ss") == 0)
        return hv_vcpu_uc_reg(v, UC_X86_REG_SS, out);
    uc_x86_msr msr = { .rid = 0xc0000080, .value = 0 };
    int err = hv_vcpu_uc_reg(v, UC_X86_REG_MSR, &msr);
    *out = msr.value;
    return err;
}

int dstate_regs(FILE *f, struct hv_vcpu *v, uint64_t pc, uint64_t icount, bool json)
{
    enum hv_arch arch = hv_vm_arch(hv_vcpu_vm(v));
    const char *why = NULL;
    uint64_t spc = 0;
    const char *state = hv_vcpu_state(v, &why, &spc);
    if (json)
        fprintf(f, "{\"vcpu\":%u,\"state\":\"%s\",\"why\":\"%s\",\"pc\":%" PRIu64
                   ",\"icount\":%" PRIu64 ",\"regs\":{",
                hv_vcpu_id(v), state, why ? why : "", pc, icount);
    else
        fprintf(f, "vCPU %u: %s%s%s%s, pc 0x%" PRIx64 ", %" PRIu64 " instructions retired\n",
                hv_vcpu_id(v), state, why && *why ? " (" : "", why ? why : "",
                why && *why ? ")" : "", pc, icount);
    const char *const *names = reg_list(arch);
    const char *const x86_more[] = { "ss", "efer", NULL };
    unsigned col = 0;
    bool first = true;
    for (int pass = 0; pass < 2; pass++) {
        const char *const *list = pass == 0 ? names : arch == HV_ARCH_X86_64 ? x86_more : NULL;
        for (size_t i = 0; list && list[i]; i++) {
            uint64_t val = 0;
            int err = pass == 0 ? hv_vcpu_reg_by_name(v, list[i], &val)
                                : x86_extra(v, list[i], &val);
            struct hv_x86_mode m;
            if (strcmp(list[i], "pc") == 0)
                val = pc;
            else if (strcmp(list[i], "rip") == 0 && hv_vcpu_x86_mode(v, &m) == 0)
                val = pc - m.cs_base;   /* the engine's RIP lags inside an exit */
            if (json) {
                if (err)
                    continue;
                fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",", list[i], val);
                first = false;
                continue;
            }
            if (err)
                fprintf(f, "  %-9s %18s", list[i], "?");
            else
                fprintf(f, "  %-9s 0x%016" PRIx64, list[i], val);
            if (++col % 3 == 0)
                fputc('\n', f);
        }
    }
    if (json)
        fputs("}}", f);
    else if (col % 3)
        fputc('\n', f);
    return 0;
}

int dstate_disasm(FILE *f, struct hv_vcpu *v, uint64_t pc, size_t n)
{
    enum hv_arch arch = hv_vm_arch(hv_vcpu_vm(v));
    uint8_t code[128];
    size_t len = 0;
    size_t want = n * (arch == HV_ARCH_X86_64 ? 15 : 4);
    if (want > sizeof code)
        want = sizeof code;
    while (len < want && hv_vcpu_read_gva(v, pc + len, &code[len], 1) == 0)
        len++;
    char buf[4096];
    hv_disasm_mode(arch, hv_vcpu_thumb(v), code, len, pc, pc, n, buf, sizeof buf);
    fputs(buf, f);
    return 0;
}

int dstate_model(FILE *f, struct hv_vm *vm, bool json)
{
    const char *name = hv_vm_model(vm)->name;
    if (strcmp(name, "kvm") == 0)
        return dstate_kvm(f, vm, json);
    if (strcmp(name, "xen") == 0)
        return dstate_xen(f, vm, json);
    return dstate_none(f, vm, json);
}

int dstate_logged(struct hv_vm *vm, uint64_t gpa)
{
    if (!vm)
        return -1;
    const char *name = hv_vm_model(vm)->name;
    if (strcmp(name, "kvm") == 0)
        return dstate_kvm_logged(vm, gpa);
    if (strcmp(name, "xen") == 0)
        return dstate_xen_logged(vm, gpa);
    return -1;
}
