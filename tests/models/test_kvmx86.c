/*
 * test_kvmx86.c - the KVM model's x86 hypercall ABI per CPU mode (models/kvm/x86.c) against
 * kvm_emulate_hypercall (docs/sources.md B.1): outside 64-bit mode nr and a0..a3 are truncated
 * to 32 bits, RAX gets (u32)ret, and a KVM_EXIT_HYPERCALL's flags carry
 * KVM_EXIT_HYPERCALL_LONG_MODE only from 64-bit mode.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>

#include "models/kvm/kvm_int.h"
#include "tests/test_util.h"

void test_kvmx86_register(void);

/* Modes as struct hv_x86_mode numbers them. */
enum { REAL = 0, VM86 = 1, P16 = 2, P32 = 4, LONG64 = 8 };

static const uint64_t regs[5] = {
    0x100000001ULL,          /* rax: KVM_HC_VAPIC_POLL_IRQ in the low half */
    0xdead00000000a000ULL,   /* rbx */
    0x0000000100000004ULL,   /* rcx */
    0xffffffff00000010ULL,   /* rdx */
    0x00000000ffffffffULL,   /* rsi */
};

static void test_args(void)
{
    static const struct {
        const char *what;
        unsigned mode;
        uint64_t want[5];
    } rows[] = {
        { "64-bit mode: every register whole", LONG64,
          { 0x100000001ULL, 0xdead00000000a000ULL, 0x0000000100000004ULL,
            0xffffffff00000010ULL, 0xffffffffULL } },
        { "compatibility / 32-bit protected mode: low halves", P32,
          { 1, 0xa000, 4, 0x10, 0xffffffffULL } },
        { "16-bit protected mode", P16, { 1, 0xa000, 4, 0x10, 0xffffffffULL } },
        { "real mode", REAL, { 1, 0xa000, 4, 0x10, 0xffffffffULL } },
        { "virtual-8086 mode", VM86, { 1, 0xa000, 4, 0x10, 0xffffffffULL } },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        uint64_t out[5];
        kvmm_x86_hc_args(rows[i].mode, regs, out);
        for (unsigned k = 0; k < 5; k++)
            TEST_CHECK(out[k] == rows[i].want[k], "%s: register %u is %#llx, want %#llx",
                       rows[i].what, k, (unsigned long long)out[k],
                       (unsigned long long)rows[i].want[k]);
    }
}

static void test_rax_and_flags(void)
{
    static const struct {
        const char *what;
        unsigned mode;
        int64_t ret;
        uint64_t rax, flags;
    } rows[] = {
        { "64-bit: -KVM_ENOSYS", LONG64, -1000, 0xfffffffffffffc18ULL, 1 },
        { "compat: -KVM_ENOSYS as (u32), zero-extended", P32, -1000, 0xfffffc18ULL, 0 },
        { "real: -KVM_EPERM", REAL, -1, 0xffffffffULL, 0 },
        { "vm86: -KVM_EPERM", VM86, -1, 0xffffffffULL, 0 },
        { "16-bit: -KVM_EINVAL", P16, -22, 0xffffffeaULL, 0 },
        { "compat: a VMM's 64-bit ret loses its upper half", P32, 0x123456789LL, 0x23456789ULL,
          0 },
        { "64-bit: a VMM's 64-bit ret", LONG64, 0x123456789LL, 0x123456789ULL, 1 },
        { "64-bit: 0", LONG64, 0, 0, 1 },
    };
    for (size_t i = 0; i < TEST_N(rows); i++) {
        uint64_t rax = kvmm_x86_hc_rax(rows[i].mode, rows[i].ret);
        uint64_t flags = kvmm_x86_hc_flags(rows[i].mode);
        TEST_CHECK(rax == rows[i].rax && flags == rows[i].flags,
                   "%s: rax %#llx flags %llu, want %#llx %llu", rows[i].what,
                   (unsigned long long)rax, (unsigned long long)flags,
                   (unsigned long long)rows[i].rax, (unsigned long long)rows[i].flags);
    }
}

void test_kvmx86_register(void)
{
    CU_pSuite s = CU_add_suite("kvmx86", NULL, NULL);
    CU_add_test(s, "nr and a0..a3 per CPU mode (B.1)", test_args);
    CU_add_test(s, "RAX and KVM_EXIT_HYPERCALL flags per CPU mode (B.1)", test_rax_and_flags);
}
