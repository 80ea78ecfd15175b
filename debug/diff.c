/*
 * diff.c - two traces compared event by event (`hvsim diff`).
 *
 * One pass reads both event streams side by side. The first event where any column differs is
 * kept for the divergence report. For the summary, each (kind, vCPU) pair compares its own
 * subsequence: the i-th event of the pair in A against the i-th in B, by a 64-bit FNV-1a hash
 * of (vm, icount, pc, detail), the seq left out since one extra event shifts every later one.
 *
 * Invariants of struct dv_key while the pass runs:
 *   1. q holds the hashes and seqs of the pair's events that one side (q_side) has read and
 *      the other not yet; it is empty once the pair departed (nothing more is compared).
 *   2. departed is set at the first unequal i-th pair, or, at the end, when q is not empty
 *      (one side has events the other has not); depart_seq is the lower seq of that pair.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "debug/diff.h"
#include "debug/divergence.h"
#include "debug/srcline.h"
#include "runner/runner.h"
#include "runner/scenario.h"
#include "sim/hv.h"
#include "trace/trace.h"

#define DF_SLOTS (HV_MAX_VCPUS + 1)   /* vCPU -1 (the VM or host), 0 .. HV_MAX_VCPUS - 1 */

struct dv_pending {
    uint64_t hash, seq;
};

struct dv_key {
    uint64_t count[2];
    struct dv_pending *q;
    size_t head, len, cap;
    int q_side;
    bool departed;
    uint64_t depart_seq;
};

struct df_side {
    const char *path;
    struct trace_reader *r;
    struct srcline *src;
    struct scenario *sc;
    uint64_t events;
    bool complete;
};

struct df {
    struct df_side s[2];
    struct dv_key *keys;          /* [HV_EV__COUNT * DF_SLOTS] */
    bool differ;
    struct divergence_event first[2];
};

/* The run_info entries that are a run's inputs and versions: the ones diff names when they
 * differ. */
static const char *const df_inputs[] = {
    "seed", "sets", "config", "backend", "hvsim_version", "unicorn_version",
    "capstone_version", "scenario_path",
};

static uint64_t df_hash(const struct hv_event *ev)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    uint64_t cols[3] = { ev->vm, ev->icount, ev->pc };
    const uint8_t *p = (const uint8_t *)cols;
    for (size_t i = 0; i < sizeof cols; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    for (const char *c = ev->detail ? ev->detail : ""; *c; c++)
        h = (h ^ (uint8_t)*c) * 0x100000001b3ULL;
    return h;
}

static bool df_same(const struct hv_event *a, const struct hv_event *b)
{
    return a->seq == b->seq && a->vm == b->vm && a->vcpu == b->vcpu && a->icount == b->icount &&
           a->kind == b->kind && a->pc == b->pc &&
           strcmp(a->detail ? a->detail : "", b->detail ? b->detail : "") == 0;
}

static void key_depart(struct dv_key *k, uint64_t seq)
{
    k->departed = true;
    k->depart_seq = seq;
    k->len = 0;
}

/* One event of side s for its (kind, vCPU) pair. */
static int key_add(struct dv_key *k, int s, const struct hv_event *ev)
{
    k->count[s]++;
    if (k->departed)
        return 0;
    uint64_t h = df_hash(ev);
    if (k->len && k->q_side != s) {
        struct dv_pending p = k->q[k->head];
        k->head = (k->head + 1) % k->cap;
        k->len--;
        if (p.hash != h)
            key_depart(k, p.seq < ev->seq ? p.seq : ev->seq);
        return 0;
    }
    if (k->len == k->cap) {   /* grow the ring, unrolled to start at 0 */
        size_t cap = k->cap ? k->cap * 2 : 16;
        struct dv_pending *q = malloc(cap * sizeof *q);
        if (!q)
            return HV_ENOMEM;
        for (size_t i = 0; i < k->len; i++)
            q[i] = k->q[(k->head + i) % k->cap];
        free(k->q);
        k->q = q;
        k->cap = cap;
        k->head = 0;
    }
    k->q[(k->head + k->len) % k->cap] = (struct dv_pending){ h, ev->seq };
    k->len++;
    k->q_side = s;
    return 0;
}

static int df_open(struct df_side *s, FILE *errf)
{
    int err = trace_reader_open(&s->r, s->path);
    if (err) {
        if (*hv_error_detail())
            fprintf(errf, "hvsim: %s\n", hv_error_detail());
        else
            fprintf(errf, "hvsim: %s: %s\n", s->path, hv_strerror(err));
        return err;
    }
    s->complete = trace_reader_complete(s->r);
    void *elf = NULL;
    size_t len = 0;
    if (trace_reader_blob(s->r, "guest.elf", &elf, &len) == 0 && srcline_open(&s->src, elf, len))
        s->src = NULL;   /* no sources for an image libelf cannot read */
    free(elf);
    char *text = NULL, *spath = NULL;
    struct hv_diag d;
    if (trace_reader_info(s->r, "scenario_text", &text) == 0 &&
        trace_reader_info(s->r, "scenario_path", &spath) == 0 &&
        scenario_parse(&s->sc, spath, text, strlen(text), &d))
        s->sc = NULL;    /* steps are then named by index only */
    free(text);
    free(spath);
    return 0;
}

/* Refuses two traces of different scenarios, saying what differs. */
static int df_same_scenario(struct df *df, FILE *errf)
{
    static const char *const keys[] = { "scenario_name", "model", "arch" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char *v[2] = { NULL, NULL };
        for (int s = 0; s < 2; s++)
            if (trace_reader_info(df->s[s].r, keys[i], &v[s]))
                v[s] = NULL;
        bool same = v[0] && v[1] && strcmp(v[0], v[1]) == 0;
        if (!same)
            fprintf(errf, "hvsim: %s and %s are traces of different scenarios: %s %s%s%s vs "
                          "%s%s%s\n",
                    df->s[0].path, df->s[1].path, keys[i], v[0] ? "'" : "",
                    v[0] ? v[0] : "(none)", v[0] ? "'" : "", v[1] ? "'" : "",
                    v[1] ? v[1] : "(none)", v[1] ? "'" : "");
        free(v[0]);
        free(v[1]);
        if (!same)
            return HV_EINVAL;
    }
    return 0;
}

/* The pass over both streams. Returns 0 or a negative hv_err (with a message on errf). */
static int df_walk(struct df *df, FILE *errf)
{
    int err = 0;
    int more[2] = { 1, 1 };
    struct hv_event ev[2];
    for (int s = 0; s < 2; s++)
        if ((err = trace_reader_events_begin(df->s[s].r, NULL)))
            goto fail;
    while (more[0] > 0 || more[1] > 0) {
        for (int s = 0; s < 2; s++) {
            if (more[s] > 0 && (more[s] = trace_reader_events_next(df->s[s].r, &ev[s])) < 0) {
                err = more[s];
                goto fail;
            }
        }
        if (more[0] <= 0 && more[1] <= 0)
            break;
        if (!df->differ && !(more[0] > 0 && more[1] > 0 && df_same(&ev[0], &ev[1]))) {
            df->differ = true;
            for (int s = 0; s < 2; s++)
                if (more[s] > 0 && (err = divergence_event_set(&df->first[s], &ev[s])))
                    goto fail;
        }
        for (int s = 0; s < 2; s++) {
            if (more[s] <= 0)
                continue;
            df->s[s].events++;
            const struct hv_event *e = &ev[s];
            if (e->vcpu < -1 || e->vcpu >= HV_MAX_VCPUS || (unsigned)e->kind >= HV_EV__COUNT) {
                fprintf(errf, "hvsim: %s: event %" PRIu64 " has vCPU %d, outside -1 .. %d\n",
                        df->s[s].path, e->seq, e->vcpu, HV_MAX_VCPUS - 1);
                return HV_ETRACE;
            }
            err = key_add(&df->keys[(size_t)e->kind * DF_SLOTS + (size_t)(e->vcpu + 1)], s, e);
            if (err)
                goto fail;
        }
    }
    for (size_t i = 0; i < (size_t)HV_EV__COUNT * DF_SLOTS; i++) {
        struct dv_key *k = &df->keys[i];
        if (!k->departed && k->len)
            key_depart(k, k->q[k->head].seq);
    }
    return 0;
fail:
    fprintf(errf, "hvsim: reading %s and %s: %s %s\n", df->s[0].path, df->s[1].path,
            hv_strerror(err), hv_error_detail());
    return err;
}

/* ---- output -------------------------------------------------------------------------------- */

/* Whether the guest images of both traces are byte-identical (absent on both: yes). */
static bool df_same_image(struct df *df)
{
    void *img[2] = { NULL, NULL };
    size_t len[2] = { 0, 0 };
    for (int s = 0; s < 2; s++)
        if (trace_reader_blob(df->s[s].r, "guest.elf", &img[s], &len[s]))
            img[s] = NULL;
    bool same = (!img[0]) == (!img[1]) && len[0] == len[1] &&
                (!img[0] || memcmp(img[0], img[1], len[0]) == 0);
    free(img[0]);
    free(img[1]);
    return same;
}

/* The input entries that differ, as text ("  seed: 0 | 3") or JSON members. */
static void df_inputs_out(struct df *df, bool json, FILE *out)
{
    bool firstm = true;
    for (size_t i = 0; i < sizeof df_inputs / sizeof df_inputs[0]; i++) {
        char *v[2] = { NULL, NULL };
        for (int s = 0; s < 2; s++)
            if (trace_reader_info(df->s[s].r, df_inputs[i], &v[s]))
                v[s] = NULL;
        if (!(v[0] && v[1] && strcmp(v[0], v[1]) == 0)) {
            if (json) {
                fputs(firstm ? "{\"key\":" : ",{\"key\":", out);
                divergence_json_str(out, df_inputs[i]);
                for (int s = 0; s < 2; s++) {
                    fputs(s ? ",\"B\":" : ",\"A\":", out);
                    if (v[s])
                        divergence_json_str(out, v[s]);
                    else
                        fputs("null", out);
                }
                fputc('}', out);
            } else {
                /* a --set list is stored one KEY=VALUE a line */
                for (int s = 0; s < 2; s++)
                    for (char *c = v[s]; c && *c; c++)
                        if (*c == '\n')
                            *c = c[1] ? ' ' : '\0';
                fprintf(out, "  %s: %s | %s\n", df_inputs[i], v[0] && *v[0] ? v[0] : "(none)",
                        v[1] && *v[1] ? v[1] : "(none)");
            }
            firstm = false;
        }
        free(v[0]);
        free(v[1]);
    }
    if (!df_same_image(df)) {
        if (json)
            fprintf(out, "%s{\"key\":\"guest.elf\",\"A\":null,\"B\":null}", firstm ? "" : ",");
        else
            fputs("  guest image: differs\n", out);
    }
}

static const char *df_kind_name(size_t kind)
{
    const struct hv_kind_desc *kd = hv_kind_desc((enum hv_ev_kind)kind);
    return kd ? kd->name : "?";
}

static void df_summary_text(const struct df *df, FILE *out)
{
    fprintf(out, "by kind and vCPU:\n  %-16s %5s %10s %10s  %s\n", "kind", "vcpu", "A", "B",
            "first differs at seq");
    for (size_t i = 0; i < (size_t)HV_EV__COUNT * DF_SLOTS; i++) {
        const struct dv_key *k = &df->keys[i];
        if (!k->count[0] && !k->count[1])
            continue;
        char dep[24] = "-";
        if (k->departed)
            snprintf(dep, sizeof dep, "%" PRIu64, k->depart_seq);
        fprintf(out, "  %-16s %5d %10" PRIu64 " %10" PRIu64 "  %s\n", df_kind_name(i / DF_SLOTS),
                (int)(i % DF_SLOTS) - 1, k->count[0], k->count[1], dep);
    }
}

static void df_summary_json(const struct df *df, FILE *out)
{
    fputs("\"summary\":[", out);
    bool firstr = true;
    for (size_t i = 0; i < (size_t)HV_EV__COUNT * DF_SLOTS; i++) {
        const struct dv_key *k = &df->keys[i];
        if (!k->count[0] && !k->count[1])
            continue;
        fprintf(out, "%s{\"kind\":\"%s\",\"vcpu\":%d,\"A\":%" PRIu64 ",\"B\":%" PRIu64
                     ",\"first_differs\":",
                firstr ? "" : ",", df_kind_name(i / DF_SLOTS), (int)(i % DF_SLOTS) - 1,
                k->count[0], k->count[1]);
        if (k->departed)
            fprintf(out, "%" PRIu64 "}", k->depart_seq);
        else
            fputs("null}", out);
        firstr = false;
    }
    fputc(']', out);
}

static int df_report(struct df *df, bool json, FILE *out)
{
    struct divergence dv = {
        .side = { { "A", df->first[0], df->s[0].src, df->s[0].sc },
                  { "B", df->first[1], df->s[1].src, df->s[1].sc } },
        .history = df->s[0].r,
    };
    int err = 0;
    if (json) {
        fputs("{\"traces\":{", out);
        for (int s = 0; s < 2; s++) {
            fputs(s ? ",\"B\":{\"path\":" : "\"A\":{\"path\":", out);
            divergence_json_str(out, df->s[s].path);
            fprintf(out, ",\"events\":%" PRIu64 ",\"complete\":%s}", df->s[s].events,
                    df->s[s].complete ? "true" : "false");
        }
        fprintf(out, "},\"identical\":%s,\"inputs\":[", df->differ ? "false" : "true");
        df_inputs_out(df, true, out);
        fputs("],\"first\":", out);
        if (df->differ)
            err = divergence_json(&dv, out);
        else
            fputs("null", out);
        fputc(',', out);
        df_summary_json(df, out);
        fputs("}\n", out);
        return err;
    }
    for (int s = 0; s < 2; s++)
        fprintf(out, "%s: %s, %" PRIu64 " events%s\n", s ? "B" : "A", df->s[s].path,
                df->s[s].events, df->s[s].complete ? "" : " (incomplete trace)");
    fputs("recorded inputs that differ (A | B):\n", out);
    df_inputs_out(df, false, out);
    if (!df->differ) {
        fprintf(out, "identical: %" PRIu64 " events\n", df->s[0].events);
        return 0;
    }
    uint64_t seq = divergence_seq(&dv);
    const struct divergence_event *e = dv.side[0].ev.present ? &dv.side[0].ev : &dv.side[1].ev;
    fprintf(out, "first difference at seq %" PRIu64 " (%s, vCPU %d) after %" PRIu64
                 " identical events\n",
            seq, df_kind_name(e->ev.kind), e->ev.vcpu, seq);
    if ((err = divergence_print(&dv, out)))
        return err;
    df_summary_text(df, out);
    return 0;
}

int diff_traces(const char *a, const char *b, bool json, FILE *out, FILE *errf)
{
    struct df df;
    memset(&df, 0, sizeof df);
    df.s[0].path = a;
    df.s[1].path = b;
    int code = HV_EXIT_BADINPUT;
    if (df_open(&df.s[0], errf) || df_open(&df.s[1], errf) || df_same_scenario(&df, errf))
        goto out;
    if (!(df.keys = calloc((size_t)HV_EV__COUNT * DF_SLOTS, sizeof *df.keys))) {
        fprintf(errf, "hvsim: %s\n", hv_strerror(HV_ENOMEM));
        goto out;
    }
    if (df_walk(&df, errf))
        goto out;
    int err = df_report(&df, json, out);
    if (err) {
        fprintf(errf, "hvsim: %s: %s %s\n", a, hv_strerror(err), hv_error_detail());
        goto out;
    }
    code = df.differ ? HV_EXIT_FAILED : HV_EXIT_OK;
out:
    for (int s = 0; s < 2; s++) {
        trace_reader_close(df.s[s].r);
        srcline_close(df.s[s].src);
        scenario_destroy(df.s[s].sc);
        divergence_event_fini(&df.first[s]);
    }
    if (df.keys)
        for (size_t i = 0; i < (size_t)HV_EV__COUNT * DF_SLOTS; i++)
            free(df.keys[i].q);
    free(df.keys);
    return code;
}
