/*
 * ucall.c - the guest side of the ucall channel (hv_abi.h).
 *
 * Each vCPU owns one struct hv_ucall in a static array. It lives in .bss, which the linker
 * scripts place below 4 GiB inside the identity map, so the struct's virtual address is its
 * guest-physical address and fits the 32-bit access. A call fills the struct, then performs
 * the one access of hv_abi.h followed by a branch to the next instruction, so the access ends
 * a translation block and hvsim sees the filled struct. The host never writes the struct back.
 */
#include "guest.h"

static struct hv_ucall ucalls[GUEST_MAX_VCPUS] __attribute__((aligned(64)));

static void ucall_issue(struct hv_ucall *uc)
{
    uint32_t addr = (uint32_t)(uintptr_t)uc;
    /* Every store to *uc must be in memory before the access. */
    __asm__ volatile("" ::: "memory");
#if defined(__x86_64__)
    __asm__ volatile("outl %%eax, %%dx\n\t"
                     "jmp 1f\n"
                     "1:"
                     :
                     : "a"(addr), "d"((uint16_t)HV_UCALL_PORT)
                     : "memory");
#elif defined(__arm__)
    register uint32_t r0 __asm__("r0") = addr;
    register uint32_t r1 __asm__("r1") = (uint32_t)HV_UCALL_MMIO;
    __asm__ volatile("str r0, [r1]\n\t"
                     "b 1f\n"
                     "1:"
                     :
                     : "r"(r0), "r"(r1)
                     : "memory");
#else
    register uint64_t x0 __asm__("x0") = addr;
    register uint64_t x1 __asm__("x1") = HV_UCALL_MMIO;
    __asm__ volatile("str w0, [x1]\n\t"
                     "b 1f\n"
                     "1:"
                     :
                     : "r"(x0), "r"(x1)
                     : "memory");
#endif
}

static struct hv_ucall *ucall_begin(uint64_t cmd)
{
    struct hv_ucall *uc = &ucalls[guest_vcpu_id()];
    uc->cmd = cmd;
    uc->arg0 = 0;
    uc->file = 0;
    uc->expr = 0;
    uc->text[0] = '\0';
    return uc;
}

void guest_ucall_sync(uint64_t n)
{
    struct hv_ucall *uc = ucall_begin(HV_UCALL_SYNC);
    uc->arg0 = n;
    ucall_issue(uc);
}

/* Prepared syncs: one per vCPU, apart from the struct the other calls fill. */
static struct hv_ucall prepared[GUEST_MAX_VCPUS] __attribute__((aligned(64)));

uint32_t guest_ucall_sync_prepare(uint64_t n)
{
    struct hv_ucall *uc = &prepared[guest_vcpu_id()];
    memset(uc, 0, sizeof *uc);
    uc->cmd = HV_UCALL_SYNC;
    uc->arg0 = n;
    return (uint32_t)(uintptr_t)uc;
}

void guest_ucall_printf(const char *fmt, ...)
{
    struct hv_ucall *uc = ucall_begin(HV_UCALL_PRINTF);
    va_list ap;
    va_start(ap, fmt);
    guest_vsnprintf(uc->text, sizeof uc->text, fmt, ap);
    va_end(ap);
    ucall_issue(uc);
}

void guest_ucall_assert(const char *file, unsigned line, const char *expr, const char *fmt, ...)
{
    struct hv_ucall *uc = ucall_begin(HV_UCALL_ASSERT);
    uc->arg0 = line;
    uc->file = (uintptr_t)file;
    uc->expr = (uintptr_t)expr;
    va_list ap;
    va_start(ap, fmt);
    guest_vsnprintf(uc->text, sizeof uc->text, fmt, ap);
    va_end(ap);
    ucall_issue(uc);
    guest_halt();
}

/* "-5" for small negative values (as a signed 64-bit number), else unsigned decimal. */
static const char *eq_fmt(uint64_t v)
{
    return (int64_t)v < 0 && (int64_t)v >= -0x80000000LL ? "%lld (%#llx)" : "%llu (%#llx)";
}

void guest_ucall_assert_eq(const char *file, unsigned line, const char *a_text,
                           const char *b_text, uint64_t a, uint64_t b)
{
    /* expr is "a == b"; built here so the macro stays small. Static: it must outlive us. */
    static char exprs[GUEST_MAX_VCPUS][128];
    char *expr = exprs[guest_vcpu_id()];
    guest_snprintf(expr, sizeof exprs[0], "%s == %s", a_text, b_text);

    char av[48], bv[48];
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat-nonliteral"
    guest_snprintf(av, sizeof av, eq_fmt(a), (long long)a, (unsigned long long)a);
    guest_snprintf(bv, sizeof bv, eq_fmt(b), (long long)b, (unsigned long long)b);
#pragma clang diagnostic pop
    guest_ucall_assert(file, line, expr, "%s is %s, %s is %s", a_text, av, b_text, bv);
}

void guest_ucall_done(void)
{
    ucall_issue(ucall_begin(HV_UCALL_DONE));
    guest_halt();
}

void guest_halt(void)
{
    for (;;) {
#if defined(__x86_64__)
        __asm__ volatile("cli; hlt" ::: "memory");
#else
        __asm__ volatile("wfi" ::: "memory");
#endif
    }
}
