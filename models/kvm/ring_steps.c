/*
 * ring_steps.c - the dirty ring in a running VM (A.7, api.rst 8.29): each vCPU's ring
 * (ring.h) filled by the writes made for that vCPU, KVM_EXIT_DIRTY_RING_FULL before the vCPU
 * enters the guest again, the VMM's harvest and KVM_RESET_DIRTY_RINGS (what QEMU's
 * kvm_dirty_ring_reap() does, and its answer to the exit), the VMM's record of harvested
 * pages for a migration, and the steps harvest_dirty_ring and reset_dirty_rings.
 *
 * Where the entries come from (virt/kvm/kvm_main.c mark_page_dirty_in_slot()):
 *   a guest store to a page whose tracking is armed: the write fault pushes into the storing
 *     vCPU's ring (kvm.c kvmm_guest_write());
 *   a write KVM makes for a vCPU (kvmm_vcpu_write_guest()): pushed into that vCPU's ring,
 *     armed or not;
 *   a write with no vCPU running (the xinterface module): the slot's bitmap when the ring has
 *     bitmap backing (arm64), else lost, as the kernel only warns (memslot.h kvmm_dirty_lost()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/caps.h"
#include "models/kvm/kvm_int.h"

/* ---- a growable JSON text ---- */

struct jtext {
    char *p;
    size_t n, cap;
    bool oom;
};

static void jadd(struct jtext *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jadd(struct jtext *j, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = j->oom ? 0 : vsnprintf(j->p ? j->p + j->n : NULL, j->p ? j->cap - j->n : 0,
                                       fmt, ap);
        va_end(ap);
        if (j->oom || w < 0)
            return;
        if (j->p && (size_t)w < j->cap - j->n) {
            j->n += (size_t)w;
            return;
        }
        size_t cap = (j->cap ? j->cap : 256) * 2 + (size_t)w;
        char *p = realloc(j->p, cap);
        if (!p) {
            j->oom = true;
            return;
        }
        j->p = p;
        j->cap = cap;
    }
}

/* "[[slot,offset],...]" */
static void jentries(struct jtext *j, const struct kvmm_dirty_gfn *e, size_t n)
{
    jadd(j, "[");
    for (size_t i = 0; i < n; i++)
        jadd(j, "%s[%" PRIu32 ",%" PRIu64 "]", i ? "," : "", e[i].slot, e[i].offset);
    jadd(j, "]");
}

/* ---- the rings of the VM ---- */

int kvmm_ring_enable_cap(struct kvmm_vm *k, unsigned nr_vcpus, uint64_t cap, uint64_t args0,
                         int *err, const char **rule)
{
    enum kvmm_ring_rule r = KVMM_RING_RULE_NO_CAP;
    *err = -EINVAL;
    /* kvm_vm_ioctl_enable_cap_generic(): only a ring kind this kernel reports */
    if (kvmm_check_extension(kvmm_slots_params(k->slots), cap))
        *err = kvmm_ring_enable(args0, KVMM_DIRTY_RING_RSVD_ENTRIES, k->ring_bytes,
                                k->vcpus_created, &r);
    *rule = kvmm_ring_rule_name(r);
    if (*err)
        return 0;
    /* kvm_vm_ioctl_create_vcpu() allocates each vCPU's ring later; all exist here already */
    int e = 0;
    for (unsigned i = 0; i < nr_vcpus && !e; i++)
        e = kvmm_ring_init(&k->rings[i], (uint32_t)args0, KVMM_DIRTY_RING_RSVD_ENTRIES);
    if (!e)
        e = kvmm_dirty_ring_on(k->slots);
    if (e) {
        kvmm_ring_vm_fini(k);
        return e;
    }
    k->ring_bytes = (uint32_t)args0;
    return 0;
}

void kvmm_ring_vm_fini(struct kvmm_vm *k)
{
    for (size_t i = 0; i < HV_MAX_VCPUS; i++)
        kvmm_ring_fini(&k->rings[i]);
    k->ring_bytes = 0;
    free(k->collected);
    k->collected = NULL;
    k->ncollected = k->capcollected = 0;
}

void kvmm_ring_push_vcpu(struct kvmm_vm *k, struct hv_vcpu *v, uint32_t slot, uint64_t offset)
{
    if (k->ring_bytes)
        kvmm_ring_push(&k->rings[hv_vcpu_id(v)], slot, offset);
}

static void rearm_cb(void *ctx, uint32_t slot, uint64_t offset, uint64_t mask)
{
    kvmm_dirty_ring_rearm(ctx, slot, offset, mask);
}

int kvmm_ring_reset_all(struct kvmm_vm *k, unsigned nr_vcpus)
{
    /* kvm_vm_ioctl_reset_dirty_pages() */
    if (!k->ring_bytes)
        return -EINVAL;
    int cleared = 0;
    for (unsigned i = 0; i < nr_vcpus; i++)
        cleared += (int)kvmm_ring_reset(&k->rings[i], rearm_cb, k->slots);
    return cleared;
}

void kvmm_ring_note_page(struct kvmm_vm *k, uint64_t gpa)
{
    if (!k->collecting || k->collect_oom)
        return;
    if (k->ncollected == k->capcollected) {
        size_t cap = k->capcollected ? 2 * k->capcollected : 256;
        uint64_t *p = realloc(k->collected, cap * sizeof *p);
        if (!p) {
            k->collect_oom = true;
            return;
        }
        k->collected = p;
        k->capcollected = cap;
    }
    k->collected[k->ncollected++] = gpa;
}

/* The VMM records harvested pages of address space 0 (QEMU: the slot's dirty_bmap) while a
 * migration runs; an entry naming no current slot or a page past its end is dropped, as
 * QEMU's kvm_dirty_ring_mark_page() does. */
static void collect(struct kvmm_vm *k, const struct kvmm_dirty_gfn *e, size_t n)
{
    for (size_t i = 0; k->collecting && i < n; i++) {
        const struct kvmm_memslot *m = kvmm_memslot_by_slot(k->slots, e[i].slot);
        if (m && m->as_id == 0 && e[i].offset < m->npages)
            kvmm_ring_note_page(k, (m->base_gfn + e[i].offset) << KVMM_PAGE_SHIFT);
    }
}

int kvmm_ring_reap(struct kvmm_vm *k, struct hv_vcpu *exiting, bool all, const char *by)
{
    struct hv_vm *vm = k->vm;
    unsigned nr = hv_vm_nr_vcpus(vm);
    uint32_t size = k->ring_bytes / KVMM_DIRTY_GFN_SIZE;
    struct kvmm_dirty_gfn *tmp = malloc((size_t)size * sizeof *tmp);
    struct jtext j = { 0 };
    uint64_t count = 0;
    if (!tmp)
        return hv_error_set(HV_ENOMEM, "kvm: harvesting a dirty ring");
    jadd(&j, "[");
    for (unsigned i = 0; i < nr; i++) {
        if (!all && exiting && i != hv_vcpu_id(exiting))
            continue;
        size_t n = kvmm_ring_harvest(&k->rings[i], tmp, size);
        if (!n)
            continue;
        jadd(&j, "%s{\"vcpu\":%u,\"entries\":", count ? "," : "", i);
        jentries(&j, tmp, n);
        jadd(&j, "}");
        collect(k, tmp, n);
        count += n;
    }
    jadd(&j, "]");
    free(tmp);
    /* QEMU calls KVM_RESET_DIRTY_RINGS only when it harvested something */
    int64_t reset = count ? kvmm_ring_reset_all(k, nr) : -1;
    struct hv_ev_kvm_dirty_ring ev = { .by = by, .harvested = j.oom ? NULL : j.p, .count = count,
                                       .reset = reset };
    int err = exiting ? hv_vcpu_emit(exiting, HV_EV_kvm_dirty_ring, &ev)
                      : hv_vm_emit(vm, -1, HV_EV_kvm_dirty_ring, &ev);
    free(j.p);
    if (!err && j.oom)
        err = hv_error_set(HV_ENOMEM, "kvm: the dirty ring event");
    return err;
}

bool kvmm_ring_enter(struct kvmm_vm *k, struct hv_vcpu *v)
{
    if (!k->ring_bytes || !kvmm_ring_check_request(&k->rings[hv_vcpu_id(v)]))
        return false;
    /* kvm_dirty_ring_check_request(): KVM_RUN returns; the VMM reaps and runs the vCPU again
     * (QEMU kvm_cpu_exec(), case KVM_EXIT_DIRTY_RING_FULL) */
    struct hv_ev_kvm_exit ev = { .reason = "KVM_EXIT_DIRTY_RING_FULL" };
    hv_vcpu_emit(v, HV_EV_kvm_exit, &ev);
    kvmm_ring_reap(k, v, k->ring_reap_all, "exit");
    return true;
}

/* vcpu_enter op (model.h): the request check of vcpu_enter_guest() / check_vcpu_requests(). */
void kvmm_vcpu_enter(struct hv_vcpu *v)
{
    kvmm_ring_enter(hv_vm_model_data(hv_vcpu_vm(v)), v);
}

/* Sorts and removes duplicates. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int kvmm_ring_collected(struct kvmm_vm *k, int (*page)(void *ctx, uint64_t gpa), void *ctx)
{
    if (k->collect_oom)
        return hv_error_set(HV_ENOMEM, "kvm: the VMM's record of harvested pages");
    if (k->ncollected) /* nothing harvested yet: no list at all */
        qsort(k->collected, k->ncollected, sizeof k->collected[0], cmp_u64);
    int err = 0;
    for (size_t i = 0; i < k->ncollected && !err; i++)
        if (i == 0 || k->collected[i] != k->collected[i - 1])
            err = page(ctx, k->collected[i]);
    k->ncollected = 0;
    return err;
}

/* ---- steps ---- */

static const char *const ring_actions[] = { "harvest_dirty_ring", "reset_dirty_rings", NULL };

static int action_index(const char *action)
{
    for (int i = 0; ring_actions[i]; i++)
        if (strcmp(ring_actions[i], action) == 0)
            return i;
    return -1;
}

/* expect `entries`: a sequence of [slot, offset] pairs. */
static int check_entries(const struct hv_node *n, struct hv_diag *d)
{
    int err = hv_node_expect(n, HV_NODE_SEQ, "entries", d);
    for (size_t i = 0; !err && i < n->n; i++) {
        const struct hv_node *p = &n->items[i];
        uint64_t u;
        if (p->type != HV_NODE_SEQ || p->n != 2)
            return hv_diag_at(d, p, "'entries': each entry is a pair [slot, offset]");
        if (!(err = hv_node_u64(&p->items[0], "slot", &u, d)) && u > UINT32_MAX)
            err = hv_diag_at(d, &p->items[0], "'slot': a u32 (as_id << 16 | id)");
        if (!err)
            err = hv_node_u64(&p->items[1], "offset", &u, d);
    }
    return err;
}

static int ring_check(const char *action, const struct hv_node *args,
                      const struct hv_node *expect, struct hv_diag *d)
{
    int a = action_index(action), err;
    if (a < 0)
        return HV_ENOENT;
    static const char *const harvest_expect[] = { "count", "entries", NULL };
    static const char *const reset_expect[] = { "errno", "count", NULL };
    if ((err = kvmm_check_expect_keys(expect, a == 0 ? harvest_expect : reset_expect, d)))
        return err;
    const struct hv_node *c = expect ? hv_node_get(expect, "count") : NULL;
    uint64_t u;
    if (c && (err = hv_node_u64(c, "count", &u, d)))
        return err;
    const struct hv_node *en = expect ? hv_node_get(expect, "entries") : NULL;
    if (en && (err = check_entries(en, d)))
        return err;
    if (a == 1) {
        if (args)
            return hv_diag_at(d, args, "'reset_dirty_rings' takes no args");
        return 0;
    }
    static const char *const keys[] = { "vcpu", NULL };
    if (!args)
        return 0;
    if ((err = hv_node_expect(args, HV_NODE_MAP, "args", d)) ||
        (err = hv_node_check_keys(args, keys, "args", d)))
        return err;
    const struct hv_node *v = hv_node_get(args, "vcpu");
    if (v && !(err = hv_node_u64(v, "vcpu", &u, d)) && u >= HV_MAX_VCPUS)
        err = hv_diag_at(d, v, "'vcpu': below %d", HV_MAX_VCPUS);
    return err;
}

/* expect `entries` against what was harvested (all of it). */
static bool entries_match(const struct hv_node *want, const struct kvmm_dirty_gfn *e, size_t n)
{
    struct hv_diag d;
    if (!want)
        return true;
    if (want->n != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = 0, o = 0;
        hv_node_u64(&want->items[i].items[0], "slot", &s, &d);
        hv_node_u64(&want->items[i].items[1], "offset", &o, &d);
        if (s != e[i].slot || o != e[i].offset)
            return false;
    }
    return true;
}

static bool count_matches(const struct hv_node *expect, uint64_t count)
{
    struct hv_diag d;
    const struct hv_node *c = expect ? hv_node_get(expect, "count") : NULL;
    uint64_t want = 0;
    return !c || (hv_node_u64(c, "count", &want, &d) == 0 && want == count);
}

static int ring_run(struct hv_vm *vm, struct kvmm_vm *k, const char *action,
                    const struct hv_node *args, const struct hv_node *expect, char *result,
                    size_t size)
{
    int a = action_index(action), err;
    if (a < 0)
        return HV_ENOENT;
    if (a == 1) {
        /* KVM_RESET_DIRTY_RINGS takes slots_lock: an open memslot window closes first */
        if ((err = kvmm_window_wait(vm, k)))
            return err;
        int r = kvmm_ring_reset_all(k, hv_vm_nr_vcpus(vm));
        char eno[16];
        kvmm_errno_name(r < 0 ? r : 0, eno, sizeof eno);
        snprintf(result, size, "{\"errno\":\"%s\",\"count\":%d}", eno, r < 0 ? 0 : r);
        bool ok = kvmm_expect_str(expect, "errno", eno) && count_matches(expect, r < 0 ? 0 : (uint64_t)r);
        return ok ? 0 : HV_ESCENARIO;
    }
    struct hv_diag d;
    uint64_t vi = 0;
    const struct hv_node *vn = args ? hv_node_get(args, "vcpu") : NULL;
    if (vn)
        hv_node_u64(vn, "vcpu", &vi, &d);
    const struct hv_node *at = vn ? vn : args;
    if (!k->ring_bytes)
        return hv_error_set(HV_EINVAL, "%s:%d:%d: harvest_dirty_ring: this VM has no dirty ring "
                            "(vmm.dirty_ring), so the VMM has none mapped to read",
                            at ? at->file : "?", at ? at->line : 0, at ? at->col : 0);
    if (vi >= hv_vm_nr_vcpus(vm))
        return hv_error_set(HV_EINVAL, "%s:%d:%d: 'vcpu': no vCPU %" PRIu64, at ? at->file : "?",
                            at ? at->line : 0, at ? at->col : 0, vi);
    struct kvmm_ring *r = &k->rings[vi];
    struct kvmm_dirty_gfn *e = malloc((size_t)r->size * sizeof *e);
    if (!e)
        return hv_error_set(HV_ENOMEM, "kvm: harvesting a dirty ring");
    size_t n = kvmm_ring_harvest(r, e, r->size);
    collect(k, e, n);
    /* the result lists as many entries as fit; `listed` says how many */
    int w = snprintf(result, size, "{\"vcpu\":%" PRIu64 ",\"count\":%zu,\"entries\":[", vi, n);
    size_t len = w > 0 && (size_t)w < size ? (size_t)w : size, listed = 0;
    for (; listed < n && len + 64 < size; listed++) {
        w = snprintf(result + len, size - len, "%s[%" PRIu32 ",%" PRIu64 "]", listed ? "," : "",
                     e[listed].slot, e[listed].offset);
        len += (size_t)w;
    }
    if (len + 32 < size)
        snprintf(result + len, size - len, "],\"listed\":%zu}", listed);
    bool ok = count_matches(expect, n) &&
              entries_match(expect ? hv_node_get(expect, "entries") : NULL, e, n);
    free(e);
    return ok ? 0 : HV_ESCENARIO;
}

const struct kvmm_steps kvmm_ring_steps = { ring_check, ring_run };
