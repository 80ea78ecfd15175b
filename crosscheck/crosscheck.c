/*
 * crosscheck.c - the model and the real kernel on one scenario (crosscheck.h).
 *
 * Both runs hand their events to crosscheck_collect(); each stream is then reduced to its
 * observations, (key, JSON value) pairs of what a VMM can see (observe()), and the two lists
 * are compared key by key. A key the model has and the kernel does not (or the reverse) is a
 * row with one side null. When the kernel's facts differ from the scenario's knobs, the model
 * runs again with all of them applied, and once per fact when there are several, so that an
 * explained row names the fact that explains it.
 */
#include "crosscheck/crosscheck.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmhost/kvmrun.h"
#include "runner/runner.h"

/* ---- collecting events ---- */

int crosscheck_collect(void *ctx, const struct hv_event *ev)
{
    struct crosscheck_events *e = ctx;
    if (e->oom)
        return HV_ENOMEM;
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 256;
        struct crosscheck_event *n = realloc(e->ev, cap * sizeof *n);
        if (!n) {
            e->oom = true;
            return HV_ENOMEM;
        }
        e->ev = n;
        e->cap = cap;
    }
    char *d = strndup(ev->detail, ev->detail_len);
    if (!d) {
        e->oom = true;
        return HV_ENOMEM;
    }
    e->ev[e->n++] = (struct crosscheck_event){ ev->vcpu, ev->kind, d };
    return 0;
}

void crosscheck_events_fini(struct crosscheck_events *e)
{
    for (size_t i = 0; e && i < e->n; i++)
        free(e->ev[i].detail);
    if (e)
        free(e->ev);
}

/* ---- reading the canonical JSON of event details ---- */

/* Past the JSON value at p (an object, array, string or scalar); NULL if malformed. */
static const char *json_skip(const char *p)
{
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1])
                p++;
        return *p ? p + 1 : NULL;
    }
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        for (p++; p && *p && *p != close;) {
            if (*p == ',' || *p == ':')
                p++;
            else
                p = json_skip(p);
        }
        return p && *p ? p + 1 : NULL;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']')
        p++;
    return p;
}

/* The value of top-level member key of object obj: *len bytes at the return, or NULL. */
static const char *json_member(const char *obj, const char *key, size_t *len)
{
    size_t kl = strlen(key);
    const char *p = obj && *obj == '{' ? obj + 1 : NULL;
    while (p && *p == '"') {
        const char *k = p + 1, *v = json_skip(p);
        if (!v || *v != ':')
            return NULL;
        const char *end = json_skip(v + 1);
        if (!end)
            return NULL;
        if ((size_t)(v - 1 - k) == kl && strncmp(k, key, kl) == 0) {
            *len = (size_t)(end - (v + 1));
            return v + 1;
        }
        p = *end == ',' ? end + 1 : NULL;
    }
    return NULL;
}

static char *json_member_dup(const char *obj, const char *key)
{
    size_t len;
    const char *v = json_member(obj, key, &len);
    return v ? strndup(v, len) : NULL;
}

/* ---- observations ---- */

const char *const *crosscheck_step_keys(const char *action)
{
    static const char *const errno_only[] = { "errno", NULL };
    static const char *const log[] = { "errno", "bitmap", NULL };
    static const char *const ext[] = { "cap", "name", "value", NULL };
    static const char *const harvest[] = { "vcpu", "count", "entries", "listed", NULL };
    static const char *const reset[] = { "errno", "count", NULL };
    static const char *const value[] = { "value", NULL };
    static const char *const written[] = { "written", NULL };
    static const struct { const char *action; const char *const *keys; } map[] = {
        { "set_memory_region", errno_only }, { "set_memory_region2", errno_only },
        { "get_dirty_log", log }, { "clear_dirty_log", errno_only },
        { "enable_cap", errno_only }, { "check_extension", ext },
        { "harvest_dirty_ring", harvest }, { "reset_dirty_rings", reset },
        { "mem_read", value }, { "reg_read", value }, { "reg_write", value },
        { "mem_write", written },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].action, action) == 0)
            return map[i].keys;
    return NULL;
}

struct obs {
    char *key;
    char *val;
};

struct obs_list {
    struct obs *o;
    size_t n, cap;
};

static void obs_fini(struct obs_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->o[i].key);
        free(l->o[i].val);
    }
    free(l->o);
    memset(l, 0, sizeof *l);
}

/* Appends (key, val); takes val (malloc'd, may be NULL: no memory). */
static int obs_add(struct obs_list *l, const char *key, char *val)
{
    char *k = val ? strdup(key) : NULL;
    if (k && l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct obs *n = realloc(l->o, cap * sizeof *n);
        if (n) {
            l->o = n;
            l->cap = cap;
        }
    }
    if (!k || l->n == l->cap) {
        free(k);
        free(val);
        return HV_ENOMEM;
    }
    l->o[l->n++] = (struct obs){ k, val };
    return 0;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* The members of result that keys names, as one object in keys' order; the whole result when
 * it has none of them (an error a runner wrote instead). */
static char *project(const char *result, const char *const *keys)
{
    size_t cap = strlen(result) + 64, l = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[l++] = '{';
    for (size_t i = 0; keys && keys[i]; i++) {
        size_t vl;
        const char *v = json_member(result, keys[i], &vl);
        if (!v)
            continue;
        l += (size_t)snprintf(out + l, cap - l, "%s\"%s\":%.*s", l > 1 ? "," : "", keys[i],
                              (int)vl, v);
    }
    if (l == 1) {
        free(out);
        return strdup(result);
    }
    snprintf(out + l, cap - l, "}");
    return out;
}

char *crosscheck_step_result(const char *action, const char *result)
{
    return project(result, crosscheck_step_keys(action));
}

static bool expect_compared(const char *what)
{
    return strncmp(what, "memory[", 7) == 0 || strncmp(what, "registers.", 10) == 0 ||
           strcmp(what, "output") == 0 || strcmp(what, "assert") == 0;
}

/* What a VMM sees of a run (crosscheck.h), as observations in event order. */
static int observe(const struct crosscheck_events *e, unsigned nr_vcpus, struct obs_list *out)
{
    unsigned ucalls[HV_MAX_VCPUS] = { 0 }, exits[HV_MAX_VCPUS] = { 0 };
    const char *state[HV_MAX_VCPUS] = { 0 };
    char key[160];
    const char *outcome = NULL;
    int err = 0;
    for (size_t i = 0; i < e->n && !err; i++) {
        const struct crosscheck_event *ev = &e->ev[i];
        const char *kind = hv_kind_desc(ev->kind)->name;
        unsigned v = ev->vcpu >= 0 && ev->vcpu < HV_MAX_VCPUS ? (unsigned)ev->vcpu : 0;
        switch (ev->kind) {
        case HV_EV_step: {
            char *idx = json_member_dup(ev->detail, "index");
            char *action = json_member_dup(ev->detail, "action");
            char *result = json_member_dup(ev->detail, "result");
            if (idx && action && result) {
                action[strlen(action) - 1] = 0;   /* the name without its quotes */
                snprintf(key, sizeof key, "step %s (%s)", idx, action + 1);
                err = obs_add(out, key, crosscheck_step_result(action + 1, result));
            } else {
                err = HV_ENOMEM;
            }
            free(idx);
            free(action);
            free(result);
            break;
        }
        case HV_EV_ucall_sync: case HV_EV_ucall_printf: case HV_EV_ucall_assert:
        case HV_EV_ucall_done:
            snprintf(key, sizeof key, "vcpu %u ucall %u", v, ucalls[v]++);
            err = obs_add(out, key, fmt("{\"%s\":%s}", kind, ev->detail));
            break;
        case HV_EV_kvm_exit: case HV_EV_pio: case HV_EV_kvm_dirty_ring:
            snprintf(key, sizeof key, "vcpu %u exit %u", v, exits[v]++);
            err = obs_add(out, key, fmt("{\"%s\":%s}", kind, ev->detail));
            break;
        case HV_EV_kvm_hypercall: {
            size_t l;
            const char *x = json_member(ev->detail, "exit", &l);
            if (!x || strncmp(x, "true", 4) != 0)
                break;   /* answered in the kernel: only the guest sees it */
            snprintf(key, sizeof key, "vcpu %u exit %u", v, exits[v]++);
            err = obs_add(out, key, fmt("{\"%s\":%s}", kind, ev->detail));
            break;
        }
        case HV_EV_vcpu_state:
            state[v] = ev->detail;
            break;
        case HV_EV_expect: {
            char *what = json_member_dup(ev->detail, "what");
            if (!what) {
                err = HV_ENOMEM;
                break;
            }
            what[strlen(what) - 1] = 0;
            if (expect_compared(what + 1)) {
                snprintf(key, sizeof key, "expect %s", what + 1);
                err = obs_add(out, key, json_member_dup(ev->detail, "actual"));
            }
            free(what);
            break;
        }
        case HV_EV_run_end:
            outcome = ev->detail;
            break;
        default:
            break;
        }
    }
    for (unsigned v = 0; v < nr_vcpus && v < HV_MAX_VCPUS && !err; v++) {
        snprintf(key, sizeof key, "vcpu %u end state", v);
        if (state[v]) {
            char *to = json_member_dup(state[v], "to"), *why = json_member_dup(state[v], "why");
            err = obs_add(out, key, to && why ? fmt("{\"state\":%s,\"why\":%s}", to, why) : NULL);
            free(to);
            free(why);
        } else {
            err = obs_add(out, key, strdup("{\"state\":\"runnable\"}"));
        }
    }
    if (!err && outcome)
        err = obs_add(out, "outcome", json_member_dup(outcome, "outcome"));
    return err;
}

static const char *obs_get(const struct obs_list *l, const char *key)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (strcmp(l->o[i].key, key) == 0)
            return l->o[i].val;
    return NULL;
}

static bool same(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

/* ---- comparing ---- */

static int add_row(struct crosscheck_report *r, const char *key, const char *m, const char *k,
                   const struct obs_list *all, const struct obs_list *with)
{
    if (r->nrows % 64 == 0) {
        struct crosscheck_row *n = realloc(r->rows, (r->nrows + 64) * sizeof *n);
        if (!n)
            return HV_ENOMEM;
        r->rows = n;
    }
    struct crosscheck_row *row = &r->rows[r->nrows];
    memset(row, 0, sizeof *row);
    row->what = strdup(key);
    row->model = m ? strdup(m) : NULL;
    row->kernel = k ? strdup(k) : NULL;
    if (!row->what || (m && !row->model) || (k && !row->kernel)) {
        free(row->what);
        free(row->model);
        free(row->kernel);
        return HV_ENOMEM;
    }
    r->nrows++;
    if (same(m, k)) {
        row->status = CROSSCHECK_SAME;
        r->same++;
        return 0;
    }
    if (all && same(obs_get(all, key), k)) {
        row->status = CROSSCHECK_EXPLAINED;
        r->explained++;
        size_t l = 0, named = 0;
        for (int pass = 0; pass < 2 && !named; pass++)   /* those alone, else all applied */
            for (unsigned f = 0; f < FACTS__COUNT; f++)
                if (r->applied[f] && (pass || same(obs_get(&with[f], key), k))) {
                    l += (size_t)snprintf(row->facts + l, l < sizeof row->facts
                                          ? sizeof row->facts - l : 0, "%s%s", named++ ? ", " : "",
                                          facts_desc((enum facts_id)f)->name);
                }
        return 0;
    }
    row->status = CROSSCHECK_DIFFERENT;
    r->different++;
    return 0;
}

int crosscheck_compare(const struct crosscheck_events *m, const struct crosscheck_events *k,
                       const struct crosscheck_events *all,
                       const struct crosscheck_events *const with[FACTS__COUNT],
                       unsigned nr_vcpus, struct crosscheck_report *r)
{
    struct obs_list om = { 0 }, ok = { 0 }, oa = { 0 }, ow[FACTS__COUNT];
    memset(ow, 0, sizeof ow);
    int err = observe(m, nr_vcpus, &om);
    if (!err)
        err = observe(k, nr_vcpus, &ok);
    if (!err && all)
        err = observe(all, nr_vcpus, &oa);
    for (unsigned f = 0; f < FACTS__COUNT && !err; f++)
        if (with[f])
            err = observe(with[f], nr_vcpus, &ow[f]);
    for (size_t i = 0; i < om.n && !err; i++)
        err = add_row(r, om.o[i].key, om.o[i].val, obs_get(&ok, om.o[i].key), all ? &oa : NULL,
                      ow);
    for (size_t i = 0; i < ok.n && !err; i++)
        if (!obs_get(&om, ok.o[i].key))
            err = add_row(r, ok.o[i].key, NULL, ok.o[i].val, all ? &oa : NULL, ow);
    obs_fini(&om);
    obs_fini(&ok);
    obs_fini(&oa);
    for (unsigned f = 0; f < FACTS__COUNT; f++)
        obs_fini(&ow[f]);
    return err;
}

/* ---- the runs ---- */

/* The model on sc's text with the knob settings sets[0..n) (KEY=VALUE) on top. */
static int model_run(const struct scenario *sc, const void *elf, size_t elf_len,
                     const char *const *sets, size_t nsets, struct crosscheck_events *out)
{
    struct scenario *c = NULL;
    struct hv_diag d;
    struct runner_result res;
    int err = scenario_parse(&c, sc->path, sc->text, sc->text_len, &d);
    for (size_t i = 0; !err && i < nsets; i++)
        err = scenario_set(c, sets[i]);
    if (!err && (err = runner_check(c, &d)))
        err = hv_error_set(err, "the model refuses the kernel's facts: %s", d.msg);
    if (!err)
        err = runner_execute(c, elf, elf_len, crosscheck_collect, out, NULL, &res);
    scenario_destroy(c);
    return err;
}

int crosscheck_run(const struct scenario *sc, const void *elf, size_t elf_len,
                   const struct kvmh_kernel *k, bool apply_facts, struct crosscheck_report *r)
{
    struct crosscheck_events em = { 0 }, ek = { 0 }, ea = { 0 }, ew[FACTS__COUNT];
    const struct crosscheck_events *with[FACTS__COUNT] = { 0 };
    char sets[FACTS__COUNT][64];
    const char *set_ptr[FACTS__COUNT];
    size_t nsets = 0;
    struct kvmrun_result kres;
    memset(ew, 0, sizeof ew);
    memset(r, 0, sizeof *r);
    snprintf(r->kernel, sizeof r->kernel, "%s", k->release);
    r->apply_facts = apply_facts;
    r->runnable = true;
    facts_derive(k, &r->facts);
    for (unsigned f = 0; f < FACTS__COUNT; f++) {
        facts_scenario_value(sc, (enum facts_id)f, r->scenario_value[f],
                             sizeof r->scenario_value[f]);
        r->applied[f] = apply_facts && facts_differs(&r->facts, sc, (enum facts_id)f);
        if (r->applied[f]) {
            snprintf(sets[nsets], sizeof sets[nsets], "%s=%s", facts_desc((enum facts_id)f)->knob,
                     r->facts.value[f]);
            set_ptr[nsets] = sets[nsets];
            nsets++;
        }
    }
    if (kvmrun_check(sc, r->why_not, sizeof r->why_not)) {
        r->runnable = false;
        return 0;
    }
    int err = model_run(sc, elf, elf_len, NULL, 0, &em);
    if (!err)
        err = kvmrun_execute(sc, elf, elf_len, NULL, crosscheck_collect, &ek, NULL, &kres);
    if (!err && !kres.runnable) {
        r->runnable = false;
        snprintf(r->why_not, sizeof r->why_not, "%s", kres.why_not);
        goto out;
    }
    if (!err && nsets)
        err = model_run(sc, elf, elf_len, set_ptr, nsets, &ea);
    for (unsigned f = 0, i = 0; f < FACTS__COUNT && !err; f++) {
        if (!r->applied[f])
            continue;
        if (nsets == 1)
            with[f] = &ea;
        else if (!(err = model_run(sc, elf, elf_len, &set_ptr[i], 1, &ew[f])))
            with[f] = &ew[f];
        i++;
    }
    if (!err)
        err = crosscheck_compare(&em, &ek, nsets ? &ea : NULL, with, (unsigned)sc->vcpus, r);
out:
    crosscheck_events_fini(&em);
    crosscheck_events_fini(&ek);
    crosscheck_events_fini(&ea);
    for (unsigned f = 0; f < FACTS__COUNT; f++)
        crosscheck_events_fini(&ew[f]);
    return err;
}

void crosscheck_report_fini(struct crosscheck_report *r)
{
    for (size_t i = 0; r && i < r->nrows; i++) {
        free(r->rows[i].what);
        free(r->rows[i].model);
        free(r->rows[i].kernel);
    }
    if (r) {
        free(r->rows);
        r->rows = NULL;
        r->nrows = 0;
    }
}

int crosscheck_exit_code(const struct crosscheck_report *r)
{
    return r->runnable && r->different == 0 ? 0 : 1;
}
