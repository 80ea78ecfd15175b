/*
 * schedule.c - a run's schedule as data: the decisions the seed makes (which vCPU runs each
 * slice and for how long, seeded preemption checks, seeded step triggers), recorded as the run
 * makes them, and, once loaded, made from the list instead of the seed. hv.h gives the rules
 * and the invariants; docs/trace-format.md the text form (the `schedule` blob).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

struct sched_list {
    struct hv_sched_entry *e;
    size_t n, cap;
};

struct hv_schedule {
    struct sched_list rec;                   /* what the run decided, in order */
    struct sched_list in[HV_SCHED__COUNT];   /* loaded, one list per kind */
    size_t pos[HV_SCHED__COUNT];             /* next entry of each loaded list */
    bool loaded;
};

static const char *const kind_names[HV_SCHED__COUNT] = { "slice", "preempt", "point" };

/* The invariants (hv.h), the second for the newest recorded entry (each is checked as it is
 * recorded). */
__attribute__((unused)) static bool schedule_check(const struct hv_schedule *s)
{
    for (unsigned k = 0; k < HV_SCHED__COUNT; k++)
        if (s->pos[k] > s->in[k].n)
            return false;
    const struct hv_sched_entry *last = s->rec.n ? &s->rec.e[s->rec.n - 1] : NULL;
    return !last || last->kind != HV_SCHED_SLICE || (last->b >= 1 && last->a < HV_MAX_VCPUS);
}

static int list_push(struct sched_list *l, const struct hv_sched_entry *e)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        struct hv_sched_entry *ne = realloc(l->e, nc * sizeof *ne);
        if (!ne)
            return HV_ENOMEM;
        l->e = ne;
        l->cap = nc;
    }
    l->e[l->n++] = *e;
    return 0;
}

int hv_schedule_create(struct hv_schedule **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : HV_ENOMEM;
}

static void schedule_clear(struct hv_schedule *s)
{
    for (unsigned k = 0; k < HV_SCHED__COUNT; k++) {
        s->in[k].n = 0;
        s->pos[k] = 0;
    }
    s->rec.n = 0;
}

void hv_schedule_destroy(struct hv_schedule *s)
{
    if (!s)
        return;
    free(s->rec.e);
    for (unsigned k = 0; k < HV_SCHED__COUNT; k++)
        free(s->in[k].e);
    free(s);
}

int hv_schedule_set(struct hv_schedule *s, const struct hv_sched_entry *e, size_t n)
{
    schedule_clear(s);
    s->loaded = true;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)e[i].kind >= HV_SCHED__COUNT)
            return hv_error_set(HV_EINVAL, "schedule entry %zu: unknown kind", i);
        int err = list_push(&s->in[e[i].kind], &e[i]);
        if (err)
            return err;
    }
    return 0;
}

int hv_schedule_load(struct hv_schedule *s, const char *text, size_t len)
{
    schedule_clear(s);
    s->loaded = true;
    size_t lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char line[128];
        lineno++;
        if (ll >= sizeof line)
            return hv_error_set(HV_EINVAL, "schedule line %zu: too long", lineno);
        memcpy(line, p, ll);
        line[ll] = 0;
        p += ll + (nl ? 1 : 0);
        if (!line[0] || line[0] == '#')
            continue;
        char word[16], extra[2];
        uint64_t x = 0, y = 0;
        int got = sscanf(line, "%15s %" SCNu64 " %" SCNu64 " %1s", word, &x, &y, extra);
        struct hv_sched_entry e = { .kind = HV_SCHED__COUNT };
        for (unsigned k = 0; k < HV_SCHED__COUNT; k++)
            if (got >= 1 && strcmp(word, kind_names[k]) == 0)
                e.kind = (enum hv_sched_kind)k;
        bool ok = false;
        switch (e.kind) {
        case HV_SCHED_SLICE:
            ok = got == 3 && x < HV_MAX_VCPUS && y >= 1;
            break;
        case HV_SCHED_PREEMPT:
            ok = got == 2 && x <= 1;
            break;
        case HV_SCHED_POINT:
            ok = got == 3 && x <= UINT32_MAX;
            break;
        default:
            break;
        }
        if (!ok)
            return hv_error_set(HV_EINVAL, "schedule line %zu: expected 'slice VCPU BUDGET' "
                                           "(BUDGET >= 1), 'preempt 0|1' or 'point STEP "
                                           "VALUE', got '%s'", lineno, line);
        e.a = (uint32_t)x;
        e.b = e.kind == HV_SCHED_PREEMPT ? 0 : y;
        int err = list_push(&s->in[e.kind], &e);
        if (err)
            return err;
    }
    return 0;
}

bool hv_schedule_loaded(const struct hv_schedule *s) { return s->loaded; }

size_t hv_schedule_recorded(const struct hv_schedule *s, const struct hv_sched_entry **out)
{
    *out = s->rec.e;
    return s->rec.n;
}

uint64_t hv_schedule_switches(const struct hv_schedule *s)
{
    uint64_t n = 0;
    bool have = false;
    uint32_t last = 0;
    for (size_t i = 0; i < s->rec.n; i++) {
        const struct hv_sched_entry *e = &s->rec.e[i];
        if (e->kind != HV_SCHED_SLICE)
            continue;
        n += have && e->a != last;
        have = true;
        last = e->a;
    }
    return n;
}

char *hv_schedule_format(const struct hv_sched_entry *e, size_t n)
{
    size_t cap = 64 + n * 48, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    len += (size_t)snprintf(out, cap, "# hvsim schedule: slice VCPU BUDGET | preempt 0|1 | "
                                      "point STEP VALUE\n");
    for (size_t i = 0; i < n; i++) {
        const struct hv_sched_entry *x = &e[i];
        if (x->kind == HV_SCHED_PREEMPT)
            len += (size_t)snprintf(out + len, cap - len, "preempt %" PRIu32 "\n", x->a);
        else
            len += (size_t)snprintf(out + len, cap - len, "%s %" PRIu32 " %" PRIu64 "\n",
                                    kind_names[x->kind], x->a, x->b);
    }
    return out;
}

/* The next loaded entry of kind k, or NULL past its end (or when nothing was loaded). */
static const struct hv_sched_entry *next_in(struct hv_schedule *s, enum hv_sched_kind k)
{
    if (!s->loaded || s->pos[k] >= s->in[k].n)
        return NULL;
    return &s->in[k].e[s->pos[k]++];
}

/* A failed push loses a decision from the record only; the run itself goes on as decided. */
static void record(struct hv_schedule *s, enum hv_sched_kind k, uint32_t a, uint64_t b)
{
    struct hv_sched_entry e = { .kind = k, .a = a, .b = b };
    list_push(&s->rec, &e);
    assert(schedule_check(s));
}

/* The first runnable vCPU with an id at or after `from`, wrapping around. */
static unsigned runnable_from(const unsigned *runnable, unsigned n, unsigned from)
{
    for (unsigned i = 0; i < n; i++)
        if (runnable[i] >= from)
            return runnable[i];
    return runnable[0];
}

void sched_slice(struct hv_vm *vm, const unsigned *runnable, unsigned n, unsigned *vcpu,
                 uint64_t *budget)
{
    struct hv_schedule *s = vm->cfg.schedule;
    const struct hv_sched_entry *e = s ? next_in(s, HV_SCHED_SLICE) : NULL;
    if (e) {
        *vcpu = runnable_from(runnable, n, e->a);
        *budget = e->b;
    } else if (s && s->loaded) {
        *vcpu = runnable_from(runnable, n, vm->last_run ? vm->last_run->id + 1 : 0);
        *budget = vm->cfg.quantum > UINT64_MAX / HV_SCHED_TAIL ? UINT64_MAX
                                                                : HV_SCHED_TAIL * vm->cfg.quantum;
    } else {
        *vcpu = runnable[sched_below(&vm->prng, n)];
        *budget = 1 + sched_below(&vm->prng, vm->cfg.quantum);
    }
    if (s)
        record(s, HV_SCHED_SLICE, *vcpu, *budget);
}

bool hv_schedule_preempt(struct hv_schedule *s, bool drawn)
{
    if (!s)
        return drawn;
    const struct hv_sched_entry *e = next_in(s, HV_SCHED_PREEMPT);
    bool yes = e ? e->a != 0 : s->loaded ? false : drawn;
    record(s, HV_SCHED_PREEMPT, yes, 0);
    return yes;
}

uint64_t hv_schedule_point(struct hv_schedule *s, uint32_t step, uint64_t lo, uint64_t hi,
                           uint64_t drawn)
{
    if (!s)
        return drawn;
    uint64_t v = drawn;
    if (s->loaded)
        for (size_t i = 0; i < s->in[HV_SCHED_POINT].n; i++)
            if (s->in[HV_SCHED_POINT].e[i].a == step)
                v = s->in[HV_SCHED_POINT].e[i].b;
    v = v < lo ? lo : v > hi ? hi : v;
    record(s, HV_SCHED_POINT, step, v);
    return v;
}
