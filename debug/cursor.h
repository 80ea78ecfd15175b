/*
 * cursor.h - a re-execution cursor over a trace: the one engine under `hvsim state`,
 * `hvsim blame` and `hvsim debug`.
 *
 * Opening a cursor re-executes the trace's stored run (its scenario text, guest image, seed and
 * --set overrides, as replay does) in a child process, the executor, which stops at the
 * positions the caller asks for and answers questions about the state there (registers,
 * memory, the model's state). The caller's process only holds the cursor; nothing of the
 * simulation runs in it, and its own state (breakpoint lists, sockets) is never rolled back.
 *
 * Positions. Re-execution passes through a sequence of stop points, each with a number, its
 * step, that only grows:
 *   - just after each event is emitted (inside the exit or step that emitted it);
 *   - with hv_cursor_opts.insns, before each guest instruction of each vCPU (the vCPU has
 *     retired icount instructions and its next one is at pc).
 * Going backwards restores the nearest checkpoint before the target (a frozen copy of the
 * executor, taken with fork() as rr does) and re-executes forward from there; since runs are
 * deterministic, the same step always means the same state.
 *
 * Memory budget: at most hv_cursor_opts.max_checkpoints frozen copies exist at once (default
 * 64); each costs only the pages that changed since it was taken (copy-on-write). When the
 * budget is full, every second checkpoint is dropped and the interval doubles.
 *
 * Errors: functions return 0 or a negative hv_err (sim/hv_err.h) with hv_error_detail() set.
 * HV_ENOENT: the target is past the end of the trace (the cursor is then at the end);
 * HV_EUNSUPP: an instruction-level call on a cursor opened without insns.
 */
#ifndef HV_DEBUG_CURSOR_H
#define HV_DEBUG_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/hv.h"

struct hv_cursor;

struct hv_cursor_opts {
    bool insns;                /* stop points before every guest instruction: needed by
                                * hv_cursor_seek_insn, hv_cursor_stepi and run predicates;
                                * re-execution is several times slower */
    uint64_t ckpt_insns;       /* a checkpoint at the first stop point after this many more
                                * guest instructions (0: 1000000) */
    uint64_t ckpt_events;      /* ... or after this many more events (0: 20000) */
    unsigned max_checkpoints;  /* memory budget, in checkpoints (0: 64) */
    const char *const *sets;   /* extra --set KEY=VALUE on top of the recorded ones */
    size_t nsets;
};

/*
 * Opens path (a trace recorded by the model backend) and stops at the first stop point (the
 * run_start event). opts may be NULL (defaults). On failure a one-line message naming the
 * problem is in err (a bad trace: HV_ETRACE, HV_ENOENT...). Caller owns *out; release with
 * hv_cursor_close().
 */
int hv_cursor_open(struct hv_cursor **out, const char *path, const struct hv_cursor_opts *opts,
                   char *err, size_t errsize);
/* Ends the executor and every checkpoint. NULL is a no-op. */
void hv_cursor_close(struct hv_cursor *c);

enum hv_arch hv_cursor_arch(const struct hv_cursor *c);
unsigned hv_cursor_nr_vcpus(const struct hv_cursor *c);
/* The number of events the trace records (the last event is seq n - 1). */
uint64_t hv_cursor_nr_events(const struct hv_cursor *c);
/* Writes the trace's guest ELF image to path. */
int hv_cursor_write_elf(const struct hv_cursor *c, const char *path);
/* The guest ELF image itself (*len bytes). Borrowed; valid until hv_cursor_close(). */
const void *hv_cursor_elf(const struct hv_cursor *c, size_t *len);

enum hv_cursor_stop {
    HV_CSTOP_EVENT,   /* just after event pos.seq */
    HV_CSTOP_INSN,    /* before vCPU pos.vcpu's instruction at pos.pc */
    HV_CSTOP_END,     /* the run ended: after its last event, the VM as it was left */
};

/* Where the cursor is. */
struct hv_cursor_pos {
    uint64_t step;             /* the stop point's number */
    enum hv_cursor_stop kind;
    uint64_t seq;              /* the last event emitted so far (its seq); events so far:
                                * seq + 1 */
    int32_t vcpu;              /* the vCPU of the event or instruction; -1: the host */
    uint64_t pc;               /* its pc (the event's pc, the instruction's address) */
    uint64_t icount;           /* its retired instructions at this point */
    unsigned vm;               /* the VM (0, or n after the n-th migration) */
};
void hv_cursor_pos(const struct hv_cursor *c, struct hv_cursor_pos *out);

/* One vCPU at the current position. */
struct hv_cursor_vcpu {
    uint64_t icount;           /* retired instructions, exact */
    uint64_t pc;               /* where it executes next (the exit's pc inside an exit) */
    char state[16];            /* "runnable", "halted", "done", "stopped", "failed" */
    char why[64];              /* the reason of its last change of state */
    bool thumb;                /* arm: executing T32 */
};
int hv_cursor_vcpu(struct hv_cursor *c, unsigned vcpu, struct hv_cursor_vcpu *out);

/*
 * Registers of vCPU vcpu: by Unicorn register id (unicorn/x86.h, arm64.h, arm.h; each read as
 * Unicorn's uc_reg_read writes it, at most 64 bytes into buf), or by hvsim's names ("rax",
 * "x0", "pc", "cpsr", "cr3", "ttbr0_el1", ...: hv_vcpu_reg_by_name). HV_EINVAL for an unknown
 * id or name.
 */
int hv_cursor_reg(struct hv_cursor *c, unsigned vcpu, int uc_reg, void *buf, size_t size);
int hv_cursor_reg_by_name(struct hv_cursor *c, unsigned vcpu, const char *name,
                          uint64_t *out);
/* Several 64-bit registers at once by Unicorn id (one round trip): vals[i] for ids[i]. */
int hv_cursor_regs(struct hv_cursor *c, unsigned vcpu, const int *ids, size_t n,
                   uint64_t *vals);

/*
 * Guest memory: by guest-physical address (HV_EINVAL if a byte is not RAM), or by virtual
 * address through vCPU vcpu's page tables as they are now (HV_EINVAL if a page is not
 * mapped). hv_cursor_gva_to_gpa translates one address.
 */
int hv_cursor_read_gpa(struct hv_cursor *c, uint64_t gpa, void *buf, size_t len);
int hv_cursor_read_gva(struct hv_cursor *c, unsigned vcpu, uint64_t gva, void *buf, size_t len);
int hv_cursor_gva_to_gpa(struct hv_cursor *c, unsigned vcpu, uint64_t gva, uint64_t *gpa);

/*
 * Seeking, forward or backward.
 *   seek_seq:   just after event seq;
 *   seek_insn:  before the instruction vCPU vcpu executes once it has retired icount
 *               instructions (insns only);
 *   seek_step:  to a stop point by number (a position read earlier);
 *   step_event: to the next (dir > 0) or previous (dir < 0) event;
 *   stepi:      vCPU vcpu's next or previous instruction (insns only).
 * HV_ENOENT: no such point (the cursor is then at the end, or, backwards, at the first stop
 * point).
 */
int hv_cursor_seek_seq(struct hv_cursor *c, uint64_t seq);
int hv_cursor_seek_insn(struct hv_cursor *c, unsigned vcpu, uint64_t icount);
int hv_cursor_seek_step(struct hv_cursor *c, uint64_t step);
int hv_cursor_step_event(struct hv_cursor *c, int dir);
int hv_cursor_stepi(struct hv_cursor *c, unsigned vcpu, int dir);

/*
 * Running until something happens.
 *
 * stop, if not NULL, is called at every instruction stop point (insns only) with the vCPU and
 * pc: true stops there. It runs in the executor, a copy of this process: it may read only its
 * ctx, which is copied there (ctx_len bytes) for each run, and must have no side effects.
 *
 * A write into a watched guest-physical range stops at the first stop point after the write,
 * whoever wrote it: a guest store, a model write (a hypercall's copy to the guest, a runstate
 * update), a host step (mem_write, a migration copy) or an xinterface write. A read watch
 * (HV_CWATCH_READ, HV_CWATCH_ACCESS; only on a cursor opened with insns, else HV_EUNSUPP)
 * stops at the first stop point after a guest load from the range: the hit is then a write
 * record with read set and path "guest load". A model's reads of guest memory (a hypercall's
 * copy from the guest) are not seen. Backward, the last such access before the current point.
 */
typedef bool (*hv_cursor_stop_fn)(const void *ctx, unsigned vcpu, uint64_t pc);

enum hv_cursor_access {
    HV_CWATCH_WRITE,  /* writes (the default) */
    HV_CWATCH_READ,   /* guest loads (insns only) */
    HV_CWATCH_ACCESS, /* both */
};

struct hv_cursor_range {
    uint64_t gpa, len;
    enum hv_cursor_access access;
};

struct hv_cursor_run {
    hv_cursor_stop_fn stop;               /* may be NULL */
    const void *ctx;                      /* copied: ctx_len bytes, at most 65536 */
    size_t ctx_len;
    const struct hv_cursor_range *watch;  /* may be NULL */
    size_t nwatch;                        /* at most 64 */
};

/* A write into guest memory, as a watch or blame sees it. */
struct hv_cursor_write {
    uint64_t gpa, len;         /* the bytes written (may extend beyond the watched range) */
    int32_t vcpu;              /* the writing vCPU, -1 for the host */
    uint64_t pc, icount;       /* the vCPU's pc and count at the write (vcpu >= 0) */
    uint64_t seq;              /* events emitted before the write: the write happened after
                                * event seq - 1 (and, for a model write, belongs to the
                                * event the model emits next) */
    char path[24];             /* "guest store", "model write", "host write",
                                * "xinterface write" */
    int logged;                /* the dirty log saw it: 1 yes, 0 no, -1 no log was on */
    bool read;                 /* a guest load (a read watch's hit), not a write */
};

enum hv_cursor_why {
    HV_CWHY_STOP,     /* the predicate returned true */
    HV_CWHY_WATCH,    /* a watched range was written or read: hit.write says by whom */
    HV_CWHY_END,      /* forward: the end of the run */
    HV_CWHY_BEGIN,    /* backward: the first stop point, with no hit on the way */
};

struct hv_cursor_hit {
    enum hv_cursor_why why;
    struct hv_cursor_write write;         /* HV_CWHY_WATCH */
};

/*
 * Runs forward (dir > 0) from the current position to the first stop point where r says to
 * stop, or to the end of the run. Backward (dir < 0), the cursor goes to the last such point
 * before the current position (re-executing from checkpoints), or to the first stop point.
 * Returns 0 with *hit telling why it stopped.
 */
int hv_cursor_run(struct hv_cursor *c, int dir, const struct hv_cursor_run *r,
                  struct hv_cursor_hit *hit);

/*
 * Text about the current position, formatted in the executor. Caller owns *out (free()).
 *   regs:  vCPU vcpu's registers (hv_vcpu_format_regs, plus the system registers that
 *          matter: CR0/3/4, EFER, CS/SS; SCTLR, TTBR0/1, VBAR, ESR, FAR) and run state;
 *   model: what the model holds (its state function: memslots, caches, dirty logs, TLBs,
 *          registrations, continuations, a migration in progress);
 *   disasm: n instructions at vCPU vcpu's pc, the pc marked.
 * json selects a JSON value instead of text.
 */
int hv_cursor_text_regs(struct hv_cursor *c, unsigned vcpu, bool json, char **out);
int hv_cursor_text_model(struct hv_cursor *c, bool json, char **out);
int hv_cursor_text_disasm(struct hv_cursor *c, unsigned vcpu, uint64_t pc, size_t n,
                          char **out);

/*
 * The last write to each byte of [gpa, gpa + len) before the current position, found by
 * re-executing from the start with every write observed. out[i] is byte gpa + i's writer;
 * out[i].path is empty if nothing wrote it (it holds what the image or the model put there
 * first). len at most 4096. The cursor's position does not change.
 */
int hv_cursor_blame(struct hv_cursor *c, uint64_t gpa, size_t len, struct hv_cursor_write *out);

#endif
