/*
 * xen_vendor.c - a guest whose hypercall page was written on an Intel host, restored on an
 * AMD one. It keeps a copy of the page, asks for the migration (GUEST_SYNC(1)) and spins on
 * the CPUID time leaf until the incarnation says it was restored. Then it compares the page
 * with its copy, and calls xen_version through the page: a stale `vmcall` stub is #UD on
 * AMD (the handler skips to the stub's `ret` with RAX = UD_MARK), a rewritten one works.
 */
#include "../xen/xen_guest.h"

#define UD_MARK 0x5544ULL

static uint8_t copy[4096];
static volatile uint64_t ud_pc;

static void on_ud(struct guest_regs *regs)
{
    ud_pc = regs->pc;
    regs->pc += 3;          /* over vmcall to the stub's ret */
    regs->rax = UD_MARK;
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    guest_set_handler(GUEST_VEC_UD, on_ud);
    xen_init_hypercall_page();
    GUEST_ASSERT_EQ(xen_hc2(HC_xen_version, 0, 0), 0x40017);
    memcpy(copy, (const void *)XEN_HCPAGE, sizeof copy);
    GUEST_SYNC(1);                                               /* migrate */
    while (xen_cpuid(0x40000003, 0).d == 1)
        ;
    /* which bytes of the page changed, stub by stub */
    const volatile uint8_t *page = (const volatile uint8_t *)XEN_HCPAGE;
    unsigned changed = 0, at7 = 0;
    for (unsigned i = 0; i < 4096; i++)
        if (page[i] != copy[i]) {
            changed++;
            at7 += i % 32 == 7 && page[i] == 0xd9 && copy[i] == 0xc1;
        }
    uint64_t r = xen_hc2(HC_xen_version, 0, 0);
    if (r == UD_MARK)
        GUEST_PRINTF("page: %u bytes changed; xen_version: #UD at stub 17 + %u;", changed,
                     (unsigned)(ud_pc - (XEN_HCPAGE + 32 * HC_xen_version)));
    else
        GUEST_PRINTF("page: %u bytes changed, %u of them byte 7 c1 -> d9; xen_version: %#llx;",
                     changed, at7, (unsigned long long)r);
    GUEST_DONE();
}
