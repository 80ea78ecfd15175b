/*
 * shrink.c - delta debugging over a failing run's schedule (shrink.h gives the passes).
 *
 * State: `best` is the schedule of the smallest failing run found so far, as that run
 * recorded it (so loading it repeats that run). Each pass proposes candidate schedules derived
 * from best; shrink_try() runs one in a fresh VM and returns whether it is kept; a kept
 * candidate replaces best by what it recorded.
 *
 * Invariants: 1. best's run fails with the target signature; 2. best's switches never grow;
 * 3. candidate runs <= max_runs (shrink_try starts none past it).
 */
#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "explore/explore.h"
#include "explore/shrink.h"
#include "replay/replay.h"
#include "runner/runner.h"
#include "trace/trace.h"

/* The run_info keys a shrunk trace takes from the original as they are. */
static const char *const copied_info[] = {
    "scenario_name", "scenario_path", "scenario_text", "seed", "sets", "config", "model",
    "arch", "hvsim_version", "unicorn_version", "capstone_version", "backend",
};

struct shrink {
    const char *path;
    struct scenario *sc;
    void *elf;
    size_t elf_len;
    char *info[sizeof copied_info / sizeof copied_info[0]];
    unsigned runs, max_runs;
    struct shrink_stats target;      /* the original run */
    struct shrink_stats best_stats;
    struct hv_sched_entry *best;     /* invariant 1 */
    size_t nbest;
};

__attribute__((unused)) static bool shrink_check(const struct shrink *s)
{
    return strcmp(s->best_stats.signature, s->target.signature) == 0 &&
           s->best_stats.switches <= s->target.switches && s->runs <= s->max_runs;
}

/* ---- one run ---- */

struct shrink_obs {
    char assert_at[256];      /* the guest assertion's FILE:LINE, if one failed */
    char failed[480];         /* the first failed step or expectation, as printed */
    struct trace_writer *w;   /* the result's trace, or NULL */
};

static int shrink_sink(void *ctx, const struct hv_event *ev)
{
    struct shrink_obs *o = ctx;
    if (ev->kind == HV_EV_ucall_assert && !o->assert_at[0]) {
        const struct hv_ev_ucall_assert *a = ev->fields;
        if (a)
            snprintf(o->assert_at, sizeof o->assert_at, "%s:%" PRIu64, a->file, a->line);
        else
            snprintf(o->assert_at, sizeof o->assert_at, "%s", ev->detail ? ev->detail : "");
    }
    return o->w ? trace_writer_event(o->w, ev) : 0;
}

/* The first failed line, kept as printed (explore_signature() names it). */
static void shrink_failed(const char *line, void *ctx)
{
    struct shrink_obs *o = ctx;
    if (!o->failed[0])
        snprintf(o->failed, sizeof o->failed, "%s", line);
}

/* Runs the scenario with the loaded schedule sched (borrowed). *st gets the run's numbers;
 * rec (if not NULL) its recorded schedule (caller frees *rec); w (if not NULL) its trace. */
static int shrink_run(struct shrink *s, struct hv_schedule *sched, struct trace_writer *w,
                      struct shrink_stats *st, struct hv_sched_entry **rec, size_t *nrec)
{
    struct shrink_obs o = { .w = w };
    struct runner_result res;
    int err = 0;
    struct runner_hooks hooks = { .failed = shrink_failed, .ctx = &o, .schedule = sched };
    s->runs++;
    err = runner_execute(s->sc, s->elf, s->elf_len, shrink_sink, &o, &hooks, &res);
    /* as explore names it: the assertion when the run ended by one, else the first failure */
    if (err)
        snprintf(st->signature, sizeof st->signature, "simulator error: %s", hv_strerror(err));
    else if (res.outcome == HV_OUT_ASSERT || o.failed[0] || !res.expect_ok)
        explore_signature(res.outcome == HV_OUT_ASSERT ? o.assert_at : NULL, o.failed,
                          st->signature, sizeof st->signature);
    else
        st->signature[0] = '\0';
    st->switches = hv_schedule_switches(sched);
    st->events = res.events;
    st->instructions = res.instructions;
    if (rec) {
        const struct hv_sched_entry *r;
        *nrec = hv_schedule_recorded(sched, &r);
        *rec = malloc((*nrec + 1) * sizeof **rec);
        if (!*rec) {
            err = HV_ENOMEM;
            goto out;
        }
        memcpy(*rec, r, *nrec * sizeof **rec);
    }
    if (w && !err)
        err = replay_schedule_write(w, sched);
    if (w && !err) {
        trace_writer_set_info(w, "outcome", hv_outcome_name(res.outcome));
        trace_writer_set_info_int(w, "exit_code", runner_exit_code(&res));
        trace_writer_set_info_int(w, "instructions", (int64_t)res.instructions);
        err = trace_writer_set_info_int(w, "events", (int64_t)res.events);
    }
out:
    return err;
}

/* shrink_run with e[0..n) loaded. */
static int shrink_run_entries(struct shrink *s, const struct hv_sched_entry *e, size_t n,
                              struct trace_writer *w, struct shrink_stats *st,
                              struct hv_sched_entry **rec, size_t *nrec)
{
    struct hv_schedule *sched = NULL;
    int err = hv_schedule_create(&sched);
    if (!err)
        err = hv_schedule_set(sched, e, n);
    if (!err)
        err = shrink_run(s, sched, w, st, rec, nrec);
    hv_schedule_destroy(sched);
    return err;
}

/* Runs candidate e[0..n); keeps it as best (invariant 1, 2) when it fails the same way with no
 * more switches, and fewer events when `fewer_events`. */
static bool shrink_try(struct shrink *s, const struct hv_sched_entry *e, size_t n,
                       bool fewer_events)
{
    if (s->runs >= s->max_runs)
        return false;
    struct shrink_stats st;
    struct hv_sched_entry *rec = NULL;
    size_t nrec = 0;
    if (shrink_run_entries(s, e, n, NULL, &st, &rec, &nrec) ||
        strcmp(st.signature, s->target.signature) != 0 ||
        st.switches > s->best_stats.switches ||
        (fewer_events && st.events >= s->best_stats.events) ||
        (st.switches == s->best_stats.switches && st.events > s->best_stats.events)) {
        free(rec);
        return false;
    }
    free(s->best);
    s->best = rec;
    s->nbest = nrec;
    s->best_stats = st;
    assert(shrink_check(s));
    return true;
}

/* ---- the passes ---- */

/* best without the decisions marked in drop[0..nbest): a marked slice goes to the vCPU of
 * the slice before it (its context switch is gone), a marked preemption point says no. */
static struct hv_sched_entry *shrink_without(const struct shrink *s, const bool *drop)
{
    struct hv_sched_entry *out = malloc((s->nbest + 1) * sizeof *out);
    bool have = false;
    uint32_t last = 0;
    for (size_t i = 0; out && i < s->nbest; i++) {
        out[i] = s->best[i];
        if (drop[i] && out[i].kind == HV_SCHED_PREEMPT)
            out[i].a = 0;
        if (out[i].kind != HV_SCHED_SLICE)
            continue;
        if (drop[i] && have)
            out[i].a = last;
        have = true;
        last = out[i].a;
    }
    return out;
}

/*
 * ddmin over the entries of best that `pick` selects: tries best without one of k chunks of
 * them (shrink_without; k = 2, 4, ... up to one entry a chunk), keeping each complement that
 * shrink_try keeps.
 * Returns whether best changed.
 */
static bool shrink_ddmin(struct shrink *s, bool (*pick)(const struct shrink *, size_t))
{
    bool changed = false;
    size_t k = 2;
    for (;;) {
        size_t *idx = malloc((s->nbest + 1) * sizeof *idx), m = 0;
        bool *drop = calloc(s->nbest + 1, sizeof *drop);
        if (!idx || !drop) {
            free(idx);
            free(drop);
            return changed;
        }
        for (size_t i = 0; i < s->nbest; i++)
            if (pick(s, i))
                idx[m++] = i;
        bool kept = false;
        if (k > m)
            k = m;
        for (size_t c = 0; m >= 1 && c < k && !kept && s->runs < s->max_runs; c++) {
            size_t lo = m * c / k, hi = m * (c + 1) / k;
            memset(drop, 0, s->nbest * sizeof *drop);
            for (size_t j = lo; j < hi; j++)
                drop[idx[j]] = true;
            struct hv_sched_entry *cand = shrink_without(s, drop);
            kept = cand && shrink_try(s, cand, s->nbest, false);
            free(cand);
        }
        free(idx);
        free(drop);
        if (kept) {
            changed = true;
            k = k > 2 ? k - 1 : 2;
        } else if (k < m && s->runs < s->max_runs) {
            k = 2 * k < m ? 2 * k : m;
        } else {
            return changed;
        }
    }
}

/* The shortest prefix of best's slices (the rest decided round-robin) that still fails, by
 * bisection over its length. Returns whether best changed. */
static bool shrink_prefix(struct shrink *s)
{
    size_t nslices = 0;
    for (size_t i = 0; i < s->nbest; i++)
        nslices += s->best[i].kind == HV_SCHED_SLICE;
    size_t lo = 0, hi = nslices;   /* hi slices fail; is fewer enough? */
    bool changed = false;
    while (lo < hi && s->runs < s->max_runs) {
        size_t mid = lo + (hi - lo) / 2, n = 0, seen = 0;
        struct hv_sched_entry *cand = malloc((s->nbest + 1) * sizeof *cand);
        if (!cand)
            break;
        for (size_t i = 0; i < s->nbest; i++)
            if (s->best[i].kind != HV_SCHED_SLICE || seen++ < mid)
                cand[n++] = s->best[i];
        bool kept = shrink_try(s, cand, n, false);
        free(cand);
        if (kept) {
            changed = true;
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return changed;
}

/* A slice whose vCPU is not the previous slice's: a context switch. */
static bool is_switch(const struct shrink *s, size_t i)
{
    if (s->best[i].kind != HV_SCHED_SLICE)
        return false;
    for (size_t j = i; j-- > 0;)
        if (s->best[j].kind == HV_SCHED_SLICE)
            return s->best[j].a != s->best[i].a;
    return false;
}

static bool is_preempt_yes(const struct shrink *s, size_t i)
{
    return s->best[i].kind == HV_SCHED_PREEMPT && s->best[i].a;
}

/* Moves each seeded trigger point toward LO (then toward HI) by bisection while the failure
 * stays and the run gets shorter. Returns whether best changed. */
static bool shrink_points(struct shrink *s)
{
    bool changed = false;
    for (size_t i = 0; i < s->nbest; i++) {
        if (s->best[i].kind != HV_SCHED_POINT || s->best[i].a >= s->sc->nsteps)
            continue;
        const struct sc_step *st = &s->sc->steps[s->best[i].a];
        for (int dir = 0; dir < 2; dir++) {
            uint64_t edge = dir == 0 ? st->value : st->value_hi;
            uint64_t lo = edge, hi = s->best[i].b;   /* bisect between the edge and best */
            while (lo != hi && s->runs < s->max_runs) {
                uint64_t mid = lo < hi ? lo + (hi - lo) / 2 : hi + (lo - hi + 1) / 2;
                struct hv_sched_entry *cand = malloc((s->nbest + 1) * sizeof *cand);
                if (!cand)
                    return changed;
                memcpy(cand, s->best, s->nbest * sizeof *cand);
                cand[i].b = mid;
                bool kept = shrink_try(s, cand, s->nbest, true);
                free(cand);
                if (kept) {
                    changed = true;
                    hi = mid;   /* best[i].b is mid now (as recorded) */
                } else {
                    lo = lo < hi ? mid + 1 : mid - 1;
                }
            }
        }
    }
    return changed;
}

/* ---- reading the original, writing the result ---- */

static int shrink_open(struct shrink *s, FILE *errf)
{
    struct trace_reader *r = NULL;
    char *text = NULL, *spath = NULL, *seed = NULL, *sets = NULL, *backend = NULL;
    struct hv_schedule *sched = NULL;
    struct hv_diag d;
    char msg[1200];
    int err = trace_reader_open(&r, s->path);
    if (err) {
        fprintf(errf, "hvsim: %s\n", *hv_error_detail() ? hv_error_detail() : hv_strerror(err));
        goto out;
    }
    if (trace_reader_info(r, "backend", &backend) == 0 && strcmp(backend, "kvm") == 0) {
        fprintf(errf, "hvsim: %s: recorded on the real kernel; shrink re-runs model runs "
                      "only\n", s->path);
        err = HV_EINVAL;
        goto out;
    }
    if ((err = hv_schedule_create(&sched)) || (err = replay_schedule_read(r, s->path, sched))) {
        fprintf(errf, "hvsim: %s\n", hv_error_detail());
        goto out;
    }
    if (trace_reader_info(r, "scenario_text", &text) ||
        trace_reader_info(r, "scenario_path", &spath) || trace_reader_info(r, "seed", &seed) ||
        trace_reader_blob(r, "guest.elf", &s->elf, &s->elf_len)) {
        fprintf(errf, "hvsim: %s: trace lacks the inputs needed to re-run it\n", s->path);
        err = HV_EINVAL;
        goto out;
    }
    for (size_t i = 0; i < sizeof copied_info / sizeof copied_info[0]; i++)
        if (trace_reader_info(r, copied_info[i], &s->info[i]))
            s->info[i] = NULL;
    if ((err = scenario_parse(&s->sc, spath, text, strlen(text), &d))) {
        hv_diag_format(&d, msg, sizeof msg);
        fprintf(errf, "hvsim: %s: stored scenario: %s\n", s->path, msg);
        goto out;
    }
    char *end;
    s->sc->seed = strtoull(seed, &end, 10);
    if (trace_reader_info(r, "sets", &sets) == 0)
        for (char *line = strtok(sets, "\n"); line && !err; line = strtok(NULL, "\n"))
            err = scenario_set(s->sc, line);
    if (!err && (err = runner_check(s->sc, &d))) {
        hv_diag_format(&d, msg, sizeof msg);
        fprintf(errf, "hvsim: %s: %s\n", s->path, msg);
        goto out;
    }
    /* the original's decisions, loaded, repeat its run: its numbers, its signature, and
     * best to start from */
    if (!err && (err = shrink_run(s, sched, NULL, &s->target, &s->best, &s->nbest)))
        fprintf(errf, "hvsim: %s: re-running it failed: %s %s\n", s->path, hv_strerror(err),
                hv_error_detail());
    s->best_stats = s->target;
out:
    hv_schedule_destroy(sched);
    trace_reader_close(r);
    free(text);
    free(spath);
    free(seed);
    free(sets);
    free(backend);
    return err;
}

/* Writes best's run to out with the original's inputs; 0 or an hv_err (message on errf). */
static int shrink_write(struct shrink *s, const char *out, FILE *errf)
{
    struct trace_writer *w = NULL;
    struct shrink_stats st;
    int err = trace_writer_open(&w, out);
    for (size_t i = 0; !err && i < sizeof copied_info / sizeof copied_info[0]; i++)
        if (s->info[i])
            err = trace_writer_set_info(w, copied_info[i], s->info[i]);
    if (!err)
        err = trace_writer_set_info(w, "shrunk_from", s->path);
    if (!err)
        err = trace_writer_put_blob(w, "guest.elf", s->elf, s->elf_len);
    if (!err)
        err = shrink_run_entries(s, s->best, s->nbest, w, &st, NULL, NULL);
    if (!err)
        err = trace_writer_finish(w);
    if (err)
        fprintf(errf, "hvsim: %s: %s\n", out, *hv_error_detail() ? hv_error_detail()
                                                                  : hv_strerror(err));
    trace_writer_close(w);
    return err;
}

static void shrink_table(FILE *f, const struct shrink_result *r)
{
    fprintf(f, "%-14s %12s %12s\n", "", "before", "after");
    fprintf(f, "%-14s %12" PRIu64 " %12" PRIu64 "\n", "switches", r->before.switches,
            r->after.switches);
    fprintf(f, "%-14s %12" PRIu64 " %12" PRIu64 "\n", "events", r->before.events,
            r->after.events);
    fprintf(f, "%-14s %12" PRIu64 " %12" PRIu64 "\n", "instructions", r->before.instructions,
            r->after.instructions);
}

int shrink_trace(const char *path, const char *out, unsigned max_runs, FILE *log, FILE *errf,
                 struct shrink_result *res)
{
    struct shrink s = { .path = path, .max_runs = max_runs ? max_runs : 500 };
    int code = HV_EXIT_BADINPUT;
    memset(res, 0, sizeof *res);
    if (shrink_open(&s, errf))
        goto out;
    if (!s.target.signature[0]) {
        fprintf(errf, "hvsim: %s: the run it records did not fail: nothing to shrink\n", path);
        goto out;
    }
    if (log)
        fprintf(log, "shrink: %s: failure: %s; %" PRIu64 " switches, %" PRIu64 " events\n",
                path, s.target.signature, s.target.switches, s.target.events);
    for (unsigned round = 0; round < 4 && s.runs < s.max_runs; round++) {
        bool changed = shrink_prefix(&s);
        changed |= shrink_ddmin(&s, is_switch);
        changed |= shrink_ddmin(&s, is_preempt_yes);
        changed |= shrink_points(&s);
        if (log)
            fprintf(log, "shrink: round %u: %" PRIu64 " switches, %" PRIu64 " events (%u runs)"
                         "\n", round + 1, s.best_stats.switches, s.best_stats.events, s.runs);
        if (!changed)
            break;
    }
    res->before = s.target;
    res->after = s.best_stats;
    res->runs = s.runs;
    if (shrink_write(&s, out, errf))
        goto out;
    FILE *null = fopen("/dev/null", "w");
    int rc = replay_trace(out, NULL, 0, null ? null : errf, errf);
    if (null)
        fclose(null);
    if (log) {
        shrink_table(log, res);
        fprintf(log, "shrink: %u runs; %s: failure %s; replay %s\n", s.runs, out,
                s.best_stats.signature,
                rc == HV_EXIT_DIVERGED || rc == HV_EXIT_BADINPUT ? "DIVERGED" : "identical");
    }
    code = rc == HV_EXIT_DIVERGED || rc == HV_EXIT_BADINPUT ? HV_EXIT_FAILED : HV_EXIT_OK;
out:
    scenario_destroy(s.sc);
    free(s.elf);
    free(s.best);
    for (size_t i = 0; i < sizeof copied_info / sizeof copied_info[0]; i++)
        free(s.info[i]);
    return code;
}

/* ---- the failures of an exploration ---- */

static const char shrunk_sql[] =
    "CREATE TABLE IF NOT EXISTS shrunk(signature TEXT PRIMARY KEY, run INTEGER NOT NULL,"
    " trace TEXT NOT NULL, shrunk TEXT, switches_before INTEGER, switches_after INTEGER,"
    " events_before INTEGER, events_after INTEGER, instructions_before INTEGER,"
    " instructions_after INTEGER, replays INTEGER NOT NULL)";
static const char firsts_sql[] =
    "SELECT run, signature, trace FROM runs r WHERE status != 'pass' AND trace IS NOT NULL"
    " AND run = (SELECT min(run) FROM runs WHERE signature IS r.signature"
    " AND status != 'pass' AND trace IS NOT NULL) ORDER BY run";
static const char put_sql[] =
    "INSERT OR REPLACE INTO shrunk VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

int shrink_explored(const char *dir, FILE *log, FILE *errf)
{
    char path[PATH_MAX];
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL, *put = NULL;
    int err = 0;
    snprintf(path, sizeof path, "%s/results.db", dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, shrunk_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, firsts_sql, -1, &q, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, put_sql, -1, &put, NULL) != SQLITE_OK) {
        err = HV_ESQLITE;
        fprintf(errf, "hvsim explore --shrink: %s: %s\n", path,
                db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    while (sqlite3_step(q) == SQLITE_ROW) {
        int64_t run = sqlite3_column_int64(q, 0);
        const char *sig = (const char *)sqlite3_column_text(q, 1);
        const char *trace = (const char *)sqlite3_column_text(q, 2);
        char in[PATH_MAX], out[2 * PATH_MAX], rel[PATH_MAX];
        snprintf(in, sizeof in, "%s/%s", dir, trace);
        snprintf(rel, sizeof rel, "%.*s-shrunk.db", (int)strlen(trace) - 3, trace);
        snprintf(out, sizeof out, "%s/%s", dir, rel);
        if (log)
            fprintf(log, "explore --shrink: %s: run %" PRId64 " (%s)\n", sig ? sig : "",
                    run, trace);
        struct shrink_result r;
        int code = shrink_trace(in, out, 0, log, errf, &r);
        sqlite3_reset(put);
        sqlite3_bind_text(put, 1, sig ? sig : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(put, 2, run);
        sqlite3_bind_text(put, 3, trace, -1, SQLITE_TRANSIENT);
        if (code == HV_EXIT_BADINPUT) {
            for (int k = 4; k <= 10; k++)
                sqlite3_bind_null(put, k);
        } else {
            sqlite3_bind_text(put, 4, rel, -1, SQLITE_TRANSIENT);
            const uint64_t v[6] = { r.before.switches, r.after.switches, r.before.events,
                                    r.after.events, r.before.instructions,
                                    r.after.instructions };
            for (int k = 0; k < 6; k++)
                sqlite3_bind_int64(put, 5 + k, (int64_t)v[k]);
        }
        sqlite3_bind_int(put, 11, code == HV_EXIT_OK);
        if (sqlite3_step(put) != SQLITE_DONE) {
            err = HV_ESQLITE;
            fprintf(errf, "hvsim explore --shrink: %s: %s\n", path, sqlite3_errmsg(db));
            break;
        }
    }
out:
    sqlite3_finalize(q);
    sqlite3_finalize(put);
    sqlite3_close(db);
    return err;
}
