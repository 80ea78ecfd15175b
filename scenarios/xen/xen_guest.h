/*
 * xen_guest.h - what the Xen scenarios' guests share: the hypercall page at a fixed address,
 * a call through it in the 64-bit HVM convention (rax = number; rdi, rsi, rdx, r10, r8), CPUID
 * and MSR access, and the Xen numbers they use.
 */
#ifndef XEN_GUEST_H
#define XEN_GUEST_H

#include "guest.h"

#define XEN_HCPAGE 0x800000ULL      /* guest-physical == virtual (identity map), 8 MiB */
#define XEN_MSR_HCPAGE 0x40000000U

#define HC_memory_op 12
#define HC_xen_version 17
#define HC_console_io 18
#define HC_vcpu_op 24
#define HC_sched_op 29

#define XEN_EPERM ((uint64_t)-1)
#define XEN_ESRCH ((uint64_t)-3)
#define XEN_ENOENT ((uint64_t)-2)
#define XEN_EFAULT ((uint64_t)-14)
#define XEN_EINVAL ((uint64_t)-22)
#define XEN_ENOSYS ((uint64_t)-38)

struct cpuid_regs {
    uint32_t a, b, c, d;
};

static inline struct cpuid_regs xen_cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r;
    __asm__ volatile("cpuid" : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d)
                     : "a"(leaf), "c"(subleaf));
    return r;
}

static inline void xen_wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
                     : "memory");
}

static inline uint64_t xen_rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

/* Xen fills the page when the guest writes its address to the MSR (C.2). */
static inline void xen_init_hypercall_page(void)
{
    xen_wrmsr(XEN_MSR_HCPAGE, XEN_HCPAGE);
}

/* call hypercall_page + 32 * nr; the argument registers may come back clobbered. */
static inline uint64_t xen_hypercall(unsigned nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                     uint64_t a3, uint64_t a4)
{
    uint64_t ret;
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t r8 __asm__("r8") = a4;
    uint64_t fn = XEN_HCPAGE + 32 * (uint64_t)nr;
    __asm__ volatile("call *%[fn]"
                     : "=a"(ret), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8)
                     : [fn] "r"(fn)
                     : "memory", "cc");
    return ret;
}

#define xen_hc2(nr, a0, a1) xen_hypercall((nr), (uint64_t)(a0), (uint64_t)(a1), 0, 0, 0)
#define xen_hc3(nr, a0, a1, a2) \
    xen_hypercall((nr), (uint64_t)(a0), (uint64_t)(a1), (uint64_t)(a2), 0, 0)

/* memory_op (C.4): struct xen_memory_reservation, and the start extent in cmd bits 6.. */
#define XENMEM_increase_reservation 0
#define XENMEM_decrease_reservation 1
#define XENMEM_current_reservation 3
#define XENMEM_populate_physmap 6
#define XENMEM_exchange 11
#define MEMOP_EXTENT_SHIFT 6
#define DOMID_SELF 0x7ff0

struct xen_memory_reservation {
    uint64_t *extent_start;
    uint64_t nr_extents;
    uint32_t extent_order;
    uint32_t mem_flags;
    uint16_t domid;
};

/* One call as the guest makes it: Xen's continuations re-execute the vmcall themselves. */
static inline uint64_t xen_memory_op(uint64_t cmd, const void *arg)
{
    return xen_hc2(HC_memory_op, cmd, arg);
}

static inline uint64_t xen_reservation(unsigned op, uint64_t *list, uint64_t n)
{
    struct xen_memory_reservation r = { list, n, 0, 0, DOMID_SELF };
    return xen_memory_op(op, &r);
}

static inline uint64_t xen_tot_pages(void)
{
    uint16_t self = DOMID_SELF;
    return xen_memory_op(XENMEM_current_reservation, &self);
}

static inline uint64_t xen_console_write(const char *s, uint64_t len)
{
    return xen_hc3(HC_console_io, 0 /* CONSOLEIO_write */, len, s);
}

#endif
