/*
 * kvmhost.h - /dev/kvm as hvsim's real-kernel backend drives it: the kernel's own facts
 * (uname, KVM_CHECK_EXTENSION, KVM_GET_SUPPORTED_CPUID), one VM with its memslots, dirty log
 * and dirty rings, and x86-64 vCPUs started in long mode the way KVM selftests start theirs
 * (tools/testing/selftests/kvm/lib/x86_64/processor.c vcpu_setup()), each KVM_RUN bounded by
 * a timer signal.
 *
 * What the kernel answers is data: the ioctl wrappers return 0 (or a count, or a value) or
 * -errno exactly as the kernel gave it. hvsim's own failures (no memory, /dev/kvm missing, an
 * ioctl that sets the VM up failing) are HV_E* codes with a detail (hv_error_detail()).
 *
 * Invariants of struct kvmh:
 *   1. vm_fd and sys_fd are open for its whole life; vcpu[i] is set up for i < nr_vcpus.
 *   2. A vCPU's kvm_run and, once a dirty ring is on, its ring stay mapped until destroy.
 *   3. At most one KVM_RUN is in progress in the process (kvmh_running), the one the timer
 *      signal interrupts.
 */
#ifndef KVMH_KVMHOST_H
#define KVMH_KVMHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmhost/kvm_uapi.h"
#include "models/kvm/memslot.h"
#include "sim/hv.h"

/* ---- the kernel ---- */

/* The capabilities the KVM model knows (models/kvm/caps.h), as this kernel answers them. */
#define KVMH_MAX_CAPS 32

struct kvmh_kernel {
    char release[65];            /* uname -r */
    char version[65];            /* uname -v */
    char machine[65];            /* uname -m */
    char vendor[13];             /* KVM_GET_SUPPORTED_CPUID leaf 0: "AuthenticAMD", ... */
    unsigned phys_bits;          /* leaf 0x80000008 EAX[7:0]: PhysAddrSize */
    unsigned guest_phys_bits;    /* EAX[23:16]: GuestPhysAddrSize, 0 without TDP */
    size_t ncaps;
    struct {
        unsigned nr;
        const char *name;        /* static */
        int value;               /* KVM_CHECK_EXTENSION on a VM fd */
    } caps[KVMH_MAX_CAPS];
};

/*
 * Whether this process can use /dev/kvm (present, opened read-write, KVM_GET_API_VERSION 12,
 * an x86-64 host). 0, or HV_EUNSUPP with why filled ("/dev/kvm: Permission denied").
 */
int kvmh_usable(char *why, size_t size);
/* What the kernel says about itself, asked on a scratch VM. HV_EUNSUPP if unusable. */
int kvmh_kernel_info(struct kvmh_kernel *out);
/* The value of capability nr in k, or -1 if it was not asked. */
int kvmh_kernel_cap(const struct kvmh_kernel *k, unsigned nr);
/* k's capabilities as a JSON object {"name": value, ...}, in caps.h order. Returns the
 * length (as snprintf). */
int kvmh_kernel_caps_json(const struct kvmh_kernel *k, char *buf, size_t size);

/* ---- one VM ---- */

struct kvmh;

/* KVM_CREATE_VM (type 0). Caller owns *out; release with kvmh_destroy(). */
int kvmh_create(struct kvmh **out);
void kvmh_destroy(struct kvmh *h);

/* KVM_CHECK_EXTENSION on the VM fd: the kernel's value, or -errno. */
int kvmh_check_extension(struct kvmh *h, uint64_t cap);
/* KVM_SET_USER_MEMORY_REGION (v2 false) or _REGION2: 0 or -errno. */
int kvmh_set_region(struct kvmh *h, bool v2, const struct kvmm_region *r);
/* KVM_GET_DIRTY_LOG into bitmap: 0 or -errno. */
int kvmh_get_dirty_log(struct kvmh *h, uint32_t slot, void *bitmap);
/* KVM_CLEAR_DIRTY_LOG: 0 or -errno. */
int kvmh_clear_dirty_log(struct kvmh *h, uint32_t slot, uint64_t first_page, uint32_t num_pages,
                         void *bitmap);
/* KVM_ENABLE_CAP on the VM fd: 0 or -errno. A dirty-ring capability accepted here maps each
 * vCPU's ring as it is created (ring_bytes = args0). */
int kvmh_enable_cap(struct kvmh *h, uint32_t cap, uint64_t args0, uint32_t flags);
/* KVM_RESET_DIRTY_RINGS: the entries reset, or -errno. */
int kvmh_reset_dirty_rings(struct kvmh *h);
/* The dirty ring size in bytes, 0 without a ring. */
uint32_t kvmh_ring_bytes(const struct kvmh *h);

/* ---- vCPUs ---- */

/*
 * The pages the host writes into guest memory to start a vCPU in long mode: identity-mapped
 * 4-level tables for the low 4 GiB (2 MiB pages, present, writable, accessed and dirty), a
 * GDT (null, 0x08 64-bit code, 0x10 data) and a zeroed TSS (selector 0x18).
 */
enum { KVMH_BOOT_PML4, KVMH_BOOT_PDPT, KVMH_BOOT_PD0, KVMH_BOOT_GDT = KVMH_BOOT_PD0 + 4,
       KVMH_BOOT_TSS, KVMH_BOOT_PAGES };
/* Fills pages[0 .. KVMH_BOOT_PAGES * 4096), which the guest sees at gpa (page aligned). */
void kvmh_boot_pages(uint8_t *pages, uint64_t gpa);
/* The special registers of a vCPU started on those pages (selftests' vcpu_setup()): CR0 PE |
 * NE | PG, CR4 PAE | OSFXSR, EFER LME | LMA | NX, flat 64-bit CS 0x08, data 0x10, TR 0x18. */
void kvmh_boot_sregs(struct kvm_sregs *s, uint64_t gpa);

/*
 * KVM_CREATE_VCPU id, its kvm_run mapped, CPUID from KVM_GET_SUPPORTED_CPUID, started in long
 * mode on the boot pages at boot_gpa with RIP = entry, RDI = id, RSI = nr, RFLAGS = 2. ids
 * must be created in order 0, 1, ...
 */
int kvmh_vcpu_create(struct kvmh *h, unsigned id, uint64_t boot_gpa, uint64_t entry,
                     uint64_t nr);
/* Borrowed; valid until kvmh_destroy(). */
struct kvm_run *kvmh_vcpu_run_area(struct kvmh *h, unsigned id);
/* The vCPU's dirty ring (entries of it), or NULL without one. Borrowed. */
struct kvm_dirty_gfn *kvmh_vcpu_ring(struct kvmh *h, unsigned id, uint32_t *entries);
/*
 * KVM_RUN with a timer that interrupts it after slice_ms: 0 when it returned with an exit,
 * -EINTR when the slice ran out (exit_reason KVM_EXIT_INTR), or the ioctl's -errno.
 */
int kvmh_vcpu_run(struct kvmh *h, unsigned id, unsigned slice_ms);
int kvmh_vcpu_get_regs(struct kvmh *h, unsigned id, struct kvm_regs *r);
int kvmh_vcpu_set_regs(struct kvmh *h, unsigned id, const struct kvm_regs *r);
int kvmh_vcpu_get_sregs(struct kvmh *h, unsigned id, struct kvm_sregs *s);

/*
 * A vCPU register by the name hvsim uses for x86-64 (rax..r15, rip, rflags, cr0, cr2, cr3,
 * cr4, efer, cs, ds, es, fs, gs, ss): read, or write (general registers, rip, rflags).
 * HV_EINVAL for a name it does not know or cannot write.
 */
int kvmh_vcpu_reg(struct kvmh *h, unsigned id, const char *name, uint64_t *out);
int kvmh_vcpu_set_reg(struct kvmh *h, unsigned id, const char *name, uint64_t val);

#endif
