/*
 * migrate.h - what a live migration needs from the simulator (docs/migration.md): a
 * destination VM without a guest image, RAM pages copied across, the vCPUs' state moved, and
 * the provenance of writes into guest memory, so that a page the destination got wrong can
 * be traced to the write that escaped the dirty log.
 *
 * Both VMs share one timeline: the destination's events continue the source's sequence
 * numbers from the moment it is created, and take it over at hv_vm_move_vcpus().
 */
#ifndef HV_SIM_MIGRATE_H
#define HV_SIM_MIGRATE_H

#include "sim/hv.h"

/*
 * Creates the destination of a migration of src: the same architecture, vCPUs, scheduler
 * settings, model and event sink, with config (the source's knobs with the destination's
 * overrides applied, borrowed for the VM's life) and vm_id one above src's. The model's
 * vm_init builds its memory from the scenario; no guest image is loaded.
 */
int hv_vm_create_incoming(struct hv_vm **out, struct hv_vm *src, const struct hv_kv *config,
                          size_t nconfig);

/* Calls fn for every 4 KiB page of RAM (every region, aliases included), in GPA order of
 * the regions as mapped. Stops at and returns fn's first non-zero result. */
int hv_vm_ram_pages(struct hv_vm *vm, int (*fn)(void *ctx, uint64_t gpa), void *ctx);
/* Copies the page at gpa from src's RAM to dst's; HV_EINVAL if either has no RAM there. */
int hv_vm_copy_page(struct hv_vm *src, struct hv_vm *dst, uint64_t gpa);
/* true if the page at gpa holds the same bytes in both (false if either has no RAM there). */
bool hv_vm_page_equal(struct hv_vm *src, struct hv_vm *dst, uint64_t gpa);

/*
 * Moves every vCPU of src to dst between two slices: the engine's whole CPU state (general,
 * control and system registers), hvsim's run state (runnable, halted, stopped...), instruction
 * count, pending exception, and the scheduler's stream, so dst schedules exactly as src would
 * have. Guest output and the event sequence go with them. src must not run again.
 */
int hv_vm_move_vcpus(struct hv_vm *src, struct hv_vm *dst);

/*
 * Provenance of writes into guest RAM, kept per page while on: the last write to each page,
 * by whom and how. Guest stores are recorded by sim/ itself; a model or host that writes
 * guest memory calls hv_vm_note_write().
 */
struct hv_write_rec {
    int32_t vcpu;          /* -1: the host (a step, a model's VMM side) */
    uint64_t pc, icount;   /* the vCPU's, when vcpu >= 0 */
    const char *path;      /* "guest store", "model write", "xinterface write", "host write" */
};
int hv_vm_provenance(struct hv_vm *vm, bool on);
void hv_vm_note_write(struct hv_vm *vm, struct hv_vcpu *v, uint64_t gpa, uint64_t len,
                      const char *path);
/* The last write recorded to the page holding gpa; false if none. */
bool hv_vm_last_write(const struct hv_vm *vm, uint64_t gpa, struct hv_write_rec *out);

/*
 * Observers for a debugger that re-executes a run (debug/cursor.c); none is on while
 * recording, and neither changes what the run does or records.
 *
 * The write observer sees every write that provenance records, as it happens, with the
 * exact bytes: guest stores (hook before the bytes land), and every hv_vm_note_write(); want
 * (called first, cheap) says whether fn wants a write of [gpa, gpa + len), so that the exact
 * pc of a store is looked up only for those.
 * The instruction observer is called before each guest instruction a vCPU executes, with its
 * address (x86: linear) and the vCPU's exact retired count before it; once per count (an
 * instruction a REP prefix repeats is reported once). Set it before the VM first runs.
 * The read observer sees guest loads from memory the want function asks for, before the
 * bytes are read, as a record with path "guest load" and the loading instruction's exact pc
 * and count (a model's or the host's reads of guest memory are not reported). Its engine
 * hook (UC_HOOK_MEM_READ) makes every load slower: set it, like the instruction observer,
 * before the VM first runs, and only for a debugger that watches reads.
 * A migration's destination (hv_vm_create_incoming) inherits all three from its source.
 */
typedef void (*hv_write_observer_fn)(void *ctx, struct hv_vm *vm, uint64_t gpa, uint64_t len,
                                     const struct hv_write_rec *w);
typedef bool (*hv_write_want_fn)(void *ctx, uint64_t gpa, uint64_t len);
int hv_vm_observe_writes(struct hv_vm *vm, hv_write_want_fn want, hv_write_observer_fn fn,
                         void *ctx);
typedef void (*hv_insn_observer_fn)(void *ctx, struct hv_vcpu *v, uint64_t pc,
                                    uint64_t icount);
int hv_vm_observe_insns(struct hv_vm *vm, hv_insn_observer_fn fn, void *ctx);
int hv_vm_observe_reads(struct hv_vm *vm, hv_write_want_fn want, hv_write_observer_fn fn,
                        void *ctx);

/* Reads the register Unicorn numbers id (unicorn/x86.h, arm64.h, arm.h) of v's engine into
 * buf, as uc_reg_read() writes it (buf must hold the register: at most 64 bytes); HV_EINVAL
 * if Unicorn refuses it. For a debugger's register reads. */
int hv_vcpu_uc_reg(struct hv_vcpu *v, int id, void *buf);

/* Pauses hv_vm_run() once the VM's instruction count (all vCPUs) reaches icount, at the
 * first block boundary at or past it (0: no such pause). hv_vm_paused_vcpu() is then NULL. */
void hv_vm_pause_at_total(struct hv_vm *vm, uint64_t icount);

/* Pauses hv_vm_run() at the first slice boundary once the run has recorded seq events (a
 * slice ends at the next block boundary after that), or once the VM has made legs
 * continuation legs (hypercalls the model preempted with HV_ACT_YIELD). 0: no such pause.
 * hv_vm_paused_vcpu() is then NULL. */
void hv_vm_pause_at_seq(struct hv_vm *vm, uint64_t seq);
void hv_vm_pause_at_leg(struct hv_vm *vm, uint64_t legs);
uint64_t hv_vm_legs(const struct hv_vm *vm);

#endif
