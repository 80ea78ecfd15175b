/*
 * stlb_guest.h - what the software TLB scenarios' guests share (C.6, docs/models/xen.md):
 * VCPUOP stlb_insert (16), stlb_purge (17), stlb_share (18), and a hypercall in the
 * physical-address flavour (bit 30 of the number), made with vmcall directly: the hypercall
 * page only has stubs for the plain numbers.
 */
#ifndef STLB_GUEST_H
#define STLB_GUEST_H

#include "xen_guest.h"

#define VCPUOP_stlb_insert 16
#define VCPUOP_stlb_purge 17
#define VCPUOP_stlb_share 18
#define XEN_HC_PHYS (1ULL << 30)
#define XEN_EEXIST ((uint64_t)-17)

struct stlb_entry {
    uint64_t va, gpa, size;
};

struct stlb_range {
    uint64_t va, size;
};

/* The guest is identity mapped, so a stack address is also its GPA. */
static inline uint64_t stlb_insert(unsigned vcpu, uint64_t va, uint64_t gpa, uint64_t size)
{
    struct stlb_entry e = { va, gpa, size };
    return xen_hc3(HC_vcpu_op, VCPUOP_stlb_insert, vcpu, &e);
}

static inline uint64_t stlb_purge(unsigned vcpu, uint64_t va, uint64_t size)
{
    struct stlb_range r = { va, size };
    return xen_hc3(HC_vcpu_op, VCPUOP_stlb_purge, vcpu, &r);
}

/* vmcall with rax = nr | XEN_HC_PHYS: every buffer argument is a guest physical address. */
static inline uint64_t xen_hc3_phys(unsigned nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    uint64_t ret = (uint64_t)nr | XEN_HC_PHYS;
    __asm__ volatile("vmcall"
                     : "+a"(ret), "+D"(a0), "+S"(a1), "+d"(a2)
                     :
                     : "memory", "cc", "r8", "r10");
    return ret;
}

#endif
