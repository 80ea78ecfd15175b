/*
 * kvm_int.h - what the files of the KVM model share: the per-VM state, the host buffers, and
 * the interface each mechanism uses to add its scenario steps.
 *
 * kvm.c owns the VM (sections, memslots mapped into the guest, MMIO exits) and dispatches
 * steps to the step sets listed in it; each mechanism lives in its own file:
 *   slots_steps.c  set_memory_region(2), dirty log and enable_cap steps (A.3-A.7)
 *   x86.c          x86 KVM hypercalls (B.1)
 *   xif.c          the 2009 xinterface series and mainline's cached accessors (E), and
 *                  KVM's own guest writes as a step (kvm_write_guest)
 *   arm.c          arm64/AArch32 HVC and SMC: PSCI, SMCCC arch calls, the SMCCC filter and
 *                  forwarding to the VMM (B.2-B.4)
 *   ring_steps.c   the dirty ring in the VM: pushes, KVM_EXIT_DIRTY_RING_FULL, the VMM's
 *                  harvest and KVM_RESET_DIRTY_RINGS, their steps (A.7); ring.c is one ring
 *   caps.c         KVM_CHECK_EXTENSION (the check_extension step is in slots_steps.c)
 *   mig.c          pre-copy live migration: dirty logging on, syncs, the destination (A.8)
 */
#ifndef HV_MODELS_KVM_INT_H
#define HV_MODELS_KVM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/kvm/memslot.h"
#include "models/kvm/ring.h"
#include "models/kvm/vmm.h"
#include "models/kvm/xif.h"
#include "sim/model.h"
#include "trace/event.h"

#define KVMM_MAX_MMIO_ANSWERS 256
#define KVMM_INTERNAL_ERROR_EMULATION 1  /* kvm_run.internal.suberror (A.6) */

struct kvmm_mmio_answer {
    uint64_t gpa;
    uint64_t value;
};

/* A vmm.hypercall answer: ret (x86: RAX on completion); x0..x3 (Arm: what the VMM writes
 * with KVM_SET_ONE_REG, or the RFC's args[0..3]), bit i of set saying x[i] was given. */
struct kvmm_hc_answer {
    uint64_t nr;
    uint64_t ret;
    uint64_t x[4];
    unsigned set;
};

/* One range of the SMCCC filter (KVM_ARM_VM_SMCCC_FILTER), [base, base + nr). */
struct kvmm_filter_range {
    uint32_t base;
    uint32_t nr;
    uint8_t action;              /* 0 HANDLE, 1 DENY, 2 FWD_TO_USER */
};
#define KVMM_MAX_FILTER_RANGES 64

/* Receives each translation the model makes (v: the vCPU it is made for, NULL for the host).
 * Returns 0 or a simulator error. */
typedef int kvmm_lookup_fn(void *ctx, struct hv_vcpu *v, const struct hv_ev_kvm_lookup *ev);

/* One slot as sim/ last saw it: the RAM region mapped for it (address space 0, a usable slot
 * inside a buffer), and whether it logs dirty pages. */
struct kvmm_synced {
    uint64_t gpa, size;
    uint8_t *host;
    bool mapped, readonly, logs;
};

struct kvmm_vm {
    struct hv_vm *vm;            /* the VM this is the state of */
    struct kvmm_slots *slots;
    uint64_t exit_hypercall;     /* KVM_CAP_EXIT_HYPERCALL: numbers that exit to the VMM */
    bool amd;                    /* kvm.vendor */
    bool fix_insn;               /* kvm.fix_hypercall_insn */
    bool bug_skip_dirty;         /* kvm.bug.kvm_write_skips_dirty */
    bool bug_x0_unset;           /* kvm.bug.vmm_smccc_x0_unset (arm.c forward_mainline) */
    struct kvmm_hc_answer hc_answers[64];
    size_t nhc;
    struct kvmm_buffer buf[KVMM_MAX_BUFFERS];
    size_t nbuf;
    struct kvmm_mmio_answer answers[KVMM_MAX_MMIO_ANSWERS];
    size_t nanswers;
    /* what sim/ holds for each slot (as_id * max_user_slots + id): its RAM region (address
     * space 0) and whether it logs; kvm.c keeps it in step slot by slot */
    struct kvmm_synced *synced;
    size_t nlogging;             /* slots of any address space with LOG_DIRTY_PAGES */
    bool tracking;
    /* SMCCC filter (arm.c); the two reserved architecture ranges are entries like any other */
    struct kvmm_filter_range filter[KVMM_MAX_FILTER_RANGES];
    size_t nfilter;
    bool rfc_mode;               /* kvm.arm_forward = rfc2019: no filter, the RFC's cap */
    unsigned rfc_forward;        /* KVM_CAP_FORWARD_HYPERCALL: bit 0 on, bit 1 EXCL_PSCI */
    uint64_t power_off;          /* vmm.power_off: vCPUs created with KVM_ARM_VCPU_POWER_OFF */
    bool nisv_to_user;           /* KVM_CAP_ARM_NISV_TO_USER enabled (arm.c) */
    bool nisv_skip;              /* vmm.nisv: skip (else inject_dabt) */
    /* a set_memory_region step with `window`: its DELETE/MOVE INVALID window is open until
     * the hv_vm_after callback window_id closes it (slots_steps.c) */
    bool window_open;
    uint64_t window_id;
    uint32_t window_slot;
    struct kvmm_set_result window_res;
    /* each vCPU's last-used slot (kvm_vcpu_gfn_to_memslot(), A.5) */
    struct kvmm_vcpu_slot_cache vcpu_slots[HV_MAX_VCPUS];
    struct kvmm_xif xif;         /* xif.c; kvm.xinterface */
    /* the dirty ring (ring_steps.c), enabled by vmm.dirty_ring before the vCPUs exist */
    bool vcpus_created;          /* KVM_CREATE_VCPU done: at the end of vm_init */
    uint32_t ring_bytes;         /* kvm->dirty_ring_size; 0: no ring */
    bool ring_reap_all;          /* vmm.dirty_ring.full: reap every ring (QEMU) or the exiting one */
    struct kvmm_ring rings[HV_MAX_VCPUS];
    bool collecting;             /* a migration runs: the VMM keeps the pages it harvests */
    bool collect_oom;
    uint64_t *collected;         /* their GPAs (address space 0), unsorted, maybe repeated */
    size_t ncollected, capcollected;
    kvmm_lookup_fn *on_lookup;   /* NULL: translations are not reported */
    void *on_lookup_ctx;
};

/*
 * A set of scenario steps. check: HV_ENOENT if the action is not in the set, else 0 or a
 * located error. run: HV_ENOENT if not in the set; else writes the JSON result and returns 0,
 * HV_ESCENARIO when the step's expect does not hold, or an error.
 */
struct kvmm_steps {
    int (*check)(const char *action, const struct hv_node *args, const struct hv_node *expect,
                 struct hv_diag *d);
    int (*run)(struct hv_vm *vm, struct kvmm_vm *k, const char *action,
               const struct hv_node *args, const struct hv_node *expect, char *result,
               size_t size);
};
extern const struct kvmm_steps kvmm_slot_steps;
extern const struct kvmm_steps kvmm_arm_steps;
extern const struct kvmm_steps kvmm_info_steps; /* info.c: vm_info (KVM_GET_VM_INFO, D) */
extern const struct kvmm_steps kvmm_xif_steps;
extern const struct kvmm_steps kvmm_ring_steps; /* harvest_dirty_ring, reset_dirty_rings */

/* ---- kvm.c ---- */

/* Host pointer for [hva, hva + len) if it lies inside one buffer, else NULL. */
uint8_t *kvmm_host_range(struct kvmm_vm *k, uint64_t hva, uint64_t len);
/* Brings the sim/ regions and write tracking in step with every slot. O(max slots). */
int kvmm_sync_regions(struct hv_vm *vm, struct kvmm_vm *k);
/* The same for one slot (as_id << 16 | id) after it changed: O(log regions). */
int kvmm_sync_slot(struct hv_vm *vm, struct kvmm_vm *k, uint32_t slot);
/* A guest store into RAM (the guest_write op): mark_page_dirty for each page it touches. */
void kvmm_guest_write(struct hv_vcpu *v, uint64_t gpa, unsigned size);
/*
 * Reports one translation of gfn in address space as (a kvm_lookup event through
 * k->on_lookup): who made it, which cache or search answered (via), and the slot found
 * (NULL: none). Returns 0 or a simulator error.
 */
int kvmm_report_lookup(struct kvmm_vm *k, struct hv_vcpu *v, const char *user, unsigned as,
                       uint64_t gfn, const char *via, const struct kvmm_memslot *slot);
/*
 * kvm_vcpu_write_guest(): KVM writes len bytes at gpa for vCPU v, page by page: the slot
 * through the vCPU's last-used-slot cache, its host address, the copy, and
 * mark_page_dirty_in_slot() (skipped under kvm.bug.kvm_write_skips_dirty). *err is the
 * kernel's result: 0, or -EFAULT at the first page with no usable slot, a read-only slot or
 * host memory that is not backed (earlier pages stay written); *not_written the bytes left.
 * Each page is a kvm_lookup event. Returns 0 or a simulator error.
 */
int kvmm_vcpu_write_guest(struct kvmm_vm *k, struct hv_vcpu *v, const char *user, uint64_t gpa,
                          const void *data, size_t len, int *err, size_t *not_written);

/* ---- ring_steps.c ---- */

/*
 * KVM_ENABLE_CAP(cap, args0) for KVM_CAP_DIRTY_LOG_RING or _ACQ_REL: *err 0 or -errno, *rule
 * the check that decided (ring.h); on success every vCPU's ring exists (nr_vcpus of them).
 * Returns 0 or a simulator error.
 */
int kvmm_ring_enable_cap(struct kvmm_vm *k, unsigned nr_vcpus, uint64_t cap, uint64_t args0,
                         int *err, const char **rule);
void kvmm_ring_vm_fini(struct kvmm_vm *k);
/* A mark for vCPU v (kvmm_dirty_mark_vcpu(), kvmm_dirty_guest_store()): into v's ring. */
void kvmm_ring_push_vcpu(struct kvmm_vm *k, struct hv_vcpu *v, uint32_t slot, uint64_t offset);
/* KVM_RESET_DIRTY_RINGS: the entries reset in all rings, or -EINVAL without a ring. */
int kvmm_ring_reset_all(struct kvmm_vm *k, unsigned nr_vcpus);
/*
 * The VMM reaps (QEMU kvm_dirty_ring_reap()): harvests every ring (all) or exiting's, then
 * KVM_RESET_DIRTY_RINGS if it harvested anything; a kvm_dirty_ring event (by: "exit",
 * "migrate"), the exiting vCPU's or the VM's. Returns 0 or a simulator error.
 */
int kvmm_ring_reap(struct kvmm_vm *k, struct hv_vcpu *exiting, bool all, const char *by);
/* Before v enters the guest: KVM_EXIT_DIRTY_RING_FULL and the VMM's reap if its ring asks
 * for it; true if so. */
bool kvmm_ring_enter(struct kvmm_vm *k, struct hv_vcpu *v);
void kvmm_vcpu_enter(struct hv_vcpu *v);
/* While a migration runs (k->collecting): the VMM notes a dirty page of address space 0. */
void kvmm_ring_note_page(struct kvmm_vm *k, uint64_t gpa);
/* The pages the VMM noted since the last call, once each in increasing order. */
int kvmm_ring_collected(struct kvmm_vm *k, int (*page)(void *ctx, uint64_t gpa), void *ctx);

/* ---- mig.c: the migration ops (sim/model.h) ---- */
int kvmm_mig_begin(struct hv_vm *src, struct hv_vm *dst, char *result, size_t size);
int kvmm_mig_dirty(struct hv_vm *src, int (*page)(void *ctx, uint64_t gpa), void *ctx);
int kvmm_mig_finish(struct hv_vm *src, struct hv_vm *dst, char *result, size_t size);

/* ---- step helpers (slots_steps.c) ---- */

/* A memslot ioctl waits for an open INVALID window (slots_lock): it closes first. */
int kvmm_window_wait(struct hv_vm *vm, struct kvmm_vm *k);
/* Checks an expect map against the allowed keys (NULL expect is fine). */
int kvmm_check_expect_keys(const struct hv_node *e, const char *const *keys,
                           struct hv_diag *d);

/* ---- x86.c ---- */
enum hv_exit_action kvmm_x86_hypercall(struct hv_vcpu *v, struct hv_exit_hypercall *e);
/* KVM_EXIT_HYPERCALL_LONG_MODE: bit 0 of kvm_run.hypercall.flags (arch/x86/include/asm/
 * kvm_host.h); bits 31:1 must be zero. */
#define KVMM_EXIT_HYPERCALL_LONG_MODE 1ULL
/* Per CPU mode (struct hv_x86_mode.mode: 8 is 64-bit mode, is_64_bit_hypercall()): the
 * kvm_run.hypercall.flags of a KVM_EXIT_HYPERCALL made in mode, */
uint64_t kvmm_x86_hc_flags(unsigned mode);
/* nr and a0..a3 from rax, rbx, rcx, rdx, rsi: each & 0xffffffff outside 64-bit mode, */
void kvmm_x86_hc_args(unsigned mode, const uint64_t regs[5], uint64_t out[5]);
/* and RAX after the call (in-kernel, or on completion of an exit): ret, or (u32)ret
 * zero-extended (kvm_rax_write() of the truncated value) outside 64-bit mode. */
uint64_t kvmm_x86_hc_rax(unsigned mode, int64_t ret);
/*
 * The KVM_HC_* numbers kvmm_x86_hypercall() answers in-kernel with a result other than
 * -KVM_ENOSYS, as a bitmask: only KVM_HC_VAPIC_POLL_IRQ (1). KICK_CPU, SEND_IPI and
 * SCHED_YIELD need CPUID features the model does not expose; MAP_GPA_RANGE exits or is ENOSYS.
 */
#define KVMM_X86_HC_IN_KERNEL (1ull << 1)
enum { KVM_HC_MAP_GPA_RANGE_NR = 12 };

/* ---- arm.c ---- */

/* SMCCC function IDs first..last, inclusive. */
struct kvmm_fn_range {
    uint32_t first, last;
};
/*
 * The function IDs this VM's KVM answers in-kernel now (arm64 and AArch32 guests): the
 * default-allowed set of B.3 (SMCCC_VERSION, ARCH_FEATURES, standard-secure functions 0-0x1f
 * of both widths, KVM's PSCI 0.1 IDs) minus the filter's DENY and FWD_TO_USER ranges, in
 * increasing order, merged. Writes at most max ranges; returns how many there are (may exceed
 * max). 0 on x86.
 */
enum hv_exit_action kvmm_arm_hypercall(struct hv_vcpu *v, struct hv_exit_hypercall *e);
bool kvmm_arm_vcpu_starts(struct hv_vcpu *v);
/*
 * A data abort without a valid syndrome (A.6): KVM_RUN fails with -ENOSYS, or with
 * KVM_CAP_ARM_NISV_TO_USER a KVM_EXIT_ARM_NISV, which the VMM answers as vmm.nisv says.
 */
enum hv_exit_action kvmm_arm_dabt_nisv(struct hv_vcpu *v, struct hv_exit_dabt *e);
/*
 * arm_nisv.esr_iss for such an abort at ipa: WnR and the stage-2 fault status code, a
 * translation fault at the level where KVM's stage-2 walk finds no entry (every page of every
 * usable AS-0 slot taken as mapped with 4 KiB pages), or a level-3 permission fault for a
 * store to a read-only slot.
 */
uint64_t kvmm_arm_nisv_iss(const struct kvmm_slots *slots, uint64_t ipa, bool wnr,
                           bool permission);
/* Parses vmm.nisv: inject_dabt (false) or skip (true). */
int kvmm_arm_vmm_nisv(const struct hv_node *n, bool *skip, struct hv_diag *d);
/*
 * KVM_ARM_VM_SMCCC_FILTER's insertion (kvm_smccc_set_filter) into f[0..*n) (capacity
 * KVMM_MAX_FILTER_RANGES; the two reserved architecture ranges are added first when *n is 0).
 * ran: a vCPU has run. Returns 0 or -EINVAL, -EBUSY, -EEXIST (-ENOMEM past the capacity);
 * *rule names the rule that decided.
 */
int kvmm_smccc_filter_add(struct kvmm_filter_range *f, size_t *n, uint32_t base, uint32_t nr,
                          uint64_t action, bool pad_zero, bool ran, const char **rule);
size_t kvmm_smccc_handled(const struct hv_vm *vm, const struct kvmm_vm *k,
                          struct kvmm_fn_range *out, size_t max);
/* The same for the filter f[0..nf), whatever the arch. */
size_t kvmm_smccc_handled_ranges(const struct kvmm_filter_range *f, size_t nf,
                                 struct kvmm_fn_range *out, size_t max);

#endif
