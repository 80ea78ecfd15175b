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

#include "models/kvm/memslot.h"
#include "models/models.h"
#include "sim/model.h"

#define KVMM_HVA_BASE 0x7f0000000000ULL
#define KVMM_MAX_BUFFERS 64
#define KVMM_MAX_MMIO_ANSWERS 256

struct kvmm_buffer {
    char *name;
    uint64_t size;
    uint64_t hva;
    uint8_t *host;
};

struct kvmm_mmio_answer {
    uint64_t gpa;
    uint64_t value;
};

struct kvmm_hc_answer {
    uint64_t nr;
    uint64_t ret;
};

struct kvmm_vm {
    struct kvmm_slots *slots;
    uint64_t exit_hypercall;     /* KVM_CAP_EXIT_HYPERCALL: numbers that exit to the VMM */
    bool amd;                    /* kvm.vendor */
    bool fix_insn;               /* kvm.fix_hypercall_insn */
    bool bug_skip_dirty;         /* kvm.bug.kvm_write_skips_dirty */
    struct kvmm_hc_answer hc_answers[64];
    size_t nhc;
    struct kvmm_buffer buf[KVMM_MAX_BUFFERS];
    size_t nbuf;
    struct kvmm_mmio_answer answers[KVMM_MAX_MMIO_ANSWERS];
    size_t nanswers;
    uint64_t mapped_gpa[4096];   /* base GPAs of the sim/ regions this model mapped */
    size_t nmapped;
    bool tracking;
};

static const struct hv_knob kvm_knobs[] = {
    { "kvm.max_slots", "0", "KVM_CAP_NR_MEMSLOTS: 0 = the arch's (x86 32764, arm64 32767); "
                            "509 reproduces pre-5.x x86" },
    { "kvm.vendor", "intel", "x86 host vendor: intel (native vmcall) or amd (native vmmcall)" },
    { "kvm.fix_hypercall_insn", "1", "KVM_X86_QUIRK_FIX_HYPERCALL_INSN: 1 patches the other "
                                     "vendor's instruction at RIP, 0 injects #UD (B.1)" },
    { "kvm.bug.kvm_write_skips_dirty", "0", "bug knob: writes KVM itself makes into guest "
                                            "memory (the hypercall patch) skip "
                                            "mark_page_dirty, so the dirty log misses them" },
    { NULL, NULL, NULL },
};

/* ---- scenario sections ---- */

static const char *const mem_keys[] = { "buffers", "slots", NULL };
static const char *const buf_keys[] = { "name", "size", NULL };
static const char *const slot_keys[] = { "slot", "as", "gpa", "size", "buffer", "offset", "hva",
                                         "flags", NULL };
static const char *const vmm_keys[] = { "mmio", "hypercall", NULL };
static const char *const answer_keys[] = { "gpa", "read", NULL };

static int flags_of(const struct hv_node *n, uint32_t *out, struct hv_diag *d)
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
static int parse_region(const struct hv_node *n, const struct kvmm_buffer *bufs, size_t nbuf,
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
    if ((err = flags_of(hv_node_get(n, "flags"), &r->flags, d)))
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
        err = parse_region(&sl->items[i], bufs, nbuf, &r, d);
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
        static const char *const keys[] = { "nr", "ret", NULL };
        if (h->n > 64)
            return hv_diag_at(d, h, "at most 64 hypercall answers");
        for (size_t i = 0; i < h->n && !err; i++) {
            const struct hv_node *a = &h->items[i];
            uint64_t v;
            if ((err = hv_node_expect(a, HV_NODE_MAP, "hypercall answer", d)) ||
                (err = hv_node_check_keys(a, keys, "hypercall answer", d)))
                break;
            if (!hv_node_get(a, "nr") || !hv_node_get(a, "ret"))
                return hv_diag_at(d, a, "a hypercall answer needs 'nr' and 'ret'");
            if (!(err = hv_node_u64(hv_node_get(a, "nr"), "nr", &v, d)))
                err = hv_node_u64(hv_node_get(a, "ret"), "ret", &v, d);
        }
    }
    return err;
}

/* ---- the guest's view of the slots ---- */

static uint8_t *host_range(struct kvmm_vm *k, uint64_t hva, uint64_t len)
{
    for (size_t i = 0; i < k->nbuf; i++) {
        struct kvmm_buffer *b = &k->buf[i];
        if (hva >= b->hva && hva - b->hva <= b->size && len <= b->size - (hva - b->hva))
            return b->host + (hva - b->hva);
    }
    return NULL;
}

/* Rebuilds the sim/ regions from the usable slots of address space 0 (invariant 1). */
static int kvm_sync_regions(struct hv_vm *vm, struct kvmm_vm *k)
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
        uint8_t *host = host_range(k, s->userspace_addr, s->npages << 12);
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
        if ((err = parse_region(&sl->items[i], k->buf, k->nbuf, &r, &d)))
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
        hv_node_u64(hv_node_get(&h->items[i], "ret"), "ret", &k->hc_answers[i].ret, &d);
        k->nhc = i + 1;
    }
    const struct hv_node *m = vmm ? hv_node_get(vmm, "mmio") : NULL;
    for (size_t i = 0; m && i < m->n && i < KVMM_MAX_MMIO_ANSWERS; i++) {
        hv_node_u64(hv_node_get(&m->items[i], "gpa"), "gpa", &k->answers[i].gpa, &d);
        hv_node_u64(hv_node_get(&m->items[i], "read"), "read", &k->answers[i].value, &d);
        k->nanswers = i + 1;
    }
    return kvm_sync_regions(vm, k);
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

static void kvm_guest_write(struct hv_vcpu *v, uint64_t gpa, unsigned size);

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

/* x86 KVM hypercall numbers and the errors the guest sees (B.1, kvm_para.h). */
enum {
    KVM_HC_VAPIC_POLL_IRQ = 1, KVM_HC_KICK_CPU = 5, KVM_HC_SEND_IPI = 10,
    KVM_HC_SCHED_YIELD = 11, KVM_HC_MAP_GPA_RANGE = 12,
    KVM_ENOSYS = 1000, KVM_EINVAL = 22, KVM_EPERM = 1,
};

/*
 * x86 hypercalls (B.1): the wrong vendor's instruction is patched (quirk on) or #UD; CPL != 0
 * is -KVM_EPERM; MAP_GPA_RANGE exits to the VMM when enabled with KVM_CAP_EXIT_HYPERCALL and
 * valid; VAPIC_POLL_IRQ is 0; everything else, including calls whose CPUID feature this model
 * does not expose (KICK_CPU, SEND_IPI, SCHED_YIELD), is -KVM_ENOSYS. The guest is always in
 * 64-bit mode here, so no truncation to 32 bits applies.
 */
static enum hv_exit_action kvm_hypercall(struct hv_vcpu *v, struct hv_exit_hypercall *e)
{
    struct hv_vm *vm = hv_vcpu_vm(v);
    struct kvmm_vm *k = hv_vm_model_data(vm);
    if (hv_vm_arch(vm) != HV_ARCH_X86_64)
        return HV_ACT_DEFAULT; /* SMCCC and PSCI are not modeled yet */
    enum hv_hc_insn native = k->amd ? HV_HC_VMMCALL : HV_HC_VMCALL;
    if (e->insn != native) {
        if (!k->fix_insn) {
            hv_vcpu_inject(v, 6, 0); /* #UD at the instruction */
            return HV_ACT_RETRY;
        }
        /* patch_hypercall(): overwrite the 3 bytes at RIP and run them again */
        static const uint8_t vmcall[3] = { 0x0f, 0x01, 0xc1 }, vmmcall[3] = { 0x0f, 0x01, 0xd9 };
        uint64_t gpa;
        if (hv_vcpu_gva_to_gpa(v, e->pc, &gpa, NULL) == 0 &&
            hv_vm_write_gpa(vm, gpa, k->amd ? vmmcall : vmcall, 3) == 0) {
            hv_vm_code_written(vm, gpa, 3);
            /* a KVM write into guest memory is dirty (A.7), unless the bug knob drops it */
            if (!k->bug_skip_dirty)
                kvm_guest_write(v, gpa, 3);
        }
        return HV_ACT_RETRY;
    }
    uint64_t nr = hv_vcpu_gpr(v, 0);
    uint64_t a0 = hv_vcpu_gpr(v, 3), a1 = hv_vcpu_gpr(v, 1), a2 = hv_vcpu_gpr(v, 2),
             a3 = hv_vcpu_gpr(v, 6);
    uint64_t cs = 0;
    hv_vcpu_reg_by_name(v, "cs", &cs);
    int64_t ret;
    bool exited = false;
    const char *rule;
    if ((cs & 3) != 0) {
        ret = -KVM_EPERM;
        rule = "CPL != 0";
    } else if (nr == KVM_HC_VAPIC_POLL_IRQ) {
        ret = 0;
        rule = "VAPIC_POLL_IRQ";
    } else if (nr == KVM_HC_MAP_GPA_RANGE && (k->exit_hypercall & (1ULL << nr))) {
        if ((a0 & 0xfff) || a1 == 0 || (a0 >> 12) + a1 < (a0 >> 12)) {
            ret = -KVM_EINVAL;
            rule = "MAP_GPA_RANGE: unaligned gpa, no pages, or gfn + npages wraps";
        } else {
            /* KVM_EXIT_HYPERCALL: the VMM's ret goes to RAX when the exit completes */
            ret = 0;
            for (size_t i = 0; i < k->nhc; i++)
                if (k->hc_answers[i].nr == nr) {
                    ret = (int64_t)k->hc_answers[i].ret;
                    break;
                }
            exited = true;
            rule = "KVM_EXIT_HYPERCALL";
        }
    } else {
        ret = -KVM_ENOSYS;
        rule = nr == KVM_HC_MAP_GPA_RANGE ? "MAP_GPA_RANGE not enabled for exit"
               : (nr == KVM_HC_KICK_CPU || nr == KVM_HC_SEND_IPI || nr == KVM_HC_SCHED_YIELD)
                   ? "CPUID feature not exposed"
                   : "unknown number";
    }
    hv_vcpu_set_gpr(v, 0, (uint64_t)ret);
    struct hv_ev_kvm_hypercall ev = { .nr = nr, .a0 = a0, .a1 = a1, .a2 = a2, .a3 = a3,
                                      .ret = ret, .exit = exited, .rule = rule };
    hv_vcpu_emit(v, HV_EV_kvm_hypercall, &ev);
    return HV_ACT_HANDLED;
}

static void kvm_guest_write(struct hv_vcpu *v, uint64_t gpa, unsigned size)
{
    struct kvmm_vm *k = hv_vm_model_data(hv_vcpu_vm(v));
    uint64_t first = gpa >> 12, last = (gpa + (size ? size - 1 : 0)) >> 12;
    for (uint64_t gfn = first; gfn <= last; gfn++)
        kvmm_dirty_mark(k->slots, 0, gfn, NULL);
}

/* ---- steps ---- */

static const char *const kvm_actions[] = { "set_memory_region", "set_memory_region2",
                                           "get_dirty_log", "clear_dirty_log", "enable_cap",
                                           NULL };

static int check_errno_expect(const struct hv_node *e, struct hv_diag *d)
{
    static const char *const keys[] = { "errno", "change", "bitmap", NULL };
    if (!e)
        return 0;
    int err = hv_node_expect(e, HV_NODE_MAP, "expect", d);
    if (!err)
        err = hv_node_check_keys(e, keys, "expect", d);
    return err;
}

static int kvm_check_step(const char *action, const struct hv_node *args,
                          const struct hv_node *expect, struct hv_diag *d)
{
    size_t i = 0;
    while (kvm_actions[i] && strcmp(kvm_actions[i], action) != 0)
        i++;
    if (!kvm_actions[i])
        return HV_ENOENT;
    if (!args)
        return hv_diag_at(d, expect ? expect : NULL, "'%s' needs args", action);
    int err = check_errno_expect(expect, d);
    if (err)
        return err;
    if (strncmp(action, "set_memory_region", 17) == 0) {
        /* buffer names are checked against memory.buffers when the step runs */
        static const char *const keys[] = { "slot", "as", "gpa", "size", "buffer", "offset",
                                             "hva", "flags", NULL };
        uint32_t fl;
        if ((err = hv_node_expect(args, HV_NODE_MAP, "args", d)) ||
            (err = hv_node_check_keys(args, keys, "args", d)))
            return err;
        return flags_of(hv_node_get(args, "flags"), &fl, d);
    }
    if (strcmp(action, "get_dirty_log") == 0) {
        static const char *const keys[] = { "slot", "as", NULL };
        return hv_node_expect(args, HV_NODE_MAP, "args", d) ?:
               hv_node_check_keys(args, keys, "args", d);
    }
    if (strcmp(action, "clear_dirty_log") == 0) {
        static const char *const keys[] = { "slot", "as", "first_page", "num_pages", "bitmap",
                                            NULL };
        return hv_node_expect(args, HV_NODE_MAP, "args", d) ?:
               hv_node_check_keys(args, keys, "args", d);
    }
    static const char *const keys[] = { "cap", "args0", "flags", NULL };
    if ((err = hv_node_expect(args, HV_NODE_MAP, "args", d)) ||
        (err = hv_node_check_keys(args, keys, "args", d)))
        return err;
    const char *cap;
    const struct hv_node *c = hv_node_get(args, "cap");
    if (!c || (err = hv_node_str(c, "cap", &cap, d)))
        return err ? err : hv_diag_at(d, args, "enable_cap needs 'cap'");
    if (strcmp(cap, "manual_dirty_log_protect2") != 0 && strcmp(cap, "exit_hypercall") != 0)
        return hv_diag_at(d, c, "'cap': manual_dirty_log_protect2 or exit_hypercall");
    return 0;
}

static int errno_name(int e, char *buf, size_t size)
{
    static const struct { int no; const char *name; } names[] = {
        { 0, "0" }, { EINVAL, "EINVAL" }, { EEXIST, "EEXIST" }, { EFAULT, "EFAULT" },
        { ENOENT, "ENOENT" }, { ENXIO, "ENXIO" }, { ENOMEM, "ENOMEM" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].no == -e || names[i].no == e)
            return snprintf(buf, size, "%s", names[i].name);
    return snprintf(buf, size, "%d", e);
}

/* Compares the step's expect {errno, change, bitmap} with what happened. */
static bool expect_matches(const struct hv_node *e, const char *eno, const char *change,
                           const char *bitmap)
{
    if (!e)
        return true;
    const struct hv_node *x;
    if ((x = hv_node_get(e, "errno")) && x->type == HV_NODE_SCALAR && strcmp(x->str, eno) != 0)
        return false;
    if ((x = hv_node_get(e, "change")) && x->type == HV_NODE_SCALAR &&
        (!change || strcmp(x->str, change) != 0))
        return false;
    if ((x = hv_node_get(e, "bitmap")) && x->type == HV_NODE_SCALAR &&
        (!bitmap || strcmp(x->str, bitmap) != 0))
        return false;
    return true;
}

static int kvm_step(struct hv_vm *vm, const char *action, const struct hv_node *args,
                    const struct hv_node *expect, char *result, size_t size)
{
    struct kvmm_vm *k = hv_vm_model_data(vm);
    struct hv_diag d;
    char eno[16];
    int err = 0;
    if (strncmp(action, "set_memory_region", 17) == 0) {
        struct kvmm_region r;
        struct kvmm_set_result res;
        if ((err = parse_region(args, k->buf, k->nbuf, &r, &d)))
            return hv_error_set(err, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
        if ((err = kvmm_memslot_set(k->slots, &r, action[17] == '2', &res)))
            return err;
        if (!res.err && (err = kvm_sync_regions(vm, k)))
            return err;
        errno_name(res.err, eno, sizeof eno);
        const char *change = res.err ? NULL : kvmm_change_name(res.change);
        snprintf(result, size,
                 "{\"errno\":\"%s\",\"rule\":\"%s\",\"section\":\"%s\",\"change\":%s%s%s,"
                 "\"generation\":%" PRIu64 "}",
                 eno, kvmm_rule_name(res.rule), kvmm_rule_section(res.rule), change ? "\"" : "",
                 change ? change : "null", change ? "\"" : "",
                 kvmm_memslot_generation(k->slots, r.slot >> 16 < 2 ? r.slot >> 16 : 0));
        return expect_matches(expect, eno, change, NULL) ? 0 : HV_ESCENARIO;
    }
    if (strcmp(action, "enable_cap") == 0) {
        uint64_t a0 = 0, fl = 0;
        const struct hv_node *x;
        if ((x = hv_node_get(args, "args0")))
            hv_node_u64(x, "args0", &a0, &d);
        if ((x = hv_node_get(args, "flags")))
            hv_node_u64(x, "flags", &fl, &d);
        int e = 0;
        const char *cap = hv_node_get(args, "cap")->str;
        if (strcmp(cap, "exit_hypercall") == 0) {
            /* KVM_CAP_EXIT_HYPERCALL: args[0] must be a subset of 1 << KVM_HC_MAP_GPA_RANGE */
            if (hv_vm_arch(vm) != HV_ARCH_X86_64 || (a0 & ~(1ULL << KVM_HC_MAP_GPA_RANGE)))
                e = -EINVAL;
            else
                k->exit_hypercall = a0;
        } else if ((err = kvmm_dirty_enable_manual(k->slots, a0, (uint32_t)fl, &e))) {
            return err;
        }
        errno_name(e, eno, sizeof eno);
        snprintf(result, size, "{\"errno\":\"%s\"}", eno);
        return expect_matches(expect, eno, NULL, NULL) ? 0 : HV_ESCENARIO;
    }
    uint64_t id = 0, as = 0;
    const struct hv_node *x;
    if ((x = hv_node_get(args, "slot")))
        hv_node_u64(x, "slot", &id, &d);
    if ((x = hv_node_get(args, "as")))
        hv_node_u64(x, "as", &as, &d);
    uint32_t slot = (uint32_t)((as & 0xffff) << 16 | (id & 0xffff));
    if (strcmp(action, "get_dirty_log") == 0) {
        /* userspace's buffer: as large as the slot's bitmap (QEMU rounds to 64 bits) */
        const struct kvmm_memslot *s = kvmm_memslot_by_id(k->slots, (unsigned)(as & 1),
                                                          (unsigned)id);
        size_t len = s && s->dirty_bitmap ? kvmm_dirty_bitmap_bytes(s) : 8;
        uint8_t *bm = calloc(1, len);
        char *hex = malloc(2 * len + 1);
        int e = 0;
        if (!bm || !hex || (err = kvmm_dirty_get_log(k->slots, slot, bm, len, &e))) {
            free(bm);
            free(hex);
            return err ? err : HV_ENOMEM;
        }
        hv_hex(bm, len, hex);
        errno_name(e, eno, sizeof eno);
        if (e)
            snprintf(result, size, "{\"errno\":\"%s\",\"bitmap\":null}", eno);
        else
            snprintf(result, size, "{\"errno\":\"%s\",\"bitmap\":\"%s\"}", eno, hex);
        bool ok = expect_matches(expect, eno, NULL, e ? NULL : hex);
        free(bm);
        free(hex);
        return ok ? 0 : HV_ESCENARIO;
    }
    /* clear_dirty_log */
    uint64_t first = 0, num = 0;
    if ((x = hv_node_get(args, "first_page")))
        hv_node_u64(x, "first_page", &first, &d);
    if ((x = hv_node_get(args, "num_pages")))
        hv_node_u64(x, "num_pages", &num, &d);
    uint8_t bm[512];
    size_t len = 0;
    memset(bm, 0, sizeof bm);
    if ((x = hv_node_get(args, "bitmap")) && x->type == HV_NODE_SCALAR) {
        const char *s = x->str;
        for (; s[0] && s[1] && len < sizeof bm; s += 2, len++) {
            unsigned v;
            if (sscanf(s, "%2x", &v) != 1)
                break;
            bm[len] = (uint8_t)v;
        }
    } else {
        memset(bm, 0xff, sizeof bm); /* clear everything the range covers */
        len = sizeof bm;
    }
    int e = 0;
    if ((err = kvmm_dirty_clear_log(k->slots, slot, first, (uint32_t)num, bm, len, &e)))
        return err;
    errno_name(e, eno, sizeof eno);
    snprintf(result, size, "{\"errno\":\"%s\"}", eno);
    return expect_matches(expect, eno, NULL, NULL) ? 0 : HV_ESCENARIO;
}

const struct hv_model_ops hv_model_kvm = {
    .name = "kvm",
    .summary = "KVM: memslots, dirty logging and MMIO exits (Linux v6.12)",
    .knobs = kvm_knobs,
    .check_memory = kvm_check_memory,
    .check_vmm = kvm_check_vmm,
    .check_step = kvm_check_step,
    .vm_init = kvm_vm_init,
    .vm_fini = kvm_vm_fini,
    .mmio = kvm_mmio,
    .hypercall = kvm_hypercall,
    .guest_write = kvm_guest_write,
    .step = kvm_step,
};
