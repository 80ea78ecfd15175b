/*
 * discovery.c - how an HVM guest finds Xen (C.2): the CPUID leaves from 0x40000000, the
 * hypercall-page MSR and its #GP cases, a call through the page, and the other vendor's
 * hypercall instruction. XEN_AMD selects the vendor the guest expects.
 */
#include "xen_guest.h"

static volatile unsigned gp_count, ud_count;

/* #GP from a refused wrmsr/rdmsr: skip the 2-byte instruction. */
static void on_gp(struct guest_regs *r)
{
    gp_count++;
    r->pc += 2;
}

/* #UD from the other vendor's 3-byte hypercall instruction: skip it. */
static void on_ud(struct guest_regs *r)
{
    ud_count++;
    r->pc += 3;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    guest_set_handler(GUEST_VEC_GP, on_gp);
    guest_set_handler(GUEST_VEC_UD, on_ud);

    struct cpuid_regs r = xen_cpuid(0x40000000, 0);
    GUEST_ASSERT_EQ(r.a, 0x40000005);               /* base + XEN_CPUID_MAX_NUM_LEAVES */
    GUEST_ASSERT_EQ(r.b, 0x566e6558);               /* "XenVMMXenVMM" */
    GUEST_ASSERT_EQ(r.c, 0x65584d4d);
    GUEST_ASSERT_EQ(r.d, 0x4d4d566e);
    r = xen_cpuid(0x40000001, 0);
    GUEST_ASSERT_EQ(r.a, (4u << 16) | 23);          /* Xen 4.23 */
    r = xen_cpuid(0x40000002, 0);
    GUEST_ASSERT_EQ(r.a, 1);                        /* one hypercall page */
    GUEST_ASSERT_EQ(r.b, XEN_MSR_HCPAGE);           /* its MSR */
    r = xen_cpuid(0x40000004, 0);
    GUEST_ASSERT_EQ(r.a, 0x5c);    /* IOMMU_MAPPINGS, VCPU_ID, DOMID, UPCALL_VECTOR */
    GUEST_ASSERT_EQ(r.b, 0);                        /* vCPU id */
    GUEST_ASSERT_EQ(r.c, 1);                        /* domid */
    r = xen_cpuid(0x40000006, 0);                   /* past the limit: zeros */
    GUEST_ASSERT_EQ(r.a | r.b | r.c | r.d, 0);

    /* #GP cases of the MSR (C.2): each wrmsr/rdmsr below is skipped by on_gp */
    xen_wrmsr(XEN_MSR_HCPAGE, XEN_HCPAGE | 1);      /* page index != 0 */
    GUEST_ASSERT_EQ(gp_count, 1);
    xen_wrmsr(XEN_MSR_HCPAGE, 0x80000000ULL);       /* 2 GiB: not RAM */
    GUEST_ASSERT_EQ(gp_count, 2);
    xen_wrmsr(XEN_MSR_HCPAGE + 1, XEN_HCPAGE);      /* other MSR of the window */
    GUEST_ASSERT_EQ(gp_count, 3);
    GUEST_ASSERT_EQ(*(volatile uint8_t *)XEN_HCPAGE, 0);   /* nothing written yet */

    xen_init_hypercall_page();
    GUEST_ASSERT_EQ(gp_count, 3);
    GUEST_ASSERT_EQ(xen_rdmsr(XEN_MSR_HCPAGE), 0);  /* reads as zero */
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 0, 0), (4u << 16) | 23);  /* through the page */

    /* the other vendor's instruction: no VM exit, #UD (C.2) */
    uint64_t rax = HC_xen_version;
#ifdef XEN_AMD
    __asm__ volatile("vmcall" : "+a"(rax) : "D"(0ULL), "S"(0ULL) : "memory");
#else
    __asm__ volatile("vmmcall" : "+a"(rax) : "D"(0ULL), "S"(0ULL) : "memory");
#endif
    GUEST_ASSERT_EQ(ud_count, 1);
    GUEST_ASSERT_EQ(rax, HC_xen_version);          /* unchanged */
    GUEST_DONE();
}
