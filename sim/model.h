/*
 * model.h - the API for model writers: exits, the model operations, and what a model may do
 * to a VM or vCPU from inside a handler.
 *
 * The core calls a model only through its `const struct hv_model_ops`. Every handler is
 * optional; a NULL handler (or HV_ACT_DEFAULT) gets the simulator's default behaviour, which
 * is what model `none` relies on. Handlers run inside Unicorn hooks on the single host thread:
 * they may read and write the vCPU's registers and guest memory through sim/, emit events,
 * and request state changes; they must not change memory mappings directly (use hv_vm_* so
 * every engine sees the change).
 */
#ifndef HV_MODEL_H
#define HV_MODEL_H

#include "sim/hv.h"
#include "sim/node.h"

enum hv_exit_action {
    HV_ACT_DEFAULT = 0, /* not handled: the simulator's default */
    HV_ACT_HANDLED,     /* handled; the pc moves past the instruction */
    HV_ACT_RETRY,       /* handled; the pc stays at the instruction, which runs again */
    HV_ACT_STOP_VCPU,   /* the vCPU stops (e.g. PSCI CPU_OFF); pc moves past it. Not a
                         * failure: see hv_vcpu_stop() and hv_vcpu_fail() */
    HV_ACT_END_RUN,     /* the whole run ends, outcome done (e.g. a shutdown hypercall) */
    HV_ACT_HALT,        /* handled; the pc moves past it and the vCPU halts as after a
                         * wfi/hlt (e.g. PSCI CPU_SUSPEND): hvsim sends no wake-up */
    HV_ACT_YIELD,       /* hypercall exits only: as HV_ACT_RETRY, and the vCPU's slice ends
                         * there, so the scheduler draws again before it re-executes the
                         * instruction (a hypercall continuation) */
};

enum hv_hc_insn { HV_HC_VMCALL, HV_HC_VMMCALL, HV_HC_HVC, HV_HC_SMC };

/* x86: the CPU mode as a hypervisor reads it from the VMCS or VMCB (hv_vcpu_x86_mode()). */
struct hv_x86_mode {
    unsigned mode;     /* Xen's hvm_guest_x86_mode(): 0 real (CR0.PE = 0), 1 virtual-8086,
                        * 2 16-bit and 4 32-bit code segment (protected or compatibility
                        * mode), 8 64-bit mode (EFER.LMA and CS.L: KVM's is_64_bit_mode()) */
    unsigned cpl;      /* SS.DPL: 0 in real mode, 3 in virtual-8086 mode */
    uint64_t cs_base;  /* CS.base: an x86 pc is CS.base + RIP */
};
/* x86: v's mode now; HV_EINVAL on other arches. */
int hv_vcpu_x86_mode(struct hv_vcpu *v, struct hv_x86_mode *out);

struct hv_exit_hypercall {
    enum hv_hc_insn insn;
    uint64_t imm;     /* Arm immediate; 0 on x86 */
    uint64_t pc;      /* address of the instruction (x86: linear, CS.base + RIP) */
    unsigned len;     /* its length */
    struct hv_x86_mode x86; /* x86: the mode the instruction executed in */
    bool aarch32;     /* Arm: the call came from AArch32 (arch arm) */
    bool t16;         /* AArch32: a 16-bit T32 encoding (ESR_EL2.IL = 0) */
    bool cond_failed; /* AArch32: a conditional SMC/HVC whose condition check fails; the
                       * CPU may still trap it (KVM then only advances the PC, B.3) */
};

struct hv_exit_pio {
    uint16_t port;
    uint8_t size;
    bool write;
    uint64_t data;    /* in: the value written; out: the value to read */
};

/*
 * A load or store to guest-physical memory that no RAM backs, or a store to read-only RAM. One
 * exit carries at most 8 bytes, as KVM's x86 emulator splits an access (emulator_read_write()
 * in Linux arch/x86/kvm/x86.c): the part on each page is its own fragment (a part in RAM is no
 * exit at all), and a fragment longer than 8 bytes is several exits of up to 8 bytes at
 * increasing addresses. So an 8-byte access is one exit of size 8, a 16-byte SSE access two of
 * 8, and an 8-byte access crossing from one unbacked page into another two (sizes 1..7 adding
 * up to 8). Each element of a
 * string instruction (rep movs, stos, lods, cmps, scas, ins, outs) is its own access, in the
 * order the instruction makes them: cmps reads [rsi] before [rdi]. On Arm each register of a
 * multi-register access is its own access.
 */
struct hv_exit_mmio {
    uint64_t gpa;
    uint8_t size;     /* 1 to 8 */
    bool write;
    uint64_t data;    /* in: the value written; out: the value to read (little-endian) */
};

/*
 * Arm: a load or store that would be an MMIO exit, by an instruction whose data abort carries
 * no valid instruction syndrome (ESR_EL2.ISV = 0; sim/dabt.c says which: load/store pair,
 * writeback addressing, SIMD&FP registers, exclusives, atomics, AArch32 LDRD/STRD/LDM/STM). A
 * hypervisor cannot emulate it from the syndrome. Reported before the instruction has any
 * effect: registers and flags as before it (except that a multi-register load may already
 * have filled registers from RAM before the faulting part, which the architecture leaves
 * UNKNOWN), nothing stored beyond RAM it reached first. The faulting part is the first byte,
 * in the instruction's order of accesses, that no RAM backs (or, for a store, that read-only
 * RAM holds).
 */
struct hv_exit_dabt {
    uint64_t ipa;     /* the guest-physical address of that byte */
    uint64_t far;     /* its virtual address (FAR) */
    bool wnr;         /* the faulting access writes (ESR WnR); an atomic read-modify-write
                       * faulting on its read is a read */
    bool permission;  /* read-only RAM is there (a store): a permission fault, not a
                       * translation fault */
    unsigned len;     /* the instruction's length: 4, or 2 for a 16-bit T32 encoding */
    unsigned el;      /* aarch64: the exception level it ran at (0 or 1) */
    bool aarch32;     /* arch arm */
    const char *why;  /* out: the reason recorded when the model stops the vCPU */
};

struct hv_exit_cpuid {
    uint32_t leaf, subleaf;
    uint32_t eax, ebx, ecx, edx;  /* in: Unicorn's own answer; out: the guest's */
};

/*
 * An instruction fetch from guest-physical memory that no RAM backs: the pc translates to a
 * GPA in a hole, or (x86 with paging on) a page-table page its translation reads lies in one.
 * Nothing at the pc has retired. A fetch that the guest's own page tables forbid (not
 * present, no-execute) is not this exit: it is a guest exception as usual.
 */
struct hv_exit_fetch {
    uint64_t va;      /* the pc */
    uint64_t gpa;     /* the unbacked guest-physical address: the pc's, or the table's */
    const char *why;  /* out: with HV_ACT_STOP_VCPU, the reason the vcpu_state event records
                       * (default "model"); a model that fails the vCPU calls hv_vcpu_fail() */
};

/* How the vCPU that ran the last slice left it, for the sched_switch op. */
enum hv_desched {
    HV_DESCHED_PREEMPTED, /* still runnable: its slice ran out or it yielded */
    HV_DESCHED_BLOCKED,   /* halted (hlt, wfi, a model's HV_ACT_HALT) */
    HV_DESCHED_OFF,       /* stopped, finished or failed */
};

struct hv_exit_msr {
    uint32_t index;
    bool write;
    uint64_t value;   /* in for wrmsr; out for rdmsr */
    bool gp;          /* out: raise #GP(0) instead */
};

/* A model knob: a dotted config key, its default and one line of help. */
struct hv_knob {
    const char *key;
    const char *def;
    const char *help;
};

/* What a model's scenario checks see besides the section they check. */
struct hv_check_ctx {
    const struct hv_model_ops *model;
    enum hv_arch arch;
    unsigned nr_vcpus;
    const struct hv_kv *config;  /* the effective config: the scenario's `config` with --set
                                  * applied, each entry located (hv_kv.node); a knob it does
                                  * not name is at its default (hv_config_lookup) */
    size_t nconfig;
    uint64_t max_memory;         /* the guest memory budget (run.max_memory): check_memory
                                  * refuses memory beyond it, located; 0 = none */
};

/*
 * The operations of a model. Declared once per model with designated initialisers.
 * Marks: [R] required, [O] optional.
 */
struct hv_model_ops {
    const char *name;                                                      /* [R] */
    const char *summary;                                                   /* [R] */
    const struct hv_knob *knobs;           /* [O] terminated by {NULL} */

    /*
     * Scenario checks, before the guest is built or a trace written; errors are located via
     * d (a value from the config at its hv_kv.node). Whatever vm_init would refuse for the
     * same scenario must be refused here first. HV_ENOENT from check_step / check_expect
     * means "not mine" (the runner then reports it unknown, with a "did you mean" from
     * step_actions / expect_keys).
     */
    int (*check_config)(const struct hv_check_ctx *c, struct hv_diag *d);  /* [O] */
    int (*check_memory)(const struct hv_node *memory, const struct hv_check_ctx *c,
                        struct hv_diag *d);                                /* [O] */
    int (*check_vmm)(const struct hv_node *vmm, const struct hv_check_ctx *c,
                     struct hv_diag *d);                                   /* [O] */
    int (*check_step)(const char *action, const struct hv_node *args,
                      const struct hv_node *expect, struct hv_diag *d);     /* [O] */
    int (*check_expect)(const char *key, const struct hv_node *val,
                        struct hv_diag *d);                                /* [O] */
    /* The names check_step and check_expect accept, NULL-terminated: the vocabulary a
     * misspelt action or key is compared with (tests check that each is accepted). */
    const char *const *step_actions;                                       /* [O] */
    const char *const *expect_keys;                                        /* [O] */

    /* VM lifetime. vm_init sets up guest memory from the scenario's `memory` section. */
    int (*vm_init)(struct hv_vm *vm, const struct hv_node *memory,
                   const struct hv_node *vmm);                             /* [R] */
    void (*vm_fini)(struct hv_vm *vm);                                     /* [O] */
    /* Returns false to leave the vCPU stopped at start (e.g. PSCI secondaries). */
    bool (*vcpu_starts)(struct hv_vcpu *v);                                /* [O] */

    /* Exits, one handler per kind. */
    enum hv_exit_action (*hypercall)(struct hv_vcpu *v, struct hv_exit_hypercall *e);
    enum hv_exit_action (*pio)(struct hv_vcpu *v, struct hv_exit_pio *e);
    enum hv_exit_action (*mmio)(struct hv_vcpu *v, struct hv_exit_mmio *e);
    enum hv_exit_action (*cpuid)(struct hv_vcpu *v, struct hv_exit_cpuid *e);
    enum hv_exit_action (*msr)(struct hv_vcpu *v, struct hv_exit_msr *e);
    enum hv_exit_action (*halt)(struct hv_vcpu *v);
    /* HV_ACT_STOP_VCPU stops the vCPU with its pc at the fetch (failed instead if the handler
     * called hv_vcpu_fail()); HV_ACT_END_RUN ends the run (outcome done). Anything else is
     * the default: an `exception` event naming Unicorn's error, the vCPU fails and the run
     * ends with outcome exception. */
    enum hv_exit_action (*fetch_unbacked)(struct hv_vcpu *v, struct hv_exit_fetch *e);
    /* Arm, an access without a valid syndrome (struct hv_exit_dabt); the pc is at the
     * instruction. HV_ACT_STOP_VCPU stops the vCPU there (why); HV_ACT_HANDLED skips the
     * instruction (the pc moves past it, nothing of it done); HV_ACT_RETRY runs it again,
     * after the exception the model injected (hv_vcpu_inject_addr), if any; HV_ACT_END_RUN
     * ends the run; HV_ACT_DEFAULT, and a model without this op, make it ordinary MMIO exits
     * (one per register). */
    enum hv_exit_action (*dabt_nisv)(struct hv_vcpu *v, struct hv_exit_dabt *e);
    /*
     * A context switch: the scheduler is about to give next a slice, and the slice before it
     * was prev's (NULL at the first decision, a migration destination's too: nothing has run
     * on it), which left prev as why says. Called after next's `sched` event, only when the
     * running vCPU changes: next != prev, or prev blocked or stopped after its slice (then
     * prev == next is possible, as when a halted vCPU is woken with nothing else to run: a
     * real scheduler ran its idle vCPU in between). No guest instruction runs between prev's
     * slice and this call, so hv_vm_now() is the time of both the deschedule and the
     * reschedule. Events may be emitted for either vCPU.
     */
    void (*sched_switch)(struct hv_vm *vm, struct hv_vcpu *prev, enum hv_desched why,
                         struct hv_vcpu *next);
    /*
     * v is about to run a slice (after its `sched` event and sched_switch): the point where
     * the hypervisor checks what it must do before entering the guest again (KVM: pending
     * vCPU requests). Events emitted for v carry the pc it resumes at.
     */
    void (*vcpu_enter)(struct hv_vcpu *v);
    /* A guest store into RAM while write tracking is on (hv_vm_track_writes): dirty logging.
     * Called before the bytes are written; events emitted for v carry the store's exact pc. */
    void (*guest_write)(struct hv_vcpu *v, uint64_t gpa, unsigned size);

    /*
     * Live migration (docs/migration.md), driven by the core `migrate` step; a model without
     * mig_begin cannot be migrated. Called between slices.
     *   mig_begin: src starts tracking dirty pages (KVM: LOG_DIRTY_PAGES on every RAM slot,
     *     a FLAGS_ONLY update), and dst (from hv_vm_create_incoming, nothing run yet) gets
     *     src's memory layout over its own host memory. result: JSON describing what it did.
     *   mig_dirty: one sync: calls page(ctx, gpa) for every page dirtied since the previous
     *     sync (since mig_begin for the first) and re-arms tracking for them (KVM:
     *     KVM_GET_DIRTY_LOG, and KVM_CLEAR_DIRTY_LOG in manual mode, on every logging slot).
     *   mig_finish: after the final sync and hv_vm_move_vcpus(): the model's own state
     *     (registrations, tables, capabilities the VMM set) to dst, and tracking off on dst.
     */
    int (*mig_begin)(struct hv_vm *src, struct hv_vm *dst, char *result, size_t size);
    int (*mig_dirty)(struct hv_vm *src, int (*page)(void *ctx, uint64_t gpa), void *ctx);
    int (*mig_finish)(struct hv_vm *src, struct hv_vm *dst, char *result, size_t size);

    /* Scenario steps and expectations the model defines; result/actual are JSON text. A step
     * returns HV_ESCENARIO when its `expect` does not hold (recorded, not an error). */
    int (*step)(struct hv_vm *vm, const char *action, const struct hv_node *args,
                const struct hv_node *expect, char *result, size_t size);  /* [O] */
    int (*expect)(struct hv_vm *vm, const char *key, const struct hv_node *val,
                  char *actual, size_t size, bool *ok);                    /* [O] */
};

/* The model's per-VM state. */
void hv_vm_set_model_data(struct hv_vm *vm, void *data);
void *hv_vm_model_data(const struct hv_vm *vm);
/* Effective value of a config key (scenario config, --set, else the knob default), or NULL. */
const char *hv_vm_config_get(const struct hv_vm *vm, const char *key);
/* The VM's config entries (hv_vm_config.config). Borrowed for the VM's lifetime. */
const struct hv_kv *hv_vm_config_list(const struct hv_vm *vm, size_t *n);
/*
 * Effective value of key for model m in config[0..n): the last entry with that key, else the
 * knob's default, else NULL; *where (if not NULL) is the entry's node, NULL for a default.
 */
const char *hv_config_lookup(const struct hv_model_ops *m, const struct hv_kv *config,
                             size_t n, const char *key, const struct hv_node **where);
/* The check context of a VM's own scenario (for vm_init, to read knobs as the checks did). */
void hv_vm_check_ctx(const struct hv_vm *vm, struct hv_check_ctx *c);
enum hv_arch hv_vm_arch(const struct hv_vm *vm);
const struct hv_model_ops *hv_vm_model(const struct hv_vm *vm);
/* The run's seed (hv_vm_config.seed), for a model's own deterministic stream. */
uint64_t hv_vm_seed(const struct hv_vm *vm);
/* The run's schedule (hv_vm_config.schedule), or NULL: seeded choices a model makes go
 * through it (hv_schedule_preempt). */
struct hv_schedule *hv_vm_schedule(const struct hv_vm *vm);

/*
 * The VM's clock: guest instructions retired by all vCPUs together, exact at the instruction
 * being handled inside an exit. hvsim has no other time; a model that needs one (Xen's system
 * time) scales this.
 */
uint64_t hv_vm_now(const struct hv_vm *vm);

/* Emits an event on behalf of vCPU v at its current (exact) pc and icount. */
int hv_vcpu_emit(struct hv_vcpu *v, enum hv_ev_kind kind, const void *fields);

/* Registers by architecture-neutral index: x86 rax..r15 = 0..15, Arm x0..x30 = 0..30. */
uint64_t hv_vcpu_gpr(struct hv_vcpu *v, unsigned idx);
void hv_vcpu_set_gpr(struct hv_vcpu *v, unsigned idx, uint64_t val);
uint64_t hv_vcpu_pc(struct hv_vcpu *v);

/*
 * Makes vCPU v runnable again (e.g. PSCI CPU_ON) at entry, from the reset state: every
 * general register zero except the first argument register (x0, r0, rdi) = arg0. Or stops it.
 * Takes effect at the next scheduling decision.
 */
int hv_vcpu_start(struct hv_vcpu *v, uint64_t entry, uint64_t arg0);
void hv_vcpu_stop(struct hv_vcpu *v, const char *why);
/*
 * Stopping is not failing. hv_vcpu_stop() (and HV_ACT_STOP_VCPU) powers a vCPU off the way the
 * guest or the VMM asked for (PSCI CPU_OFF, VCPUOP_down, a vCPU created powered off, the
 * system event that ends the run); the run still ends `done`. A model that stops a vCPU
 * itself, inside a handler that then returns HV_ACT_STOP_VCPU or HV_ACT_END_RUN, names why in
 * the vcpu_state event. hv_vcpu_stop() leaves a done or failed vCPU as it is.
 *
 * hv_vcpu_fail() is the hypervisor giving up on the vCPU: KVM_RUN returns an error or an exit
 * the VMM cannot handle (KVM_EXIT_INTERNAL_ERROR). The vCPU's state becomes "failed" with why,
 * and the run ends with outcome `failed` (as a VMM stops the VM); a running engine stops at
 * its next block boundary. From an exit handler, return HV_ACT_STOP_VCPU after it.
 */
void hv_vcpu_fail(struct hv_vcpu *v, const char *why);
/* True if v is stopped (powered off: never started, hv_vcpu_stop, HV_ACT_STOP_VCPU). */
bool hv_vcpu_stopped(const struct hv_vcpu *v);

/*
 * Queues a guest-visible exception for delivery before v's next instruction (x86 vector with
 * an error code, e.g. #GP(0) = 13, 0; Arm: an UNDEF with syndrome).
 */
void hv_vcpu_inject(struct hv_vcpu *v, unsigned vector, uint64_t error_code);
/* The same with the fault address the guest sees (x86 CR2, Arm FAR / DFAR). */
void hv_vcpu_inject_addr(struct hv_vcpu *v, unsigned vector, uint64_t error_code,
                         uint64_t addr);

/*
 * Guest code written by the host or a model (a hypercall page) must be dropped from every
 * engine's translation cache, or stale code runs. Call after writing [gpa, gpa+len).
 */
void hv_vm_code_written(struct hv_vm *vm, uint64_t gpa, uint64_t len);

/*
 * Turns tracking of guest stores into RAM on or off in every engine: while on, the model's
 * guest_write op sees each store's guest-physical address. Off by default, because a write
 * hook slows every store.
 */
int hv_vm_track_writes(struct hv_vm *vm, bool on);

/*
 * Host work deferred by a number of guest instructions, for a model that lets the guest run
 * in the middle of an operation (a memslot update's INVALID window). fn runs once the VM's
 * total retired instructions (hv_vm_icount(), all vCPUs together) reach hv_vm_icount() + after:
 * the scheduler cuts slices so that one ends at the first block boundary at or past that count,
 * and due callbacks run there, between slices, in the order they were registered. The count is
 * the only clock, so a run and its replay call fn at the same point.
 *
 * fn writes a JSON value describing what it did to result (or leaves "null") and returns 0 or
 * an hv_err, which ends the run. Each call is an `after` event (vcpu -1) with what, the count
 * it was due at, the count it ran at and that JSON. Callbacks still pending when the run ends
 * never run. what is copied (up to 63 bytes). *id, if id is not NULL, names the callback for
 * hv_vm_after_now().
 */
typedef int (*hv_after_fn)(struct hv_vm *vm, void *ctx, char *result, size_t size);
int hv_vm_after(struct hv_vm *vm, uint64_t after, const char *what, hv_after_fn fn, void *ctx,
                uint64_t *id);
/* Runs pending callback id now, recorded the same way; HV_ENOENT if it is not pending. */
int hv_vm_after_now(struct hv_vm *vm, uint64_t id);

/* The models hvsim knows, by name. */
const struct hv_model_ops *hv_model_lookup(const char *name);
/* NULL-terminated list of all models. */
const struct hv_model_ops *const *hv_model_list(void);

#endif
