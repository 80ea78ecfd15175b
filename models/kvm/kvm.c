/*
 * kvm.c - the KVM model: the VMM's host buffers, memslots mapped into the guest, memslot
 * updates and dirty-log ioctls as scenario steps, and KVM_EXIT_MMIO answered by the scenario's
 * VMM section.
 *
 * Host memory: each `memory.buffers` entry is a page-aligned host buffer (hv_host_mem_alloc:
 * zero, committed only where touched) given a host virtual address (its userspace_addr) in a fixed layout from KVMM_HVA_BASE, one guard page apart, so
 * traces never depend on where the host allocator put it. A slot's userspace_addr selects the
 * buffer and offset, so two slots can alias one buffer, and a MOVE keeps the contents.
 *
 * Guest view: the sim/ regions are the usable slots of address space 0 (what a vCPU outside
 * SMM sees). After a memslot change only the changed slot's region is brought in step
 * (kvmm_sync_slot), so a change costs the same with 10 slots or 32764. A slot whose host range
 * is not inside a buffer is accepted by the ioctl, as KVM accepts it, but not mapped: the
 * guest's accesses then exit as MMIO, where KVM would fail KVM_RUN with EFAULT
 * (docs/models/kvm.md).
 *
 * Dirty logging: while any slot logs, sim/ reports every guest store (hv_vm_track_writes) and
 * the page's bit is set. Marking on every store gives the same bitmaps as KVM's write
 * protection, because a page whose bit is clear is always armed in KVM.
 *
 * Invariants (after each step; `synced` records them slot by slot):
 *   1. The sim/ RAM regions are exactly the usable AS-0 slots whose host range lies in one
 *      buffer, each mapped at base_gfn << 12 on that buffer's bytes.
 *   2. Write tracking is on iff some slot logs (LOG_DIRTY_PAGES): nlogging > 0.
 *   3. buf[0..nbuf) each own a copy of their name and their host memory, and nothing past
 *      nbuf is owned, so kvm_vm_fini frees each once whatever point vm_init failed at.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/caps.h"
#include "models/kvm/kvm_int.h"
#include "sim/migrate.h"
#include "models/models.h"
#include "scenarios/lib/hv_abi.h"
#include "sim/model.h"

static const struct hv_knob kvm_knobs[] = {
    { "kvm.max_slots", "0", "KVM_CAP_NR_MEMSLOTS: 0 = the arch's (x86 32764, arm64 32767); "
                            "509 reproduces pre-5.x x86" },
    { "kvm.vendor", "intel", "x86 host vendor: intel (native vmcall) or amd (native vmmcall)" },
    { "kvm.fix_hypercall_insn", "1", "KVM_X86_QUIRK_FIX_HYPERCALL_INSN: 1 patches the other "
                                     "vendor's instruction at RIP, 0 injects #UD (B.1)" },
    { "kvm.arm_forward", "mainline", "Arm HVC/SMC forwarding ABI: mainline (the SMCCC "
                                     "filter, v6.4+) or rfc2019 (KVM_CAP_FORWARD_HYPERCALL of "
                                     "the 2019 RFC, no filter) (B.4)" },
    { "kvm.bug.kvm_write_skips_dirty", "0", "bug knob: writes KVM itself makes into guest "
                                            "memory (the hypercall patch) skip "
                                            "mark_page_dirty, so the dirty log misses them" },
    { "kvm.xinterface", "patch", "xif_* steps (E): patch (the 2009 series: raw per-CPU slot "
                                 "cache, no dirty logging, long-lived vmap) or mainline "
                                 "(gfn_to_hva_cache, gfn_to_pfn_cache, dirty marking)" },
    { "kvm.bug.stale_slot_cache", "0", "bug knob: kvm_vcpu_gfn_to_memslot() skips the "
                                       "generation check, so a vCPU's cached slot survives a "
                                       "MOVE or DELETE (A.5)" },
    { "kvm.bug.vmm_smccc_x0_unset", "0", "bug knob: the VMM answers a forwarded SMCCC call "
                                         "(FWD_TO_USER, mainline) by writing x1..x3 but not "
                                         "x0, so the guest gets its function ID back (B.4)" },
    { "kvm.slot_cache", "vcpu", "the cache kvm_vcpu_gfn_to_memslot() uses: vcpu (mainline: "
                                "the vCPU's last-used slot), vm (before 2021: the VM-wide "
                                "last-used slot), none (search every time)" },
    { "kvm.host_va_bits", "0", "user address bits of the VMM's host, giving TASK_SIZE_MAX for "
                               "access_ok() (A.3.4): 0 = x86 47 (4-level paging, 2^47 - 4096), "
                               "arm64 48 (2^48); x86 56 (5-level), arm64 52" },
    { "kvm.smm", "1", "x86: CONFIG_KVM_SMM: 1 = two address spaces (the second the SMM view), "
                      "0 = SMM compiled out: one address space, as 1 refused (A.3.6)" },
    { "kvm.max_gpa_bits", "46", "x86: the GPA width kvm_mmu_max_gfn() allows (A.3.13): the host "
                                "MAXPHYADDR with TDP (EPT/NPT; 46 here), 52 with shadow paging" },
    { NULL, NULL, NULL },
};

/* ---- scenario sections ---- */

static const char *const mem_keys[] = { "buffers", "slots", NULL };
static const char *const buf_keys[] = { "name", "size", NULL };
static const char *const slot_keys[] = { "slot", "as", "gpa", "size", "buffer", "offset", "hva",
                                         "flags", "window", NULL };
static const char *const vmm_keys[] = { "mmio", "hypercall", "power_off", "dirty_ring", "nisv",
                                        NULL };
static const char *const ring_keys[] = { "bytes", "cap", "with_bitmap", "full", NULL };
static const char *const answer_keys[] = { "gpa", "read", NULL };

int kvmm_flags_of(const struct hv_node *n, uint32_t *out, struct hv_diag *d)
{
    static const struct { const char *name; uint32_t bit; } names[] = {
        { "log_dirty_pages", KVMM_MEM_LOG_DIRTY_PAGES },
        { "readonly", KVMM_MEM_READONLY },
        { "guest_memfd", KVMM_MEM_GUEST_MEMFD },
    };
    *out = 0;
    if (!n)
        return 0;
    if (n->type == HV_NODE_SCALAR) {
        uint64_t v;
        int err = hv_node_u64(n, "flags", &v, d);
        if (!err && v > UINT32_MAX)
            err = hv_diag_at(d, n, "'flags': does not fit 32 bits");
        *out = (uint32_t)v;
        return err;
    }
    int err = hv_node_expect(n, HV_NODE_SEQ, "flags", d);
    for (size_t i = 0; !err && i < n->n; i++) {
        const char *s;
        if ((err = hv_node_str(&n->items[i], "flags", &s, d)))
            break;
        size_t k = 0;
        while (k < 3 && strcmp(names[k].name, s) != 0)
            k++;
        if (k == 3)
            err = hv_diag_at(d, &n->items[i], "'flags': unknown flag '%s' (log_dirty_pages, "
                                              "readonly, guest_memfd, or a number)", s);
        else
            *out |= names[k].bit;
    }
    return err;
}

/* Host virtual address of buffer `name` + offset, or the explicit `hva`. */
static int slot_hva(const struct hv_node *slot, const struct kvmm_buffer *bufs, size_t nbuf,
                    uint64_t *hva, struct hv_diag *d)
{
    const struct hv_node *b = hv_node_get(slot, "buffer"), *h = hv_node_get(slot, "hva");
    const struct hv_node *o = hv_node_get(slot, "offset");
    uint64_t off = 0;
    int err = 0;
    if (b && h)
        return hv_diag_at(d, h, "give either 'buffer' or 'hva', not both");
    if (o && (err = hv_node_u64(o, "offset", &off, d)))
        return err;
    if (h)
        return hv_node_u64(h, "hva", hva, d);
    if (!b) {
        *hva = 0;
        return 0;
    }
    const char *name;
    if ((err = hv_node_str(b, "buffer", &name, d)))
        return err;
    for (size_t i = 0; i < nbuf; i++) {
        if (strcmp(bufs[i].name, name) == 0) {
            *hva = bufs[i].hva + off;
            return 0;
        }
    }
    return hv_diag_at(d, b, "'buffer': no buffer named '%s' in memory.buffers", name);
}

/* Parses one region description (memory.slots item or set_memory_region args). */
int kvmm_parse_region(const struct hv_node *n, const struct kvmm_buffer *bufs, size_t nbuf,
                        struct kvmm_region *r, struct hv_diag *d)
{
    int err = hv_node_expect(n, HV_NODE_MAP, "slot", d);
    if (!err)
        err = hv_node_check_keys(n, slot_keys, "slot", d);
    if (err)
        return err;
    uint64_t id = 0, as = 0, gpa = 0, size = 0;
    const struct hv_node *x;
    if (!(x = hv_node_get(n, "slot")))
        return hv_diag_at(d, n, "missing 'slot'");
    if ((err = hv_node_u64(x, "slot", &id, d)))
        return err;
    if ((x = hv_node_get(n, "as")) && (err = hv_node_u64(x, "as", &as, d)))
        return err;
    if ((x = hv_node_get(n, "gpa")) && (err = hv_node_u64(x, "gpa", &gpa, d)))
        return err;
    if ((x = hv_node_get(n, "size")) && (err = hv_node_u64(x, "size", &size, d)))
        return err;
    if (id > 0xffff || as > 0xffff)
        return hv_diag_at(d, n, "'slot' and 'as' are 16-bit fields");
    memset(r, 0, sizeof *r);
    r->slot = (uint32_t)(as << 16 | id);
    r->guest_phys_addr = gpa;
    r->memory_size = size;
    if ((err = kvmm_flags_of(hv_node_get(n, "flags"), &r->flags, d)))
        return err;
    return slot_hva(n, bufs, nbuf, &r->userspace_addr, d);
}

int kvmm_parse_buffers(const struct hv_node *mem, struct kvmm_buffer *bufs, size_t *nbuf,
                       struct hv_diag *d)
{
    const struct hv_node *bl = mem ? hv_node_get(mem, "buffers") : NULL;
    *nbuf = 0;
    if (!bl)
        return 0;
    int err = hv_node_expect(bl, HV_NODE_SEQ, "memory.buffers", d);
    uint64_t hva = KVMM_HVA_BASE;
    for (size_t i = 0; !err && i < bl->n; i++) {
        const struct hv_node *b = &bl->items[i], *x;
        const char *name;
        uint64_t size;
        if ((err = hv_node_expect(b, HV_NODE_MAP, "buffer", d)) ||
            (err = hv_node_check_keys(b, buf_keys, "buffer", d)))
            break;
        if (!(x = hv_node_get(b, "name")) || (err = hv_node_str(x, "name", &name, d)))
            return err ? err : hv_diag_at(d, b, "buffer needs 'name'");
        if (!(x = hv_node_get(b, "size")) || (err = hv_node_u64(x, "size", &size, d)))
            return err ? err : hv_diag_at(d, b, "buffer needs 'size'");
        if (!size || size % 4096 || size > (1ULL << 32))
            return hv_diag_at(d, x, "'size': a non-zero multiple of 4096, at most 4 GiB");
        if (i >= KVMM_MAX_BUFFERS)
            return hv_diag_at(d, b, "at most %d buffers", KVMM_MAX_BUFFERS);
        for (size_t k = 0; k < i; k++)
            if (strcmp(bufs[k].name, name) == 0)
                return hv_diag_at(d, b, "buffer '%s' defined twice", name);
        bufs[i] = (struct kvmm_buffer){ (char *)name, size, hva, NULL };
        hva += size + 4096; /* a guard page between buffers */
        *nbuf = i + 1;
    }
    return err;
}

/* The knobs, read and checked in one place, for kvm_check_config and kvm_vm_init. */
struct kvm_knob_values {
    uint64_t max_slots;          /* 0: the arch's */
    uint64_t user_va_limit;      /* 0: the arch's TASK_SIZE_MAX (kvm.host_va_bits) */
    uint64_t max_gpa_bits;       /* x86 kvm_mmu_max_gfn()'s width (kvm.max_gpa_bits) */
    bool amd, fix_insn, rfc, skip_dirty, xif_patch, stale_cache, smm, x0_unset;
    enum kvmm_slot_cache slot_cache;
};

/* kvm.host_va_bits: 0 (the arch's default), else a VA size the host arch has (x86 47 or 56,
 * arm64 48 or 52); *limit is its TASK_SIZE_MAX, 0 for the default. */
static int kvm_knob_va_bits(const struct hv_check_ctx *c, uint64_t *limit, struct hv_diag *d)
{
    enum kvmm_arch ka = c->arch == HV_ARCH_X86_64 ? KVMM_ARCH_X86 : KVMM_ARCH_ARM64;
    uint64_t bits;
    const struct hv_node *where;
    int err = hv_model_knob_u64(c, "kvm.host_va_bits", 0, 64, &bits, d);
    if (err)
        return err;
    *limit = bits ? kvmm_task_size_max(ka, (unsigned)bits) : 0;
    if (bits && !*limit) {
        (void)hv_model_knob(c, "kvm.host_va_bits", &where);
        return hv_diag_at(d, where, "'kvm.host_va_bits': expected 0, %s, got %" PRIu64,
                          ka == KVMM_ARCH_X86 ? "47 or 56 (x86)" : "48 or 52 (arm64)", bits);
    }
    return 0;
}

static int kvm_knobs_read(const struct hv_check_ctx *c, struct kvm_knob_values *o,
                          struct hv_diag *d)
{
    static const char *const vendors[] = { "intel", "amd", NULL };
    static const char *const fwds[] = { "mainline", "rfc2019", NULL };
    static const char *const xifs[] = { "patch", "mainline", NULL };
    /* in enum kvmm_slot_cache order */
    static const char *const caches[] = { "vcpu", "vm", "none", NULL };
    unsigned vendor = 0, fwd = 0, xif = 0, cache = 0;
    int err;
    if ((err = hv_model_knob_u64(c, "kvm.max_slots", 0, KVMM_MEM_SLOTS_NUM, &o->max_slots, d)) ||
        (err = hv_model_knob_word(c, "kvm.vendor", vendors, &vendor, d)) ||
        (err = hv_model_knob_bool(c, "kvm.fix_hypercall_insn", &o->fix_insn, d)) ||
        (err = hv_model_knob_word(c, "kvm.arm_forward", fwds, &fwd, d)) ||
        (err = hv_model_knob_bool(c, "kvm.bug.kvm_write_skips_dirty", &o->skip_dirty, d)) ||
        (err = hv_model_knob_word(c, "kvm.xinterface", xifs, &xif, d)) ||
        (err = hv_model_knob_bool(c, "kvm.bug.stale_slot_cache", &o->stale_cache, d)) ||
        (err = hv_model_knob_bool(c, "kvm.bug.vmm_smccc_x0_unset", &o->x0_unset, d)) ||
        (err = hv_model_knob_word(c, "kvm.slot_cache", caches, &cache, d)) ||
        (err = kvm_knob_va_bits(c, &o->user_va_limit, d)) ||
        (err = hv_model_knob_bool(c, "kvm.smm", &o->smm, d)) ||
        (err = hv_model_knob_u64(c, "kvm.max_gpa_bits", 13, 52, &o->max_gpa_bits, d)))
        return err;
    o->amd = vendor == 1;
    o->rfc = fwd == 1;
    o->xif_patch = xif == 0;
    o->slot_cache = (enum kvmm_slot_cache)cache;
    return 0;
}

static int kvm_check_config(const struct hv_check_ctx *c, struct hv_diag *d)
{
    struct kvm_knob_values kn;
    return kvm_knobs_read(c, &kn, d);
}

/* The memslot table's shape for the arch and the knobs. */
static void kvm_slots_params(enum hv_arch arch, const struct kvm_knob_values *kn,
                             struct kvmm_slots_params *p)
{
    kvmm_slots_params_default(p, arch == HV_ARCH_X86_64 ? KVMM_ARCH_X86 : KVMM_ARCH_ARM64);
    if (kn->max_slots)
        p->max_user_slots = (unsigned)kn->max_slots;
    p->bug_stale_slot_cache = kn->stale_cache;
    p->slot_cache = kn->slot_cache;
    if (kn->user_va_limit)
        p->user_va_limit = kn->user_va_limit;
    if (arch == HV_ARCH_X86_64) {
        p->x86_phys_bits = (unsigned)kn->max_gpa_bits;
        p->x86_no_smm = !kn->smm;
        if (!kn->smm)
            p->nr_as = 1;
    }
}

int kvmm_config_slots_params(const struct hv_check_ctx *c, struct kvmm_slots_params *p,
                             struct hv_diag *d)
{
    struct kvm_knob_values kn;
    int err = kvm_knobs_read(c, &kn, d);
    if (!err)
        kvm_slots_params(c->arch, &kn, p);
    return err;
}

/*
 * The layout without a `memory` section (docs/models/kvm.md): one buffer `ram` and slot 0 over
 * all of it at the arch's RAM base, as KVM selftests' __vm_create() (kvm_util.c) adds slot 0
 * of its VMs. The selftests put it at GPA 0 on every arch; hvsim's Arm guests are linked at
 * HV_RAM_BASE_AARCH64, so there it starts at 1 GiB.
 */
static uint64_t kvm_default_base(enum hv_arch arch)
{
    return arch == HV_ARCH_X86_64 ? HV_RAM_BASE_X86_64 : HV_RAM_BASE_AARCH64;
}

/*
 * memory.slots as the VMM's KVM_SET_USER_MEMORY_REGION2 calls before the guest runs, in file
 * order; a slot KVM refuses is an error located at it, naming the rule (A.3).
 */
static int kvm_set_slots(struct kvmm_slots *slots, const struct hv_node *sl,
                         const struct kvmm_buffer *bufs, size_t nbuf, struct hv_diag *d)
{
    int err = sl ? hv_node_expect(sl, HV_NODE_SEQ, "memory.slots", d) : 0;
    for (size_t i = 0; sl && i < sl->n && !err; i++) {
        struct kvmm_region r;
        struct kvmm_set_result res;
        const struct hv_node *w = hv_node_get(&sl->items[i], "window");
        if (w)
            return hv_diag_at(d, w, "'window' is an argument of set_memory_region steps: "
                                    "memory.slots are set before the guest runs");
        if ((err = kvmm_parse_region(&sl->items[i], bufs, nbuf, &r, d)) ||
            (err = kvmm_memslot_set(slots, &r, true, &res)))
            break;
        if (res.err)
            return hv_diag_at(d, &sl->items[i], "memory.slots[%zu]: KVM refuses it: %s (%s, %s)",
                              i, strerror(-res.err), kvmm_rule_text(res.rule),
                              kvmm_rule_section(res.rule));
    }
    return err;
}

static int kvm_check_memory(const struct hv_node *mem, const struct hv_check_ctx *c,
                            struct hv_diag *d)
{
    struct kvmm_buffer bufs[KVMM_MAX_BUFFERS];
    struct kvm_knob_values kn;
    struct kvmm_slots_params p;
    struct kvmm_slots *slots = NULL;
    size_t nbuf;
    int err = 0;
    if (!mem)
        return 0;
    if ((err = hv_node_expect(mem, HV_NODE_MAP, "memory", d)) ||
        (err = hv_node_check_keys(mem, mem_keys, "memory", d)) ||
        (err = kvmm_parse_buffers(mem, bufs, &nbuf, d)) || (err = kvm_knobs_read(c, &kn, d)))
        return err;
    /* the buffers are the guest memory (what a slot maps is in one of them) */
    uint64_t total = 0;
    for (size_t i = 0; i < nbuf; i++) {
        total += bufs[i].size;
        const struct hv_node *b = &hv_node_get(mem, "buffers")->items[i];
        if ((err = hv_model_memory_budget(c, hv_node_get(b, "size"), total, d)))
            return err;
    }
    kvm_slots_params(c->arch, &kn, &p);
    if ((err = kvmm_slots_create(&slots, &p)))
        return err;
    err = kvm_set_slots(slots, hv_node_get(mem, "slots"), bufs, nbuf, d);
    kvmm_slots_destroy(slots);
    return err;
}

/*
 * vmm.dirty_ring's KVM_ENABLE_CAP as setup_dirty_ring() will make it, on a VM with no ring and
 * no vCPU yet (kvmm_ring_enable_cap()): a size KVM refuses is an error located at `bytes`.
 */
static int kvm_check_ring_size(const struct hv_node *dr, uint64_t bytes,
                               const struct hv_check_ctx *c, struct hv_diag *d)
{
    const struct hv_node *x = hv_node_get(dr, "cap");
    const char *cap = x ? x->str : "dirty_log_ring_acq_rel";
    struct kvmm_slots_params p;
    enum kvmm_ring_rule rule = KVMM_RING_RULE_NO_CAP;
    int e = -EINVAL, err = kvmm_config_slots_params(c, &p, d);
    if (err)
        return err;
    if (kvmm_check_extension(&p, (uint64_t)kvmm_cap_number(cap)))
        e = kvmm_ring_enable(bytes, KVMM_DIRTY_RING_RSVD_ENTRIES, 0, false, &rule);
    if (e)
        return hv_diag_at(d, hv_node_get(dr, "bytes"), "vmm.dirty_ring: KVM refuses %s of %"
                          PRIu64 " bytes: %s (%s)", cap, bytes, strerror(-e),
                          kvmm_ring_rule_name(rule));
    return 0;
}

static int kvm_check_vmm(const struct hv_node *vmm, const struct hv_check_ctx *c,
                         struct hv_diag *d)
{
    int err = hv_node_expect(vmm, HV_NODE_MAP, "vmm", d);
    if (!err)
        err = hv_node_check_keys(vmm, vmm_keys, "vmm", d);
    const struct hv_node *m = err ? NULL : hv_node_get(vmm, "mmio");
    if (m && !(err = hv_node_expect(m, HV_NODE_SEQ, "vmm.mmio", d))) {
        if (m->n > KVMM_MAX_MMIO_ANSWERS)
            return hv_diag_at(d, m, "at most %d MMIO answers", KVMM_MAX_MMIO_ANSWERS);
        for (size_t i = 0; i < m->n && !err; i++) {
            const struct hv_node *a = &m->items[i];
            uint64_t v;
            if ((err = hv_node_expect(a, HV_NODE_MAP, "mmio answer", d)) ||
                (err = hv_node_check_keys(a, answer_keys, "mmio answer", d)))
                break;
            if (!hv_node_get(a, "gpa") || !hv_node_get(a, "read"))
                return hv_diag_at(d, a, "an MMIO answer needs 'gpa' and 'read'");
            if ((err = hv_node_u64(hv_node_get(a, "gpa"), "gpa", &v, d)))
                break;
            err = hv_node_u64(hv_node_get(a, "read"), "read", &v, d);
        }
    }
    const struct hv_node *h = err ? NULL : hv_node_get(vmm, "hypercall");
    if (h && !(err = hv_node_expect(h, HV_NODE_SEQ, "vmm.hypercall", d))) {
        static const char *const keys[] = { "nr", "ret", "x0", "x1", "x2", "x3", NULL };
        if (h->n > 64)
            return hv_diag_at(d, h, "at most 64 hypercall answers");
        for (size_t i = 0; i < h->n && !err; i++) {
            const struct hv_node *a = &h->items[i];
            uint64_t v;
            if ((err = hv_node_expect(a, HV_NODE_MAP, "hypercall answer", d)) ||
                (err = hv_node_check_keys(a, keys, "hypercall answer", d)))
                break;
            if (!hv_node_get(a, "nr"))
                return hv_diag_at(d, a, "a hypercall answer needs 'nr'");
            for (size_t f = 0; keys[f] && !err; f++)
                if (hv_node_get(a, keys[f]))
                    err = hv_node_u64(hv_node_get(a, keys[f]), keys[f], &v, d);
        }
    }
    const struct hv_node *po = err ? NULL : hv_node_get(vmm, "power_off");
    if (po && !(err = hv_node_expect(po, HV_NODE_SEQ, "vmm.power_off", d))) {
        for (size_t i = 0; i < po->n && !err; i++) {
            uint64_t id;
            if (!(err = hv_node_u64(&po->items[i], "power_off", &id, d)) && id >= c->nr_vcpus)
                err = hv_diag_at(d, &po->items[i], "'power_off': vCPU %" PRIu64 " is out of "
                                 "range (the scenario has %u)", id, c->nr_vcpus);
        }
        if (!err && c->arch == HV_ARCH_X86_64)
            err = hv_diag_at(d, po, "'power_off': KVM_ARM_VCPU_POWER_OFF is Arm only");
    }
    const struct hv_node *ns = err ? NULL : hv_node_get(vmm, "nisv");
    if (ns && c->arch == HV_ARCH_X86_64)
        return hv_diag_at(d, ns, "'nisv': KVM_EXIT_ARM_NISV is Arm only");
    bool skip;
    if (ns && (err = kvmm_arm_vmm_nisv(ns, &skip, d)))
        return err;
    const struct hv_node *dr = err ? NULL : hv_node_get(vmm, "dirty_ring");
    if (dr && !(err = hv_node_expect(dr, HV_NODE_MAP, "vmm.dirty_ring", d)) &&
        !(err = hv_node_check_keys(dr, ring_keys, "vmm.dirty_ring", d))) {
        const struct hv_node *x;
        const char *str;
        uint64_t u;
        bool b;
        if (!(x = hv_node_get(dr, "bytes")))
            return hv_diag_at(d, dr, "vmm.dirty_ring needs 'bytes' (KVM_ENABLE_CAP's args[0])");
        if ((err = hv_node_u64(x, "bytes", &u, d)))
            return err;
        if ((x = hv_node_get(dr, "cap")) && !(err = hv_node_str(x, "cap", &str, d)) &&
            strcmp(str, "dirty_log_ring") != 0 && strcmp(str, "dirty_log_ring_acq_rel") != 0)
            return hv_diag_at(d, x, "'cap': dirty_log_ring or dirty_log_ring_acq_rel");
        if (!err && (x = hv_node_get(dr, "with_bitmap")))
            err = hv_node_bool(x, "with_bitmap", &b, d);
        if (!err && (x = hv_node_get(dr, "full")) && !(err = hv_node_str(x, "full", &str, d)) &&
            strcmp(str, "all") != 0 && strcmp(str, "vcpu") != 0)
            return hv_diag_at(d, x, "'full': all (reap every ring) or vcpu (the exiting one)");
        if (!err)
            err = kvm_check_ring_size(dr, u, c, d);
    }
    return err;
}

/*
 * vmm.dirty_ring: what the VMM does right after KVM_CREATE_VM, before any memslot or vCPU
 * (QEMU's kvm_dirty_ring_init()): KVM_ENABLE_CAP of the ring (cap: ACQ_REL unless given), then
 * KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP where the kernel reports it (unless with_bitmap: false).
 * A refusal is a scenario error naming the rule.
 */
static int setup_dirty_ring(struct hv_vm *vm, struct kvmm_vm *k, const struct hv_node *dr)
{
    struct hv_diag d;
    uint64_t bytes = 0;
    bool with_bitmap = true;
    const char *cap = "dirty_log_ring_acq_rel", *rule;
    const struct hv_node *x;
    hv_node_u64(hv_node_get(dr, "bytes"), "bytes", &bytes, &d);
    if ((x = hv_node_get(dr, "cap")))
        cap = x->str;
    if ((x = hv_node_get(dr, "with_bitmap")))
        hv_node_bool(x, "with_bitmap", &with_bitmap, &d);
    k->ring_reap_all = !(x = hv_node_get(dr, "full")) || strcmp(x->str, "all") == 0;
    int e, err = kvmm_ring_enable_cap(k, hv_vm_nr_vcpus(vm), (uint64_t)kvmm_cap_number(cap),
                                      bytes, &e, &rule);
    if (err)
        return err;
    if (e)
        return hv_error_set(HV_ESCENARIO, "%s:%d:%d: vmm.dirty_ring: KVM refuses %s of %" PRIu64
                            " bytes: %s (%s)", dr->file, dr->line, dr->col, cap, bytes,
                            strerror(-e), rule);
    if (with_bitmap && kvmm_check_extension(kvmm_slots_params(k->slots),
                                            KVMM_CAP_DIRTY_LOG_RING_WITH_BITMAP))
        kvmm_dirty_ring_with_bitmap(k->slots, 0, &e);
    return 0;
}

/* ---- the guest's view of the slots ---- */

uint8_t *kvmm_host_range(struct kvmm_vm *k, uint64_t hva, uint64_t len)
{
    for (size_t i = 0; i < k->nbuf; i++) {
        struct kvmm_buffer *b = &k->buf[i];
        if (hva >= b->hva && hva - b->hva <= b->size && len <= b->size - (hva - b->hva))
            return b->host + (hva - b->hva);
    }
    return NULL;
}

/*
 * Keeping sim/ in step with the slots (invariant 1), one slot at a time so that a memslot change
 * costs the same with 10 slots or 32764: sync_drop() takes away what sim/ holds for a slot that
 * no longer matches it, sync_add() adds what the slot needs. A slot of address space 0 that
 * vCPUs may use and whose host range lies inside one buffer is a RAM region of sim/ (a slot
 * with an `hva` outside every buffer is not backed, and reads as a hole); write tracking is on
 * while any slot of any address space logs dirty pages.
 */
static struct kvmm_synced *synced_of(struct kvmm_vm *k, unsigned as, unsigned id)
{
    return &k->synced[(size_t)as * kvmm_slots_params(k->slots)->max_user_slots + id];
}

/* What sim/ should hold for the slot: want->mapped and its region; want->logs. */
static void sync_want(struct kvmm_vm *k, unsigned as, unsigned id, struct kvmm_synced *want)
{
    const struct kvmm_memslot *s = kvmm_memslot_by_id(k->slots, as, id);
    *want = (struct kvmm_synced){ .logs = s && (s->flags & KVMM_MEM_LOG_DIRTY_PAGES) };
    if (as != 0 || !kvmm_memslot_usable(s))
        return;
    want->host = kvmm_host_range(k, s->userspace_addr, s->npages << 12);
    want->mapped = want->host != NULL;
    want->gpa = s->base_gfn << 12;
    want->size = s->npages << 12;
    want->readonly = (s->flags & KVMM_MEM_READONLY) != 0;
}

static void sync_drop(struct hv_vm *vm, struct kvmm_vm *k, unsigned as, unsigned id)
{
    struct kvmm_synced *m = synced_of(k, as, id), want;
    sync_want(k, as, id, &want);
    if (m->mapped && (!want.mapped || want.gpa != m->gpa || want.size != m->size ||
                      want.host != m->host || want.readonly != m->readonly)) {
        hv_vm_unmap_ram(vm, m->gpa);
        m->mapped = false;
    }
}

static int sync_add(struct hv_vm *vm, struct kvmm_vm *k, unsigned as, unsigned id)
{
    struct kvmm_synced *m = synced_of(k, as, id), want;
    sync_want(k, as, id, &want);
    k->nlogging = k->nlogging - m->logs + want.logs;
    m->logs = want.logs;
    if (!want.mapped || m->mapped)
        return 0;
    int err = hv_vm_map_ram(vm, want.gpa, want.size, want.host, want.readonly);
    if (!err)
        *m = want;
    return err;
}

static int sync_tracking(struct hv_vm *vm, struct kvmm_vm *k)
{
    bool logging = k->nlogging > 0;
    if (logging == k->tracking)
        return 0;
    k->tracking = logging;
    return hv_vm_track_writes(vm, logging);
}

int kvmm_sync_slot(struct hv_vm *vm, struct kvmm_vm *k, uint32_t slot)
{
    unsigned as = slot >> 16, id = slot & 0xffff;
    const struct kvmm_slots_params *p = kvmm_slots_params(k->slots);
    if (as >= p->nr_as || id >= p->max_user_slots)
        return 0;
    sync_drop(vm, k, as, id);
    int err = sync_add(vm, k, as, id);
    return err ? err : sync_tracking(vm, k);
}

int kvmm_sync_regions(struct hv_vm *vm, struct kvmm_vm *k)
{
    const struct kvmm_slots_params *p = kvmm_slots_params(k->slots);
    int err = 0;
    /* every drop before any add: a slot may move to where another one was */
    for (unsigned as = 0; as < p->nr_as; as++)
        for (unsigned id = 0; id < p->max_user_slots; id++)
            sync_drop(vm, k, as, id);
    for (unsigned as = 0; as < p->nr_as && !err; as++)
        for (unsigned id = 0; id < p->max_user_slots && !err; id++)
            err = sync_add(vm, k, as, id);
    return err ? err : sync_tracking(vm, k);
}

/* The VM's lookup hook: a kvm_lookup event, the vCPU's or the host's (vcpu -1). */
static int emit_lookup(void *ctx, struct hv_vcpu *v, const struct hv_ev_kvm_lookup *ev)
{
    return v ? hv_vcpu_emit(v, HV_EV_kvm_lookup, ev) : hv_vm_emit(ctx, -1, HV_EV_kvm_lookup, ev);
}

/* A scenario error vm_init meets (the checks refuse it first when the runner runs them). */
static int kvm_refused(int err, const struct hv_diag *d)
{
    char msg[1200];
    hv_diag_format(d, msg, sizeof msg);
    return hv_error_set(err, "%s", msg);
}

static int kvm_vm_init(struct hv_vm *vm, const struct hv_node *mem, const struct hv_node *vmm)
{
    struct kvmm_vm *k = calloc(1, sizeof *k);
    struct hv_diag d;
    struct hv_check_ctx c;
    struct kvm_knob_values kn;
    int err = 0;
    if (!k)
        return HV_ENOMEM;
    hv_vm_set_model_data(vm, k);
    hv_vm_check_ctx(vm, &c);
    if ((err = kvm_knobs_read(&c, &kn, &d)) || (vmm && (err = kvm_check_vmm(vmm, &c, &d))))
        return kvm_refused(err, &d);
    enum hv_arch arch = hv_vm_arch(vm);
    struct kvmm_slots_params p;
    kvm_slots_params(arch, &kn, &p);
    k->xif.mode = kn.xif_patch ? KVMM_XIF_PATCH : KVMM_XIF_MAINLINE;
    k->amd = kn.amd;
    k->fix_insn = kn.fix_insn;
    k->bug_skip_dirty = kn.skip_dirty;
    k->bug_x0_unset = kn.x0_unset;
    k->rfc_mode = kn.rfc;
    for (size_t i = 0; i < HV_MAX_VCPUS; i++)
        kvmm_vcpu_slot_cache_init(&k->vcpu_slots[i]);
    k->on_lookup = emit_lookup;
    k->on_lookup_ctx = vm;
    k->vm = vm;
    if ((err = kvmm_slots_create(&k->slots, &p)))
        return err;
    k->synced = calloc((size_t)p.nr_as * p.max_user_slots, sizeof *k->synced);
    if (!k->synced)
        return HV_ENOMEM;
    /* parsed[] borrows its names from mem; k->buf[] owns copies (invariant 3) */
    struct kvmm_buffer parsed[KVMM_MAX_BUFFERS];
    size_t nparsed = 1;
    if (!mem)
        parsed[0] = (struct kvmm_buffer){ "ram", KVMM_DEFAULT_RAM, KVMM_HVA_BASE, NULL };
    else if ((err = kvmm_parse_buffers(mem, parsed, &nparsed, &d)))
        return kvm_refused(err, &d);
    const struct hv_node *dr = vmm ? hv_node_get(vmm, "dirty_ring") : NULL;
    if (dr && (err = setup_dirty_ring(vm, k, dr)))
        return err;
    for (size_t i = 0; i < nparsed; i++) {
        struct kvmm_buffer *b = &k->buf[i];
        *b = parsed[i];
        if (!(b->name = strdup(parsed[i].name)))
            return hv_error_set(HV_ENOMEM, "buffer %s of %" PRIu64 " bytes", parsed[i].name,
                                b->size);
        k->nbuf = i + 1;
        if (hv_host_mem_alloc(b->size, (void **)&b->host))
            return hv_error_set(HV_ENOMEM, "buffer %s of %" PRIu64 " bytes", b->name, b->size);
    }
    if (!mem) {
        struct kvmm_region r = { .slot = 0, .guest_phys_addr = kvm_default_base(arch),
                                 .memory_size = KVMM_DEFAULT_RAM,
                                 .userspace_addr = KVMM_HVA_BASE };
        struct kvmm_set_result res;
        if ((err = kvmm_memslot_set(k->slots, &r, true, &res)))
            return err;
        if (res.err)
            return hv_error_set(HV_EINVAL, "the default memory layout is refused: %s",
                                kvmm_rule_text(res.rule));
    } else if ((err = kvm_set_slots(k->slots, hv_node_get(mem, "slots"), k->buf, k->nbuf,
                                    &d))) {
        return err == HV_ESCENARIO ? kvm_refused(err, &d) : err;
    }
    const struct hv_node *h = vmm ? hv_node_get(vmm, "hypercall") : NULL;
    for (size_t i = 0; h && i < h->n && i < 64; i++) {
        hv_node_u64(hv_node_get(&h->items[i], "nr"), "nr", &k->hc_answers[i].nr, &d);
        const struct hv_node *x = hv_node_get(&h->items[i], "ret");
        if (x)
            hv_node_u64(x, "ret", &k->hc_answers[i].ret, &d);
        for (unsigned r = 0; r < 4; r++) {
            char key[3] = { 'x', (char)('0' + r), 0 };
            if ((x = hv_node_get(&h->items[i], key)) &&
                hv_node_u64(x, key, &k->hc_answers[i].x[r], &d) == 0)
                k->hc_answers[i].set |= 1U << r;
        }
        k->nhc = i + 1;
    }
    const struct hv_node *po = vmm ? hv_node_get(vmm, "power_off") : NULL;
    for (size_t i = 0; po && i < po->n; i++) {
        uint64_t id = 0;
        hv_node_u64(&po->items[i], "power_off", &id, &d);
        if (id < 64)
            k->power_off |= 1ULL << id;
    }
    const struct hv_node *ns = vmm ? hv_node_get(vmm, "nisv") : NULL;
    if (ns && (err = kvmm_arm_vmm_nisv(ns, &k->nisv_skip, &d)))
        return kvm_refused(err, &d);
    const struct hv_node *m = vmm ? hv_node_get(vmm, "mmio") : NULL;
    for (size_t i = 0; m && i < m->n && i < KVMM_MAX_MMIO_ANSWERS; i++) {
        hv_node_u64(hv_node_get(&m->items[i], "gpa"), "gpa", &k->answers[i].gpa, &d);
        hv_node_u64(hv_node_get(&m->items[i], "read"), "read", &k->answers[i].value, &d);
        k->nanswers = i + 1;
    }
    k->vcpus_created = true;   /* the VMM creates its vCPUs now (KVM_CREATE_VCPU) */
    return kvmm_sync_regions(vm, k);
}

static void kvm_vm_fini(struct hv_vm *vm)
{
    struct kvmm_vm *k = hv_vm_model_data(vm);
    if (!k)
        return;
    kvmm_ring_vm_fini(k);
    kvmm_slots_destroy(k->slots);
    free(k->synced);
    for (size_t i = 0; i < k->nbuf; i++) {
        free(k->buf[i].name);
        hv_host_mem_free(k->buf[i].host, k->buf[i].size);
    }
    free(k);
}

/* ---- exits ---- */


/*
 * KVM_EXIT_MMIO (A.6): the VMM answers reads from vmm.mmio (the first entry whose gpa matches;
 * 0 if none); writes are recorded. data is the access's bytes in guest (little-endian) order.
 */
static enum hv_exit_action kvm_mmio(struct hv_vcpu *v, struct hv_exit_mmio *e)
{
    struct kvmm_vm *k = hv_vm_model_data(hv_vcpu_vm(v));
    if (!e->write) {
        e->data = 0;
        for (size_t i = 0; i < k->nanswers; i++) {
            if (k->answers[i].gpa == e->gpa) {
                e->data = k->answers[i].value;
                break;
            }
        }
        if (e->size < 8)
            e->data &= (1ULL << (e->size * 8)) - 1;
    }
    uint8_t bytes[8];
    for (unsigned i = 0; i < 8; i++)
        bytes[i] = (uint8_t)(e->data >> (8 * i));
    struct hv_ev_kvm_exit ev = { .reason = "KVM_EXIT_MMIO", .phys_addr = e->gpa, .len = e->size,
                                 .is_write = e->write, .data = { bytes, e->size } };
    hv_vcpu_emit(v, HV_EV_kvm_exit, &ev);
    return HV_ACT_HANDLED;
}

/*
 * An instruction fetch from a GPA no usable slot backs (A.6). x86: the instruction emulator
 * cannot fetch the instruction, KVM_RUN returns KVM_EXIT_INTERNAL_ERROR with suberror
 * KVM_INTERNAL_ERROR_EMULATION. arm64: an instruction abort on an unbacked IPA makes KVM_RUN
 * fail with -ENOEXEC. Either way the vCPU failed: the VMM cannot run it again, and the run
 * ends with outcome failed.
 */
static enum hv_exit_action kvm_fetch_unbacked(struct hv_vcpu *v, struct hv_exit_fetch *e)
{
    (void)e;
    if (hv_vm_arch(hv_vcpu_vm(v)) == HV_ARCH_X86_64) {
        struct hv_ev_kvm_exit ev = { .reason = "KVM_EXIT_INTERNAL_ERROR",
                                     .suberror = KVMM_INTERNAL_ERROR_EMULATION };
        hv_vcpu_emit(v, HV_EV_kvm_exit, &ev);
        hv_vcpu_fail(v, "KVM_EXIT_INTERNAL_ERROR");
    } else {
        hv_vcpu_fail(v, "KVM_RUN: -ENOEXEC");
    }
    return HV_ACT_STOP_VCPU;
}

/*
 * A guest store, before its bytes are written. KVM learns of it through a write-protection
 * fault, not a software lookup the model makes, so no kvm_lookup event: the guest's stores
 * are its own. With the dirty ring, each page the store touches whose tracking is armed is a
 * fault that pushes an entry into this vCPU's ring; KVM then checks the ring before entering
 * the guest again, and when it exits (KVM_EXIT_DIRTY_RING_FULL) the VMM's reap re-arms pages,
 * so the store, executed again, faults again from its first page.
 */
void kvmm_guest_write(struct hv_vcpu *v, uint64_t gpa, unsigned size)
{
    struct kvmm_vm *k = hv_vm_model_data(hv_vcpu_vm(v));
    uint64_t first = gpa >> 12, last = (gpa + (size ? size - 1 : 0)) >> 12;
    for (uint64_t gfn = first; gfn <= last; gfn++) {
        uint32_t slot;
        uint64_t off;
        if (!kvmm_dirty_guest_store(k->slots, 0, gfn, &slot, &off))
            continue;
        kvmm_ring_push_vcpu(k, v, slot, off);
        if (kvmm_ring_enter(k, v))
            gfn = first - 1;   /* the store runs again (unsigned: the loop's ++ gives first) */
    }
}

/* ---- KVM's own accesses to guest memory ---- */

int kvmm_report_lookup(struct kvmm_vm *k, struct hv_vcpu *v, const char *user, unsigned as,
                       uint64_t gfn, const char *via, const struct kvmm_memslot *slot)
{
    if (!k->on_lookup)
        return 0;
    struct hv_ev_kvm_lookup ev = {
        .user = user, .as = as, .gfn = gfn, .via = via, .slot = slot ? slot->id : -1,
        .generation = kvmm_memslot_generation(k->slots, as),
        .stale = slot && !kvmm_memslot_current(k->slots, slot),
        .hva = slot ? kvmm_memslot_hva(slot, gfn) : 0,
    };
    return k->on_lookup(k->on_lookup_ctx, v, &ev);
}

/*
 * A write through a stale slot (a cached slot that a DELETE or MOVE replaced) lands in host
 * memory that the current slots may map at other guest addresses, or not at all: the write's
 * provenance is recorded where the guest sees the bytes, at every address-space-0 gpa whose
 * current slot maps them.
 */
static void note_stale_write(struct kvmm_vm *k, struct hv_vcpu *v, uint64_t hva, size_t len)
{
    size_t n = kvmm_memslot_count(k->slots, 0);
    for (size_t i = 0; i < n; i++) {
        const struct kvmm_memslot *s = kvmm_memslot_at(k->slots, 0, i);
        uint64_t lo = s->userspace_addr, hi = lo + (s->npages << 12);
        if (!kvmm_memslot_usable(s) || hva + len <= lo || hva >= hi)
            continue;
        uint64_t a = hva > lo ? hva : lo, b = hva + len < hi ? hva + len : hi;
        hv_vm_note_write(k->vm, v, (s->base_gfn << 12) + (a - lo), b - a, "model write");
    }
}

int kvmm_vcpu_write_guest(struct kvmm_vm *k, struct hv_vcpu *v, const char *user, uint64_t gpa,
                          const void *data, size_t len, int *err, size_t *not_written)
{
    struct kvmm_vcpu_slot_cache *c = &k->vcpu_slots[hv_vcpu_id(v)];
    const uint8_t *src = data;
    uint64_t gfn = gpa >> 12;
    size_t off = gpa & 0xfff, done = 0;
    int terr = 0;
    *err = 0;
    /* kvm_vcpu_write_guest(): one kvm_vcpu_write_guest_page() per page, gfn counting up (a
     * 52-bit gfn never wraps, so neither does this) */
    for (; done < len && !terr; gfn++, off = 0) {
        size_t seg = len - done < 4096 - off ? len - done : 4096 - off;
        enum kvmm_lookup_via via;
        const struct kvmm_memslot *slot = kvmm_memslot_vcpu_lookup(k->slots, c, 0, gfn, &via);
        terr = kvmm_report_lookup(k, v, user, 0, gfn, kvmm_lookup_via_name(via), slot);
        /* __kvm_write_guest_page(): gfn_to_hva_memslot() fails for no slot, an INVALID one
         * or a read-only one; then __copy_to_user() */
        uint8_t *host = NULL;
        if (kvmm_memslot_usable(slot) && !(slot->flags & KVMM_MEM_READONLY))
            host = kvmm_host_range(k, kvmm_memslot_hva(slot, gfn) + off, seg);
        if (!host) {
            *err = -EFAULT;
            break;
        }
        memcpy(host, src + done, seg);
        if (kvmm_memslot_current(k->slots, slot))
            hv_vm_note_write(k->vm, v, (gfn << 12) + off, seg, "model write");
        else
            note_stale_write(k, v, kvmm_memslot_hva(slot, gfn) + off, seg);
        done += seg;
        uint32_t rslot;
        uint64_t roff;
        if (!k->bug_skip_dirty && kvmm_dirty_mark_vcpu(k->slots, slot, gfn, &rslot, &roff))
            kvmm_ring_push_vcpu(k, v, rslot, roff);
    }
    *not_written = len - done;
    return terr;
}

/* ---- steps: each mechanism's set, tried in order ---- */

static const struct kvmm_steps *const step_sets[] = {
    &kvmm_info_steps,
    &kvmm_arm_steps, /* before the slot set: it owns enable_cap(forward_hypercall) */
    &kvmm_slot_steps,
    &kvmm_ring_steps,
    &kvmm_xif_steps,
    NULL,
};

/* Every action of step_sets, for "did you mean" (tests/runner/test_runner.c checks each is
 * accepted). */
static const char *const kvm_step_actions[] = {
    "set_memory_region", "set_memory_region2", "get_dirty_log", "clear_dirty_log", "enable_cap",
    "smccc_filter", "vm_info", "kvm_write_guest", "xif_copy_to", "xif_copy_from", "xif_vmap",
    "xif_vmap_write", "xif_vmap_read", "xif_vmap_put", NULL,
};

static int kvm_check_step(const char *action, const struct hv_node *args,
                          const struct hv_node *expect, struct hv_diag *d)
{
    for (size_t i = 0; step_sets[i]; i++) {
        int err = step_sets[i]->check(action, args, expect, d);
        if (err != HV_ENOENT)
            return err;
    }
    return HV_ENOENT;
}

static int kvm_step(struct hv_vm *vm, const char *action, const struct hv_node *args,
                    const struct hv_node *expect, char *result, size_t size)
{
    struct kvmm_vm *k = hv_vm_model_data(vm);
    for (size_t i = 0; step_sets[i]; i++) {
        int err = step_sets[i]->run(vm, k, action, args, expect, result, size);
        if (err != HV_ENOENT)
            return err;
    }
    return HV_ENOENT;
}

/*
 * Hypercall instructions: x86 (B.1), Arm HVC/SMC (B.2-B.4). A write KVM made while handling
 * one (the x86 instruction patch) may ask for KVM_EXIT_DIRTY_RING_FULL before the vCPU goes
 * back into the guest.
 */
static enum hv_exit_action kvm_hypercall(struct hv_vcpu *v, struct hv_exit_hypercall *e)
{
    enum hv_exit_action a = hv_vm_arch(hv_vcpu_vm(v)) == HV_ARCH_X86_64
                            ? kvmm_x86_hypercall(v, e) : kvmm_arm_hypercall(v, e);
    if (a == HV_ACT_HANDLED || a == HV_ACT_RETRY || a == HV_ACT_YIELD)
        kvmm_ring_enter(hv_vm_model_data(hv_vcpu_vm(v)), v);
    return a;
}

const struct hv_model_ops hv_model_kvm = {
    .name = "kvm",
    .summary = "KVM: memslots, dirty logging, MMIO and hypercall exits, PSCI and the SMCCC filter (Linux v6.12)",
    .knobs = kvm_knobs,
    .check_config = kvm_check_config,
    .check_memory = kvm_check_memory,
    .check_vmm = kvm_check_vmm,
    .check_step = kvm_check_step,
    .step_actions = kvm_step_actions,
    .vm_init = kvm_vm_init,
    .vm_fini = kvm_vm_fini,
    .mmio = kvm_mmio,
    .vcpu_starts = kvmm_arm_vcpu_starts,
    .fetch_unbacked = kvm_fetch_unbacked,
    .dabt_nisv = kvmm_arm_dabt_nisv,
    .hypercall = kvm_hypercall,
    .guest_write = kvmm_guest_write,
    .vcpu_enter = kvmm_vcpu_enter,
    .mig_begin = kvmm_mig_begin,
    .mig_dirty = kvmm_mig_dirty,
    .mig_finish = kvmm_mig_finish,
    .step = kvm_step,
};
