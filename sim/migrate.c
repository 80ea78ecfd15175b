/*
 * migrate.c - the simulator's side of a live migration (migrate.h): the destination VM, pages,
 * vCPU state, write provenance.
 *
 * vCPU state moves as Unicorn's CPU context (uc_context_save on the source engine,
 * uc_context_restore on the destination's): the whole CPUArchState up to the engine's
 * context size, which holds every register the guest can see, including control and system
 * registers. Both engines are the same CPU model, so the layout is the same. The destination
 * engine first goes through its power-on (Arm keeps that state for PSCI CPU_ON), and its
 * translation caches and address-space map start empty, so nothing stale is carried.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

int hv_vm_create_incoming(struct hv_vm **out, struct hv_vm *src, const struct hv_kv *config,
                          size_t nconfig)
{
    struct hv_vm_config cfg = src->cfg;
    cfg.config = config;
    cfg.nconfig = nconfig;
    cfg.vm_id = src->cfg.vm_id + 1;
    int err = hv_vm_create(out, &cfg);
    if (err)
        return err;
    (*out)->seq_owner = src->seq_owner ? src->seq_owner : src;
    if ((err = hv_vm_observe_writes(*out, src->wobs_want, src->wobs, src->wobs_ctx)) ||
        (err = hv_vm_observe_insns(*out, src->iobs, src->iobs_ctx)) ||
        (err = hv_vm_observe_reads(*out, src->robs_want, src->robs, src->robs_ctx))) {
        hv_vm_destroy(*out);
        *out = NULL;
    }
    return err;
}

int hv_vm_ram_pages(struct hv_vm *vm, int (*fn)(void *ctx, uint64_t gpa), void *ctx)
{
    for (size_t i = 0; i < vm->nregions; i++) {
        const struct hv_region *r = &vm->regions[i];
        for (uint64_t off = 0; off + 4096 <= r->size; off += 4096) {
            int err = fn(ctx, r->gpa + off);
            if (err)
                return err;
        }
    }
    return 0;
}

int hv_vm_copy_page(struct hv_vm *src, struct hv_vm *dst, uint64_t gpa)
{
    const uint8_t *s = hv_vm_gpa_ptr(src, gpa, 4096);
    uint8_t *d = hv_vm_gpa_ptr(dst, gpa, 4096);
    if (!s || !d)
        return HV_EINVAL;
    memcpy(d, s, 4096);
    return 0;
}

bool hv_vm_page_equal(struct hv_vm *src, struct hv_vm *dst, uint64_t gpa)
{
    const uint8_t *s = hv_vm_gpa_ptr(src, gpa, 4096);
    const uint8_t *d = hv_vm_gpa_ptr(dst, gpa, 4096);
    return s && d && memcmp(s, d, 4096) == 0;
}

static int move_vcpu(struct hv_vcpu *s, struct hv_vcpu *d)
{
    int err = vm_power_on(d);
    if (err)
        return err;
    uc_context *ctx = NULL;
    if (uc_context_alloc(s->uc, &ctx) != UC_ERR_OK)
        return hv_error_set(HV_EUNICORN, "allocating vCPU %u's context", s->id);
    uc_err e = uc_context_save(s->uc, ctx);
    if (e == UC_ERR_OK)
        e = uc_context_restore(d->uc, ctx);
    uc_context_free(ctx);
    if (e != UC_ERR_OK)
        return vm_err_uc(e, "moving a vCPU's context");
    d->state = s->state;
    memcpy(d->state_why, s->state_why, sizeof d->state_why);
    d->state_pc = s->state_pc;
    d->entry = s->entry;
    d->arg0 = s->arg0;
    d->icount = s->icount;
    d->resume_pc = s->resume_pc;
    d->resume_valid = s->resume_valid;
    if (s->resume_valid) /* the engine's own pc may lag where the vCPU resumes */
        vcpu_write_pc(d, s->resume_pc);
    d->pend = s->pend;
    d->pend_vec = s->pend_vec;
    d->pend_err = s->pend_err;
    d->pend_addr = s->pend_addr;
    d->pend_pc = s->pend_pc;
    d->pend_soft = s->pend_soft;
    mmio_reset(d); /* moved between slices: no access is half done */
    d->blk_pc = s->blk_pc; /* a REP string instruction may go on (vcpu.c, rep_count) */
    d->blk_size = s->blk_size;
    d->remap_pending = true;
    d->remap_why = "migration";
    return 0;
}

int hv_vm_move_vcpus(struct hv_vm *src, struct hv_vm *dst)
{
    if (src->nr != dst->nr || src->arch != dst->arch || src->current)
        return hv_error_set(HV_EINVAL, "moving vCPUs between unlike VMs or during a slice");
    for (unsigned i = 0; i < src->nr; i++) {
        int err = move_vcpu(&src->vcpus[i], &dst->vcpus[i]);
        if (err)
            return err;
    }
    dst->started = true;
    dst->prng = src->prng;
    /* nothing has run on the destination yet: its first slice is a context switch from no
     * vCPU (model.h sched_switch), whichever vCPU the stream picks, even the one that ran
     * the source's last slice */
    dst->last_run = NULL;
    dst->last_why = HV_DESCHED_PREEMPTED;
    dst->outcome = src->outcome;
    if (src->output_len) {
        free(dst->output);
        dst->output = malloc(src->output_len + 1);
        if (!dst->output)
            return HV_ENOMEM;
        memcpy(dst->output, src->output, src->output_len + 1);
        dst->output_len = dst->output_cap = src->output_len;
        dst->output_cap++;
    }
    /* one timeline: the destination numbers events from here on */
    struct hv_vm *owner = dst->seq_owner ? dst->seq_owner : dst;
    dst->seq = owner->seq;
    dst->ev_bytes = owner->ev_bytes;
    dst->seq_owner = NULL;
    return 0;
}

/* ---- provenance ---- */

static struct hv_prov *prov_slot(const struct hv_vm *vm, uint64_t key)
{
    size_t mask = vm->prov_cap - 1;
    size_t i = (size_t)(key * 0x9e3779b97f4a7c15ULL >> 20) & mask;
    while (vm->prov[i].key && vm->prov[i].key != key)
        i = (i + 1) & mask;
    return &vm->prov[i];
}

static int prov_grow(struct hv_vm *vm)
{
    size_t ncap = vm->prov_cap ? vm->prov_cap * 2 : 1024;
    struct hv_prov *old = vm->prov;
    size_t ocap = vm->prov_cap;
    vm->prov = calloc(ncap, sizeof *vm->prov);
    if (!vm->prov) {
        vm->prov = old;
        return HV_ENOMEM;
    }
    vm->prov_cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key)
            *prov_slot(vm, old[i].key) = old[i];
    free(old);
    return 0;
}

void prov_record(struct hv_vm *vm, int32_t vcpu, uint64_t pc, uint64_t icount, uint64_t gpa,
                 uint64_t len, const char *path)
{
    if (!len)
        return;
    if (vm->wobs && vm->wobs_want(vm->wobs_ctx, gpa, len)) {
        struct hv_write_rec w = { .vcpu = vcpu, .pc = pc, .icount = icount, .path = path };
        vm->wobs(vm->wobs_ctx, vm, gpa, len, &w);
    }
    if (!vm->prov_on)
        return;
    for (uint64_t gfn = gpa >> 12; gfn <= (gpa + len - 1) >> 12; gfn++) {
        if ((vm->prov_n + 1) * 2 > vm->prov_cap && prov_grow(vm)) {
            vm->err = HV_ENOMEM;
            return;
        }
        struct hv_prov *p = prov_slot(vm, gfn + 1);
        if (!p->key)
            vm->prov_n++;
        p->key = gfn + 1;
        p->rec = (struct hv_write_rec){ .vcpu = vcpu, .pc = pc, .icount = icount, .path = path };
    }
}

int hv_vm_provenance(struct hv_vm *vm, bool on)
{
    vm->prov_on = on;
    if (!on) {
        free(vm->prov);
        vm->prov = NULL;
        vm->prov_cap = vm->prov_n = 0;
    }
    return vm_write_hooks(vm);
}

void hv_vm_note_write(struct hv_vm *vm, struct hv_vcpu *v, uint64_t gpa, uint64_t len,
                      const char *path)
{
    if (!vm || (!vm->prov_on && !vm->wobs))
        return;
    if (v)
        prov_record(vm, (int32_t)v->id, v->in_exit ? v->exit_pc : vcpu_read_pc(v),
                    v->in_exit ? v->exit_icount : v->icount, gpa, len, path);
    else
        prov_record(vm, -1, 0, 0, gpa, len, path);
}

int hv_vm_observe_writes(struct hv_vm *vm, hv_write_want_fn want, hv_write_observer_fn fn,
                         void *ctx)
{
    vm->wobs_want = want;
    vm->wobs = fn;
    vm->wobs_ctx = ctx;
    return vm_write_hooks(vm);
}

int hv_vm_observe_insns(struct hv_vm *vm, hv_insn_observer_fn fn, void *ctx)
{
    vm->iobs = fn;
    vm->iobs_ctx = ctx;
    for (unsigned i = 0; fn && i < vm->nr; i++) {
        int err = vcpu_insn_hook(&vm->vcpus[i]);
        if (err)
            return err;
    }
    return 0;
}

int hv_vm_observe_reads(struct hv_vm *vm, hv_write_want_fn want, hv_write_observer_fn fn,
                        void *ctx)
{
    vm->robs_want = want;
    vm->robs = fn;
    vm->robs_ctx = ctx;
    for (unsigned i = 0; fn && i < vm->nr; i++) {
        int err = vcpu_read_hook(&vm->vcpus[i]);
        if (err)
            return err;
    }
    return 0;
}

int hv_vcpu_uc_reg(struct hv_vcpu *v, int id, void *buf)
{
    return uc_reg_read(v->uc, id, buf) == UC_ERR_OK ? 0 : HV_EINVAL;
}

bool hv_vm_last_write(const struct hv_vm *vm, uint64_t gpa, struct hv_write_rec *out)
{
    if (!vm->prov_cap)
        return false;
    const struct hv_prov *p = prov_slot(vm, (gpa >> 12) + 1);
    if (!p->key)
        return false;
    *out = p->rec;
    return true;
}

void hv_vm_pause_at_total(struct hv_vm *vm, uint64_t icount)
{
    vm->pause_total = icount;
}

void hv_vm_pause_at_seq(struct hv_vm *vm, uint64_t seq)
{
    vm->pause_seq = seq;
}

void hv_vm_pause_at_leg(struct hv_vm *vm, uint64_t legs)
{
    vm->pause_legs = legs;
}

uint64_t hv_vm_legs(const struct hv_vm *vm)
{
    return vm->legs;
}
