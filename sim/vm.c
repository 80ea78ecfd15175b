/*
 * vm.c - the VM: vCPUs, guest RAM, the event stream, the ucall channel and the deterministic
 * scheduler.
 *
 * Scheduling: hv_vm_run() repeatedly draws, from the seeded splitmix64 stream (sched.c),
 * first the index of a vCPU among the runnable ones (in id order), then a slice length in
 * [1, quantum], or takes both from a loaded schedule (schedule.c). The vCPU runs until its
 * retired-instruction count reaches the budget at a block boundary, or it exits in a way that
 * ends the slice. Each decision is a `sched` event.
 * Nothing else influences the order: no clock, no host state.
 *
 * Deferred callbacks (hv_vm_after): kept sorted by (due, id); the scheduler cuts each budget so
 * the slice ends at the first block boundary at or past the earliest due count, and runs every
 * due callback before the next scheduling decision. Only instruction counts decide when.
 *
 * Run outcome (vm_end): RUNNING -> DONE | ASSERT | LIMIT | EXCEPTION | DEADLOCK | ERROR |
 * FAILED, once.
 *
 * vCPU state (vcpu_set_state, each change a vcpu_state event with its reason):
 *
 *   stopped --hv_vcpu_start--> runnable <--wake-- halted
 *      ^                        |  |  |  `--hlt, wfi, HV_ACT_HALT--^
 *      `--hv_vcpu_stop----------'  |  `--GUEST_DONE--> done
 *                                  `--assert, exception, hv_vcpu_fail--> failed
 *
 * done and failed are final: hv_vcpu_stop() leaves them as they are.
 * hv_interrupt() (a signal handler) ends it as ERROR with HV_EINTR.
 *
 * Invariants:
 *   1. vm->seq is the number of events emitted; events are emitted in simulation order.
 *   2. regions are sorted by gpa and never overlap.
 *   3. afters is sorted by (due, id); ids are unique and increase with registration.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sim/sim_int.h"



int vm_err_uc(uc_err e, const char *what)
{
    return hv_error_set(HV_EUNICORN, "%s: %s", what, uc_strerror(e));
}

int vm_emit(struct hv_vm *vm, int32_t vcpu, uint64_t icount, uint64_t pc, enum hv_ev_kind kind,
            const void *fields)
{
    size_t n = hv_event_encode(vm->evbuf, vm->evbuf_size, kind, fields);
    if (n >= vm->evbuf_size) {
        size_t ns = n + 1024;
        char *nb = realloc(vm->evbuf, ns);
        if (!nb)
            return HV_ENOMEM;
        vm->evbuf = nb;
        vm->evbuf_size = ns;
        n = hv_event_encode(vm->evbuf, vm->evbuf_size, kind, fields);
    }
    uint64_t *seq = vm->seq_owner ? &vm->seq_owner->seq : &vm->seq;
    struct hv_event ev = { .seq = (*seq)++, .vcpu = vcpu, .icount = icount, .kind = kind,
                           .pc = pc, .detail = vm->evbuf, .detail_len = n, .fields = fields };
    ev.vm = vm->cfg.vm_id;
    /* a seq trigger reached inside a slice: the slice ends at the next block boundary */
    if (vm->pause_seq && *seq >= vm->pause_seq && vm->current) {
        struct hv_vcpu *c = vm->current;
        if (!c->stop_next_block) {
            c->stop_next_block = true;
            c->stop_next = STOP_SLICE;
        }
    }
    int err = vm->cfg.sink ? vm->cfg.sink(vm->cfg.sink_ctx, &ev) : 0;
    /* kept even when the run has already ended: an event the sink lost is the run's error */
    if (err && !vm->err)
        vm->err = err;
    /* the budgets count every VM of the run (a migration's destination too) */
    uint64_t *bytes = vm->seq_owner ? &vm->seq_owner->ev_bytes : &vm->ev_bytes;
    *bytes += HV_EVENT_ROW_BYTES + n;
    bool spent = (vm->cfg.max_events && *seq >= vm->cfg.max_events) ||
                 (vm->cfg.max_trace_bytes && *bytes >= vm->cfg.max_trace_bytes);
    if ((err || spent) && vm->outcome == HV_OUT_RUNNING) {
        vm->outcome = err ? HV_OUT_ERROR : HV_OUT_BUDGET;
        for (unsigned i = 0; i < vm->nr; i++)
            if (vm->vcpus[i].uc)
                uc_emu_stop(vm->vcpus[i].uc);
    }
    return err;
}

int hv_vm_emit(struct hv_vm *vm, int32_t vcpu, enum hv_ev_kind kind, const void *fields)
{
    uint64_t ic = 0, pc = 0;
    if (vcpu >= 0 && (unsigned)vcpu < vm->nr) {
        ic = vm->vcpus[vcpu].icount;
        pc = vcpu_read_pc(&vm->vcpus[vcpu]);
    }
    return vm_emit(vm, vcpu, ic, pc, kind, fields);
}

int hv_vcpu_emit(struct hv_vcpu *v, enum hv_ev_kind kind, const void *fields)
{
    if (v->in_store && !v->in_exit) {
        /* an event for the store being tracked (a model's exit): its exact instruction, as a
         * memory hook sees only the block (pcfind.c); then as for an exit */
        uint64_t at = v->blk_pc;
        uint32_t idx = 0;
        unsigned sz;
        if (pcfind_access(v, v->store_va, true, &at, &idx, &sz) != 0)
            at = v->blk_pc, idx = 0;
        v->exit_pc = at;
        v->exit_icount = v->blk_base + idx;
        v->in_exit = true;
    }
    uint64_t pc = v->in_exit ? v->exit_pc : vcpu_read_pc(v);
    uint64_t ic = v->in_exit ? v->exit_icount : v->icount;
    return vm_emit(v->vm, (int32_t)v->id, ic, pc, kind, fields);
}

void vm_end(struct hv_vm *vm, enum hv_outcome o)
{
    if (vm->outcome == HV_OUT_RUNNING)
        vm->outcome = o;
}

int vm_fail(struct hv_vm *vm, int err)
{
    if (!vm->err)
        vm->err = err;
    vm_end(vm, HV_OUT_ERROR);
    return err;
}

static const char *const state_names[] = { "runnable", "halted", "done", "stopped", "failed" };

void vcpu_set_state(struct hv_vcpu *v, enum hv_vstate s, const char *why)
{
    if (v->state == s)
        return;
    struct hv_ev_vcpu_state ev = { .from = state_names[v->state], .to = state_names[s],
                                   .why = why };
    v->state = s;
    uint64_t pc = v->in_exit ? v->exit_pc : (v->resume_valid ? v->resume_pc : vcpu_read_pc(v));
    snprintf(v->state_why, sizeof v->state_why, "%s", why ? why : "");
    v->state_pc = pc;
    /* the runnable set grew: the running vCPU's slice ends at its next block, so the next
     * scheduling decision sees the newcomer */
    struct hv_vcpu *cur = v->vm->current;
    if (s == VS_RUNNABLE && cur && cur != v)
        cur->slice_end = 0;
    vm_emit(v->vm, (int32_t)v->id, v->in_exit ? v->exit_icount : v->icount, pc,
            HV_EV_vcpu_state, &ev);
}

/* ---- creation ---- */

int hv_vm_create(struct hv_vm **out, const struct hv_vm_config *cfg)
{
    *out = NULL;
    if (!cfg->model || cfg->nr_vcpus < 1 || cfg->nr_vcpus > HV_MAX_VCPUS || !cfg->quantum ||
        !cfg->limit)
        return hv_error_set(HV_EINVAL, "bad VM configuration");
    struct hv_vm *vm = calloc(1, sizeof *vm);
    if (!vm)
        return HV_ENOMEM;
    int err = 0;
    vm->cfg = *cfg;
    vm->arch = cfg->arch;
    vm->model = cfg->model;
    vm->nr = cfg->nr_vcpus;
    vm->prng = cfg->seed;
    vm->evbuf_size = 4096;
    vm->evbuf = malloc(vm->evbuf_size);
    vm->vcpus = calloc(vm->nr, sizeof *vm->vcpus);
    if (!vm->evbuf || !vm->vcpus) {
        err = HV_ENOMEM;
        goto fail;
    }
    err = sim_cs_open(vm->arch, 0, &vm->cs);
    if (!err && vm->arch == HV_ARCH_ARM)
        err = sim_cs_open(vm->arch, 1, &vm->cs_thumb);
    if (!err && vm->arch == HV_ARCH_X86_64)
        err = sim_cs_open(vm->arch, 32, &vm->cs32);
    if (!err && vm->arch == HV_ARCH_X86_64)
        err = sim_cs_open(vm->arch, 16, &vm->cs16);
    if (err)
        goto fail;
    for (unsigned i = 0; i < vm->nr; i++) {
        struct hv_vcpu *v = &vm->vcpus[i];
        v->vm = vm;
        v->id = i;
        v->remap_pending = true;
        v->remap_why = "start";
        err = vcpu_open(v);
        if (err)
            goto fail;
    }
    err = vm->model->vm_init(vm, cfg->memory, cfg->vmm);
    if (err)
        goto fail;
    *out = vm;
    return 0;
fail:
    hv_vm_destroy(vm);
    return err;
}

void hv_vm_destroy(struct hv_vm *vm)
{
    if (!vm)
        return;
    if (vm->model && vm->model->vm_fini && vm->vcpus)
        vm->model->vm_fini(vm);
    for (unsigned i = 0; vm->vcpus && i < vm->nr; i++)
        vcpu_close(&vm->vcpus[i]);
    for (size_t i = 0; i < vm->nregions; i++)
        if (vm->regions[i].owned)
            hv_host_mem_free(vm->regions[i].host, vm->regions[i].size);
    free(vm->regions);
    free(vm->vcpus);
    if (vm->cs)
        cs_close(&vm->cs);
    if (vm->cs_thumb)
        cs_close(&vm->cs_thumb);
    if (vm->cs32)
        cs_close(&vm->cs32);
    if (vm->cs16)
        cs_close(&vm->cs16);
    free(vm->evbuf);
    free(vm->afters);
    free(vm->prov);
    free(vm->output);
    free(vm->assert_file);
    free(vm->assert_expr);
    free(vm->assert_text);
    free(vm);
}

/* ---- guest physical memory ---- */

size_t vm_region_above(const struct hv_vm *vm, uint64_t gpa)
{
    size_t lo = 0, hi = vm->nregions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct hv_region *r = &vm->regions[mid];
        if (r->gpa + r->size <= gpa) /* no region's end wraps (region_check) */
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct hv_region *vm_region_find(struct hv_vm *vm, uint64_t gpa)
{
    size_t i = vm_region_above(vm, gpa);
    if (i < vm->nregions && gpa >= vm->regions[i].gpa)
        return &vm->regions[i];
    return NULL;
}

static void layout_changed(struct hv_vm *vm)
{
    for (unsigned i = 0; i < vm->nr; i++) {
        vm->vcpus[i].remap_pending = true;
        vm->vcpus[i].remap_why = "memory";
    }
}

static int region_check(struct hv_vm *vm, uint64_t gpa, uint64_t size)
{
    if (!size || (gpa | size) & 0xfff || gpa + size < gpa)
        return hv_error_set(HV_EINVAL, "RAM region must be page aligned, non-empty and must "
                                       "not wrap");
    /* the first region ending above gpa is the only one that can overlap (invariant 2) */
    size_t i = vm_region_above(vm, gpa);
    if (i < vm->nregions && vm->regions[i].gpa < gpa + size)
        return hv_error_set(HV_EINVAL, "RAM region overlaps another");
    return 0;
}

static int region_insert(struct hv_vm *vm, const struct hv_region *reg)
{
    if (vm->nregions == vm->regions_cap) {
        size_t nc = vm->regions_cap ? vm->regions_cap * 2 : 16;
        struct hv_region *nr = realloc(vm->regions, nc * sizeof *nr);
        if (!nr)
            return HV_ENOMEM;
        vm->regions = nr;
        vm->regions_cap = nc;
    }
    size_t at = vm_region_above(vm, reg->gpa);
    memmove(&vm->regions[at + 1], &vm->regions[at], (vm->nregions - at) * sizeof *reg);
    vm->regions[at] = *reg;
    vm->nregions++;
    layout_changed(vm);
    return 0;
}

/*
 * Anonymous private memory, reserved but not committed (MAP_NORESERVE): the kernel gives a
 * page, zero-filled, when it is first touched, so memory a guest never touches costs nothing.
 */
int hv_host_mem_alloc(uint64_t size, void **out)
{
    *out = NULL;
    if (size == 0 || size > SIZE_MAX)
        return HV_ENOMEM;
    void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return HV_ENOMEM;
    *out = p;
    return 0;
}

void hv_host_mem_free(void *host, uint64_t size)
{
    if (host)
        munmap(host, (size_t)size);
}

int hv_vm_add_ram(struct hv_vm *vm, uint64_t gpa, uint64_t size)
{
    int err = region_check(vm, gpa, size);
    if (err)
        return err;
    if (size > (1ULL << 34))
        return hv_error_set(HV_ELIMIT, "RAM region larger than 16 GiB");
    void *host;
    if (hv_host_mem_alloc(size, &host))
        return hv_error_set(HV_ENOMEM, "RAM of %" PRIu64 " bytes at 0x%" PRIx64, size, gpa);
    struct hv_region reg = { gpa, size, host, true, false };
    if ((err = region_insert(vm, &reg)))
        hv_host_mem_free(host, size);
    return err;
}

int hv_vm_map_ram(struct hv_vm *vm, uint64_t gpa, uint64_t size, void *host, bool readonly)
{
    if (!host || ((uintptr_t)host & 0xfff))
        return hv_error_set(HV_EINVAL, "RAM buffer must be page aligned");
    int err = region_check(vm, gpa, size);
    if (err)
        return err;
    struct hv_region reg = { gpa, size, host, false, readonly };
    return region_insert(vm, &reg);
}

int hv_vm_unmap_ram(struct hv_vm *vm, uint64_t gpa)
{
    size_t i = vm_region_above(vm, gpa);
    if (i == vm->nregions || vm->regions[i].gpa != gpa)
        return hv_error_set(HV_EINVAL, "no RAM region starts at 0x%llx",
                            (unsigned long long)gpa);
    if (vm->regions[i].owned)
        hv_host_mem_free(vm->regions[i].host, vm->regions[i].size);
    memmove(&vm->regions[i], &vm->regions[i + 1], (vm->nregions - i - 1) * sizeof vm->regions[0]);
    vm->nregions--;
    layout_changed(vm);
    return 0;
}

void *hv_vm_gpa_ptr(struct hv_vm *vm, uint64_t gpa, uint64_t len)
{
    struct hv_region *r = vm_region_find(vm, gpa);
    if (!r || len > r->size - (gpa - r->gpa))
        return NULL;
    return r->host + (gpa - r->gpa);
}

static int copy_gpa(struct hv_vm *vm, uint64_t gpa, void *buf, size_t len, bool write)
{
    /* check the whole range first: a copy that runs into a hole changes nothing */
    for (uint64_t g = gpa, left = len; left;) {
        struct hv_region *r = vm_region_find(vm, g);
        if (!r)
            return HV_EINVAL;
        uint64_t n = r->size - (g - r->gpa);
        if (n >= left)
            break;
        g += n;
        left -= n;
    }
    uint8_t *b = buf;
    while (len) {
        struct hv_region *r = vm_region_find(vm, gpa);
        if (!r)
            return HV_EINVAL;
        uint64_t n = r->size - (gpa - r->gpa);
        if (n > len)
            n = len;
        if (write)
            memcpy(r->host + (gpa - r->gpa), b, n);
        else
            memcpy(b, r->host + (gpa - r->gpa), n);
        gpa += n;
        b += n;
        len -= n;
    }
    return 0;
}

int hv_vm_read_gpa(struct hv_vm *vm, uint64_t gpa, void *buf, size_t len)
{
    return copy_gpa(vm, gpa, buf, len, false);
}

int hv_vm_write_gpa(struct hv_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
    return copy_gpa(vm, gpa, (void *)buf, len, true);
}

void hv_vm_code_written(struct hv_vm *vm, uint64_t gpa, uint64_t len)
{
    /* every virtual range, in every engine, that maps a written guest-physical byte */
    for (unsigned i = 0; i < vm->nr; i++) {
        struct hv_vcpu *v = &vm->vcpus[i];
        for (size_t r = 0; r < v->nruns; r++) {
            const struct hv_run *run = &v->runs[r];
            uint64_t lo = gpa > run->gpa ? gpa : run->gpa;
            uint64_t hi = gpa + len < run->gpa + run->size ? gpa + len : run->gpa + run->size;
            if (lo < hi)
                vcpu_drop_code(v, run->va + (lo - run->gpa), hi - lo);
        }
    }
}

int hv_vm_load_elf(struct hv_vm *vm, const void *image, size_t len)
{
    uint64_t entry;
    int err = loader_load(vm, image, len, &entry);
    if (err)
        return err;
    for (unsigned i = 0; i < vm->nr; i++)
        vm->vcpus[i].entry = entry;
    return 0;
}

/* ---- accessors ---- */

struct hv_vcpu *hv_vm_vcpu(struct hv_vm *vm, unsigned i)
{
    return i < vm->nr ? &vm->vcpus[i] : NULL;
}
unsigned hv_vm_nr_vcpus(const struct hv_vm *vm) { return vm->nr; }
enum hv_outcome hv_vm_outcome(const struct hv_vm *vm) { return vm->outcome; }
enum hv_arch hv_vm_arch(const struct hv_vm *vm) { return vm->arch; }
const struct hv_model_ops *hv_vm_model(const struct hv_vm *vm) { return vm->model; }
uint64_t hv_vm_seed(const struct hv_vm *vm) { return vm->cfg.seed; }
struct hv_schedule *hv_vm_schedule(const struct hv_vm *vm) { return vm->cfg.schedule; }
void hv_vm_set_model_data(struct hv_vm *vm, void *data) { vm->model_data = data; }
void *hv_vm_model_data(const struct hv_vm *vm) { return vm->model_data; }
uint64_t hv_vm_next_seq(const struct hv_vm *vm)
{
    return vm->seq_owner ? vm->seq_owner->seq : vm->seq;
}
const char *hv_vm_output(const struct hv_vm *vm) { return vm->output ? vm->output : ""; }
void hv_vm_pause_on_sync(struct hv_vm *vm, bool on) { vm->pause_on_sync = on; }
struct hv_vcpu *hv_vm_paused_vcpu(const struct hv_vm *vm) { return vm->paused_vcpu; }
uint64_t hv_vm_paused_sync(const struct hv_vm *vm) { return vm->paused_sync; }
unsigned hv_vcpu_id(const struct hv_vcpu *v) { return v->id; }
uint64_t hv_vcpu_icount(const struct hv_vcpu *v) { return v->icount; }
struct hv_vm *hv_vcpu_vm(const struct hv_vcpu *v) { return v->vm; }

uint64_t hv_vm_icount(const struct hv_vm *vm)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < vm->nr; i++)
        n += vm->vcpus[i].icount;
    return n;
}

uint64_t hv_vm_now(const struct hv_vm *vm)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < vm->nr; i++) {
        const struct hv_vcpu *v = &vm->vcpus[i];
        n += v->in_exit ? v->exit_icount : v->icount;
    }
    return n;
}

int hv_vm_pause_at_icount(struct hv_vm *vm, unsigned vcpu, uint64_t icount)
{
    if (vcpu >= vm->nr)
        return HV_EINVAL;
    vm->vcpus[vcpu].pause_icount = icount ? icount : 1;
    return 0;
}

void hv_vm_assert_info(const struct hv_vm *vm, const char **file, uint64_t *line,
                       const char **expr, const char **text)
{
    *file = vm->assert_file ? vm->assert_file : "";
    *line = vm->assert_line;
    *expr = vm->assert_expr ? vm->assert_expr : "";
    *text = vm->assert_text ? vm->assert_text : "";
}

const char *hv_config_lookup(const struct hv_model_ops *m, const struct hv_kv *config,
                             size_t n, const char *key, const struct hv_node **where)
{
    if (where)
        *where = NULL;
    for (size_t i = n; i-- > 0;) {
        if (strcmp(config[i].key, key) == 0) {
            if (where)
                *where = config[i].node;
            return config[i].value;
        }
    }
    for (const struct hv_knob *k = m->knobs; k && k->key; k++)
        if (strcmp(k->key, key) == 0)
            return k->def;
    return NULL;
}

const char *hv_vm_config_get(const struct hv_vm *vm, const char *key)
{
    return hv_config_lookup(vm->model, vm->cfg.config, vm->cfg.nconfig, key, NULL);
}

const struct hv_kv *hv_vm_config_list(const struct hv_vm *vm, size_t *n)
{
    *n = vm->cfg.nconfig;
    return vm->cfg.config;
}

void hv_vm_check_ctx(const struct hv_vm *vm, struct hv_check_ctx *c)
{
    *c = (struct hv_check_ctx){ .model = vm->model, .arch = vm->arch, .nr_vcpus = vm->nr,
                                .config = vm->cfg.config, .nconfig = vm->cfg.nconfig };
}

uint64_t hv_vcpu_gpr(struct hv_vcpu *v, unsigned idx)
{
    int id = arch_gpr_id(v->vm->arch, idx);
    uint64_t val = 0;
    if (id >= 0)
        uc_reg_read(v->uc, id, &val);
    return val;
}

void hv_vcpu_set_gpr(struct hv_vcpu *v, unsigned idx, uint64_t val)
{
    int id = arch_gpr_id(v->vm->arch, idx);
    if (id >= 0)
        uc_reg_write(v->uc, id, &val);
}

uint64_t hv_vcpu_pc(struct hv_vcpu *v)
{
    return v->in_exit ? v->exit_pc : vcpu_read_pc(v);
}

int hv_vcpu_reg_by_name(struct hv_vcpu *v, const char *name, uint64_t *out)
{
    uc_arm64_cp_reg cp;
    uc_arm_cp_reg cp32;
    if (arch_sysreg(v->vm->arch, name, &cp) == 0) {
        uc_reg_read(v->uc, UC_ARM64_REG_CP_REG, &cp);
        *out = cp.val;
        return 0;
    }
    if (arch_cp15(v->vm->arch, name, &cp32) == 0) {
        uc_reg_read(v->uc, UC_ARM_REG_CP_REG, &cp32);
        *out = cp32.val;
        return 0;
    }
    int id = arch_reg_id(v->vm->arch, name);
    if (id < 0)
        return HV_EINVAL;
    *out = 0;
    if (strcmp(name, "pc") == 0 || strcmp(name, "rip") == 0) {
        *out = v->resume_valid ? v->resume_pc : vcpu_read_pc(v);
        /* x86: pc is linear, rip the register, its offset in CS */
        struct hv_x86_mode m;
        if (name[0] == 'r' && hv_vcpu_x86_mode(v, &m) == 0)
            *out -= m.cs_base;
        return 0;
    }
    uc_reg_read(v->uc, id, out);
    return 0;
}

int hv_vcpu_set_reg_by_name(struct hv_vcpu *v, const char *name, uint64_t val)
{
    uc_arm64_cp_reg cp;
    uc_arm_cp_reg cp32;
    if (arch_sysreg(v->vm->arch, name, &cp) == 0) {
        cp.val = val;
        uc_reg_write(v->uc, UC_ARM64_REG_CP_REG, &cp);
        return 0;
    }
    if (arch_cp15(v->vm->arch, name, &cp32) == 0) {
        cp32.val = (uint32_t)val;
        uc_reg_write(v->uc, UC_ARM_REG_CP_REG, &cp32);
        return 0;
    }
    int id = arch_reg_id(v->vm->arch, name);
    if (id < 0)
        return HV_EINVAL;
    if (strcmp(name, "pc") == 0 || strcmp(name, "rip") == 0) {
        /* x86: pc is linear, rip the register, its offset in CS */
        struct hv_x86_mode m;
        if (name[0] == 'r' && hv_vcpu_x86_mode(v, &m) == 0)
            val += m.cs_base;
        vcpu_write_pc(v, val);
        v->resume_pc = val;
        v->resume_valid = true;
        return 0;
    }
    uc_reg_write(v->uc, id, &val);
    if (v->vm->arch == HV_ARCH_X86_64 && (strcmp(name, "cr0") == 0 || strcmp(name, "cr3") == 0 ||
                                          strcmp(name, "cr4") == 0)) {
        v->remap_pending = true; /* the engine map follows the page tables */
        v->remap_why = "register write";
    }
    return 0;
}

int hv_vcpu_gva_to_gpa(struct hv_vcpu *v, uint64_t gva, uint64_t *gpa, bool *writable)
{
    return mem_walk(v, gva, gpa, writable);
}

int hv_vcpu_read_gva(struct hv_vcpu *v, uint64_t gva, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        uint64_t gpa;
        size_t chunk = 0x1000 - (gva & 0xfff);
        if (chunk > len)
            chunk = len;
        if (mem_walk(v, gva, &gpa, NULL) || hv_vm_read_gpa(v->vm, gpa, p, chunk))
            return HV_EINVAL;
        gva += chunk;
        p += chunk;
        len -= chunk;
    }
    return 0;
}

int hv_vcpu_start(struct hv_vcpu *v, uint64_t entry, uint64_t arg0)
{
    v->entry = entry;
    v->arg0 = arg0;
    if (v->reset_ctx) {
        /* back to the power-on state; a context restore leaves the engine's TLB as it was, so
         * it is flushed by "executing" TLBI VMALLE1 (a system register write whose write
         * function flushes; SCTLR_EL1 and the TTBRs are written raw and would not) */
        uc_arm64_cp_reg tlbi = { .op0 = 1, .op1 = 0, .crn = 8, .crm = 7, .op2 = 0, .val = 0 };
        if (uc_context_restore(v->uc, v->reset_ctx) != UC_ERR_OK ||
            (v->vm->arch == HV_ARCH_AARCH64 &&
             uc_reg_write(v->uc, UC_ARM64_REG_CP_REG, &tlbi) != UC_ERR_OK))
            return hv_error_set(HV_EUNICORN, "resetting vCPU %u", v->id);
    }
    int err = vcpu_reset(v);
    if (err)
        return err;
    /* the reset state: general registers zero, then the argument */
    unsigned ngpr = v->vm->arch == HV_ARCH_X86_64 ? 16 : v->vm->arch == HV_ARCH_AARCH64 ? 31 : 15;
    for (unsigned i = 0; i < ngpr; i++)
        hv_vcpu_set_gpr(v, i, 0);
    hv_vcpu_set_gpr(v, v->vm->arch == HV_ARCH_X86_64 ? 7 : 0, arg0);
    vcpu_set_state(v, VS_RUNNABLE, "started");
    return 0;
}

bool hv_vcpu_stopped(const struct hv_vcpu *v)
{
    return v->state == VS_STOPPED;
}

void hv_vcpu_stop(struct hv_vcpu *v, const char *why)
{
    if (v->state != VS_DONE && v->state != VS_FAILED)
        vcpu_set_state(v, VS_STOPPED, why);
}

void hv_vcpu_fail(struct hv_vcpu *v, const char *why)
{
    vcpu_set_state(v, VS_FAILED, why);
    vm_end(v->vm, HV_OUT_FAILED);
    /* the run is over: the engine stops at its next block, if it is running */
    v->stop_next_block = true;
    v->stop_next = STOP_END;
}

const char *hv_vcpu_state(const struct hv_vcpu *v, const char **why, uint64_t *pc)
{
    if (why)
        *why = v->state_why;
    if (pc)
        *pc = v->state_pc;
    return state_names[v->state];
}

/* ---- the ucall channel ---- */

/* Reads a NUL-terminated guest string of at most max-1 bytes; "" if unreadable. */
static char *read_gstr(struct hv_vcpu *v, uint64_t gva, size_t max)
{
    char *s = calloc(1, max);
    if (!s || !gva)
        return s;
    for (size_t i = 0; i + 1 < max; i++) {
        if (hv_vcpu_read_gva(v, gva + i, &s[i], 1) || !s[i]) {
            s[i] = 0;
            break;
        }
    }
    return s;
}

static void output_append(struct hv_vm *vm, const char *s)
{
    size_t n = strlen(s);
    if (vm->output_len + n + 1 > vm->output_cap) {
        size_t nc = (vm->output_len + n + 1) * 2;
        char *no = realloc(vm->output, nc);
        if (!no)
            return;
        vm->output = no;
        vm->output_cap = nc;
    }
    memcpy(vm->output + vm->output_len, s, n + 1);
    vm->output_len += n;
}

/* Called from the vCPU's port or MMIO hook with exit_pc / exit_icount set. */
void vm_ucall(struct hv_vcpu *v, uint64_t gva);
void vm_ucall(struct hv_vcpu *v, uint64_t gva)
{
    struct hv_vm *vm = v->vm;
    struct hv_ucall uc;
    memset(&uc, 0, sizeof uc);
    if (hv_vcpu_read_gva(v, gva, &uc, sizeof uc)) {
        struct hv_ev_ucall_assert ev = { .file = "", .line = 0, .expr = "",
                                         .text = "ucall struct is not readable" };
        hv_vcpu_emit(v, HV_EV_ucall_assert, &ev);
        vm_end(vm, HV_OUT_ASSERT);
        v->stop_next_block = true;
        v->stop_next = STOP_END;
        return;
    }
    uc.text[sizeof uc.text - 1] = 0;
    switch (uc.cmd) {
    case HV_UCALL_SYNC: {
        struct hv_ev_ucall_sync ev = { .n = uc.arg0 };
        hv_vcpu_emit(v, HV_EV_ucall_sync, &ev);
        if (vm->pause_on_sync && !vm->paused_vcpu) {
            vm->paused_vcpu = v;
            vm->paused_sync = uc.arg0;
            if (!v->stop_next_block || v->stop_next < STOP_PAUSE) {
                v->stop_next_block = true;
                v->stop_next = STOP_PAUSE;
            }
        }
        break;
    }
    case HV_UCALL_PRINTF: {
        struct hv_ev_ucall_printf ev = { .text = uc.text };
        hv_vcpu_emit(v, HV_EV_ucall_printf, &ev);
        output_append(vm, uc.text);
        break;
    }
    case HV_UCALL_ASSERT: {
        free(vm->assert_file);
        free(vm->assert_expr);
        free(vm->assert_text);
        vm->assert_file = read_gstr(v, uc.file, 256);
        vm->assert_expr = read_gstr(v, uc.expr, 256);
        vm->assert_text = strdup(uc.text);
        vm->assert_line = uc.arg0;
        struct hv_ev_ucall_assert ev = { .file = vm->assert_file, .line = uc.arg0,
                                         .expr = vm->assert_expr, .text = vm->assert_text };
        hv_vcpu_emit(v, HV_EV_ucall_assert, &ev);
        vcpu_set_state(v, VS_FAILED, "assert");
        vm_end(vm, HV_OUT_ASSERT);
        v->stop_next_block = true;
        v->stop_next = STOP_END;
        break;
    }
    case HV_UCALL_DONE:
        hv_vcpu_emit(v, HV_EV_ucall_done, NULL);
        vcpu_set_state(v, VS_DONE, "GUEST_DONE");
        if (!v->stop_next_block || v->stop_next < STOP_VCPU) {
            v->stop_next_block = true;
            v->stop_next = STOP_VCPU;
        }
        break;
    default: {
        char msg[64];
        snprintf(msg, sizeof msg, "unknown ucall command %llu", (unsigned long long)uc.cmd);
        struct hv_ev_ucall_assert ev = { .file = "", .line = 0, .expr = "", .text = msg };
        hv_vcpu_emit(v, HV_EV_ucall_assert, &ev);
        vm_end(vm, HV_OUT_ASSERT);
        v->stop_next_block = true;
        v->stop_next = STOP_END;
    }
    }
}

/* ---- deferred callbacks ---- */

int hv_vm_after(struct hv_vm *vm, uint64_t after, const char *what, hv_after_fn fn, void *ctx,
                uint64_t *id)
{
    uint64_t now = hv_vm_icount(vm);
    struct hv_after a = { .id = vm->after_ids + 1, .fn = fn, .ctx = ctx,
                          .due = after > UINT64_MAX - now ? UINT64_MAX : now + after };
    snprintf(a.what, sizeof a.what, "%s", what ? what : "");
    struct hv_after *na = realloc(vm->afters, (vm->nafters + 1) * sizeof *na);
    if (!na)
        return HV_ENOMEM;
    vm->afters = na;
    vm->after_ids++;
    size_t at = vm->nafters;
    while (at > 0 && vm->afters[at - 1].due > a.due) /* equal due: registration order */
        at--;
    memmove(&vm->afters[at + 1], &vm->afters[at], (vm->nafters - at) * sizeof *na);
    vm->afters[at] = a;
    vm->nafters++;
    if (id)
        *id = a.id;
    /* registered inside a slice: that slice, too, ends at the due count */
    struct hv_vcpu *cur = vm->current;
    if (cur && a.due - now < cur->slice_end - cur->icount)
        cur->slice_end = cur->icount + (a.due - now);
    return 0;
}

/* Removes pending callback i and runs it, recording an `after` event. */
static int after_run(struct hv_vm *vm, size_t i)
{
    struct hv_after a = vm->afters[i];
    memmove(&vm->afters[i], &vm->afters[i + 1], (vm->nafters - i - 1) * sizeof a);
    vm->nafters--;
    char result[1024] = "null";
    int err = a.fn(vm, a.ctx, result, sizeof result);
    if (err)
        return err;
    struct hv_ev_after ev = { .what = a.what, .due = a.due, .at = hv_vm_icount(vm),
                              .result = result };
    return hv_vm_emit(vm, -1, HV_EV_after, &ev);
}

int hv_vm_after_now(struct hv_vm *vm, uint64_t id)
{
    for (size_t i = 0; i < vm->nafters; i++)
        if (vm->afters[i].id == id)
            return after_run(vm, i);
    return HV_ENOENT;
}

/* Runs every callback due at the VM's current instruction count, in order. */
static int after_due(struct hv_vm *vm)
{
    int err = 0;
    while (!err && vm->nafters && vm->afters[0].due <= hv_vm_icount(vm))
        err = after_run(vm, 0);
    return err;
}

/* ---- the scheduler ---- */

/* The VM inside hv_vm_run(), and whether hv_interrupt() was called: read by a signal handler. */
static struct hv_vm *volatile vm_running;
static volatile sig_atomic_t vm_interrupted;

void hv_interrupt(void)
{
    vm_interrupted = 1;
    struct hv_vm *vm = vm_running;
    if (!vm)
        return;
    /* The handler runs between two instructions of the only thread: the worst it can meet is
     * an outcome being set at the same moment, and the run ends either way. A stop that lands
     * just before uc_emu_start() is cleared by it; the slice then ends at its budget and the
     * scheduler's check below stops the run. */
    if (!vm->err)
        vm->err = HV_EINTR;
    vm_end(vm, HV_OUT_ERROR);
    struct hv_vcpu *c = vm->current;
    if (c && c->uc)
        uc_emu_stop(c->uc);
}

int vm_power_on(struct hv_vcpu *v)
{
    int err = vcpu_reset(v);
    if (err)
        return err;
    /* Arm: keep the power-on state (system registers included) for PSCI CPU_ON */
    if (v->vm->arch != HV_ARCH_X86_64 &&
        (uc_context_alloc(v->uc, &v->reset_ctx) != UC_ERR_OK ||
         uc_context_save(v->uc, v->reset_ctx) != UC_ERR_OK))
        return hv_error_set(HV_EUNICORN, "saving vCPU %u's reset state", v->id);
    return 0;
}

static int vm_start(struct hv_vm *vm)
{
    const struct hv_model_ops *m = vm->model;
    for (unsigned i = 0; i < vm->nr; i++) {
        struct hv_vcpu *v = &vm->vcpus[i];
        int err = vm_power_on(v);
        if (err)
            return err;
        if (m->vcpu_starts && !m->vcpu_starts(v)) {
            v->state = VS_STOPPED;
            snprintf(v->state_why, sizeof v->state_why, "not started");
        }
    }
    vm->started = true;
    return 0;
}

int hv_vm_run(struct hv_vm *vm, bool *paused)
{
    *paused = false;
    int err = 0;
    if (!vm->started && (err = vm_start(vm)))
        return err;
    vm->paused = false;
    vm->paused_vcpu = NULL;
    struct hv_vm *outer = vm_running;
    vm_running = vm;
    while (vm->outcome == HV_OUT_RUNNING) {
        if (vm_interrupted) {
            vm->err = err = HV_EINTR;
            vm_end(vm, HV_OUT_ERROR);
            break;
        }
        if ((err = after_due(vm))) {
            vm->err = err;
            vm_end(vm, HV_OUT_ERROR);
            break;
        }
        if (vm->outcome != HV_OUT_RUNNING)
            break;
        uint64_t total = hv_vm_icount(vm);
        if (total >= vm->cfg.limit) {
            vm_end(vm, HV_OUT_LIMIT);
            break;
        }
        if ((vm->pause_total && total >= vm->pause_total) ||
            (vm->pause_seq && hv_vm_next_seq(vm) >= vm->pause_seq) ||
            (vm->pause_legs && vm->legs >= vm->pause_legs)) {
            if (vm->pause_total && total >= vm->pause_total)
                vm->pause_total = 0;
            if (vm->pause_seq && hv_vm_next_seq(vm) >= vm->pause_seq)
                vm->pause_seq = 0;
            if (vm->pause_legs && vm->legs >= vm->pause_legs)
                vm->pause_legs = 0;
            vm->paused_vcpu = NULL;
            *paused = true;
            goto out;
        }
        unsigned runnable[HV_MAX_VCPUS], n = 0, done = 0;
        for (unsigned i = 0; i < vm->nr; i++) {
            if (vm->vcpus[i].state == VS_RUNNABLE)
                runnable[n++] = i;
            else if (vm->vcpus[i].state == VS_DONE || vm->vcpus[i].state == VS_STOPPED)
                done++;
        }
        if (!n) {
            vm_end(vm, done == vm->nr ? HV_OUT_DONE : HV_OUT_DEADLOCK);
            break;
        }
        /* One runnable vCPU: nothing to interleave, so no draw; it runs until the budget, a
         * pause point, or another vCPU becoming runnable (vcpu_set_state ends the slice). */
        unsigned pick = runnable[0];
        uint64_t budget = UINT64_MAX;
        if (n > 1)
            sched_slice(vm, runnable, n, &pick, &budget);
        struct hv_vcpu *v = &vm->vcpus[pick];
        if (budget > vm->cfg.limit - total)
            budget = vm->cfg.limit - total;
        if (vm->nafters && budget > vm->afters[0].due - total)
            budget = vm->afters[0].due - total; /* due > total: after_due ran the rest */
        if (vm->pause_total && budget > vm->pause_total - total)
            budget = vm->pause_total - total;
        struct hv_ev_sched ev = { .budget = budget, .runnable = n };
        uint64_t pc = v->resume_valid ? v->resume_pc : vcpu_read_pc(v);
        err = vm_emit(vm, (int32_t)v->id, v->icount, pc, HV_EV_sched, &ev);
        if (err)
            break;
        /* a context switch when the running vCPU changes (model.h sched_switch) */
        if (vm->model->sched_switch && (vm->last_run != v || vm->last_why != HV_DESCHED_PREEMPTED))
            vm->model->sched_switch(vm, vm->last_run, vm->last_why, v);
        if (vm->err) {
            err = vm->err;
            break;
        }
        if (vm->model->vcpu_enter) {
            /* what the hypervisor checks before entering the guest (model.h vcpu_enter) */
            v->exit_pc = pc;
            v->exit_icount = v->icount;
            v->in_exit = true;
            vm->model->vcpu_enter(v);
            v->in_exit = false;
            if (vm->err) {
                err = vm->err;
                break;
            }
        }
        vm->current = v;
        err = vcpu_run_slice(v, budget);
        vm->current = NULL;
        vm->last_run = v;
        vm->last_why = v->state == VS_RUNNABLE ? HV_DESCHED_PREEMPTED
                       : v->state == VS_HALTED ? HV_DESCHED_BLOCKED : HV_DESCHED_OFF;
        if (err) {
            vm->err = err;
            vm_end(vm, HV_OUT_ERROR);
            break;
        }
        if (vm->err) {
            err = vm->err;
            break;
        }
        if (vm->paused) {
            *paused = true;
            goto out;
        }
    }
out:
    vm_running = outer;
    if (!err && vm->err)
        err = vm->err;
    return err;
}
