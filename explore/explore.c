/*
 * explore.c - `hvsim explore` (explore.h): the run list, the worker processes, the progress
 * line and the results.
 *
 * Invariants:
 *   1. Run i of the list is fully determined by the scenario, the options and i: its seed is
 *      seeds[i % nseeds], its varied values come from i / nseeds (the first --vary key
 *      changes slowest).
 *   2. A worker is one forked process per run; it writes exactly one struct xrun to its pipe
 *      and exits. A worker that ends without writing one crashed: the run's signature says
 *      how it ended.
 *   3. Only the parent writes results.db, one row per finished run.
 */
#include "explore/explore.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "explore/results.h"
#include "explore/shrink.h"
#include "replay/replay.h"
#include "runner/guestcache.h"
#include "runner/progress.h"
#include "runner/runner.h"
#include "trace/trace.h"

#define MAX_METRICS 16
#define MAX_VARY 16
#define MAX_PLOTS 8

enum keep { KEEP_FAILURES, KEEP_ALL, KEEP_NONE };

struct vary {
    char *key;
    char **values;
    size_t n;
};

struct metric {
    char *name, *sql;
};

struct opts {
    const char *scenario, *out, *report;
    const char *plot[MAX_PLOTS], *plot_out[MAX_PLOTS];   /* --plot X:METRIC -o FILE pairs */
    size_t nplot, nplot_out;
    const char **merge;
    size_t nmerge;
    const char **sets;
    size_t nsets;
    struct vary vary[MAX_VARY];
    size_t nvary;
    struct metric metrics[MAX_METRICS];
    size_t nmetrics;
    uint64_t seed_lo, seed_hi, runs, base_seed;
    bool have_seeds, have_runs, have_base, until_failure, quiet, shrink;
    double time_budget;       /* seconds; 0: none */
    long jobs;
    uint64_t shard_k, shard_n;  /* 1-based K of N */
    enum keep keep;
};

/* What a worker sends back. */
struct xrun {
    uint32_t magic;
    int32_t exit_code;
    char status[8];
    char outcome[16];
    uint64_t instructions, events;
    char signature[480];
    int32_t kept;
    double metric[MAX_METRICS];
    uint8_t metric_null[MAX_METRICS];
};
#define XRUN_MAGIC 0x78726e31u

/* Everything a worker needs, set up once before the first fork. */
struct ctx {
    struct opts *o;
    struct scenario *sc;       /* parsed once; each worker changes its own copy */
    void *elf;
    size_t elf_len;
    uint64_t *seeds;
    size_t nseeds;
    uint64_t ncombos, total;
    char outdir[PATH_MAX];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 1, 2)))
static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hvsim explore: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return HV_EXIT_BADINPUT;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || !*s || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

/* ---- options ----------------------------------------------------------------------------- */

static int add_vary(struct opts *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return bad("--vary %s: expected KEY=V1,V2,...", arg);
    if (o->nvary == MAX_VARY)
        return bad("--vary %s: at most 16 keys", arg);
    struct vary *v = &o->vary[o->nvary];
    v->key = strndup(arg, (size_t)(eq - arg));
    for (size_t i = 0; i < o->nvary; i++)
        if (strcmp(o->vary[i].key, v->key) == 0) {
            free(v->key);
            return bad("--vary %s: %s is varied twice", arg, o->vary[i].key);
        }
    o->nvary++;
    const char *p = eq + 1;
    for (;;) {
        size_t len = strcspn(p, ",");
        char **nv = realloc(v->values, (v->n + 1) * sizeof *nv);
        if (!nv)
            return HV_EXIT_BADINPUT;
        v->values = nv;
        v->values[v->n++] = strndup(p, len);
        if (len == 0)
            return bad("--vary %s: an empty value", arg);
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

static int add_metric(struct opts *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return bad("--metric %s: expected NAME=SQL", arg);
    if (o->nmetrics == MAX_METRICS)
        return bad("--metric %s: at most 16 metrics", arg);
    for (const char *p = arg; p < eq; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", *p))
            return bad("--metric %s: a name is letters, digits and _", arg);
    o->metrics[o->nmetrics].name = strndup(arg, (size_t)(eq - arg));
    o->metrics[o->nmetrics].sql = strdup(eq + 1);
    o->nmetrics++;
    return 0;
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
    o->sets = calloc((size_t)argc + 1, sizeof *o->sets);
    o->merge = calloc((size_t)argc + 1, sizeof *o->merge);
    o->jobs = sysconf(_SC_NPROCESSORS_ONLN);
    if (o->jobs < 1)
        o->jobs = 1;
    o->shard_k = o->shard_n = 1;
    if (!o->sets || !o->merge)
        return HV_EXIT_BADINPUT;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t x;
        int rc = 0;
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
            continue;
        }
        if (strcmp(a, "--until-failure") == 0) {
            o->until_failure = true;
            continue;
        }
        if (strcmp(a, "--shrink") == 0) {
            o->shrink = true;
            continue;
        }
        if (strcmp(a, "--merge") == 0) {
            while (i + 1 < argc && argv[i + 1][0] != '-')
                o->merge[o->nmerge++] = argv[++i];
            if (!o->nmerge)
                return bad("--merge: expected DIR...");
            continue;
        }
        if (a[0] != '-') {
            if (o->scenario)
                return bad("unexpected argument '%s'", a);
            o->scenario = a;
            continue;
        }
        if (strncmp(a, "-j", 2) == 0 && a[2]) { /* -jN */
            v = a + 2;
            a = "-j";
            i--;
        }
        if (!v)
            return bad("%s needs a value", a);
        i++;
        if (strcmp(a, "--seeds") == 0) {
            const char *dots = strstr(v, "..");
            char lo[32];
            snprintf(lo, sizeof lo, "%.*s", dots ? (int)(dots - v) : 0, v);
            if (!dots || parse_u64(lo, &o->seed_lo) || parse_u64(dots + 2, &o->seed_hi) ||
                o->seed_hi < o->seed_lo || o->seed_hi - o->seed_lo >= 100000000)
                return bad("--seeds %s: expected A..B (A <= B, at most 10^8 seeds)", v);
            o->have_seeds = true;
        } else if (strcmp(a, "--runs") == 0) {
            if (parse_u64(v, &o->runs) || o->runs == 0 || o->runs > 100000000)
                return bad("--runs %s: expected 1 to 10^8", v);
            o->have_runs = true;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_u64(v, &o->base_seed))
                return bad("--seed %s: expected an unsigned integer", v);
            o->have_base = true;
        } else if (strcmp(a, "--vary") == 0) {
            rc = add_vary(o, v);
        } else if (strcmp(a, "--set") == 0) {
            o->sets[o->nsets++] = v;
        } else if (strcmp(a, "-j") == 0 || strcmp(a, "--jobs") == 0) {
            if (parse_u64(v, &x) || x < 1 || x > 1024)
                return bad("%s %s: expected 1 to 1024 worker processes", a, v);
            o->jobs = (long)x;
        } else if (strcmp(a, "--shard") == 0) {
            const char *sl = strchr(v, '/');
            char k[32];
            snprintf(k, sizeof k, "%.*s", sl ? (int)(sl - v) : 0, v);
            if (!sl || parse_u64(k, &o->shard_k) || parse_u64(sl + 1, &o->shard_n) ||
                o->shard_n < 1 || o->shard_k < 1 || o->shard_k > o->shard_n)
                return bad("--shard %s: expected K/N with 1 <= K <= N", v);
        } else if (strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--keep") == 0) {
            if (strcmp(v, "failures") == 0)
                o->keep = KEEP_FAILURES;
            else if (strcmp(v, "all") == 0)
                o->keep = KEEP_ALL;
            else if (strcmp(v, "none") == 0)
                o->keep = KEEP_NONE;
            else
                return bad("--keep %s: expected failures, all or none", v);
        } else if (strcmp(a, "--time-budget") == 0) {
            char *end;
            o->time_budget = strtod(v, &end);
            if (*end || !(o->time_budget > 0))
                return bad("--time-budget %s: expected seconds (> 0)", v);
        } else if (strcmp(a, "--metric") == 0) {
            rc = add_metric(o, v);
        } else if (strcmp(a, "--report") == 0) {
            o->report = v;
        } else if (strcmp(a, "--plot") == 0) {
            if (o->nplot == MAX_PLOTS)
                return bad("--plot %s: at most %d plots", v, MAX_PLOTS);
            o->plot[o->nplot++] = v;
        } else if (strcmp(a, "-o") == 0) {
            if (o->nplot_out == MAX_PLOTS)
                return bad("-o %s: at most %d plots", v, MAX_PLOTS);
            o->plot_out[o->nplot_out++] = v;
        } else {
            return bad("unknown option '%s'", a);
        }
        if (rc)
            return rc;
    }
    if (o->have_seeds && o->have_runs)
        return bad("give --seeds or --runs, not both");
    if (o->shrink && o->keep == KEEP_NONE)
        return bad("--shrink shrinks the failures' traces: not with --keep none");
    if (o->nplot != o->nplot_out)
        return bad("each --plot X:METRIC needs its -o FILE");
    return 0;
}

static void free_opts(struct opts *o)
{
    for (size_t i = 0; i < o->nvary; i++) {
        for (size_t j = 0; j < o->vary[i].n; j++)
            free(o->vary[i].values[j]);
        free(o->vary[i].values);
        free(o->vary[i].key);
    }
    for (size_t i = 0; i < o->nmetrics; i++) {
        free(o->metrics[i].name);
        free(o->metrics[i].sql);
    }
    free(o->sets);
    free(o->merge);
}

/* ---- the run list ------------------------------------------------------------------------ */

/* Seed i of `--runs N`: a splitmix64 stream from the base seed, cut to 32 bits so commands
 * stay short. */
static uint64_t drawn_seed(uint64_t base, uint64_t i)
{
    uint64_t z = base + (i + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (z ^ (z >> 31)) >> 32;
}

/* The varied value of key k in run r. Borrowed. */
static const char *run_value(const struct ctx *c, uint64_t r, size_t k)
{
    uint64_t combo = r / c->nseeds;
    for (size_t j = c->o->nvary; j-- > k + 1;)
        combo /= c->o->vary[j].n;
    return c->o->vary[k].values[combo % c->o->vary[k].n];
}

/* Every --set of run r ("k=v\n" each): the fixed ones, explore=1 when the scenario keeps
 * only some expectations, then the varied values. Caller frees. */
static char *run_sets(const struct ctx *c, uint64_t r)
{
    size_t cap = 32;
    for (size_t i = 0; i < c->o->nsets; i++)
        cap += strlen(c->o->sets[i]) + 1;
    for (size_t k = 0; k < c->o->nvary; k++)
        cap += strlen(c->o->vary[k].key) + strlen(run_value(c, r, k)) + 2;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t l = 0;
    s[0] = '\0';
    for (size_t i = 0; i < c->o->nsets; i++)
        l += (size_t)snprintf(s + l, cap - l, "%s\n", c->o->sets[i]);
    if (c->sc->explore_keep)
        l += (size_t)snprintf(s + l, cap - l, "explore=1\n");
    for (size_t k = 0; k < c->o->nvary; k++)
        l += (size_t)snprintf(s + l, cap - l, "%s=%s\n", c->o->vary[k].key, run_value(c, r, k));
    return s;
}

/* Applies a "k=v\n..." list to sc. */
static int apply_sets(struct scenario *sc, const char *sets)
{
    char *copy = strdup(sets);
    int err = copy ? 0 : HV_ENOMEM;
    for (char *line = copy ? strtok(copy, "\n") : NULL; line && !err;
         line = strtok(NULL, "\n"))
        err = scenario_set(sc, line);
    free(copy);
    return err;
}

/* ---- one run (in its worker process) ----------------------------------------------------- */

/* What the hooks of one run note: its first failed expectation, where the guest asserted. */
struct hooks_ctx {
    char first[480];
    char assert_at[256];
};

static void hook_failed(const char *line, void *ctx)
{
    struct hooks_ctx *hc = ctx;
    if (!hc->first[0])
        snprintf(hc->first, sizeof hc->first, "%s", line);
}

/* The guest assertion's file:line, read as the run ends (runner_hooks.inspect). */
static void hook_inspect(struct hv_vm *vm, void *ctx)
{
    struct hooks_ctx *hc = ctx;
    if (hv_vm_outcome(vm) != HV_OUT_ASSERT)
        return;
    const char *file, *expr, *text;
    uint64_t line;
    hv_vm_assert_info(vm, &file, &line, &expr, &text);
    snprintf(hc->assert_at, sizeof hc->assert_at, "%s:%" PRIu64, file, line);
}

void explore_signature(const char *assert_at, const char *first_failed, char *out, size_t size)
{
    if (assert_at && assert_at[0]) {
        snprintf(out, size, "guest assertion %s", assert_at);
        return;
    }
    const char *l = first_failed ? first_failed : "";
    size_t n = strcspn(l, ":");
    const char *open = strchr(l, '('), *at = open ? strstr(open, " at ") : NULL;
    if (strncmp(l, "step ", 5) == 0 && at && (size_t)(at - l) < n) { /* "step N (ACTION at" */
        snprintf(out, size, "%.*s)", (int)(at - l), l);
        return;
    }
    if (!l[0])
        snprintf(out, size, "expectations failed");
    else
        snprintf(out, size, "%.*s", (int)n, l);
}

/* Each metric's value: the first column of the first row its SQL gives on the trace. */
static void compute_metrics(const struct ctx *c, const char *path, struct xrun *x)
{
    sqlite3 *db = NULL;
    bool open = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK;
    for (size_t i = 0; i < c->o->nmetrics; i++) {
        sqlite3_stmt *st = NULL;
        x->metric_null[i] = 1;
        if (open && sqlite3_prepare_v2(db, c->o->metrics[i].sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            x->metric[i] = sqlite3_column_double(st, 0);
            x->metric_null[i] = 0;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

static void trace_path(const struct ctx *c, uint64_t r, char *buf, size_t size, bool rel)
{
    snprintf(buf, size, "%s%straces/run-%06" PRIu64 ".db", rel ? "" : c->outdir,
             rel ? "" : "/", r);
}

/* The body of a worker: run r, report on fd. Never returns. */
static void worker(const struct ctx *c, uint64_t r, int fd)
{
    struct xrun x = { .magic = XRUN_MAGIC };
    struct scenario *sc = c->sc;
    char *sets = run_sets(c, r);
    struct trace_writer *w = NULL;
    char path[PATH_MAX + 64];
    bool tracing = c->o->keep != KEEP_NONE || c->o->nmetrics > 0;
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    sc->seed = c->seeds[r % c->nseeds];
    int err = sets ? apply_sets(sc, sets) : HV_ENOMEM;
    trace_path(c, r, path, sizeof path, false);
    if (!err && tracing && !(err = trace_writer_open(&w, path)))
        err = replay_inputs_write(w, sc, sc->path, sets, c->elf, c->elf_len, "model");
    struct runner_result res;
    memset(&res, 0, sizeof res);
    struct hooks_ctx hc = { .first = { 0 }, .assert_at = { 0 } };
    struct hv_schedule *sched = NULL;
    if (!err && w)
        err = hv_schedule_create(&sched);  /* recorded in the trace, for hvsim shrink */
    struct runner_hooks hooks = { .inspect = hook_inspect, .failed = hook_failed, .ctx = &hc,
                                  .schedule = sched };
    if (!err)
        err = runner_execute(sc, c->elf, c->elf_len, w ? trace_writer_sink : NULL, w, &hooks,
                             &res);
    x.exit_code = err ? HV_EXIT_BADINPUT : runner_exit_code(&res);
    x.instructions = res.instructions;
    x.events = res.events;
    snprintf(x.outcome, sizeof x.outcome, "%s", hv_outcome_name(res.outcome));
    if (err) {
        snprintf(x.status, sizeof x.status, "error");
        snprintf(x.signature, sizeof x.signature, "simulator error: %s", hv_strerror(err));
    } else if (!res.expect_ok) {
        snprintf(x.status, sizeof x.status, "fail");
        explore_signature(res.outcome == HV_OUT_ASSERT ? hc.assert_at : NULL, hc.first,
                          x.signature, sizeof x.signature);
    } else {
        snprintf(x.status, sizeof x.status, "pass");
    }
    if (w) {
        trace_writer_set_info(w, "outcome", hv_outcome_name(res.outcome));
        trace_writer_set_info_int(w, "exit_code", x.exit_code);
        trace_writer_set_info_int(w, "instructions", (int64_t)res.instructions);
        trace_writer_set_info_int(w, "events", (int64_t)res.events);
        if (!err && sched)
            replay_schedule_write(w, sched);
        if (err)
            trace_writer_flush(w);
        else
            trace_writer_finish(w);
        trace_writer_close(w);
        if (c->o->nmetrics)
            compute_metrics(c, path, &x);
        bool keep = c->o->keep == KEEP_ALL || (c->o->keep == KEEP_FAILURES &&
                                               strcmp(x.status, "pass") != 0);
        if (keep)
            x.kept = 1;
        else
            unlink(path);
    }
    hv_schedule_destroy(sched);
    ssize_t n = write(fd, &x, sizeof x);
    _exit(n == (ssize_t)sizeof x ? 0 : 1);
}

/* ---- the parent -------------------------------------------------------------------------- */

struct slot {
    pid_t pid;
    int fd;
    uint64_t run;
    double start;
};

struct sigcount {
    char sig[480];
    uint64_t n;
};

/* Runs done and failed, shown on the progress line (a terminal) or as plain lines. */
struct tally {
    bool tty, quiet;
    struct progress line;
    double start;
    uint64_t done, failed, planned, next_line, last_done;
    struct sigcount sigs[8];
    size_t nsigs;
};

static void tally_note(struct tally *p, const char *sig)
{
    for (size_t i = 0; i < p->nsigs; i++)
        if (strcmp(p->sigs[i].sig, sig) == 0) {
            p->sigs[i].n++;
            return;
        }
    if (p->nsigs < sizeof p->sigs / sizeof p->sigs[0]) {
        snprintf(p->sigs[p->nsigs].sig, sizeof p->sigs[0].sig, "%s", sig);
        p->sigs[p->nsigs++].n = 1;
    }
    if (!p->tty && !p->quiet)
        fprintf(stderr, "new failure after %" PRIu64 " runs: %s\n", p->done, sig);
}

static void tally_show(struct tally *p, bool final)
{
    double t = now_s(), el = t - p->start;
    if (p->quiet || (p->tty && !final && !progress_due(&p->line)))
        return;
    if (p->tty && final) {
        progress_end(&p->line);
        return;
    }
    if (!p->tty && (final ? p->done == p->last_done : p->done < p->next_line))
        return;
    p->last_done = p->done;
    p->next_line = p->done + (p->planned >= 10 ? p->planned / 10 : 1);
    double rate = el > 0 ? (double)p->done / el : 0;
    char line[512];
    int l = snprintf(line, sizeof line, "%" PRIu64 "/%" PRIu64 " runs, %" PRIu64 " failed",
                     p->done, p->planned, p->failed);
    for (size_t i = 0; i < p->nsigs && i < 2 && l < (int)sizeof line; i++)
        l += snprintf(line + l, sizeof line - (size_t)l, "%s%" PRIu64 " %.40s", i ? ", " : " (",
                      p->sigs[i].n, p->sigs[i].sig);
    if (p->nsigs && l < (int)sizeof line)
        l += snprintf(line + l, sizeof line - (size_t)l, "%s)", p->nsigs > 2 ? ", ..." : "");
    if (l < (int)sizeof line)
        l += snprintf(line + l, sizeof line - (size_t)l, ", %.1f runs/s", rate);
    if (!final && rate > 0 && l < (int)sizeof line)
        snprintf(line + l, sizeof line - (size_t)l, ", ETA %.0f s",
                 (double)(p->planned - p->done) / rate);
    if (p->tty)
        progress_update(&p->line, "%s", line);
    else
        fprintf(stderr, "%s\n", line);
}

/* Reaps one finished worker: its result into results.db. */
static int reap(struct ctx *c, struct slot *slots, size_t nslots, struct results *res,
                struct tally *p, bool *failed)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, 0)) < 0 && errno == EINTR)
        ;
    if (pid < 0)
        return -1;
    struct slot *s = NULL;
    for (size_t i = 0; i < nslots; i++)
        if (slots[i].pid == pid)
            s = &slots[i];
    if (!s)
        return 0;
    struct xrun x;
    memset(&x, 0, sizeof x);
    size_t got = 0;
    ssize_t n;
    while (got < sizeof x && ((n = read(s->fd, (char *)&x + got, sizeof x - got)) > 0 ||
                              (n < 0 && errno == EINTR)))
        got += n > 0 ? (size_t)n : 0;
    close(s->fd);
    if (got != sizeof x || x.magic != XRUN_MAGIC) {
        memset(&x, 0, sizeof x);
        snprintf(x.status, sizeof x.status, "crash");
        snprintf(x.outcome, sizeof x.outcome, "crash");
        if (WIFSIGNALED(status))
            snprintf(x.signature, sizeof x.signature, "crash: %s", strsignal(WTERMSIG(status)));
        else
            snprintf(x.signature, sizeof x.signature, "crash: worker exited %d",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        x.exit_code = -1;
    }
    char *sets = run_sets(c, s->run);
    const char *keys[MAX_VARY], *values[MAX_VARY], *names[MAX_METRICS];
    bool nulls[MAX_METRICS];
    for (size_t k = 0; k < c->o->nvary; k++) {
        keys[k] = c->o->vary[k].key;
        values[k] = run_value(c, s->run, k);
    }
    for (size_t i = 0; i < c->o->nmetrics; i++) {
        names[i] = c->o->metrics[i].name;
        nulls[i] = x.metric_null[i] || strcmp(x.status, "crash") == 0;
    }
    char trel[64];
    trace_path(c, s->run, trel, sizeof trel, true);
    bool pass = strcmp(x.status, "pass") == 0;
    struct results_run row = {
        .run = s->run, .seed = c->seeds[s->run % c->nseeds], .vary_keys = keys,
        .vary_values = values, .nvary = c->o->nvary, .sets = sets ? sets : "",
        .status = x.status, .outcome = x.outcome, .exit_code = x.exit_code,
        .signature = pass ? NULL : x.signature, .instructions = x.instructions,
        .events = x.events, .wall_ms = (now_s() - s->start) * 1000.0,
        .trace = x.kept ? trel : NULL, .metric_names = names, .metric_values = x.metric,
        .metric_null = nulls, .nmetrics = c->o->nmetrics,
    };
    int err = results_add(res, &row);
    free(sets);
    s->pid = 0;
    p->done++;
    if (!pass) {
        p->failed++;
        *failed = true;
        tally_note(p, x.signature);
    }
    tally_show(p, false);
    return err;
}

/* Checks every varied value and fixed --set against the scenario (a knob the model lacks, a
 * step it does not have) before any run, and every metric's SQL against the events view. */
static int check_plan(const struct ctx *c)
{
    const struct opts *o = c->o;
    for (size_t k = 0; k <= o->nvary; k++) {
        size_t nv = k < o->nvary ? o->vary[k].n : 1;
        for (size_t j = 0; j < nv; j++) {
            struct scenario *sc = NULL;
            struct hv_diag d;
            char msg[1200];
            int err = scenario_parse(&sc, c->sc->path, c->sc->text, c->sc->text_len, &d);
            for (size_t i = 0; i < o->nsets && !err; i++)
                if ((err = scenario_set(sc, o->sets[i])))
                    fprintf(stderr, "hvsim explore: %s\n", hv_error_detail());
            char kv[1024];
            if (!err && k < o->nvary) {
                snprintf(kv, sizeof kv, "%s=%s", o->vary[k].key, o->vary[k].values[j]);
                if ((err = scenario_set(sc, kv))) {
                    /* the detail names the option --set; here it came from --vary */
                    const char *det = hv_error_detail();
                    fprintf(stderr, "hvsim explore: --vary %s\n",
                            strncmp(det, "--set ", 6) == 0 ? det + 6 : det);
                }
            }
            if (!err && (err = runner_check(sc, &d))) {
                hv_diag_format(&d, msg, sizeof msg);
                fprintf(stderr, "hvsim explore: %s\n", msg);
            }
            scenario_destroy(sc);
            if (err)
                return HV_EXIT_BADINPUT;
        }
    }
    sqlite3 *db = NULL;
    int code = 0;
    sqlite3_open(":memory:", &db);
    sqlite3_exec(db, "CREATE TABLE events(seq, vm, vcpu, icount, kind, pc, detail);"
                     "CREATE TABLE run_info(key, value);", NULL, NULL, NULL);
    for (size_t i = 0; i < o->nmetrics && !code; i++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, o->metrics[i].sql, -1, &st, NULL) != SQLITE_OK) {
            fprintf(stderr, "hvsim explore: --metric %s: %s\n", o->metrics[i].name,
                    sqlite3_errmsg(db));
            code = HV_EXIT_BADINPUT;
        } else if (!sqlite3_stmt_readonly(st)) {
            fprintf(stderr, "hvsim explore: --metric %s: a metric only reads the trace\n",
                    o->metrics[i].name);
            code = HV_EXIT_BADINPUT;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return code;
}

static int write_meta(struct results *r, const struct ctx *c, uint64_t planned)
{
    const struct opts *o = c->o;
    char buf[64], *keys = NULL, *mets = NULL, *sets = NULL;
    size_t kl = 3, ml = 3, sl = 1;
    for (size_t k = 0; k < o->nvary; k++)
        kl += 6 * strlen(o->vary[k].key) + 3;
    for (size_t i = 0; i < o->nmetrics; i++)
        ml += 6 * (strlen(o->metrics[i].name) + strlen(o->metrics[i].sql)) + 6;
    for (size_t i = 0; i < o->nsets; i++)
        sl += strlen(o->sets[i]) + 1;
    keys = malloc(kl);
    mets = malloc(ml);
    sets = malloc(sl);
    int err = keys && mets && sets ? 0 : HV_ENOMEM;
    if (!err) {
        size_t l = 0;
        keys[l++] = '[';
        for (size_t k = 0; k < o->nvary; k++) {
            if (k)
                keys[l++] = ',';
            hv_json_str(keys, kl, &l, o->vary[k].key);
        }
        snprintf(keys + l, kl - l, "]");
        l = 0;
        mets[l++] = '{';
        for (size_t i = 0; i < o->nmetrics; i++) {
            if (i)
                mets[l++] = ',';
            hv_json_str(mets, ml, &l, o->metrics[i].name);
            mets[l++] = ':';
            hv_json_str(mets, ml, &l, o->metrics[i].sql);
        }
        snprintf(mets + l, ml - l, "}");
        l = 0;
        sets[0] = '\0';
        for (size_t i = 0; i < o->nsets; i++)
            l += (size_t)snprintf(sets + l, sl - l, "%s\n", o->sets[i]);
    }
    const char *kv[][2] = {
        { "scenario", o->scenario }, { "scenario_name", c->sc->name }, { "vary_keys", keys },
        { "metrics", mets }, { "sets", sets }, { "planned", NULL }, { "shard", NULL },
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0] && !err; i++) {
        if (strcmp(kv[i][0], "planned") == 0) {
            snprintf(buf, sizeof buf, "%" PRIu64, planned);
            kv[i][1] = buf;
        }
        char shard[64];
        if (strcmp(kv[i][0], "shard") == 0) {
            snprintf(shard, sizeof shard, "%" PRIu64 "/%" PRIu64, o->shard_k, o->shard_n);
            kv[i][1] = shard;
        }
        err = results_meta(r, kv[i][0], kv[i][1]);
    }
    free(keys);
    free(mets);
    free(sets);
    return err;
}

static int explore_runs(struct opts *o)
{
    struct ctx c = { .o = o };
    struct results *res = NULL;
    struct slot *slots = NULL;
    struct hv_diag d;
    char msg[1200];
    int code = HV_EXIT_BADINPUT;
    if (scenario_load(&c.sc, o->scenario, &d)) {
        hv_diag_format(&d, msg, sizeof msg);
        fprintf(stderr, "hvsim: %s\n", msg);
        goto out;
    }
    for (size_t i = 0; i < o->nsets; i++)
        if (scenario_set(c.sc, o->sets[i])) {
            fprintf(stderr, "hvsim explore: %s\n", hv_error_detail());
            goto out;
        }
    if (runner_check(c.sc, &d)) {
        hv_diag_format(&d, msg, sizeof msg);
        fprintf(stderr, "hvsim: %s\n", msg);
        goto out;
    }
    /* the seeds */
    c.nseeds = o->have_seeds ? (size_t)(o->seed_hi - o->seed_lo + 1)
               : o->have_runs ? (size_t)o->runs
               : c.sc->explore_runs ? (size_t)c.sc->explore_runs : 20;
    c.seeds = malloc(c.nseeds * sizeof *c.seeds);
    if (!c.seeds)
        goto out;
    uint64_t base = o->have_base ? o->base_seed : c.sc->seed;
    for (size_t i = 0; i < c.nseeds; i++)
        c.seeds[i] = o->have_seeds ? o->seed_lo + i : drawn_seed(base, i);
    c.ncombos = 1;
    for (size_t k = 0; k < o->nvary; k++)
        c.ncombos *= o->vary[k].n;
    c.total = c.ncombos * c.nseeds;
    /* reset the copy the workers start from: the fixed sets are applied again per run */
    scenario_destroy(c.sc);
    c.sc = NULL;
    if (scenario_load(&c.sc, o->scenario, &d))
        goto out;
    if ((code = check_plan(&c)))
        goto out;
    code = HV_EXIT_BADINPUT;
    /* the output folder and the guest, once */
    char defout[300];
    if (!o->out) {
        snprintf(defout, sizeof defout, "explore-%s", c.sc->name);
        o->out = defout;
    }
    char tdir[PATH_MAX + 16];
    snprintf(tdir, sizeof tdir, "%s/traces", o->out);
    if ((mkdir(o->out, 0755) != 0 && errno != EEXIST) ||
        (mkdir(tdir, 0755) != 0 && errno != EEXIST) || !realpath(o->out, c.outdir)) {
        fprintf(stderr, "hvsim explore: cannot create %s: %s\n", tdir, strerror(errno));
        goto out;
    }
    static char log[16384];
    bool hit;
    if (guest_cache_build(c.sc->arch, c.sc->guest_path, &c.elf, &c.elf_len, &hit, log,
                          sizeof log)) {
        fprintf(stderr, "hvsim: %s: building guest %s failed:\n%s%s\n", c.sc->path,
                c.sc->guest, log, log[0] ? "" : hv_error_detail());
        goto out;
    }
    if (results_create(&res, o->out) || write_meta(res, &c, c.total)) {
        fprintf(stderr, "hvsim explore: %s\n", hv_error_detail());
        goto out;
    }
    uint64_t mine = c.total / o->shard_n + (c.total % o->shard_n >= o->shard_k ? 1 : 0);
    slots = calloc((size_t)o->jobs, sizeof *slots);
    if (!slots)
        goto out;
    struct tally p = { .tty = isatty(2), .quiet = o->quiet, .start = now_s(),
                          .planned = mine };
    progress_init_stderr(&p.line, 0);
    struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    fflush(NULL);
    bool failed = false;
    size_t active = 0;
    int err = 0;
    uint64_t next = o->shard_k - 1;
    for (;;) {
        bool more = next < c.total && !stop_signal && !(o->until_failure && failed) &&
                    !(o->time_budget > 0 && now_s() - p.start >= o->time_budget);
        if (more && active < (size_t)o->jobs) {
            size_t i = 0;
            while (slots[i].pid)
                i++;
            int fds[2];
            if (pipe(fds) != 0) {
                err = HV_EIO;
                break;
            }
            pid_t pid = fork();
            if (pid == 0) {
                close(fds[0]);
                worker(&c, next, fds[1]);
            }
            close(fds[1]);
            if (pid < 0) {
                close(fds[0]);
                err = HV_EIO;
                break;
            }
            slots[i] = (struct slot){ pid, fds[0], next, now_s() };
            active++;
            next += o->shard_n;
            continue;
        }
        if (!active)
            break;
        if ((err = reap(&c, slots, (size_t)o->jobs, res, &p, &failed)) < 0)
            break;
        active--;
    }
    while (active > 0 && reap(&c, slots, (size_t)o->jobs, res, &p, &failed) >= 0)
        active--;
    tally_show(&p, true);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    results_close(res);
    res = NULL;
    if (err) {
        fprintf(stderr, "hvsim explore: %s: %s\n", hv_strerror(err), hv_error_detail());
        goto out;
    }
    if (!o->quiet) {
        double el = now_s() - p.start;
        printf("%s: %" PRIu64 " runs in %.1f s (%.1f runs/s, -j %ld), %" PRIu64 " failed -> "
               "%s/results.db\n", c.sc->name, p.done, el, el > 0 ? (double)p.done / el : 0.0,
               o->jobs, p.failed, o->out);
        results_report(o->out, stdout, stderr);
    }
    code = stop_signal ? 128 + stop_signal : failed ? HV_EXIT_FAILED : HV_EXIT_OK;
    /* the first kept failure of each signature, shrunk */
    if (o->shrink && failed && !stop_signal && shrink_explored(o->out, stdout, stderr))
        code = HV_EXIT_BADINPUT;
    /* the plots of a study, once its runs are in */
    for (size_t i = 0; i < o->nplot && !stop_signal; i++) {
        int pc = results_plot(o->out, o->plot[i], o->plot_out[i], stdout, stderr);
        if (pc)
            code = pc;
    }
out:
    results_close(res);
    free(slots);
    free(c.seeds);
    free(c.elf);
    scenario_destroy(c.sc);
    return code;
}

int explore_main(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    int code = parse_opts(&o, argc, argv);
    if (code)
        goto out;
    if (o.nmerge) {
        if (!o.out)
            code = bad("--merge needs --out DIR");
        else
            code = results_merge(o.merge, o.nmerge, o.out, stdout, stderr);
    } else if (o.report && o.nplot) {
        for (size_t i = 0; i < o.nplot && !code; i++)
            code = results_plot(o.report, o.plot[i], o.plot_out[i], stdout, stderr);
    } else if (o.report) {
        code = results_report(o.report, stdout, stderr);
    } else if (o.scenario) {
        code = explore_runs(&o);
    } else {
        code = bad("expected SCENARIO.yaml, --report DIR or --merge DIR...");
    }
out:
    free_opts(&o);
    return code;
}
