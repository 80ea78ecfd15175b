/*
 * replay.c - replay and divergence detection.
 *
 * Replay cursor: BEGIN -> (each new event: next recorded row, compare) -> SAME | DIFFERENT.
 *   compare_sink()  advances the cursor; a difference (or a new event past the recorded
 *                   end) saves both events and returns HV_EDIVERGED, which stops the run;
 *   replay_trace()  after the run, a recorded event left over is a difference too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "debug/divergence.h"
#include "debug/srcline.h"
#include "replay/replay.h"
#include "runner/runner.h"
#include "sim/model.h"
#include "runner/scenario.h"
#include "trace/trace.h"

struct cmp {
    struct trace_reader *r;
    uint64_t compared;
    bool diverged;
    struct divergence_event rec, got;
    char context[8192];   /* disassembly and registers at the divergence */
};

static int compare_sink(void *ctx, const struct hv_event *ev)
{
    struct cmp *c = ctx;
    struct hv_event rec;
    /* a handler may emit more events in the same exit after the first difference: keep the
     * first one */
    if (c->diverged)
        return HV_EDIVERGED;
    int got = trace_reader_events_match(c->r, ev, &rec);
    if (got < 0)
        return got;
    if (got != TRACE_SAME) {
        c->diverged = true;
        int err = got == TRACE_DIFFERENT ? divergence_event_set(&c->rec, &rec) : 0;
        if (!err)
            err = divergence_event_set(&c->got, ev);
        return err ? err : HV_EDIVERGED;
    }
    c->compared++;
    return 0;
}

static void inspect(struct hv_vm *vm, void *ctx)
{
    struct cmp *c = ctx;
    if (!c->diverged || !c->got.present || c->got.ev.vcpu < 0)
        return;
    struct hv_vcpu *v = hv_vm_vcpu(vm, (unsigned)c->got.ev.vcpu);
    if (!v)
        return;
    uint64_t pc = c->got.ev.pc;
    enum hv_arch arch = hv_vm_arch(vm);
    uint64_t start = arch == HV_ARCH_X86_64 ? pc : (pc >= 16 ? pc - 16 : 0);
    uint8_t code[64];
    size_t n = 0;
    while (n < sizeof code && hv_vcpu_read_gva(v, start + n, &code[n], 1) == 0)
        n++;
    char dis[2048], regs[4096];
    hv_disasm_mode(arch, hv_vcpu_thumb(v), code, n, start, pc, 8, dis, sizeof dis);
    hv_vcpu_format_regs(v, regs, sizeof regs);
    snprintf(c->context, sizeof c->context,
             "code at pc (vCPU %d):\n%s\nregisters (vCPU %d, at the divergence):\n%s\n",
             c->got.ev.vcpu, dis, c->got.ev.vcpu, regs);
}

int replay_schedule_read(struct trace_reader *r, const char *path, struct hv_schedule *s)
{
    void *text = NULL;
    size_t len = 0;
    if (trace_reader_blob(r, "schedule", &text, &len))
        return hv_error_set(HV_EINVAL, "%s: the trace records no schedule (a trace of the "
                                       "kvm backend, or of an older hvsim)", path);
    int err = hv_schedule_load(s, text, len);
    free(text);
    if (err) {
        char why[512];
        snprintf(why, sizeof why, "%s", hv_error_detail());
        return hv_error_set(err, "%s: recorded schedule: %s", path, why);
    }
    return 0;
}

int replay_schedule_from(const char *path, struct hv_schedule *s)
{
    struct trace_reader *r;
    int err = trace_reader_open(&r, path);
    if (err)
        return *hv_error_detail() ? err : hv_error_set(err, "%s: %s", path, hv_strerror(err));
    err = replay_schedule_read(r, path, s);
    trace_reader_close(r);
    return err;
}

int replay_schedule_write(struct trace_writer *w, const struct hv_schedule *s)
{
    const struct hv_sched_entry *e;
    size_t n = hv_schedule_recorded(s, &e);
    char *text = hv_schedule_format(e, n);
    if (!text)
        return HV_ENOMEM;
    int err = trace_writer_put_blob(w, "schedule", text, strlen(text));
    free(text);
    if (!err)
        err = trace_writer_set_info(w, "schedule", hv_schedule_loaded(s) ? "loaded" : "seed");
    return err;
}

int replay_inputs_write(struct trace_writer *w, const struct scenario *sc, const char *path,
                        const char *sets, const void *elf, size_t elf_len, const char *backend)
{
    char uv[32], cv[32], seedtxt[32];
    hv_lib_versions(uv, sizeof uv, cv, sizeof cv);
    snprintf(seedtxt, sizeof seedtxt, "%" PRIu64, sc->seed);
    char *cfg = runner_config_json(sc);
    if (!cfg)
        return hv_error_set(HV_ENOMEM, "out of memory: the config of %s", path);
    const char *info[][2] = {
        { "scenario_name", sc->name }, { "scenario_path", path },
        { "scenario_text", sc->text }, { "seed", seedtxt }, { "sets", sets },
        { "config", cfg }, { "model", sc->model },
        { "arch", hv_arch_name(sc->arch) }, { "hvsim_version", HVSIM_VERSION },
        { "unicorn_version", uv }, { "capstone_version", cv }, { "backend", backend },
    };
    int err = 0;
    for (size_t i = 0; i < sizeof info / sizeof info[0] && !err; i++)
        if (info[i][1])
            err = trace_writer_set_info(w, info[i][0], info[i][1]);
    if (!err)
        err = trace_writer_put_blob(w, "guest.elf", elf, elf_len);
    free(cfg);
    return err;
}

/* A reader or runner error, naming the trace (the reader's details begin with its path). */
static void report(FILE *errf, const char *path, const char *what, int err)
{
    const char *d = hv_error_detail();
    if (*d && strncmp(d, path, strlen(path)) == 0)
        fprintf(errf, "hvsim: %s\n", d);
    else
        fprintf(errf, "hvsim: %s: %s: %s%s%s\n", path, what, hv_strerror(err), *d ? ": " : "",
                d);
}

/*
 * The recorded --set overrides (run_info `sets`, "KEY=VALUE" lines): applied to sc, and kept
 * in lines[] so that a later error about one of them blames the trace, not an option.
 */
struct stored_sets {
    char *text;        /* owned; split in place */
    char **lines;      /* owned array of pointers into text */
    size_t n;
};

static int stored_sets_apply(struct stored_sets *ss, struct scenario *sc, const char *path,
                             FILE *errf)
{
    size_t line = 0;
    for (char *p = ss->text, *next; p && *p; p = next) {
        next = strchr(p, '\n');
        if (next)
            *next++ = '\0';
        line++;
        if (!*p)
            continue;
        char **l = realloc(ss->lines, (ss->n + 1) * sizeof *l);
        if (!l) {
            fprintf(errf, "hvsim: %s: out of memory\n", path);
            return HV_ENOMEM;
        }
        ss->lines = l;
        ss->lines[ss->n++] = p;
        int err = scenario_set(sc, p);
        if (err) {
            fprintf(errf, "hvsim: %s: run_info sets, line %zu: '%s': %s\n", path, line, p,
                    err == HV_EINVAL ? "expected KEY=VALUE" : hv_strerror(err));
            return err;
        }
    }
    return 0;
}

/*
 * Whether a diagnostic located at `file` (an override's node is named "--set KEY=VALUE") is
 * about a stored override that no --set of this replay replaced.
 */
static bool stored_sets_blame(const struct stored_sets *ss, const char *file,
                              const char *const *sets, size_t nsets)
{
    if (strncmp(file, "--set ", 6) != 0)
        return false;
    for (size_t i = 0; i < nsets; i++)
        if (strcmp(file + 6, sets[i]) == 0)
            return false;
    for (size_t i = 0; i < ss->n; i++)
        if (strcmp(file + 6, ss->lines[i]) == 0)
            return true;
    return false;
}

int replay_inputs_open(struct replay_inputs *in, const char *path, const char *const *sets,
                       size_t nsets, FILE *errf)
{
    memset(in, 0, sizeof *in);
    char *text = NULL, *seed = NULL, *label = NULL, *backend = NULL, *source = NULL;
    struct stored_sets ss = { NULL, NULL, 0 };
    struct hv_diag d;
    char msg[1200];
    int err = trace_reader_open(&in->r, path);
    if (err) {
        report(errf, path, "cannot open", err);
        goto out;
    }
    bool real = trace_reader_info(in->r, "backend", &backend) == 0 && strcmp(backend, "kvm") == 0;
    if (real) {
        /* its events came from a kernel, not from a model run replay could repeat */
        fprintf(errf, "hvsim: %s: recorded on the real kernel (run_info backend: kvm); replay "
                      "re-executes model runs only: run it again with --backend kvm, or compare "
                      "it with the model with `hvsim crosscheck`\n", path);
        err = HV_ETRACE;
        goto out;
    }
    if ((err = trace_reader_info(in->r, "scenario_text", &text)) ||
        (err = trace_reader_info(in->r, "seed", &seed)) ||
        (err = trace_reader_blob(in->r, "guest.elf", &in->elf, &in->elf_len))) {
        fprintf(errf, "hvsim: %s; replay needs it\n", hv_error_detail());
        goto out;
    }
    if (trace_reader_info(in->r, "sets", &ss.text))
        ss.text = NULL;   /* a run without --set */
    /* The stored scenario's errors are located in the trace: "TRACE: stored scenario:L:C". */
    if (!(label = malloc(strlen(path) + sizeof ": stored scenario"))) {
        fprintf(errf, "hvsim: %s: out of memory\n", path);
        err = HV_ENOMEM;
        goto out;
    }
    sprintf(label, "%s: stored scenario", path);
    if ((err = scenario_parse(&in->sc, label, text, strlen(text), &d))) {
        hv_diag_format(&d, msg, sizeof msg);
        fprintf(errf, "hvsim: %s\n", msg);
        goto out;
    }
    char *end;
    errno = 0;
    in->sc->seed = strtoull(seed, &end, 10);
    if (errno || !*seed || *end) {
        fprintf(errf, "hvsim: %s: run_info seed: '%s' is not a number\n", path, seed);
        err = HV_ETRACE;
        goto out;
    }
    if ((err = stored_sets_apply(&ss, in->sc, path, errf)))
        goto out;
    for (size_t i = 0; i < nsets; i++) {
        if ((err = scenario_set(in->sc, sets[i]))) {
            fprintf(errf, "hvsim: --set %s: expected KEY=VALUE\n", sets[i]);
            goto out;
        }
    }
    if ((err = runner_check(in->sc, &d))) {
        hv_diag_format(&d, msg, sizeof msg);
        if (stored_sets_blame(&ss, d.file, sets, nsets))
            fprintf(errf, "hvsim: %s: run_info sets: %s: %s\n", path, d.file + 6, d.msg);
        else
            fprintf(errf, "hvsim: %s\n", msg);
        goto out;
    }
    /* a run whose schedule was loaded is replayed with the decisions it made; a seeded run
     * draws them again from the seed (so that replay --set sees the seed's choices) */
    if (trace_reader_info(in->r, "schedule", &source) == 0 && strcmp(source, "loaded") == 0) {
        if ((err = hv_schedule_create(&in->sched)) ||
            (err = replay_schedule_read(in->r, path, in->sched))) {
            fprintf(errf, "hvsim: %s\n", hv_error_detail());
            goto out;
        }
    }
    in->complete = trace_reader_complete(in->r);
out:
    free(text);
    free(seed);
    free(label);
    free(backend);
    free(source);
    free(ss.text);
    free(ss.lines);
    if (err)
        replay_inputs_close(in);
    return err;
}

void replay_inputs_close(struct replay_inputs *in)
{
    scenario_destroy(in->sc);
    hv_schedule_destroy(in->sched);
    trace_reader_close(in->r);
    free(in->elf);
    memset(in, 0, sizeof *in);
}

int replay_trace(const char *path, const char *const *sets, size_t nsets, FILE *out, FILE *errf)
{
    uint64_t seq;
    return replay_trace_at(path, sets, nsets, out, errf, &seq);
}

int replay_trace_at(const char *path, const char *const *sets, size_t nsets, FILE *out,
                    FILE *errf, uint64_t *diverged_seq)
{
    struct cmp c;
    memset(&c, 0, sizeof c);
    struct replay_inputs in;
    int code = HV_EXIT_BADINPUT;
    int err = replay_inputs_open(&in, path, sets, nsets, errf);
    if (err)
        return code;
    c.r = in.r;
    bool complete = in.complete;
    if ((err = trace_reader_events_begin(c.r, NULL))) {
        report(errf, path, "read events", err);
        goto out;
    }
    struct runner_hooks hooks = { .inspect = inspect, .ctx = &c, .schedule = in.sched };
    struct runner_result res;
    err = runner_execute(in.sc, in.elf, in.elf_len, compare_sink, &c, &hooks, &res);
    if (err && err != HV_EDIVERGED && !(c.diverged)) {
        report(errf, path, "replay failed", err);
        goto out;
    }
    if (!c.diverged && !err) {
        struct hv_event rec;
        int more = trace_reader_events_next(c.r, &rec);
        if (more < 0) {
            report(errf, path, "read events", more);
            goto out;
        }
        if (more > 0) {
            c.diverged = true;
            if (divergence_event_set(&c.rec, &rec)) {
                fprintf(errf, "hvsim: %s\n", hv_strerror(HV_ENOMEM));
                goto out;
            }
        }
    }
    if (c.diverged) {
        if (!complete && !c.rec.present) {
            fprintf(out, "replay: the recorded trace is incomplete; its %" PRIu64
                         " events all matched\n", c.compared);
            code = HV_EXIT_OK;
            goto out;
        }
        uint64_t seq = c.rec.present ? c.rec.ev.seq : c.got.ev.seq;
        *diverged_seq = seq;
        fprintf(out, "replay diverged at seq %" PRIu64 " after %" PRIu64 " identical events\n",
                seq, c.compared);
        struct srcline *src = NULL;
        if (srcline_open(&src, in.elf, in.elf_len))
            src = NULL;   /* an image libelf cannot read: the report goes without sources */
        struct divergence dv = {
            .side = { { "recorded", c.rec, src, in.sc }, { "replayed", c.got, src, in.sc } },
            .history = c.r,
            .context = c.context,
        };
        err = divergence_print(&dv, out);
        srcline_close(src);
        if (err) {
            fprintf(errf, "hvsim: %s: %s %s\n", path, hv_strerror(err), hv_error_detail());
            goto out;
        }
        code = HV_EXIT_DIVERGED;
        goto out;
    }
    fprintf(out, "replay identical: %" PRIu64 " events%s; %s\n", c.compared,
            complete ? "" : " (recorded trace incomplete)", res.summary);
    code = runner_exit_code(&res);
out:
    divergence_event_fini(&c.rec);
    divergence_event_fini(&c.got);
    replay_inputs_close(&in);
    return code;
}
