/*
 * kvm.c - the KVM model: the VMM's host buffers, memslots mapped into the guest, memslot
 * updates and dirty-log ioctls as scenario steps, and KVM_EXIT_MMIO answered by the scenario's
 * VMM section.
 *
 * Host memory: each `memory.buffers` entry is a page-aligned host buffer given a host virtual
 * address (its userspace_addr) in a fixed layout from KVMM_HVA_BASE, one guard page apart, so
 * traces never depend on where the host allocator put it. A slot's userspace_addr selects the
 * buffer and offset, so two slots can alias one buffer, and a MOVE keeps the contents.
 *
 * Guest view: after every memslot change the sim/ regions are rebuilt from the usable slots of
 * address space 0 (what a vCPU outside SMM sees). A slot whose host range is not inside a
 * buffer is accepted by the ioctl, as KVM accepts it, but not mapped: the guest's accesses then
 * exit as MMIO, where KVM would fail KVM_RUN with EFAULT (docs/models/kvm.md).
 *
 * Dirty logging: while any slot logs, sim/ reports every guest store (hv_vm_track_writes) and
 * the page's bit is set. Marking on every store gives the same bitmaps as KVM's write
 * protection, because a page whose bit is clear is always armed in KVM.
 *
 * Invariants:
 *   1. The sim/ RAM regions are exactly the usable AS-0 slots whose host range lies in one
 *      buffer, each mapped at base_gfn << 12 on that buffer's bytes.
 *   2. Write tracking is on iff some slot has a dirty bitmap.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/kvm_int.h"
#include "sim/migrate.h"
#include "models/models.h"
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
    { NULL, NULL, NULL },
};

/* ---- scenario sections ---- */

static const char *const mem_keys[] = { "buffers", "slots", NULL };
static const char *const buf_keys[] = { "name", "size", NULL };
static const char *const slot_keys[] = { "slot", "as", "gpa", "size", "buffer", "offset", "hva",
                                         "flags", "window", NULL };
static const char *const vmm_keys[] = { "mmio", "hypercall", "power_off", "nisv", NULL };
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

static int parse_buffers(const struct hv_node *mem, struct kvmm_buffer *bufs, size_t *nbuf,
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

static int kvm_check_memory(const struct hv_node *mem, enum hv_arch arch, struct hv_diag *d)
{
    struct kvmm_buffer bufs[KVMM_MAX_BUFFERS];
    size_t nbuf;
    int err = 0;
    if (!mem)
        return 0;
    if ((err = hv_node_expect(mem, HV_NODE_MAP, "memory", d)) ||
        (err = hv_node_check_keys(mem, mem_keys, "memory", d)) ||
        (err = parse_buffers(mem, bufs, &nbuf, d)))
        return err;
    const struct hv_node *sl = hv_node_get(mem, "slots");
    if (!sl)
        return 0;
    if ((err = hv_node_expect(sl, HV_NODE_SEQ, "memory.slots", d)))
        return err;
    for (size_t i = 0; i < sl->n && !err; i++) {
        struct kvmm_region r;
        const struct hv_node *w = hv_node_get(&sl->items[i], "window");
        if (w)
            return hv_diag_at(d, w, "'window' is an argument of set_memory_region steps: "
                                    "memory.slots are set before the guest runs");
        err = kvmm_parse_region(&sl->items[i], bufs, nbuf, &r, d);
    }
    return err;
}

static int kvm_check_vmm(const struct hv_node *vmm, struct hv_diag *d)
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
    const struct hv_node *ns = err ? NULL : hv_node_get(vmm, "nisv");
    bool skip;
    if (ns)
        err = kvmm_arm_vmm_nisv(ns, &skip, d);
    const struct hv_node *po = err ? NULL : hv_node_get(vmm, "power_off");
    if (po && !(err = hv_node_expect(po, HV_NODE_SEQ, "vmm.power_off", d))) {
        for (size_t i = 0; i < po->n && !err; i++) {
            uint64_t id;
            if (!(err = hv_node_u64(&po->items[i], "power_off", &id, d)) && id >= 64)
                err = hv_diag_at(d, &po->items[i], "'power_off': a vCPU id below 64");
        }
    }
    return err;
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

/* Rebuilds the sim/ regions from the usable slots of address space 0 (invariant 1). */
int kvmm_sync_regions(struct hv_vm *vm, struct kvmm_vm *k)
{
    int err = 0;
    for (size_t i = 0; i < k->nmapped; i++)
        hv_vm_unmap_ram(vm, k->mapped_gpa[i]);
    k->nmapped = 0;
    bool logging = false;
    size_t n = kvmm_memslot_count(k->slots, 0);
    for (size_t i = 0; i < n && !err; i++) {
        const struct kvmm_memslot *s = kvmm_memslot_at(k->slots, 0, i);
        if (s->dirty_bitmap)
            logging = true;
        if (!kvmm_memslot_usable(s))
            continue;
        uint8_t *host = kvmm_host_range(k, s->userspace_addr, s->npages << 12);
        if (!host || k->nmapped == sizeof k->mapped_gpa / sizeof k->mapped_gpa[0])
            continue;
        err = hv_vm_map_ram(vm, s->base_gfn << 12, s->npages << 12, host,
                            (s->flags & KVMM_MEM_READONLY) != 0);
        if (!err)
            k->mapped_gpa[k->nmapped++] = s->base_gfn << 12;
    }
    for (unsigned as = 1; as < kvmm_slots_params(k->slots)->nr_as; as++)
        for (size_t i = 0; i < kvmm_memslot_count(k->slots, as); i++)
            logging = logging || kvmm_memslot_at(k->slots, as, i)->dirty_bitmap;
    if (!err && logging != k->tracking) {
        err = hv_vm_track_writes(vm, logging);
        k->tracking = logging;
    }
    return err;
}

/* The VM's lookup hook: a kvm_lookup event, the vCPU's or the host's (vcpu -1). */
static int emit_lookup(void *ctx, struct hv_vcpu *v, const struct hv_ev_kvm_lookup *ev)
{
    return v ? hv_vcpu_emit(v, HV_EV_kvm_lookup, ev) : hv_vm_emit(ctx, -1, HV_EV_kvm_lookup, ev);
}

static int kvm_vm_init(struct hv_vm *vm, const struct hv_node *mem, const struct hv_node *vmm)
{
    struct kvmm_vm *k = calloc(1, sizeof *k);
    struct hv_diag d;
    int err = 0;
    if (!k)
        return HV_ENOMEM;
    hv_vm_set_model_data(vm, k);
    enum hv_arch arch = hv_vm_arch(vm);
    struct kvmm_slots_params p;
    kvmm_slots_params_default(&p, arch == HV_ARCH_X86_64 ? KVMM_ARCH_X86 : KVMM_ARCH_ARM64);
    const char *ms = hv_vm_config_get(vm, "kvm.max_slots");
    char *end;
    unsigned long mx = ms ? strtoul(ms, &end, 0) : 0;
    if (ms && (*end || mx > KVMM_MEM_SLOTS_NUM))
        return hv_error_set(HV_ESCENARIO, "kvm.max_slots: '%s' is not 0..%u", ms,
                            KVMM_MEM_SLOTS_NUM);
    if (mx)
        p.max_user_slots = (unsigned)mx;
    const char *stale = hv_vm_config_get(vm, "kvm.bug.stale_slot_cache");
    if (strcmp(stale, "0") != 0 && strcmp(stale, "1") != 0)
        return hv_error_set(HV_ESCENARIO, "kvm.bug.stale_slot_cache: '%s' is not 0 or 1", stale);
    p.bug_stale_slot_cache = strcmp(stale, "1") == 0;
    const char *xif = hv_vm_config_get(vm, "kvm.xinterface");
    if (strcmp(xif, "patch") != 0 && strcmp(xif, "mainline") != 0)
        return hv_error_set(HV_ESCENARIO, "kvm.xinterface: '%s' is not patch or mainline", xif);
    k->xif.mode = strcmp(xif, "patch") == 0 ? KVMM_XIF_PATCH : KVMM_XIF_MAINLINE;
    for (size_t i = 0; i < HV_MAX_VCPUS; i++)
        kvmm_vcpu_slot_cache_init(&k->vcpu_slots[i]);
    k->on_lookup = emit_lookup;
    k->on_lookup_ctx = vm;
    k->vm = vm;
    if ((err = kvmm_slots_create(&k->slots, &p)))
        return err;
    if ((err = parse_buffers(mem, k->buf, &k->nbuf, &d)))
        return hv_error_set(err, "%s", d.msg);
    for (size_t i = 0; i < k->nbuf; i++) {
        k->buf[i].name = strdup(k->buf[i].name);
        if (!k->buf[i].name || posix_memalign((void **)&k->buf[i].host, 4096, k->buf[i].size))
            return HV_ENOMEM;
        memset(k->buf[i].host, 0, k->buf[i].size);
    }
    const struct hv_node *sl = mem ? hv_node_get(mem, "slots") : NULL;
    for (size_t i = 0; sl && i < sl->n; i++) {
        struct kvmm_region r;
        struct kvmm_set_result res;
        if ((err = kvmm_parse_region(&sl->items[i], k->buf, k->nbuf, &r, &d)))
            return hv_error_set(err, "%s", d.msg);
        if ((err = kvmm_memslot_set(k->slots, &r, true, &res)))
            return err;
        if (res.err)
            return hv_error_set(HV_ESCENARIO, "memory.slots[%zu]: KVM refuses it: %s (%s, %s)",
                                i, strerror(-res.err), kvmm_rule_text(res.rule),
                                kvmm_rule_section(res.rule));
    }
    const char *vendor = hv_vm_config_get(vm, "kvm.vendor");
    const char *fix = hv_vm_config_get(vm, "kvm.fix_hypercall_insn");
    if (strcmp(vendor, "intel") != 0 && strcmp(vendor, "amd") != 0)
        return hv_error_set(HV_ESCENARIO, "kvm.vendor: '%s' is not intel or amd", vendor);
    if (strcmp(fix, "0") != 0 && strcmp(fix, "1") != 0)
        return hv_error_set(HV_ESCENARIO, "kvm.fix_hypercall_insn: '%s' is not 0 or 1", fix);
    k->amd = strcmp(vendor, "amd") == 0;
    k->fix_insn = strcmp(fix, "1") == 0;
    const char *bug = hv_vm_config_get(vm, "kvm.bug.kvm_write_skips_dirty");
    if (strcmp(bug, "0") != 0 && strcmp(bug, "1") != 0)
        return hv_error_set(HV_ESCENARIO, "kvm.bug.kvm_write_skips_dirty: '%s' is not 0 or 1",
                            bug);
    k->bug_skip_dirty = strcmp(bug, "1") == 0;
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
    if (k->power_off && arch == HV_ARCH_X86_64)
        return hv_error_set(HV_ESCENARIO, "vmm.power_off: KVM_ARM_VCPU_POWER_OFF is Arm only");
    const struct hv_node *ns = vmm ? hv_node_get(vmm, "nisv") : NULL;
    if (ns && arch == HV_ARCH_X86_64)
        return hv_error_set(HV_ESCENARIO, "vmm.nisv: KVM_EXIT_ARM_NISV is Arm only");
    if (ns && (err = kvmm_arm_vmm_nisv(ns, &k->nisv_skip, &d)))
        return hv_error_set(err, "%s", d.msg);
    const char *fwd = hv_vm_config_get(vm, "kvm.arm_forward");
    if (strcmp(fwd, "mainline") != 0 && strcmp(fwd, "rfc2019") != 0)
        return hv_error_set(HV_ESCENARIO, "kvm.arm_forward: '%s' is not mainline or rfc2019",
                            fwd);
    k->rfc_mode = strcmp(fwd, "rfc2019") == 0;
    const struct hv_node *m = vmm ? hv_node_get(vmm, "mmio") : NULL;
    for (size_t i = 0; m && i < m->n && i < KVMM_MAX_MMIO_ANSWERS; i++) {
        hv_node_u64(hv_node_get(&m->items[i], "gpa"), "gpa", &k->answers[i].gpa, &d);
        hv_node_u64(hv_node_get(&m->items[i], "read"), "read", &k->answers[i].value, &d);
        k->nanswers = i + 1;
    }
    return kvmm_sync_regions(vm, k);
}

static void kvm_vm_fini(struct hv_vm *vm)
{
    struct kvmm_vm *k = hv_vm_model_data(vm);
    if (!k)
        return;
    kvmm_slots_destroy(k->slots);
    for (size_t i = 0; i < k->nbuf; i++) {
        free(k->buf[i].name);
        free(k->buf[i].host);
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
 * fail with -ENOEXEC. Either way the VMM gets the vCPU back and does not run it again here.
 */
static enum hv_exit_action kvm_fetch_unbacked(struct hv_vcpu *v, struct hv_exit_fetch *e)
{
    if (hv_vm_arch(hv_vcpu_vm(v)) == HV_ARCH_X86_64) {
        struct hv_ev_kvm_exit ev = { .reason = "KVM_EXIT_INTERNAL_ERROR",
                                     .suberror = KVMM_INTERNAL_ERROR_EMULATION };
        hv_vcpu_emit(v, HV_EV_kvm_exit, &ev);
        e->why = "KVM_EXIT_INTERNAL_ERROR";
    } else {
        e->why = "KVM_RUN: -ENOEXEC";
    }
    return HV_ACT_STOP_VCPU;
}

/*
 * A guest store. KVM learns of it through a write-protection fault (or PML, D bits), not a
 * software lookup the model makes, so no kvm_lookup event: the guest's stores are its own.
 */
void kvmm_guest_write(struct hv_vcpu *v, uint64_t gpa, unsigned size)
{
    struct kvmm_vm *k = hv_vm_model_data(hv_vcpu_vm(v));
    uint64_t first = gpa >> 12, last = (gpa + (size ? size - 1 : 0)) >> 12;
    for (uint64_t gfn = first; gfn <= last; gfn++)
        kvmm_dirty_mark(k->slots, 0, gfn, NULL);
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
        hv_vm_note_write(k->vm, v, (gfn << 12) + off, seg, "model write");
        done += seg;
        if (!k->bug_skip_dirty)
            kvmm_dirty_mark_in_slot(k->slots, slot, gfn);
    }
    *not_written = len - done;
    return terr;
}

/* ---- steps: each mechanism's set, tried in order ---- */

static const struct kvmm_steps *const step_sets[] = {
    &kvmm_info_steps,
    &kvmm_arm_steps, /* before the slot set: it owns enable_cap(forward_hypercall) */
    &kvmm_slot_steps,
    &kvmm_xif_steps,
    NULL,
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

/* Hypercall instructions: x86 (B.1), Arm HVC/SMC (B.2-B.4). */
static enum hv_exit_action kvm_hypercall(struct hv_vcpu *v, struct hv_exit_hypercall *e)
{
    if (hv_vm_arch(hv_vcpu_vm(v)) == HV_ARCH_X86_64)
        return kvmm_x86_hypercall(v, e);
    return kvmm_arm_hypercall(v, e);
}

const struct hv_model_ops hv_model_kvm = {
    .name = "kvm",
    .summary = "KVM: memslots, dirty logging, MMIO and hypercall exits, PSCI and the SMCCC filter (Linux v6.12)",
    .knobs = kvm_knobs,
    .check_memory = kvm_check_memory,
    .check_vmm = kvm_check_vmm,
    .check_step = kvm_check_step,
    .vm_init = kvm_vm_init,
    .vm_fini = kvm_vm_fini,
    .mmio = kvm_mmio,
    .vcpu_starts = kvmm_arm_vcpu_starts,
    .fetch_unbacked = kvm_fetch_unbacked,
    .dabt_nisv = kvmm_arm_dabt_nisv,
    .hypercall = kvm_hypercall,
    .guest_write = kvmm_guest_write,
    .mig_begin = kvmm_mig_begin,
    .mig_dirty = kvmm_mig_dirty,
    .mig_finish = kvmm_mig_finish,
    .step = kvm_step,
};
