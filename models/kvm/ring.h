/*
 * ring.h - one vCPU's dirty ring (KVM_CAP_DIRTY_LOG_RING[_ACQ_REL], api.rst 8.29, A.7) as
 * Linux v6.12 keeps it (virt/kvm/dirty_ring.c), together with what the VMM keeps of it: the
 * array of struct kvm_dirty_gfn the VMM maps from the vCPU fd, the kernel's dirty and reset
 * indices, the soft limit and its KVM_REQ_DIRTY_RING_SOFT_FULL request, and the VMM's fetch
 * index (QEMU's kvm_fetch_index).
 *
 * A pure data structure: no VM. Which page a write pushes, and re-arming its tracking when
 * the VMM resets, belong to memslot.h (kvmm_dirty_mark_vcpu(), kvmm_dirty_guest_store(),
 * kvmm_dirty_ring_rearm()).
 */
#ifndef KVMM_RING_H
#define KVMM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVMM_DIRTY_GFN_F_DIRTY 1u   /* KVM_DIRTY_GFN_F_DIRTY: pushed, not yet harvested */
#define KVMM_DIRTY_GFN_F_RESET 2u   /* KVM_DIRTY_GFN_F_RESET: harvested, waiting for a reset */

/* struct kvm_dirty_gfn (include/uapi/linux/kvm.h). */
struct kvmm_dirty_gfn {
    uint32_t flags;
    uint32_t slot;               /* as_id << 16 | id */
    uint64_t offset;             /* gfn - the slot's base_gfn */
};

/*
 * The checks of KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING[_ACQ_REL]) (virt/kvm/kvm_main.c), in
 * their order, declared once: X(name, errno, text). NO_CAP is kvm_vm_ioctl_enable_cap_generic()'s
 * (the capability must be reported); the others are kvm_vm_ioctl_enable_dirty_log_ring()'s.
 */
#define KVMM_RING_RULE_MAP(X)                                                                \
    X(OK,          0,      "accepted")                                                       \
    X(NO_CAP,      EINVAL, "the kernel lacks this ring (DIRTY_LOG_RING on arm64)")           \
    X(NOT_POW2,    EINVAL, "size 0 or not a power of two")                                   \
    X(TOO_SMALL,   EINVAL, "smaller than the reserved entries or a page")                    \
    X(TOO_LARGE,   E2BIG,  "larger than KVM_DIRTY_RING_MAX_ENTRIES entries")                 \
    X(ALREADY_SET, EINVAL, "the ring size is already set")                                   \
    X(VCPUS,       EINVAL, "a vCPU was already created")

enum kvmm_ring_rule {
#define X(name, eno, text) KVMM_RING_RULE_##name,
    KVMM_RING_RULE_MAP(X)
#undef X
};
const char *kvmm_ring_rule_name(enum kvmm_ring_rule r);

/*
 * kvm_vm_ioctl_enable_dirty_log_ring(args0) on a VM whose ring size is already (0: not) set,
 * with or without vCPUs: returns 0 or -errno, *rule the check that decided. The size is the
 * u32 the kernel takes: args0's low 32 bits. rsvd is kvm_dirty_ring_get_rsvd_entries().
 */
int kvmm_ring_enable(uint64_t args0, uint32_t rsvd, uint32_t already, bool vcpus_created,
                     enum kvmm_ring_rule *rule);

struct kvmm_ring {
    struct kvmm_dirty_gfn *gfns; /* size entries, zeroed (flags 00) at creation */
    uint32_t size;               /* entries, a power of two */
    uint32_t soft_limit;         /* size - reserved entries */
    uint32_t dirty_index;        /* free-running: where the next push goes */
    uint32_t reset_index;        /* free-running: the next entry a reset looks at */
    uint32_t fetch_index;        /* the VMM's: the next entry it harvests */
    bool request;                /* KVM_REQ_DIRTY_RING_SOFT_FULL is pending */
    uint64_t overflows;          /* pushes onto a full ring (the kernel's WARN_ON_ONCE) */
};

/* kvm_dirty_ring_alloc(): bytes as accepted by kvmm_ring_enable(). 0 or HV_ENOMEM. Release
 * with kvmm_ring_fini() (also fine on a zeroed ring). */
int kvmm_ring_init(struct kvmm_ring *r, uint32_t bytes, uint32_t rsvd);
void kvmm_ring_fini(struct kvmm_ring *r);
/* Checks the invariants listed at the top of ring.c; returns true (for assert()). */
bool kvmm_ring_check(const struct kvmm_ring *r);

/* Entries pushed and not yet reset (dirty_index - reset_index). */
uint32_t kvmm_ring_used(const struct kvmm_ring *r);
/* kvm_dirty_ring_soft_full(): used >= soft_limit. */
bool kvmm_ring_soft_full(const struct kvmm_ring *r);
/*
 * kvm_dirty_ring_push(): writes the entry at dirty_index (flags DIRTY) and advances it; the
 * request is made when the ring is soft-full afterwards. A push onto a full ring overwrites
 * the oldest entry not yet reset (counted in overflows, as the kernel only warns).
 */
void kvmm_ring_push(struct kvmm_ring *r, uint32_t slot, uint64_t offset);
/*
 * kvm_dirty_ring_check_request(), before the vCPU enters the guest: true if the request was
 * pending and the ring is still soft-full (KVM_RUN returns KVM_EXIT_DIRTY_RING_FULL; the
 * request stays pending); a pending request on a ring that is no longer soft-full is dropped.
 */
bool kvmm_ring_check_request(struct kvmm_ring *r);
/*
 * The VMM harvests (QEMU's kvm_dirty_ring_reap_one()): from its fetch index, each entry whose
 * flags are exactly DIRTY, in ring order, is copied to out (when fewer than max were) and its
 * flags set to RESET; stops at the first entry that is not. Returns how many it harvested.
 */
size_t kvmm_ring_harvest(struct kvmm_ring *r, struct kvmm_dirty_gfn *out, size_t max);
/*
 * The ring's part of KVM_RESET_DIRTY_RINGS (kvm_dirty_ring_reset()): from reset_index, each
 * entry with RESET set is made unused (flags 0) and counted; consecutive entries of one slot
 * within 64 pages of each other are coalesced as the kernel does, and each run goes to
 * rearm(ctx, slot, offset, mask) (kvm_reset_dirty_gfn()). Returns the count.
 */
typedef void kvmm_ring_rearm_fn(void *ctx, uint32_t slot, uint64_t offset, uint64_t mask);
uint32_t kvmm_ring_reset(struct kvmm_ring *r, kvmm_ring_rearm_fn *rearm, void *ctx);

#endif
