/*
 * info.h - KVM_GET_VM_INFO, hvsim's proposed VM info query, built on the VFIO INFO-ioctl
 * protocol (docs/sources.md D): a fixed struct that starts with argsz and flags, then a chain of
 * capabilities the caller finds through cap_offset and each header's next.
 *
 * The ABI (little-endian; docs/models/kvm.md has the byte layout and the rule table):
 *
 *   struct kvm_vm_info { u32 argsz; u32 flags; u32 cap_offset; u32 pad; };       16 bytes
 *   struct kvm_vm_info_cap_header { u16 id; u16 version; u32 next; };           8 bytes
 *
 * `next` and `cap_offset` are byte offsets from the start of the whole buffer; 0 ends the
 * chain. Each capability is rounded up to a multiple of 8 bytes and zero-filled; they follow
 * the fixed struct in the order they were added.
 *
 * The query itself is pure: it takes the capabilities as byte blobs and a user buffer, and
 * needs no VM. kvmm_info_steps (info.c) gathers the blobs from a running VM.
 */
#ifndef KVMM_INFO_H
#define KVMM_INFO_H

#include <stddef.h>
#include <stdint.h>

struct kvmm_slots;

#define KVMM_VM_INFO_SIZE        16u          /* sizeof(struct kvm_vm_info) */
#define KVMM_VM_INFO_FLAG_CAPS   (1u << 0)    /* a capability chain exists */
#define KVMM_VM_INFO_CAP_HDR     8u           /* sizeof(struct kvm_vm_info_cap_header) */

/* Capability ids of KVM_GET_VM_INFO, each at version 1. */
enum kvmm_vm_info_cap_id {
    KVMM_VM_INFO_CAP_SMCCC_HANDLED = 1,  /* arm64/arm: function-ID ranges handled in-kernel */
    KVMM_VM_INFO_CAP_X86_HYPERCALLS = 2, /* x86: KVM_HC_* numbers in-kernel / exiting */
    KVMM_VM_INFO_CAP_MEMSLOTS = 3,       /* one per address space, in address-space order */
};
#define KVMM_VM_INFO_CAP_VERSION 1u

/* One capability as the query receives it: the body that follows the 8-byte header. */
struct kvmm_info_cap {
    uint16_t id;
    uint16_t version;
    const uint8_t *body;   /* borrowed; NULL when len is 0 */
    size_t len;
};

/* What the ioctl returned and left in the fixed struct. */
struct kvmm_info_result {
    int err;               /* 0, -EINVAL or -EFAULT: the ioctl's result, data not failure */
    uint32_t argsz;        /* the fixed struct's fields as written back (err == 0 only) */
    uint32_t flags;
    uint32_t cap_offset;
    size_t caps_size;      /* bytes of the whole chain (0 without capabilities) */
    size_t written;        /* bytes of the user buffer the call wrote, from offset 0 */
};

/*
 * KVM_GET_VM_INFO on a user buffer of user_len bytes at `user`, whose first four bytes hold
 * the caller's argsz (as vfio_iommu_type1_get_info, with minsz = the fixed size):
 *   user_len < 16: the copy-in faults, EFAULT, nothing written;
 *   argsz < 16: EINVAL, nothing written;
 *   capabilities exist: flags gets CAPS;
 *     argsz < 16 + caps size: argsz raised to it, cap_offset 0, no capability copied;
 *     else the chain is copied to offset 16 and cap_offset is 16 (argsz unchanged); if the
 *     chain runs past user_len the copy faults: the bytes up to the end of the buffer are
 *     written, the fixed part is not, EFAULT;
 *   the 16 fixed bytes (argsz, flags, cap_offset, pad = 0) are written back.
 * Bytes the call does not write are left as they were. Returns 0 (the modeled result is in
 * *res) or HV_ENOMEM.
 */
int kvmm_info_query(const struct kvmm_info_cap *caps, size_t ncaps, uint8_t *user,
                    size_t user_len, struct kvmm_info_result *res);

/*
 * Builds the chain alone (what vfio_info_cap_add() and vfio_info_cap_shift() produce): the
 * capabilities in order, each header's next the absolute offset of the following one when
 * the chain is placed at byte `base` of the buffer, 0 for the last. Caller owns *out; release
 * with free(). *out is NULL and *size 0 when ncaps is 0. Returns 0 or HV_ENOMEM.
 */
int kvmm_info_chain(const struct kvmm_info_cap *caps, size_t ncaps, uint32_t base,
                    uint8_t **out, size_t *size);

/*
 * The body of a KVMM_VM_INFO_CAP_MEMSLOTS capability for address space as_id:
 * { u32 nr; u32 reserved; { u32 slot; u32 flags; u64 guest_phys_addr; u64 memory_size;
 * u64 userspace_addr; } [nr] }, slots in increasing guest_phys_addr order, slot = as << 16 |
 * id, flags the userspace-visible KVM_MEM_* bits. Caller owns *out; release with free().
 * Returns 0 or HV_ENOMEM.
 */
int kvmm_info_memslots_body(const struct kvmm_slots *s, unsigned as_id, uint8_t **out,
                            size_t *len);

#endif
