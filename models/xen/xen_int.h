/*
 * xen_int.h - what the files of the Xen model share: the per-VM and per-vCPU state, the
 * hypercall ABI (C.1) and the hypercall-page writer (C.2) as pure functions the tests call.
 *
 *   xen.c      the model: knobs, RAM, CPUID leaves and the hypercall-page MSR (C.2), the
 *              hypercall entry (C.1: ABI, CPL, dispatch, -ENOSYS, debug clobber), events
 *   hcalls.c   the hypercalls modeled: console_io, xen_version, sched_op, vcpu_op
 *   walk.c     the guest page walker (C.3)
 *   copy.c     copy_to_guest / copy_from_guest (C.3)
 *   memop.c    memory_op reservations and their continuations (C.4)
 *   stlb.c     the software TLB of the 2022 proposal and its VCPUOPs (C.6)
 *   areas.c    runstate and time areas, vm_assist, the context-switch updates (C.5)
 *   mig.c      log-dirty (mig.h) and save/restore: the migration ops, what the restored
 *              domain gets, the hypercall page on restore (C.2)
 */
#ifndef HV_MODELS_XEN_INT_H
#define HV_MODELS_XEN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/xen/areas.h"
#include "models/xen/copy.h"
#include "models/xen/memop.h"
#include "models/xen/mig.h"
#include "models/xen/stlb.h"
#include "sim/model.h"

/* Hypercall numbers (xen/include/public/xen.h) and the errnos used (docs/sources.md 0). */
enum {
    XENM_HC_platform_op = 7, XENM_HC_memory_op = 12, XENM_HC_multicall = 13,
    XENM_HC_set_timer_op = 15, XENM_HC_xen_version = 17, XENM_HC_console_io = 18,
    XENM_HC_grant_table_op = 20, XENM_HC_vm_assist = 21, XENM_HC_iret = 23,
    XENM_HC_vcpu_op = 24, XENM_HC_sched_op = 29, XENM_HC_event_channel_op = 32,
    XENM_HC_physdev_op = 33, XENM_HC_hvm_op = 34, XENM_HC_sysctl = 35, XENM_HC_domctl = 36,
    XENM_HC_xenpmu_op = 40, XENM_HC_dm_op = 41, XENM_HC_hypfs_op = 42,
    XENM_HC_paging_domctl_cont = 49,
};
enum {
    XENM_EPERM = 1, XENM_ENOENT = 2, XENM_ESRCH = 3, XENM_ENXIO = 6, XENM_EFAULT = 14, XENM_EEXIST = 17,
    XENM_EINVAL = 22, XENM_ENOSYS = 38,
};

#define XENM_MSR_HYPERCALL_PAGE 0x40000000u
#define XENM_CLOBBER64 0xdeadbeefdeadf00dULL
#define XENM_CLOBBER32 0xdeadf00dU
#define XENM_MAXPHYSADDR 48   /* the guest's physical address width (a choice: docs) */

/* ---- C.1: the ABI as data ---- */

/*
 * hvm_hypercall's switch on hvm_guest_x86_mode() (mode as struct hv_x86_mode has it, cpl =
 * SS.DPL): NULL if the call goes on, with *mode64 = the 64-bit ABI (mode 8; the 32-bit one for
 * 4, 2 and real mode 0); else the rule of RAX = -EPERM (virtual-8086 mode, or CPL != 0 outside
 * real mode).
 */
const char *xenm_abi_entry(unsigned mode, unsigned cpl, bool *mode64);
/* RAX after a completed call returning ret, from rax before it: all of it in the 64-bit ABI;
 * the 32-bit ABI writes eax only (cpu_user_regs.eax aliases the low half). */
uint64_t xenm_abi_rax(uint64_t rax, bool mode64, int64_t ret);
/* Argument registers by hv_vcpu_gpr index: 64-bit RDI RSI RDX R10 R8, 32-bit EBX ECX EDX
 * ESI EDI. */
const unsigned *xenm_abi_arg_regs(bool mode64);
/* Number and arguments from the registers gpr[0..15]: 64-bit full RAX and registers, 32-bit
 * EAX and the low halves. */
void xenm_abi_decode(const uint64_t gpr[16], bool mode64, uint64_t *nr, uint64_t args[5]);
/* Arguments the HVM64 (mode64) or HVM32 handler of nr takes; 0 if it has none in that table. */
unsigned xenm_abi_nargs(uint64_t nr, bool mode64);
/* The hypercall's name ("console_io"), or NULL for a number Xen does not define. */
const char *xenm_hc_name(uint64_t nr);
/* clobber_regs64/32: poisons the first nargs argument registers of gpr (32-bit: the low
 * halves, upper halves kept). */
void xenm_abi_clobber(uint64_t gpr[16], bool mode64, unsigned nargs);

/* ---- C.2: the hypercall page ---- */

/* Fills page (4096 bytes) as init_hypercall_page + {vmx,svm}_init_hypercall_page, with a
 * hypercall instruction of insn_len bytes: 3, Xen's, or longer with CS prefixes before it
 * (xen.bug.hcpage_insn_len), which moves each stub's ret. */
void xenm_hcpage_fill(uint8_t page[4096], bool amd, unsigned insn_len);
/*
 * WRMSR(0x40000000, value) without Viridian: *gfn_out = value >> 12. Returns NULL if the write
 * is accepted, else the #GP rule ("page index != 0" / "gfn not a writable RAM page");
 * ram(ctx, gfn) says whether gfn is a writable RAM page.
 */
const char *xenm_hcpage_msr_rule(uint64_t value, bool (*ram)(void *ctx, uint64_t gfn), void *ctx,
                                 uint64_t *gfn_out);

/* ---- per-VM state ---- */

/* A vCPU's runstate and time areas (C.5, areas.h). */
struct xenm_areas {
    struct xenm_runstate rs;   /* v->runstate */
    uint64_t rs_va;            /* VCPUOP 5's linear handle; 0 is the null handle */
    bool rs_phys;              /* VCPUOP 14 mapped rs_gpa: the linear handle is not serviced */
    uint64_t rs_gpa;
    uint64_t time_va;          /* VCPUOP 13 */
    bool time_phys;            /* VCPUOP 15 */
    uint64_t time_gpa;
    struct xenm_time primary;  /* vcpu_info's copy: shared_info is not mapped in hvsim, so the
                                * guest never sees it, but its version drives the secondary's */
};

struct xenm_vcpu {
    bool down;             /* _VPF_down */
    uint64_t efer;         /* the guest's last wrmsr(EFER); Unicorn 2.0.1 exposes no EFER */
    uint64_t rip;          /* where VCPUOP_up resumes it */
    uint64_t gpr[16];      /* its registers then */
    struct xenm_areas a;   /* runstate and time (C.5) */
};

struct xenm_vm {
    bool amd;              /* xen.vendor */
    bool debug_clobber;    /* xen.debug_clobber */
    bool verbose_debug;    /* xen.verbose_debug */
    bool is_console;       /* xen.is_console */
    unsigned cpuid_limit;  /* effective hv_limit, 2..5 */
    unsigned major, minor;
    char extraversion[16];
    uint32_t domid;        /* 0: the hardware and control domain */
    char cons_buf[256];    /* struct domain_console */
    unsigned cons_idx;
    int shutdown_code;     /* -1 = SHUTDOWN_CODE_INVALID */
    struct xenm_vcpu vcpu[HV_MAX_VCPUS];
    struct xenm_memop *mem;        /* the domain's pages (memop.h) */
    struct xenm_preempt preempt;   /* xen.preempt */
    bool bug_progress;             /* xen.bug.continuation_progress */
    /* MEMOP_EXTENT_SHIFT this hypervisor decodes and encodes memory_op's cmd with: 6, or on a
     * restored domain xen.bug.continuation_extent_shift (restore_shift) */
    unsigned extent_shift, restore_shift;
    unsigned hcpage_insn_len;      /* xen.bug.hcpage_insn_len: the restore rewrite's stubs */
    unsigned stlb_capacity; /* xen.stlb.capacity; 0: the proposal is off (Xen as it is) */
    bool stlb_encrypted;    /* xen.stlb.encrypted */
    bool stlb_shared;       /* xen.stlb.shared: every vCPU starts on vCPU 0's table */
    struct xenm_stlb stlb[HV_MAX_VCPUS]; /* table i is vCPU i's own */
    uint8_t stlb_of[HV_MAX_VCPUS];       /* the table each vCPU uses (VCPUOP stlb_share) */
    bool bug_stlb_purge;                 /* xen.bug.stlb_purge_shared */
    struct xenm_stlb_last stlb_last[HV_MAX_VCPUS];   /* with the bug: each vCPU's last hit */
    bool vmasst_runstate_flag; /* vm_assist(enable, runstate_update_flag) */
    bool cross_subject;        /* xen.cross_vcpu = subject */
    uint64_t time_period;      /* xen.time_calibration, ns */
    uint64_t ram_base, ram_size;   /* the one RAM region (memory: {base, size}) */
    struct xenm_logdirty dirty;    /* paging_log_dirty, on while migrating (mig.h) */
    uint32_t incarnation;          /* d->arch.incarnation: CPUID time leaf, subleaf 0 EDX */
    bool hcpage_set;               /* the guest wrote the hypercall-page MSR (Xen keeps no */
    uint64_t hcpage_gfn;           /* record of it: the model does, for rewrite on restore) */
    bool hcpage_rewrite;           /* xen.hcpage_on_restore = rewrite */
};

/* What a hypercall handler tells the entry code. */
struct xenm_call {
    struct hv_vcpu *v;
    struct xenm_vm *x;
    uint64_t nr, args[5];
    int64_t ret;
    const char *rule;
    char rule_buf[96];     /* storage for a rule with values in it */
    enum hv_exit_action act;
    char copies[1024];     /* JSON array of the copies made, for the event */
    size_t ncopies_len;
    uint64_t next_pc;      /* the pc after the hypercall instruction */
    unsigned mode;         /* hvm_guest_x86_mode(): 8 64-bit, 4/2/0 the 32-bit ABI */
    bool mode64;           /* the 64-bit ABI (mode 8); else the 32-bit one (hcall_compat) */
    bool preempted;        /* a continuation (C.4): RAX = nr, the first argument register
                            * (RDI; RBX in the 32-bit ABI) = cont_a0, rip kept */
    uint64_t cont_a0;
    bool phys;             /* XENM_HC_PHYS was set: buffers are guest physical (C.6) */
};

/* ---- guest memory access from a hypercall (xen.c) ---- */
uint32_t xenm_to_guest(struct xenm_call *c, uint64_t va, const void *src, uint32_t len);
uint32_t xenm_from_guest(struct xenm_call *c, void *dst, uint64_t va, uint32_t len);
/* copy_to_guest of Xen's own making (C.5 areas): through via's page tables and software TLB,
 * lookups recorded on emit. */
uint32_t xenm_guest_write(struct xenm_vm *x, struct hv_vcpu *via, struct hv_vcpu *emit,
                          uint64_t va, const void *src, uint32_t len, struct xenm_copy *out);

/* ---- hcalls.c ---- */
void xenm_console_io(struct xenm_call *c);
void xenm_xen_version(struct xenm_call *c);
void xenm_sched_op(struct xenm_call *c);
void xenm_vcpu_op(struct xenm_call *c);
/* ---- memop.c ---- */
void xenm_memory_op(struct xenm_call *c);

/* ---- areas.c ---- */
void xenm_vm_assist(struct xenm_call *c);
/* VCPUOP 4 get_runstate_info, 5, 13, 14, 15 on vCPU id */
void xenm_area_vcpu_op(struct xenm_call *c, int cmd, unsigned id);
/* vcpu_runstate_change of vCPU id (VCPUOP up/down) */
void xenm_runstate_set(struct xenm_vm *x, unsigned id, int32_t state, uint64_t now);
void xenm_sched_switch(struct hv_vm *vm, struct hv_vcpu *prev, enum hv_desched why,
                       struct hv_vcpu *next);

/* ---- mig.c ---- */
int xenm_mig_begin(struct hv_vm *src, struct hv_vm *dst, char *result, size_t size);
int xenm_mig_dirty(struct hv_vm *src, int (*page)(void *ctx, uint64_t gpa), void *ctx);
int xenm_mig_finish(struct hv_vm *src, struct hv_vm *dst, char *result, size_t size);
void xenm_guest_write_op(struct hv_vcpu *v, uint64_t gpa, unsigned size);
/*
 * The restored domain's model state from the source's (docs/models/xen.md, Migration): what
 * Xen's save stream carries (vCPU context, which vCPUs are up, populated pages, the TSC info
 * with incarnation + 1) and the model's choices (software TLBs, the hypercall page's gfn, the
 * preemption stream); the rest starts as a new domain's, runstates at now. Pure: nr vCPUs.
 */
void xenm_mig_carry(const struct xenm_vm *src, struct xenm_vm *dst, unsigned nr, uint64_t now);

/* ---- stlb.c: VCPUOP stlb_insert / stlb_purge / stlb_share on vcpuid's table ---- */
void xenm_stlb_vcpu_op(struct xenm_call *c, int cmd, unsigned vcpuid);

#endif
