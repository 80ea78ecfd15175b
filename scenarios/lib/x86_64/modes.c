/*
 * modes.c - x86_64 code outside 64-bit mode at CPL 0: CPL 3, compatibility mode and real mode
 * (guest.h; README.md "x86_64: CPL 3, compatibility mode, real mode"). The mode switches are in
 * modes.S; this file holds the TSS each vCPU loads at boot and the C side of each call.
 */
#include "guest_int.h"
#include "x86_64/x86.h"

_Static_assert(GUEST_SEL_CODE64 == X86_SEL_CODE64 && GUEST_SEL_CODE32 == X86_SEL_CODE32 &&
                   GUEST_SEL_USER_CODE64 == X86_SEL_USER_CODE64 &&
                   GUEST_SEL_USER_DATA == X86_SEL_USER_DATA &&
                   GUEST_VEC_USER_RET == X86_VEC_USER_RET && GUEST_REAL_BASE == X86_REAL_BASE &&
                   GUEST_REAL_SLOT == X86_REAL_SLOT && GUEST_REAL_CODE_MAX == X86_REAL_CODE_MAX,
               "guest.h and x86.h agree");

/* The 64-bit TSS (Intel SDM vol. 3 fig. 8-11): only RSP0 is used. */
struct x86_tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

_Static_assert(sizeof(struct x86_tss) == 104, "64-bit TSS");

static struct x86_tss tss[GUEST_MAX_VCPUS] __attribute__((aligned(128)));

extern uint64_t x86_gdt[];
uint64_t x86_call_user(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t *rsp0);
void x86_call_compat(uint32_t code32, struct guest_call_regs *r);
void x86_call_real(uint64_t slot);
extern const uint8_t x86_real_tramp[], x86_real_tramp_end[];

void x86_tss_load(unsigned id)
{
    uint64_t base = (uintptr_t)&tss[id];
    tss[id].iomap_base = sizeof(struct x86_tss); /* no I/O bitmap: IOPL decides */
    /* available 64-bit TSS (type 9), present, limit 103 */
    uint64_t *d = &x86_gdt[X86_SEL_TSS / 8 + 2 * id];
    d[0] = (sizeof(struct x86_tss) - 1) | (base & 0xffffff) << 16 | 0x89ULL << 40 |
           ((base >> 24) & 0xff) << 56;
    d[1] = base >> 32;
    uint16_t sel = (uint16_t)(X86_SEL_TSS + 16 * id);
    __asm__ volatile("ltr %0" : : "r"(sel) : "memory");
}

uint64_t guest_call_user(uint64_t (*fn)(uint64_t), uint64_t arg)
{
    unsigned id = guest_vcpu_id();
    x86_tables_user();
    return x86_call_user(fn, arg, &tss[id].rsp[0]);
}

void guest_call_compat(const void *code32, struct guest_call_regs *r)
{
    uintptr_t a = (uintptr_t)code32;
    GUEST_ASSERT_MSG(a < (1ULL << 32), "32-bit code at %#llx is not below 4 GiB",
                     (unsigned long long)a);
    x86_call_compat((uint32_t)a, r);
}

uint16_t guest_real_segment(unsigned id)
{
    return (uint16_t)((X86_REAL_BASE + id * X86_REAL_SLOT) >> 4);
}

void guest_call_real(const void *code16, size_t len, struct guest_call_regs *r)
{
    unsigned id = guest_vcpu_id();
    uint8_t *slot = (uint8_t *)(uintptr_t)((uint64_t)guest_real_segment(id) << 4);
    GUEST_ASSERT_MSG(len <= X86_REAL_CODE_MAX, "real-mode code of %zu bytes (at most %d)", len,
                     X86_REAL_CODE_MAX);
    /* every vCPU writes the same trampoline bytes */
    memcpy((void *)(uintptr_t)X86_REAL_TRAMP, x86_real_tramp,
           (size_t)(x86_real_tramp_end - x86_real_tramp));
    memcpy(slot, code16, len);
    uint32_t *regs = (uint32_t *)(slot + X86_REAL_REGS);
    const uint64_t in[6] = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi };
    for (unsigned i = 0; i < 6; i++)
        regs[i] = (uint32_t)in[i];
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idt64, ivt = { 0x3ff, 0 };
    __asm__ volatile("sidt %0" : "=m"(idt64));
    __asm__ volatile("lidt %0" : : "m"(ivt) : "memory");
    x86_call_real((uintptr_t)slot);
    __asm__ volatile("lidt %0" : : "m"(idt64) : "memory");
    uint64_t *out[6] = { &r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi };
    for (unsigned i = 0; i < 6; i++)
        *out[i] = regs[i];
}
