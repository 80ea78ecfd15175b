/*
 * mig.c - what a VMM does with KVM to migrate a VM before copy (A.8), as the model's
 * migration ops (sim/model.h, docs/migration.md):
 *   begin: KVM_MEM_LOG_DIRTY_PAGES on every RAM slot of both address spaces, each a FLAGS_ONLY
 *     KVM_SET_USER_MEMORY_REGION2 (read-only slots are not logged: nothing can dirty them);
 *     the destination gets the same slots (ids, flags without logging, GPAs, sizes, the same
 *     userspace addresses in its own host memory), after deleting the ones its scenario made.
 *   dirty: KVM_GET_DIRTY_LOG on every logging slot; in manual-protect mode the live bitmap,
 *     then KVM_CLEAR_DIRTY_LOG of the whole slot with that bitmap (A.7). With the dirty ring
 *     (vmm.dirty_ring): every ring harvested and KVM_RESET_DIRTY_RINGS (QEMU's
 *     kvm_dirty_ring_flush()), the pages harvested at KVM_EXIT_DIRTY_RING_FULL exits since the
 *     last sync added, and, when the ring has bitmap backing, KVM_GET_DIRTY_LOG of each slot
 *     too (the writes made with no vCPU running).
 *   finish: the VMM's own VM-wide settings to the destination (KVM_CAP_EXIT_HYPERCALL, the
 *     SMCCC filter, the forwarding capability, manual-protect mode), and each live xinterface
 *     vmap mapped again at the same GPA range over the destination's memory (E).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/kvm/kvm_int.h"

/* A slot's region for KVM_SET_USER_MEMORY_REGION2 with other flags. */
static struct kvmm_region region_of(const struct kvmm_memslot *s, uint32_t flags)
{
    return (struct kvmm_region){
        .slot = (uint32_t)s->as_id << 16 | s->id, .flags = flags,
        .guest_phys_addr = s->base_gfn << KVMM_PAGE_SHIFT,
        .memory_size = s->npages << KVMM_PAGE_SHIFT, .userspace_addr = s->userspace_addr,
        .guest_memfd_offset = s->guest_memfd_offset, .guest_memfd = s->guest_memfd,
    };
}

/* Appends to a JSON array in buf. */
static void append(char *buf, size_t size, size_t *len, const char *item)
{
    int n = snprintf(buf + *len, size - *len, "%s%s", *len > 1 ? "," : "", item);
    if (n > 0 && (size_t)n < size - *len)
        *len += (size_t)n;
}

int kvmm_mig_begin(struct hv_vm *src, struct hv_vm *dst, char *result, size_t size)
{
    struct kvmm_vm *k = hv_vm_model_data(src), *d = hv_vm_model_data(dst);
    unsigned nr_as = kvmm_slots_params(k->slots)->nr_as;
    char logged[2048] = "[";
    size_t ll = 1;
    /* the destination: its scenario's slots out, the source's in */
    for (unsigned as = 0; as < nr_as; as++) {
        while (kvmm_memslot_count(d->slots, as)) {
            struct kvmm_region r = region_of(kvmm_memslot_at(d->slots, as, 0), 0);
            r.memory_size = 0;
            struct kvmm_set_result res;
            int err = kvmm_memslot_set(d->slots, &r, true, &res);
            if (err || res.err)
                return hv_error_set(HV_EINVAL, "migration: deleting a destination slot");
        }
        for (size_t i = 0; i < kvmm_memslot_count(k->slots, as); i++) {
            const struct kvmm_memslot *s = kvmm_memslot_at(k->slots, as, i);
            if (!kvmm_memslot_usable(s))
                return hv_error_set(HV_EINVAL, "migration: a memslot update is in progress");
            struct kvmm_region r = region_of(s, s->flags & ~KVMM_MEM_LOG_DIRTY_PAGES);
            struct kvmm_set_result res;
            int err = kvmm_memslot_set(d->slots, &r, true, &res);
            if (err || res.err)
                return hv_error_set(HV_EINVAL, "migration: the destination refuses slot %u: %s",
                                    r.slot, kvmm_rule_text(res.rule));
        }
    }
    /* the source: logging on, slot by slot (regions first: each update changes the table) */
    for (unsigned as = 0; as < nr_as; as++) {
        size_t n = kvmm_memslot_count(k->slots, as), nr = 0;
        struct kvmm_region *rs = calloc(n + 1, sizeof *rs);
        if (!rs)
            return HV_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            const struct kvmm_memslot *s = kvmm_memslot_at(k->slots, as, i);
            if (!(s->flags & (KVMM_MEM_LOG_DIRTY_PAGES | KVMM_MEM_READONLY)))
                rs[nr++] = region_of(s, s->flags | KVMM_MEM_LOG_DIRTY_PAGES);
        }
        for (size_t i = 0; i < nr; i++) {
            struct kvmm_set_result res;
            int err = kvmm_memslot_set(k->slots, &rs[i], true, &res);
            if (err) {
                free(rs);
                return err;
            }
            char item[96];
            snprintf(item, sizeof item, "{\"slot\":%" PRIu32 ",\"change\":\"%s\",\"errno\":%d}",
                     rs[i].slot, kvmm_change_name(res.change), res.err);
            append(logged, sizeof logged, &ll, item);
        }
        free(rs);
    }
    snprintf(logged + ll, sizeof logged - ll, "]");
    snprintf(result, size, "{\"log_dirty\":%s,\"dirty\":\"%s\"}", logged,
             k->ring_bytes ? "ring" : "bitmap");
    /* from here on the VMM keeps what it harvests for the next sync */
    k->collecting = true;
    k->ncollected = 0;
    int err = kvmm_sync_regions(src, k);
    return err ? err : kvmm_sync_regions(dst, d);
}

/* A page the bitmap sync reports: sent now, or with the ring's pages. */
struct bitmap_sink {
    struct kvmm_vm *k;
    int (*page)(void *ctx, uint64_t gpa);
    void *ctx;
};

static int to_vmm(void *ctx, uint64_t gpa)
{
    struct bitmap_sink *b = ctx;
    if (b->k->ring_bytes) {
        kvmm_ring_note_page(b->k, gpa);
        return 0;
    }
    return b->page(b->ctx, gpa);
}

int kvmm_mig_dirty(struct hv_vm *src, int (*page)(void *ctx, uint64_t gpa), void *ctx)
{
    struct kvmm_vm *k = hv_vm_model_data(src);
    unsigned nr_as = kvmm_slots_params(k->slots)->nr_as;
    bool manual = kvmm_dirty_manual(k->slots) & KVMM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
    struct bitmap_sink sink = { k, page, ctx };
    int err;
    if (k->ring_bytes && (err = kvmm_ring_reap(k, NULL, true, "migrate")))
        return err;
    if (!kvmm_dirty_uses_bitmap(k->slots))
        return kvmm_ring_collected(k, page, ctx);
    for (unsigned as = 0; as < nr_as; as++) {
        for (size_t i = 0; i < kvmm_memslot_count(k->slots, as); i++) {
            const struct kvmm_memslot *s = kvmm_memslot_at(k->slots, as, i);
            if (!s->dirty_bitmap)
                continue;
            uint32_t slot = (uint32_t)as << 16 | s->id;
            uint64_t base = s->base_gfn, npages = s->npages;
            size_t len = kvmm_dirty_bitmap_bytes(s);
            uint8_t *bm = calloc(1, len);
            if (!bm)
                return HV_ENOMEM;
            int kerr = 0;
            kvmm_dirty_get_log(k->slots, slot, bm, len, &kerr);
            if (!kerr && manual)
                kvmm_dirty_clear_log(k->slots, slot, 0, (uint32_t)npages, bm, len, &kerr);
            err = kerr ? hv_error_set(HV_EINVAL, "migration: dirty log of slot %" PRIu32
                                                 " failed (%d)", slot, kerr)
                       : 0;
            /* only address space 0 is the guest's RAM map in sim/ */
            for (uint64_t p = 0; !err && as == 0 && p < npages; p++)
                if (bm[p / 8] >> (p % 8) & 1)
                    err = to_vmm(&sink, (base + p) << KVMM_PAGE_SHIFT);
            free(bm);
            if (err)
                return err;
        }
    }
    return k->ring_bytes ? kvmm_ring_collected(k, page, ctx) : 0;
}

int kvmm_mig_finish(struct hv_vm *src, struct hv_vm *dst, char *result, size_t size)
{
    struct kvmm_vm *k = hv_vm_model_data(src), *d = hv_vm_model_data(dst);
    k->collecting = false;
    d->exit_hypercall = k->exit_hypercall;
    memcpy(d->filter, k->filter, sizeof d->filter);
    d->nfilter = k->nfilter;
    d->rfc_forward = k->rfc_forward;
    d->nisv_to_user = k->nisv_to_user;
    int kerr = 0;
    kvmm_dirty_enable_manual(d->slots, kvmm_dirty_manual(k->slots), 0, &kerr);
    /* xinterface mappings: the host module maps the same GPA range again on the destination
     * (its contents came with the pages) */
    char vmaps[1024] = "[";
    size_t vl = 1;
    for (size_t i = 0; i < KVMM_XIF_MAX_VMAPS; i++) {
        const struct kvmm_xvmap *m = &k->xif.vmap[i];
        if (!m->live)
            continue;
        struct kvmm_xvmap *dm = &d->xif.vmap[i];
        memcpy(dm->name, m->name, sizeof dm->name);
        struct kvmm_xif_res res;
        int err = kvmm_xif_vmap(d, dm, m->gpa, m->len, &res);
        if (err)
            return err;
        char item[128];
        snprintf(item, sizeof item, "{\"name\":\"%s\",\"gpa\":\"0x%" PRIx64 "\",\"errno\":%d}",
                 dm->name, dm->gpa, res.err);
        append(vmaps, sizeof vmaps, &vl, item);
    }
    snprintf(vmaps + vl, sizeof vmaps - vl, "]");
    snprintf(result, size,
             "{\"exit_hypercall\":%" PRIu64 ",\"filter_ranges\":%zu,\"manual_dirty_log\":%" PRIu64
             ",\"xif_vmaps\":%s}",
             d->exit_hypercall, d->nfilter, kvmm_dirty_manual(d->slots), vmaps);
    return 0;
}
