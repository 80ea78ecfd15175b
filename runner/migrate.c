/*
 * migrate.c - the `migrate` step's driver (migrate.h; docs/migration.md has the sequence and
 * the events).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/migrate.h"
#include "sim/migrate.h"
#include "sim/model.h"

struct mig {
    struct hv_vm *src, *dst;
    uint64_t sent;           /* pages sent in this round */
    uint64_t dirty;
    uint64_t pages;
    uint64_t mismatches;
    int err;
};

static int send_page(void *ctx, uint64_t gpa)
{
    struct mig *m = ctx;
    m->dirty++;
    int err = hv_vm_copy_page(m->src, m->dst, gpa);
    if (err == HV_EINVAL) /* not RAM on one side: nothing to carry */
        return 0;
    if (!err)
        m->sent++;
    return err;
}

static int count_page(void *ctx, uint64_t gpa)
{
    (void)gpa;
    ((struct mig *)ctx)->pages++;
    return 0;
}

static int round_event(struct mig *m, uint64_t round, uint64_t ran, bool final)
{
    struct hv_ev_mig_round ev = { .round = round, .ran = ran, .dirty = m->dirty,
                                  .sent = m->sent, .final = final };
    return hv_vm_emit(m->src, -1, HV_EV_mig_round, &ev);
}

/* Every page compared; a differing one is named with the last write the source saw. */
static int check_page(void *ctx, uint64_t gpa)
{
    struct mig *m = ctx;
    m->pages++;
    if (hv_vm_page_equal(m->src, m->dst, gpa))
        return 0;
    m->mismatches++;
    struct hv_write_rec w;
    bool known = hv_vm_last_write(m->src, gpa, &w);
    struct hv_ev_mig_escaped ev = {
        .gpa = gpa, .writer = known ? w.vcpu : -1, .pc = known ? w.pc : 0,
        .at = known ? w.icount : 0, .path = known ? w.path : NULL,
    };
    return hv_vm_emit(m->dst, -1, HV_EV_mig_escaped, &ev);
}

/* Lets the source run n guest instructions (less if the run ends); returns how many ran.
 * Other steps triggered meanwhile run through on_pause. */
static int run_for(struct hv_vm *vm, uint64_t n, const struct mig_params *p, uint64_t *ran)
{
    uint64_t start = hv_vm_icount(vm), target = start + n;
    int err = 0;
    while (hv_vm_outcome(vm) == HV_OUT_RUNNING && hv_vm_icount(vm) < target) {
        bool paused;
        hv_vm_pause_at_total(vm, target);
        if ((err = hv_vm_run(vm, &paused)) || !paused)
            break;
        if (hv_vm_paused_vcpu(vm) && p->on_pause && (err = p->on_pause(p->pause_ctx)))
            break;
    }
    hv_vm_pause_at_total(vm, 0);
    *ran = hv_vm_icount(vm) - start;
    return err;
}

int mig_run(struct hv_vm **vmp, const struct mig_params *p, struct mig_result *res)
{
    memset(res, 0, sizeof *res);
    struct hv_vm *src = *vmp;
    const struct hv_model_ops *ops = hv_vm_model(src);
    if (!ops->mig_begin || !ops->mig_dirty)
        return HV_EUNSUPP;
    struct mig m = { .src = src };
    int err = hv_vm_create_incoming(&m.dst, src, p->config, p->nconfig);
    if (err)
        return err;
    char model[2048] = "null";
    if ((err = hv_vm_provenance(src, true)) ||
        (err = ops->mig_begin(src, m.dst, model, sizeof model)))
        goto fail;
    hv_vm_ram_pages(src, count_page, &m);
    struct hv_ev_mig_start st = { .pages = m.pages, .round_insns = p->round_insns,
                                  .max_rounds = p->max_rounds, .threshold = p->threshold,
                                  .page_cost = p->page_cost, .model = model };
    if ((err = hv_vm_emit(src, -1, HV_EV_mig_start, &st)))
        goto fail;
    /* round 0: every page; the log started clean with mig_begin */
    m.dirty = m.sent = 0;
    if ((err = hv_vm_ram_pages(src, send_page, &m)) || (err = round_event(&m, 0, 0, false)))
        goto fail;
    res->sent = m.sent;
    uint64_t round = 0;
    for (;;) {
        uint64_t ran = 0;
        /* max_rounds 0: no live rounds, the final sync right after round 0 (save/restore) */
        if (p->max_rounds && (err = run_for(src, p->round_insns, p, &ran)))
            goto fail;
        round++;
        m.dirty = m.sent = 0;
        /* the sync; if it is the last, the vCPUs stay stopped from here on */
        if ((err = ops->mig_dirty(src, send_page, &m)))
            goto fail;
        bool final = m.dirty < p->threshold || round >= p->max_rounds ||
                     hv_vm_outcome(src) != HV_OUT_RUNNING;
        res->sent += m.sent;
        if ((err = round_event(&m, round, ran, final)))
            goto fail;
        if (final) {
            res->final_pages = m.sent;
            break;
        }
    }
    res->rounds = round;
    res->downtime = res->final_pages * p->page_cost;
    /* switch-over: vCPUs, the model's state, then every page compared */
    if ((err = hv_vm_move_vcpus(src, m.dst)))
        goto fail;
    char carried[2048] = "null";
    if (ops->mig_finish && (err = ops->mig_finish(src, m.dst, carried, sizeof carried)))
        goto fail;
    m.pages = 0;
    if ((err = hv_vm_ram_pages(src, check_page, &m)))
        goto fail;
    res->pages = m.pages;
    res->mismatches = m.mismatches;
    res->complete = m.mismatches == 0;
    struct hv_ev_mig_switchover so = {
        .rounds = res->rounds, .sent = res->sent, .final_pages = res->final_pages,
        .downtime = res->downtime, .pages = res->pages, .mismatches = res->mismatches,
        .complete = res->complete, .model = carried,
    };
    if ((err = hv_vm_emit(m.dst, -1, HV_EV_mig_switchover, &so)))
        goto fail;
    hv_vm_destroy(src);
    *vmp = m.dst;
    return 0;
fail:
    hv_vm_destroy(m.dst);
    hv_vm_provenance(src, false);
    return err;
}

/* ---- the step ---- */

static const char *const arg_keys[] = { "round_insns", "max_rounds", "threshold", "page_cost",
                                        "dest_config", NULL };
static const char *const expect_keys[] = { "complete", "mismatches", "rounds", "sent",
                                           "final_pages", "downtime", NULL };

/* NULL if key is one of m's knobs, else the hint for the error ("" or a suggestion). */
static const char *knob_hint(const struct hv_model_ops *m, const char *key, char *hint,
                             size_t size)
{
    const char *names[512];
    size_t n = 0;
    for (const struct hv_knob *k = m->knobs; k && k->key && n + 1 < 512; k++) {
        if (strcmp(k->key, key) == 0)
            return NULL;
        names[n++] = k->key;
    }
    names[n] = NULL;
    return hv_suggest_hint(key, names, hint, size);
}

int mig_check_step(const struct hv_model_ops *m, const struct hv_node *args,
                   const struct hv_node *expect, const struct hv_node *where, struct hv_diag *d)
{
    if (!m->mig_begin || !m->mig_dirty)
        return hv_diag_at(d, where, "model %s cannot be migrated", m->name);
    int err;
    uint64_t u;
    if (args) {
        if ((err = hv_node_expect(args, HV_NODE_MAP, "args", d)) ||
            (err = hv_node_check_keys(args, arg_keys, "args", d)))
            return err;
        for (size_t i = 0; i < args->n; i++) {
            const char *k = hv_node_key(args, i)->str;
            const struct hv_node *v = &args->items[i];
            if (strcmp(k, "dest_config") != 0) {
                if ((err = hv_node_u64(v, k, &u, d)))
                    return err;
                if (u == 0 && strcmp(k, "round_insns") == 0)
                    return hv_diag_at(d, v, "'%s': must be at least 1", k);
                continue;
            }
            if ((err = hv_node_expect(v, HV_NODE_MAP, "dest_config", d)))
                return err;
            for (size_t j = 0; j < v->n; j++) {
                const struct hv_node *key = hv_node_key(v, j);
                char hint[200];
                const char *h = knob_hint(m, key->str, hint, sizeof hint);
                if (h)
                    return hv_diag_at(d, key, "unknown knob '%s' for model %s%s", key->str,
                                      m->name, h);
                if (v->items[j].type != HV_NODE_SCALAR)
                    return hv_diag_at(d, &v->items[j], "'%s': expected a scalar", key->str);
            }
        }
    }
    if (expect) {
        if ((err = hv_node_expect(expect, HV_NODE_MAP, "expect", d)) ||
            (err = hv_node_check_keys(expect, expect_keys, "expect", d)))
            return err;
        for (size_t i = 0; i < expect->n; i++) {
            const char *k = hv_node_key(expect, i)->str;
            bool b;
            err = strcmp(k, "complete") == 0 ? hv_node_bool(&expect->items[i], k, &b, d)
                                             : hv_node_u64(&expect->items[i], k, &u, d);
            if (err)
                return err;
        }
    }
    return 0;
}

static uint64_t arg_u64(const struct hv_node *args, const char *key, uint64_t def)
{
    struct hv_diag d;
    uint64_t u = def;
    const struct hv_node *n = args ? hv_node_get(args, key) : NULL;
    if (n && hv_node_u64(n, key, &u, &d))
        u = def;
    return u;
}

int mig_step(struct hv_vm **vm, const struct hv_kv *base, size_t nbase, const struct hv_node *args,
             const struct hv_node *expect, int (*on_pause)(void *ctx), void *pause_ctx,
             struct hv_kv **kv_out, char *result, size_t size, bool *ok)
{
    const struct hv_node *dc = args ? hv_node_get(args, "dest_config") : NULL;
    size_t nextra = dc ? dc->n : 0, n = nbase;
    struct hv_kv *kv = calloc(nbase + nextra + 1, sizeof *kv);
    if (!kv)
        return HV_ENOMEM;
    memcpy(kv, base, nbase * sizeof *kv);
    for (size_t j = 0; j < nextra; j++) {
        const char *key = hv_node_key(dc, j)->str, *val = dc->items[j].str;
        size_t i = 0;
        while (i < n && strcmp(kv[i].key, key) != 0)
            i++;
        kv[i] = (struct hv_kv){ key, val, &dc->items[j] };
        if (i == n)
            n++;
    }
    *kv_out = kv;
    struct mig_params p = {
        .round_insns = arg_u64(args, "round_insns", 10000),
        .max_rounds = arg_u64(args, "max_rounds", 8),
        .threshold = arg_u64(args, "threshold", 4),
        .page_cost = arg_u64(args, "page_cost", 100),
        .config = kv, .nconfig = n, .on_pause = on_pause, .pause_ctx = pause_ctx,
    };
    struct mig_result r;
    int err = mig_run(vm, &p, &r);
    if (err)
        return err;
    snprintf(result, size,
             "{\"complete\":%s,\"mismatches\":%" PRIu64 ",\"rounds\":%" PRIu64
             ",\"sent\":%" PRIu64 ",\"final_pages\":%" PRIu64 ",\"downtime\":%" PRIu64 "}",
             r.complete ? "true" : "false", r.mismatches, r.rounds, r.sent, r.final_pages,
             r.downtime);
    *ok = true;
    for (size_t i = 0; expect && i < expect->n; i++) {
        const char *k = hv_node_key(expect, i)->str;
        struct hv_diag d;
        if (strcmp(k, "complete") == 0) {
            bool b = false;
            hv_node_bool(&expect->items[i], k, &b, &d);
            *ok = *ok && b == r.complete;
            continue;
        }
        uint64_t want = 0, have = strcmp(k, "mismatches") == 0 ? r.mismatches
                                  : strcmp(k, "rounds") == 0   ? r.rounds
                                  : strcmp(k, "sent") == 0     ? r.sent
                                  : strcmp(k, "final_pages") == 0 ? r.final_pages
                                                               : r.downtime;
        hv_node_u64(&expect->items[i], k, &want, &d);
        *ok = *ok && want == have;
    }
    return 0;
}
