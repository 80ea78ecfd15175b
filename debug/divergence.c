/*
 * divergence.c - the divergence report shared by `hvsim replay` and `hvsim diff`.
 *
 * Detail keys are compared leaf by leaf with SQLite's json_tree() (JSON1 is built into
 * Debian's SQLite) on a private in-memory connection, so nested values (a step's result) are
 * reported by path and an unchanged sibling is left out.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "debug/divergence.h"
#include "debug/srcline.h"
#include "runner/scenario.h"
#include "sim/hv_err.h"
#include "trace/trace.h"

int divergence_event_set(struct divergence_event *e, const struct hv_event *ev)
{
    char *copy = strdup(ev->detail ? ev->detail : "");
    if (!copy)
        return HV_ENOMEM;
    free(e->detail);
    e->present = true;
    e->ev = *ev;
    e->detail = copy;
    e->ev.detail = copy;
    e->ev.detail_len = strlen(copy);
    e->ev.fields = NULL;
    return 0;
}

void divergence_event_fini(struct divergence_event *e)
{
    free(e->detail);
    memset(e, 0, sizeof *e);
}

uint64_t divergence_seq(const struct divergence *d)
{
    return d->side[0].ev.present ? d->side[0].ev.ev.seq : d->side[1].ev.ev.seq;
}

static const char *kind_name(enum hv_ev_kind k)
{
    const struct hv_kind_desc *kd = hv_kind_desc(k);
    return kd ? kd->name : "?";
}

/* ---- the facts, gathered once for both output forms ------------------------------------ */

#define DV_MAX_DIFFS 64

struct dv_diff {
    char *key;        /* "icount", "via", "result.bitmap" */
    char *val[2];     /* JSON text of each side's value; NULL: absent on that side */
};

struct dv_step {
    bool present;
    uint64_t index;
    const char *action;
    const char *file;
    int line;
    char args[1024];  /* JSON, "null" without args */
    char at[256];     /* the trigger as it fired, from the event */
};

struct dv_facts {
    struct dv_diff diffs[DV_MAX_DIFFS];
    size_t ndiffs;
    bool more_diffs;                           /* more than DV_MAX_DIFFS differ */
    bool has_loc[2];
    struct srcline_loc loc[2];
    struct dv_step step;                       /* the diverging event is a step */
    struct divergence_event next;              /* the recorded event after it, a step */
    struct dv_step next_step;
    struct divergence_event hist[DIVERGENCE_HISTORY];
    size_t nhist;
    int32_t hist_vcpu;                         /* the vCPU of hist, -1: any */
};

static void facts_fini(struct dv_facts *f)
{
    for (size_t i = 0; i < f->ndiffs; i++) {
        free(f->diffs[i].key);
        free(f->diffs[i].val[0]);
        free(f->diffs[i].val[1]);
    }
    divergence_event_fini(&f->next);
    for (size_t i = 0; i < f->nhist; i++)
        divergence_event_fini(&f->hist[i]);
}

static int add_diff(struct dv_facts *f, const char *key, const char *a, const char *b)
{
    if (f->ndiffs == DV_MAX_DIFFS) {
        f->more_diffs = true;
        return 0;
    }
    struct dv_diff *x = &f->diffs[f->ndiffs];
    x->key = strdup(key);
    x->val[0] = a ? strdup(a) : NULL;
    x->val[1] = b ? strdup(b) : NULL;
    f->ndiffs++;
    if (!x->key || (a && !x->val[0]) || (b && !x->val[1]))
        return HV_ENOMEM;
    return 0;
}

static int add_column(struct dv_facts *f, const char *key, uint64_t a, uint64_t b, bool hex,
                      bool is_signed)
{
    if (a == b)
        return 0;
    char ta[32], tb[32];
    if (hex) {
        snprintf(ta, sizeof ta, "\"0x%" PRIx64 "\"", a);
        snprintf(tb, sizeof tb, "\"0x%" PRIx64 "\"", b);
    } else if (is_signed) {
        snprintf(ta, sizeof ta, "%" PRId64, (int64_t)a);
        snprintf(tb, sizeof tb, "%" PRId64, (int64_t)b);
    } else {
        snprintf(ta, sizeof ta, "%" PRIu64, a);
        snprintf(tb, sizeof tb, "%" PRIu64, b);
    }
    return add_diff(f, key, ta, tb);
}

/* Each leaf of a JSON text as (path without "$." and the quotes SQLite puts around some
 * keys, value as JSON text), in document order; an empty object or array is a leaf. */
#define DV_LEAVES(p)                                                                           \
    "SELECT id, replace(substr(fullkey, CASE WHEN fullkey LIKE '$.%' THEN 3 ELSE 1 END), "     \
    "'\"', '') AS k, "                                                                         \
    "CASE type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' "    \
    "WHEN 'object' THEN value WHEN 'array' THEN value ELSE json_quote(value) END AS v "        \
    "FROM json_tree(" p ") WHERE type NOT IN ('object', 'array') OR value IN ('{}', '[]')"

static const char dv_detail_sql[] =
    "WITH a AS (" DV_LEAVES("?1") "), b AS (" DV_LEAVES("?2") ") "
    "SELECT k, a.v, b.v FROM a LEFT JOIN b USING (k) WHERE a.v IS NOT b.v "
    "UNION ALL SELECT k, NULL, v FROM (SELECT b.k, b.v, b.id FROM b "
    "WHERE b.k NOT IN (SELECT k FROM a) ORDER BY b.id)";

static bool json_ok(sqlite3 *db, const char *text)
{
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(db, "SELECT json_valid(?1) AND json_type(?1) = 'object'", -1,
                                 &st, NULL) == SQLITE_OK &&
              sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    return ok;
}

/* The detail keys that differ; a detail that is not a JSON object is compared whole. */
static int detail_diffs(struct dv_facts *f, sqlite3 *db, const char *a, const char *b)
{
    sqlite3_stmt *st = NULL;
    int err = 0;
    bool valid = a && b && json_ok(db, a) && json_ok(db, b);
    if (!valid) {
        if (strcmp(a ? a : "", b ? b : "") != 0)
            err = add_diff(f, "detail", a, b);
        return err;
    }
    if (sqlite3_prepare_v2(db, dv_detail_sql, -1, &st, NULL) != SQLITE_OK)
        return hv_error_set(HV_ESQLITE, "detail comparison: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int rc;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = add_diff(f, (const char *)sqlite3_column_text(st, 0),
                       (const char *)sqlite3_column_text(st, 1),
                       (const char *)sqlite3_column_text(st, 2));
    if (!err && rc != SQLITE_DONE)
        err = hv_error_set(HV_ESQLITE, "detail comparison: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return err;
}

/* The scenario step a `step` event ran: its index and trigger from the detail, its place and
 * arguments from the scenario. */
static void step_facts(sqlite3 *db, const struct divergence_event *e, const struct scenario *sc,
                       struct dv_step *out)
{
    memset(out, 0, sizeof *out);
    if (!e->present || e->ev.kind != HV_EV_step)
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT json_extract(?1, '$.index'), ?1 -> '$.at'", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, e->detail, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
        out->present = true;
        out->index = (uint64_t)sqlite3_column_int64(st, 0);
        const unsigned char *at = sqlite3_column_text(st, 1);
        snprintf(out->at, sizeof out->at, "%s", at ? (const char *)at : "null");
    }
    sqlite3_finalize(st);
    snprintf(out->args, sizeof out->args, "null");
    if (!out->present || !sc || out->index >= sc->nsteps)
        return;
    const struct sc_step *s = &sc->steps[out->index];
    out->action = s->action;
    out->file = sc->path;
    out->line = s->node ? s->node->line : 0;
    if (s->args)
        hv_node_json(s->args, out->args, sizeof out->args);
}

/*
 * The last DIVERGENCE_HISTORY events before seq of vcpu (-1: of any vCPU), oldest first. The
 * window read grows from 64 events until it holds enough or reaches seq 0.
 */
static int history(struct trace_reader *r, uint64_t seq, int32_t vcpu, uint32_t vm,
                   struct dv_facts *f)
{
    int64_t window = 64;
    if (seq == 0)
        return 0;   /* nothing before; a filter's `to` of -1 would mean no bound */
    for (;;) {
        int64_t from = (int64_t)seq - window;
        if (from < 0)
            from = 0;
        struct trace_filter flt = { vcpu < 0 ? -2 : vcpu, NULL, from, (int64_t)seq - 1,
                                    vcpu >= 0, vm };
        for (size_t i = 0; i < f->nhist; i++)
            divergence_event_fini(&f->hist[i]);
        f->nhist = 0;
        size_t total = 0;
        int err = trace_reader_events_begin(r, &flt);
        struct hv_event ev;
        int got;
        while (!err && (got = trace_reader_events_next(r, &ev)) > 0) {
            /* a ring of the last DIVERGENCE_HISTORY */
            err = divergence_event_set(&f->hist[total % DIVERGENCE_HISTORY], &ev);
            total++;
        }
        if (!err && got < 0)
            err = got;
        if (err)
            return err;
        f->nhist = total < DIVERGENCE_HISTORY ? total : DIVERGENCE_HISTORY;
        if (total > DIVERGENCE_HISTORY) {   /* rotate the ring to oldest first */
            struct divergence_event tmp[DIVERGENCE_HISTORY];
            for (size_t i = 0; i < DIVERGENCE_HISTORY; i++)
                tmp[i] = f->hist[(total + i) % DIVERGENCE_HISTORY];
            memcpy(f->hist, tmp, sizeof tmp);
        }
        if (f->nhist == DIVERGENCE_HISTORY || from == 0)
            return 0;
        window *= 16;
    }
}

/* The recorded event right after seq, kept only when it is a step. */
static int next_step(struct trace_reader *r, sqlite3 *db, const struct divergence *d,
                     uint64_t seq, struct dv_facts *f)
{
    struct trace_filter flt = { -2, NULL, (int64_t)seq + 1, (int64_t)seq + 1, false, 0 };
    struct hv_event ev;
    int err = trace_reader_events_begin(r, &flt);
    int got = err ? err : trace_reader_events_next(r, &ev);
    if (got <= 0)
        return got;
    if (ev.kind != HV_EV_step)
        return 0;
    if ((err = divergence_event_set(&f->next, &ev)))
        return err;
    step_facts(db, &f->next, d->side[0].sc, &f->next_step);
    return 0;
}

static int gather(const struct divergence *d, struct dv_facts *f)
{
    memset(f, 0, sizeof *f);
    sqlite3 *db = NULL;
    int err = 0;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        err = hv_error_set(HV_ESQLITE, "in-memory database: %s", sqlite3_errmsg(db));
        goto out;
    }
    const struct divergence_event *a = &d->side[0].ev, *b = &d->side[1].ev;
    if (a->present && b->present) {
        const struct hv_event *x = &a->ev, *y = &b->ev;
        if (x->kind != y->kind)
            err = add_diff(f, "kind", kind_name(x->kind), kind_name(y->kind));
        if (!err)
            err = add_column(f, "vm", x->vm, y->vm, false, false);
        if (!err)
            err = add_column(f, "vcpu", (uint64_t)(int64_t)x->vcpu, (uint64_t)(int64_t)y->vcpu,
                             false, true);
        if (!err)
            err = add_column(f, "icount", x->icount, y->icount, false, false);
        if (!err)
            err = add_column(f, "pc", x->pc, y->pc, true, false);
        if (!err)
            err = detail_diffs(f, db, a->detail, b->detail);
        if (err)
            goto out;
    }
    for (int i = 0; i < 2; i++) {
        const struct divergence_side *s = &d->side[i];
        if (s->ev.present && s->ev.ev.vcpu >= 0 && s->ev.ev.pc && s->src)
            f->has_loc[i] = srcline_lookup(s->src, s->ev.ev.pc, &f->loc[i]) == 0;
    }
    /* the same kind on both sides, or the only side: a step either way */
    const struct divergence_side *first = a->present ? &d->side[0] : &d->side[1];
    step_facts(db, &first->ev, first->sc, &f->step);
    uint64_t seq = divergence_seq(d);
    f->hist_vcpu = first->ev.ev.vcpu;
    if (d->history) {
        if ((err = history(d->history, seq, f->hist_vcpu, first->ev.ev.vm, f)))
            goto out;
        if (first->ev.ev.kind != HV_EV_step && (err = next_step(d->history, db, d, seq, f)))
            goto out;
    }
out:
    sqlite3_close(db);
    return err;
}

/* ---- text ------------------------------------------------------------------------------ */

static void print_event(FILE *out, const char *indent, const char *label,
                        const struct divergence_event *e)
{
    if (!e->present) {
        fprintf(out, "%s%s: (none)\n", indent, label);
        return;
    }
    const struct hv_event *v = &e->ev;
    fprintf(out, "%s%s%sseq %" PRIu64 " vm %" PRIu32 " vcpu %d icount %" PRIu64 " pc 0x%" PRIx64
                 " %s %s\n",
            indent, label, *label ? ": " : "", v->seq, v->vm, v->vcpu, v->icount, v->pc, kind_name(v->kind),
            e->detail);
}

static void print_step(FILE *out, const char *what, const struct dv_step *s)
{
    if (!s->action) {
        fprintf(out, "  %s %" PRIu64 " (not in the trace's scenario)\n", what, s->index);
        return;
    }
    fprintf(out, "  %s %" PRIu64 " at %s:%d: %s, at %s, args %s\n", what, s->index, s->file,
            s->line, s->action, s->at, s->args);
}

int divergence_print(const struct divergence *d, FILE *out)
{
    struct dv_facts f;
    int err = gather(d, &f);
    if (err)
        goto out;
    for (int i = 0; i < 2; i++)
        print_event(out, "  ", d->side[i].label, &d->side[i].ev);
    if (f.ndiffs) {
        fprintf(out, "  what differs (%s | %s):\n", d->side[0].label, d->side[1].label);
        for (size_t i = 0; i < f.ndiffs; i++)
            fprintf(out, "    %s: %s | %s\n", f.diffs[i].key,
                    f.diffs[i].val[0] ? f.diffs[i].val[0] : "(absent)",
                    f.diffs[i].val[1] ? f.diffs[i].val[1] : "(absent)");
        if (f.more_diffs)
            fprintf(out, "    (more keys differ)\n");
    }
    if (f.step.present) {
        print_step(out, "host step", &f.step);
    } else {
        /* where each side's pc is; said once when both are the same */
        char where[2][600];
        bool has[2];
        for (int i = 0; i < 2; i++) {
            const struct divergence_side *sd = &d->side[i];
            has[i] = sd->ev.present && sd->src && sd->ev.ev.vcpu >= 0 && sd->ev.ev.pc;
            char loc[560];
            if (f.has_loc[i])
                snprintf(where[i], sizeof where[i], "is in %s",
                         srcline_format(&f.loc[i], loc, sizeof loc));
            else
                snprintf(where[i], sizeof where[i], "is outside the guest image (no symbol, "
                                                    "no line)");
        }
        bool same = has[0] && has[1] && d->side[0].ev.ev.pc == d->side[1].ev.ev.pc &&
                    strcmp(where[0], where[1]) == 0;
        for (int i = 0; i < 2; i++) {
            if (!has[i])
                continue;
            fprintf(out, "  %s%spc 0x%" PRIx64 " %s\n", same ? "" : d->side[i].label,
                    same ? "" : " ", d->side[i].ev.ev.pc, where[i]);
            if (same)
                break;
        }
        if (f.next.present) {
            char what[64];
            snprintf(what, sizeof what, "next recorded event: seq %" PRIu64 ", host step",
                     f.next.ev.seq);
            print_step(out, what, &f.next_step);
        }
    }
    if (f.nhist) {
        if (f.hist_vcpu >= 0)
            fprintf(out, "  the last %zu events of vCPU %d before it:\n", f.nhist, f.hist_vcpu);
        else
            fprintf(out, "  the last %zu events before it:\n", f.nhist);
        for (size_t i = 0; i < f.nhist; i++)
            print_event(out, "    ", "", &f.hist[i]);
    }
    if (d->context && *d->context && !f.step.present)
        fprintf(out, "%s", d->context);
out:
    facts_fini(&f);
    return err;
}

/* ---- JSON ------------------------------------------------------------------------------ */

void divergence_json_str(FILE *out, const char *s)
{
    size_t cap = strlen(s) * 6 + 3, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fputs("null", out);
        return;
    }
    hv_json_str(buf, cap, &len, s);
    fputs(buf, out);
    free(buf);
}

static void put_event(FILE *out, const struct divergence_event *e)
{
    if (!e->present) {
        fputs("null", out);
        return;
    }
    const struct hv_event *v = &e->ev;
    fprintf(out, "{\"seq\":%" PRIu64 ",\"vm\":%" PRIu32 ",\"vcpu\":%d,\"icount\":%" PRIu64
                 ",\"kind\":\"%s\",\"pc\":\"0x%" PRIx64 "\",\"detail\":%s}",
            v->seq, v->vm, v->vcpu, v->icount, kind_name(v->kind), v->pc,
            *e->detail ? e->detail : "null");
}

static void put_step(FILE *out, const struct dv_step *s)
{
    if (!s->present) {
        fputs("null", out);
        return;
    }
    fprintf(out, "{\"index\":%" PRIu64 ",\"at\":%s", s->index, s->at);
    if (s->action) {
        fputs(",\"file\":", out);
        divergence_json_str(out, s->file);
        fprintf(out, ",\"line\":%d,\"action\":", s->line);
        divergence_json_str(out, s->action);
        fprintf(out, ",\"args\":%s", s->args);
    }
    fputc('}', out);
}

int divergence_json(const struct divergence *d, FILE *out)
{
    struct dv_facts f;
    int err = gather(d, &f);
    if (err)
        goto out;
    fprintf(out, "{\"seq\":%" PRIu64 ",\"events\":{", divergence_seq(d));
    for (int i = 0; i < 2; i++) {
        divergence_json_str(out, d->side[i].label);
        fputc(':', out);
        put_event(out, &d->side[i].ev);
        fputs(i ? "}" : ",", out);
    }
    fputs(",\"differs\":[", out);
    for (size_t i = 0; i < f.ndiffs; i++) {
        fputs(i ? ",{\"key\":" : "{\"key\":", out);
        divergence_json_str(out, f.diffs[i].key);
        for (int s = 0; s < 2; s++) {
            if (!f.diffs[i].val[s])
                continue;   /* absent on that side */
            fputc(',', out);
            divergence_json_str(out, d->side[s].label);
            fprintf(out, ":%s", f.diffs[i].val[s]);
        }
        fputc('}', out);
    }
    fprintf(out, "],\"more_differs\":%s,\"where\":{", f.more_diffs ? "true" : "false");
    for (int i = 0; i < 2; i++) {
        divergence_json_str(out, d->side[i].label);
        fputc(':', out);
        if (!f.has_loc[i]) {
            fputs("null", out);
        } else {
            const struct srcline_loc *l = &f.loc[i];
            fputs("{\"function\":", out);
            if (l->func[0])
                divergence_json_str(out, l->func);
            else
                fputs("null", out);
            fprintf(out, ",\"offset\":%" PRIu64 ",\"file\":", l->func_off);
            if (l->file[0])
                divergence_json_str(out, l->file);
            else
                fputs("null", out);
            fprintf(out, ",\"line\":%u}", l->line);
        }
        fputs(i ? "}" : ",", out);
    }
    fputs(",\"step\":", out);
    put_step(out, &f.step);
    fputs(",\"next_step\":", out);
    put_step(out, &f.next_step);
    fprintf(out, ",\"history_vcpu\":%d,\"history\":[", f.hist_vcpu);
    for (size_t i = 0; i < f.nhist; i++) {
        if (i)
            fputc(',', out);
        put_event(out, &f.hist[i]);
    }
    fputs("]}", out);
out:
    facts_fini(&f);
    return err;
}
