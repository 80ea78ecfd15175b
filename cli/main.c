/*
 * main.c - the hvsim program: argument parsing and output only.
 *
 *   hvsim run SCENARIO.yaml [-o TRACE.db] [--seed N] [--set KEY=VALUE]... [--quiet]
 *             [--backend model|kvm] [--schedule-from TRACE.db]
 *   hvsim crosscheck SCENARIO.yaml [--json] [--kernel auto|reference]
 *   hvsim replay TRACE.db [--set KEY=VALUE]... [--gdb PORT]
 *   hvsim diff A.db B.db [--json]
 *   hvsim debug TRACE.db [--port N] [--elf FILE] [--at SEQ] [--set KEY=VALUE]... [--verbose]
 *   hvsim show TRACE.db [--vm N] [--vcpu N] [--kind KIND[,KIND]...]... [--from SEQ]
 *              [--to SEQ] [--json]
 *   hvsim state TRACE.db [--at SEQ] [--vcpu N] [--mem ADDR:LEN] [--gva] [--json]
 *   hvsim blame TRACE.db (--gpa ADDR | --gva ADDR --vcpu N) [--len N] [--at SEQ]
 *   hvsim shrink TRACE.db [-o SMALL.db] [--max-runs N]
 *   hvsim list [DIR] [--knobs]
 *   hvsim explore SCENARIO.yaml [options] | --report DIR [--plot X:METRIC -o FILE]
 *                 | --merge DIR... --out DIR
 *   hvsim --version | -h | --help | help [COMMAND] | COMMAND --help
 *   any command: --no-progress
 *
 * Exit codes: 0 success, 1 expectations failed (an outcome other than the expected one: the
 * guest asserted, a vCPU failed, ...), 2 bad input, 3 replay diverged.
 * A run stopped by SIGINT, SIGTERM or SIGHUP finishes its trace (status interrupted), then
 * ends by that signal, so a shell sees 128 + its number (130 for Ctrl-C).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/list.h"
#include "cli/show.h"
#include "cli/shrinkcmd.h"
#include "cli/xcheck.h"
#include "debug/diff.h"
#include "debug/dcli.h"
#include "debug/debug.h"
#include "explore/explore.h"
#include "export/export.h"
#include "narrate/explain.h"
#include "kvmhost/kvmhost.h"
#include "kvmhost/kvmrun.h"
#include "replay/replay.h"
#include "runner/guestcache.h"
#include "runner/progress.h"
#include "runner/runner.h"
#include "trace/trace.h"

static const char usage_text[] =
    "usage:\n"
    "  hvsim run SCENARIO.yaml [-o TRACE.db] [--seed N] [--set KEY=VALUE]... [--quiet]\n"
    "            [--explain] [--backend model|kvm] [--schedule-from TRACE.db]\n"
    "  hvsim crosscheck SCENARIO.yaml [--json] [--kernel auto|reference]\n"
    "  hvsim replay TRACE.db [--set KEY=VALUE]... [--gdb PORT]\n"
    "  hvsim diff A.db B.db [--json]\n"
    "  hvsim debug TRACE.db [--port N] [--elf FILE] [--at SEQ] [--set KEY=VALUE]...\n"
    "              [--verbose]\n"
    "  hvsim show TRACE.db [--vm N] [--vcpu N] [--kind KIND[,KIND]...]... [--from SEQ]\n"
    "             [--to SEQ] [--json | --explain]\n"
    "  hvsim state TRACE.db [--at SEQ] [--vcpu N] [--mem ADDR:LEN] [--gva] [--json]\n"
    "  hvsim blame TRACE.db (--gpa ADDR | --gva ADDR --vcpu N) [--len N] [--at SEQ]\n"
    "  hvsim shrink TRACE.db [-o SMALL.db] [--max-runs N]\n"
    "  hvsim export TRACE.db [--format perfetto|csv|svg|png] [-o FILE] [--from SEQ]\n"
    "               [--to SEQ]\n"
    "  hvsim list [DIR] [--knobs] | list --bugs [--tsv]\n"
    "  hvsim explore SCENARIO.yaml [--seeds A..B | --runs N] [--vary KEY=V1,V2]... [-j N]\n"
    "                [--shard K/N] [--out DIR] [--metric NAME=SQL]... (help explore)\n"
    "  hvsim explore --report DIR [--plot X:METRIC -o FILE.svg] | --merge DIR... --out DIR\n"
    "  hvsim --version | -h | --help | help [COMMAND] | COMMAND --help\n"
    "Any command takes --no-progress: no progress line on stderr (explore, a long run, a\n"
    "seek of state, blame or debug), as HVSIM_NO_PROGRESS=1 does; it is shown only on a\n"
    "terminal.\n";

static const struct {
    const char *cmd;
    const char *text;
} help_texts[] = {
    { "run", "hvsim run SCENARIO.yaml [-o TRACE.db] [--seed N] [--set KEY=VALUE]... [--quiet]\n"
             "          [--explain] [--backend model|kvm] [--schedule-from TRACE.db]\n"
             "  Builds the scenario's guest, runs it under the scenario's model and records\n"
             "  every event to TRACE.db (default: the scenario's file name with .db, in the\n"
             "  current folder). --seed replaces the scenario's schedule seed; --set overrides\n"
             "  a model knob (repeatable). Guest GUEST_PRINTF output is printed as text,\n"
             "  \"[vcpuN] \" before each line (control bytes but tab as \\xNN). The last\n"
             "  line says how the run ended and which vCPUs did not reach GUEST_DONE, and\n"
             "  why. Exit 0 when every expectation held\n"
             "  (by default: outcome done, every vCPU done), 1 when one failed (each is\n"
             "  printed with the expected value beside the actual one), 2 for bad input.\n"
             "  --backend kvm runs an x86_64 KVM scenario on this machine's /dev/kvm instead\n"
             "  (docs/real-kvm.md): the trace says so in run_info (backend, kernel, the\n"
             "  capabilities it reported); a scenario this kernel cannot run is reported not\n"
             "  runnable, with the reason, and exits 1; no usable /dev/kvm exits 2.\n"
             "  --schedule-from takes every schedule decision (which vCPU runs each slice\n"
             "  and for how long, seeded preemption checks and step triggers) from the\n"
             "  schedule TRACE.db recorded instead of the seed; the new trace stores it, and\n"
             "  replay uses it. --explain prints one plain sentence per event as the run\n"
             "  makes it, in place of the guest's text (hvsim show --explain). A run that\n"
             "  lasts over 3 s shows its events and instructions so far on one line of\n"
             "  stderr when that is a terminal (--no-progress: not).\n" },
    { "crosscheck", "hvsim crosscheck SCENARIO.yaml [--json] [--kernel auto|reference]\n"
                    "  Runs an x86_64 KVM scenario under the model and on /dev/kvm and prints\n"
                    "  one row per comparison of what both can see (step results, exits,\n"
                    "  ucalls, vCPU end states, the outcome, expected memory and registers):\n"
                    "  same, explained (the model agrees once this kernel's facts are applied:\n"
                    "  --kernel auto, the default) or different, with both values. Exit 0 when\n"
                    "  every row is same or explained, 1 when one differs or the scenario is not\n"
                    "  runnable on this kernel, 2 for bad input or no usable /dev/kvm.\n" },
    { "replay", "hvsim replay TRACE.db [--set KEY=VALUE]... [--gdb PORT]\n"
                "  Re-executes the run from the trace alone and compares every event. On the\n"
                "  first difference prints both events, the code at the pc and the registers,\n"
                "  and exits 3. --set replays the recorded inputs against a changed knob.\n"
                "  The report shows only the columns and detail keys that differ, the pc's\n"
                "  function and source line, the vCPU's last events before it, and for a\n"
                "  host step its scenario line and arguments (docs/debugging.md).\n"
                "  --gdb PORT then serves gdb (as hvsim debug) just after the differing event\n"
                "  of the re-execution; the exit code stays 3.\n" },
    { "debug", "hvsim debug TRACE.db [--port N] [--elf FILE] [--at SEQ] [--set KEY=VALUE]...\n"
               "            [--verbose]\n"
               "  Serves one gdb session (GDB remote protocol, reverse execution) over a\n"
               "  re-execution of the trace, on 127.0.0.1:N (default 0: a free port, printed).\n"
               "  Writes the guest ELF for gdb's symbols (default: TRACE with .elf). vCPUs are\n"
               "  threads; `monitor help` lists seq, seek, events, blame, until and\n"
               "  reverse-until. --at starts just after event SEQ; --verbose logs packets.\n"
               "  Exit 0 when gdb detaches, 2 for a bad trace or port (docs/debugging.md).\n" },
    { "diff", "hvsim diff A.db B.db [--json]\n"
              "  Compares the events of two traces of one scenario (another knob, seed or\n"
              "  hvsim version): the recorded inputs that differ, the first differing event\n"
              "  reported as replay reports a divergence, then per kind and vCPU the counts\n"
              "  in A and B and the first seq where they differ. --json prints one JSON\n"
              "  object. Exit 0 identical, 1 different, 2 bad input (not a trace, or traces\n"
              "  of different scenarios).\n" },
    { "show", "hvsim show TRACE.db [--vm N] [--vcpu N] [--kind KIND[,KIND]...]... [--from SEQ]\n"
              "           [--to SEQ] [--json | --explain]\n"
              "  Prints the trace's events, with the instruction at each event's pc, or one\n"
              "  JSON object per line with --json. Each event names its VM: 0 is the VM the\n"
              "  run starts with, n the destination of the n-th migration. --vm and --vcpu\n"
              "  keep one VM's or one vCPU's events; --kind the events of the kinds it names\n"
              "  (comma-separated, repeatable; an unknown kind exits 2 with the list of\n"
              "  kinds); --from and --to a seq range. --explain prints one plain sentence\n"
              "  per event instead (docs/trace-format.md, \"Narration\").\n" },
    { "state", "hvsim state TRACE.db [--at SEQ] [--vcpu N] [--mem ADDR:LEN] [--gva] [--json]\n"
               "  Re-executes the run to just after event SEQ (default: the last) and prints\n"
               "  every vCPU's registers, run state and code (--vcpu: one), LEN bytes of\n"
               "  memory at a guest-physical ADDR (--gva: virtual, through the vCPU's page\n"
               "  tables), and the model's state: memslots, caches, dirty logs, TLBs,\n"
               "  registrations. A re-execution that lasts over 1 s shows the events replayed\n"
               "  on one line of stderr when that is a terminal (as blame and debug do;\n"
               "  --no-progress: not). docs/debugging.md.\n" },
    { "blame", "hvsim blame TRACE.db (--gpa ADDR | --gva ADDR --vcpu N) [--len N] [--at SEQ]\n"
               "  Names the last write to each byte before the point just after event SEQ\n"
               "  (default: the end): a guest store (vCPU, pc, instruction), a model write,\n"
               "  a host step or an xinterface write, and whether the dirty log saw it.\n"
               "  docs/debugging.md.\n" },
    { "shrink", "hvsim shrink TRACE.db [-o SMALL.db] [--max-runs N]\n"
                "  Searches for a smaller run that fails the same way as the run TRACE.db\n"
                "  records (same first failed expectation, step or guest assertion): fewer\n"
                "  context switches (delta debugging over its schedule), fewer seeded\n"
                "  preemption points, seeded step triggers moved within their range. Writes\n"
                "  the smallest to SMALL.db (default TRACE-shrunk.db), a trace that replays\n"
                "  identically, and prints switches, events and instructions before and\n"
                "  after. --max-runs bounds the candidate runs (default 500). Exit 0 when\n"
                "  written, 1 when it does not replay identically, 2 for bad input (not a\n"
                "  failing model run).\n" },
    { "explore",
      "hvsim explore SCENARIO.yaml [--seeds A..B | --runs N] [--seed S] [--vary KEY=V1,V2]...\n"
      "              [--set KEY=VALUE]... [-j JOBS] [--shard K/N] [--out DIR]\n"
      "              [--keep failures|all|none] [--until-failure] [--time-budget SECONDS]\n"
      "              [--metric NAME=SQL]... [--shrink] [--quiet]\n"
      "hvsim explore --report DIR [--plot X:METRIC -o FILE.svg]\n"
      "hvsim explore --merge DIR... --out DIR\n"
      "  Runs the scenario once per seed (A..B, or N seeds drawn from S; default: the\n"
      "  scenario's explore.runs, else 20) and per combination of varied values (a knob,\n"
      "  quantum, limit, steps.N.at.KIND or steps.N.args.KEY), JOBS worker processes at\n"
      "  a time (default: the core count), and records one row per run in\n"
      "  DIR/results.db (default DIR: explore-NAME): seed, varied values, outcome, failure\n"
      "  signature, instruction and event counts, wall time, metrics, kept trace. A\n"
      "  scenario's explore.keep names the expectations that must hold on every schedule.\n"
      "  --shard K/N runs the K-th of N slices of the run list; --merge combines shards.\n"
      "  --report prints each failure signature with its count, rate, smallest failing\n"
      "  seed and the hvsim run command that reproduces it; --plot aggregates a metric by\n"
      "  a varied key into FILE's .csv and an SVG (or PNG) drawn by gnuplot. --shrink\n"
      "  shrinks the first kept failure of each signature (help shrink). -j and --jobs\n"
      "  are one option. On a terminal one line of stderr shows the runs done and the\n"
      "  failures so far (--no-progress: not). Exit 0 when every run passed, 1 when one\n"
      "  failed, 2 for bad input. docs/exploration.md.\n" },
    { "export", "hvsim export TRACE.db [--format perfetto|csv|svg|png] [-o FILE] [--from SEQ]\n"
                "             [--to SEQ]\n"
                "  Writes the trace as a timeline for other tools (docs/export.md). perfetto:\n"
                "  Chrome trace-event JSON for ui.perfetto.dev or chrome://tracing, a process\n"
                "  per VM, a thread per vCPU, a VMM and a migration track, flows from each\n"
                "  forwarded exit to the VMM's answer, between continuation legs and from a\n"
                "  migration's source to its destination. csv: one row per event, a column\n"
                "  per detail key. svg, png: the timeline drawn (vCPU lanes, exits marked by\n"
                "  class, migration rounds shaded). Time is the instructions retired by all\n"
                "  vCPUs. --format defaults from -o's extension; -o defaults to TRACE with\n"
                "  the format's extension; -o - writes JSON or CSV to stdout. --from and --to\n"
                "  keep a seq range (a picture then spans only its time). Exit 0, or 2 for\n"
                "  bad input (not a trace, unknown format, empty range, unwritable file).\n" },
    { "list", "hvsim list [DIR] [--knobs]\n"
              "  Lists the scenarios under DIR (default: the bundled scenarios, installed\n"
              "  with hvsim): name, model, arch, file and description, wrapped to the\n"
              "  terminal's width (COLUMNS, else 80 when not a terminal). --knobs lists\n"
              "  every knob --set takes instead, as KEY=DEFAULT and what it does.\n"
              "hvsim list --bugs [--tsv]\n"
              "  Lists the bug zoo (models/bugs.def): per bug knob, its bad and fixed values,\n"
              "  the bug class and its public source, the scenario that catches it, the\n"
              "  command that pinpoints it and what the fix changes in the trace; --tsv: one\n"
              "  tab-separated line per knob. docs/bug-zoo.md.\n" },
};

static int usage(void)
{
    fputs(usage_text, stderr);
    return HV_EXIT_BADINPUT;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 1) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof help_texts / sizeof help_texts[0]; i++) {
        if (strcmp(argv[0], help_texts[i].cmd) == 0) {
            fputs(help_texts[i].text, stdout);
            return 0;
        }
    }
    fprintf(stderr, "hvsim: no command '%s'\n", argv[0]);
    return usage();
}

/*
 * Signals that stop a run: the first one asks the simulation to stop (hv_interrupt()) and the
 * sink to refuse what comes after, and `run` then finishes the trace as interrupted; a second
 * one ends the process at once (the trace's tail file keeps every event written).
 */
static const struct {
    int sig;
    const char *name;
} run_signals[] = { { SIGINT, "SIGINT" }, { SIGTERM, "SIGTERM" }, { SIGHUP, "SIGHUP" } };

static volatile sig_atomic_t run_signal;

static void run_on_signal(int sig)
{
    if (run_signal) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    run_signal = sig;
    hv_interrupt();
}

static void run_handle_signals(bool on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on ? run_on_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof run_signals / sizeof run_signals[0]; i++)
        sigaction(run_signals[i].sig, &sa, NULL);
}

static const char *run_signal_name(int sig)
{
    for (size_t i = 0; i < sizeof run_signals / sizeof run_signals[0]; i++)
        if (run_signals[i].sig == sig)
            return run_signals[i].name;
    return "a signal";
}

/* Sink for `run`: writes to the trace and tells the user what matters as it happens. */
struct run_sink {
    struct trace_writer *w;
    bool quiet;
    struct explainer *explain;  /* --explain: a sentence per event instead of guest text */
    /* HVSIM_TEST_SIGNAL=SEQ:SIG (tests only): raise SIG (INT, TERM, HUP or KILL) right after
     * event SEQ is written: a kill or an interruption at an exact point of the run. */
    uint64_t test_seq;
    int test_sig;           /* 0: none */
    /* the progress line of a run that lasts (runner/progress.h): events and instructions */
    struct progress prog;
    uint64_t icount[HV_MAX_VCPUS];  /* each vCPU's count at its last event */
    uint64_t insns;                 /* their sum, across migrations */
};

/* A run shows its progress line once it has lasted this long. */
#define RUN_PROGRESS_DELAY_MS 3000

/*
 * A guest's GUEST_PRINTF as text: "[vcpuN] " before each line, a final newline dropped,
 * and control bytes other than tab written as \xNN so that a guest cannot drive the
 * terminal. Bytes >= 0x80 pass as they are (UTF-8 text stays text).
 */
static void print_guest_text(const struct hv_event *ev)
{
    const struct hv_ev_ucall_printf *p = ev->fields;
    if (!p || !p->text) {
        printf("[vcpu%d] %s\n", ev->vcpu, ev->detail);
        return;
    }
    const unsigned char *t = (const unsigned char *)p->text;
    size_t n = strlen(p->text);
    if (n && t[n - 1] == '\n')
        n--;
    printf("[vcpu%d] ", ev->vcpu);
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '\n')
            printf("\n[vcpu%d] ", ev->vcpu);
        else if (t[i] < 0x20 && t[i] != '\t')
            printf("\\x%02x", t[i]);
        else if (t[i] == 0x7f)
            printf("\\x7f");
        else
            putchar(t[i]);
    }
    putchar('\n');
}

static int run_sink_fn(void *ctx, const struct hv_event *ev)
{
    struct run_sink *rs = ctx;
    if (run_signal)
        return HV_EINTR;
    if (!rs->quiet && (ev->kind == HV_EV_ucall_printf || ev->kind == HV_EV_ucall_assert))
        progress_end(&rs->prog);  /* the text goes where the line was; it comes back after */
    if (rs->explain) {
        char buf[4096];
        struct hv_event e = *ev;
        e.detail_len = hv_event_encode(buf, sizeof buf, ev->kind, ev->fields);
        e.detail = e.detail_len < sizeof buf ? buf : NULL;
        progress_end(&rs->prog);
        explain_line(rs->explain, &e, stdout);
    } else if (!rs->quiet) {
        if (ev->kind == HV_EV_ucall_printf)
            print_guest_text(ev);
        else if (ev->kind == HV_EV_ucall_assert)
            printf("[vcpu%d] GUEST_ASSERT failed %s\n", ev->vcpu, ev->detail);
    }
    if (ev->vcpu >= 0 && ev->vcpu < HV_MAX_VCPUS) {
        uint64_t *c = &rs->icount[ev->vcpu];
        rs->insns += ev->icount >= *c ? ev->icount - *c : ev->icount;
        *c = ev->icount;
    }
    if ((ev->seq & 1023) == 0 && progress_due(&rs->prog))
        progress_update(&rs->prog, "%" PRIu64 " events, %" PRIu64 " instructions", ev->seq + 1,
                        rs->insns);
    int err = trace_writer_event(rs->w, ev);
    if (!err && rs->test_sig && ev->seq == rs->test_seq) {
        fflush(stdout);
        raise(rs->test_sig);
    }
    return err;
}

/* Reads HVSIM_TEST_SIGNAL into rs; a malformed value is ignored. */
static void run_test_signal(struct run_sink *rs)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = { { "INT", SIGINT }, { "TERM", SIGTERM }, { "HUP", SIGHUP }, { "KILL", SIGKILL } };
    const char *v = getenv("HVSIM_TEST_SIGNAL");
    char *end;
    if (!v)
        return;
    errno = 0;
    unsigned long long seq = strtoull(v, &end, 10);
    if (errno || end == v || *end != ':')
        return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(end + 1, names[i].name) == 0) {
            rs->test_seq = seq;
            rs->test_sig = names[i].sig;
        }
}

/* A step or expectation that failed, as it happens (runner_hooks.failed; ctx the run_sink). */
static void print_failed(const char *line, void *ctx)
{
    struct run_sink *rs = ctx;
    progress_end(&rs->prog);
    printf("FAILED %s\n", line);
}

static char *default_trace_path(const char *scenario)
{
    const char *base = strrchr(scenario, '/');
    base = base ? base + 1 : scenario;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".yaml") == 0)
        n -= 5;
    char *out = malloc(n + 4);
    if (out)
        snprintf(out, n + 4, "%.*s.db", (int)n, base);
    return out;
}

/* The scenario's guest image, through the guest cache (runner/guestcache.h). */
static int build_guest(const struct scenario *sc, void **elf, size_t *len)
{
    static char log[16384];
    bool hit;
    int err = guest_cache_build(sc->arch, sc->guest_path, elf, len, &hit, log, sizeof log);
    if (err)
        fprintf(stderr, "hvsim: %s: building guest %s failed:\n%s%s\n", sc->path, sc->guest,
                log, log[0] ? "" : hv_error_detail());
    return err;
}

/* run_info keys of a trace recorded on the real kernel: the kernel and what it reported. */
static int kernel_info(struct trace_writer *w, const struct kvmh_kernel *k)
{
    char caps[2048], bits[64];
    kvmh_kernel_caps_json(k, caps, sizeof caps);
    snprintf(bits, sizeof bits, "{\"phys_bits\":%u,\"guest_phys_bits\":%u}", k->phys_bits,
             k->guest_phys_bits);
    const char *info[][2] = {
        { "backend", "kvm" }, { "kernel_release", k->release },
        { "kernel_version", k->version }, { "kvm_caps", caps },
        { "cpuid_vendor", k->vendor }, { "cpuid_80000008", bits },
    };
    int err = 0;
    for (size_t i = 0; i < sizeof info / sizeof info[0] && !err; i++)
        err = trace_writer_set_info(w, info[i][0], info[i][1]);
    return err;
}

static int cmd_run(int argc, char **argv)
{
    const char *scen = NULL, *out = NULL, *seed = NULL, *backend = "model", *from = NULL;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    size_t nsets = 0;
    bool quiet = false, explain = false;
    struct explainer *explainer = NULL;
    int code = HV_EXIT_BADINPUT;
    if (!sets) {
        fprintf(stderr, "hvsim run: out of memory: the argument list\n");
        return code;
    }
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = argv[++i];
        else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
            sets[nsets++] = argv[++i];
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            backend = argv[++i];
        else if (strcmp(argv[i], "--schedule-from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = true;
        else if (strcmp(argv[i], "--explain") == 0)
            explain = true;
        else if (argv[i][0] == '-' || scen) {
            free(sets);
            fprintf(stderr, "hvsim run: unexpected argument '%s'\n", argv[i]);
            return usage();
        } else
            scen = argv[i];
    }
    bool kvm = strcmp(backend, "kvm") == 0;
    if (!kvm && strcmp(backend, "model") != 0) {
        free(sets);
        fprintf(stderr, "hvsim run: --backend %s: expected model or kvm\n", backend);
        return usage();
    }
    if (!scen || (kvm && from)) {
        free(sets);
        if (scen)
            fprintf(stderr, "hvsim run: --schedule-from drives the model's scheduler; the kvm "
                            "backend has none\n");
        return usage();
    }
    struct hv_schedule *sched = NULL;
    if (!kvm && (hv_schedule_create(&sched) || (from && replay_schedule_from(from, sched)))) {
        fprintf(stderr, "hvsim run: --schedule-from %s\n", hv_error_detail());
        hv_schedule_destroy(sched);
        free(sets);
        return HV_EXIT_BADINPUT;
    }
    struct scenario *sc = NULL;
    struct trace_writer *w = NULL;
    char *trace_path = out ? strdup(out) : default_trace_path(scen);
    void *elf = NULL;
    size_t elf_len = 0;
    char *setlist = NULL;
    struct hv_diag d;
    struct kvmh_kernel kernel;
    char msg[1200];
    if (!trace_path) {
        fprintf(stderr, "hvsim run: out of memory: the trace path\n");
        goto out;
    }
    int err = scenario_load(&sc, scen, &d);
    if (err) {
        hv_diag_format(&d, msg, sizeof msg);
        fprintf(stderr, "hvsim: %s\n", msg);
        goto out;
    }
    if (seed) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(seed, &end, 0);
        if (errno || *end || !*seed || seed[0] == '-') {
            fprintf(stderr, "hvsim run: --seed %s: expected an unsigned integer\n", seed);
            goto out;
        }
        sc->seed = s;
    }
    size_t setlen = 1;
    for (size_t i = 0; i < nsets; i++) {
        if (scenario_set(sc, sets[i])) {
            fprintf(stderr, "hvsim run: --set %s: expected KEY=VALUE\n", sets[i]);
            goto out;
        }
        setlen += strlen(sets[i]) + 1;
    }
    if (!(setlist = calloc(1, setlen))) {
        fprintf(stderr, "hvsim run: out of memory: the --set list\n");
        goto out;
    }
    for (size_t i = 0; i < nsets; i++) {
        strcat(setlist, sets[i]);
        strcat(setlist, "\n");
    }
    if ((err = runner_check(sc, &d)) || (err = runner_check_guest(sc, &d))) {
        hv_diag_format(&d, msg, sizeof msg);
        fprintf(stderr, "hvsim: %s\n", msg);
        goto out;
    }
    if (kvm) {
        if (kvmrun_check(sc, msg, sizeof msg)) {
            printf("%s: not runnable on the kvm backend: %s\n", sc->name, msg);
            code = HV_EXIT_FAILED;
            goto out;
        }
        if (kvmh_kernel_info(&kernel)) {
            fprintf(stderr, "hvsim run: --backend kvm: %s\n", hv_error_detail());
            goto out;
        }
    }
    if (build_guest(sc, &elf, &elf_len))
        goto out;
    if ((err = trace_writer_open(&w, trace_path))) {
        fprintf(stderr, "hvsim: %s\n", hv_error_detail());
        goto out;
    }
    err = replay_inputs_write(w, sc, scen, setlist, elf, elf_len, kvm ? NULL : "model");
    if (!err && kvm)
        err = kernel_info(w, &kernel);
    if (err) {
        fprintf(stderr, "hvsim: %s: %s\n", trace_path, hv_error_detail());
        goto out;
    }
    if (explain && explainer_open(&explainer)) {
        fprintf(stderr, "hvsim run: out of memory\n");
        goto out;
    }
    struct run_sink rs = { .w = w, .quiet = quiet, .explain = explainer };
    progress_init_stderr(&rs.prog, RUN_PROGRESS_DELAY_MS);
    run_test_signal(&rs);
    struct runner_hooks hooks = { .failed = quiet ? NULL : print_failed, .ctx = &rs,
                                  .schedule = sched };
    struct kvmrun_result kres;
    struct runner_result *res = &kres.run;
    run_handle_signals(true);
    if (kvm)
        err = kvmrun_execute(sc, elf, elf_len, NULL, run_sink_fn, &rs, &hooks, &kres);
    else
        err = runner_execute(sc, elf, elf_len, run_sink_fn, &rs, &hooks, res);
    progress_end(&rs.prog);
    code = runner_exit_code(res);
    if (run_signal) {
        /* Every event up to the signal is written; the run ends by the same signal below. */
        code = 128 + run_signal;
        trace_writer_set_info(w, "outcome", "interrupted");
        trace_writer_set_info_int(w, "exit_code", code);
        if (!kvm)
            trace_writer_set_info_int(w, "instructions", (int64_t)res->instructions);
        if ((err = trace_writer_interrupt(w, run_signal_name(run_signal))))
            fprintf(stderr, "hvsim: %s: %s\n", trace_path, hv_error_detail());
        else
            fprintf(stderr, "hvsim: %s: interrupted by %s after %" PRIu64 " events; %s holds "
                            "every one of them (status interrupted)\n",
                    sc->name, run_signal_name(run_signal), trace_writer_count(w), trace_path);
        goto out;
    }
    trace_writer_set_info(w, "outcome", hv_outcome_name(res->outcome));
    trace_writer_set_info_int(w, "exit_code", code);
    if (kvm)
        trace_writer_set_info(w, "not_runnable", kres.runnable ? "" : kres.why_not);
    else
        trace_writer_set_info_int(w, "instructions", (int64_t)res->instructions);
    trace_writer_set_info_int(w, "events", (int64_t)res->events);
    if (!err && sched)
        err = replay_schedule_write(w, sched);
    if (err) {
        fprintf(stderr, "hvsim: %s: run failed: %s: %s\n", scen, hv_strerror(err),
                hv_error_detail());
        trace_writer_flush(w); /* keep what was recorded; the trace stays incomplete */
        goto out;
    }
    if ((err = trace_writer_finish(w))) {
        fprintf(stderr, "hvsim: %s: %s\n", trace_path, hv_error_detail());
        code = HV_EXIT_BADINPUT;
        goto out;
    }
    if (kvm)
        printf("%s: %s; expectations %s; %" PRIu64 " events on the kvm backend (Linux %s) -> "
               "%s\n", sc->name, res->summary, res->expect_ok ? "held" : "FAILED", res->events,
               kernel.release, trace_path);
    else
        printf("%s: %s; expectations %s; %" PRIu64 " instructions, %" PRIu64 " events -> %s\n",
               sc->name, res->summary, res->expect_ok ? "held" : "FAILED", res->instructions,
               res->events, trace_path);
out:
    explainer_close(explainer);
    trace_writer_close(w);
    scenario_destroy(sc);
    free(trace_path);
    free(elf);
    free(setlist);
    free(sets);
    hv_schedule_destroy(sched);
    run_handle_signals(false);
    if (run_signal) {
        fflush(stdout);
        raise(run_signal);
    }
    return code;
}

static int cmd_replay(int argc, char **argv)
{
    const char *trace = NULL;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    size_t nsets = 0;
    long port = -1;
    char *end;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
            sets[nsets++] = argv[++i];
        else if (strcmp(argv[i], "--gdb") == 0 && i + 1 < argc &&
                 (port = strtol(argv[i + 1], &end, 10)) >= 0 && port <= 65535 && !*end &&
                 *argv[i + 1])
            i++;
        else if (argv[i][0] == '-' || trace) {
            free(sets);
            fprintf(stderr, "hvsim replay: unexpected argument '%s'\n", argv[i]);
            return usage();
        } else
            trace = argv[i];
    }
    if (!trace) {
        free(sets);
        return usage();
    }
    uint64_t seq = 0;
    int code = replay_trace_at(trace, sets, nsets, stdout, stderr, &seq);
    if (code == HV_EXIT_DIVERGED && port >= 0) {
        struct debug_opts o = { .port = (int)port, .sets = sets, .nsets = nsets, .at = true,
                                .at_seq = seq };
        if (debug_main(trace, &o, stdout, stderr) != HV_EXIT_OK)
            code = HV_EXIT_BADINPUT;
    }
    free(sets);
    return code;
}

static int cmd_diff(int argc, char **argv)
{
    const char *paths[2] = { NULL, NULL };
    bool json = false;
    size_t n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-' || n == 2) {
            fprintf(stderr, "hvsim diff: unexpected argument '%s'\n", argv[i]);
            return usage();
        } else
            paths[n++] = argv[i];
    }
    if (n != 2)
        return usage();
    return diff_traces(paths[0], paths[1], json, stdout, stderr);
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno || *end || !*s)
        return -1;
    *out = v;
    return 0;
}

/* --kind LIST: comma-separated kind names, added to o. An unknown one is an error that lists
 * every kind. */
static int add_kinds(struct show_opts *o, const char *list)
{
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), p);
        int k = len < sizeof name ? hv_kind_lookup(name) : -1;
        if (k < 0) {
            const char *names[HV_EV__COUNT + 1];
            char hint[200];
            runner_kind_names(names);
            fprintf(stderr, "hvsim show: --kind %s: no event kind '%.*s'%s; the kinds are:\n",
                    list, (int)len, p, hv_suggest_hint(name, names, hint, sizeof hint));
            for (size_t i = 0; names[i]; i++)
                fprintf(stderr, "%s%s", names[i], names[i + 1] ? (i % 8 == 7 ? ",\n" : ", ")
                                                                : "\n");
            return -1;
        }
        if (!o->kinds[k])
            o->nkinds++;
        o->kinds[k] = true;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

static int cmd_show(int argc, char **argv)
{
    struct show_opts o = { .filter = TRACE_FILTER_ALL };
    const char *trace = NULL;
    for (int i = 0; i < argc; i++) {
        int64_t v;
        if (strcmp(argv[i], "--json") == 0)
            o.json = true;
        else if (strcmp(argv[i], "--explain") == 0)
            o.explain = true;
        else if (i + 1 < argc && strcmp(argv[i], "--kind") == 0) {
            if (add_kinds(&o, argv[++i]))
                return HV_EXIT_BADINPUT;
        }
        else if (i + 1 < argc && strcmp(argv[i], "--vm") == 0) {
            i++;
            if (parse_i64(argv[i], &v) || v < 0 || v > UINT32_MAX) {
                fprintf(stderr, "hvsim show: --vm %s: expected a VM number (0, 1, ...)\n",
                        argv[i]);
                return usage();
            }
            o.filter.by_vm = true;
            o.filter.vm = (uint32_t)v;
        } else if (i + 1 < argc && (strcmp(argv[i], "--vcpu") == 0 ||
                                  strcmp(argv[i], "--from") == 0 ||
                                  strcmp(argv[i], "--to") == 0)) {
            const char *opt = argv[i++];
            if (parse_i64(argv[i], &v) || v < -1) {
                fprintf(stderr, "hvsim show: %s %s: expected a number\n", opt, argv[i]);
                return usage();
            }
            if (opt[2] == 'v')
                o.filter.vcpu = (int32_t)v;
            else if (opt[2] == 'f')
                o.filter.from = v;
            else
                o.filter.to = v;
        } else if (argv[i][0] == '-' || trace) {
            fprintf(stderr, "hvsim show: unexpected argument '%s'\n", argv[i]);
            return usage();
        } else
            trace = argv[i];
    }
    if (!trace)
        return usage();
    if (o.json && o.explain) {
        fprintf(stderr, "hvsim show: --explain prints sentences and --json JSON: choose one\n");
        return HV_EXIT_BADINPUT;
    }
    /* one kind: the reader filters in SQL; several: show does */
    for (int k = 0; o.nkinds == 1 && k < HV_EV__COUNT; k++)
        if (o.kinds[k])
            o.filter.kind = hv_kind_desc((enum hv_ev_kind)k)->name;
    return show_trace(trace, &o, stdout, stderr);
}

int main(int argc, char **argv)
{
    /* --no-progress, wherever it is: no progress line for any command (runner/progress.h) */
    int n = 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--no-progress") == 0)
            progress_disable();
        else
            argv[n++] = argv[i];
    argc = n;
    argv[argc] = NULL;
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        char uv[32], cv[32];
        hv_lib_versions(uv, sizeof uv, cv, sizeof cv);
        printf("hvsim %s (unicorn %s, capstone %s)\n", HVSIM_VERSION, uv, cv);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return cmd_help(argc - 2, argv + 2);
    /* COMMAND --help (or -h), wherever it is: that command's help */
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return cmd_help(1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "replay") == 0)
        return cmd_replay(argc - 2, argv + 2);
    if (strcmp(cmd, "diff") == 0)
        return cmd_diff(argc - 2, argv + 2);
    if (strcmp(cmd, "crosscheck") == 0)
        return xcheck_main(argc - 2, argv + 2, build_guest);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(argc - 2, argv + 2);
    if (strcmp(cmd, "debug") == 0)
        return debug_cli(argc - 2, argv + 2);
    if (strcmp(cmd, "state") == 0)
        return dcli_state(argc - 2, argv + 2);
    if (strcmp(cmd, "blame") == 0)
        return dcli_blame(argc - 2, argv + 2);
    if (strcmp(cmd, "export") == 0)
        return export_main(argc - 2, argv + 2);
    if (strcmp(cmd, "list") == 0)
        return list_main(argc - 2, argv + 2);
    if (strcmp(cmd, "shrink") == 0)
        return shrinkcmd_main(argc - 2, argv + 2);
    if (strcmp(cmd, "explore") == 0)
        return explore_main(argc - 2, argv + 2);
    fprintf(stderr, "hvsim: unknown command '%s'\n", cmd);
    return usage();
}
