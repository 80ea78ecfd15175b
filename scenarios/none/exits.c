/*
 * exits.c - one of each exit a guest can cause, with no hypervisor behind them (model none):
 * each becomes an event carrying the exact pc of its instruction, and the guest checks the
 * default answers.
 *
 * x86_64: port in/out, 4- and 8-byte MMIO loads and stores, cpuid, rdmsr, vmcall.
 * aarch64: 4- and 8-byte MMIO loads and stores, hvc, smc.
 * arm: 4- and 8-byte MMIO loads and stores (ldr/str, ldrd/strd), hvc, smc.
 */
#include "guest.h"
#include "hypercall.h"

/* A guest-physical page no RAM backs, identity-mapped by the guest library. */
#if defined(__x86_64__)
#define MMIO_BASE 0xfee00000UL
#else
#define MMIO_BASE 0x09000000UL
#endif

static void mmio(void)
{
    volatile uint32_t *m32 = (volatile uint32_t *)MMIO_BASE;
    volatile uint64_t *m64 = (volatile uint64_t *)(MMIO_BASE + 8);
    GUEST_ASSERT_EQ(*m32, 0);                  /* one 4-byte read exit */
    *m32 = 0x1234;                             /* one 4-byte write exit */
    *m64 = 0x1122334455667788ULL;              /* one 8-byte write exit, not two halves */
    GUEST_ASSERT_EQ(*m64, 0);                  /* one 8-byte read exit */
}

void guest_main(void)
{
    if (guest_vcpu_id() != 0)
        GUEST_DONE();
    mmio();
#if defined(__x86_64__)
    uint32_t in;
    __asm__ volatile("inl %w1, %0" : "=a"(in) : "Nd"((uint16_t)0x70));
    GUEST_ASSERT_EQ(in, 0xffffffffu);          /* nothing on the port: all ones */
    __asm__ volatile("outb %b0, %w1" ::"a"((uint8_t)0x12), "Nd"((uint16_t)0x80));
    uint32_t a = 0, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    GUEST_ASSERT(a >= 1);                      /* highest basic leaf */
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000080u)); /* EFER */
    GUEST_ASSERT(lo & (1u << 10));             /* long mode active */
    uint64_t r = hypercall_vmcall_kvm(42, 1, 2, 3, 4);
    GUEST_ASSERT_EQ(r, 42);                    /* no hypervisor: rax unchanged */
#else
    struct hypercall_smccc_res r = hypercall_hvc(0x84000000u, 0, 0, 0, 0, 0, 0, 0);
    GUEST_ASSERT_EQ(r.a0, 0x84000000u);        /* no hypervisor: x0 unchanged */
    r = hypercall_smc(0x84000000u, 0, 0, 0, 0, 0, 0, 0);
    GUEST_ASSERT_EQ(r.a0, 0x84000000u);
#endif
    GUEST_DONE();
}
