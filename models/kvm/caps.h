/*
 * caps.h - the KVM capabilities the model knows, by number and name, and what
 * KVM_CHECK_EXTENSION on a VM fd answers for each, as Linux v6.12 does
 * (virt/kvm/kvm_main.c kvm_vm_ioctl_check_extension_generic(), then the arch's
 * kvm_vm_ioctl_check_extension(): arch/x86/kvm/x86.c, arch/arm64/kvm/arm.c).
 *
 * A pure function of the VM's shape (struct kvmm_slots_params): no VM, no state.
 */
#ifndef KVMM_CAPS_H
#define KVMM_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "models/kvm/memslot.h"

/*
 * X(NAME, number, name): the KVM_CAP_NAME numbers of include/uapi/linux/kvm.h (v6.12); name
 * is the lowercase spelling scenarios use (check_extension, enable_cap).
 */
#define KVMM_CAP_MAP(X)                                                                      \
    X(USER_MEMORY,                3,   "user_memory")                                        \
    X(NR_MEMSLOTS,                10,  "nr_memslots")                                        \
    X(READONLY_MEM,               81,  "readonly_mem")                                       \
    X(MULTI_ADDRESS_SPACE,        118, "multi_address_space")                                \
    X(MANUAL_DIRTY_LOG_PROTECT2,  168, "manual_dirty_log_protect2")                          \
    X(ARM_NISV_TO_USER,           177, "arm_nisv_to_user")                                   \
    X(DIRTY_LOG_RING,             192, "dirty_log_ring")                                     \
    X(EXIT_HYPERCALL,             201, "exit_hypercall")                                     \
    X(DIRTY_LOG_RING_ACQ_REL,     223, "dirty_log_ring_acq_rel")                             \
    X(DIRTY_LOG_RING_WITH_BITMAP, 225, "dirty_log_ring_with_bitmap")                         \
    X(USER_MEMORY2,               231, "user_memory2")

enum kvmm_cap {
#define X(NAME, nr, name) KVMM_CAP_##NAME = nr,
    KVMM_CAP_MAP(X)
#undef X
};

/* struct kvm_dirty_gfn (include/uapi/linux/kvm.h) is 16 bytes; a ring holds at most
 * KVM_DIRTY_RING_MAX_ENTRIES of them (include/linux/kvm_host.h). */
#define KVMM_DIRTY_GFN_SIZE         16u
#define KVMM_DIRTY_RING_MAX_ENTRIES 65536u
#define KVMM_DIRTY_RING_RSVD_ENTRIES 64u
/* KVM_EXIT_HYPERCALL_VALID_MASK (arch/x86/kvm/x86.c): 1 << KVM_HC_MAP_GPA_RANGE */
#define KVMM_EXIT_HYPERCALL_VALID_MASK (1u << 12)

/* The number of a capability name, or -1. */
int kvmm_cap_number(const char *name);
/* The name of a capability number, or NULL for one the model does not know. */
const char *kvmm_cap_name(uint64_t cap);

/*
 * KVM_CHECK_EXTENSION(cap) on the fd of a VM of shape p (p->hooks tells x86 from arm64; an
 * AArch32 guest's VM is an arm64 one). Unknown numbers give 0, as in the kernel.
 */
int kvmm_check_extension(const struct kvmm_slots_params *p, uint64_t cap);

#endif
