/*
 * bench.c - hvsim-bench, what `make bench` runs: hvsim's cost measured as ratios against bare
 * Unicorn, side by side in one process. It never asserts against a wall-clock threshold and is
 * not part of `make test`; bench/README.md explains every figure and its DESIGN.md target.
 *
 *   1. compute-bound guests (bench/guests/compute.c, and alu.c as the worst case for a
 *      per-block hook): bare Unicorn with no hooks vs hvsim's recording path (runner_execute
 *      with the SQLite trace writer, as `hvsim run` does), 1 and 2 vCPUs; trace bytes per
 *      1000 guest instructions;
 *   2. scheduling 2 vCPUs: bare Unicorn alternating two engines with uc_emu_start(count =
 *      quantum) vs hvsim's deterministic scheduler;
 *   3. hypercall round trips (x86_64 vmcall, aarch64 hvc) with their trace events;
 *   4. replay_trace() of each recorded trace vs its recording;
 *   5. the trace: every target of the trace path in one table (hypercall round trip, bytes per
 *      event and per 1000 instructions, `hvsim show` speed, replay / record), with, given
 *      --baseline DIR, the same figures of another build (its hvsim and hvsim-bench, run as
 *      processes between ours) in a "before" column.
 *   6. creating N memslots (509, 4096, 32764) through the KVM model: time per slot, and how
 *      it grows with N;
 *   7. changing one 2 MiB memslot while the guest runs, at several places of the x86_64 and
 *      aarch64 address spaces (--only memslots runs 6 and 7 alone);
 *   8. `hvsim explore` with -j 2 vs -j 1 on a bundled scenario: runs per second each, and the
 *      throughput ratio (--only explore runs 8 alone).
 *
 * Both sides run the same ELF, built once per arch with guest_build(). The guest library
 * boots, enables paging and only makes a ucall at the very end (GUEST_DONE), so bare Unicorn
 * runs it with no hook: guest RAM mapped at its base, the private window page (256 GiB)
 * mapped to the vCPU's private page, and on aarch64 a plain RAM page where the ucall MMIO page
 * is, so that the final ucall store lands in memory. An x86 `out` with no hook does nothing.
 * The run ends at the guest's final `cli; hlt` / `wfi`. Each guest writes a checksum to
 * bench_abi.h's result slot; bare and hvsim results must agree.
 *
 * Times come from clock_gettime(CLOCK_MONOTONIC), here only. Every time is the median of
 * --reps runs (default 3); the repetitions are interleaved (one run of everything, then the
 * next), and a ratio is the median of the per-repetition ratios of runs made back to back.
 */
#include <elf.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <unicorn/unicorn.h>

#include "bench/guests/bench_abi.h"
#include "models/models.h"
#include "replay/replay.h"
#include "runner/guestbuild.h"
#include "runner/runner.h"
#include "runner/scenario.h"
#include "scenarios/lib/hv_abi.h"
#include "sim/migrate.h"
#include "trace/trace.h"

#ifndef HVSIM_BUILD_TYPE
#define HVSIM_BUILD_TYPE "unknown"
#endif

#define GUEST_DIR HVSIM_SOURCE_DIR "/bench/guests"
#define MAX_REPS 9
#define RAM_SIZE (16ULL << 20)          /* model none's default, which the scenarios use */
#define PRIV_VA 0x4000000000ULL         /* GUEST_PRIV_VA of scenarios/lib/guest.h */
#define BARE_UNTIL 0x7ffedead0000ULL    /* never executed, as hvsim's own `until` */
#define QUANTUM 10000                   /* the bench scenarios' quantum */

/* DESIGN.md's performance targets. */
#define TARGET_COMPUTE_RATIO 1.05   /* a compute-bound guest, 1 and 2 vCPUs */
#define TARGET_ALU_RATIO 1.5        /* a tight ALU loop, 1 vCPU */
#define REFERENCE_COUNT_COST 13.0
#define TARGET_HYPERCALL_NS 1000.0
#define TARGET_TRACE_EVENT_BYTES 40.0
#define TARGET_TRACE_KINSN_BYTES 3.0
#define TARGET_SHOW_EVENTS_S 1e6
#define TARGET_REPLAY_RATIO 1.0
/* "far below" count quanta, read as: hvsim costs at most a quarter of them */
#define TARGET_SCHED_SHARE 0.25

static unsigned reps = 3;

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hvsim-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- figures: repeated times, reported as median [min-max] ---- */

struct figure {
    double t[MAX_REPS];
    unsigned n;
};

static void fig_add(struct figure *f, double secs)
{
    if (f->n < MAX_REPS)
        f->t[f->n++] = secs;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double fig_median(const struct figure *f)
{
    double s[MAX_REPS];
    if (!f->n)
        return 0;
    memcpy(s, f->t, f->n * sizeof s[0]);
    qsort(s, f->n, sizeof s[0], cmp_double);
    return f->n % 2 ? s[f->n / 2] : (s[f->n / 2 - 1] + s[f->n / 2]) / 2;
}

static double fig_min(const struct figure *f)
{
    double m = f->n ? f->t[0] : 0;
    for (unsigned i = 1; i < f->n; i++)
        m = f->t[i] < m ? f->t[i] : m;
    return m;
}

static double fig_max(const struct figure *f)
{
    double m = f->n ? f->t[0] : 0;
    for (unsigned i = 1; i < f->n; i++)
        m = f->t[i] > m ? f->t[i] : m;
    return m;
}

/* "1234 [1200-1300]" in milliseconds */
static const char *fig_ms(const struct figure *f, char *buf, size_t size)
{
    snprintf(buf, size, "%5.0f [%.0f-%.0f]", fig_median(f) * 1e3, fig_min(f) * 1e3,
             fig_max(f) * 1e3);
    return buf;
}

/*
 * Two figures measured side by side are compared run by run: a[i] / b[i], each pair run close
 * together in the same repetition, so that slow drift of the host (other load, frequency)
 * cancels within a pair; the median of those ratios is reported. These are the ratios.
 */
static struct figure ratios(const struct figure *a, const struct figure *b)
{
    struct figure r = { .n = 0 };
    for (unsigned i = 0; i < a->n && i < b->n; i++)
        fig_add(&r, b->t[i] > 0 ? a->t[i] / b->t[i] : 0);
    return r;
}

/* "1.23x [1.10-1.30]": the paired ratio and its range over the repetitions */
static const char *ratio_str(const struct figure *a, const struct figure *b, char *buf,
                             size_t size)
{
    struct figure r = ratios(a, b);
    snprintf(buf, size, "%5.2fx [%.2f-%.2f]", fig_median(&r), fig_min(&r), fig_max(&r));
    return buf;
}

/*
 * Whether the values of f (one per repetition) meet `value <= target`: "ok" when every
 * repetition does, "MISSED" when none does, "undecided" when they disagree (the host's noise
 * is larger than the distance to the target; the median is printed beside it).
 */
static const char *verdict(const struct figure *f, double target)
{
    if (fig_max(f) <= target)
        return "ok";
    if (fig_min(f) > target)
        return "MISSED";
    return "undecided";
}

static const char *verdict_ratio(const struct figure *a, const struct figure *b, double target)
{
    struct figure r = ratios(a, b);
    return verdict(&r, target);
}

/* ---- guest images ---- */

struct image {
    const char *guest;         /* compute, alu, hypercall, empty */
    void *elf;
    size_t len;
    uint64_t entry;
    uint64_t priv_start;       /* __priv_start: vCPU i's private page is at + 4096 i */
};

static void *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Value and size of a symbol of an ELF64 image's symbol table. */
static int elf_symbol(const struct image *img, const char *name, uint64_t *value,
                      uint64_t *size)
{
    const uint8_t *p = img->elf;
    Elf64_Ehdr eh;
    memcpy(&eh, p, sizeof eh);
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > img->len ||
        (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) > img->len - eh.e_shoff)
        return -1;
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh, strh;
        memcpy(&sh, p + eh.e_shoff + i * sizeof sh, sizeof sh);
        if (sh.sh_type != SHT_SYMTAB || sh.sh_link >= eh.e_shnum)
            continue;
        memcpy(&strh, p + eh.e_shoff + sh.sh_link * sizeof strh, sizeof strh);
        if (sh.sh_offset > img->len || sh.sh_size > img->len - sh.sh_offset ||
            strh.sh_offset > img->len || strh.sh_size > img->len - strh.sh_offset)
            return -1;
        for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
            Elf64_Sym sym;
            memcpy(&sym, p + sh.sh_offset + off, sizeof sym);
            if (sym.st_name >= strh.sh_size)
                continue;
            const char *s = (const char *)p + strh.sh_offset + sym.st_name;
            size_t max = strh.sh_size - sym.st_name;
            if (strnlen(s, max) < max && strcmp(s, name) == 0) {
                *value = sym.st_value;
                *size = sym.st_size;
                return 0;
            }
        }
    }
    return -1;
}

/* Builds bench/guests/<guest>.c for arch with guest_build(), as `hvsim run` would. */
static void build_image(struct image *img, const char *guest, enum hv_arch arch,
                        const char *tmpdir)
{
    char src[4096], out[4096];
    static char log[16384];
    snprintf(src, sizeof src, "%s/%s.c", GUEST_DIR, guest);
    snprintf(out, sizeof out, "%s/%s-%s.elf", tmpdir, guest, hv_arch_name(arch));
    int err = guest_build(arch, src, out, log, sizeof log);
    if (err)
        die("building %s for %s failed: %s\n%s", src, hv_arch_name(arch), hv_strerror(err), log);
    img->guest = guest;
    img->elf = read_whole(out, &img->len);
    if (!img->elf || img->len < sizeof(Elf64_Ehdr))
        die("cannot read %s", out);
    Elf64_Ehdr eh;
    memcpy(&eh, img->elf, sizeof eh);
    img->entry = eh.e_entry;
    uint64_t sz;
    if (elf_symbol(img, "__priv_start", &img->priv_start, &sz))
        die("%s: no __priv_start symbol", out);
}

/* ---- bare Unicorn: the same ELF with no hooks ---- */

struct arch_info {
    enum hv_arch arch;
    uint64_t ram_base;
};

/* Loads the PT_LOAD segments into ram (RAM_SIZE bytes at ram_base), zero-filled beyond. */
static void bare_load(const struct image *img, uint64_t ram_base, uint8_t *ram)
{
    const uint8_t *p = img->elf;
    Elf64_Ehdr eh;
    memcpy(&eh, p, sizeof eh);
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > img->len ||
        (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > img->len - eh.e_phoff)
        die("%s: bad program headers", img->guest);
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, p + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || !ph.p_memsz)
            continue;
        if (ph.p_paddr < ram_base || ph.p_memsz > RAM_SIZE ||
            ph.p_paddr - ram_base > RAM_SIZE - ph.p_memsz || ph.p_filesz > ph.p_memsz ||
            ph.p_offset > img->len || ph.p_filesz > img->len - ph.p_offset)
            die("%s: segment outside guest RAM", img->guest);
        memcpy(ram + (ph.p_paddr - ram_base), p + ph.p_offset, ph.p_filesz);
    }
}

static void uc_check(uc_err e, const char *what)
{
    if (e != UC_ERR_OK)
        die("bare Unicorn: %s: %s", what, uc_strerror(e));
}

/* The floor of any counting by block hook: a block hook that does nothing. */
static bool bare_empty_hook;

static void empty_block_hook(uc_engine *uc, uint64_t pc, uint32_t size, void *ud)
{
    (void)uc;
    (void)pc;
    (void)size;
    (void)ud;
}

static uc_engine *bare_open(const struct arch_info *ai, const struct image *img, uint8_t *ram,
                            unsigned id, unsigned nr)
{
    uc_engine *uc;
    uint64_t zero = 0, vid = id, vnr = nr;
    uint8_t *priv = ram + (img->priv_start - ai->ram_base) + 4096ULL * id;
    if (ai->arch == HV_ARCH_X86_64) {
        uc_check(uc_open(UC_ARCH_X86, UC_MODE_64, &uc), "uc_open");
        uc_check(uc_mem_map_ptr(uc, ai->ram_base, RAM_SIZE, UC_PROT_ALL, ram), "map RAM");
        uc_check(uc_mem_map_ptr(uc, PRIV_VA, 4096, UC_PROT_ALL, priv), "map private window");
        uc_check(uc_reg_write(uc, UC_X86_REG_RIP, &img->entry), "rip");
        uc_check(uc_reg_write(uc, UC_X86_REG_RDI, &vid), "rdi");
        uc_check(uc_reg_write(uc, UC_X86_REG_RSI, &vnr), "rsi");
        uc_check(uc_reg_write(uc, UC_X86_REG_RSP, &zero), "rsp");
    } else {
        uc_check(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc), "uc_open");
        uc_check(uc_mem_map_ptr(uc, ai->ram_base, RAM_SIZE, UC_PROT_ALL, ram), "map RAM");
        uc_check(uc_mem_map_ptr(uc, PRIV_VA, 4096, UC_PROT_ALL, priv), "map private window");
        /* plain memory, no callback: GUEST_DONE's ucall store just lands there */
        uc_check(uc_mem_map(uc, HV_UCALL_MMIO, 4096, UC_PROT_ALL), "map ucall page");
        /* the boot state of hv_abi.h: Non-secure EL1 (SCR_EL3 = NS|HCE|RW), HCR_EL2.RW */
        uc_arm64_cp_reg scr = { .op0 = 3, .op1 = 6, .crn = 1, .crm = 1, .op2 = 0, .val = 0x501 };
        uc_arm64_cp_reg hcr = { .op0 = 3, .op1 = 4, .crn = 1, .crm = 1, .op2 = 0,
                                .val = 1ULL << 31 };
        uc_check(uc_reg_write(uc, UC_ARM64_REG_CP_REG, &scr), "SCR_EL3");
        uc_check(uc_reg_write(uc, UC_ARM64_REG_CP_REG, &hcr), "HCR_EL2");
        uc_check(uc_reg_write(uc, UC_ARM64_REG_PC, &img->entry), "pc");
        uc_check(uc_reg_write(uc, UC_ARM64_REG_X0, &vid), "x0");
        uc_check(uc_reg_write(uc, UC_ARM64_REG_X1, &vnr), "x1");
        uc_check(uc_reg_write(uc, UC_ARM64_REG_SP, &zero), "sp");
    }
    uc_hook h;
    if (bare_empty_hook)
        uc_check(uc_hook_add(uc, &h, UC_HOOK_BLOCK, (void *)empty_block_hook, NULL, 1, 0),
                 "block hook");
    return uc;
}

static uint64_t bare_pc(const struct arch_info *ai, uc_engine *uc)
{
    uint64_t pc = 0;
    uc_reg_read(uc, ai->arch == HV_ARCH_X86_64 ? UC_X86_REG_RIP : UC_ARM64_REG_PC, &pc);
    return pc;
}

/* True when the engine stopped right after the guest library's halt (x86 `cli; hlt`, arm64
 * `wfi`), which is where a vCPU sits after GUEST_DONE. */
static bool bare_halted(const struct arch_info *ai, uc_engine *uc, uint64_t pc)
{
    if (ai->arch == HV_ARCH_X86_64) {
        uint8_t b[2] = { 0 };
        return pc >= 2 && uc_mem_read(uc, pc - 2, b, 2) == UC_ERR_OK && b[0] == 0xfa &&
               b[1] == 0xf4;
    }
    uint32_t insn = 0;
    return pc >= 4 && uc_mem_read(uc, pc - 4, &insn, 4) == UC_ERR_OK && insn == 0xd503207f;
}

static const struct bench_result *result_slot(const uint8_t *ram, unsigned id)
{
    return (const struct bench_result *)(const void *)(ram + BENCH_RESULT_OFFSET) + id;
}

/*
 * Runs the image on nr engines sharing one RAM buffer. quantum 0: each engine runs free
 * (count 0) to its final halt, one after the other. quantum > 0: the engines take turns,
 * uc_emu_start(count = quantum) each, until all have halted. The time covers engine creation,
 * loading, the run and teardown, as hvsim's does.
 */
static double bare_run(const struct arch_info *ai, const struct image *img, unsigned nr,
                       uint64_t quantum, struct bench_result *res)
{
    double t0 = now_s();
    uint8_t *ram = aligned_alloc(4096, RAM_SIZE);
    if (!ram)
        die("out of memory");
    memset(ram, 0, RAM_SIZE);
    bare_load(img, ai->ram_base, ram);
    uc_engine *uc[BENCH_MAX_VCPUS];
    bool done[BENCH_MAX_VCPUS] = { false };
    for (unsigned i = 0; i < nr; i++)
        uc[i] = bare_open(ai, img, ram, i, nr);
    unsigned left = nr;
    while (left) {
        for (unsigned i = 0; i < nr; i++) {
            if (done[i])
                continue;
            uint64_t pc = bare_pc(ai, uc[i]);
            uc_err e = uc_emu_start(uc[i], pc, BARE_UNTIL, 0, quantum);
            if (e != UC_ERR_OK)
                die("bare Unicorn: %s %s vCPU %u stopped at 0x%" PRIx64 ": %s", img->guest,
                    hv_arch_name(ai->arch), i, bare_pc(ai, uc[i]), uc_strerror(e));
            pc = bare_pc(ai, uc[i]);
            if (result_slot(ram, i)->magic == BENCH_MAGIC && bare_halted(ai, uc[i], pc)) {
                done[i] = true;
                left--;
            } else if (!quantum) {
                die("bare Unicorn: %s %s vCPU %u stopped early at 0x%" PRIx64, img->guest,
                    hv_arch_name(ai->arch), i, pc);
            }
        }
    }
    for (unsigned i = 0; i < nr; i++)
        uc_close(uc[i]);
    memcpy(res, result_slot(ram, 0), nr * sizeof *res);
    free(ram);
    return now_s() - t0;
}

/* ---- hvsim: recording (as `hvsim run`) and replay ---- */

struct record_out {
    uint64_t instructions, events;
    long long bytes;
    struct bench_result res[BENCH_MAX_VCPUS];
};

struct inspect_ctx {
    uint64_t gpa;
    struct bench_result *out;
    unsigned nr;
};

/* After the run, before the VM goes: the guests' result slots. */
static void inspect_results(struct hv_vm *vm, void *ctx)
{
    struct inspect_ctx *ic = ctx;
    if (hv_vm_read_gpa(vm, ic->gpa, ic->out, ic->nr * sizeof *ic->out))
        memset(ic->out, 0, ic->nr * sizeof *ic->out);
}

/*
 * What `hvsim run SCENARIO -o TRACE` does once the guest is built: load and check the
 * scenario, open the trace, store the inputs, run with the trace writer as the sink, store
 * the outcome, finish and close the trace.
 */
static double record(const char *yaml, const struct image *img, const struct arch_info *ai,
                     const char *trace, struct record_out *o)
{
    memset(o, 0, sizeof *o);
    double t0 = now_s();
    struct scenario *sc = NULL;
    struct trace_writer *w = NULL;
    struct hv_diag d;
    char msg[1200];
    if (scenario_load(&sc, yaml, &d) || runner_check(sc, &d)) {
        hv_diag_format(&d, msg, sizeof msg);
        die("%s", msg);
    }
    if (sc->vcpus > BENCH_MAX_VCPUS)
        die("%s: more than %d vCPUs", yaml, BENCH_MAX_VCPUS);
    if (trace_writer_open(&w, trace))
        die("%s", hv_error_detail());
    char uv[32], cv[32], seedtxt[32];
    hv_lib_versions(uv, sizeof uv, cv, sizeof cv);
    snprintf(seedtxt, sizeof seedtxt, "%" PRIu64, sc->seed);
    char *cfg = runner_config_json(sc);
    const char *info[][2] = {
        { "scenario_name", sc->name }, { "scenario_path", yaml },
        { "scenario_text", sc->text }, { "seed", seedtxt }, { "sets", "" },
        { "config", cfg ? cfg : "{}" }, { "model", sc->model },
        { "arch", hv_arch_name(sc->arch) }, { "hvsim_version", HVSIM_VERSION },
        { "unicorn_version", uv }, { "capstone_version", cv },
    };
    int err = 0;
    for (size_t i = 0; i < sizeof info / sizeof info[0] && !err; i++)
        err = trace_writer_set_info(w, info[i][0], info[i][1]);
    if (!err)
        err = trace_writer_put_blob(w, "guest.elf", img->elf, img->len);
    if (err)
        die("%s: %s", trace, hv_error_detail());
    struct inspect_ctx ic = { ai->ram_base + BENCH_RESULT_OFFSET, o->res, (unsigned)sc->vcpus };
    struct runner_hooks hooks = { .inspect = inspect_results, .ctx = &ic };
    struct runner_result res;
    err = runner_execute(sc, img->elf, img->len, trace_writer_sink, w, &hooks, &res);
    int code = runner_exit_code(&res);
    trace_writer_set_info(w, "outcome", hv_outcome_name(res.outcome));
    trace_writer_set_info_int(w, "exit_code", code);
    trace_writer_set_info_int(w, "instructions", (int64_t)res.instructions);
    trace_writer_set_info_int(w, "events", (int64_t)res.events);
    if (err || code != HV_EXIT_OK)
        die("%s: run failed (exit %d): %s; %s", yaml, code, err ? hv_strerror(err) : "",
            res.summary);
    if (trace_writer_finish(w))
        die("%s: %s", trace, hv_error_detail());
    trace_writer_close(w);
    double t = now_s() - t0;
    struct stat st;
    if (stat(trace, &st))
        die("%s: %s", trace, strerror(errno));
    o->bytes = (long long)st.st_size;
    o->instructions = res.instructions;
    o->events = res.events;
    free(cfg);
    scenario_destroy(sc);
    return t;
}

static FILE *devnull;

/* `hvsim replay TRACE`: re-runs from the trace alone, comparing every event. */
static double replay(const char *trace)
{
    double t0 = now_s();
    int code = replay_trace(trace, NULL, 0, devnull, stderr);
    double t = now_s() - t0;
    if (code != HV_EXIT_OK)
        die("replay of %s exited %d", trace, code);
    return t;
}

/* ---- the measurements ---- */

enum { W_COMPUTE, W_ALU, W_COUNT };
static const char *const workload_names[W_COUNT] = { "compute", "alu" };

struct workload {
    struct image img;
    struct figure bare[2], hv[2], quanta, rep[2];   /* [0]: 1 vCPU, [1]: 2 vCPUs */
    struct figure hooked;                            /* bare, an empty block hook, 1 vCPU */
    struct record_out rec[2];
    uint64_t value;                                  /* the checksum every vCPU must report */
    bool have_value;
};

/* Figure 5's own measurements, per arch (the rest comes from the figures above). */
struct trace_bench {
    struct figure show_text, show_json;     /* `hvsim show` of the hypercall trace, s */
    struct figure start, b_start;           /* `hvsim --version`: a process start, s */
    /* --baseline: the other build's figures, measured between ours */
    struct figure b_hc, b_empty, b_hc_rep, b_show_text;
    long long b_hc_bytes, b_hc_events, b_c2_bytes, b_c2_events, b_c2_insns;
};

struct arch_bench {
    struct arch_info ai;
    struct workload w[W_COUNT];
    struct image hc_img, empty_img;
    struct figure hc, hc_rep, empty_bare, empty_hv;
    struct record_out hc_rec, empty_rec;
    struct trace_bench tr;
};

static const char *tmpdir;

static void check_results(struct workload *wl, const char *arch, const char *who,
                          const struct bench_result *res, unsigned nr)
{
    for (unsigned i = 0; i < nr; i++) {
        if (res[i].magic != BENCH_MAGIC)
            die("%s %s (%s): vCPU %u left no result", wl->img.guest, arch, who, i);
        if (!wl->have_value) {
            wl->value = res[i].value;
            wl->have_value = true;
        } else if (res[i].value != wl->value) {
            die("%s %s (%s): vCPU %u computed %#" PRIx64 ", expected %#" PRIx64,
                wl->img.guest, arch, who, i, (uint64_t)res[i].value, wl->value);
        }
    }
}

static void scenario_path(char *buf, size_t size, const char *guest, const char *arch,
                          unsigned nr)
{
    snprintf(buf, size, "%s/%s-%s%s.yaml", GUEST_DIR, guest, arch, nr > 1 ? "-2vcpu" : "");
}

static void trace_path(char *buf, size_t size, const char *guest, const char *arch,
                       unsigned nr)
{
    snprintf(buf, size, "%s/%s-%s-%u.db", tmpdir, guest, arch, nr);
}

/* ---- 5. the trace ---- */

static const char *baseline;            /* --baseline DIR: another build's hvsim-bench, hvsim */
static char self_hvsim[PATH_MAX];       /* this build's hvsim, beside hvsim-bench */

/*
 * Runs argv with stdout to out_path (or /dev/null) and stderr to err_path (or /dev/null);
 * returns the wall time, and the exit status in *status.
 */
static double run_process(char *const argv[], const char *out_path, const char *err_path,
                          int *status)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, status, 0) != pid)
        die("waitpid: %s", strerror(errno));
    return now_s() - t0;
}

/* Seconds `HVSIM show TRACE [--json]` takes, its output thrown away; with no trace,
 * `HVSIM --version`: what starting the process costs. */
static double time_show(const char *hvsim, const char *trace, bool json)
{
    char *argv[] = { (char *)hvsim, trace ? "show" : "--version", (char *)trace,
                     json ? "--json" : NULL, NULL };
    int status;
    double t = run_process(argv, NULL, NULL, &status);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("%s show %s failed", hvsim, trace);
    return t;
}

/* The whole text of a file, or "" (static buffer). */
static const char *slurp(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    return buf;
}

/*
 * The baseline's `hvsim-bench --only MODE:GUEST:ARCH:VCPUS --reps 1 --keep`: its time in
 * seconds, and the folder it kept (caller frees) in *kept.
 */
static double baseline_only(const char *mode, const char *guest, const char *arch,
                            unsigned nr, char **kept)
{
    char bin[PATH_MAX], spec[64], out[PATH_MAX], err[PATH_MAX];
    snprintf(bin, sizeof bin, "%s/hvsim-bench", baseline);
    snprintf(spec, sizeof spec, "%s:%s:%s:%u", mode, guest, arch, nr);
    snprintf(out, sizeof out, "%s/baseline.out", tmpdir);
    snprintf(err, sizeof err, "%s/baseline.err", tmpdir);
    char *argv[] = { bin, "--only", spec, "--reps", "1", "--keep", NULL };
    int status;
    run_process(argv, out, err, &status);
    /* it prints "SPEC N ms" */
    const char *line = slurp(out);
    size_t sl = strlen(spec);
    char *end = NULL;
    double ms = strncmp(line, spec, sl) == 0 ? strtod(line + sl, &end) : 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !end || strncmp(end, " ms", 3) != 0)
        die("baseline %s --only %s failed: %s", bin, spec, slurp(err));
    const char *k = strstr(slurp(err), "kept in ");
    *kept = k ? strndup(k + 8, strcspn(k + 8, "\n")) : NULL;
    return ms / 1e3;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw);

static void remove_tree(char *dir)
{
    if (dir)
        nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* A trace's size, event count and instructions (read with this build's reader, which reads
 * every older schema). */
static void trace_facts(const char *trace, long long *bytes, long long *events,
                        long long *insns)
{
    struct stat st;
    struct trace_reader *r = NULL;
    char *v = NULL;
    if (stat(trace, &st) || trace_reader_open(&r, trace))
        die("%s: cannot read the baseline's trace", trace);
    *bytes = (long long)st.st_size;
    *events = (long long)trace_reader_event_count(r);
    if (insns)
        *insns = trace_reader_info(r, "instructions", &v) == 0 ? atoll(v) : 0;
    free(v);
    trace_reader_close(r);
}

/* The baseline build's figures for one repetition and arch. */
static void trace_baseline_once(struct arch_bench *ab)
{
    const char *an = hv_arch_name(ab->ai.arch);
    struct trace_bench *tb = &ab->tr;
    char *kept = NULL, trace[PATH_MAX], hvsim[PATH_MAX];
    fig_add(&tb->b_empty, baseline_only("record", "empty", an, 1, &kept));
    remove_tree(kept);
    fig_add(&tb->b_hc, baseline_only("record", "hypercall", an, 1, &kept));
    snprintf(trace, sizeof trace, "%s/hypercall-%s-1.db", kept ? kept : "?", an);
    trace_facts(trace, &tb->b_hc_bytes, &tb->b_hc_events, NULL);
    snprintf(hvsim, sizeof hvsim, "%s/hvsim", baseline);
    fig_add(&tb->b_start, time_show(hvsim, NULL, false));
    fig_add(&tb->b_show_text, time_show(hvsim, trace, false));
    remove_tree(kept);
    fig_add(&tb->b_hc_rep, baseline_only("replay", "hypercall", an, 1, &kept));
    remove_tree(kept);
    if (!tb->b_c2_bytes) {   /* sizes do not vary: once is enough */
        baseline_only("record", "compute", an, 2, &kept);
        snprintf(trace, sizeof trace, "%s/compute-%s-2.db", kept ? kept : "?", an);
        trace_facts(trace, &tb->b_c2_bytes, &tb->b_c2_events, &tb->b_c2_insns);
        remove_tree(kept);
    }
}

/* Figure 5 for one repetition and arch, after the rest of run_once(). */
static void trace_run_once(struct arch_bench *ab)
{
    char trace[4096];
    trace_path(trace, sizeof trace, "hypercall", hv_arch_name(ab->ai.arch), 1);
    fig_add(&ab->tr.start, time_show(self_hvsim, NULL, false));
    fig_add(&ab->tr.show_text, time_show(self_hvsim, trace, false));
    fig_add(&ab->tr.show_json, time_show(self_hvsim, trace, true));
    if (baseline)
        trace_baseline_once(ab);
}

/* Per-repetition values of a hypercall round trip without the run's fixed cost, in ns. */
static struct figure round_trip_ns(const struct figure *hc, const struct figure *empty,
                                   double n)
{
    struct figure ns = { .n = 0 };
    for (unsigned i = 0; i < hc->n && i < empty->n; i++)
        fig_add(&ns, (hc->t[i] - empty->t[i]) * 1e9 / n);
    return ns;
}

/* events / (t - start) per repetition: the show without the process start. */
static struct figure events_per_s(const struct figure *t, const struct figure *start,
                                  double events)
{
    struct figure r = { .n = 0 };
    for (unsigned i = 0; i < t->n && i < start->n; i++) {
        double d = t->t[i] - start->t[i];
        fig_add(&r, d > 0 ? events / d : 0);
    }
    return r;
}

/* The verdict of "value >= target" over the repetitions (verdict() is for <=). */
static const char *verdict_min(const struct figure *f, double target)
{
    if (fig_min(f) >= target)
        return "ok";
    if (fig_max(f) < target)
        return "MISSED";
    return "undecided";
}

static const char *verdict_one(double v, double target)
{
    return v <= target ? "ok" : "MISSED";
}

/* One row: metric, arch, before (or "-"), after, target, verdict. */
static void trace_row(const char *metric, const char *arch, const char *before,
                      const char *after, const char *target, const char *v)
{
    printf("   %-40s %-8s %22s %22s %10s  %s\n", metric, arch, before, after, target, v);
}

/* "median [min-max]" with that many decimals. */
static const char *fig_fmt(const struct figure *f, int decimals, char *buf, size_t size)
{
    snprintf(buf, size, "%.*f [%.*f-%.*f]", decimals, fig_median(f), decimals, fig_min(f),
             decimals, fig_max(f));
    return buf;
}

static void trace_report(struct arch_bench *abs, size_t nab)
{
    char b1[96], b2[96];
    printf("\n5. The trace: every figure of the trace path with its target, this build (after)%s."
           "\n   Round trip: (hypercall run - empty run) / hypercalls, the run's fixed cost "
           "taken out.\n   Sizes: the finished file / events (hypercall trace; 2-vCPU compute "
           "trace, whose events\n   are sched), and per 1000 guest instructions. show: the "
           "hypercall trace through\n   `hvsim show` (a process, its start taken out: the time "
           "of `hvsim --version`).\n   Replay: figure 4.\n\n",
           baseline ? " beside the --baseline build (before), measured in the same run" : "");
    trace_row("metric", "arch", baseline ? "before" : "", "after", "target", "verdict");
    for (size_t a = 0; a < nab; a++) {
        struct arch_bench *ab = &abs[a];
        struct trace_bench *tb = &ab->tr;
        const char *an = hv_arch_name(ab->ai.arch);
        double n = (double)ab->hc_rec.res[0].count;
        struct figure ns = round_trip_ns(&ab->hc, &ab->empty_hv, n);
        struct figure bns = round_trip_ns(&tb->b_hc, &tb->b_empty, n);
        trace_row("hypercall round trip + event, ns", an,
                  baseline ? fig_fmt(&bns, 0, b1, sizeof b1) : "-",
                  fig_fmt(&ns, 0, b2, sizeof b2), "<= 1000",
                  verdict(&ns, TARGET_HYPERCALL_NS));
    }
    for (size_t a = 0; a < nab; a++) {
        struct arch_bench *ab = &abs[a];
        struct trace_bench *tb = &ab->tr;
        const struct record_out *c2 = &ab->w[W_COMPUTE].rec[1];
        const char *an = hv_arch_name(ab->ai.arch);
        double hc = (double)ab->hc_rec.bytes / (double)ab->hc_rec.events;
        double sc = (double)c2->bytes / (double)c2->events;
        double ki = (double)c2->bytes * 1000.0 / (double)c2->instructions;
        snprintf(b2, sizeof b2, "%.1f", hc);
        snprintf(b1, sizeof b1, "%.1f", baseline ? (double)tb->b_hc_bytes / tb->b_hc_events : 0);
        trace_row("trace bytes / event, hypercall", an, baseline ? b1 : "-", b2, "<= 40",
                  verdict_one(hc, TARGET_TRACE_EVENT_BYTES));
        snprintf(b2, sizeof b2, "%.1f", sc);
        snprintf(b1, sizeof b1, "%.1f", baseline ? (double)tb->b_c2_bytes / tb->b_c2_events : 0);
        trace_row("trace bytes / event, sched (compute x2)", an, baseline ? b1 : "-", b2,
                  "<= 40", verdict_one(sc, TARGET_TRACE_EVENT_BYTES));
        snprintf(b2, sizeof b2, "%.2f", ki);
        snprintf(b1, sizeof b1, "%.2f",
                 baseline ? (double)tb->b_c2_bytes * 1000.0 / (double)tb->b_c2_insns : 0);
        trace_row("bytes / 1000 insns, compute 2 vCPUs", an, baseline ? b1 : "-", b2, "<= 3",
                  verdict_one(ki, TARGET_TRACE_KINSN_BYTES));
    }
    for (size_t a = 0; a < nab; a++) {
        struct arch_bench *ab = &abs[a];
        struct trace_bench *tb = &ab->tr;
        const char *an = hv_arch_name(ab->ai.arch);
        double ev = (double)ab->hc_rec.events;
        struct figure t = events_per_s(&tb->show_text, &tb->start, ev);
        struct figure j = events_per_s(&tb->show_json, &tb->start, ev);
        struct figure bt = events_per_s(&tb->b_show_text, &tb->b_start, (double)tb->b_hc_events);
        trace_row("show text, events / s", an,
                  baseline ? fig_fmt(&bt, 0, b1, sizeof b1) : "-",
                  fig_fmt(&t, 0, b2, sizeof b2), ">= 1M",
                  verdict_min(&t, TARGET_SHOW_EVENTS_S));
        trace_row("show --json, events / s", an, "-", fig_fmt(&j, 0, b2, sizeof b2),
                  "-", "-");
    }
    /* Replay / record: every trace of figure 4, the worst one named. */
    for (size_t a = 0; a < nab; a++) {
        struct arch_bench *ab = &abs[a];
        struct figure worst = { .n = 0 };
        const char *worst_name = "hypercall";
        for (int k = 0; k <= W_COUNT; k++)
            for (unsigned j = 0; j < (k < W_COUNT ? 2u : 1u); j++) {
                struct figure *rec = k < W_COUNT ? &ab->w[k].hv[j] : &ab->hc;
                struct figure *rep = k < W_COUNT ? &ab->w[k].rep[j] : &ab->hc_rep;
                struct figure r = ratios(rep, rec);
                if (!worst.n || fig_median(&r) > fig_median(&worst)) {
                    worst = r;
                    worst_name = k < W_COUNT ? workload_names[k] : "hypercall";
                }
            }
        struct figure hr = ratios(&ab->hc_rep, &ab->hc);
        struct figure bhr = ratios(&ab->tr.b_hc_rep, &ab->tr.b_hc);
        trace_row("replay / record, hypercall", hv_arch_name(ab->ai.arch),
                  baseline ? fig_fmt(&bhr, 2, b1, sizeof b1) : "-",
                  fig_fmt(&hr, 2, b2, sizeof b2), "<= 1.00",
                  verdict(&hr, TARGET_REPLAY_RATIO));
        char metric[64];
        snprintf(metric, sizeof metric, "replay / record, worst (%s)", worst_name);
        trace_row(metric, hv_arch_name(ab->ai.arch), "-",
                  fig_fmt(&worst, 2, b2, sizeof b2), "<= 1.00",
                  verdict(&worst, TARGET_REPLAY_RATIO));
    }
}

/*
 * One repetition of everything for one arch. Each comparison's runs are adjacent; odd
 * repetitions run hvsim before bare Unicorn, so neither side always goes first.
 */
static void run_once(struct arch_bench *ab, unsigned rep)
{
    const char *an = hv_arch_name(ab->ai.arch);
    char yaml[4096], trace[4096];
    struct bench_result res[BENCH_MAX_VCPUS];
    bool hv_first = rep % 2;
    for (int k = 0; k < W_COUNT; k++) {
        struct workload *wl = &ab->w[k];
        for (unsigned nr = 1; nr <= 2; nr++) {
            unsigned j = nr - 1;
            scenario_path(yaml, sizeof yaml, wl->img.guest, an, nr);
            trace_path(trace, sizeof trace, wl->img.guest, an, nr);
            for (int side = 0; side < 2; side++) {
                if ((side == 0) == hv_first) {
                    fig_add(&wl->hv[j], record(yaml, &wl->img, &ab->ai, trace, &wl->rec[j]));
                    check_results(wl, an, "hvsim", wl->rec[j].res, nr);
                    fig_add(&wl->rep[j], replay(trace));
                } else {
                    fig_add(&wl->bare[j], bare_run(&ab->ai, &wl->img, nr, 0, res));
                    check_results(wl, an, "bare", res, nr);
                }
            }
        }
        bare_empty_hook = true;
        fig_add(&wl->hooked, bare_run(&ab->ai, &wl->img, 1, 0, res));
        bare_empty_hook = false;
        check_results(wl, an, "bare, empty block hook", res, 1);
        fig_add(&wl->quanta, bare_run(&ab->ai, &wl->img, 2, QUANTUM, res));
        check_results(wl, an, "bare, count quanta", res, 2);
    }
    scenario_path(yaml, sizeof yaml, "empty", an, 1);
    trace_path(trace, sizeof trace, "empty", an, 1);
    struct bench_result eres[BENCH_MAX_VCPUS];
    for (int side = 0; side < 2; side++) {
        if ((side == 0) == hv_first)
            fig_add(&ab->empty_hv, record(yaml, &ab->empty_img, &ab->ai, trace, &ab->empty_rec));
        else
            fig_add(&ab->empty_bare, bare_run(&ab->ai, &ab->empty_img, 1, 0, eres));
    }
    if (eres[0].magic != BENCH_MAGIC || ab->empty_rec.res[0].magic != BENCH_MAGIC)
        die("empty %s: no result", an);
    scenario_path(yaml, sizeof yaml, "hypercall", an, 1);
    trace_path(trace, sizeof trace, "hypercall", an, 1);
    fig_add(&ab->hc, record(yaml, &ab->hc_img, &ab->ai, trace, &ab->hc_rec));
    if (ab->hc_rec.res[0].magic != BENCH_MAGIC || ab->hc_rec.res[0].count == 0)
        die("hypercall %s: no result", an);
    fig_add(&ab->hc_rep, replay(trace));
    trace_run_once(ab);
}

static void print_report(struct arch_bench *abs, size_t nab)
{
    char b1[64], b2[64], b3[64], b4[64], b5[64], b6[64];

    printf("\n1. Compute-bound guests: hvsim recording (runner_execute with the SQLite trace "
           "writer, as\n   `hvsim run`) vs the same ELF in bare Unicorn with no hooks. 2 vCPUs: "
           "hvsim schedules\n   both, bare Unicorn runs two engines one after the other. "
           "Targets:\n   compute <= %.2fx (1 and 2 vCPUs), alu <= %.2fx (1 vCPU).\n\n",
           TARGET_COMPUTE_RATIO, TARGET_ALU_RATIO);
    printf("   %-8s %-8s %5s %12s %18s %18s %20s  %s\n", "guest", "arch", "vCPUs",
           "guest insns", "bare ms", "hvsim ms", "hvsim / bare", "verdict");
    for (int k = 0; k < W_COUNT; k++)
        for (size_t a = 0; a < nab; a++)
            for (unsigned j = 0; j < 2; j++) {
                struct workload *wl = &abs[a].w[k];
                printf("   %-8s %-8s %5u %11.1fM %18s %18s %20s  %s\n", workload_names[k],
                       hv_arch_name(abs[a].ai.arch), j + 1, wl->rec[j].instructions / 1e6,
                       fig_ms(&wl->bare[j], b1, sizeof b1), fig_ms(&wl->hv[j], b2, sizeof b2),
                       ratio_str(&wl->hv[j], &wl->bare[j], b3, sizeof b3),
                       k == W_COMPUTE ? verdict_ratio(&wl->hv[j], &wl->bare[j],
                                                      TARGET_COMPUTE_RATIO)
                       : j == 0 ? verdict_ratio(&wl->hv[j], &wl->bare[j], TARGET_ALU_RATIO)
                                : "-");
            }
    printf("\n   The floor of counting by block hook: bare Unicorn with an empty block hook / "
           "without one,\n   1 vCPU:");
    for (int k = 0; k < W_COUNT; k++)
        for (size_t a = 0; a < nab; a++)
            printf("%s %s %s %s", k || a ? ";" : "\n  ", workload_names[k],
                   hv_arch_name(abs[a].ai.arch),
                   ratio_str(&abs[a].w[k].hooked, &abs[a].w[k].bare[0], b1, sizeof b1));
    printf("\n   Fixed cost of one run, included above (bench/guests/empty.c: engine, boot with "
           "paging,\n   GUEST_DONE, teardown; hvsim also the trace):");
    for (size_t a = 0; a < nab; a++)
        printf("%s %s bare %.1f ms, hvsim %.1f ms", a ? ";" : "\n  ",
               hv_arch_name(abs[a].ai.arch), fig_median(&abs[a].empty_bare) * 1e3,
               fig_median(&abs[a].empty_hv) * 1e3);
    printf("\n   Bare Unicorn speed, 1 vCPU, M guest insns/s:");
    for (int k = 0; k < W_COUNT; k++)
        for (size_t a = 0; a < nab; a++) {
            struct workload *wl = &abs[a].w[k];
            printf("%s %s %s %.0f", k || a ? ";" : "\n  ", workload_names[k],
                   hv_arch_name(abs[a].ai.arch),
                   wl->rec[0].instructions / fig_median(&wl->bare[0]) / 1e6);
        }

    printf("\n\n   Trace size: the file after finish (with the stored scenario and guest image) "
           "per 1000 guest\n   instructions, and per event.\n\n");
    printf("   %-9s %-8s %5s %12s %9s %12s %15s %10s\n", "guest", "arch", "vCPUs", "guest insns",
           "events", "file bytes", "B / 1000 insns", "B / event");
    for (int k = 0; k <= W_COUNT; k++)
        for (size_t a = 0; a < nab; a++)
            for (unsigned j = 0; j < (k < W_COUNT ? 2u : 1u); j++) {
                const struct record_out *ro = k < W_COUNT ? &abs[a].w[k].rec[j] : &abs[a].hc_rec;
                printf("   %-9s %-8s %5u %11.1fM %9" PRIu64 " %12lld %15.2f %10.1f\n",
                       k < W_COUNT ? workload_names[k] : "hypercall",
                       hv_arch_name(abs[a].ai.arch), j + 1, ro->instructions / 1e6, ro->events,
                       ro->bytes, ro->instructions ? ro->bytes * 1000.0 / ro->instructions : 0.0,
                       ro->events ? (double)ro->bytes / (double)ro->events : 0.0);
            }

    printf("\n2. Scheduling 2 vCPUs, quantum %d: bare Unicorn alternating two engines with\n"
           "   uc_emu_start(count = quantum), and hvsim's deterministic scheduler (recording), "
           "each\n   relative to the two engines running free one after the other. Target: "
           "hvsim far below\n   count quanta (DESIGN.md: ~%.0fx on tight loops); verdict ok "
           "when at most a quarter of\n   the count-quanta cost measured here (tight loop "
           "only).\n\n", QUANTUM, REFERENCE_COUNT_COST);
    printf("   %-8s %-8s %18s %18s %18s %20s %20s %20s  %s\n", "guest", "arch", "free ms",
           "count quanta ms", "hvsim ms", "quanta / free", "hvsim / free", "hvsim / quanta",
           "verdict");
    for (int k = 0; k < W_COUNT; k++)
        for (size_t a = 0; a < nab; a++) {
            struct workload *wl = &abs[a].w[k];
            printf("   %-8s %-8s %18s %18s %18s %20s %20s %20s  %s\n", workload_names[k],
                   hv_arch_name(abs[a].ai.arch), fig_ms(&wl->bare[1], b1, sizeof b1),
                   fig_ms(&wl->quanta, b2, sizeof b2), fig_ms(&wl->hv[1], b3, sizeof b3),
                   ratio_str(&wl->quanta, &wl->bare[1], b4, sizeof b4),
                   ratio_str(&wl->hv[1], &wl->bare[1], b5, sizeof b5),
                   ratio_str(&wl->hv[1], &wl->quanta, b6, sizeof b6),
                   k == W_ALU ? verdict_ratio(&wl->hv[1], &wl->quanta, TARGET_SCHED_SHARE)
                              : "-");
        }

    printf("\n3. Hypercall round trips under model none, each with its `hypercall` trace event:"
           "\n   the whole recording time / hypercalls. Target: <= %.0f ns.\n\n",
           TARGET_HYPERCALL_NS);
    printf("   %-9s %-8s %11s %9s %18s %18s  %s\n", "guest", "arch", "hypercalls", "events",
           "hvsim ms", "ns / hypercall", "verdict");
    for (size_t a = 0; a < nab; a++) {
        struct arch_bench *ab = &abs[a];
        uint64_t n = ab->hc_rec.res[0].count;
        struct figure ns = { .n = 0 };
        for (unsigned i = 0; i < ab->hc.n; i++)
            fig_add(&ns, ab->hc.t[i] * 1e9 / (double)n);
        printf("   %-9s %-8s %11" PRIu64 " %9" PRIu64 " %18s %6.0f [%.0f-%.0f]  %s\n",
               "hypercall", hv_arch_name(ab->ai.arch), n, ab->hc_rec.events,
               fig_ms(&ab->hc, b1, sizeof b1), fig_median(&ns), fig_min(&ns), fig_max(&ns),
               verdict(&ns, TARGET_HYPERCALL_NS));
    }

    printf("\n4. Replay (replay_trace: re-run from the trace, compare every event) vs the "
           "recording of\n   the same trace. Target: replay no slower than recording (<= "
           "%.2fx).\n\n", TARGET_REPLAY_RATIO);
    printf("   %-9s %-8s %5s %18s %18s %20s  %s\n", "guest", "arch", "vCPUs", "record ms",
           "replay ms", "replay / record", "verdict");
    for (int k = 0; k <= W_COUNT; k++)
        for (size_t a = 0; a < nab; a++)
            for (unsigned j = 0; j < (k < W_COUNT ? 2u : 1u); j++) {
                struct figure *rec = k < W_COUNT ? &abs[a].w[k].hv[j] : &abs[a].hc;
                struct figure *rep = k < W_COUNT ? &abs[a].w[k].rep[j] : &abs[a].hc_rep;
                printf("   %-9s %-8s %5u %18s %18s %20s  %s\n",
                       k < W_COUNT ? workload_names[k] : "hypercall",
                       hv_arch_name(abs[a].ai.arch), j + 1, fig_ms(rec, b1, sizeof b1),
                       fig_ms(rep, b2, sizeof b2), ratio_str(rep, rec, b3, sizeof b3),
                       verdict_ratio(rep, rec, TARGET_REPLAY_RATIO));
            }
}

/* ---- 6 and 7. memslot updates: the KVM model's set_memory_region and sim/, no trace ---- */

#define TARGET_SLOT_US 5.0         /* per created slot at every N */
#define TARGET_SLOT_SCALING 1.2    /* per-slot time at 32764 slots over at 4096: linear */
#define TARGET_CHANGE_MS 10.0      /* one 2 MiB memslot created or deleted, anywhere */
#define SLOT_SIZES 3
static const unsigned slot_counts[SLOT_SIZES] = { 509, 4096, 32764 };

/* set_memory_region's arguments as the scenario parser would give them (a map of scalars). */
struct slot_args {
    char key[5][8], val[5][24];
    struct hv_node keys[5], vals[5], map;
};

static const struct hv_node *slot_args(struct slot_args *a, uint64_t slot, uint64_t gpa,
                                       uint64_t size, uint64_t offset)
{
    static const char *const names[5] = { "slot", "gpa", "size", "buffer", "offset" };
    const uint64_t nums[5] = { slot, gpa, size, 0, offset };
    for (int i = 0; i < 5; i++) {
        snprintf(a->key[i], sizeof a->key[i], "%s", names[i]);
        if (i == 3)
            snprintf(a->val[i], sizeof a->val[i], "ram");
        else
            snprintf(a->val[i], sizeof a->val[i], "%#" PRIx64, nums[i]);
        a->keys[i] = (struct hv_node){ .type = HV_NODE_SCALAR, .file = "hvsim-bench", .line = 1,
                                       .col = 1, .str = a->key[i] };
        a->vals[i] = a->keys[i];
        a->vals[i].str = a->val[i];
    }
    a->map = (struct hv_node){ .type = HV_NODE_MAP, .file = "hvsim-bench", .line = 1, .col = 1,
                               .n = 5, .items = a->vals, .keys = a->keys };
    return &a->map;
}

static void set_region(struct hv_vm *vm, const struct hv_node *args, const char *what)
{
    char result[1024];
    int err = hv_model_kvm.step(vm, "set_memory_region", args, NULL, result, sizeof result);
    if (err || !strstr(result, "\"errno\":\"0\""))
        die("%s: set_memory_region: %s %s", what, err ? hv_error_detail() : "", result);
}

/* A VM of the KVM model with its default memory layout (buffer `ram`, slot 0), no trace. */
static struct hv_vm *kvm_vm(enum hv_arch arch)
{
    struct hv_vm_config cfg = { .arch = arch, .nr_vcpus = 1, .seed = 1, .quantum = QUANTUM,
                                .limit = 1ULL << 40, .model = &hv_model_kvm };
    struct hv_vm *vm;
    if (hv_vm_create(&vm, &cfg))
        die("creating a KVM VM: %s", hv_error_detail());
    return vm;
}

/* Time to create slots 1 .. n-1 (4 KiB each, ascending GPAs above 4 GiB, on buffer `ram`);
 * their arguments are built before the clock starts. */
static double slots_create(unsigned n)
{
    struct hv_vm *vm = kvm_vm(HV_ARCH_X86_64);
    struct slot_args *a = malloc(n * sizeof *a);
    if (!a)
        die("out of memory");
    for (unsigned i = 1; i < n; i++)
        slot_args(&a[i], i, (1ULL << 32) + i * 4096ULL, 4096, (i % 4096) * 4096ULL);
    double t0 = now_s();
    for (unsigned i = 1; i < n; i++)
        set_region(vm, &a[i].map, "creating memslots");
    double t = now_s() - t0;
    hv_vm_destroy(vm);
    free(a);
    return t;
}

struct change_point {
    enum hv_arch arch;
    uint64_t gpa;
    const char *where;
    struct figure t;           /* seconds per change, creates and deletes */
};

/*
 * With the guest running (the `alu` image, paused 100000 instructions in, page tables on),
 * creates then deletes a 2 MiB slot at gpa, --reps times: each change timed from the ioctl
 * to the guest having run 1000 more instructions, the engine map updated on the way.
 */
static void slot_change(struct change_point *cp, const struct image *img)
{
    struct hv_vm *vm = kvm_vm(cp->arch);
    struct slot_args a;
    bool paused = false;
    uint64_t at = 100000;
    if (hv_vm_load_elf(vm, img->elf, img->len))
        die("loading %s: %s", img->guest, hv_error_detail());
    hv_vm_pause_at_total(vm, at);
    if (hv_vm_run(vm, &paused) || !paused)
        die("%s %s: the guest did not reach its pause", img->guest, hv_arch_name(cp->arch));
    for (unsigned r = 0; r < reps; r++) {
        for (int del = 0; del < 2; del++) {
            double t0 = now_s();
            set_region(vm, slot_args(&a, 1, cp->gpa, del ? 0 : 2ULL << 20, 0), "changing a slot");
            hv_vm_pause_at_total(vm, at += 1000);
            if (hv_vm_run(vm, &paused) || !paused)
                die("%s %s: the guest stopped", img->guest, hv_arch_name(cp->arch));
            fig_add(&cp->t, now_s() - t0);
        }
    }
    hv_vm_destroy(vm);
}

static void slot_figures(struct arch_bench *abs, size_t nab)
{
    struct figure per[SLOT_SIZES] = { { .n = 0 } }, scale = { .n = 0 };
    for (unsigned r = 0; r < reps; r++) {
        double t[SLOT_SIZES];
        for (int i = 0; i < SLOT_SIZES; i++) {
            t[i] = slots_create(slot_counts[i]) / (slot_counts[i] - 1);
            fig_add(&per[i], t[i]);
        }
        fig_add(&scale, t[2] / t[1]);
    }
    struct change_point cps[] = {
        { HV_ARCH_X86_64, 0xc0000000ULL, "3 GiB (inside the identity map)", { .n = 0 } },
        { HV_ARCH_X86_64, 0x8000000000ULL, "512 GiB (no guest mapping)", { .n = 0 } },
        { HV_ARCH_AARCH64, 0xc0000000ULL, "3 GiB (above RAM)", { .n = 0 } },
        { HV_ARCH_AARCH64, 0x8000000000ULL, "512 GiB (inside the 1 TiB IPA space)", { .n = 0 } },
    };
    const size_t ncp = sizeof cps / sizeof cps[0];
    for (size_t i = 0; i < ncp; i++)
        for (size_t a = 0; a < nab; a++)
            if (abs[a].ai.arch == cps[i].arch)
                slot_change(&cps[i], &abs[a].w[W_ALU].img);

    printf("\n6. Creating N memslots: set_memory_region through the KVM model, each slot a sim/ "
           "RAM region\n   (4 KiB, ascending GPAs), no trace; the VM's creation is not timed. "
           "Targets: <= %.0f us per\n   slot, and per-slot time at N = 32764 over at N = 4096 "
           "<= %.1fx (linear).\n\n", TARGET_SLOT_US, TARGET_SLOT_SCALING);
    printf("   %8s %22s  %s\n", "N", "us / slot", "verdict");
    for (int i = 0; i < SLOT_SIZES; i++) {
        struct figure us = { .n = 0 };
        for (unsigned k = 0; k < per[i].n; k++)
            fig_add(&us, per[i].t[k] * 1e6);
        printf("   %8u %8.2f [%.2f-%.2f]  %s\n", slot_counts[i], fig_median(&us), fig_min(&us),
               fig_max(&us), verdict(&us, TARGET_SLOT_US));
    }
    printf("   32764 / 4096: %.2fx [%.2f-%.2f]  %s\n", fig_median(&scale), fig_min(&scale),
           fig_max(&scale), verdict(&scale, TARGET_SLOT_SCALING));

    printf("\n7. Changing one 2 MiB memslot while the guest runs (the `alu` guest under the KVM "
           "model):\n   set_memory_region creating or deleting slot 1, then 1000 guest "
           "instructions, through which\n   every vCPU's engine map follows. Target: <= %.0f ms "
           "per change, anywhere in the address space.\n\n", TARGET_CHANGE_MS);
    printf("   %-8s %-38s %22s  %s\n", "arch", "slot at", "ms / change", "verdict");
    for (size_t i = 0; i < ncp; i++) {
        struct figure ms = { .n = 0 };
        for (unsigned k = 0; k < cps[i].t.n; k++)
            fig_add(&ms, cps[i].t.t[k] * 1e3);
        printf("   %-8s %-38s %8.2f [%.2f-%.2f]  %s\n", hv_arch_name(cps[i].arch), cps[i].where,
               fig_median(&ms), fig_min(&ms), fig_max(&ms), verdict(&ms, TARGET_CHANGE_MS));
    }
}

/* ---- 8. exploration throughput ---- */

#define EXPLORE_SCENARIO HVSIM_SOURCE_DIR "/scenarios/none/spinlock-x86_64.yaml"
#define EXPLORE_RUNS 24
#define TARGET_EXPLORE_SCALING 1.8  /* -j 2 throughput over -j 1, on 2 cores */

/* Seconds `hvsim explore` takes for EXPLORE_RUNS runs with -j jobs (guest from the cache). */
static double time_explore(unsigned jobs)
{
    char j[16], out[PATH_MAX], runs[16];
    snprintf(j, sizeof j, "%u", jobs);
    snprintf(runs, sizeof runs, "%d", EXPLORE_RUNS);
    snprintf(out, sizeof out, "%s/explore-j%u", tmpdir, jobs);
    char *argv[] = { self_hvsim, "explore", EXPLORE_SCENARIO, "--runs", runs, "-j", j,
                     "--keep", "none", "--quiet", "--out", out, NULL };
    int status;
    double t = run_process(argv, NULL, NULL, &status);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("%s explore %s -j %u failed", self_hvsim, EXPLORE_SCENARIO, jobs);
    return t;
}

static void explore_figures(void)
{
    char cache[PATH_MAX];
    snprintf(cache, sizeof cache, "%s/guest-cache", tmpdir);
    setenv("HVSIM_CACHE_DIR", cache, 1);
    time_explore(1); /* builds the guest into the cache: not measured */
    struct figure t1 = { .n = 0 }, t2 = { .n = 0 }, rps1 = { .n = 0 }, rps2 = { .n = 0 };
    for (unsigned r = 0; r < reps; r++) {
        double a = time_explore(1), b = time_explore(2);
        fig_add(&t1, a);
        fig_add(&t2, b);
        fig_add(&rps1, EXPLORE_RUNS / a);
        fig_add(&rps2, EXPLORE_RUNS / b);
    }
    struct figure scale = ratios(&rps2, &rps1);
    char b1[64], b2[64], b3[64], b4[64], b5[64];
    printf("\n8. Exploration: hvsim explore scenarios/none/spinlock-x86_64.yaml --runs %d, "
           "guest cached\n", EXPLORE_RUNS);
    printf("  %-6s %-22s %-16s\n", "jobs", "time", "runs/s");
    printf("  %-6s %-22s %-16s\n", "-j 1", fig_ms(&t1, b1, sizeof b1),
           fig_fmt(&rps1, 1, b2, sizeof b2));
    printf("  %-6s %-22s %-16s\n", "-j 2", fig_ms(&t2, b3, sizeof b3),
           fig_fmt(&rps2, 1, b4, sizeof b4));
    printf("  throughput -j 2 / -j 1: %s (target >= %.1fx on 2 cores: %s)\n",
           fig_fmt(&scale, 2, b5, sizeof b5), TARGET_EXPLORE_SCALING,
           fig_min(&scale) >= TARGET_EXPLORE_SCALING   ? "ok"
           : fig_max(&scale) < TARGET_EXPLORE_SCALING ? "MISSED"
                                                       : "undecided");
}

static void usage(void)
{
    fputs("usage: hvsim-bench [--reps N] [--keep] [--baseline DIR] [--only MODE:GUEST:ARCH:VCPUS |\n"
          "                   --only memslots]\n"
          "  Runs the benchmarks of bench/README.md and prints their ratios.\n"
          "  --reps N  repetitions per figure, 1..9 (default 3; the median is reported)\n"
          "  --keep    keep the temporary folder with the guest images and traces\n"
          "  --baseline DIR  also measure figure 5 with the hvsim-bench and hvsim of another\n"
          "            build in DIR (e.g. main's build folder), between this build's runs\n"
          "  --only    run one measurement --reps times and print its times, for profiling\n"
          "            (perf record): MODE bare, quanta, record or replay; GUEST compute,\n"
          "            alu, hypercall or empty; ARCH x86_64 or aarch64; VCPUS 1 or 2;\n"
          "            or `memslots`: figures 6 and 7 only; or `explore`: figure 8 only\n",
          stderr);
    exit(2);
}

/* --only MODE:GUEST:ARCH:VCPUS */
struct only {
    char mode[16], guest[16], arch[16];
    unsigned nr;
    enum hv_arch a;
};

static void parse_only(const char *spec, struct only *o)
{
    if (sscanf(spec, "%15[a-z]:%15[a-z]:%15[a-z0-9_]:%u", o->mode, o->guest, o->arch, &o->nr) != 4 ||
        hv_arch_from_name(o->arch, &o->a) || o->a == HV_ARCH_ARM || o->nr < 1 || o->nr > 2 ||
        (strcmp(o->mode, "bare") && strcmp(o->mode, "quanta") && strcmp(o->mode, "record") &&
         strcmp(o->mode, "replay")) ||
        (strcmp(o->guest, "compute") && strcmp(o->guest, "alu") &&
         strcmp(o->guest, "hypercall") && strcmp(o->guest, "empty")) ||
        ((!strcmp(o->guest, "hypercall") || !strcmp(o->guest, "empty")) && o->nr != 1))
        usage();
}

/* --only: one measurement, repeated, nothing else in the process to blur a profile. */
static int run_only(const struct only *o)
{
    struct arch_info ai = { o->a,
                            o->a == HV_ARCH_X86_64 ? HV_RAM_BASE_X86_64 : HV_RAM_BASE_AARCH64 };
    struct image img;
    build_image(&img, o->guest, o->a, tmpdir);
    char yaml[4096], trace[4096];
    scenario_path(yaml, sizeof yaml, o->guest, o->arch, o->nr);
    trace_path(trace, sizeof trace, o->guest, o->arch, o->nr);
    struct bench_result res[BENCH_MAX_VCPUS];
    struct record_out ro;
    if (strcmp(o->mode, "replay") == 0)
        record(yaml, &img, &ai, trace, &ro);
    for (unsigned r = 0; r < reps; r++) {
        double t;
        if (strcmp(o->mode, "bare") == 0)
            t = bare_run(&ai, &img, o->nr, 0, res);
        else if (strcmp(o->mode, "quanta") == 0)
            t = bare_run(&ai, &img, o->nr, QUANTUM, res);
        else if (strcmp(o->mode, "record") == 0)
            t = record(yaml, &img, &ai, trace, &ro);
        else
            t = replay(trace);
        printf("%s:%s:%s:%u %.1f ms\n", o->mode, o->guest, o->arch, o->nr, t * 1e3);
    }
    free(img.elf);
    return 0;
}

static bool keep;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* At exit, also after die(): the temporary folder goes unless --keep. */
static void cleanup(void)
{
    if (!tmpdir)
        return;
    if (keep)
        fprintf(stderr, "hvsim-bench: images and traces kept in %s\n", tmpdir);
    else
        nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    struct only o;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keep") == 0)
            keep = true;
        else if (strcmp(argv[i], "--baseline") == 0 && i + 1 < argc)
            baseline = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            if (strcmp(only = argv[++i], "memslots") != 0 && strcmp(only, "explore") != 0)
                parse_only(only, &o);
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            char *end;
            unsigned long n = strtoul(argv[++i], &end, 10);
            if (*end || n < 1 || n > MAX_REPS)
                usage();
            reps = (unsigned)n;
        } else
            usage();
    }
    ssize_t sl = readlink("/proc/self/exe", self_hvsim, sizeof self_hvsim - 8);
    char *slash = sl > 0 ? memrchr(self_hvsim, '/', (size_t)sl) : NULL;
    if (!slash)
        die("cannot find this program's folder");
    strcpy(slash + 1, "hvsim");
    if (baseline) {
        char b[PATH_MAX];
        snprintf(b, sizeof b, "%s/hvsim-bench", baseline);
        if (access(b, X_OK))
            die("--baseline %s: no hvsim-bench there", baseline);
    }
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        die("cannot open /dev/null");
    static char dir[] = "/tmp/hvsim-bench-XXXXXX";
    if (!mkdtemp(dir))
        die("cannot create a temporary folder: %s", strerror(errno));
    tmpdir = dir;
    atexit(cleanup);
    if (only && strcmp(only, "memslots") == 0) {
        static struct arch_bench mabs[2] = {
            { .ai = { HV_ARCH_X86_64, HV_RAM_BASE_X86_64 } },
            { .ai = { HV_ARCH_AARCH64, HV_RAM_BASE_AARCH64 } },
        };
        for (size_t a = 0; a < 2; a++)
            build_image(&mabs[a].w[W_ALU].img, "alu", mabs[a].ai.arch, tmpdir);
        slot_figures(mabs, 2);
        for (size_t a = 0; a < 2; a++)
            free(mabs[a].w[W_ALU].img.elf);
        return 0;
    }
    if (only && strcmp(only, "explore") == 0) {
        explore_figures();
        return 0;
    }
    if (only)
        return run_only(&o);

    char uv[32], cv[32];
    hv_lib_versions(uv, sizeof uv, cv, sizeof cv);
    printf("hvsim-bench: hvsim %s (%s build), Unicorn %s, Capstone %s, %ld host CPUs\n",
           HVSIM_VERSION, HVSIM_BUILD_TYPE, uv, cv, sysconf(_SC_NPROCESSORS_ONLN));
    printf("Times: median of %u interleaved runs in ms [min-max]. Ratios: median [min-max] of the\n"
           "per-run ratios of runs made side by side. Verdict: ok / MISSED when every run agrees,\n"
           "undecided when the runs fall on both sides of the target.\n", reps);
    fflush(stdout);

    static struct arch_bench abs[2] = {
        { .ai = { HV_ARCH_X86_64, HV_RAM_BASE_X86_64 } },
        { .ai = { HV_ARCH_AARCH64, HV_RAM_BASE_AARCH64 } },
    };
    const size_t nab = sizeof abs / sizeof abs[0];
    for (size_t a = 0; a < nab; a++) {
        for (int k = 0; k < W_COUNT; k++)
            build_image(&abs[a].w[k].img, workload_names[k], abs[a].ai.arch, tmpdir);
        build_image(&abs[a].hc_img, "hypercall", abs[a].ai.arch, tmpdir);
        build_image(&abs[a].empty_img, "empty", abs[a].ai.arch, tmpdir);
    }
    double t0 = now_s();
    for (unsigned r = 0; r < reps; r++) {
        for (size_t a = 0; a < nab; a++)
            run_once(&abs[a], r);
        fprintf(stderr, "hvsim-bench: run %u of %u done (%.0f s)\n", r + 1, reps, now_s() - t0);
    }
    print_report(abs, nab);
    trace_report(abs, nab);
    slot_figures(abs, nab);
    explore_figures();

    for (size_t a = 0; a < nab; a++) {
        for (int k = 0; k < W_COUNT; k++)
            free(abs[a].w[k].img.elf);
        free(abs[a].hc_img.elf);
        free(abs[a].empty_img.elf);
    }
    fclose(devnull);
    return 0;
}
