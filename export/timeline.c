/*
 * timeline.c - a trace laid out in time (timeline.h).
 *
 * Invariants: items are appended in event order, so each track's items are in ts order; a
 * vCPU slice is open from its `sched` until the next `sched`, its vCPU leaves the runnable
 * state, a switch-over or the end of the run (at most one is open: one host thread runs one
 * vCPU at a time); flows join items that exist, from an earlier item to a later one.
 */
#include "export/timeline.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/hv_err.h"
#include "trace/event.h"
#include "trace/trace.h"

/* vCPU ids past this are not given a clock of their own (a damaged trace) */
#define TL_MAX_VCPUS 4096

/* The detail key whose value labels an event of a kind (else its first text field). */
static const struct {
    const char *kind, *key;
} label_keys[] = {
    { "vcpu_state", "to" },       { "ucall_sync", "n" },       { "hypercall", "insn" },
    { "pio", "port" },            { "mmio", "gpa" },           { "kvm_exit", "reason" },
    { "kvm_dirty_ring", "count" }, { "kvm_hypercall", "nr" },   { "kvm_smccc", "func_id" },
    { "kvm_lookup", "via" },      { "xen_hypercall", "name" }, { "xen_continuation", "start" },
    { "xen_stlb", "va" },         { "xen_area", "area" },      { "cpuid", "leaf" },
    { "msr", "index" },           { "exception", "name" },     { "paging", "why" },
    { "after", "what" },          { "mig_round", "round" },    { "mig_escaped", "gpa" },
    { "step", "action" },         { "expect", "what" },        { "run_end", "outcome" },
};

struct loader {
    struct timeline *tl;
    sqlite3 *db;                 /* :memory:, for its JSON functions */
    sqlite3_stmt *get;           /* SELECT json_extract(?1, ?2) */
    /* pass 1: each slice's last instruction count, in `sched` order */
    uint64_t *ends;
    size_t nslices, cap;
    /* pass 2: the running slice: its index in ends, clock at its start, vCPU, first count */
    size_t slice;
    uint64_t base, start, budget;
    int32_t running;             /* -1 before the first slice */
    uint64_t now;                /* the clock of the latest event */
    /* the open vCPU slice (index), the item of its vCPU's last event in it, or SIZE_MAX */
    size_t open, open_last;
    size_t mig_round_item;       /* the latest migration round, SIZE_MAX for none */
    uint64_t mig_from;           /* the clock where the next round begins */
    uint32_t mig_vm;             /* the VM the latest migration leaves */
    size_t cont[TL_MAX_VCPUS];   /* each vCPU's last preempted continuation leg, or SIZE_MAX */
};

/* The detail's value at JSON path, as text in a new string; NULL when absent or null. */
static char *detail_get(struct loader *l, const char *detail, const char *key)
{
    char path[64];
    snprintf(path, sizeof path, "$.%s", key);
    sqlite3_reset(l->get);
    sqlite3_bind_text(l->get, 1, detail, -1, SQLITE_STATIC);
    sqlite3_bind_text(l->get, 2, path, -1, SQLITE_TRANSIENT);
    char *v = NULL;
    if (sqlite3_step(l->get) == SQLITE_ROW && sqlite3_column_type(l->get, 0) != SQLITE_NULL) {
        const unsigned char *t = sqlite3_column_text(l->get, 0);
        v = t ? strdup((const char *)t) : NULL;
    }
    sqlite3_reset(l->get);
    return v;
}

static bool detail_true(struct loader *l, const char *detail, const char *key)
{
    char *v = detail_get(l, detail, key);
    bool t = v && strcmp(v, "0") != 0 && strcmp(v, "false") != 0 && *v;
    free(v);
    return t;
}

/* "kind: value" for an event, value from label_keys or the kind's first text field. */
static char *event_label(struct loader *l, const struct hv_event *ev)
{
    const struct hv_kind_desc *kd = hv_kind_desc(ev->kind);
    const char *key = NULL;
    for (size_t i = 0; i < sizeof label_keys / sizeof label_keys[0] && !key; i++)
        if (strcmp(label_keys[i].kind, kd->name) == 0)
            key = label_keys[i].key;
    for (size_t i = 0; i < kd->nfields && !key; i++)
        if (kd->fields[i].type == HV_FIELD_STR)
            key = kd->fields[i].name;
    char *v = key ? detail_get(l, ev->detail, key) : NULL;
    size_t n = strlen(kd->name) + (v ? strlen(v) : 0) + 24;
    char *s = malloc(n);
    if (s && v && ev->kind == HV_EV_xen_continuation)
        snprintf(s, n, "memory_op leg from extent %s", v);
    else if (s)
        snprintf(s, n, v ? "%s %s" : "%s", kd->name, v);
    free(v);
    return s;
}

/* {"seq":N, ...the detail's members} */
static char *event_args(const struct hv_event *ev)
{
    const char *d = ev->detail && ev->detail_len ? ev->detail : "{}";
    size_t dl = ev->detail && ev->detail_len ? ev->detail_len : 2;
    size_t n = dl + 40;
    char *s = malloc(n);
    if (!s)
        return NULL;
    bool empty = dl < 2 || d[0] != '{' || strspn(d + 1, " \t\r\n") + 2 >= dl;
    int k = snprintf(s, n, "{\"seq\":%" PRIu64 "%s", ev->seq, empty ? "}" : ",");
    if (!empty)
        memcpy(s + k, d + 1, dl - 1), s[k + dl - 1] = '\0';
    return s;
}

static int add_item(struct loader *l, enum tl_type type, uint32_t vm, int32_t track,
                    uint64_t ts, const struct hv_event *ev, char *name, size_t *index)
{
    struct timeline *tl = l->tl;
    char *args = event_args(ev);
    if (!name || !args || (tl->nitems == tl->cap && !(tl->cap = tl->cap ? 2 * tl->cap : 256,
                                                      tl->items = realloc(tl->items,
                                                                          tl->cap *
                                                                          sizeof *tl->items)))) {
        free(name);
        free(args);
        return HV_ENOMEM;
    }
    tl->items[tl->nitems] = (struct tl_item){
        .type = type, .vm = vm, .track = track, .ts = ts, .seq = ev->seq,
        .kind = hv_kind_desc(ev->kind)->name, .name = name, .args = args,
    };
    if (index)
        *index = tl->nitems;
    tl->nitems++;
    return 0;
}

static int add_flow(struct loader *l, size_t from, size_t to, const char *what)
{
    struct timeline *tl = l->tl;
    if (tl->nflows == tl->fcap) {
        size_t cap = tl->fcap ? 2 * tl->fcap : 64;
        struct tl_flow *f = realloc(tl->flows, cap * sizeof *f);
        if (!f)
            return HV_ENOMEM;
        tl->flows = f, tl->fcap = cap;
    }
    tl->flows[tl->nflows] = (struct tl_flow){ tl->nflows + 1, from, to, what };
    tl->nflows++;
    return 0;
}

static int note_vm(struct timeline *tl, uint32_t vm, int32_t vcpu)
{
    if (vm >= tl->nvms) {
        if (vm > 1024)
            return hv_error_set(HV_ETRACE, "event names VM %" PRIu32 ", more than a run makes",
                                vm);
        struct tl_vm *v = realloc(tl->vms, (vm + 1) * sizeof *v);
        if (!v)
            return HV_ENOMEM;
        memset(v + tl->nvms, 0, (vm + 1 - tl->nvms) * sizeof *v);
        tl->vms = v, tl->nvms = vm + 1;
    }
    if (vcpu >= 0 && (uint32_t)vcpu + 1 > tl->vms[vm].nr_vcpus)
        tl->vms[vm].nr_vcpus = (uint32_t)vcpu + 1;
    return 0;
}

/* Names the open vCPU slice after what ended it: its budget, else its vCPU's last event. */
static int close_slice(struct loader *l)
{
    if (l->open == SIZE_MAX)
        return 0;
    struct tl_item *s = &l->tl->items[l->open];
    const char *why = s->dur >= l->budget ? "its budget spent"
                      : l->open_last != SIZE_MAX ? l->tl->items[l->open_last].name
                                                 : "stopped";
    size_t n = strlen(why) + 16;
    char *name = malloc(n);
    if (!name)
        return HV_ENOMEM;
    snprintf(name, n, "ran, then %s", why);
    free(s->name);
    s->name = name;
    l->open = l->open_last = SIZE_MAX;
    return 0;
}

/* "VMM answers REASON (vCPU N)" */
static char *answer_name(const char *reason, int32_t vcpu)
{
    size_t n = strlen(reason) + 40;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "VMM answers %s (vCPU %" PRId32 ")", reason, vcpu);
    return s;
}

/* A vCPU's event: its clock, then a slice, an instant, and what it joins. */
static int vcpu_event(struct loader *l, const struct hv_event *ev)
{
    int32_t v = ev->vcpu;
    const char *detail = ev->detail ? ev->detail : "{}";
    int err = 0;
    if (ev->kind == HV_EV_sched) {
        if ((err = close_slice(l)))
            return err;
        if (l->running >= 0)
            l->base += l->ends[l->slice] - l->start, l->slice++;
        l->running = v, l->start = ev->icount, l->now = l->base;
        char *budget = detail_get(l, detail, "budget");
        l->budget = budget ? strtoull(budget, NULL, 10) : UINT64_MAX;
        free(budget);
        uint64_t end = l->slice < l->nslices ? l->ends[l->slice] : ev->icount;
        err = add_item(l, TL_SLICE, ev->vm, v, l->base, ev, strdup("running"), &l->open);
        if (!err)
            l->tl->items[l->open].dur = end > l->start ? end - l->start : 0;
        return err;
    }
    /* a vCPU's event happens at its count in its slice; another's (woken, say) at the time
     * the running one made it happen */
    if (v == l->running && ev->icount >= l->start && ev->icount - l->start >= l->now - l->base)
        l->now = l->base + (ev->icount - l->start);
    size_t at;
    if ((err = add_item(l, TL_INSTANT, ev->vm, v, l->now, ev, event_label(l, ev), &at)))
        return err;
    if (l->open != SIZE_MAX && l->tl->items[l->open].vm == ev->vm &&
        l->tl->items[l->open].track == v && ev->kind != HV_EV_paging)
        l->open_last = at;
    bool forwarded = ev->kind == HV_EV_kvm_exit ||
                     (ev->kind == HV_EV_kvm_smccc && detail_true(l, detail, "exit")) ||
                     (ev->kind == HV_EV_kvm_hypercall && detail_true(l, detail, "exit"));
    if (forwarded) {
        char *reason = detail_get(l, detail, ev->kind == HV_EV_kvm_exit ? "reason" : "exit");
        size_t ans;
        err = add_item(l, TL_SLICE, ev->vm, TL_TRACK_VMM, l->now, ev,
                       answer_name(reason && strcmp(reason, "1") ? reason
                                                                 : "KVM_EXIT_HYPERCALL", v),
                       &ans);
        free(reason);
        if (!err)
            err = add_flow(l, at, ans, "exit");
    }
    if (!err && ev->kind == HV_EV_xen_continuation && v < TL_MAX_VCPUS) {
        if (l->cont[v] != SIZE_MAX)
            err = add_flow(l, l->cont[v], at, "continuation");
        l->cont[v] = detail_true(l, detail, "preempted") ? at : SIZE_MAX;
    }
    if (!err && ev->kind == HV_EV_vcpu_state && l->open != SIZE_MAX &&
        l->tl->items[l->open].track == v) {
        char *to = detail_get(l, detail, "to");
        if (to && strcmp(to, "runnable") != 0)
            err = close_slice(l);
        free(to);
    }
    return err;
}

/* An event of the VM or the host. */
static int vm_event(struct loader *l, const struct hv_event *ev)
{
    const char *detail = ev->detail ? ev->detail : "{}";
    if (l->running >= 0 && l->slice < l->nslices)
        l->now = l->base + (l->ends[l->slice] > l->start ? l->ends[l->slice] - l->start : 0);
    size_t at;
    int err = 0;
    switch (ev->kind) {
    case HV_EV_mig_start:
        l->mig_from = l->now, l->mig_vm = ev->vm;
        return add_item(l, TL_INSTANT, ev->vm, TL_TRACK_MIG, l->now, ev, event_label(l, ev),
                        NULL);
    case HV_EV_mig_round: {
        char *round = detail_get(l, detail, "round"), *dirty = detail_get(l, detail, "dirty");
        char *name = malloc(64);
        if (name)
            snprintf(name, 64, "round %s (%s dirty)%s", round ? round : "?",
                     dirty ? dirty : "?", detail_true(l, detail, "final") ? ", final" : "");
        free(round);
        free(dirty);
        err = add_item(l, TL_SLICE, ev->vm, TL_TRACK_MIG, l->mig_from, ev, name, &at);
        if (!err) {
            l->tl->items[at].dur = l->now - l->mig_from;
            l->mig_round_item = at, l->mig_from = l->now, l->mig_vm = ev->vm;
        }
        return err;
    }
    case HV_EV_mig_switchover:
        if ((err = close_slice(l)) ||
            (err = add_item(l, TL_SLICE, ev->vm, TL_TRACK_MIG, l->now, ev,
                            strdup("switch-over"), &at)))
            return err;
        if (l->mig_round_item != SIZE_MAX && l->mig_vm != ev->vm) {
            l->tl->vms[l->mig_vm].migrates_out = true;
            err = add_flow(l, l->mig_round_item, at, "migration");
        }
        l->mig_round_item = SIZE_MAX;
        return err;
    case HV_EV_mig_escaped:
        return add_item(l, TL_INSTANT, ev->vm, TL_TRACK_MIG, l->now, ev, event_label(l, ev),
                        NULL);
    case HV_EV_step:
        return add_item(l, TL_SLICE, ev->vm, TL_TRACK_VMM, l->now, ev, event_label(l, ev),
                        NULL);
    case HV_EV_run_end:
        if ((err = close_slice(l)))
            return err;
        /* fall through */
    default:
        return add_item(l, TL_INSTANT, ev->vm, TL_TRACK_VMM, l->now, ev, event_label(l, ev),
                        NULL);
    }
}

static void info(struct trace_reader *r, const char *key, char **out)
{
    if (trace_reader_info(r, key, out))
        *out = NULL;
}

/* Pass 1: each slice's end, the highest count its vCPU reached before its next slice. */
static int slice_ends(struct loader *l, struct trace_reader *r)
{
    size_t cur[TL_MAX_VCPUS];
    for (size_t i = 0; i < TL_MAX_VCPUS; i++)
        cur[i] = SIZE_MAX;
    struct hv_event ev;
    int got, err = trace_reader_events_begin(r, NULL);
    while (!err && (got = trace_reader_events_next(r, &ev)) != 0) {
        if (got < 0)
            return got;
        if (ev.vcpu < 0 || ev.vcpu >= TL_MAX_VCPUS)
            continue;
        size_t *c = &cur[ev.vcpu];
        if (*c != SIZE_MAX && ev.icount > l->ends[*c])
            l->ends[*c] = ev.icount;
        if (ev.kind != HV_EV_sched)
            continue;
        if (l->nslices == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 256;
            uint64_t *e = realloc(l->ends, cap * sizeof *e);
            if (!e)
                return HV_ENOMEM;
            l->ends = e, l->cap = cap;
        }
        l->ends[l->nslices] = ev.icount;
        *c = l->nslices++;
    }
    return err;
}

int timeline_load(const char *path, struct timeline **out)
{
    *out = NULL;
    struct trace_reader *r = NULL;
    struct loader *l = calloc(1, sizeof *l);
    struct timeline *tl = calloc(1, sizeof *tl);
    int err = !l || !tl ? HV_ENOMEM : trace_reader_open(&r, path);
    if (!err && (sqlite3_open(":memory:", &l->db) != SQLITE_OK ||
                 sqlite3_prepare_v2(l->db, "SELECT json_extract(?1, ?2)", -1, &l->get, NULL)))
        err = HV_ENOMEM;
    if (!err) {
        l->tl = tl;
        l->running = -1;
        l->open = l->open_last = l->mig_round_item = SIZE_MAX;
        for (size_t i = 0; i < TL_MAX_VCPUS; i++)
            l->cont[i] = SIZE_MAX;
        info(r, "scenario_name", &tl->scenario);
        info(r, "arch", &tl->arch);
        info(r, "model", &tl->model);
        info(r, "outcome", &tl->outcome);
        err = slice_ends(l, r);
    }
    if (!err)
        err = trace_reader_events_begin(r, NULL);
    struct hv_event ev;
    int got;
    while (!err && (got = trace_reader_events_next(r, &ev)) != 0) {
        if (got < 0) {
            err = got;
            break;
        }
        tl->events++;
        if ((err = note_vm(tl, ev.vm, ev.vcpu)))
            break;
        err = ev.vcpu >= 0 ? vcpu_event(l, &ev) : vm_event(l, &ev);
    }
    if (!err)
        err = close_slice(l);
    if (l) {
        tl->end = l->now;
        tl->from = 0, tl->to = UINT64_MAX;
        if (l->running >= 0 && l->slice < l->nslices && l->ends[l->slice] > l->start &&
            l->base + l->ends[l->slice] - l->start > tl->end)
            tl->end = l->base + l->ends[l->slice] - l->start;
        sqlite3_finalize(l->get);
        sqlite3_close(l->db);
        free(l->ends);
        free(l);
    }
    trace_reader_close(r);
    if (err) {
        timeline_free(tl);
        return err;
    }
    tl->t0 = 0, tl->t1 = tl->end;
    *out = tl;
    return 0;
}

bool timeline_window(struct timeline *tl, uint64_t from, uint64_t to)
{
    bool any = false;
    uint64_t t0 = UINT64_MAX, t1 = 0;
    for (size_t i = 0; i < tl->nitems; i++) {
        const struct tl_item *it = &tl->items[i];
        if (it->seq < from || it->seq > to)
            continue;
        any = true;
        if (it->ts < t0)
            t0 = it->ts;
        /* a slice that began in the window may run long past its last event */
        if (it->ts > t1 || (it->type == TL_SLICE && it->track < 0 && it->ts + it->dur > t1))
            t1 = it->type == TL_SLICE && it->track < 0 ? it->ts + it->dur : it->ts;
    }
    if (!any)
        return false;
    if (from == 0 && to == UINT64_MAX)
        t0 = 0, t1 = tl->end;
    else {
        uint64_t margin = (t1 - t0) / 20 + 1;
        t0 = t0 > margin ? t0 - margin : 0;
        t1 += margin;
    }
    tl->from = from, tl->to = to, tl->t0 = t0, tl->t1 = t1;
    return true;
}

bool timeline_shown(const struct timeline *tl, size_t i)
{
    return tl->items[i].seq >= tl->from && tl->items[i].seq <= tl->to;
}

void timeline_free(struct timeline *tl)
{
    if (!tl)
        return;
    for (size_t i = 0; i < tl->nitems; i++) {
        free(tl->items[i].name);
        free(tl->items[i].args);
    }
    free(tl->items);
    free(tl->flows);
    free(tl->vms);
    free(tl->scenario);
    free(tl->arch);
    free(tl->model);
    free(tl->outcome);
    free(tl);
}

void timeline_track_name(int32_t track, char *buf, size_t size)
{
    if (track == TL_TRACK_VMM)
        snprintf(buf, size, "VMM (host)");
    else if (track == TL_TRACK_MIG)
        snprintf(buf, size, "migration");
    else
        snprintf(buf, size, "vCPU %" PRId32, track);
}
