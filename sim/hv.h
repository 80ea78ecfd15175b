/*
 * hv.h - the simulator as the runner and the CLI see it: architectures, a VM of vCPUs, guest
 * physical memory, running under the deterministic scheduler, and the run outcome.
 *
 * Model writers use sim/model.h, which adds exits and the model operations.
 */
#ifndef HV_HV_H
#define HV_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/hv_err.h"
#include "trace/event.h"

#define HV_MAX_VCPUS 64

enum hv_arch { HV_ARCH_X86_64, HV_ARCH_AARCH64, HV_ARCH_ARM, HV_ARCH__COUNT };

/* "x86_64", "aarch64", "arm". */
const char *hv_arch_name(enum hv_arch a);
/* Returns 0 and sets *out, or HV_EINVAL for an unknown name. */
int hv_arch_from_name(const char *name, enum hv_arch *out);

struct hv_vm;
struct hv_vcpu;
struct hv_model_ops;

/*
 * How a run ended (docs/scenario-format.md, "Outcomes"). Three outcomes mean that a vCPU
 * failed, and leave that vCPU in state "failed" with the reason: assert, exception, failed.
 */
enum hv_outcome {
    HV_OUT_RUNNING = 0,
    HV_OUT_DONE,       /* no vCPU can run any more and each is done or stopped (GUEST_DONE,
                        * or powered off as the guest asked: PSCI CPU_OFF, VCPUOP_down), or
                        * the guest ended the run itself (PSCI SYSTEM_OFF, SCHEDOP_shutdown) */
    HV_OUT_ASSERT,     /* a GUEST_ASSERT failed */
    HV_OUT_LIMIT,      /* the instruction budget ran out */
    HV_OUT_EXCEPTION,  /* an exception the guest cannot take (no handler, or an error Unicorn
                        * reports) */
    HV_OUT_DEADLOCK,   /* no vCPU can run and not all are done or stopped (all halted) */
    HV_OUT_ERROR,      /* a simulator error (hv_err) ended the run */
    HV_OUT_FAILED,     /* the model failed a vCPU (hv_vcpu_fail): the hypervisor gave up on
                        * it, e.g. KVM_EXIT_INTERNAL_ERROR or KVM_RUN returning an error */
    HV_OUT_BUDGET,     /* the event budget or the trace-size budget ran out
                        * (hv_vm_config.max_events, max_trace_bytes) */
};
const char *hv_outcome_name(enum hv_outcome o);
int hv_outcome_from_name(const char *name, enum hv_outcome *out);

struct hv_node;

/* One effective config entry (scenario `config` and --set, already merged). */
struct hv_kv {
    const char *key;
    const char *value;
    const struct hv_node *node; /* where the value was written, for located errors (--set: a
                                 * node whose file names the option); NULL if unknown */
};

struct hv_vm_config {
    enum hv_arch arch;
    unsigned nr_vcpus;          /* 1..HV_MAX_VCPUS */
    uint64_t seed;              /* schedule seed */
    uint64_t quantum;           /* max instructions per slice (>= 1) */
    uint64_t limit;             /* total instruction budget (>= 1) */
    const struct hv_model_ops *model;
    hv_event_sink_fn sink;      /* receives every event; may be NULL */
    void *sink_ctx;
    const struct hv_kv *config; /* borrowed for the VM's lifetime */
    size_t nconfig;
    const struct hv_node *memory;  /* the scenario's `memory` and `vmm` sections, or NULL */
    const struct hv_node *vmm;
    unsigned vm_id;             /* which VM of the run this is: 0 the first, n the destination
                                 * of the n-th migration; recorded in every event */
    struct hv_schedule *schedule; /* borrowed: records every schedule decision and, when it
                                   * was loaded, makes them (schedule.c); NULL: the seed
                                   * alone decides, nothing is recorded */
    /* Budgets (0: none): the run ends with HV_OUT_BUDGET at the event that reaches max_events
     * events, or max_trace_bytes bytes counted as HV_EVENT_ROW_BYTES per event plus its
     * detail JSON (the events as the trace's `events` view gives them back). */
    uint64_t max_events;
    uint64_t max_trace_bytes;
};
#define HV_EVENT_ROW_BYTES 32   /* seq, vm, vcpu, icount, kind and pc of an event row */

/* Caller owns *out; release with hv_vm_destroy(). The model's vm_init runs here. */
int hv_vm_create(struct hv_vm **out, const struct hv_vm_config *cfg);
void hv_vm_destroy(struct hv_vm *vm);

/*
 * Guest physical memory. RAM regions are host buffers (page aligned, owned by the caller
 * unless created with hv_vm_add_ram) mapped at the same GPA in every vCPU's engine;
 * everything else is unbacked and reaches the model as MMIO.
 */
int hv_vm_add_ram(struct hv_vm *vm, uint64_t gpa, uint64_t size);   /* sim allocates, zeroed */
/*
 * Host memory for guest RAM or a VMM buffer: page aligned, zero, and costing nothing until
 * touched (an anonymous mapping the kernel fills on first touch). Caller owns *out; release
 * with hv_host_mem_free(*out, size). HV_ENOMEM (no detail set) if the host refuses it.
 */
int hv_host_mem_alloc(uint64_t size, void **out);
void hv_host_mem_free(void *host, uint64_t size);   /* host NULL: a no-op */
/*
 * Maps a caller-owned, page-aligned host buffer as RAM at gpa (several regions may share one
 * buffer: aliases). Borrowed: host must outlive the region. With readonly, guest loads are
 * served and guest stores become MMIO exits, memory unchanged. Takes effect in every engine
 * before its next instruction.
 */
int hv_vm_map_ram(struct hv_vm *vm, uint64_t gpa, uint64_t size, void *host, bool readonly);
/* Removes the RAM region that starts at gpa; its range becomes unbacked (MMIO). */
int hv_vm_unmap_ram(struct hv_vm *vm, uint64_t gpa);
/* Borrowed host pointer for [gpa, gpa+len) if one RAM region holds it all, else NULL. */
void *hv_vm_gpa_ptr(struct hv_vm *vm, uint64_t gpa, uint64_t len);
/* Copies between host and guest physical memory; HV_EINVAL if any byte is unbacked. */
int hv_vm_read_gpa(struct hv_vm *vm, uint64_t gpa, void *buf, size_t len);
int hv_vm_write_gpa(struct hv_vm *vm, uint64_t gpa, const void *buf, size_t len);

/* Loads an ELF image into guest RAM and sets every vCPU's entry point. */
int hv_vm_load_elf(struct hv_vm *vm, const void *image, size_t len);

/* Starts vCPU i at its entry (the model may keep some stopped, e.g. PSCI secondaries). */
struct hv_vcpu *hv_vm_vcpu(struct hv_vm *vm, unsigned i);
unsigned hv_vm_nr_vcpus(const struct hv_vm *vm);

/*
 * Runs the scheduler until the run ends or a vCPU reaches a pause point (see
 * hv_vm_pause_on_sync). Returns 0 with *paused set if it stopped at a pause point (the run can
 * be continued with another call), or 0 with the outcome in hv_vm_outcome().
 */
int hv_vm_run(struct hv_vm *vm, bool *paused);
/*
 * Asks the VM that hv_vm_run() is running in this process to stop: the run ends with outcome
 * error and hv_vm_run() returns HV_EINTR, at once if the engine is running (uc_emu_stop) or at
 * its next scheduling decision. A call before hv_vm_run() ends that run at its first decision.
 * Async-signal-safe: `hvsim run` calls it from its SIGINT, SIGTERM and SIGHUP handler.
 */
void hv_interrupt(void);
enum hv_outcome hv_vm_outcome(const struct hv_vm *vm);
/* Total retired guest instructions. */
uint64_t hv_vm_icount(const struct hv_vm *vm);

/*
 * Pause points: when a vCPU calls GUEST_SYNC(n) (or reaches its icount target), hv_vm_run
 * returns with *paused = true so the runner can perform scenario steps; the vCPU that paused
 * is hv_vm_paused_vcpu() and its sync number hv_vm_paused_sync().
 */
void hv_vm_pause_on_sync(struct hv_vm *vm, bool on);
int hv_vm_pause_at_icount(struct hv_vm *vm, unsigned vcpu, uint64_t icount);
struct hv_vcpu *hv_vm_paused_vcpu(const struct hv_vm *vm);
uint64_t hv_vm_paused_sync(const struct hv_vm *vm);

/* Emits an event from outside a vCPU (vcpu -1), e.g. step and expect events. */
int hv_vm_emit(struct hv_vm *vm, int32_t vcpu, enum hv_ev_kind kind, const void *fields);
/* The next event sequence number. */
uint64_t hv_vm_next_seq(const struct hv_vm *vm);
/* Text the guest printed with GUEST_PRINTF, concatenated. Borrowed. */
const char *hv_vm_output(const struct hv_vm *vm);
/* The failed assertion (valid when the outcome is HV_OUT_ASSERT). Borrowed. */
void hv_vm_assert_info(const struct hv_vm *vm, const char **file, uint64_t *line,
                       const char **expr, const char **text);

/* vCPU accessors. */
unsigned hv_vcpu_id(const struct hv_vcpu *v);
/*
 * The vCPU's run state: "runnable", "halted", "done" (it called GUEST_DONE), "stopped"
 * (powered off, never started, or stopped by the model) or "failed" (an assertion, an
 * exception it could not take, or hv_vcpu_fail), with the reason of its last change of state
 * ("GUEST_DONE", "PSCI CPU_OFF", "KVM_EXIT_INTERNAL_ERROR", ...) in *why and the pc where it
 * happened in *pc (either may be NULL). Borrowed; valid until the vCPU's next change.
 */
const char *hv_vcpu_state(const struct hv_vcpu *v, const char **why, uint64_t *pc);
uint64_t hv_vcpu_icount(const struct hv_vcpu *v);
struct hv_vm *hv_vcpu_vm(const struct hv_vcpu *v);
/* Reads a register by name ("rax", "x0", "pc", ...); HV_EINVAL for an unknown name. */
int hv_vcpu_reg_by_name(struct hv_vcpu *v, const char *name, uint64_t *out);
int hv_vcpu_set_reg_by_name(struct hv_vcpu *v, const char *name, uint64_t val);
/* Prints the general registers to buf (for divergence reports). */
void hv_vcpu_format_regs(struct hv_vcpu *v, char *buf, size_t size);
/*
 * Translates a guest virtual address through the vCPU's own page tables (identity when paging
 * is off). Returns 0 with *gpa set, or HV_EINVAL when not mapped.
 */
int hv_vcpu_gva_to_gpa(struct hv_vcpu *v, uint64_t gva, uint64_t *gpa, bool *writable);
int hv_vcpu_read_gva(struct hv_vcpu *v, uint64_t gva, void *buf, size_t len);

/*
 * Disassembles up to n instructions at gva into buf, one per line, marking pc with '>'.
 * Used by the divergence report and `show`.
 */
void hv_disasm(enum hv_arch arch, const uint8_t *code, size_t len, uint64_t addr, uint64_t pc,
               size_t n, char *buf, size_t size);
/* The same, decoding arm code as T32 when thumb is set (ignored for other arches). */
void hv_disasm_mode(enum hv_arch arch, bool thumb, const uint8_t *code, size_t len,
                    uint64_t addr, uint64_t pc, size_t n, char *buf, size_t size);
/*
 * A disassembler kept open across calls, for `show`, which disassembles one instruction per
 * event. Caller owns *out; release with hv_disasm_close(). HV_ECAPSTONE or HV_ENOMEM.
 */
struct hv_disasm;
int hv_disasm_open(struct hv_disasm **out, enum hv_arch arch);
/* The instruction at pc (code, len: its bytes) as hv_disasm() prints it after the address:
 * "mnemonic operands" (the mnemonic padded to 8), or "(bad)". */
void hv_disasm_insn(struct hv_disasm *d, const uint8_t *code, size_t len, uint64_t pc,
                    char *buf, size_t size);
void hv_disasm_close(struct hv_disasm *d);
/* arm: true if v executes T32 code (CPSR.T); false for other arches. */
bool hv_vcpu_thumb(struct hv_vcpu *v);

/*
 * ---- schedules (schedule.c) ----
 * A run's schedule is every decision the seed makes, in order: which vCPU runs a slice and
 * its length (`slice VCPU BUDGET`), each answer of a seeded preemption check (`preempt 0|1`),
 * and the number a seeded step trigger fires at (`point STEP VALUE`). A schedule records the
 * decisions of the run it is given to. A loaded schedule (hv_schedule_load or _set) makes them
 * instead of the seed, each kind from its own list in order; past the end of its list a slice
 * is round-robin (the next runnable vCPU after the last one, for HV_SCHED_TAIL * quantum
 * instructions: few switches, and a vCPU that spins waiting for another gives way), a
 * preemption check says no, and a point is the seed's. A slice naming a vCPU that cannot run
 * gives the slice to the next runnable vCPU after it. The recorded decisions of a run driven
 * by a schedule, loaded again, drive the same run: what replay and shrink rely on.
 *
 * Invariants: 1. a loaded list's cursor never passes its end; 2. every recorded slice names a
 * vCPU that was runnable and a budget >= 1.
 */
#define HV_SCHED_TAIL 64
enum hv_sched_kind { HV_SCHED_SLICE, HV_SCHED_PREEMPT, HV_SCHED_POINT, HV_SCHED__COUNT };
struct hv_sched_entry {
    enum hv_sched_kind kind;
    uint32_t a;      /* slice: vCPU id; preempt: 1 yes, 0 no; point: step index */
    uint64_t b;      /* slice: budget; point: value; preempt: 0 */
};
struct hv_schedule;
int hv_schedule_create(struct hv_schedule **out);
void hv_schedule_destroy(struct hv_schedule *s);
/* Loads the text form (one decision a line, as hv_schedule_text writes it). HV_EINVAL with
 * the line number in hv_error_detail() for malformed text. Clears what was recorded. */
int hv_schedule_load(struct hv_schedule *s, const char *text, size_t len);
/* Loads n entries (any order of kinds). Clears what was recorded. */
int hv_schedule_set(struct hv_schedule *s, const struct hv_sched_entry *e, size_t n);
bool hv_schedule_loaded(const struct hv_schedule *s);
/* The decisions recorded so far, in order. */
size_t hv_schedule_recorded(const struct hv_schedule *s, const struct hv_sched_entry **out);
/* Context switches among the recorded slices: slices whose vCPU differs from the previous
 * slice's. */
uint64_t hv_schedule_switches(const struct hv_schedule *s);
/* The text form of e[0..n); caller frees. NULL: no memory. */
char *hv_schedule_format(const struct hv_sched_entry *e, size_t n);
/* A seeded preemption check: drawn is the seed's answer; returns the schedule's (recorded). */
bool hv_schedule_preempt(struct hv_schedule *s, bool drawn);
/* A seeded trigger of step `step` over [lo, hi]: drawn is the seed's number; returns the
 * schedule's, kept within [lo, hi] (recorded). */
uint64_t hv_schedule_point(struct hv_schedule *s, uint32_t step, uint64_t lo, uint64_t hi,
                           uint64_t drawn);

/* Version strings of the libraries, for the trace's run_info. */
void hv_lib_versions(char *unicorn, size_t usize, char *capstone, size_t csize);

#endif
