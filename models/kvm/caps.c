/*
 * caps.c - KVM_CHECK_EXTENSION as Linux v6.12 answers it on a VM fd (caps.h).
 */
#include "models/kvm/caps.h"

#include <stddef.h>
#include <string.h>

static const struct {
    uint64_t nr;
    const char *name;
} cap_names[] = {
#define X(NAME, nr, name) { nr, name },
    KVMM_CAP_MAP(X)
#undef X
};

int kvmm_cap_number(const char *name)
{
    for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
        if (strcmp(cap_names[i].name, name) == 0)
            return (int)cap_names[i].nr;
    return -1;
}

const char *kvmm_cap_name(uint64_t cap)
{
    for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
        if (cap_names[i].nr == cap)
            return cap_names[i].name;
    return NULL;
}

int kvmm_check_extension(const struct kvmm_slots_params *p, uint64_t cap)
{
    bool x86 = p->hooks == KVMM_HOOKS_X86;
    const int ring_max = (int)(KVMM_DIRTY_RING_MAX_ENTRIES * KVMM_DIRTY_GFN_SIZE);
    switch (cap) {
    /* kvm_vm_ioctl_check_extension_generic() */
    case KVMM_CAP_USER_MEMORY:
    case KVMM_CAP_USER_MEMORY2:
        return 1;
    case KVMM_CAP_MANUAL_DIRTY_LOG_PROTECT2:   /* KVM_DIRTY_LOG_MANUAL_CAPS */
        return (int)p->manual_caps;
    case KVMM_CAP_MULTI_ADDRESS_SPACE:
        /* compiled in only where KVM_MAX_NR_ADDRESS_SPACES > 1 (x86 with CONFIG_KVM_SMM); with
         * a VM: kvm_arch_nr_memslot_as_ids(). arm64 and x86 without SMM fall through to the
         * arch default, 0. */
        return x86 && !p->x86_no_smm ? (int)p->nr_as : 0;
    case KVMM_CAP_NR_MEMSLOTS:                 /* KVM_USER_MEM_SLOTS */
        return (int)p->max_user_slots;
    case KVMM_CAP_DIRTY_LOG_RING:              /* CONFIG_HAVE_KVM_DIRTY_RING_TSO: x86 only */
        return x86 ? ring_max : 0;
    case KVMM_CAP_DIRTY_LOG_RING_ACQ_REL:      /* CONFIG_HAVE_KVM_DIRTY_RING_ACQ_REL: both */
        return ring_max;
    case KVMM_CAP_DIRTY_LOG_RING_WITH_BITMAP:  /* CONFIG_NEED_KVM_DIRTY_RING_WITH_BITMAP: arm64 */
        return x86 ? 0 : 1;
    /* the arch's kvm_vm_ioctl_check_extension() */
    case KVMM_CAP_READONLY_MEM:                /* x86: kvm_arch_has_readonly_mem(); arm64: 1 */
        return p->readonly_mem ? 1 : 0;
    case KVMM_CAP_EXIT_HYPERCALL:              /* x86: KVM_EXIT_HYPERCALL_VALID_MASK */
        return x86 ? (int)KVMM_EXIT_HYPERCALL_VALID_MASK : 0;
    case KVMM_CAP_ARM_NISV_TO_USER:            /* arm64: 1 */
        return x86 ? 0 : 1;
    default:
        return 0;
    }
}
