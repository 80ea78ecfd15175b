/*
 * xen.c - the Xen model for x86-64 HVM guests: discovery through CPUID and the hypercall page
 * (docs/sources.md C.2), the hypercall entry and ABI (C.1), guest-virtual buffers through the
 * running vCPU's page tables (C.3, walk.c and copy.c), the hypercalls in hcalls.c, and the
 * software TLB and physical-address flavour of the 2022 proposal (C.6, stlb.c).
 *
 * Guest memory is one RAM region (memory: {size, base}), the p2m of a domain with no holes.
 * Viridian is not modeled, so the Xen leaves and MSR sit at base 0x40000000.
 *
 * Invariants:
 *   1. Every hypercall that reaches the model emits exactly one xen_hypercall event, after
 *      the registers have their final values.
 *   2. vcpu[i].down is set exactly for the vCPUs that are down (_VPF_down): at start every
 *      vCPU but 0, then as VCPUOP_up / VCPUOP_down say. A down vCPU is stopped in sim/.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"
#include "models/xen/xen_int.h"
#include "scenarios/lib/hv_abi.h"
#include "sim/migrate.h"
#include "sim/model.h"

#define XENM_DEFAULT_RAM (16ULL << 20)

static const struct hv_knob xen_knobs[] = {
    { "xen.vendor", "intel", "host vendor: intel (hypercall page uses vmcall) or amd (vmmcall); "
                             "the other vendor's instruction raises #UD (C.2)" },
    { "xen.debug_clobber", "0", "1 = a debug build: completed hypercalls that did not return "
                                "-ENOSYS poison their argument registers (C.1)" },
    { "xen.cpuid_limit", "0", "the toolstack's hypervisor-leaf limit: 0 = default "
                              "(5 leaves), else clamped to 2..5 (C.2)" },
    { "xen.version", "4.23", "MAJOR.MINOR reported by CPUID leaf 1 and XENVER_version" },
    { "xen.extraversion", "-unstable", "XENVER_extraversion (at most 15 characters)" },
    { "xen.domid", "1", "the domain id (CPUID HVM leaf ECX); 0 makes it the hardware and "
                        "control domain" },
    { "xen.is_console", "0", "1 = the domain may use the console (d->is_console): "
                             "CONSOLEIO_write allowed" },
    { "xen.verbose_debug", "0", "1 = CONFIG_VERBOSE_DEBUG (default in debug builds): "
                                "CONSOLEIO_write allowed for every domain" },
    { "xen.preempt", "never", "when hypercall_preempt_check() says yes in memory_op "
                              "reservations: never, every:N (after N extents of a leg) or "
                              "seed (a draw from the run's seed per check) (C.4)" },
    { "xen.bug.continuation_progress", "0", "bug: a memory_op continuation encodes start "
                                            "extent nr_done + 1, losing one extent (C.4)" },
    { "xen.bug.continuation_extent_shift", "6", "bug: the MEMOP_EXTENT_SHIFT (3..26) of the "
                                                "hypervisor a domain is restored on: a "
                                                "memory_op continuation saved mid-call by a "
                                                "migration resumes at the wrong start extent "
                                                "when it differs from the source's 6 (C.4)" },
    { "xen.bug.hcpage_insn_len", "3", "bug: the length (3..6) of the hypercall instruction "
                                      "in the stubs the restore rewrite (xen.hcpage_on_restore "
                                      "rewrite) writes, a longer one being the same "
                                      "instruction after CS prefixes: the stubs' ret moves, so "
                                      "a vCPU saved at a stub's ret resumes mid-instruction "
                                      "(C.2)" },
    { "xen.stlb.capacity", "0", "entries per software TLB of the 2022 proposal (C.6), "
                                "1..64; 0 = no software TLB, no VCPUOPs 16-18 and no "
                                "physical-address flavour (Xen as it is)" },
    { "xen.cross_vcpu", "current", "whose page tables and software TLB Xen uses to write "
                                   "another vCPU's linear runstate or time area: current (the "
                                   "calling vCPU's, as copy_to_user_hvm does) or subject (the "
                                   "area owner's) (C.5, C.6)" },
    { "xen.time_calibration", "1000000000", "ns (guest instructions) between the host's time "
                                            "calibrations, which give the time area a new "
                                            "record (Xen's EPOCH is 1 s) (C.5)" },
    { "xen.stlb.shared", "0", "1 = every vCPU starts on vCPU 0's software TLB, as if each had "
                              "called VCPUOP stlb_share(v, 0) at creation (C.6); needs "
                              "xen.stlb.capacity > 0" },
    { "xen.bug.stlb_purge_shared", "0", "bug: each vCPU keeps its last software TLB hit in "
                                         "a private one-page lookaside that a purge clears "
                                         "only for the purging vCPU, so a vCPU sharing the "
                                         "table uses a purged entry (C.6)" },
    { "xen.stlb.encrypted", "0", "1 = an encrypted guest: Xen cannot walk its page tables, "
                                 "so a software TLB miss is -EFAULT (C.6)" },
    { "xen.hcpage_on_restore", "keep", "the hypercall page of a restored domain: keep (Xen: "
                                       "the page is guest RAM, its stubs are the source "
                                       "vendor's) or rewrite (re-filled for this host's "
                                       "vendor, the behaviour called a mistake in C.2)" },
    { NULL, NULL, NULL },
};

/* ---- C.1: the ABI as data ---- */

static const unsigned regs64[5] = { 7, 6, 2, 10, 8 };  /* rdi rsi rdx r10 r8 */
static const unsigned regs32[5] = { 3, 1, 2, 6, 7 };   /* ebx ecx edx esi edi */

const unsigned *xenm_abi_arg_regs(bool mode64)
{
    return mode64 ? regs64 : regs32;
}

const char *xenm_abi_entry(unsigned mode, unsigned cpl, bool *mode64)
{
    *mode64 = mode == 8;
    if (mode == 1)
        return "virtual-8086 mode";
    if (mode != 0 && cpl != 0)
        return "CPL != 0";
    return NULL;
}

uint64_t xenm_abi_rax(uint64_t rax, bool mode64, int64_t ret)
{
    return mode64 ? (uint64_t)ret : (rax & 0xffffffff00000000ULL) | (uint32_t)ret;
}

void xenm_abi_decode(const uint64_t gpr[16], bool mode64, uint64_t *nr, uint64_t args[5])
{
    const unsigned *r = xenm_abi_arg_regs(mode64);
    *nr = mode64 ? gpr[0] : (uint32_t)gpr[0];
    for (unsigned i = 0; i < 5; i++)
        args[i] = mode64 ? gpr[r[i]] : (uint32_t)gpr[r[i]];
}

/* The HVM64 and HVM32 columns of xen/include/hypercall-defs.c for a default x86 build (no
 * XSM, no Argo): the same hypercalls, with each handler's argument count in either column
 * (compat_set_timer_op takes the 64-bit timeout as two halves). */
static const struct {
    uint8_t nr, nargs64, nargs32;
    const char *name;
} hc_table[] = {
    { 7, 1, 1, "platform_op" }, { 12, 2, 2, "memory_op" }, { 13, 2, 2, "multicall" },
    { 15, 1, 2, "set_timer_op" }, { 17, 2, 2, "xen_version" }, { 18, 3, 3, "console_io" },
    { 20, 3, 3, "grant_table_op" }, { 21, 2, 2, "vm_assist" }, { 24, 3, 3, "vcpu_op" },
    { 29, 2, 2, "sched_op" }, { 32, 2, 2, "event_channel_op" }, { 33, 2, 2, "physdev_op" },
    { 34, 2, 2, "hvm_op" }, { 35, 1, 1, "sysctl" }, { 36, 1, 1, "domctl" },
    { 40, 2, 2, "xenpmu_op" }, { 41, 3, 3, "dm_op" }, { 42, 5, 5, "hypfs_op" },
    { 49, 1, 1, "paging_domctl_cont" },
};

/* Every name public/xen.h defines, by number (for the event). */
static const char *const hc_names[56] = {
    "set_trap_table", "mmu_update", "set_gdt", "stack_switch", "set_callbacks",
    "fpu_taskswitch", "sched_op_compat", "platform_op", "set_debugreg", "get_debugreg",
    "update_descriptor", NULL, "memory_op", "multicall", "update_va_mapping", "set_timer_op",
    "event_channel_op_compat", "xen_version", "console_io", "physdev_op_compat",
    "grant_table_op", "vm_assist", "update_va_mapping_otherdomain", "iret", "vcpu_op",
    "set_segment_base", "mmuext_op", "xsm_op", "nmi_op", "sched_op", "callback_op",
    "xenoprof_op", "event_channel_op", "physdev_op", "hvm_op", "sysctl", "domctl",
    "kexec_op", "tmem_op", "argo_op", "xenpmu_op", "dm_op", "hypfs_op", NULL, NULL, NULL,
    NULL, NULL, "arch_0", "arch_1", "arch_2", "arch_3", "arch_4", "arch_5", "arch_6",
    "arch_7",
};

unsigned xenm_abi_nargs(uint64_t nr, bool mode64)
{
    for (size_t i = 0; i < sizeof hc_table / sizeof hc_table[0]; i++)
        if (hc_table[i].nr == nr)
            return mode64 ? hc_table[i].nargs64 : hc_table[i].nargs32;
    return 0;
}

const char *xenm_hc_name(uint64_t nr)
{
    if (nr == XENM_HC_paging_domctl_cont)
        return "paging_domctl_cont";
    return nr < sizeof hc_names / sizeof hc_names[0] ? hc_names[nr] : NULL;
}

void xenm_abi_clobber(uint64_t gpr[16], bool mode64, unsigned nargs)
{
    const unsigned *r = xenm_abi_arg_regs(mode64);
    for (unsigned i = 0; i < nargs && i < 5; i++)
        gpr[r[i]] = mode64 ? XENM_CLOBBER64
                           : ((gpr[r[i]] & 0xffffffff00000000ULL) | XENM_CLOBBER32);
}

/* ---- C.2: the hypercall page ---- */

void xenm_hcpage_fill(uint8_t page[4096], bool amd, unsigned insn_len)
{
    unsigned pre = insn_len > 3 ? insn_len - 3 : 0;  /* CS prefixes before the instruction */
    memset(page, 0xcc, 4096);
    for (unsigned i = 0; i < 4096 / 32; i++) {
        uint8_t *p = page + 32 * i;
        if (i == XENM_HC_iret) {
            p[0] = 0x0f; /* ud2: HYPERVISOR_iret isn't supported */
            p[1] = 0x0b;
            continue;
        }
        p[0] = 0xb8; /* mov imm32, %eax */
        p[1] = (uint8_t)i;
        p[2] = p[3] = p[4] = 0;
        memset(p + 5, 0x2e, pre);
        p[5 + pre] = 0x0f;
        p[6 + pre] = 0x01;
        p[7 + pre] = amd ? 0xd9 : 0xc1; /* vmmcall / vmcall */
        p[8 + pre] = 0xc3; /* ret */
    }
}

const char *xenm_hcpage_msr_rule(uint64_t value, bool (*ram)(void *ctx, uint64_t gfn), void *ctx,
                                 uint64_t *gfn_out)
{
    *gfn_out = value >> 12;
    if (value & 0xfff)
        return "page index != 0";
    if (!ram(ctx, value >> 12))
        return "gfn not a writable RAM page";
    return NULL;
}

/* ---- scenario sections ---- */

static int parse_memory(const struct hv_node *mem, uint64_t *base, uint64_t *size,
                        struct hv_diag *d)
{
    *base = HV_RAM_BASE_X86_64;
    *size = XENM_DEFAULT_RAM;
    return hv_model_parse_ram(mem, base, size, d);
}

static int xen_check_memory(const struct hv_node *mem, const struct hv_check_ctx *c,
                            struct hv_diag *d)
{
    uint64_t base, size;
    int err = parse_memory(mem, &base, &size, d);
    if (!err && c->arch != HV_ARCH_X86_64)
        err = hv_diag_at(d, mem, "model xen supports arch x86_64 only");
    if (!err)
        err = hv_model_memory_budget(c, mem ? hv_node_get(mem, "size") : NULL, size, d);
    return err;
}

/* The knobs, read and checked in one place, for xen_check_config and xen_vm_init. */
static int xen_knobs_read(const struct hv_check_ctx *c, uint64_t seed, struct xenm_vm *x,
                          struct hv_diag *d)
{
    static const char *const vendors[] = { "intel", "amd", NULL };
    static const char *const crosses[] = { "current", "subject", NULL };
    static const char *const hcpages[] = { "keep", "rewrite", NULL };
    unsigned vendor = 0, cross = 0, hcpage = 0;
    uint64_t lim, domid, cap, period, shift, hclen;
    const struct hv_node *at;
    int err;
    if ((err = hv_model_knob_word(c, "xen.vendor", vendors, &vendor, d)) ||
        (err = hv_model_knob_bool(c, "xen.debug_clobber", &x->debug_clobber, d)) ||
        (err = hv_model_knob_bool(c, "xen.verbose_debug", &x->verbose_debug, d)) ||
        (err = hv_model_knob_bool(c, "xen.is_console", &x->is_console, d)) ||
        (err = hv_model_knob_u64(c, "xen.cpuid_limit", 0, UINT32_MAX, &lim, d)) ||
        /* DOMID_FIRST_RESERVED - 1 */
        (err = hv_model_knob_u64(c, "xen.domid", 0, 0x7fef, &domid, d)) ||
        (err = hv_model_knob_u64(c, "xen.stlb.capacity", 0, XENM_STLB_MAX, &cap, d)) ||
        (err = hv_model_knob_bool(c, "xen.stlb.encrypted", &x->stlb_encrypted, d)) ||
        (err = hv_model_knob_bool(c, "xen.stlb.shared", &x->stlb_shared, d)) ||
        (err = hv_model_knob_bool(c, "xen.bug.stlb_purge_shared", &x->bug_stlb_purge, d)) ||
        (err = hv_model_knob_word(c, "xen.cross_vcpu", crosses, &cross, d)) ||
        (err = hv_model_knob_u64(c, "xen.time_calibration", 1, UINT64_MAX, &period, d)) ||
        (err = hv_model_knob_bool(c, "xen.bug.continuation_progress", &x->bug_progress, d)) ||
        /* op 6 (populate_physmap) must still fit the command mask; start << shift < 2^32 */
        (err = hv_model_knob_u64(c, "xen.bug.continuation_extent_shift", 3, 26, &shift, d)) ||
        (err = hv_model_knob_u64(c, "xen.bug.hcpage_insn_len", 3, 6, &hclen, d)) ||
        (err = hv_model_knob_word(c, "xen.hcpage_on_restore", hcpages, &hcpage, d)))
        return err;
    if (x->stlb_encrypted && !cap) {
        hv_model_knob(c, "xen.stlb.encrypted", &at);
        return hv_diag_at(d, at, "'xen.stlb.encrypted': needs xen.stlb.capacity > 0 (the "
                                 "software TLB is its only translation)");
    }
    if (x->stlb_shared && !cap) {
        hv_model_knob(c, "xen.stlb.shared", &at);
        return hv_diag_at(d, at, "'xen.stlb.shared': needs xen.stlb.capacity > 0 (there is "
                                 "no table to share)");
    }
    const char *ver = hv_model_knob(c, "xen.version", &at);
    unsigned maj, min;
    char tail;
    if (sscanf(ver, "%u.%u%c", &maj, &min, &tail) != 2 || maj > 0xffff || min > 0xffff)
        return hv_diag_at(d, at, "'xen.version': expected MAJOR.MINOR, got '%s'", ver);
    const char *ev = hv_model_knob(c, "xen.extraversion", &at);
    if (strlen(ev) >= sizeof x->extraversion)
        return hv_diag_at(d, at, "'xen.extraversion': longer than %zu characters",
                          sizeof x->extraversion - 1);
    const char *pre = hv_model_knob(c, "xen.preempt", &at);
    if (xenm_preempt_parse(pre, seed, &x->preempt))
        return hv_diag_at(d, at, "'xen.preempt': expected never, every:N (N >= 1) or seed, got "
                                 "'%s'", pre);
    x->amd = vendor == 1;
    /* hv_limit: 0 = XEN_CPUID_MAX_NUM_LEAVES, else clamped to 2..5 (C.2) */
    x->cpuid_limit = lim == 0 ? 5 : lim < 2 ? 2 : lim > 5 ? 5 : (unsigned)lim;
    x->domid = (uint32_t)domid;
    x->stlb_capacity = (unsigned)cap;
    x->cross_subject = cross == 1;
    x->time_period = period;
    x->hcpage_rewrite = hcpage == 1;
    x->restore_shift = (unsigned)shift;
    x->hcpage_insn_len = (unsigned)hclen;
    x->extent_shift = XENM_MEMOP_EXTENT_SHIFT;
    x->major = maj;
    x->minor = min;
    memcpy(x->extraversion, ev, strlen(ev) + 1);
    return 0;
}

static int xen_check_config(const struct hv_check_ctx *c, struct hv_diag *d)
{
    struct xenm_vm *x = calloc(1, sizeof *x);
    if (!x)
        return HV_ENOMEM;
    int err = xen_knobs_read(c, 0, x, d);
    free(x);
    return err;
}

static int xen_vm_init(struct hv_vm *vm, const struct hv_node *mem, const struct hv_node *vmm)
{
    (void)vmm;
    if (hv_vm_arch(vm) != HV_ARCH_X86_64)
        return hv_error_set(HV_ESCENARIO, "model xen supports arch x86_64 only");
    struct xenm_vm *x = calloc(1, sizeof *x);
    if (!x)
        return HV_ENOMEM;
    hv_vm_set_model_data(vm, x);
    x->shutdown_code = -1;
    struct hv_check_ctx c;
    struct hv_diag d;
    char msg[1200];
    int err;
    uint64_t base, size;
    hv_vm_check_ctx(vm, &c);
    if ((err = xen_knobs_read(&c, hv_vm_seed(vm), x, &d)) ||
        (err = parse_memory(mem, &base, &size, &d))) {
        hv_diag_format(&d, msg, sizeof msg);
        return hv_error_set(err, "%s", msg);
    }
    x->preempt.sched = hv_vm_schedule(vm);
    for (unsigned i = 0; x->stlb_capacity && i < HV_MAX_VCPUS; i++) {
        xenm_stlb_init(&x->stlb[i], x->stlb_capacity);
        x->stlb_of[i] = x->stlb_shared ? 0 : (uint8_t)i;
    }
    for (unsigned i = 1; i < hv_vm_nr_vcpus(vm) && i < HV_MAX_VCPUS; i++)
        x->vcpu[i].down = true;
    /* runstates: created offline at time 0; the boot vCPU is runnable once the domain is
     * unpaused, the others when VCPUOP_up wakes them (C.5) */
    for (unsigned i = 0; i < HV_MAX_VCPUS; i++)
        x->vcpu[i].a.rs.state = i == 0 ? XENM_RS_runnable : XENM_RS_offline;
    /* tsc_set_info(d, TSC_MODE_DEFAULT, 0, 0, 0) at creation: incarnation 0 + 1 */
    x->incarnation = 1;
    if (!(x->mem = malloc(sizeof *x->mem)))
        return HV_ENOMEM;
    xenm_memop_init(x->mem, base, size);
    x->ram_base = base;
    x->ram_size = size;
    return hv_vm_add_ram(vm, base, size);
}

static void xen_vm_fini(struct hv_vm *vm)
{
    struct xenm_vm *x = hv_vm_model_data(vm);
    if (x) {
        free(x->mem);
        xenm_logdirty_disable(&x->dirty);
    }
    free(x);
}

/*
 * Secondary vCPUs start down (invariant 2). Their context is hvsim's boot state (the ELF
 * entry, RDI = id, RSI = number of vCPUs), as if the toolstack had initialised them: VCPUOP_up
 * resumes them there (docs/models/xen.md).
 */
static bool xen_vcpu_starts(struct hv_vcpu *v)
{
    struct xenm_vm *x = hv_vm_model_data(hv_vcpu_vm(v));
    unsigned id = hv_vcpu_id(v);
    struct xenm_vcpu *xv = &x->vcpu[id];
    hv_vcpu_reg_by_name(v, "rip", &xv->rip);
    for (unsigned i = 0; i < 16; i++)
        xv->gpr[i] = hv_vcpu_gpr(v, i);
    return !xv->down;
}

/* ---- C.2: CPUID ---- */

static enum hv_exit_action xen_cpuid(struct hv_vcpu *v, struct hv_exit_cpuid *e)
{
    struct xenm_vm *x = hv_vm_model_data(hv_vcpu_vm(v));
    if (e->leaf < 0x40000000u || e->leaf > 0x7fffffffu)
        return HV_ACT_DEFAULT; /* not the hypervisor range: the CPU's own answer */
    const uint32_t base = 0x40000000u;
    uint32_t idx = e->leaf - base;
    e->eax = e->ebx = e->ecx = e->edx = 0;  /* guest_cpuid starts from EMPTY_LEAF */
    if (e->leaf > 0x400001ffu || idx > x->cpuid_limit)
        return HV_ACT_HANDLED;
    switch (idx) {
    case 0:
        e->eax = base + x->cpuid_limit;
        e->ebx = 0x566e6558; /* "XenV" */
        e->ecx = 0x65584d4d; /* "MMXe" */
        e->edx = 0x4d4d566e; /* "nVMM" */
        break;
    case 1:
        e->eax = x->major << 16 | x->minor;
        break;
    case 2:
        e->eax = 1;                       /* hypercall pages */
        e->ebx = XENM_MSR_HYPERCALL_PAGE; /* MSR base; ECX features are PV only */
        break;
    case 3:
        /* the time leaf for hvsim's host: every rdtsc emulated (vtsc, TSC_MODE_ALWAYS_EMULATE)
         * at 1 GHz, a safe host TSC, RDTSCP; d->arch.incarnation: 1 from creation, one more
         * on every restore (tsc_set_info) */
        if (e->subleaf == 0) {
            e->eax = 1u | 1u << 1 | 1u << 2;
            e->ebx = 1;        /* tsc_mode */
            e->ecx = 1000000;  /* tsc_khz */
            e->edx = x->incarnation;
        } else if (e->subleaf == 1) {
            e->eax = e->ebx = 0;   /* vtsc: the offset is in the emulated value */
            e->ecx = 0x80000000u;  /* vtsc_to_ns.mul_frac */
            e->edx = 1;            /* vtsc_to_ns.shift */
        } else if (e->subleaf == 2) {
            e->eax = 1000000;      /* cpu_khz */
        }
        break;
    case 4:
        if (e->subleaf != 0)
            break;
        /* IOMMU_MAPPINGS | VCPU_ID_PRESENT | DOMID_PRESENT | UPCALL_VECTOR; no APIC or
         * x2APIC register virtualisation on the modeled host */
        e->eax = (1u << 2) | (1u << 3) | (1u << 4) | (1u << 6);
        e->ebx = hv_vcpu_id(v);
        e->ecx = x->domid;
        break;
    default:
        break; /* leaf 5 is PV only */
    }
    return HV_ACT_HANDLED;
}

/* ---- C.2: the hypercall-page MSR ---- */

static bool gfn_is_ram(void *ctx, uint64_t gfn)
{
    return gfn < (1ULL << 52) && hv_vm_gpa_ptr(ctx, gfn << 12, 4096) != NULL;
}

static enum hv_exit_action xen_msr(struct hv_vcpu *v, struct hv_exit_msr *e)
{
    struct hv_vm *vm = hv_vcpu_vm(v);
    struct xenm_vm *x = hv_vm_model_data(vm);
    if (e->index == 0xc0000080u && e->write) /* EFER: the walker needs NX (walk.h rule 4) */
        x->vcpu[hv_vcpu_id(v)].efer = e->value;
    if (e->index < 0x40000000u || e->index > 0x400002ffu)
        return HV_ACT_DEFAULT;
    if (e->index != XENM_MSR_HYPERCALL_PAGE) {
        e->gp = true; /* the rest of Xen's window: X86EMUL_EXCEPTION */
        return HV_ACT_HANDLED;
    }
    if (!e->write) {
        e->value = 0; /* reads as zero */
        return HV_ACT_HANDLED;
    }
    uint64_t gfn;
    if (xenm_hcpage_msr_rule(e->value, gfn_is_ram, vm, &gfn)) {
        e->gp = true;
        return HV_ACT_HANDLED;
    }
    uint8_t *page = hv_vm_gpa_ptr(vm, gfn << 12, 4096);
    xenm_hcpage_fill(page, x->amd, 3);
    /* guest_wrmsr_xen writes through __map_domain_page and calls no paging_mark_dirty: a
     * write the log does not see */
    hv_vm_note_write(vm, v, gfn << 12, 4096, "model write");
    hv_vm_code_written(vm, gfn << 12, 4096);
    x->hcpage_set = true;
    x->hcpage_gfn = gfn;
    return HV_ACT_HANDLED;
}

/* ---- C.3: guest buffers of the running vCPU ---- */

/* The guest-memory and paging view of a copy (C.3, C.6): via's page tables and the software
 * TLB via uses (copy_to_user_hvm only knows current), lookups recorded on emit, writes
 * reported as emit's. */
struct copy_ctx {
    struct xenm_mem m;
    struct xenm_paging p;
    struct xenm_stlb_use u;
    struct hv_vm *vm;
    struct xenm_vm *x;
    struct hv_vcpu *writer;
};

static uint8_t *mem_page(void *ctx, uint64_t gfn)
{
    struct copy_ctx *cc = ctx;
    if (gfn >= (1ULL << 52))
        return NULL;
    return hv_vm_gpa_ptr(cc->vm, gfn << 12, 4096);
}

/* paging_mark_pfn_dirty (log-dirty, mig.h) for a page Xen wrote: copy_to_guest's data pages
 * and the walker's A/D updates; and the write's provenance. */
static void mem_dirty(void *ctx, uint64_t gfn)
{
    struct copy_ctx *cc = ctx;
    xenm_logdirty_mark(&cc->x->dirty, gfn);
    hv_vm_note_write(cc->vm, cc->writer, gfn << 12, 4096, "model write");
}

static void paging_of(struct hv_vcpu *v, struct xenm_paging *p, const struct xenm_vm *x)
{
    memset(p, 0, sizeof *p);
    p->efer = x->vcpu[hv_vcpu_id(v)].efer;
    hv_vcpu_reg_by_name(v, "cr0", &p->cr0);
    hv_vcpu_reg_by_name(v, "cr3", &p->cr3);
    hv_vcpu_reg_by_name(v, "cr4", &p->cr4);
    hv_vcpu_reg_by_name(v, "rflags", &p->rflags);
    p->maxphysaddr = XENM_MAXPHYSADDR;
    p->amd = x->amd;
    p->page1gb = true;
}

static void note_copy(struct xenm_call *c, const struct xenm_copy *r, uint32_t res)
{
    char item[320];
    int n;
    if (!res)
        n = snprintf(item, sizeof item,
                     "{\"dir\":\"%s\",\"va\":\"0x%" PRIx64 "\",\"len\":%" PRIu32
                     ",\"done\":%" PRIu32 ",\"ok\":true}",
                     r->to_guest ? "to" : "from", r->va, r->len, r->done);
    else
        n = snprintf(item, sizeof item,
                     "{\"dir\":\"%s\",\"va\":\"0x%" PRIx64 "\",\"len\":%" PRIu32
                     ",\"done\":%" PRIu32 ",\"ok\":false,\"fault_va\":\"0x%" PRIx64
                     "\",\"why\":\"%s\",\"level\":%u}",
                     r->to_guest ? "to" : "from", r->va, r->len, r->done, r->fault_va,
                     xenm_walk_why_name(r->walk.why), r->walk.level);
    /* keep the array valid: drop items that do not fit */
    if (n < 0 || c->ncopies_len + (size_t)n + 3 > sizeof c->copies)
        return;
    if (c->ncopies_len)
        c->copies[c->ncopies_len++] = ',';
    memcpy(c->copies + c->ncopies_len, item, (size_t)n);
    c->ncopies_len += (size_t)n;
    c->copies[c->ncopies_len] = 0;
}

/* Every software TLB lookup is an event (C.6), on the vCPU ctx the copy is made for. */
static void note_stlb(void *ctx, unsigned table, uint64_t va, bool hit, const struct xenm_walk *w)
{
    bool ok = w->why == XENM_WALK_OK;
    struct hv_ev_xen_stlb ev = {
        .table = table, .va = va, .hit = hit, .gpa = ok ? w->gpa : 0,
        .error = ok ? NULL : xenm_walk_why_name(w->why),
    };
    hv_vcpu_emit(ctx, HV_EV_xen_stlb, &ev);
}

static void copy_ctx_of(struct xenm_vm *x, struct hv_vcpu *via, struct hv_vcpu *emit, bool phys,
                        struct copy_ctx *cc)
{
    cc->vm = hv_vcpu_vm(via);
    cc->x = x;
    cc->writer = emit;
    cc->m = (struct xenm_mem){ mem_page, mem_dirty, cc };
    paging_of(via, &cc->p, x);
    unsigned table = x->stlb_of[hv_vcpu_id(via)];
    cc->u = (struct xenm_stlb_use){
        .t = x->stlb_capacity ? &x->stlb[table] : NULL, .table = table,
        .encrypted = x->stlb_encrypted, .phys = phys, .note = note_stlb, .ctx = emit,
        .last = x->bug_stlb_purge ? &x->stlb_last[hv_vcpu_id(via)] : NULL,
    };
    cc->p.stlb = &cc->u;
}

uint32_t xenm_to_guest(struct xenm_call *c, uint64_t va, const void *src, uint32_t len)
{
    struct copy_ctx cc;
    struct xenm_copy r;
    copy_ctx_of(c->x, c->v, c->v, c->phys, &cc);
    uint32_t res = xenm_copy_to_guest(&cc.m, &cc.p, va, src, len, &r);
    note_copy(c, &r, res);
    return res;
}

uint32_t xenm_from_guest(struct xenm_call *c, void *dst, uint64_t va, uint32_t len)
{
    struct copy_ctx cc;
    struct xenm_copy r;
    copy_ctx_of(c->x, c->v, c->v, c->phys, &cc);
    uint32_t res = xenm_copy_from_guest(&cc.m, &cc.p, dst, va, len, &r);
    note_copy(c, &r, res);
    return res;
}

uint32_t xenm_guest_write(struct xenm_vm *x, struct hv_vcpu *via, struct hv_vcpu *emit,
                          uint64_t va, const void *src, uint32_t len, struct xenm_copy *out)
{
    struct copy_ctx cc;
    copy_ctx_of(x, via, emit, false, &cc);
    return xenm_copy_to_guest(&cc.m, &cc.p, va, src, len, out);
}

/* ---- C.1: the hypercall entry ---- */

static void emit(struct xenm_call *c, bool advanced, bool clobbered)
{
    char copies[sizeof c->copies + 2];
    snprintf(copies, sizeof copies, "[%s]", c->copies);
    struct hv_ev_xen_hypercall ev = {
        .nr = c->nr, .name = xenm_hc_name(c->phys ? c->nr & ~XENM_HC_PHYS : c->nr),
        .mode = c->mode, .a0 = c->args[0], .a1 = c->args[1], .a2 = c->args[2],
        .a3 = c->args[3], .a4 = c->args[4], .ret = (int64_t)hv_vcpu_gpr(c->v, 0),
        .rule = c->rule, .advanced = advanced, .clobbered = clobbered, .copies = copies,
    };
    hv_vcpu_emit(c->v, HV_EV_xen_hypercall, &ev);
}

/*
 * hvm_hypercall (xen/arch/x86/hvm/hypercall.c): the ABI from hvm_guest_x86_mode(). 64-bit
 * mode: index RAX, arguments RDI RSI RDX R10 R8, result RAX. Any other mode (compatibility,
 * 32- or 16-bit protected, real): index EAX, arguments EBX ECX EDX ESI EDI, the compat handler
 * (call_handlers_hvm32), result in EAX only (cpu_user_regs' eax aliases the low half of rax:
 * the upper half keeps its value). CPL != 0 outside real mode, and virtual-8086 mode, get
 * RAX = -EPERM, all 64 bits. docs/models/xen.md lists what a 32-bit caller gets per hypercall.
 */
static enum hv_exit_action xen_hypercall(struct hv_vcpu *v, struct hv_exit_hypercall *e)
{
    struct xenm_vm *x = hv_vm_model_data(hv_vcpu_vm(v));
    struct xenm_call c = { .v = v, .x = x, .act = HV_ACT_HANDLED, .next_pc = e->pc + e->len,
                           .mode = e->x86.mode };
    const char *refused = xenm_abi_entry(c.mode, e->x86.cpl, &c.mode64);
    uint64_t gpr[16];
    for (unsigned i = 0; i < 16; i++)
        gpr[i] = hv_vcpu_gpr(v, i);
    xenm_abi_decode(gpr, c.mode64, &c.nr, c.args);
    const unsigned *regs = xenm_abi_arg_regs(c.mode64);
    enum hv_hc_insn native = x->amd ? HV_HC_VMMCALL : HV_HC_VMCALL;
    if (e->insn != native) {
        /* no VM exit on this vendor and no emulation in Xen: #UD (C.2) */
        hv_vcpu_inject(v, 6, 0);
        c.rule = x->amd ? "vmcall on an AMD host: #UD" : "vmmcall on an Intel host: #UD";
        emit(&c, false, false);
        return HV_ACT_RETRY;
    }
    if (refused) {
        hv_vcpu_set_gpr(v, 0, (uint64_t)-XENM_EPERM); /* regs->rax: all 64 bits */
        c.rule = refused;
        emit(&c, true, false);
        return HV_ACT_HANDLED;
    }
    /* the physical-address flavour: a bit on the number (C.6), when the proposal is on */
    c.phys = x->stlb_capacity && (c.nr & XENM_HC_PHYS);
    uint64_t nr = c.phys ? c.nr & ~XENM_HC_PHYS : c.nr;
    switch (nr) {
    case XENM_HC_console_io:
        xenm_console_io(&c);
        break;
    case XENM_HC_xen_version:
        xenm_xen_version(&c);
        break;
    case XENM_HC_sched_op:
        xenm_sched_op(&c);
        break;
    case XENM_HC_vcpu_op:
        xenm_vcpu_op(&c);
        break;
    case XENM_HC_memory_op:
        if (c.mode64) {
            xenm_memory_op(&c);
        } else {
            c.ret = -XENM_ENOSYS;
            c.rule = "memory_op from the 32-bit ABI (compat_memory_op) not modeled";
        }
        break;
    case XENM_HC_vm_assist:
        xenm_vm_assist(&c);
        break;
    default:
        c.ret = -XENM_ENOSYS;
        c.rule = xenm_abi_nargs(nr, c.mode64) ? (c.mode64 ? "in the HVM64 table, not modeled"
                                                           : "in the HVM32 table, not modeled")
                 : nr > 63                    ? "index out of range"
                 : c.mode64                   ? "no HVM64 handler"
                                              : "no HVM32 handler";
        break;
    }
    if (c.preempted) {
        /* hypercall_create_continuation: RAX = op and the first argument register rewritten
         * (64-bit RDI, compat RBX), no clobber, rip kept: the vCPU re-executes the
         * instruction when the scheduler next runs it, which may be after other vCPUs (C.4) */
        hv_vcpu_set_gpr(v, 0, c.nr);
        hv_vcpu_set_gpr(v, regs[0], c.cont_a0);
        emit(&c, false, false);
        return HV_ACT_YIELD;
    }
    hv_vcpu_set_gpr(v, 0, xenm_abi_rax(gpr[0], c.mode64, c.ret));
    bool clobbered = false;
    if (x->debug_clobber && c.ret != -XENM_ENOSYS) {
        xenm_abi_clobber(gpr, c.mode64, xenm_abi_nargs(nr, c.mode64));
        for (unsigned i = 0; i < 5; i++)
            hv_vcpu_set_gpr(v, regs[i], gpr[regs[i]]);
        clobbered = true;
    }
    if (c.act == HV_ACT_STOP_VCPU) {
        /* VCPUOP_down on itself: VCPUOP_up resumes it after the call (RIP, the offset in its
         * code segment) */
        struct xenm_vcpu *xv = &x->vcpu[hv_vcpu_id(v)];
        xv->rip = c.next_pc - e->x86.cs_base;
        for (unsigned i = 0; i < 16; i++)
            xv->gpr[i] = hv_vcpu_gpr(v, i);
    }
    emit(&c, true, clobbered);
    /* powered off as the guest asked, not failed: VCPUOP_down on itself, and every vCPU
     * paused by domain_shutdown() */
    if (c.act == HV_ACT_STOP_VCPU)
        hv_vcpu_stop(v, "VCPUOP_down");
    for (unsigned i = 0; c.act == HV_ACT_END_RUN && i < hv_vm_nr_vcpus(hv_vcpu_vm(v)); i++)
        hv_vcpu_stop(hv_vm_vcpu(hv_vcpu_vm(v), i), c.rule);
    return c.act;
}

const struct hv_model_ops hv_model_xen = {
    .name = "xen",
    .summary = "Xen HVM (x86-64): CPUID discovery, the hypercall page, the hypercall ABI, "
               "guest-virtual buffers, console_io, xen_version, sched_op, vcpu_op, memory_op "
               "reservations with continuations, the C.6 software TLB",
    .knobs = xen_knobs,
    .check_config = xen_check_config,
    .check_memory = xen_check_memory,
    .vm_init = xen_vm_init,
    .vm_fini = xen_vm_fini,
    .vcpu_starts = xen_vcpu_starts,
    .sched_switch = xenm_sched_switch,
    .hypercall = xen_hypercall,
    .cpuid = xen_cpuid,
    .msr = xen_msr,
    .guest_write = xenm_guest_write_op,
    .mig_begin = xenm_mig_begin,
    .mig_dirty = xenm_mig_dirty,
    .mig_finish = xenm_mig_finish,
};
