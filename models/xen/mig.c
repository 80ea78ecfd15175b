/*
 * mig.c - save/restore of a running HVM domain, as the model's migration ops (sim/model.h,
 * docs/migration.md; the rules with their sources are in docs/models/xen.md, Migration):
 *   begin: XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY on the source (mig.h; guest stores reach it
 *     through sim/'s write tracking, Xen's own copy_to_guest through paging_mark_pfn_dirty);
 *     the destination is a new domain with the same RAM.
 *   dirty: XEN_DOMCTL_SHADOW_OP_CLEAN: the dirty pages, then the log cleared. The final one
 *     is xg_sr_save.c's, with XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL, whose
 *     hvm_mapped_guest_frames_mark_dirty() marks the pages mapped with
 *     hvm_map_guest_frame_rw(permanent): the model has none (map_guest_area's areas are not
 *     among them), so it adds nothing.
 *   finish: what the stream carries (xenm_mig_carry), and the hypercall page on restore.
 *
 * The model keeps no state per hypercall: a memory_op continuation is RAX = 12, RDI = cmd
 * with its start extent and RIP at the vmcall, all in the vCPU's registers, which move with
 * the vCPU, so the destination re-executes it once and goes on from that extent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/xen/mig.h"
#include "models/xen/xen_int.h"
#include "sim/migrate.h"

/* ---- log-dirty (pure) ---- */

int xenm_logdirty_enable(struct xenm_logdirty *ld, uint64_t base_gfn, uint64_t npages)
{
    xenm_logdirty_disable(ld);
    uint64_t *bits = calloc(npages / 64 + 1, sizeof *bits);
    if (!bits)
        return -1;
    *ld = (struct xenm_logdirty){ .on = true, .base_gfn = base_gfn, .npages = npages,
                                  .bits = bits };
    return 0;
}

void xenm_logdirty_disable(struct xenm_logdirty *ld)
{
    free(ld->bits);
    *ld = (struct xenm_logdirty){ 0 };
}

bool xenm_logdirty_test(const struct xenm_logdirty *ld, uint64_t gfn)
{
    if (!ld->on || gfn < ld->base_gfn || gfn - ld->base_gfn >= ld->npages)
        return false;
    uint64_t i = gfn - ld->base_gfn;
    return ld->bits[i / 64] >> (i % 64) & 1;
}

void xenm_logdirty_mark(struct xenm_logdirty *ld, uint64_t gfn)
{
    if (!ld->on || gfn < ld->base_gfn || gfn - ld->base_gfn >= ld->npages ||
        xenm_logdirty_test(ld, gfn))
        return;
    uint64_t i = gfn - ld->base_gfn;
    ld->bits[i / 64] |= 1ULL << (i % 64);
    ld->count++;
}

int xenm_logdirty_clean(struct xenm_logdirty *ld, int (*page)(void *ctx, uint64_t gfn),
                        void *ctx)
{
    for (uint64_t w = 0; ld->on && ld->count && w <= ld->npages / 64; w++) {
        while (ld->bits[w]) {
            unsigned b = (unsigned)__builtin_ctzll(ld->bits[w]);
            ld->bits[w] &= ld->bits[w] - 1;
            ld->count--;
            int err = page(ctx, ld->base_gfn + 64 * w + b);
            if (err)
                return err;
        }
    }
    return 0;
}

bool xenm_logdirty_check(const struct xenm_logdirty *ld)
{
    if (!ld->on)
        return !ld->bits && !ld->count;
    uint64_t n = 0;
    for (uint64_t w = 0; w <= ld->npages / 64; w++)
        n += (uint64_t)__builtin_popcountll(ld->bits[w]);
    /* no bit beyond npages */
    uint64_t tail = ld->bits[ld->npages / 64] >> (ld->npages % 64);
    return n == ld->count && tail == 0;
}

/* ---- what the restored domain gets (pure) ---- */

/* The source table's entries into a new table of dst's capacity, least recently used first,
 * so a smaller table keeps the most recent ones and the order of use survives. */
static void stlb_carry(const struct xenm_stlb *s, struct xenm_stlb *d)
{
    bool taken[XENM_STLB_MAX] = { false };
    for (unsigned k = 0; k < s->n; k++) {
        unsigned best = s->n;
        for (unsigned i = 0; i < s->n; i++)
            if (!taken[i] && (best == s->n || s->e[i].stamp < s->e[best].stamp))
                best = i;
        taken[best] = true;
        xenm_stlb_insert(d, s->e[best].va, s->e[best].gpa, s->e[best].size, NULL);
    }
}

void xenm_mig_carry(const struct xenm_vm *s, struct xenm_vm *d, unsigned nr, uint64_t now)
{
    for (unsigned i = 0; i < nr && i < HV_MAX_VCPUS; i++) {
        const struct xenm_vcpu *sv = &s->vcpu[i];
        struct xenm_vcpu *dv = &d->vcpu[i];
        /* HVM_CONTEXT's CPU record (hvm_save_cpu_ctxt): EFER; none for a down vCPU, which
         * the restore leaves down. Where VCPUOP_up resumes it is the model's (a choice). */
        dv->down = sv->down;
        dv->efer = sv->efer;
        dv->rip = sv->rip;
        memcpy(dv->gpr, sv->gpr, sizeof dv->gpr);
        /* a new vCPU: no area registered, vcpu_info's time copy at version 0, the runstate
         * restarted (sched_init_vcpu) at the restore */
        memset(&dv->a, 0, sizeof dv->a);
        dv->a.rs.state = sv->down ? XENM_RS_offline : XENM_RS_runnable;
        dv->a.rs.entry = now;
    }
    /* the software TLBs (a choice: the proposal has no save record) */
    for (unsigned i = 0; d->stlb_capacity && s->stlb_capacity && i < HV_MAX_VCPUS; i++) {
        xenm_stlb_init(&d->stlb[i], d->stlb_capacity);
        stlb_carry(&s->stlb[i], &d->stlb[i]);
        d->stlb_of[i] = s->stlb_of[i];
    }
    /* PAGE_DATA populates exactly the source's populated pfns; pages without a gfn have no
     * pfn to send. max_pages is the destination toolstack's. */
    memcpy(d->mem->populated, s->mem->populated, sizeof d->mem->populated);
    d->mem->unmapped = 0;
    d->mem->tot_pages = 0;
    for (size_t w = 0; w < sizeof d->mem->populated / sizeof d->mem->populated[0]; w++)
        d->mem->tot_pages += (uint64_t)__builtin_popcountll(d->mem->populated[w]);
    /* X86_TSC_INFO: tsc_set_info(incarnation) makes it incarnation + 1 */
    d->incarnation = s->incarnation + 1;
    d->hcpage_set = s->hcpage_set;
    d->hcpage_gfn = s->hcpage_gfn;
    /* hypercall_preempt_check()'s stream goes on where it was (a choice) */
    if (d->preempt.kind == s->preempt.kind)
        d->preempt = s->preempt;
}

/* ---- the ops ---- */

void xenm_guest_write_op(struct hv_vcpu *v, uint64_t gpa, unsigned size)
{
    struct xenm_vm *x = hv_vm_model_data(hv_vcpu_vm(v));
    uint64_t first = gpa >> 12, last = (gpa + (size ? size - 1 : 0)) >> 12;
    for (uint64_t gfn = first; gfn <= last; gfn++)
        xenm_logdirty_mark(&x->dirty, gfn);
}

int xenm_mig_begin(struct hv_vm *src, struct hv_vm *dst, char *result, size_t size)
{
    struct xenm_vm *x = hv_vm_model_data(src), *d = hv_vm_model_data(dst);
    if (d->ram_base != x->ram_base || d->ram_size != x->ram_size)
        return hv_error_set(HV_EINVAL, "migration: the destination's RAM differs");
    if (xenm_logdirty_enable(&x->dirty, x->ram_base >> 12, x->ram_size >> 12))
        return HV_ENOMEM;
    int err = hv_vm_track_writes(src, true);
    if (err)
        return err;
    snprintf(result, size,
             "{\"log_dirty\":{\"gfn\":\"0x%" PRIx64 "\",\"pages\":%" PRIu64
             "},\"incarnation\":%" PRIu32 "}",
             x->dirty.base_gfn, x->dirty.npages, x->incarnation);
    return 0;
}

struct clean_ctx {
    int (*page)(void *ctx, uint64_t gpa);
    void *ctx;
};

static int clean_page(void *ctx, uint64_t gfn)
{
    struct clean_ctx *c = ctx;
    return c->page(c->ctx, gfn << 12);
}

int xenm_mig_dirty(struct hv_vm *src, int (*page)(void *ctx, uint64_t gpa), void *ctx)
{
    struct xenm_vm *x = hv_vm_model_data(src);
    struct clean_ctx c = { page, ctx };
    return xenm_logdirty_clean(&x->dirty, clean_page, &c);
}

/* xen.hcpage_on_restore = rewrite: the page filled again for this host's vendor before the
 * guest runs (an `after` event on the destination, so the completeness check compares the
 * page as migrated). */
static int hcpage_rewrite(struct hv_vm *vm, void *ctx, char *result, size_t size)
{
    (void)ctx;
    struct xenm_vm *d = hv_vm_model_data(vm);
    uint8_t *page = hv_vm_gpa_ptr(vm, d->hcpage_gfn << 12, 4096);
    if (!page)
        return hv_error_set(HV_EINVAL, "hypercall page rewrite: gfn 0x%" PRIx64 " not RAM",
                            d->hcpage_gfn);
    xenm_hcpage_fill(page, d->amd, d->hcpage_insn_len);
    hv_vm_code_written(vm, d->hcpage_gfn << 12, 4096);
    snprintf(result, size, "{\"gfn\":\"0x%" PRIx64 "\",\"insn\":\"%s\",\"insn_len\":%u}",
             d->hcpage_gfn, d->amd ? "vmmcall" : "vmcall", d->hcpage_insn_len);
    return 0;
}

int xenm_mig_finish(struct hv_vm *src, struct hv_vm *dst, char *result, size_t size)
{
    struct xenm_vm *x = hv_vm_model_data(src), *d = hv_vm_model_data(dst);
    unsigned nr = hv_vm_nr_vcpus(src), up = 0;
    xenm_mig_carry(x, d, nr, hv_vm_now(dst));
    xenm_logdirty_disable(&x->dirty);
    d->extent_shift = d->restore_shift;
    for (unsigned i = 0; i < nr && i < HV_MAX_VCPUS; i++)
        up += !d->vcpu[i].down;
    const char *hp = !d->hcpage_set ? "none" : d->hcpage_rewrite ? "rewrite" : "keep";
    if (d->hcpage_set && d->hcpage_rewrite) {
        int err = hv_vm_after(dst, 0, "xen hypercall page rewrite", hcpage_rewrite, NULL, NULL);
        if (err)
            return err;
    }
    snprintf(result, size,
             "{\"vcpus_up\":%u,\"incarnation\":%" PRIu32 ",\"tot_pages\":%" PRIu64
             ",\"stlb\":%s,\"hcpage\":\"%s\",\"areas\":\"dropped\"}",
             up, d->incarnation, d->mem->tot_pages,
             d->stlb_capacity && x->stlb_capacity ? "true" : "false", hp);
    return 0;
}
