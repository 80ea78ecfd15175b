/*
 * kvmrun.c - a KVM scenario on the real kernel (kvmrun.h): the VMM side of what the KVM model
 * does in a scenario, made of real ioctls.
 *
 * Setup, in the order of the model's kvm_vm_init() (and QEMU's): KVM_CREATE_VM; vmm.dirty_ring
 * (KVM_ENABLE_CAP before any memslot or vCPU); the host buffers, mmapped and zeroed, each
 * followed by an inaccessible guard page; memory.slots as KVM_SET_USER_MEMORY_REGION2 calls;
 * the guest image copied into the slots' buffers; the vCPUs created in long mode at the ELF
 * entry, on the boot pages (kvmhost.h) of a memslot of the backend's own (the boot slot: the
 * last id of address space 0, at KVMRUN_BOOT_GPA just below 4 GiB). The guest library's boot
 * code then runs unchanged: it loads its own GDT, builds its own page tables and loads CR3,
 * which works the same whether paging was on (here) or off (the model). Once every vCPU has
 * made its first ucall, the boot slot is deleted, before that ucall's steps run: from then on
 * the VM's memslots are exactly the scenario's. Keeping the boot pages out of the scenario's
 * memory is what lets a scenario take all of its memory away before the first instruction
 * (zero-memory-regions) and meet the same exit as under the model: the fetch, not the page
 * walk, finds no memslot.
 *
 * Host addresses: a region given as `buffer` + `offset` gets the real address of that buffer.
 * A raw `hva` inside the model's fixed buffer layout (KVMM_HVA_BASE, vmm.h) is moved to the
 * same place in the real buffer, so it keeps meaning "this buffer"; any other raw `hva` is
 * passed as written. Before the guest runs, the host range of every address-space-0 slot that
 * is not inside a buffer is reserved inaccessible (PROT_NONE), so the guest can never reach
 * this process's own memory through it: KVM_RUN then fails with EFAULT, as docs/models/kvm.md
 * says the kernel does. A range that overlaps memory already mapped here makes the run not
 * runnable.
 *
 * Running: the runnable vCPUs take turns, one KVM_RUN each, on this thread; an exit is handled
 * and the turn passes on (a timer ends a turn that makes no exit: kvmh_vcpu_run()). Steps run
 * between two KVM_RUNs, so every vCPU is outside the guest, as in the model.
 *
 * vCPU states (each change a vcpu_state event, as sim/vm.c records them):
 *   runnable --GUEST_DONE--> done
 *            --GUEST_ASSERT, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_SHUTDOWN, a KVM_RUN error,
 *              a hypercall not serviced--> failed (the run ends)
 *            --KVM_EXIT_HLT--> halted (never woken: no interrupt source here)
 *
 * Invariants:
 *   1. slots[] is exactly the set of slots the kernel accepted (the VMM's own record).
 *   2. Every buffer host range is [host, host + size) followed by a PROT_NONE page.
 *   4. The boot slot exists exactly while boot_live; it is never in slots[].
 *   3. seq counts the events handed to the sink.
 */
#include "kvmhost/kvmrun.h"

#include <assert.h>
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "kvmhost/kvmhost.h"
#include "runner/expectchk.h"
#include "models/kvm/caps.h"
#include "models/kvm/vmm.h"
#include "scenarios/lib/hv_abi.h"

/* Where the boot slot maps the boot pages: the top of the low 4 GiB the pages identity-map. */
#define KVMRUN_BOOT_GPA (0x100000000ULL - KVMH_BOOT_PAGES * 4096ULL)

enum vstate { VS_RUNNABLE, VS_HALTED, VS_DONE, VS_STOPPED, VS_FAILED };
static const char *const state_names[] = { "runnable", "halted", "done", "stopped", "failed" };

struct kvcpu {
    enum vstate state;
    char why[160];
    uint64_t pc;                 /* where its state last changed */
    bool booted;                 /* it made a ucall: its own tables and GDT are in use */
    uint64_t stuck_rip;          /* RIP at its last interrupted KVM_RUN */
    unsigned stuck;              /* interrupted KVM_RUNs in a row at a hypercall at stuck_rip */
    uint32_t ring_fetch;         /* the VMM's fetch index in its dirty ring */
};

/* A slot as the VMM recorded it after the kernel accepted it (invariant 1). */
struct kslot {
    uint32_t slot;               /* as_id << 16 | id */
    uint32_t flags;
    uint64_t gpa, size, hva;
};

struct reserve {
    uint64_t start, len;
};

struct kvmrun {
    const struct scenario *sc;
    struct kvmh *h;
    struct kvmm_buffer buf[KVMM_MAX_BUFFERS];  /* hva = the real address; host the mapping */
    uint64_t model_hva[KVMM_MAX_BUFFERS];      /* where the model puts each buffer */
    size_t nbuf;
    struct kslot *slots;
    size_t nslots, capslots;
    bool slots_changed;          /* since the last check of their host ranges */
    struct reserve *reserved;    /* PROT_NONE ranges this run mapped */
    size_t nreserved, capreserved;
    struct { uint64_t gpa, value; } mmio[256];
    size_t nmmio;
    struct { uint64_t nr, ret; } hc[64];
    size_t nhc;
    bool reap_all;               /* vmm.dirty_ring.full */
    unsigned nr_vcpus;
    struct kvcpu vcpu[HV_MAX_VCPUS];
    bool vcpus_created;
    uint8_t *boot_host;          /* the boot slot's memory (KVMH_BOOT_PAGES pages) */
    uint32_t boot_slot;          /* its id, while boot_live */
    bool boot_live;
    hv_event_sink_fn sink;
    void *sink_ctx;
    uint64_t seq;
    uint64_t counts[HV_EV__COUNT];
    char *detail;
    size_t detail_cap;
    const struct runner_hooks *hooks;
    char *output;
    size_t output_len;
    char assert_file[256], assert_expr[256], assert_text[HV_UCALL_TEXT];
    uint64_t assert_line;
    enum hv_outcome outcome;
    bool ok;                     /* every step and end expectation held */
    bool *done;                  /* per step */
    bool runnable;
    char why_not[256];
};

/* Checks the invariants at the top of this file with assert(); returns true. */
__attribute__((unused)) static bool run_check(const struct kvmrun *r)
{
    uint64_t events = 0;
    for (size_t i = 0; i < r->nslots; i++)   /* one entry per id: slots_note() forgets first */
        assert(r->slots[i].size && !(r->boot_live && r->slots[i].slot == r->boot_slot));
    for (size_t k = 0; k < HV_EV__COUNT; k++)
        events += r->counts[k];
    assert(events == r->seq);
    return true;
}

/* ---- events ---- */

static int emit(struct kvmrun *r, int32_t vcpu, uint64_t pc, enum hv_ev_kind kind,
                const void *fields)
{
    size_t n = hv_event_encode(r->detail, r->detail_cap, kind, fields);
    if (n >= r->detail_cap) {
        char *d = realloc(r->detail, n + 256);
        if (!d)
            return HV_ENOMEM;
        r->detail = d;
        r->detail_cap = n + 256;
        n = hv_event_encode(r->detail, r->detail_cap, kind, fields);
    }
    struct hv_event ev = { .seq = r->seq++, .vm = 0, .vcpu = vcpu, .icount = 0, .kind = kind,
                           .pc = pc, .detail = r->detail, .detail_len = n, .fields = fields };
    r->counts[kind]++;
    assert(run_check(r));
    return r->sink ? r->sink(r->sink_ctx, &ev) : 0;
}

__attribute__((format(printf, 2, 3)))
static void report_failed(struct kvmrun *r, const char *fmt, ...)
{
    if (!r->hooks || !r->hooks->failed)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->hooks->failed(line, r->hooks->ctx);
}

static int set_state(struct kvmrun *r, unsigned id, enum vstate s, const char *why, uint64_t pc)
{
    struct kvcpu *v = &r->vcpu[id];
    if (v->state == s)
        return 0;
    struct hv_ev_vcpu_state ev = { .from = state_names[v->state], .to = state_names[s],
                                   .why = why };
    v->state = s;
    snprintf(v->why, sizeof v->why, "%s", why);
    v->pc = pc;
    return emit(r, (int32_t)id, pc, HV_EV_vcpu_state, &ev);
}

/* The run ends with outcome o (the first one set stays). */
static void end_run(struct kvmrun *r, enum hv_outcome o)
{
    if (r->outcome == HV_OUT_RUNNING)
        r->outcome = o;
}

static void not_runnable(struct kvmrun *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void not_runnable(struct kvmrun *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (r->runnable)
        vsnprintf(r->why_not, sizeof r->why_not, fmt, ap);
    va_end(ap);
    r->runnable = false;
}

/* ---- memory ---- */

/* Host pointer for [hva, hva + len) if one buffer holds it all, else NULL. */
static uint8_t *host_range(struct kvmrun *r, uint64_t hva, uint64_t len)
{
    for (size_t i = 0; i < r->nbuf; i++) {
        const struct kvmm_buffer *b = &r->buf[i];
        if (hva >= b->hva && hva - b->hva <= b->size && len <= b->size - (hva - b->hva))
            return b->host + (hva - b->hva);
    }
    return NULL;
}

/* Host pointer for guest-physical [gpa, gpa + len) through the address-space-0 slot that
 * holds it, as a vCPU outside SMM sees memory; NULL if none does or its memory is not a
 * buffer. */
static uint8_t *gpa_host(struct kvmrun *r, uint64_t gpa, uint64_t len)
{
    for (size_t i = 0; i < r->nslots; i++) {
        const struct kslot *s = &r->slots[i];
        if (s->slot >> 16 == 0 && gpa >= s->gpa && gpa - s->gpa < s->size &&
            len <= s->size - (gpa - s->gpa))
            return host_range(r, s->hva + (gpa - s->gpa), len);
    }
    return NULL;
}

/* Copies between guest-physical memory and buf, page by page; HV_EINVAL if a byte has no
 * RAM. */
static int gpa_copy(struct kvmrun *r, uint64_t gpa, void *buf, size_t len, bool write)
{
    uint8_t *p = buf;
    while (len) {
        size_t n = 4096 - (gpa & 4095);
        if (n > len)
            n = len;
        uint8_t *h = gpa_host(r, gpa, n);
        if (!h)
            return HV_EINVAL;
        if (write)
            memcpy(h, p, n);
        else
            memcpy(p, h, n);
        gpa += n;
        p += n;
        len -= n;
    }
    return 0;
}

/* A guest-virtual address of vCPU id through its own page tables (4-level; identity with
 * paging off). HV_EINVAL when not mapped. */
static int gva_to_gpa(struct kvmrun *r, unsigned id, uint64_t gva, uint64_t *gpa)
{
    struct kvm_sregs s;
    int err = kvmh_vcpu_get_sregs(r->h, id, &s);
    if (err)
        return err;
    if (!(s.cr0 & (1ULL << 31))) {
        *gpa = gva;
        return 0;
    }
    uint64_t table = s.cr3 & 0x000ffffffffff000ULL;
    for (int level = 4; level >= 1; level--) {
        uint64_t e;
        unsigned idx = (unsigned)(gva >> (12 + 9 * (level - 1))) & 511;
        if (gpa_copy(r, table + idx * 8, &e, 8, false) || !(e & 1))
            return HV_EINVAL;
        uint64_t addr = e & 0x000ffffffffff000ULL;
        if (level == 1 || (level <= 3 && (e & (1ULL << 7)))) {
            uint64_t span = 1ULL << (12 + 9 * (level - 1));
            *gpa = (addr & ~(span - 1)) + (gva & (span - 1));
            return 0;
        }
        table = addr;
    }
    return HV_EINVAL;
}

static int gva_read(struct kvmrun *r, unsigned id, uint64_t gva, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        size_t n = 4096 - (gva & 4095);
        uint64_t gpa;
        if (n > len)
            n = len;
        int err = gva_to_gpa(r, id, gva, &gpa);
        if (err || (err = gpa_copy(r, gpa, p, n, false)))
            return err;
        gva += n;
        p += n;
        len -= n;
    }
    return 0;
}

static void gva_str(struct kvmrun *r, unsigned id, uint64_t gva, char *out, size_t max)
{
    out[0] = 0;
    for (size_t i = 0; gva && i + 1 < max; i++) {
        if (gva_read(r, id, gva + i, &out[i], 1) || !out[i]) {
            out[i] = 0;
            break;
        }
        out[i + 1] = 0;
    }
}

/* ---- the VMM's slots ---- */

static void slots_forget(struct kvmrun *r, uint32_t slot)
{
    for (size_t i = 0; i < r->nslots; i++)
        if (r->slots[i].slot == slot) {
            r->slots[i] = r->slots[--r->nslots];
            return;
        }
}

/* Records what the kernel accepted (invariant 1): a delete forgets, anything else replaces. */
static int slots_note(struct kvmrun *r, const struct kvmm_region *g)
{
    slots_forget(r, g->slot);
    r->slots_changed = true;
    if (!g->memory_size)
        return 0;
    if (r->nslots == r->capslots) {
        size_t cap = r->capslots ? 2 * r->capslots : 16;
        struct kslot *n = realloc(r->slots, cap * sizeof *n);
        if (!n)
            return HV_ENOMEM;
        r->slots = n;
        r->capslots = cap;
    }
    r->slots[r->nslots++] = (struct kslot){ g->slot, g->flags, g->guest_phys_addr,
                                            g->memory_size, g->userspace_addr };
    assert(run_check(r));
    return 0;
}

static const struct kslot *slots_find(const struct kvmrun *r, uint32_t slot)
{
    for (size_t i = 0; i < r->nslots; i++)
        if (r->slots[i].slot == slot)
            return &r->slots[i];
    return NULL;
}

/* A raw `hva` inside the model's buffer layout moves to the same place in the real buffer. */
static uint64_t real_hva(const struct kvmrun *r, uint64_t hva)
{
    for (size_t i = 0; i < r->nbuf; i++)
        if (hva >= r->model_hva[i] && hva - r->model_hva[i] < r->buf[i].size)
            return r->buf[i].hva + (hva - r->model_hva[i]);
    return hva;
}

/* A region of memory.slots or of a set_memory_region step, with real host addresses. */
static int parse_region(struct kvmrun *r, const struct hv_node *n, struct kvmm_region *g)
{
    struct hv_diag d;
    int err = kvmm_parse_region(n, r->buf, r->nbuf, g, &d);
    if (err)
        return hv_error_set(err, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    if (hv_node_get(n, "hva"))
        g->userspace_addr = real_hva(r, g->userspace_addr);
    return 0;
}

/*
 * The host range of every address-space-0 slot outside the buffers is reserved PROT_NONE, so
 * no guest access through it can reach this process's memory. Returns 0; a range that overlaps
 * memory already mapped here makes the run not runnable.
 */
static int guard_slots(struct kvmrun *r)
{
    if (!r->slots_changed)
        return 0;
    r->slots_changed = false;
    for (size_t i = 0; i < r->nslots && r->runnable; i++) {
        const struct kslot *s = &r->slots[i];
        if (s->slot >> 16 || host_range(r, s->hva, s->size))
            continue;
        bool have = false;
        for (size_t k = 0; k < r->nreserved && !have; k++)
            have = s->hva >= r->reserved[k].start &&
                   s->hva + s->size <= r->reserved[k].start + r->reserved[k].len;
        if (have)
            continue;
        void *p = mmap((void *)(uintptr_t)s->hva, s->size, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED || (uint64_t)(uintptr_t)p != s->hva) {
            if (p != MAP_FAILED)
                munmap(p, s->size);
            not_runnable(r, "slot %u's host range 0x%" PRIx64 "+0x%" PRIx64 " is none of the "
                         "scenario's buffers and cannot be kept away from this process's own "
                         "memory", s->slot, s->hva, s->size);
            return 0;
        }
        if (r->nreserved == r->capreserved) {
            size_t cap = r->capreserved ? 2 * r->capreserved : 16;
            struct reserve *n = realloc(r->reserved, cap * sizeof *n);
            if (!n) {
                munmap(p, s->size);
                return HV_ENOMEM;
            }
            r->reserved = n;
            r->capreserved = cap;
        }
        r->reserved[r->nreserved++] = (struct reserve){ s->hva, s->size };
    }
    return 0;
}

/* An inaccessible page after [*p, *p + len): a user buffer the kernel reads or writes past
 * its end faults (EFAULT), as the model's length checks say. Caller munmaps *base, *maplen. */
static uint8_t *guarded(size_t len, void **base, size_t *maplen)
{
    size_t span = (len + 4095) & ~(size_t)4095;
    uint8_t *m = mmap(NULL, span + 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    mprotect(m + span, 4096, PROT_NONE);
    *base = m;
    *maplen = span + 4096;
    return m + span - len;
}

/* ---- setup ---- */

static int setup_buffers(struct kvmrun *r)
{
    struct hv_diag d;
    int err = 0;
    if (!r->sc->memory) {
        r->buf[0] = (struct kvmm_buffer){ "ram", KVMM_DEFAULT_RAM, KVMM_HVA_BASE, NULL };
        r->nbuf = 1;
    } else if ((err = kvmm_parse_buffers(r->sc->memory, r->buf, &r->nbuf, &d))) {
        return hv_error_set(err, "%s:%d:%d: %s", d.file, d.line, d.col, d.msg);
    }
    for (size_t i = 0; i < r->nbuf; i++) {
        struct kvmm_buffer *b = &r->buf[i];
        r->model_hva[i] = b->hva;
        uint8_t *m = mmap(NULL, b->size + 4096, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            return hv_error_set(HV_ENOMEM, "buffer '%s' (0x%" PRIx64 " bytes): %s", b->name,
                                b->size, strerror(errno));
        mprotect(m + b->size, 4096, PROT_NONE);   /* invariant 2 */
        b->host = m;
        b->hva = (uint64_t)(uintptr_t)m;
    }
    return 0;
}

/* vmm.dirty_ring: the ring before any memslot or vCPU, then WITH_BITMAP where the kernel has
 * it (the model's setup_dirty_ring(), QEMU's kvm_dirty_ring_init()). */
static int setup_ring(struct kvmrun *r, const struct hv_node *dr)
{
    struct hv_diag d;
    uint64_t bytes = 0;
    bool with_bitmap = true;
    const char *cap = "dirty_log_ring_acq_rel";
    const struct hv_node *x;
    hv_node_u64(hv_node_get(dr, "bytes"), "bytes", &bytes, &d);
    if ((x = hv_node_get(dr, "cap")))
        cap = x->str;
    if ((x = hv_node_get(dr, "with_bitmap")))
        hv_node_bool(x, "with_bitmap", &with_bitmap, &d);
    r->reap_all = !(x = hv_node_get(dr, "full")) || strcmp(x->str, "all") == 0;
    int e = kvmh_enable_cap(r->h, (uint32_t)kvmm_cap_number(cap), bytes, 0);
    if (e) {
        not_runnable(r, "vmm.dirty_ring: this kernel refuses %s of %" PRIu64 " bytes: %s", cap,
                     bytes, strerror(-e));
        return 0;
    }
    if (with_bitmap && kvmh_check_extension(r->h, KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP) > 0)
        kvmh_enable_cap(r->h, KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP, 0, 0);
    return 0;
}

static void setup_answers(struct kvmrun *r)
{
    struct hv_diag d;
    const struct hv_node *vmm = r->sc->vmm;
    const struct hv_node *m = vmm ? hv_node_get(vmm, "mmio") : NULL;
    for (size_t i = 0; m && i < m->n && i < sizeof r->mmio / sizeof r->mmio[0]; i++) {
        hv_node_u64(hv_node_get(&m->items[i], "gpa"), "gpa", &r->mmio[i].gpa, &d);
        hv_node_u64(hv_node_get(&m->items[i], "read"), "read", &r->mmio[i].value, &d);
        r->nmmio = i + 1;
    }
    const struct hv_node *h = vmm ? hv_node_get(vmm, "hypercall") : NULL;
    for (size_t i = 0; h && i < h->n && i < sizeof r->hc / sizeof r->hc[0]; i++) {
        const struct hv_node *x = hv_node_get(&h->items[i], "ret");
        hv_node_u64(hv_node_get(&h->items[i], "nr"), "nr", &r->hc[i].nr, &d);
        if (x)
            hv_node_u64(x, "ret", &r->hc[i].ret, &d);
        r->nhc = i + 1;
    }
}

/* memory.slots, or the default slot 0 over `ram`: KVM_SET_USER_MEMORY_REGION2 each. */
static int setup_slots(struct kvmrun *r)
{
    const struct hv_node *sl = r->sc->memory ? hv_node_get(r->sc->memory, "slots") : NULL;
    int err = 0;
    if (!r->sc->memory) {
        struct kvmm_region g = { .slot = 0, .guest_phys_addr = HV_RAM_BASE_X86_64,
                                 .memory_size = KVMM_DEFAULT_RAM, .userspace_addr = r->buf[0].hva };
        int e = kvmh_set_region(r->h, true, &g);
        if (e)
            not_runnable(r, "the default memory layout: KVM_SET_USER_MEMORY_REGION2: %s",
                         strerror(-e));
        return e ? 0 : slots_note(r, &g);
    }
    for (size_t i = 0; sl && i < sl->n && !err && r->runnable; i++) {
        struct kvmm_region g;
        if ((err = parse_region(r, &sl->items[i], &g)))
            break;
        int e = kvmh_set_region(r->h, true, &g);
        if (e)
            not_runnable(r, "memory.slots[%zu]: this kernel refuses "
                         "KVM_SET_USER_MEMORY_REGION2: %s", i, strerror(-e));
        else
            err = slots_note(r, &g);
    }
    return err;
}

/* The guest image into the slots' memory (sim/loader.c's rules: ELF64, PT_LOAD at p_paddr,
 * the rest of p_memsz zero). */
static int load_elf(struct kvmrun *r, const uint8_t *img, size_t len, uint64_t *entry)
{
    Elf64_Ehdr eh;
    if (len < sizeof eh)
        return hv_error_set(HV_EGUEST, "the guest image is not an ELF64 file");
    memcpy(&eh, img, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_machine != EM_X86_64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
        eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
        return hv_error_set(HV_EGUEST, "the guest image is not an x86-64 ELF64 file");
    *entry = eh.e_entry;
    bool loaded = false;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || !ph.p_memsz)
            continue;
        if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
            return hv_error_set(HV_EGUEST, "ELF segment %u lies outside the file", i);
        if (gpa_copy(r, ph.p_paddr, (void *)(img + ph.p_offset), ph.p_filesz, true))
            return hv_error_set(HV_EGUEST, "ELF segment %u (paddr 0x%" PRIx64 ", 0x%" PRIx64
                                " bytes) is not in the slots' RAM", i, (uint64_t)ph.p_paddr,
                                (uint64_t)ph.p_memsz);
        static const uint8_t zeros[4096];
        for (uint64_t done = ph.p_filesz; done < ph.p_memsz;) {
            uint64_t n = ph.p_memsz - done < sizeof zeros ? ph.p_memsz - done : sizeof zeros;
            if (gpa_copy(r, ph.p_paddr + done, (void *)zeros, n, true))
                return hv_error_set(HV_EGUEST, "ELF segment %u is not in the slots' RAM", i);
            done += n;
        }
        loaded = true;
    }
    return loaded ? 0 : hv_error_set(HV_EGUEST, "the guest image loads nothing");
}

/* The VM without a guest: buffers, ring, slots, answers, and vCPUs (started at entry on the
 * boot pages at boot_gpa when boot is set). */
static int setup_vm(struct kvmrun *r)
{
    int err;
    if ((err = kvmh_create(&r->h)) || (err = setup_buffers(r)))
        return err;
    const struct hv_node *dr = r->sc->vmm ? hv_node_get(r->sc->vmm, "dirty_ring") : NULL;
    if (dr && (err = setup_ring(r, dr)))
        return err;
    if (r->runnable && (err = setup_slots(r)))
        return err;
    setup_answers(r);
    return 0;
}

static int create_vcpus(struct kvmrun *r, uint64_t boot_gpa, uint64_t entry)
{
    int err = 0;
    for (unsigned i = 0; i < r->nr_vcpus && !err; i++)
        err = kvmh_vcpu_create(r->h, i, boot_gpa, entry, r->nr_vcpus);
    r->vcpus_created = !err;
    return err;
}

static struct kvmrun *run_new(const struct scenario *sc)
{
    struct kvmrun *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->sc = sc;
    r->nr_vcpus = (unsigned)sc->vcpus;
    r->runnable = true;
    r->ok = true;
    r->done = calloc(sc->nsteps + 1, sizeof *r->done);
    if (!r->done) {
        free(r);
        return NULL;
    }
    return r;
}

void kvmrun_close(struct kvmrun *r)
{
    if (!r)
        return;
    kvmh_destroy(r->h);
    for (size_t i = 0; i < r->nbuf; i++)
        if (r->buf[i].host)
            munmap(r->buf[i].host, r->buf[i].size + 4096);
    for (size_t i = 0; i < r->nreserved; i++)
        munmap((void *)(uintptr_t)r->reserved[i].start, r->reserved[i].len);
    if (r->boot_host)
        munmap(r->boot_host, KVMH_BOOT_PAGES * 4096);
    free(r->reserved);
    free(r->slots);
    free(r->detail);
    free(r->output);
    free(r->done);
    free(r);
}

/* ---- steps ---- */

static const char *const runnable_actions[] = {
    "mem_write", "mem_read", "reg_read", "reg_write", "set_memory_region",
    "set_memory_region2", "get_dirty_log", "clear_dirty_log", "enable_cap", "check_extension",
    "harvest_dirty_ring", "reset_dirty_rings", NULL,
};

/* Why an action has no /dev/kvm equivalent. */
static const struct {
    const char *prefix;
    const char *why;
} no_ioctl[] = {
    { "migrate", "hvsim's pre-copy driver runs on the model only" },
    { "kvm_write_guest", "KVM's own write for a vCPU (kvm_vcpu_write_guest()) has no ioctl" },
    { "xif_", "the 2009 xinterface series is a host kernel module's API, not in this kernel" },
    { "vm_info", "KVM_GET_VM_INFO is hvsim's proposal, not a Linux ioctl" },
    { "smccc_filter", "an Arm ioctl" },
};

int kvmrun_check(const struct scenario *sc, char *why, size_t size)
{
    if (strcmp(sc->model, "kvm") != 0 || sc->arch != HV_ARCH_X86_64) {
        snprintf(why, size, "the kvm backend runs x86_64 guests of kvm scenarios (this one is "
                 "%s on %s)", sc->model, hv_arch_name(sc->arch));
        return HV_EUNSUPP;
    }
    for (size_t i = 0; i < sc->nsteps; i++) {
        const struct sc_step *st = &sc->steps[i];
        static const char *const trig[] = { "start", "sync", "icount", "seq", "leg", "end" };
        if (st->at != SC_AT_START && st->at != SC_AT_SYNC && st->at != SC_AT_END) {
            snprintf(why, size, "step %zu (%s) runs at {%s}: the kernel counts no guest "
                     "instructions and has no schedule to number", i, st->action,
                     trig[st->at]);
            return HV_EUNSUPP;
        }
        bool known = false;
        for (size_t k = 0; runnable_actions[k] && !known; k++)
            known = strcmp(runnable_actions[k], st->action) == 0;
        if (!known) {
            const char *reason = "it has no /dev/kvm equivalent";
            for (size_t k = 0; k < sizeof no_ioctl / sizeof no_ioctl[0]; k++)
                if (strncmp(st->action, no_ioctl[k].prefix, strlen(no_ioctl[k].prefix)) == 0)
                    reason = no_ioctl[k].why;
            snprintf(why, size, "step %zu (%s): %s", i, st->action, reason);
            return HV_EUNSUPP;
        }
        if (st->args && strncmp(st->action, "set_memory_region", 17) == 0 &&
            hv_node_get(st->args, "window")) {
            snprintf(why, size, "step %zu (%s with window): the kernel gives a VMM no way to "
                     "hold a memslot update's INVALID window open while vCPUs run", i,
                     st->action);
            return HV_EUNSUPP;
        }
    }
    return 0;
}

static uint64_t arg_u64(const struct hv_node *args, const char *key, uint64_t def)
{
    struct hv_diag d;
    const struct hv_node *x = args ? hv_node_get(args, key) : NULL;
    uint64_t u = def;
    if (x && hv_node_u64(x, key, &u, &d))
        u = def;
    return u;
}

/* An expected number `key` of expect: absent, or equal to have. */
static bool expect_u64(const struct hv_node *expect, const char *key, uint64_t have)
{
    struct hv_diag d;
    const struct hv_node *x = expect ? hv_node_get(expect, key) : NULL;
    uint64_t want;
    return !x || (hv_node_u64(x, key, &want, &d) == 0 && want == have);
}

static int step_set_region(struct kvmrun *r, const struct sc_step *st, char *res, size_t size,
                           bool *ok)
{
    struct kvmm_region g;
    char eno[16];
    int err = parse_region(r, st->args, &g);
    if (err)
        return err;
    if (r->boot_live && (g.slot == r->boot_slot ||
                         (g.slot >> 16 == 0 && g.memory_size &&
                          g.guest_phys_addr < KVMRUN_BOOT_GPA + KVMH_BOOT_PAGES * 4096 &&
                          KVMRUN_BOOT_GPA < g.guest_phys_addr + g.memory_size))) {
        not_runnable(r, "step %s uses slot %u or GPA 0x%llx while the vCPUs still boot from "
                     "there", st->action, r->boot_slot, (unsigned long long)KVMRUN_BOOT_GPA);
        snprintf(res, size, "null");
        *ok = false;
        return 0;
    }
    int e = kvmh_set_region(r->h, st->action[17] == '2', &g);
    if (!e && (err = slots_note(r, &g)))
        return err;
    kvmm_errno_name(e, eno, sizeof eno);
    snprintf(res, size, "{\"errno\":\"%s\"}", eno);
    *ok = kvmm_expect_str(st->expect, "errno", eno);
    return 0;
}

static int step_get_log(struct kvmrun *r, const struct sc_step *st, char *res, size_t size,
                        bool *ok)
{
    uint32_t slot = (uint32_t)(arg_u64(st->args, "as", 0) << 16 | arg_u64(st->args, "slot", 0));
    const struct kslot *s = slots_find(r, slot);
    /* as large as the slot's bitmap, ALIGN(npages, 64) / 8 (the model's buffer); 8 bytes for
     * a slot the VMM does not have */
    size_t len = s ? ((s->size >> 12) + 63) / 64 * 8 : 8;
    void *base;
    size_t maplen;
    uint8_t *bm = guarded(len, &base, &maplen);
    char *hex = malloc(2 * len + 1);
    if (!bm || !hex) {
        if (bm)
            munmap(base, maplen);
        free(hex);
        return hv_error_set(HV_ENOMEM, "a dirty bitmap");
    }
    char eno[16];
    int e = kvmh_get_dirty_log(r->h, slot, bm);
    kvmm_errno_name(e, eno, sizeof eno);
    hv_hex(bm, len, hex);
    if (e)
        snprintf(res, size, "{\"errno\":\"%s\",\"bitmap\":null}", eno);
    else
        snprintf(res, size, "{\"errno\":\"%s\",\"bitmap\":\"%s\"}", eno, hex);
    *ok = kvmm_expect_str(st->expect, "errno", eno) &&
          kvmm_expect_str(st->expect, "bitmap", e ? NULL : hex);
    munmap(base, maplen);
    free(hex);
    return 0;
}

static int step_clear_log(struct kvmrun *r, const struct sc_step *st, char *res, size_t size,
                          bool *ok)
{
    uint32_t slot = (uint32_t)(arg_u64(st->args, "as", 0) << 16 | arg_u64(st->args, "slot", 0));
    uint64_t first = arg_u64(st->args, "first_page", 0), num = arg_u64(st->args, "num_pages", 0);
    uint8_t bm[512];
    size_t len = 0;
    const struct hv_node *x = hv_node_get(st->args, "bitmap");
    if (x) {   /* the bytes given, and nothing after them */
        for (const char *s = x->str; s[0] && s[1] && len < sizeof bm; s += 2, len++) {
            unsigned v;
            if (sscanf(s, "%2x", &v) != 1)
                break;
            bm[len] = (uint8_t)v;
        }
    } else {   /* the model's default: every bit of 512 bytes set */
        memset(bm, 0xff, sizeof bm);
        len = sizeof bm;
    }
    void *base;
    size_t maplen;
    uint8_t *user = guarded(len, &base, &maplen);
    if (!user)
        return hv_error_set(HV_ENOMEM, "a dirty bitmap");
    memcpy(user, bm, len);
    char eno[16];
    int e = kvmh_clear_dirty_log(r->h, slot, first, (uint32_t)num, user);
    munmap(base, maplen);
    kvmm_errno_name(e, eno, sizeof eno);
    snprintf(res, size, "{\"errno\":\"%s\"}", eno);
    *ok = kvmm_expect_str(st->expect, "errno", eno);
    return 0;
}

static int step_enable_cap(struct kvmrun *r, const struct sc_step *st, char *res, size_t size,
                           bool *ok)
{
    const char *cap = hv_node_get(st->args, "cap")->str;
    char eno[16];
    int e = kvmh_enable_cap(r->h, (uint32_t)kvmm_cap_number(cap), arg_u64(st->args, "args0", 0),
                            (uint32_t)arg_u64(st->args, "flags", 0));
    kvmm_errno_name(e, eno, sizeof eno);
    snprintf(res, size, "{\"errno\":\"%s\"}", eno);
    *ok = kvmm_expect_str(st->expect, "errno", eno);
    return 0;
}

static int step_check_extension(struct kvmrun *r, const struct sc_step *st, char *res,
                                size_t size, bool *ok)
{
    const struct hv_node *c = hv_node_get(st->args, "cap");
    int nr = kvmm_cap_number(c->str);
    uint64_t cap = nr >= 0 ? (uint64_t)nr : arg_u64(st->args, "cap", 0);
    const char *name = kvmm_cap_name(cap);
    int v = kvmh_check_extension(r->h, cap);
    snprintf(res, size, "{\"cap\":%" PRIu64 ",\"name\":%s%s%s,\"value\":%d}", cap,
             name ? "\"" : "", name ? name : "null", name ? "\"" : "", v);
    *ok = expect_u64(st->expect, "value", (uint64_t)(int64_t)v);
    return 0;
}

/*
 * The VMM reads vCPU id's ring from its fetch index (QEMU kvm_dirty_ring_reap_one()): every
 * entry whose flags are exactly DIRTY, in ring order, is read and marked RESET; it stops at
 * the first that is not. Writes "[slot,offset]" pairs to j (comma-separated, as many as fit
 * jsize; *listed counts them) and returns how many it harvested.
 */
static size_t harvest(struct kvmrun *r, unsigned id, char *j, size_t jsize, size_t *listed)
{
    uint32_t n;
    struct kvm_dirty_gfn *ring = kvmh_vcpu_ring(r->h, id, &n);
    size_t count = 0, len = 0;
    *listed = 0;
    if (jsize)
        j[0] = 0;
    while (ring && n) {
        struct kvm_dirty_gfn *e = &ring[r->vcpu[id].ring_fetch % n];
        uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
        if ((flags & KVM_DIRTY_GFN_F_MASK) != KVM_DIRTY_GFN_F_DIRTY)
            break;
        if (len + 64 < jsize) {
            len += (size_t)snprintf(j + len, jsize - len, "%s[%" PRIu32 ",%" PRIu64 "]",
                                    count ? "," : "", e->slot, (uint64_t)e->offset);
            (*listed)++;
        }
        __atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
        r->vcpu[id].ring_fetch++;
        count++;
    }
    return count;
}

static int step_harvest(struct kvmrun *r, const struct sc_step *st, char *res, size_t size,
                        bool *ok)
{
    uint64_t id = arg_u64(st->args, "vcpu", 0);
    const struct hv_node *at = st->args ? st->args : st->node;
    if (!kvmh_ring_bytes(r->h))
        return hv_error_set(HV_EINVAL, "%s:%d:%d: harvest_dirty_ring: this VM has no dirty ring "
                            "(vmm.dirty_ring), so the VMM has none mapped to read", at->file,
                            at->line, at->col);
    if (id >= r->nr_vcpus)
        return hv_error_set(HV_EINVAL, "%s:%d:%d: 'vcpu': no vCPU %" PRIu64, at->file, at->line,
                            at->col, id);
    size_t jsize = size > 96 ? size - 96 : 0, listed;
    char *j = malloc(jsize + 1);
    if (!j)
        return HV_ENOMEM;
    size_t count = harvest(r, (unsigned)id, j, jsize, &listed);
    snprintf(res, size, "{\"vcpu\":%" PRIu64 ",\"count\":%zu,\"entries\":[%s],\"listed\":%zu}",
             id, count, j, listed);
    bool entries_ok = true;
    const struct hv_node *want = st->expect ? hv_node_get(st->expect, "entries") : NULL;
    if (want) {   /* compared with the text of every pair, which listed them all */
        char w[4096];
        size_t wl = 0;
        struct hv_diag d;
        for (size_t i = 0; i < want->n && wl + 64 < sizeof w; i++) {
            uint64_t s = 0, o = 0;
            hv_node_u64(&want->items[i].items[0], "slot", &s, &d);
            hv_node_u64(&want->items[i].items[1], "offset", &o, &d);
            wl += (size_t)snprintf(w + wl, sizeof w - wl, "%s[%" PRIu64 ",%" PRIu64 "]",
                                   i ? "," : "", s, o);
        }
        w[wl] = 0;
        entries_ok = listed == count && want->n == count && strcmp(w, j) == 0;
    }
    *ok = expect_u64(st->expect, "count", count) && entries_ok;
    free(j);
    return 0;
}

static int step_reset(struct kvmrun *r, const struct sc_step *st, char *res, size_t size,
                      bool *ok)
{
    char eno[16];
    int c = kvmh_reset_dirty_rings(r->h);
    kvmm_errno_name(c < 0 ? c : 0, eno, sizeof eno);
    snprintf(res, size, "{\"errno\":\"%s\",\"count\":%d}", eno, c < 0 ? 0 : c);
    *ok = kvmm_expect_str(st->expect, "errno", eno) &&
          expect_u64(st->expect, "count", c < 0 ? 0 : (uint64_t)c);
    return 0;
}

/* mem_write, mem_read, reg_read, reg_write: runner/runner.c's results, made here. */
static int step_core(struct kvmrun *r, const struct sc_step *st, char *res, size_t size,
                     bool *ok)
{
    struct hv_diag d;
    const struct hv_node *a = st->args;
    uint64_t gpa = arg_u64(a, "gpa", 0), expect = 0, val = 0;
    bool has_expect = st->expect && hv_node_u64(st->expect, "expect", &expect, &d) == 0;
    if (strcmp(st->action, "mem_write") == 0) {
        struct runner_bytes mv;
        runner_mem_value(a, &mv, &d);
        int e = gpa_copy(r, gpa, mv.bytes, mv.len, true);
        snprintf(res, size, "{\"written\":%s}", e ? "false" : "true");
        *ok = e == 0;
        return 0;
    }
    if (strcmp(st->action, "mem_read") == 0) {
        uint8_t b[8] = { 0 };
        uint64_t n = arg_u64(a, "size", 8);
        int e = gpa_copy(r, gpa, b, n, false);
        for (uint64_t k = 0; k < n; k++)
            val |= (uint64_t)b[k] << (8 * k);
        if (e)
            snprintf(res, size, "{\"value\":null}");
        else
            snprintf(res, size, "{\"value\":%" PRIu64 "}", val);
        *ok = e == 0 && (!has_expect || val == expect);
        return 0;
    }
    uint64_t vc = arg_u64(a, "vcpu", 0);
    const char *reg = hv_node_get(a, "reg")->str;
    int e = vc < r->nr_vcpus && r->vcpus_created ? 0 : HV_EINVAL;
    if (!e && strcmp(st->action, "reg_write") == 0)
        e = kvmh_vcpu_set_reg(r->h, (unsigned)vc, reg, (val = arg_u64(a, "value", 0)));
    else if (!e)
        e = kvmh_vcpu_reg(r->h, (unsigned)vc, reg, &val);
    if (e)
        snprintf(res, size, "{\"error\":\"no vcpu %" PRIu64 " or register\"}", vc);
    else
        snprintf(res, size, "{\"value\":%" PRIu64 "}", val);
    *ok = e == 0 && (!has_expect || val == expect);
    return 0;
}

static int step_result(struct kvmrun *r, const struct sc_step *st, char *res, size_t size,
                       bool *ok)
{
    static const struct {
        const char *action;
        int (*fn)(struct kvmrun *, const struct sc_step *, char *, size_t, bool *);
    } fns[] = {
        { "set_memory_region", step_set_region }, { "set_memory_region2", step_set_region },
        { "get_dirty_log", step_get_log }, { "clear_dirty_log", step_clear_log },
        { "enable_cap", step_enable_cap }, { "check_extension", step_check_extension },
        { "harvest_dirty_ring", step_harvest }, { "reset_dirty_rings", step_reset },
    };
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++)
        if (strcmp(fns[k].action, st->action) == 0)
            return fns[k].fn(r, st, res, size, ok);
    return step_core(r, st, res, size, ok);
}

int kvmrun_step(struct kvmrun *r, size_t i, char *result, size_t size, bool *ok)
{
    snprintf(result, size, "null");
    *ok = true;
    return step_result(r, &r->sc->steps[i], result, size, ok);
}

/* Runs step i at its trigger and records it as a step event, as runner/runner.c does. */
static int run_step(struct kvmrun *r, size_t i)
{
    const struct sc_step *st = &r->sc->steps[i];
    char result[8192] = "null", at[96];
    bool ok = true;
    r->done[i] = true;
    int err = step_result(r, st, result, sizeof result, &ok);
    if (err)
        return err;
    runner_step_at(st, st->value, at, sizeof at);
    size_t elen = hv_node_json(st->expect, NULL, 0) + 1;
    char *expected = malloc(elen);
    if (!expected)
        return HV_ENOMEM;
    hv_node_json(st->expect, expected, elen);
    if (!ok) {
        r->ok = false;
        report_failed(r, "step %zu (%s at %s): expected %s, got %s", i, st->action, at,
                      st->expect ? expected : "it to succeed", result);
    }
    struct hv_ev_step ev = { .index = i, .action = st->action, .result = result, .ok = ok,
                             .at = at, .expected = expected };
    err = emit(r, -1, 0, HV_EV_step, &ev);
    free(expected);
    return err;
}

static int run_steps_at(struct kvmrun *r, enum sc_trigger at, bool any_vcpu, unsigned id,
                        uint64_t n)
{
    int err = 0;
    for (size_t i = 0; i < r->sc->nsteps && !err; i++) {
        const struct sc_step *st = &r->sc->steps[i];
        if (r->done[i] || st->at != at)
            continue;
        if (at == SC_AT_SYNC && (st->value != n || (st->vcpu >= 0 && (any_vcpu ||
                                                                      st->vcpu != (int32_t)id))))
            continue;
        err = run_step(r, i);
    }
    return err;
}

/* ---- exits ---- */

static void boot_done(struct kvmrun *r, unsigned id);

static int ucall(struct kvmrun *r, unsigned id, uint64_t gva, uint64_t pc)
{
    struct hv_ucall uc;
    memset(&uc, 0, sizeof uc);
    if (gva_read(r, id, gva, &uc, sizeof uc)) {
        struct hv_ev_ucall_assert ev = { .file = "", .line = 0, .expr = "",
                                         .text = "ucall struct is not readable" };
        end_run(r, HV_OUT_ASSERT);
        return emit(r, (int32_t)id, pc, HV_EV_ucall_assert, &ev);
    }
    uc.text[sizeof uc.text - 1] = 0;
    int err;
    switch (uc.cmd) {
    case HV_UCALL_SYNC: {
        struct hv_ev_ucall_sync ev = { .n = uc.arg0 };
        if ((err = emit(r, (int32_t)id, pc, HV_EV_ucall_sync, &ev)))
            return err;
        return run_steps_at(r, SC_AT_SYNC, false, id, uc.arg0);
    }
    case HV_UCALL_PRINTF: {
        struct hv_ev_ucall_printf ev = { .text = uc.text };
        size_t n = strlen(uc.text);
        char *o = realloc(r->output, r->output_len + n + 1);
        if (!o)
            return HV_ENOMEM;
        memcpy(o + r->output_len, uc.text, n + 1);
        r->output = o;
        r->output_len += n;
        return emit(r, (int32_t)id, pc, HV_EV_ucall_printf, &ev);
    }
    case HV_UCALL_ASSERT: {
        gva_str(r, id, uc.file, r->assert_file, sizeof r->assert_file);
        gva_str(r, id, uc.expr, r->assert_expr, sizeof r->assert_expr);
        snprintf(r->assert_text, sizeof r->assert_text, "%s", uc.text);
        r->assert_line = uc.arg0;
        struct hv_ev_ucall_assert ev = { .file = r->assert_file, .line = uc.arg0,
                                         .expr = r->assert_expr, .text = r->assert_text };
        end_run(r, HV_OUT_ASSERT);
        if ((err = emit(r, (int32_t)id, pc, HV_EV_ucall_assert, &ev)))
            return err;
        return set_state(r, id, VS_FAILED, "assert", pc);
    }
    case HV_UCALL_DONE:
        if ((err = emit(r, (int32_t)id, pc, HV_EV_ucall_done, NULL)))
            return err;
        return set_state(r, id, VS_DONE, "GUEST_DONE", pc);
    default: {
        char msg[64];
        snprintf(msg, sizeof msg, "unknown ucall command %llu", (unsigned long long)uc.cmd);
        struct hv_ev_ucall_assert ev = { .file = "", .line = 0, .expr = "", .text = msg };
        end_run(r, HV_OUT_ASSERT);
        return emit(r, (int32_t)id, pc, HV_EV_ucall_assert, &ev);
    }
    }
}

static int exit_io(struct kvmrun *r, unsigned id, struct kvm_run *run, uint64_t pc)
{
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool out = run->io.direction == KVM_EXIT_IO_OUT;
    if (out && run->io.port == HV_UCALL_PORT && run->io.size == 4 && run->io.count == 1) {
        uint32_t gva;
        memcpy(&gva, data, 4);
        boot_done(r, id);
        return ucall(r, id, gva, pc);
    }
    int err = 0;
    for (uint32_t c = 0; c < run->io.count && !err; c++) {
        uint8_t *p = data + (size_t)c * run->io.size;
        uint64_t v = 0;
        if (out)
            memcpy(&v, p, run->io.size);
        else {   /* nothing answers: all ones, as sim/ gives an unclaimed port */
            memset(p, 0xff, run->io.size);
            v = run->io.size >= 4 ? 0xffffffffULL : (1ULL << (run->io.size * 8)) - 1;
        }
        struct hv_ev_pio ev = { .port = run->io.port, .size = run->io.size, .write = out,
                                .data = v };
        err = emit(r, (int32_t)id, pc, HV_EV_pio, &ev);
    }
    return err;
}

/* KVM_EXIT_MMIO answered from vmm.mmio (the first entry whose gpa matches; 0 if none). */
static int exit_mmio(struct kvmrun *r, unsigned id, struct kvm_run *run, uint64_t pc)
{
    unsigned len = run->mmio.len > 8 ? 8 : run->mmio.len;
    uint64_t v = 0;
    if (run->mmio.is_write) {
        memcpy(&v, run->mmio.data, len);
    } else {
        for (size_t i = 0; i < r->nmmio; i++)
            if (r->mmio[i].gpa == run->mmio.phys_addr) {
                v = r->mmio[i].value;
                break;
            }
        if (len < 8)
            v &= (1ULL << (len * 8)) - 1;
        memcpy(run->mmio.data, &v, len);
    }
    struct hv_ev_kvm_exit ev = { .reason = "KVM_EXIT_MMIO", .phys_addr = run->mmio.phys_addr,
                                 .len = len, .is_write = run->mmio.is_write,
                                 .data = { run->mmio.data, len } };
    struct hv_ev_mmio m = { .gpa = run->mmio.phys_addr, .size = len,
                            .write = run->mmio.is_write, .data = v };
    int err = emit(r, (int32_t)id, pc, HV_EV_kvm_exit, &ev);
    return err ? err : emit(r, (int32_t)id, pc, HV_EV_mmio, &m);
}

/* KVM_EXIT_HYPERCALL answered with vmm.hypercall's ret (0 if none), as the model's VMM. */
static int exit_hypercall(struct kvmrun *r, unsigned id, struct kvm_run *run, uint64_t pc)
{
    uint64_t ret = 0;
    for (size_t i = 0; i < r->nhc; i++)
        if (r->hc[i].nr == run->hypercall.nr) {
            ret = r->hc[i].ret;
            break;
        }
    run->hypercall.ret = ret;
    struct hv_ev_kvm_hypercall ev = { .nr = run->hypercall.nr, .a0 = run->hypercall.args[0],
                                      .a1 = run->hypercall.args[1], .a2 = run->hypercall.args[2],
                                      .a3 = run->hypercall.args[3], .ret = (int64_t)ret,
                                      .exit = true, .rule = "KVM_EXIT_HYPERCALL" };
    return emit(r, (int32_t)id, pc, HV_EV_kvm_hypercall, &ev);
}

/* KVM_EXIT_DIRTY_RING_FULL: the VMM's reap, as the model's (QEMU's): harvest every ring (or
 * the exiting one), then KVM_RESET_DIRTY_RINGS if it harvested anything. */
static int exit_ring_full(struct kvmrun *r, unsigned id, uint64_t pc)
{
    struct hv_ev_kvm_exit ev = { .reason = "KVM_EXIT_DIRTY_RING_FULL" };
    int err = emit(r, (int32_t)id, pc, HV_EV_kvm_exit, &ev);
    size_t cap = 64 + (size_t)kvmh_ring_bytes(r->h) * 3 * r->nr_vcpus, len = 1, count = 0;
    char *j = malloc(cap);
    if (err || !j) {
        free(j);
        return err ? err : HV_ENOMEM;
    }
    strcpy(j, "[");
    for (unsigned i = 0; i < r->nr_vcpus; i++) {
        if (!r->reap_all && i != id)
            continue;
        size_t listed, n;
        len += (size_t)snprintf(j + len, cap - len, "%s{\"vcpu\":%u,\"entries\":[",
                                count ? "," : "", i);
        if (!(n = harvest(r, i, j + len, cap - len - 8, &listed))) {
            len = strrchr(j, '{') - j - (count ? 1 : 0);   /* nothing harvested: drop it */
            j[len] = 0;
            continue;
        }
        len += strlen(j + len);
        len += (size_t)snprintf(j + len, cap - len, "]}");
        count += n;
    }
    snprintf(j + len, cap - len, "]");
    int64_t reset = count ? kvmh_reset_dirty_rings(r->h) : -1;
    struct hv_ev_kvm_dirty_ring d = { .by = "exit", .harvested = j, .count = count,
                                      .reset = reset };
    err = emit(r, (int32_t)id, pc, HV_EV_kvm_dirty_ring, &d);
    free(j);
    return err;
}

/* A KVM_RUN the timer ended: a vCPU at CPL 0 whose RIP stays on vmcall or vmmcall over two
 * slices is in a hypercall this kernel never completes. */
static int check_stuck(struct kvmrun *r, unsigned id, const struct kvm_regs *regs)
{
    struct kvcpu *v = &r->vcpu[id];
    struct kvm_sregs s;
    uint8_t insn[3];
    int err = kvmh_vcpu_get_sregs(r->h, id, &s);
    if (err)
        return err;
    bool hc = (s.cs.selector & 3) == 0 && gva_read(r, id, regs->rip, insn, 3) == 0 &&
              insn[0] == 0x0f && insn[1] == 0x01 && (insn[2] == 0xc1 || insn[2] == 0xd9);
    v->stuck = hc && regs->rip == v->stuck_rip ? v->stuck + 1 : hc;
    v->stuck_rip = regs->rip;
    if (v->stuck < 2)
        return 0;
    const char *name = insn[2] == 0xc1 ? "vmcall" : "vmmcall";
    not_runnable(r, "hypercall not serviced: %s at 0x%llx (CPL 0) never completes, KVM_RUN "
                 "returns only when interrupted", name, (unsigned long long)regs->rip);
    end_run(r, HV_OUT_FAILED);
    return set_state(r, id, VS_FAILED, "hypercall not serviced", regs->rip);
}

/* One KVM_RUN of vCPU id and what its exit means. */
static int run_once(struct kvmrun *r, unsigned id, unsigned slice_ms)
{
    struct kvm_run *run = kvmh_vcpu_run_area(r->h, id);
    int e = kvmh_vcpu_run(r->h, id, slice_ms), err;
    struct kvm_regs regs;
    if ((err = kvmh_vcpu_get_regs(r->h, id, &regs)))
        return err;
    uint64_t pc = regs.rip;
    if (e == -EINTR)
        return check_stuck(r, id, &regs);
    r->vcpu[id].stuck = 0;
    if (e) {
        char why[64];
        char eno[16];
        kvmm_errno_name(e, eno, sizeof eno);
        snprintf(why, sizeof why, "KVM_RUN: -%s", eno);
        end_run(r, HV_OUT_FAILED);
        return set_state(r, id, VS_FAILED, why, pc);
    }
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        return exit_io(r, id, run, pc);
    case KVM_EXIT_MMIO:
        return exit_mmio(r, id, run, pc);
    case KVM_EXIT_HYPERCALL:
        return exit_hypercall(r, id, run, pc);
    case KVM_EXIT_DIRTY_RING_FULL:
        return exit_ring_full(r, id, pc);
    case KVM_EXIT_HLT:
        if ((err = emit(r, (int32_t)id, pc, HV_EV_halt, NULL)))
            return err;
        return set_state(r, id, VS_HALTED, "halt", pc);
    case KVM_EXIT_INTERNAL_ERROR: {
        struct hv_ev_kvm_exit ev = { .reason = "KVM_EXIT_INTERNAL_ERROR",
                                     .suberror = run->internal.suberror };
        end_run(r, HV_OUT_FAILED);
        if ((err = emit(r, (int32_t)id, pc, HV_EV_kvm_exit, &ev)))
            return err;
        return set_state(r, id, VS_FAILED, "KVM_EXIT_INTERNAL_ERROR", pc);
    }
    default: {
        static const struct { unsigned nr; const char *name; } names[] = {
            { KVM_EXIT_SHUTDOWN, "KVM_EXIT_SHUTDOWN" },
            { KVM_EXIT_FAIL_ENTRY, "KVM_EXIT_FAIL_ENTRY" },
            { KVM_EXIT_EXCEPTION, "KVM_EXIT_EXCEPTION" }, { KVM_EXIT_DEBUG, "KVM_EXIT_DEBUG" },
            { KVM_EXIT_SYSTEM_EVENT, "KVM_EXIT_SYSTEM_EVENT" },
        };
        char name[40];
        snprintf(name, sizeof name, "KVM_EXIT %u", run->exit_reason);
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (names[i].nr == run->exit_reason)
                snprintf(name, sizeof name, "%s", names[i].name);
        struct hv_ev_kvm_exit ev = { .reason = name };
        end_run(r, HV_OUT_FAILED);
        if ((err = emit(r, (int32_t)id, pc, HV_EV_kvm_exit, &ev)))
            return err;
        return set_state(r, id, VS_FAILED, name, pc);
    }
    }
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* The vCPUs in turn until none can run, the run ends, or the wall-clock guard trips. */
static int run_loop(struct kvmrun *r, const struct kvmrun_options *o)
{
    unsigned slice = o && o->slice_ms ? o->slice_ms : KVMRUN_SLICE_MS;
    uint64_t limit = o && o->timeout_ms ? o->timeout_ms : KVMRUN_TIMEOUT_MS;
    uint64_t start = now_ms();
    int err = 0;
    for (unsigned id = 0; !err && r->runnable && r->outcome == HV_OUT_RUNNING;
         id = (id + 1) % r->nr_vcpus) {
        bool any = false, all_end = true;
        for (unsigned i = 0; i < r->nr_vcpus; i++) {
            any = any || r->vcpu[i].state == VS_RUNNABLE;
            all_end = all_end && (r->vcpu[i].state == VS_DONE || r->vcpu[i].state == VS_STOPPED);
        }
        if (!any) {
            end_run(r, all_end ? HV_OUT_DONE : HV_OUT_DEADLOCK);
            break;
        }
        if (r->vcpu[id].state != VS_RUNNABLE)
            continue;
        if ((err = guard_slots(r)) || !r->runnable)
            break;
        if (now_ms() - start > limit) {
            not_runnable(r, "the run did not finish within %" PRIu64 " ms (the wall-clock "
                         "guard)", limit);
            end_run(r, HV_OUT_LIMIT);
            break;
        }
        err = run_once(r, id, slice);
    }
    return err;
}

/* ---- expectations ---- */

static int expect_event(struct kvmrun *r, const char *what, const char *expected,
                        const char *actual, bool ok)
{
    struct hv_ev_expect ev = { .what = what, .expected = expected, .actual = actual, .ok = ok };
    if (!ok) {
        r->ok = false;
        report_failed(r, "expect %s: expected %s, got %s", what, expected, actual);
    }
    return emit(r, -1, 0, HV_EV_expect, &ev);
}

/* The kinds this backend records in full; an `events` count of any other kind (sched,
 * kvm_lookup, an in-kernel kvm_hypercall, ...) is not checked. */
static bool recorded_kind(int k)
{
    static const enum hv_ev_kind kinds[] = {
        HV_EV_run_start, HV_EV_vcpu_state, HV_EV_ucall_sync, HV_EV_ucall_printf,
        HV_EV_ucall_assert, HV_EV_ucall_done, HV_EV_pio, HV_EV_mmio, HV_EV_kvm_exit,
        HV_EV_kvm_dirty_ring, HV_EV_halt, HV_EV_step, HV_EV_expect, HV_EV_run_end,
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if ((int)kinds[i] == k)
            return true;
    return false;
}

static const char *view_vcpu_state(void *ctx, unsigned id, const char **why)
{
    struct kvmrun *r = ctx;
    *why = r->vcpu[id].why;
    return state_names[r->vcpu[id].state];
}

static bool view_count(void *ctx, int kind, uint64_t *n)
{
    struct kvmrun *r = ctx;
    if (!recorded_kind(kind))
        return false;
    *n = r->counts[kind];
    return true;
}

static int view_read_gpa(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    return gpa_copy(ctx, gpa, buf, len, false);
}

static int view_reg(void *ctx, unsigned id, const char *name, uint64_t *val)
{
    struct kvmrun *r = ctx;
    return r->vcpus_created ? kvmh_vcpu_reg(r->h, id, name, val) : HV_EINVAL;
}

static int view_emit(void *ctx, const char *what, const char *expected, const char *actual,
                     bool ok)
{
    return expect_event(ctx, what, expected, actual, ok);
}

/* The scenario's expectations as runner/runner.c checks them; keys of the model's own are
 * not checked. */
static int check_end(struct kvmrun *r)
{
    struct expect_view view = {
        .ctx = r, .outcome = hv_outcome_name(r->outcome), .nr_vcpus = r->nr_vcpus,
        .vcpu_state = view_vcpu_state, .asserted = r->outcome == HV_OUT_ASSERT,
        .assert_file = r->assert_file, .assert_line = r->assert_line, .count = view_count,
        .output = r->output ? r->output : "", .read_gpa = view_read_gpa, .reg = view_reg,
        .emit = view_emit,
    };
    return runner_check_expect(r->sc->expect, &view);
}

/* The result's one-line summary, as runner_summary() words it. */
static void summary(struct kvmrun *r, char *buf, size_t size)
{
    size_t l = 0;
#define PUT(...) (l += (size_t)snprintf(buf + (l < size ? l : size), l < size ? size - l : 0, \
                                        __VA_ARGS__))
    if (!r->runnable)
        PUT("not runnable on this kernel (%s)", r->why_not);
    else if (r->outcome == HV_OUT_ASSERT)
        PUT("guest assertion failed at %s:%" PRIu64 ": %s%s%s", r->assert_file, r->assert_line,
            r->assert_expr, *r->assert_text ? ": " : "", r->assert_text);
    else
        PUT("outcome %s", hv_outcome_name(r->outcome));
    unsigned listed = 0;
    for (int failed = 1; failed >= 0; failed--)
        for (unsigned i = 0; i < r->nr_vcpus; i++) {
            const struct kvcpu *v = &r->vcpu[i];
            if (v->state == VS_DONE || (v->state == VS_FAILED) != failed ||
                (r->outcome == HV_OUT_ASSERT && strcmp(v->why, "assert") == 0) || listed == 4)
                continue;
            PUT("%s vCPU %u %s at pc 0x%" PRIx64, listed++ ? "," : ":", i, state_names[v->state],
                v->pc);
            if (*v->why)
                PUT(" (%s)", v->why);
        }
#undef PUT
}

/* ---- a whole run ---- */

int kvmrun_open(struct kvmrun **out, const struct scenario *sc)
{
    struct kvmrun *r = run_new(sc);
    *out = NULL;
    if (!r)
        return HV_ENOMEM;
    int err = setup_vm(r);
    if (!err && !r->runnable)
        err = hv_error_set(HV_EUNSUPP, "%s", r->why_not);
    if (!err)
        err = create_vcpus(r, 0, 0);
    if (err) {
        kvmrun_close(r);
        return err;
    }
    *out = r;
    return 0;
}

/* The boot slot (invariant 4): the boot pages in memory of their own, as the last slot id of
 * address space 0. */
static int boot_slot_add(struct kvmrun *r)
{
    int max = kvmh_check_extension(r->h, KVM_CAP_NR_MEMSLOTS);
    size_t len = KVMH_BOOT_PAGES * 4096;
    r->boot_host = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r->boot_host == MAP_FAILED) {
        r->boot_host = NULL;
        return hv_error_set(HV_ENOMEM, "the boot pages: %s", strerror(errno));
    }
    kvmh_boot_pages(r->boot_host, KVMRUN_BOOT_GPA);
    r->boot_slot = max > 0 ? (uint32_t)max - 1 : 0;
    for (size_t i = 0; i < r->nslots; i++) {
        const struct kslot *s = &r->slots[i];
        if (s->slot == r->boot_slot || (s->slot >> 16 == 0 && s->gpa < KVMRUN_BOOT_GPA + len &&
                                        KVMRUN_BOOT_GPA < s->gpa + s->size)) {
            not_runnable(r, "memory.slots uses slot %u or GPA 0x%llx, where the backend maps the "
                         "vCPUs' boot page tables", r->boot_slot,
                         (unsigned long long)KVMRUN_BOOT_GPA);
            return 0;
        }
    }
    struct kvmm_region g = { .slot = r->boot_slot, .guest_phys_addr = KVMRUN_BOOT_GPA,
                             .memory_size = len,
                             .userspace_addr = (uint64_t)(uintptr_t)r->boot_host };
    int e = kvmh_set_region(r->h, true, &g);
    if (e)
        not_runnable(r, "the boot slot: KVM_SET_USER_MEMORY_REGION2: %s", strerror(-e));
    r->boot_live = !e;
    return 0;
}

/* After vCPU id's first ucall: once every vCPU is past its boot, the boot slot goes. */
static void boot_done(struct kvmrun *r, unsigned id)
{
    r->vcpu[id].booted = true;
    for (unsigned i = 0; i < r->nr_vcpus; i++)
        if (!r->vcpu[i].booted && r->vcpu[i].state == VS_RUNNABLE)
            return;
    if (r->boot_live) {
        struct kvmm_region g = { .slot = r->boot_slot };
        kvmh_set_region(r->h, true, &g);
        r->boot_live = false;
    }
}

/* Builds the VM with the image loaded and the vCPUs at its entry. */
static int setup_guest(struct kvmrun *r, const void *elf, size_t elf_len)
{
    uint64_t entry = 0;
    int err = setup_vm(r);
    if (err || !r->runnable)
        return err;
    if ((err = load_elf(r, elf, elf_len, &entry)) || (err = boot_slot_add(r)) ||
        !r->runnable)
        return err;
    return create_vcpus(r, KVMRUN_BOOT_GPA, entry);
}

int kvmrun_execute(const struct scenario *sc, const void *elf, size_t elf_len,
                   const struct kvmrun_options *opt, hv_event_sink_fn sink, void *sink_ctx,
                   const struct runner_hooks *hooks, struct kvmrun_result *res)
{
    memset(res, 0, sizeof *res);
    struct kvmrun *r = run_new(sc);
    if (!r)
        return HV_ENOMEM;
    r->sink = sink;
    r->sink_ctx = sink_ctx;
    r->hooks = hooks;
    int err = setup_guest(r, elf, elf_len);
    struct hv_ev_run_start rs = { .scenario = sc->name, .model = sc->model,
                                  .arch = hv_arch_name(sc->arch), .vcpus = sc->vcpus,
                                  .seed = sc->seed, .quantum = sc->quantum, .limit = sc->limit };
    if (!err)
        err = emit(r, -1, 0, HV_EV_run_start, &rs);
    if (!err && r->runnable)
        err = run_steps_at(r, SC_AT_START, true, 0, 0);
    if (!err && r->runnable)
        err = run_loop(r, opt);
    if (!err && r->runnable) {
        err = run_steps_at(r, SC_AT_END, true, 0, 0);
        for (size_t i = 0; i < sc->nsteps && !err; i++) {
            if (r->done[i])
                continue;
            char at[96];
            runner_step_at(&sc->steps[i], sc->steps[i].value, at, sizeof at);
            struct hv_ev_step ev = { .index = i, .action = sc->steps[i].action,
                                     .result = "{\"error\":\"trigger never reached\"}",
                                     .ok = false, .at = at, .expected = NULL };
            r->ok = false;
            report_failed(r, "step %zu (%s at %s): its trigger never came", i,
                          sc->steps[i].action, at);
            err = emit(r, -1, 0, HV_EV_step, &ev);
        }
    }
    if (!err && r->runnable)
        err = check_end(r);
    if (!err) {
        if (!r->runnable) {
            r->ok = false;
            end_run(r, HV_OUT_FAILED);
        }
        struct hv_ev_run_end re = { .outcome = hv_outcome_name(r->outcome), .instructions = 0 };
        err = emit(r, -1, 0, HV_EV_run_end, &re);
    }
    res->run.outcome = r->outcome;
    res->run.expect_ok = r->ok;
    res->run.events = r->seq;
    res->run.err = err;
    res->runnable = r->runnable;
    snprintf(res->why_not, sizeof res->why_not, "%s", r->why_not);
    summary(r, res->run.summary, sizeof res->run.summary);
    kvmrun_close(r);
    return err;
}
