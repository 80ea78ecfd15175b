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

#include "replay/replay.h"
#include "runner/runner.h"
#include "sim/model.h"
#include "runner/scenario.h"
#include "trace/trace.h"

struct saved_event {
    bool present;
    struct hv_event ev;
    char *detail;
};

struct cmp {
    struct trace_reader *r;
    uint64_t compared;
    bool diverged;
    struct saved_event rec, got;
    char context[8192];   /* disassembly and registers at the divergence */
};

static void save(struct saved_event *s, const struct hv_event *ev)
{
    free(s->detail);
    s->present = true;
    s->ev = *ev;
    s->detail = strdup(ev->detail ? ev->detail : "");
    s->ev.detail = s->detail;
    s->ev.fields = NULL;
}

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
        if (got == TRACE_DIFFERENT)
            save(&c->rec, &rec);
        save(&c->got, ev);
        return HV_EDIVERGED;
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

static void print_event(FILE *f, const char *label, const struct saved_event *s)
{
    if (!s->present) {
        fprintf(f, "  %s: (none)\n", label);
        return;
    }
    const struct hv_kind_desc *kd = hv_kind_desc(s->ev.kind);
    fprintf(f, "  %s: seq %" PRIu64 " vm %" PRIu32 " vcpu %d icount %" PRIu64 " pc 0x%" PRIx64
               " %s %s\n",
            label, s->ev.seq, s->ev.vm, s->ev.vcpu, s->ev.icount, s->ev.pc,
            kd ? kd->name : "?", s->ev.detail);
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

/* Splits the recorded "k=v\n" list of overrides. */
static int apply_sets(struct scenario *sc, char *list)
{
    for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
        int err = scenario_set(sc, line);
        if (err)
            return err;
    }
    return 0;
}

int replay_trace(const char *path, const char *const *sets, size_t nsets, FILE *out, FILE *errf)
{
    struct cmp c;
    memset(&c, 0, sizeof c);
    struct scenario *sc = NULL;
    char *text = NULL, *spath = NULL, *seed = NULL, *rsets = NULL, *source = NULL;
    struct hv_schedule *sched = NULL;
    void *elf = NULL;
    size_t elf_len = 0, text_len;
    int code = HV_EXIT_BADINPUT;
    struct hv_diag d;
    int err = trace_reader_open(&c.r, path);
    if (err) {
        /* the reader's detail names the file already */
        if (*hv_error_detail())
            fprintf(errf, "hvsim: %s\n", hv_error_detail());
        else
            fprintf(errf, "hvsim: %s: %s\n", path, hv_strerror(err));
        goto out;
    }
    char *backend = NULL;
    bool real = trace_reader_info(c.r, "backend", &backend) == 0 && strcmp(backend, "kvm") == 0;
    free(backend);
    if (real) {
        /* its events came from a kernel, not from a model run replay could repeat */
        fprintf(errf, "hvsim: %s: recorded on the real kernel (run_info backend: kvm); replay "
                      "re-executes model runs only: run it again with --backend kvm, or compare "
                      "it with the model with `hvsim crosscheck`\n", path);
        goto out;
    }
    if (trace_reader_info(c.r, "scenario_text", &text) ||
        trace_reader_info(c.r, "scenario_path", &spath) ||
        trace_reader_info(c.r, "seed", &seed) ||
        trace_reader_blob(c.r, "guest.elf", &elf, &elf_len)) {
        fprintf(errf, "hvsim: %s: trace lacks the inputs needed to replay it\n", path);
        goto out;
    }
    if (trace_reader_info(c.r, "sets", &rsets))
        rsets = strdup("");
    text_len = strlen(text);
    if ((err = scenario_parse(&sc, spath, text, text_len, &d))) {
        char msg[1200];
        hv_diag_format(&d, msg, sizeof msg);
        fprintf(errf, "hvsim: %s: stored scenario: %s\n", path, msg);
        goto out;
    }
    char *end;
    errno = 0;
    sc->seed = strtoull(seed, &end, 10);
    if (errno || !*seed || *end) {
        fprintf(errf, "hvsim: %s: stored seed '%s' is not a number\n", path, seed);
        goto out;
    }
    if (apply_sets(sc, rsets)) {
        fprintf(errf, "hvsim: %s: stored --set list is malformed\n", path);
        goto out;
    }
    for (size_t i = 0; i < nsets; i++) {
        if (scenario_set(sc, sets[i])) {
            fprintf(errf, "hvsim: --set %s: expected KEY=VALUE\n", sets[i]);
            goto out;
        }
    }
    if ((err = runner_check(sc, &d))) {
        char msg[1200];
        hv_diag_format(&d, msg, sizeof msg);
        fprintf(errf, "hvsim: %s\n", msg);
        goto out;
    }
    /* a run whose schedule was loaded is replayed with the decisions it made; a seeded run
     * draws them again from the seed (so that replay --set sees the seed's choices) */
    if (trace_reader_info(c.r, "schedule", &source) == 0 && strcmp(source, "loaded") == 0) {
        if ((err = hv_schedule_create(&sched)) ||
            (err = replay_schedule_read(c.r, path, sched))) {
            fprintf(errf, "hvsim: %s\n", hv_error_detail());
            goto out;
        }
    }
    bool complete = trace_reader_complete(c.r);
    if ((err = trace_reader_events_begin(c.r, NULL)))
        goto out;
    struct runner_hooks hooks = { .inspect = inspect, .ctx = &c, .schedule = sched };
    struct runner_result res;
    err = runner_execute(sc, elf, elf_len, compare_sink, &c, &hooks, &res);
    if (err && err != HV_EDIVERGED && !(c.diverged)) {
        fprintf(errf, "hvsim: replay of %s failed: %s %s\n", path, hv_strerror(err),
                hv_error_detail());
        goto out;
    }
    if (!c.diverged && !err) {
        struct hv_event rec;
        int more = trace_reader_events_next(c.r, &rec);
        if (more > 0) {
            c.diverged = true;
            save(&c.rec, &rec);
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
        fprintf(out, "replay diverged at seq %" PRIu64 " after %" PRIu64 " identical events\n",
                seq, c.compared);
        print_event(out, "recorded", &c.rec);
        print_event(out, "replayed", &c.got);
        if (c.context[0])
            fprintf(out, "%s", c.context);
        code = HV_EXIT_DIVERGED;
        goto out;
    }
    fprintf(out, "replay identical: %" PRIu64 " events%s; %s\n", c.compared,
            complete ? "" : " (recorded trace incomplete)", res.summary);
    code = runner_exit_code(&res);
out:
    free(c.rec.detail);
    free(c.got.detail);
    scenario_destroy(sc);
    trace_reader_close(c.r);
    free(text);
    free(spath);
    free(seed);
    free(rsets);
    free(source);
    hv_schedule_destroy(sched);
    free(elf);
    return code;
}
