/*
 * runner.c - one scenario run: check, set up, run with steps, check expectations.
 *
 * Core step actions (every model): mem_write, mem_read, reg_read, reg_write, and migrate
 * (runner/migrate.c). Core expect keys: outcome, vcpus, assert, events, output, memory,
 * registers; without an expect section the run must end done with every vCPU done. Anything
 * else is asked of the model; what neither knows is an error located at its key, with a "did
 * you mean", found before the run starts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/expectchk.h"
#include "runner/migrate.h"
#include "sim/migrate.h"
#include "runner/runner.h"
#include "sim/model.h"

/* ---- values: u64/u32/u16/u8 or bytes (hex text) ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int runner_mem_value(const struct hv_node *map, struct runner_bytes *out, struct hv_diag *d)
{
    static const struct { const char *key; size_t len; } sizes[] = {
        { "u64", 8 }, { "u32", 4 }, { "u16", 2 }, { "u8", 1 },
    };
    for (size_t i = 0; i < 4; i++) {
        const struct hv_node *n = hv_node_get(map, sizes[i].key);
        if (!n)
            continue;
        uint64_t v;
        int err = hv_node_u64(n, sizes[i].key, &v, d);
        if (err)
            return err;
        if (sizes[i].len < 8 && v >> (sizes[i].len * 8))
            return hv_diag_at(d, n, "'%s': value does not fit", sizes[i].key);
        for (size_t b = 0; b < sizes[i].len; b++)
            out->bytes[b] = (uint8_t)(v >> (8 * b));
        out->len = sizes[i].len;
        return 0;
    }
    const struct hv_node *n = hv_node_get(map, "bytes");
    if (!n)
        return hv_diag_at(d, map, "expected one of u64, u32, u16, u8 or bytes");
    const char *s;
    int err = hv_node_str(n, "bytes", &s, d);
    if (err)
        return err;
    size_t sl = strlen(s);
    if (sl % 2 || sl / 2 > sizeof out->bytes || !sl)
        return hv_diag_at(d, n, "'bytes': expected an even number of hex digits (at most %zu)",
                          2 * sizeof out->bytes);
    for (size_t i = 0; i < sl / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return hv_diag_at(d, n, "'bytes': '%s' is not hex", s);
        out->bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    out->len = sl / 2;
    return 0;
}

/* ---- checks ---- */

static const char *const core_actions[] = { "mem_write", "mem_read", "reg_read", "reg_write",
                                            NULL };
/* Every action the runner performs itself: the core ones and `migrate` (runner/migrate.c). */
static const char *const runner_actions[] = { "mem_write", "mem_read", "reg_read", "reg_write",
                                              "migrate", NULL };
static const char *const core_expects[] = { "outcome", "assert", "events", "output", "memory",
                                            "registers", "vcpus", NULL };
static const char *const outcome_names[] = { "done", "assert", "limit", "exception", "failed",
                                             "deadlock", "error", "budget", NULL };
static const char *const state_names[] = { "runnable", "halted", "done", "stopped", "failed",
                                           NULL };
static const char *const vcpu_keys[] = { "state", "why", NULL };

/*
 * The runner's own knobs: budgets that bound what a run may cost (docs/limits.md). Set in
 * `config` or with --set like a model's knobs; every model takes them.
 */
static const struct hv_knob runner_knobs[] = {
    { "run.max_memory", "17179869184", "guest memory budget in bytes (buffers, RAM): the "
                                       "checks refuse a scenario whose memory exceeds it" },
    { "run.max_events", "10000000", "event budget: the run ends with outcome budget at "
                                    "this many events" },
    { "run.max_trace_bytes", "1073741824", "trace-size budget in bytes (32 per event plus "
                                           "its detail JSON): the run ends with outcome "
                                           "budget when its events reach it" },
    { NULL, NULL, NULL },
};

const struct hv_knob *runner_knob_list(void)
{
    return runner_knobs;
}

/*
 * A runner knob's value in config[0..n) (the last entry, else the default), 1 .. UINT64_MAX;
 * an unusable value is an error located at it.
 */
static int runner_knob(const struct hv_kv *config, size_t n, const char *key, uint64_t *out,
                       struct hv_diag *d)
{
    const char *s = NULL;
    const struct hv_node *at = NULL;
    for (size_t i = n; !s && i-- > 0;)
        if (strcmp(config[i].key, key) == 0) {
            s = config[i].value;
            at = config[i].node;
        }
    for (const struct hv_knob *k = runner_knobs; !s && k->key; k++)
        if (strcmp(k->key, key) == 0)
            s = k->def;
    struct hv_node v = { .type = HV_NODE_SCALAR, .str = (char *)(s ? s : "") };
    if (hv_node_u64(&v, key, out, NULL) || *out == 0)
        return hv_diag_at(d, at, "'%s': expected a positive integer, got '%s'", key,
                          s ? s : "");
    return 0;
}

static bool in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (strcmp(*l, s) == 0)
            return true;
    return false;
}

/* Every knob name of m and the runner's, NULL-terminated, in names[0..max). */
static const char *const *knob_names(const struct hv_model_ops *m, const char **names,
                                     size_t max)
{
    size_t n = 0;
    for (const struct hv_knob *k = m->knobs; k && k->key && n + 1 < max; k++)
        names[n++] = k->key;
    for (const struct hv_knob *k = runner_knobs; k->key && n + 1 < max; k++)
        names[n++] = k->key;
    names[n] = NULL;
    return names;
}

/* Two NULL-terminated lists (either may be NULL) as one, in names[0..max). */
static const char *const *join_names(const char *const *a, const char *const *b,
                                     const char **names, size_t max)
{
    size_t n = 0;
    for (const char *const *l = a; l && *l && n + 1 < max; l++)
        names[n++] = *l;
    for (const char *const *l = b; l && *l && n + 1 < max; l++)
        names[n++] = *l;
    names[n] = NULL;
    return names;
}

static int check_core_step(const struct sc_step *st, struct hv_diag *d)
{
    const struct hv_node *a = st->args;
    if (!a)
        return hv_diag_at(d, st->node, "step '%s' needs args", st->action);
    int err = hv_node_expect(a, HV_NODE_MAP, "args", d);
    if (err)
        return err;
    uint64_t u;
    if (strcmp(st->action, "mem_write") == 0 || strcmp(st->action, "mem_read") == 0) {
        static const char *const wkeys[] = { "gpa", "u64", "u32", "u16", "u8", "bytes", NULL };
        static const char *const rkeys[] = { "gpa", "size", NULL };
        bool w = st->action[4] == 'w';
        if ((err = hv_node_check_keys(a, w ? wkeys : rkeys, "args", d)))
            return err;
        const struct hv_node *g = hv_node_get(a, "gpa");
        if (!g)
            return hv_diag_at(d, a, "'args': missing 'gpa'");
        if ((err = hv_node_u64(g, "gpa", &u, d)))
            return err;
        if (w) {
            struct runner_bytes mv;
            return runner_mem_value(a, &mv, d);
        }
        const struct hv_node *sz = hv_node_get(a, "size");
        if (!sz)
            return hv_diag_at(d, a, "'args': missing 'size'");
        if ((err = hv_node_u64(sz, "size", &u, d)))
            return err;
        if (u != 1 && u != 2 && u != 4 && u != 8)
            return hv_diag_at(d, sz, "'size': must be 1, 2, 4 or 8");
        if (st->expect && (err = hv_node_u64(st->expect, "expect", &u, d)))
            return err;
        return 0;
    }
    static const char *const rkeys[] = { "vcpu", "reg", "value", NULL };
    if ((err = hv_node_check_keys(a, rkeys, "args", d)))
        return err;
    const struct hv_node *vc = hv_node_get(a, "vcpu"), *rg = hv_node_get(a, "reg");
    if (!vc || !rg)
        return hv_diag_at(d, a, "'args': needs 'vcpu' and 'reg'");
    if ((err = hv_node_u64(vc, "vcpu", &u, d)))
        return err;
    const char *reg;
    if ((err = hv_node_str(rg, "reg", &reg, d)))
        return err;
    const struct hv_node *val = hv_node_get(a, "value");
    if (strcmp(st->action, "reg_write") == 0 && !val)
        return hv_diag_at(d, a, "'args': reg_write needs 'value'");
    if (val && (err = hv_node_u64(val, "value", &u, d)))
        return err;
    if (st->expect && (err = hv_node_u64(st->expect, "expect", &u, d)))
        return err;
    return 0;
}

static int check_count(const struct hv_node *n, struct hv_diag *d)
{
    uint64_t u;
    if (n->type == HV_NODE_SCALAR && !n->quoted && hv_node_u64(n, "count", &u, d) == 0)
        return 0;
    const char *s = n->type == HV_NODE_SCALAR ? n->str : "";
    const char *p = s;
    if (p[0] == '>' || p[0] == '<')
        p += p[1] == '=' ? 2 : 1;
    while (*p == ' ')
        p++;
    char *end;
    if (p == s || !*p || (strtoull(p, &end, 0), *end))
        return hv_diag_at(d, n, "expected a count: N, '> N', '>= N', '< N' or '<= N'");
    return 0;
}

const char *const *runner_kind_names(const char *names[HV_EV__COUNT + 1])
{
    for (int k = 0; k < HV_EV__COUNT; k++)
        names[k] = hv_kind_desc((enum hv_ev_kind)k)->name;
    names[HV_EV__COUNT] = NULL;
    return names;
}

/* `vcpus`: a map of vCPU number to a state, or to {state: S, why: W}. */
static int check_vcpus(const struct scenario *sc, const struct hv_node *v, struct hv_diag *d)
{
    char hint[200];
    int err = hv_node_expect(v, HV_NODE_MAP, "vcpus", d);
    for (size_t j = 0; !err && j < v->n; j++) {
        const struct hv_node *kk = hv_node_key(v, j), *sv = &v->items[j];
        uint64_t id;
        const char *s;
        if ((err = hv_node_u64(kk, "vcpus", &id, d)))
            break;
        if (id >= sc->vcpus)
            return hv_diag_at(d, kk, "'vcpus': vCPU %" PRIu64 " is out of range (the scenario "
                              "has %" PRIu64 " vCPU%s)", id, sc->vcpus, sc->vcpus == 1 ? "" : "s");
        if (sv->type == HV_NODE_MAP) {
            const struct hv_node *st = hv_node_get(sv, "state"), *why = hv_node_get(sv, "why");
            if ((err = hv_node_check_keys(sv, vcpu_keys, "vcpus entry", d)))
                break;
            if (!st)
                return hv_diag_at(d, sv, "'vcpus': an entry needs 'state'");
            if (why && (err = hv_node_str(why, "why", &s, d)))
                break;
            sv = st;
        }
        if ((err = hv_node_str(sv, "state", &s, d)))
            break;
        if (!in_list(state_names, s))
            return hv_diag_at(d, sv, "'vcpus': unknown state '%s'%s", s,
                              hv_suggest_hint(s, state_names, hint, sizeof hint));
    }
    return err;
}

static int check_expect(const struct scenario *sc, const struct hv_model_ops *m,
                        struct hv_diag *d)
{
    const struct hv_node *e = sc->expect;
    char hint[200];
    if (!e)
        return 0;
    for (size_t i = 0; i < e->n; i++) {
        const struct hv_node *k = hv_node_key(e, i), *v = &e->items[i];
        int err = 0;
        if (!in_list(core_expects, k->str)) {
            err = m->check_expect ? m->check_expect(k->str, v, d) : HV_ENOENT;
            if (err == HV_ENOENT) {
                const char *names[256];
                join_names(core_expects, m->expect_keys, names, sizeof names / sizeof names[0]);
                return hv_diag_at(d, k, "unknown key '%s' in expect%s", k->str,
                                  hv_suggest_hint(k->str, names, hint, sizeof hint));
            }
            if (err)
                return err;
            continue;
        }
        if (strcmp(k->str, "outcome") == 0) {
            const char *s;
            if ((err = hv_node_str(v, "outcome", &s, d)))
                return err;
            if (!in_list(outcome_names, s))
                return hv_diag_at(d, v, "'outcome': unknown outcome '%s'%s", s,
                                  hv_suggest_hint(s, outcome_names, hint, sizeof hint));
        } else if (strcmp(k->str, "vcpus") == 0) {
            if ((err = check_vcpus(sc, v, d)))
                return err;
        } else if (strcmp(k->str, "assert") == 0) {
            static const char *const ak[] = { "file", "line", NULL };
            uint64_t u;
            const char *s;
            if ((err = hv_node_expect(v, HV_NODE_MAP, "assert", d)) ||
                (err = hv_node_check_keys(v, ak, "assert", d)))
                return err;
            if (hv_node_get(v, "file") && (err = hv_node_str(hv_node_get(v, "file"), "file", &s, d)))
                return err;
            if (hv_node_get(v, "line") && (err = hv_node_u64(hv_node_get(v, "line"), "line", &u, d)))
                return err;
        } else if (strcmp(k->str, "events") == 0) {
            if ((err = hv_node_expect(v, HV_NODE_MAP, "events", d)))
                return err;
            for (size_t j = 0; j < v->n; j++) {
                const struct hv_node *kk = hv_node_key(v, j);
                if (hv_kind_lookup(kk->str) < 0) {
                    const char *kinds[HV_EV__COUNT + 1];
                    return hv_diag_at(d, kk, "unknown event kind '%s'%s", kk->str,
                                      hv_suggest_hint(kk->str, runner_kind_names(kinds), hint,
                                                      sizeof hint));
                }
                if ((err = check_count(&v->items[j], d)))
                    return err;
            }
        } else if (strcmp(k->str, "output") == 0) {
            const char *s;
            if ((err = hv_node_str(v, "output", &s, d)))
                return err;
        } else if (strcmp(k->str, "memory") == 0) {
            if ((err = hv_node_expect(v, HV_NODE_SEQ, "memory", d)))
                return err;
            for (size_t j = 0; j < v->n; j++) {
                static const char *const mk[] = { "gpa", "u64", "u32", "u16", "u8", "bytes",
                                                  NULL };
                const struct hv_node *it = &v->items[j];
                uint64_t u;
                struct runner_bytes mv;
                if ((err = hv_node_expect(it, HV_NODE_MAP, "memory item", d)) ||
                    (err = hv_node_check_keys(it, mk, "memory item", d)))
                    return err;
                if (!hv_node_get(it, "gpa"))
                    return hv_diag_at(d, it, "memory item needs 'gpa'");
                if ((err = hv_node_u64(hv_node_get(it, "gpa"), "gpa", &u, d)) ||
                    (err = runner_mem_value(it, &mv, d)))
                    return err;
            }
        } else if (strcmp(k->str, "registers") == 0) {
            if ((err = hv_node_expect(v, HV_NODE_MAP, "registers", d)))
                return err;
            for (size_t j = 0; j < v->n; j++) {
                const struct hv_node *kk = hv_node_key(v, j), *rv = &v->items[j];
                unsigned long id;
                char *end;
                if (strncmp(kk->str, "vcpu", 4) || (id = strtoul(kk->str + 4, &end, 10), *end) ||
                    !kk->str[4] || id >= sc->vcpus)
                    return hv_diag_at(d, kk, "expected vcpuN with N below %" PRIu64 ", got '%s'",
                                      sc->vcpus, kk->str);
                if ((err = hv_node_expect(rv, HV_NODE_MAP, "registers", d)))
                    return err;
                for (size_t r = 0; r < rv->n; r++) {
                    uint64_t u;
                    if ((err = hv_node_u64(&rv->items[r], hv_node_key(rv, r)->str, &u, d)))
                        return err;
                }
            }
        }
    }
    return 0;
}

struct hv_kv *runner_config(const struct scenario *sc)
{
    struct hv_kv *kv = calloc(sc->nconfig + 1, sizeof *kv);
    for (size_t i = 0; kv && i < sc->nconfig; i++)
        kv[i] = (struct hv_kv){ sc->config[i].key, sc->config[i].value, sc->config[i].node };
    return kv;
}

/* The config keys are m's knobs, and m accepts their values (check_config). */
static int check_config(const struct hv_check_ctx *c, const struct scenario *sc,
                        struct hv_diag *d)
{
    const struct hv_model_ops *m = c->model;
    const char *names[512];
    char hint[200];
    int err;
    knob_names(m, names, sizeof names / sizeof names[0]);
    for (size_t i = 0; i < c->nconfig; i++) {
        size_t k = 0;
        while (names[k] && strcmp(names[k], c->config[i].key) != 0)
            k++;
        if (names[k])
            continue;
        /* at the key as written, or the --set option */
        const struct hv_node *at = sc->config[i].key_node ? sc->config[i].key_node
                                                          : c->config[i].node;
        return hv_diag_at(d, at, "unknown config key '%s' for model %s%s", c->config[i].key,
                          m->name, hv_suggest_hint(c->config[i].key, names, hint, sizeof hint));
    }
    uint64_t v;
    for (const struct hv_knob *k = runner_knobs; k->key; k++)
        if ((err = runner_knob(c->config, c->nconfig, k->key, &v, d)))
            return err;
    return m->check_config ? m->check_config(c, d) : 0;
}

/* A migrate step's dest_config: the destination's effective config is checked as a whole. */
static int check_dest_config(const struct hv_check_ctx *c, const struct sc_step *st,
                             struct hv_diag *d)
{
    const struct hv_node *dc = st->args ? hv_node_get(st->args, "dest_config") : NULL;
    if (!dc)
        return 0;
    struct hv_kv *kv = calloc(c->nconfig + dc->n + 1, sizeof *kv);
    if (!kv)
        return HV_ENOMEM;
    memcpy(kv, c->config, c->nconfig * sizeof *kv);
    for (size_t j = 0; j < dc->n; j++)
        kv[c->nconfig + j] = (struct hv_kv){ hv_node_key(dc, j)->str, dc->items[j].str,
                                             &dc->items[j] };
    struct hv_check_ctx dc_ctx = *c;
    dc_ctx.config = kv;
    dc_ctx.nconfig = c->nconfig + dc->n;
    int err = c->model->check_config ? c->model->check_config(&dc_ctx, d) : 0;
    free(kv);
    return err;
}

/* Out of memory while checking: d names the scenario and what ran out. */
static int check_nomem(const struct scenario *sc, struct hv_diag *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->file, sizeof d->file, "%s", sc->path ? sc->path : "");
    snprintf(d->msg, sizeof d->msg, "out of memory checking the scenario");
    return HV_ENOMEM;
}

int runner_check(const struct scenario *sc, struct hv_diag *d)
{
    const struct hv_model_ops *m = hv_model_lookup(sc->model);
    const struct hv_node *mnode = hv_node_get(sc->root, "model");
    const char *names[512];
    char hint[200];
    int err = 0;
    if (!m)
        return hv_diag_at(d, mnode ? mnode : sc->root, "unknown model '%s'", sc->model);
    struct hv_kv *kv = runner_config(sc);
    if (!kv)
        return check_nomem(sc, d);
    struct hv_check_ctx c = { .model = m, .arch = sc->arch, .nr_vcpus = (unsigned)sc->vcpus,
                              .config = kv, .nconfig = sc->nconfig };
    if ((err = check_config(&c, sc, d)) ||
        (err = runner_knob(kv, sc->nconfig, "run.max_memory", &c.max_memory, d)))
        goto out;
    if (m->check_memory && (err = m->check_memory(sc->memory, &c, d)))
        goto out;
    if (!m->check_memory && sc->memory) {
        err = hv_diag_at(d, sc->memory, "model %s takes no memory section", m->name);
        goto out;
    }
    if (sc->vmm) {
        if (!m->check_vmm)
            err = hv_diag_at(d, sc->vmm, "model %s takes no vmm section", m->name);
        else
            err = m->check_vmm(sc->vmm, &c, d);
        if (err)
            goto out;
    }
    join_names(runner_actions, m->step_actions, names, sizeof names / sizeof names[0]);
    for (size_t i = 0; i < sc->nsteps && !err; i++) {
        const struct sc_step *st = &sc->steps[i];
        if (strcmp(st->action, "migrate") == 0) {
            err = mig_check_step(m, st->args, st->expect, st->action_node, d);
            if (!err)
                err = check_dest_config(&c, st, d);
        } else if (in_list(core_actions, st->action)) {
            err = check_core_step(st, d);
        } else {
            d->file[0] = '\0';
            err = m->check_step ? m->check_step(st->action, st->args, st->expect, d) : HV_ENOENT;
            /* a rule about the step as a whole ("needs args") is located at the step */
            if (err == HV_ESCENARIO && !d->file[0]) {
                char msg[sizeof d->msg];
                snprintf(msg, sizeof msg, "%s", d->msg);
                hv_diag_at(d, st->node, "%s", msg);
            }
            if (err == HV_ENOENT)
                err = hv_diag_at(d, st->action_node, "unknown step action '%s' for model %s%s",
                                 st->action, m->name,
                                 hv_suggest_hint(st->action, names, hint, sizeof hint));
        }
    }
    if (!err)
        err = check_expect(sc, m, d);
out:
    free(kv);
    return err == HV_ENOMEM ? check_nomem(sc, d) : err;
}

int runner_check_guest(const struct scenario *sc, struct hv_diag *d)
{
    static const char *const kinds[] = { ".c", ".S", ".s", ".elf", NULL };
    const struct hv_node *g = hv_node_get(sc->root, "guest");
    const char *dot = strrchr(sc->guest, '.');
    struct stat st;
    if (!dot || !in_list(kinds, dot))
        return hv_diag_at(d, g, "'guest': %s is not a .c, .S, .s or .elf file", sc->guest);
    if (stat(sc->guest_path, &st) != 0 || access(sc->guest_path, R_OK) != 0)
        return hv_diag_at(d, g, "'guest': cannot read %s: %s", sc->guest_path,
                          strerror(errno));
    if (!S_ISREG(st.st_mode))
        return hv_diag_at(d, g, "'guest': %s is not a regular file", sc->guest_path);
    return 0;
}

/* ---- running ---- */

struct run_ctx {
    const struct scenario *sc;
    struct hv_vm *vm;
    const struct hv_kv *kv;       /* the effective config */
    struct hv_kv *mig_kv[8];      /* each migration destination's config, freed at the end */
    size_t nmig;
    bool migrating;               /* inside a migrate step's rounds */
    bool any_sync;
    hv_event_sink_fn sink;
    void *sink_ctx;
    uint64_t counts[HV_EV__COUNT];
    uint64_t events;
    bool ok;
    const struct runner_hooks *hooks;
    bool *done;   /* per step */
    uint64_t *value;   /* per step: its trigger's number (a seq range drawn from the seed) */
};

static int counting_sink(void *ctx, const struct hv_event *ev)
{
    struct run_ctx *rc = ctx;
    if ((unsigned)ev->kind < HV_EV__COUNT)
        rc->counts[ev->kind]++;
    rc->events++;
    return rc->sink ? rc->sink(rc->sink_ctx, ev) : 0;
}

__attribute__((format(printf, 2, 3)))
static void report_failed(struct run_ctx *rc, const char *fmt, ...)
{
    if (!rc->hooks || !rc->hooks->failed)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    rc->hooks->failed(line, rc->hooks->ctx);
}

static int emit_step(struct run_ctx *rc, size_t i, const char *result, bool ok)
{
    const struct sc_step *st = &rc->sc->steps[i];
    char at[96];
    runner_step_at(st, rc->value[i], at, sizeof at);
    size_t elen = hv_node_json(st->expect, NULL, 0) + 1;
    char *expected = malloc(elen);
    if (!expected)
        return HV_ENOMEM;
    hv_node_json(st->expect, expected, elen);
    struct hv_ev_step ev = { .index = i, .action = st->action, .result = result, .ok = ok,
                             .at = at, .expected = expected };
    char what[32];
    snprintf(what, sizeof what, "steps.%zu", i);
    if (!ok && scenario_keeps(rc->sc, what)) {
        rc->ok = false;
        report_failed(rc, "step %zu (%s at %s): expected %s, got %s", i, st->action, at,
                      st->expect ? expected : "it to succeed", result);
    }
    int err = hv_vm_emit(rc->vm, -1, HV_EV_step, &ev);
    free(expected);
    return err;
}

void runner_step_at(const struct sc_step *st, uint64_t v, char *at, size_t size)
{
    switch (st->at) {
    case SC_AT_START: snprintf(at, size, "\"start\""); break;
    case SC_AT_END: snprintf(at, size, "\"end\""); break;
    case SC_AT_SYNC:
        if (st->vcpu >= 0)
            snprintf(at, size, "{\"sync\":%" PRIu64 ",\"vcpu\":%d}", v, st->vcpu);
        else
            snprintf(at, size, "{\"sync\":%" PRIu64 "}", v);
        break;
    case SC_AT_ICOUNT:
        snprintf(at, size, "{\"icount\":%" PRIu64 ",\"vcpu\":%d}", v, st->vcpu);
        break;
    case SC_AT_SEQ: snprintf(at, size, "{\"seq\":%" PRIu64 "}", v); break;
    case SC_AT_LEG: snprintf(at, size, "{\"leg\":%" PRIu64 "}", v); break;
    }
}

/*
 * The number a `seq: [LO, HI]` trigger fires at: LO + (x mod (HI - LO + 1)), x the first
 * output of splitmix64 seeded with seed ^ (index + 1) * 0x9e3779b97f4a7c15, so every seed
 * picks its own point and a replay picks the same one (docs/scenario-format.md).
 */
static uint64_t draw_point(uint64_t seed, size_t index, uint64_t lo, uint64_t hi)
{
    uint64_t z = seed ^ ((uint64_t)index + 1) * 0x9e3779b97f4a7c15ULL;
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    uint64_t span = hi - lo + 1;
    return span ? lo + z % span : z; /* span 0: the whole 64-bit range */
}

static int run_core_step(struct run_ctx *rc, size_t i)
{
    const struct sc_step *st = &rc->sc->steps[i];
    struct hv_diag d;
    char result[600];
    uint64_t gpa = 0, u = 0, expect = 0;
    bool ok = true;
    const struct hv_node *a = st->args;
    if (st->expect)
        hv_node_u64(st->expect, "expect", &expect, &d);
    if (strcmp(st->action, "mem_write") == 0) {
        struct runner_bytes mv;
        hv_node_u64(hv_node_get(a, "gpa"), "gpa", &gpa, &d);
        runner_mem_value(a, &mv, &d);
        int e = hv_vm_write_gpa(rc->vm, gpa, mv.bytes, mv.len);
        if (!e)
            hv_vm_note_write(rc->vm, NULL, gpa, mv.len, "host write");
        snprintf(result, sizeof result, "{\"written\":%s}", e ? "false" : "true");
        ok = e == 0;
    } else if (strcmp(st->action, "mem_read") == 0) {
        uint8_t b[8] = { 0 };
        hv_node_u64(hv_node_get(a, "gpa"), "gpa", &gpa, &d);
        hv_node_u64(hv_node_get(a, "size"), "size", &u, &d);
        int e = hv_vm_read_gpa(rc->vm, gpa, b, u);
        uint64_t val = 0;
        for (uint64_t k = 0; k < u; k++)
            val |= (uint64_t)b[k] << (8 * k);
        if (e)
            snprintf(result, sizeof result, "{\"value\":null}");
        else
            snprintf(result, sizeof result, "{\"value\":%" PRIu64 "}", val);
        ok = e == 0 && (!st->expect || val == expect);
    } else {
        const char *reg;
        uint64_t vc = 0, val = 0;
        hv_node_u64(hv_node_get(a, "vcpu"), "vcpu", &vc, &d);
        hv_node_str(hv_node_get(a, "reg"), "reg", &reg, &d);
        struct hv_vcpu *v = hv_vm_vcpu(rc->vm, (unsigned)vc);
        int e = v ? 0 : HV_EINVAL;
        if (!e && strcmp(st->action, "reg_write") == 0) {
            hv_node_u64(hv_node_get(a, "value"), "value", &val, &d);
            e = hv_vcpu_set_reg_by_name(v, reg, val);
        } else if (!e) {
            e = hv_vcpu_reg_by_name(v, reg, &val);
        }
        if (e)
            snprintf(result, sizeof result, "{\"error\":\"no vcpu %" PRIu64 " or register\"}", vc);
        else
            snprintf(result, sizeof result, "{\"value\":%" PRIu64 "}", val);
        ok = e == 0 && (!st->expect || val == expect);
    }
    return emit_step(rc, i, result, ok);
}

static int run_triggered(void *ctx);
static void arm_icount(struct run_ctx *rc);

static int run_step(struct run_ctx *rc, size_t i)
{
    const struct sc_step *st = &rc->sc->steps[i];
    rc->done[i] = true;
    if (in_list(core_actions, st->action))
        return run_core_step(rc, i);
    if (strcmp(st->action, "migrate") == 0) {
        char result[512];
        bool ok;
        if (rc->migrating)
            return emit_step(rc, i, "{\"error\":\"a migration is in progress\"}", false);
        if (rc->nmig == sizeof rc->mig_kv / sizeof rc->mig_kv[0])
            return hv_error_set(HV_ELIMIT, "more than %zu migrations in one run", rc->nmig);
        rc->migrating = true;
        int err = mig_step(&rc->vm, rc->kv, rc->sc->nconfig, st->args, st->expect,
                           run_triggered, rc, &rc->mig_kv[rc->nmig], result, sizeof result, &ok);
        rc->migrating = false;
        if (rc->mig_kv[rc->nmig])
            rc->nmig++;
        if (err)
            return err;
        if (rc->hooks && rc->hooks->vm_created)
            rc->hooks->vm_created(rc->vm, rc->hooks->ctx);
        hv_vm_pause_on_sync(rc->vm, rc->any_sync);
        arm_icount(rc);
        return emit_step(rc, i, result, ok);
    }
    const struct hv_model_ops *m = hv_vm_model(rc->vm);
    char result[4096] = "null";
    int err = m->step(rc->vm, st->action, st->args, st->expect, result, sizeof result);
    bool ok = true;
    if (err == HV_ESCENARIO) { /* the model's own expectation failed: data, not an error */
        ok = false;
        err = 0;
    }
    if (err)
        return err;
    return emit_step(rc, i, result, ok);
}

/* Arms the next icount trigger of each vCPU, and the next seq and leg triggers. */
static void arm_icount(struct run_ctx *rc)
{
    for (unsigned v = 0; v < hv_vm_nr_vcpus(rc->vm); v++) {
        uint64_t best = 0;
        for (size_t i = 0; i < rc->sc->nsteps; i++) {
            const struct sc_step *st = &rc->sc->steps[i];
            if (!rc->done[i] && st->at == SC_AT_ICOUNT && st->vcpu == (int32_t)v &&
                (!best || st->value < best))
                best = st->value;
        }
        if (best)
            hv_vm_pause_at_icount(rc->vm, v, best);
    }
    uint64_t seq = 0, leg = 0;
    for (size_t i = 0; i < rc->sc->nsteps; i++) {
        const struct sc_step *st = &rc->sc->steps[i];
        uint64_t v = rc->value[i] ? rc->value[i] : 1; /* 0 fires at once: pause at 1 */
        if (rc->done[i])
            continue;
        if (st->at == SC_AT_SEQ && (!seq || v < seq))
            seq = v;
        if (st->at == SC_AT_LEG && (!leg || v < leg))
            leg = v;
    }
    hv_vm_pause_at_seq(rc->vm, seq);
    hv_vm_pause_at_leg(rc->vm, leg);
}

bool runner_count_ok(const struct hv_node *n, uint64_t have)
{
    const char *s = n->str;
    uint64_t want;
    if (s[0] == '>' || s[0] == '<') {
        bool eq = s[1] == '=';
        want = strtoull(s + (eq ? 2 : 1), NULL, 0);
        if (s[0] == '>')
            return eq ? have >= want : have > want;
        return eq ? have <= want : have < want;
    }
    want = strtoull(s, NULL, 0);
    return have == want;
}

static int expect_event(struct run_ctx *rc, const char *what, const char *expected,
                        const char *actual, bool ok)
{
    struct hv_ev_expect ev = { .what = what, .expected = expected, .actual = actual, .ok = ok };
    if (!ok && scenario_keeps(rc->sc, what)) {
        rc->ok = false;
        report_failed(rc, "expect %s: expected %s, got %s", what, expected, actual);
    }
    return hv_vm_emit(rc->vm, -1, HV_EV_expect, &ev);
}

static const char *view_vcpu_state(void *ctx, unsigned id, const char **why)
{
    struct run_ctx *rc = ctx;
    return hv_vcpu_state(hv_vm_vcpu(rc->vm, id), why, NULL);
}

static bool view_count(void *ctx, int kind, uint64_t *n)
{
    struct run_ctx *rc = ctx;
    *n = rc->counts[kind];
    return true;
}

static int view_read_gpa(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct run_ctx *rc = ctx;
    return hv_vm_read_gpa(rc->vm, gpa, buf, len);
}

static int view_reg(void *ctx, unsigned id, const char *name, uint64_t *val)
{
    struct run_ctx *rc = ctx;
    return hv_vcpu_reg_by_name(hv_vm_vcpu(rc->vm, id), name, val);
}

static int view_model_key(void *ctx, const char *key, const struct hv_node *v, char *actual,
                          size_t size, bool *ok)
{
    struct run_ctx *rc = ctx;
    const struct hv_model_ops *m = hv_vm_model(rc->vm);
    return m->expect ? m->expect(rc->vm, key, v, actual, size, ok) : HV_EINVAL;
}

static int view_emit(void *ctx, const char *what, const char *expected, const char *actual,
                     bool ok)
{
    return expect_event(ctx, what, expected, actual, ok);
}

static int check_end(struct run_ctx *rc)
{
    struct expect_view view = {
        .ctx = rc, .outcome = hv_outcome_name(hv_vm_outcome(rc->vm)),
        .nr_vcpus = hv_vm_nr_vcpus(rc->vm), .vcpu_state = view_vcpu_state,
        .asserted = hv_vm_outcome(rc->vm) == HV_OUT_ASSERT, .count = view_count,
        .output = hv_vm_output(rc->vm), .read_gpa = view_read_gpa, .reg = view_reg,
        .model_key = view_model_key, .emit = view_emit,
    };
    const char *expr, *text;
    hv_vm_assert_info(rc->vm, &view.assert_file, &view.assert_line, &expr, &text);
    return runner_check_expect(rc->sc->expect, &view);
}

/* The steps whose trigger the paused vCPU reached, in file order; then the next icount
 * triggers are armed. */
static int run_triggered(void *ctx)
{
    struct run_ctx *rc = ctx;
    const struct scenario *sc = rc->sc;
    /* read once: a migrate step among them moves the run to another VM */
    struct hv_vcpu *pv = hv_vm_paused_vcpu(rc->vm);
    bool have = pv != NULL;
    unsigned pid = pv ? hv_vcpu_id(pv) : 0;
    uint64_t icount = pv ? hv_vcpu_icount(pv) : 0;
    uint64_t sync = hv_vm_paused_sync(rc->vm);
    uint64_t seq = hv_vm_next_seq(rc->vm), legs = hv_vm_legs(rc->vm);
    int err = 0;
    for (size_t i = 0; i < sc->nsteps && !err; i++) {
        const struct sc_step *st = &sc->steps[i];
        uint64_t v = rc->value[i];
        if (rc->done[i])
            continue;
        if (have && st->at == SC_AT_SYNC && v == sync &&
            (st->vcpu < 0 || st->vcpu == (int32_t)pid))
            err = run_step(rc, i);
        else if (have && st->at == SC_AT_ICOUNT && st->vcpu == (int32_t)pid && icount >= v)
            err = run_step(rc, i);
        else if ((st->at == SC_AT_SEQ && seq >= v) || (st->at == SC_AT_LEG && legs >= v))
            err = run_step(rc, i);
    }
    arm_icount(rc);
    return err;
}

int runner_execute(const struct scenario *sc, const void *elf, size_t elf_len,
                   hv_event_sink_fn sink, void *sink_ctx, const struct runner_hooks *hooks,
                   struct runner_result *res)
{
    memset(res, 0, sizeof *res);
    struct run_ctx rc = { .sc = sc, .sink = sink, .sink_ctx = sink_ctx, .ok = true,
                          .hooks = hooks };
    /* what was under way, for an error that comes without a detail (out of memory) */
    const char *phase = "preparing the run";
    hv_error_set(0, "%s", "");
    struct hv_kv *kv = runner_config(sc);
    struct hv_schedule *sched = hooks ? hooks->schedule : NULL;
    rc.done = calloc(sc->nsteps + 1, sizeof *rc.done);
    rc.value = calloc(sc->nsteps + 1, sizeof *rc.value);
    int err = 0;
    if (!kv || !rc.done || !rc.value) {
        err = HV_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < sc->nsteps; i++) {
        const struct sc_step *st = &sc->steps[i];
        rc.value[i] = st->at == SC_AT_SEQ && st->value_hi > st->value
                          ? hv_schedule_point(sched, (uint32_t)i, st->value, st->value_hi,
                                              draw_point(sc->seed, i, st->value, st->value_hi))
                          : st->value;
    }
    struct hv_vm_config cfg = {
        .arch = sc->arch, .nr_vcpus = (unsigned)sc->vcpus, .seed = sc->seed,
        .quantum = sc->quantum, .limit = sc->limit, .model = hv_model_lookup(sc->model),
        .sink = counting_sink, .sink_ctx = &rc, .config = kv, .nconfig = sc->nconfig,
        .memory = sc->memory, .vmm = sc->vmm, .schedule = sched,
    };
    struct hv_diag d;
    if (runner_knob(kv, sc->nconfig, "run.max_events", &cfg.max_events, &d) ||
        runner_knob(kv, sc->nconfig, "run.max_trace_bytes", &cfg.max_trace_bytes, &d)) {
        char msg[1200];
        hv_diag_format(&d, msg, sizeof msg);
        err = hv_error_set(HV_ESCENARIO, "%s", msg);
        goto out;
    }
    phase = "building the VM";
    if ((err = hv_vm_create(&rc.vm, &cfg)))
        goto out;
    if (hooks && hooks->vm_created)
        hooks->vm_created(rc.vm, hooks->ctx);
    phase = "loading the guest";
    if ((err = hv_vm_load_elf(rc.vm, elf, elf_len)))
        goto out;
    phase = "running the guest";
    struct hv_ev_run_start rs = { .scenario = sc->name, .model = sc->model,
                                  .arch = hv_arch_name(sc->arch), .vcpus = sc->vcpus,
                                  .seed = sc->seed, .quantum = sc->quantum, .limit = sc->limit };
    if ((err = hv_vm_emit(rc.vm, -1, HV_EV_run_start, &rs)))
        goto out;
    bool any_sync = false;
    for (size_t i = 0; i < sc->nsteps; i++)
        any_sync = any_sync || sc->steps[i].at == SC_AT_SYNC;
    rc.any_sync = any_sync;
    rc.kv = kv;
    for (size_t i = 0; i < sc->nsteps && !err; i++) {
        if (sc->steps[i].at == SC_AT_START)
            err = run_step(&rc, i);
    }
    hv_vm_pause_on_sync(rc.vm, any_sync);
    arm_icount(&rc);
    while (!err) {
        bool paused;
        err = hv_vm_run(rc.vm, &paused);
        if (err || !paused)
            break;
        err = run_triggered(&rc);
    }
    if (err)
        goto out;
    phase = "ending the run";
    for (size_t i = 0; i < sc->nsteps && !err; i++)
        if (sc->steps[i].at == SC_AT_END)
            err = run_step(&rc, i);
    /* steps whose trigger never came are failures too */
    for (size_t i = 0; i < sc->nsteps && !err; i++)
        if (!rc.done[i])
            err = emit_step(&rc, i, "{\"error\":\"trigger never reached\"}", false);
    if (!err)
        err = check_end(&rc);
    if (!err) {
        struct hv_ev_run_end re = { .outcome = hv_outcome_name(hv_vm_outcome(rc.vm)),
                                    .instructions = hv_vm_icount(rc.vm) };
        err = hv_vm_emit(rc.vm, -1, HV_EV_run_end, &re);
    }
out:
    if (err && !*hv_error_detail())
        hv_error_set(err, "%s, after %" PRIu64 " events", phase, rc.events);
    if (rc.vm) {
        res->outcome = hv_vm_outcome(rc.vm);
        res->instructions = hv_vm_icount(rc.vm);
        runner_summary(rc.vm, res->summary, sizeof res->summary);
    }
    res->expect_ok = rc.ok;
    res->events = rc.events;
    res->err = err;
    if (rc.vm && hooks && hooks->inspect)
        hooks->inspect(rc.vm, hooks->ctx);
    hv_vm_destroy(rc.vm);
    for (size_t i = 0; i < rc.nmig; i++)
        free(rc.mig_kv[i]);
    free(kv);
    free(rc.done);
    free(rc.value);
    return err;
}

void runner_summary(struct hv_vm *vm, char *buf, size_t size)
{
    enum hv_outcome o = hv_vm_outcome(vm);
    size_t l = 0;
#define SUMMARY_PUT(...)                                                                     \
    (l += (size_t)snprintf(buf + (l < size ? l : size), l < size ? size - l : 0, __VA_ARGS__))
    if (o == HV_OUT_ASSERT) {
        const char *file, *expr, *text;
        uint64_t line;
        hv_vm_assert_info(vm, &file, &line, &expr, &text);
        SUMMARY_PUT("guest assertion failed at %s:%" PRIu64 ": %s%s%s", file, line, expr,
                    *text ? ": " : "", text);
    } else {
        SUMMARY_PUT("outcome %s", hv_outcome_name(o));
    }
    /* then every vCPU that did not reach GUEST_DONE, the failed ones first */
    unsigned listed = 0, more = 0;
    for (int failed = 1; failed >= 0; failed--) {
        for (unsigned i = 0; i < hv_vm_nr_vcpus(vm); i++) {
            const char *why;
            uint64_t pc;
            const char *state = hv_vcpu_state(hv_vm_vcpu(vm, i), &why, &pc);
            if (strcmp(state, "done") == 0 || (strcmp(state, "failed") == 0) != failed)
                continue;
            if (o == HV_OUT_ASSERT && strcmp(why, "assert") == 0)
                continue; /* the assertion above says it */
            if (listed == 4) {
                more++;
                continue;
            }
            SUMMARY_PUT("%s vCPU %u %s at pc 0x%" PRIx64, listed++ ? "," : ":", i, state, pc);
            if (*why)
                SUMMARY_PUT(" (%s)", why);
        }
    }
    if (more)
        SUMMARY_PUT(" and %u more not done", more);
#undef SUMMARY_PUT
}

int runner_exit_code(const struct runner_result *res)
{
    if (res->err == HV_EDIVERGED)
        return HV_EXIT_DIVERGED;
    if (res->err)
        return HV_EXIT_BADINPUT;
    return res->expect_ok ? HV_EXIT_OK : HV_EXIT_FAILED;
}

char *runner_config_json(const struct scenario *sc)
{
    size_t cap = 64;
    for (size_t i = 0; i < sc->nconfig; i++)
        cap += 6 * (strlen(sc->config[i].key) + strlen(sc->config[i].value)) + 8;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t l = 0;
    buf[l++] = '{';
    for (size_t i = 0; i < sc->nconfig; i++) {
        if (i)
            buf[l++] = ',';
        hv_json_str(buf, cap, &l, sc->config[i].key);
        buf[l++] = ':';
        hv_json_str(buf, cap, &l, sc->config[i].value);
    }
    buf[l++] = '}';
    buf[l] = 0;
    return buf;
}
