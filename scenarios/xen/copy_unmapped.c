/*
 * copy_unmapped.c - hypercall buffers that cross into a page the guest did not map, or onto
 * a read-only page (C.3): Xen copies page by page with the running vCPU's page tables, keeps
 * what it wrote before the failing page, and the call fails with -EFAULT.
 */
#include "xen_guest.h"

#define VA 0x5000000000ULL     /* a window of the guest's own: page 0 mapped, page 1 not */
#define GPA 0x900000ULL        /* what page 0 maps */
#define RO_VA 0x5000002000ULL  /* mapped read-only */
#define RO_GPA 0x901000ULL

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    xen_init_hypercall_page();
    guest_map(VA, GPA, GUEST_MAP_WRITE);
    guest_map(RO_VA, RO_GPA, 0);

    /* XENVER_extraversion writes 16 bytes: 8 fit before the unmapped page */
    uint64_t buf = VA + 4096 - 8;
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 1, buf), XEN_EFAULT);
    GUEST_ASSERT_EQ(memcmp((const void *)(GPA + 4096 - 8), "-unstabl", 8), 0);
    GUEST_SYNC(1);                                      /* the host reads it too */
    /* inside the mapped page it works */
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 1, VA), 0);
    GUEST_ASSERT_EQ(memcmp((const void *)GPA, "-unstable\0\0\0\0\0\0\0", 16), 0);

    /* a read-only page: Xen writes as a supervisor and CR0.WP is set: -EFAULT ... */
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 1, RO_VA), XEN_EFAULT);
    /* ... but reads from it are fine (get_features reads, then must write back) */
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 6, RO_VA), XEN_EFAULT);

    /* console_io reads 127-byte chunks: the first is printed before the second faults */
    char *text = (char *)(VA + 4096 - 130);
    for (unsigned i = 0; i < 130; i++)
        text[i] = (char)('a' + i % 26);
    text[126] = '\n';
    GUEST_ASSERT_EQ(xen_console_write(text, 200), XEN_EFAULT);
    GUEST_DONE();
}
