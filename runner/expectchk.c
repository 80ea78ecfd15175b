/*
 * expectchk.c - a scenario's `expect` checked against what a finished run left.
 *
 * Invariant: every comparison made is handed to view->emit exactly once, in the order
 * outcome, vcpus.0..N-1, then the scenario's keys in file order; a failing comparison does
 * not stop the walk, only a callback's error does.
 */
#include "runner/expectchk.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/runner.h"
#include "sim/hv_err.h"
#include "trace/event.h"

/* s as a JSON string in a new buffer, or NULL: no memory. Caller frees. */
static char *json_string(const char *s)
{
    size_t size = strlen(s) * 6 + 3, l = 0;  /* a character takes at most 6 bytes (\u00XX) */
    char *buf = malloc(size);
    if (buf)
        hv_json_str(buf, size, &l, s);
    return buf;
}

/* {"state":S} or {"state":S,"why":W} (why not NULL). Caller frees; NULL: no memory. */
static char *state_json(const char *state, const char *why)
{
    size_t size = 32 + 6 * (strlen(state) + (why ? strlen(why) : 0)), l = 0;
    char *buf = malloc(size);
    if (!buf)
        return NULL;
    l = (size_t)snprintf(buf, size, "{\"state\":");
    hv_json_str(buf, size, &l, state);
    if (why) {
        l += (size_t)snprintf(buf + l, size - l, ",\"why\":");
        hv_json_str(buf, size, &l, why);
    }
    snprintf(buf + l, size - l, "}");
    return buf;
}

/* The `vcpus` entry for vCPU id, or NULL. */
static const struct hv_node *vcpus_entry(const struct hv_node *vn, unsigned id)
{
    for (size_t j = 0; vn && j < vn->n; j++) {
        uint64_t k;
        if (hv_node_u64(hv_node_key(vn, j), "vcpus", &k, NULL) == 0 && k == id)
            return &vn->items[j];
    }
    return NULL;
}

/* Emits a comparison whose expected and actual texts are built here; frees them. */
static int emit_owned(const struct expect_view *v, const char *what, char *exp, char *act,
                      bool ok)
{
    int err = exp && act ? v->emit(v->ctx, what, exp, act, ok) : HV_ENOMEM;
    free(exp);
    free(act);
    return err;
}

/*
 * Each vCPU's end state: as its `vcpus` entry says, else (when the run is expected to end
 * done) "done", as GUEST_DONE leaves it; a run expected to end otherwise checks only the
 * vCPUs listed.
 */
static int check_vcpus(const struct hv_node *vn, const char *want_outcome,
                       const struct expect_view *v)
{
    bool all = strcmp(want_outcome, "done") == 0;
    int err = 0;
    for (unsigned i = 0; i < v->nr_vcpus && !err; i++) {
        const struct hv_node *en = vcpus_entry(vn, i);
        if (!en && !all)
            continue;
        const struct hv_node *wn = en && en->type == HV_NODE_MAP ? hv_node_get(en, "why") : NULL;
        const char *want = !en ? "done" : en->type == HV_NODE_MAP ? hv_node_get(en, "state")->str
                                                                   : en->str;
        const char *why = NULL;
        const char *have = v->vcpu_state(v->ctx, i, &why);
        char what[32];
        snprintf(what, sizeof what, "vcpus.%u", i);
        bool ok = strcmp(want, have) == 0 && (!wn || (why && strcmp(wn->str, why) == 0));
        err = emit_owned(v, what, state_json(want, wn ? wn->str : NULL), state_json(have, why),
                         ok);
    }
    return err;
}

/* {"file":F,"line":L} in a new buffer. Caller frees; NULL: no memory. */
static char *assert_json(const char *file, uint64_t line)
{
    size_t size = 48 + strlen(file) * 6, l;
    char *buf = malloc(size);
    if (!buf)
        return NULL;
    l = (size_t)snprintf(buf, size, "{\"file\":");
    hv_json_str(buf, size, &l, file);
    snprintf(buf + l, size - l, ",\"line\":%" PRIu64 "}", line);
    return buf;
}

static int check_assert(const struct hv_node *n, const struct expect_view *v)
{
    const struct hv_node *f = hv_node_get(n, "file"), *ln = hv_node_get(n, "line");
    const char *file = v->assert_file ? v->assert_file : "";
    uint64_t line = v->assert_line, wline = 0;
    bool ok = v->asserted;
    if (f) {
        size_t fl = strlen(f->str), hl = strlen(file);
        ok = ok && hl >= fl && strcmp(file + hl - fl, f->str) == 0 &&
             (hl == fl || file[hl - fl - 1] == '/');
    }
    if (ln) {
        struct hv_diag d;
        hv_node_u64(ln, "line", &wline, &d);
        ok = ok && wline == line;
    }
    return emit_owned(v, "assert", assert_json(f ? f->str : "*", wline), assert_json(file, line),
                      ok);
}

static int check_events(const struct hv_node *n, const struct expect_view *v)
{
    int err = 0;
    for (size_t j = 0; j < n->n && !err; j++) {
        const char *kind = hv_node_key(n, j)->str;
        uint64_t have = 0;
        if (!v->count(v->ctx, hv_kind_lookup(kind), &have))
            continue;
        char what[128], act[24];
        snprintf(what, sizeof what, "events.%s", kind);
        snprintf(act, sizeof act, "%" PRIu64, have);
        char *exp = json_string(n->items[j].str);
        err = exp ? v->emit(v->ctx, what, exp, act, runner_count_ok(&n->items[j], have))
                  : HV_ENOMEM;
        free(exp);
    }
    return err;
}

static int check_memory(const struct hv_node *n, const struct expect_view *v)
{
    int err = 0;
    for (size_t j = 0; j < n->n && !err; j++) {
        struct hv_diag d;
        uint64_t gpa = 0;
        struct runner_bytes mv;
        uint8_t got[sizeof mv.bytes];
        char what[64], exp[2 * sizeof mv.bytes + 3], act[2 * sizeof mv.bytes + 3];
        hv_node_u64(hv_node_get(&n->items[j], "gpa"), "gpa", &gpa, &d);
        runner_mem_value(&n->items[j], &mv, &d);
        bool ok = v->read_gpa(v->ctx, gpa, got, mv.len) == 0;
        exp[0] = act[0] = '"';
        hv_hex(mv.bytes, mv.len, exp + 1);
        if (ok)
            hv_hex(got, mv.len, act + 1);
        else
            strcpy(act + 1, "unbacked");
        strcat(exp, "\"");
        strcat(act, "\"");
        snprintf(what, sizeof what, "memory[0x%" PRIx64 "]", gpa);
        err = v->emit(v->ctx, what, exp, act, ok && memcmp(got, mv.bytes, mv.len) == 0);
    }
    return err;
}

static int check_registers(const struct hv_node *n, const struct expect_view *v)
{
    int err = 0;
    for (size_t j = 0; j < n->n && !err; j++) {
        const struct hv_node *rv = &n->items[j];
        unsigned id = (unsigned)strtoul(hv_node_key(n, j)->str + 4, NULL, 10);
        for (size_t k = 0; k < rv->n && !err; k++) {
            struct hv_diag d;
            const char *reg = hv_node_key(rv, k)->str;
            uint64_t want = 0, got = 0;
            char what[96], exp[24], act[24];
            hv_node_u64(&rv->items[k], reg, &want, &d);
            int e2 = v->reg(v->ctx, id, reg, &got);
            snprintf(what, sizeof what, "registers.vcpu%u.%s", id, reg);
            snprintf(exp, sizeof exp, "%" PRIu64, want);
            snprintf(act, sizeof act, e2 ? "null" : "%" PRIu64, got);
            err = v->emit(v->ctx, what, exp, act, !e2 && got == want);
        }
    }
    return err;
}

static int check_model_key(const char *key, const struct hv_node *n, const struct expect_view *v)
{
    if (!v->model_key)
        return 0;
    bool ok = false;
    char actual[4096] = "null";
    int err = v->model_key(v->ctx, key, n, actual, sizeof actual, &ok);
    if (err)
        return err;
    size_t elen = hv_node_json(n, NULL, 0) + 1;
    char *expected = malloc(elen);
    if (!expected)
        return HV_ENOMEM;
    hv_node_json(n, expected, elen);
    err = v->emit(v->ctx, key, expected, actual, ok);
    free(expected);
    return err;
}

int runner_check_expect(const struct hv_node *e, const struct expect_view *v)
{
    const struct hv_node *on = e ? hv_node_get(e, "outcome") : NULL;
    const char *want = on ? on->str : "done";
    int err = emit_owned(v, "outcome", json_string(want), json_string(v->outcome),
                         strcmp(want, v->outcome) == 0);
    if (!err)
        err = check_vcpus(e ? hv_node_get(e, "vcpus") : NULL, want, v);
    for (size_t i = 0; e && i < e->n && !err; i++) {
        const char *key = hv_node_key(e, i)->str;
        const struct hv_node *n = &e->items[i];
        if (strcmp(key, "outcome") == 0 || strcmp(key, "vcpus") == 0)
            continue;
        if (strcmp(key, "assert") == 0)
            err = check_assert(n, v);
        else if (strcmp(key, "events") == 0)
            err = check_events(n, v);
        else if (strcmp(key, "output") == 0)
            err = emit_owned(v, "output", json_string(n->str), json_string(v->output),
                             strcmp(n->str, v->output) == 0);
        else if (strcmp(key, "memory") == 0)
            err = check_memory(n, v);
        else if (strcmp(key, "registers") == 0)
            err = check_registers(n, v);
        else
            err = check_model_key(key, n, v);
    }
    return err;
}
