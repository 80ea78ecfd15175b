/*
 * kvm_uapi.h - <linux/kvm.h> as the real-kernel backend needs it.
 *
 * Debian's linux-libc-dev may be older than the kernels hvsim runs on (bookworm ships the
 * v6.1 headers). What v6.1 lacks is defined here from Linux v6.12's
 * include/uapi/linux/kvm.h, each only when the installed header does not define it, so a
 * newer header is used as is. The layouts are the kernel ABI: a newer kernel keeps them.
 */
#ifndef KVMH_KVM_UAPI_H
#define KVMH_KVM_UAPI_H

#include <linux/kvm.h>

#ifndef KVM_CAP_USER_MEMORY2
/* include/uapi/linux/kvm.h (v6.8+): KVM_SET_USER_MEMORY_REGION2 and its structure. */
#define KVM_CAP_USER_MEMORY2 231
struct kvm_userspace_memory_region2 {
    __u32 slot;
    __u32 flags;
    __u64 guest_phys_addr;
    __u64 memory_size;
    __u64 userspace_addr;
    __u64 guest_memfd_offset;
    __u32 guest_memfd;
    __u32 pad1;
    __u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif

#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD (1UL << 2)
#endif

#ifndef KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP
#define KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP 225
#endif

#endif
