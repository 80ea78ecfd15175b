/*
 * areas.c - runstate and time areas (C.5; areas.h has the rules): the pure parts, then the
 * model glue: VCPUOPs 4, 5, 13, 14 and 15, vm_assist, and the updates Xen's context_switch()
 * makes, driven by hvsim's sched_switch op.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "models/xen/areas.h"
#include "models/xen/xen_int.h"
#include "sim/le.h"
#include "sim/migrate.h"

/* ---- pure ---- */

void xenm_runstate_change(struct xenm_runstate *r, int32_t state, uint64_t now)
{
    if (r->state == state)
        return;
    if (now > r->entry) {
        r->time[r->state & 3] += now - r->entry;
        r->entry = now;
    }
    r->state = state;
}

void xenm_runstate_get(const struct xenm_runstate *r, uint64_t now, struct xenm_runstate *out)
{
    *out = *r;
    if (now > r->entry)
        out->time[r->state & 3] += now - r->entry;
}

void xenm_runstate_bytes(const struct xenm_runstate *r, uint8_t out[XENM_RUNSTATE_SIZE])
{
    memset(out, 0, XENM_RUNSTATE_SIZE);        /* the padding after state is zero */
    hv_put32(out, (uint32_t)r->state);
    hv_put64(out + 8, r->entry);
    for (unsigned i = 0; i < 4; i++)
        hv_put64(out + 16 + 8 * i, r->time[i]);
}

void xenm_time_bytes(const struct xenm_time *t, uint8_t out[XENM_TIME_SIZE])
{
    memset(out, 0, XENM_TIME_SIZE);
    hv_put32(out, t->version);
    hv_put64(out + 8, t->tsc_timestamp);
    hv_put64(out + 16, t->system_time);
    hv_put32(out + 24, t->mul);
    out[28] = (uint8_t)t->shift;
    out[29] = t->flags;
}

static void plan_add(struct xenm_area_plan *p, uint32_t off, const uint8_t *bytes, uint32_t len)
{
    struct xenm_area_write *w = &p->w[p->n++];
    w->off = off;
    w->len = len;
    memcpy(w->bytes, bytes, len);
}

void xenm_runstate_plan(const struct xenm_runstate *r, bool phys, bool update_flag,
                        struct xenm_area_plan *p)
{
    uint8_t flagged[XENM_RUNSTATE_SIZE], clear[XENM_RUNSTATE_SIZE];
    struct xenm_runstate f = *r;
    f.entry |= XENM_RUNSTATE_UPDATE;
    xenm_runstate_bytes(&f, flagged);
    xenm_runstate_bytes(r, clear);
    p->n = 0;
    if (phys) {                    /* write_atomic of the 8-byte field, always */
        plan_add(p, 8, flagged + 8, 8);
        plan_add(p, 0, flagged, XENM_RUNSTATE_SIZE);
        plan_add(p, 8, clear + 8, 8);
    } else if (update_flag) {      /* __raw_copy_to_guest of the field's last byte */
        plan_add(p, 15, flagged + 15, 1);
        plan_add(p, 0, flagged, XENM_RUNSTATE_SIZE);
        plan_add(p, 15, clear + 15, 1);
    } else {
        plan_add(p, 0, clear, XENM_RUNSTATE_SIZE);
    }
}

void xenm_time_plan(const struct xenm_time *odd, struct xenm_area_plan *p)
{
    uint8_t b[XENM_TIME_SIZE], v[4];
    xenm_time_bytes(odd, b);
    p->n = 0;
    plan_add(p, 0, b, 4);
    plan_add(p, 0, b, XENM_TIME_SIZE);
    hv_put32(v, xenm_version_end(odd->version));
    plan_add(p, 0, v, 4);
}

void xenm_time_collect(uint64_t now, uint64_t period, struct xenm_time *t)
{
    uint64_t stamp = period ? now - now % period : now;
    *t = (struct xenm_time){ .tsc_timestamp = stamp, .system_time = stamp,
                             .mul = 0x80000000u, .shift = 1, .flags = 1 };
}

int xenm_area_map_check(uint64_t gaddr, unsigned size, bool (*ram)(void *ctx, uint64_t gfn),
                        void *ctx, const char **why)
{
    if (gaddr >> 12 != (gaddr + size - 1) >> 12) {
        *why = "map_guest_area: crosses a page boundary";
        return -XENM_ENXIO;
    }
    if (gaddr & 7) {
        *why = "map_guest_area: not 8-byte aligned";
        return -XENM_ENXIO;
    }
    if (!ram(ctx, gaddr >> 12)) {
        *why = "map_guest_area: no page at the gfn";
        return -XENM_EINVAL;
    }
    *why = "map_guest_area";
    return 0;
}

/* ---- glue: writing a plan into the guest ---- */

/* Where one area lives and who writes it, for area_apply and its event. */
struct area_dst {
    const char *area;         /* "runstate" or "time" */
    const char *why;          /* register, populate, deschedule, reschedule, update */
    struct hv_vcpu *subject;  /* whose area */
    struct hv_vcpu *emit;     /* the vCPU the event is recorded on */
    struct hv_vcpu *via;      /* linear: whose page tables and software TLB; NULL: physical */
    uint64_t addr;            /* the registered linear or physical address */
    bool stop_on_miss;        /* time, linear: give up if the first write missed entirely */
    int32_t state;            /* runstate written, or -1 */
    uint64_t value;           /* state_entry_time, or the final version */
};

static uint8_t *phys_bytes(struct hv_vm *vm, uint64_t gpa, uint32_t len)
{
    return hv_vm_gpa_ptr(vm, gpa, len);
}

static void area_apply(struct xenm_vm *x, const struct area_dst *d, const struct xenm_area_plan *p)
{
    struct hv_vm *vm = hv_vcpu_vm(d->subject);
    char writes[512];
    size_t wl = 0;
    bool ok = true;
    uint64_t gpa0 = 0;
    writes[wl++] = '[';
    writes[wl] = 0;
    for (unsigned i = 0; i < p->n; i++) {
        const struct xenm_area_write *w = &p->w[i];
        bool wok;
        uint64_t gpa = 0;
        if (d->via) {
            struct xenm_copy c;
            wok = xenm_guest_write(x, d->via, d->emit, d->addr + w->off, w->bytes, w->len,
                                   &c) == 0;
            gpa = c.done ? c.gpa : 0;
            if (!wok && d->stop_on_miss && i == 0 && c.done == 0) {
                ok = false;
                wl += (size_t)snprintf(writes + wl, sizeof writes - wl,
                                       "{\"off\":%u,\"len\":%u,\"ok\":false}", w->off, w->len);
                break;
            }
        } else {
            uint8_t *dst = phys_bytes(vm, d->addr + w->off, w->len);
            wok = dst != NULL;
            if (dst) {
                /* map_guest_area's global mapping: no paging_mark_dirty, and the page is not
                 * in hvm_mapped_guest_frames_mark_dirty's list either (docs: Migration) */
                memcpy(dst, w->bytes, w->len);
                gpa = d->addr + w->off;
                hv_vm_note_write(vm, d->emit, gpa, w->len, "model write");
            }
        }
        if (!gpa0 && gpa)
            gpa0 = gpa - w->off;
        ok = ok && wok;
        int n = snprintf(writes + wl, sizeof writes - wl, "%s{\"off\":%u,\"len\":%u,\"ok\":%s",
                         i ? "," : "", w->off, w->len, wok ? "true" : "false");
        if (n > 0 && (size_t)n < sizeof writes - wl)
            wl += (size_t)n;
        if (w->len <= 8 && wl + 30 < sizeof writes) {
            wl += (size_t)snprintf(writes + wl, sizeof writes - wl, ",\"hex\":\"");
            for (uint32_t b = 0; b < w->len; b++)
                wl += (size_t)snprintf(writes + wl, sizeof writes - wl, "%02x", w->bytes[b]);
            wl += (size_t)snprintf(writes + wl, sizeof writes - wl, "\"");
        }
        if (wl + 2 < sizeof writes)
            writes[wl++] = '}';
        writes[wl] = 0;
    }
    if (wl + 2 < sizeof writes)
        writes[wl++] = ']';
    writes[wl] = 0;
    struct hv_ev_xen_area ev = {
        .subject = hv_vcpu_id(d->subject), .area = d->area, .reg = d->via ? "linear" : "phys",
        .why = d->why, .addr = d->addr, .via = d->via ? (int64_t)hv_vcpu_id(d->via) : -1,
        .gpa = gpa0, .ok = ok, .state = d->state, .value = d->value, .writes = writes,
    };
    hv_vcpu_emit(d->emit, HV_EV_xen_area, &ev);
}

/* update_runstate_area(v) with current == v (the context-switch updates). */
static void runstate_update(struct xenm_vm *x, struct hv_vcpu *v, const char *why)
{
    struct xenm_areas *a = &x->vcpu[hv_vcpu_id(v)].a;
    struct area_dst d = { .area = "runstate", .why = why, .subject = v, .emit = v,
                          .state = a->rs.state, .value = a->rs.entry };
    struct xenm_area_plan p;
    if (a->rs_phys) {
        d.addr = a->rs_gpa;
        xenm_runstate_plan(&a->rs, true, true, &p);
    } else if (a->rs_va) {
        d.addr = a->rs_va;
        d.via = v;
        xenm_runstate_plan(&a->rs, false, x->vmasst_runstate_flag, &p);
    } else {
        return;
    }
    area_apply(x, &d, &p);
}

/* update_secondary_system_time(v, odd): the secondary copy after the primary's update. */
static void time_secondary(struct xenm_vm *x, struct hv_vcpu *cur, struct hv_vcpu *v,
                           struct hv_vcpu *emit, const struct xenm_time *odd, const char *why)
{
    struct xenm_areas *a = &x->vcpu[hv_vcpu_id(v)].a;
    struct area_dst d = { .area = "time", .why = why, .subject = v, .emit = emit, .state = -1,
                          .value = xenm_version_end(odd->version) };
    if (a->time_phys) {
        d.addr = a->time_gpa;
    } else if (a->time_va) {
        d.addr = a->time_va;
        d.via = cur == v || !x->cross_subject ? cur : v;
        d.stop_on_miss = true;
    } else {
        return;
    }
    struct xenm_area_plan p;
    xenm_time_plan(odd, &p);
    area_apply(x, &d, &p);
}

/* __update_vcpu_system_time(v, force), made while cur runs. */
static void time_update(struct xenm_vm *x, struct hv_vcpu *cur, struct hv_vcpu *v,
                        struct hv_vcpu *emit, bool force, const char *why)
{
    struct xenm_areas *a = &x->vcpu[hv_vcpu_id(v)].a;
    struct xenm_time u;
    uint8_t ub[XENM_TIME_SIZE], pb[XENM_TIME_SIZE];
    xenm_time_collect(hv_vm_now(hv_vcpu_vm(v)), x->time_period, &u);
    u.version = a->primary.version; /* make versions match for the comparison */
    /* Xen's memcmp of the 32 guest bytes (pads zeroed by collect_time_info); the padding of
     * struct xenm_time has no defined value, so compare the encoded records */
    xenm_time_bytes(&u, ub);
    xenm_time_bytes(&a->primary, pb);
    if (!force && memcmp(ub, pb, sizeof ub) == 0)
        return;
    u.version = xenm_version_begin(a->primary.version);
    a->primary = u;
    a->primary.version = xenm_version_end(u.version);
    time_secondary(x, cur, v, emit, &u, why);
}

/* ---- glue: the hypercalls ---- */

static bool gfn_ram(void *ctx, uint64_t gfn)
{
    return gfn < (1ULL << 52) && hv_vm_gpa_ptr(ctx, gfn << 12, 4096) != NULL;
}

void xenm_vm_assist(struct xenm_call *c)
{
    uint32_t cmd = (uint32_t)c->args[0], type = (uint32_t)c->args[1];
    /* HVM_VM_ASSIST_MASK: runstate_update_flag only */
    if (type >= 64 || type != XENM_VMASST_runstate_update_flag) {
        c->ret = -XENM_EINVAL;
        c->rule = "vm_assist: type not in HVM_VM_ASSIST_MASK";
        return;
    }
    switch (cmd) {
    case 0: /* VMASST_CMD_enable */
        c->x->vmasst_runstate_flag = true;
        c->ret = 0;
        c->rule = "vm_assist: enable runstate_update_flag";
        break;
    case 1: /* VMASST_CMD_disable */
        c->x->vmasst_runstate_flag = false;
        c->ret = 0;
        c->rule = "vm_assist: disable runstate_update_flag";
        break;
    default:
        c->ret = -XENM_ENOSYS;
        c->rule = "vm_assist: unknown command";
        break;
    }
}

/* The subject vCPU's translation, or the caller's (copy_to_user_hvm): xen.cross_vcpu. */
static struct hv_vcpu *via_for(struct xenm_call *c, struct hv_vcpu *subject)
{
    return c->x->cross_subject ? subject : c->v;
}

void xenm_area_vcpu_op(struct xenm_call *c, int cmd, unsigned id)
{
    struct hv_vm *vm = hv_vcpu_vm(c->v);
    struct hv_vcpu *tv = hv_vm_vcpu(vm, id);
    struct xenm_areas *a = &c->x->vcpu[id].a;
    uint64_t now = hv_vm_now(vm);
    uint64_t addr;
    c->ret = 0;
    switch (cmd) {
    case 4: { /* VCPUOP_get_runstate_info */
        struct xenm_runstate r;
        uint8_t b[XENM_RUNSTATE_SIZE];
        xenm_runstate_get(&a->rs, now, &r);
        xenm_runstate_bytes(&r, b);
        if (xenm_to_guest(c, c->args[2], b, sizeof b)) {
            c->ret = -XENM_EFAULT;
            c->rule = "get_runstate_info: copy_to_guest failed";
        } else {
            c->rule = "get_runstate_info";
        }
        break;
    }
    case 5: { /* VCPUOP_register_runstate_memory_area */
        if (xenm_from_guest(c, &addr, c->args[2], sizeof addr)) {
            c->ret = -XENM_EFAULT;
            c->rule = "register_runstate_memory_area: copy_from_guest failed";
            break;
        }
        /* guest_handle_okay() is always true for HVM; the write's result is ignored */
        a->rs_va = addr;
        struct xenm_runstate r;
        if (tv == c->v)
            r = a->rs;
        else
            xenm_runstate_get(&a->rs, now, &r);
        struct xenm_area_plan p = { .n = 1, .w = { { .off = 0, .len = XENM_RUNSTATE_SIZE } } };
        xenm_runstate_bytes(&r, p.w[0].bytes);
        struct area_dst d = { .area = "runstate", .why = "register", .subject = tv,
                              .emit = c->v, .via = via_for(c, tv), .addr = addr,
                              .state = r.state, .value = r.entry };
        area_apply(c->x, &d, &p);
        c->rule = tv == c->v ? "register_runstate_memory_area"
                             : "register_runstate_memory_area: another vCPU's, written now";
        break;
    }
    case 13: /* VCPUOP_register_vcpu_time_memory_area */
        if (xenm_from_guest(c, &addr, c->args[2], sizeof addr)) {
            c->ret = -XENM_EFAULT;
            c->rule = "register_vcpu_time_memory_area: copy_from_guest failed";
            break;
        }
        a->time_va = addr;
        time_update(c->x, c->v, tv, c->v, true, "register");
        c->rule = "register_vcpu_time_memory_area";
        break;
    case 14:   /* VCPUOP_register_runstate_phys_area */
    case 15: { /* VCPUOP_register_vcpu_time_phys_area */
        bool rs = cmd == 14;
        const char *name = rs ? "register_runstate_phys_area" : "register_vcpu_time_phys_area";
        if (xenm_from_guest(c, &addr, c->args[2], sizeof addr)) {
            c->ret = -XENM_EFAULT;
            snprintf(c->rule_buf, sizeof c->rule_buf, "%s: copy_from_guest failed", name);
            c->rule = c->rule_buf;
            break;
        }
        const char *why = "map_guest_area: unregister";
        if (~addr) {
            int r = xenm_area_map_check(addr, rs ? XENM_RUNSTATE_SIZE : XENM_TIME_SIZE,
                                        gfn_ram, vm, &why);
            if (r) {
                c->ret = r;
                snprintf(c->rule_buf, sizeof c->rule_buf, "%s: %s", name, why);
                c->rule = c->rule_buf;
                break;
            }
        }
        if (rs) {
            a->rs_phys = ~addr != 0;
            a->rs_gpa = ~addr ? addr : 0;
            if (a->rs_phys && tv == c->v) { /* runstate_area_populate */
                struct xenm_area_plan p = { .n = 1,
                                            .w = { { .off = 0, .len = XENM_RUNSTATE_SIZE } } };
                xenm_runstate_bytes(&a->rs, p.w[0].bytes);
                struct area_dst d = { .area = "runstate", .why = "populate", .subject = tv,
                                      .emit = c->v, .addr = addr, .state = a->rs.state,
                                      .value = a->rs.entry };
                area_apply(c->x, &d, &p);
            }
        } else {
            a->time_phys = ~addr != 0;
            a->time_gpa = ~addr ? addr : 0;
            if (a->time_phys) { /* time_area_populate: force_update_secondary_system_time */
                struct xenm_time u;
                xenm_time_collect(now, c->x->time_period, &u);
                u.version = UINT32_MAX; /* compensates for version_update_end */
                time_secondary(c->x, c->v, tv, c->v, &u, "populate");
            }
        }
        snprintf(c->rule_buf, sizeof c->rule_buf, "%s: %s", name, why);
        c->rule = c->rule_buf;
        break;
    }
    default:
        break;
    }
}

/* ---- glue: the scheduler ---- */

void xenm_runstate_set(struct xenm_vm *x, unsigned id, int32_t state, uint64_t now)
{
    xenm_runstate_change(&x->vcpu[id].a.rs, state, now);
}

/*
 * context_switch(prev, next): the scheduler has changed prev's runstate (runnable, blocked or
 * offline) and next's (running); update_runstate_area(prev) runs before set_current(next),
 * update_runstate_area(next) and update_vcpu_system_time(next) after, so each is written with
 * its own page tables.
 */
void xenm_sched_switch(struct hv_vm *vm, struct hv_vcpu *prev, enum hv_desched why,
                       struct hv_vcpu *next)
{
    struct xenm_vm *x = hv_vm_model_data(vm);
    uint64_t now = hv_vm_now(vm);
    if (prev) {
        int32_t s = why == HV_DESCHED_PREEMPTED ? XENM_RS_runnable
                    : why == HV_DESCHED_BLOCKED ? XENM_RS_blocked : XENM_RS_offline;
        xenm_runstate_set(x, hv_vcpu_id(prev), s, now);
        runstate_update(x, prev, "deschedule");
    }
    xenm_runstate_set(x, hv_vcpu_id(next), XENM_RS_running, now);
    runstate_update(x, next, "reschedule");
    time_update(x, next, next, next, false, "reschedule");
}
