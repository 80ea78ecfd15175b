/*
 * errors.c - what a 64-bit HVM guest at CPL 0 gets for calls Xen refuses (C.1 and the
 * handlers), and the debug build's register poisoning. CPL 3 is cpl3.c's.
 */
#include "xen_guest.h"

static volatile unsigned ud_count;

/* The iret stub is ud2: return to the caller (its return address is on the stack). */
static void on_ud(struct guest_regs *r)
{
    ud_count++;
    r->pc = *(uint64_t *)r->rsp;
    r->rsp += 8;
}

struct out {
    uint64_t rax, rdi, rsi, rdx;
};

/* A raw vmcall with rdi/rsi/rdx given, returning what the guest sees after it. */
static struct out raw(uint64_t nr, uint64_t rdi, uint64_t rsi, uint64_t rdx)
{
    struct out o = { nr, rdi, rsi, rdx };
    __asm__ volatile("vmcall" : "+a"(o.rax), "+D"(o.rdi), "+S"(o.rsi), "+d"(o.rdx)
                     : : "r10", "r8", "memory");
    return o;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    guest_set_handler(GUEST_VEC_UD, on_ud);
    xen_init_hypercall_page();

    GUEST_ASSERT_EQ(raw(99, 0, 0, 0).rax, XEN_ENOSYS);          /* out of range */
    GUEST_ASSERT_EQ(raw(1ULL << 32 | 17, 0, 0, 0).rax, XEN_ENOSYS); /* full rax in 64-bit */
    GUEST_ASSERT_EQ(raw(1, 0, 0, 0).rax, XEN_ENOSYS);           /* mmu_update: PV only */
    GUEST_ASSERT_EQ(raw(23, 0, 0, 0).rax, XEN_ENOSYS);          /* iret: PV only */
    xen_hc2(23, 0, 0);                                          /* its stub is ud2 */
    GUEST_ASSERT_EQ(ud_count, 1);

    GUEST_ASSERT_EQ(xen_console_write("x\n", 2), XEN_EPERM);   /* XSM: domU */
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 99, 0), XEN_ENOSYS);
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 7, 0), 4096);      /* XENVER_pagesize */
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 7, 0x1000), XEN_EINVAL);
    static uint32_t fi[2] = { 1, 0 };                          /* submap_idx 1 */
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 6, fi), XEN_EINVAL);
    fi[0] = 0;
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 6, fi), 0);
    GUEST_ASSERT_EQ(fi[1], 0x1d2305);                           /* XENFEAT_* of an HVM domU */
    GUEST_ASSERT_EQ(xen_hc3(HC_vcpu_op, 3, 5, 0), XEN_ENOENT); /* no vCPU 5 */
    GUEST_ASSERT_EQ(xen_hc2(HC_sched_op, 99, 0), XEN_ENOSYS);

    /* debug build (xen.debug_clobber): a completed call poisons its argument registers */
    struct out o = raw(17, 0, 0, 0x1234);                       /* xen_version: 2 arguments */
    GUEST_ASSERT_EQ(o.rax, (4u << 16) | 23);
    GUEST_ASSERT_EQ(o.rdi, 0xdeadbeefdeadf00dULL);
    GUEST_ASSERT_EQ(o.rsi, 0xdeadbeefdeadf00dULL);
    GUEST_ASSERT_EQ(o.rdx, 0x1234);                             /* not an argument of it */
    o = raw(99, 5, 6, 7);                                       /* -ENOSYS: untouched */
    GUEST_ASSERT_EQ(o.rdi, 5);
    GUEST_ASSERT_EQ(o.rsi, 6);
    GUEST_DONE();
}
