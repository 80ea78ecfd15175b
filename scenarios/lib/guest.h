/*
 * guest.h - the API for guest programs that hvsim runs (freestanding C11; x86_64, aarch64 and
 * arm, which is AArch32 A32 code).
 *
 * A guest program defines
 *
 *     void guest_main(void);
 *
 * which the library calls on every vCPU once that vCPU has booted: its own stack, its own page
 * tables (4 GiB identity map plus the private window), exception vectors installed. It reads
 * its identity with guest_vcpu_id() and guest_nr_vcpus(). Returning from guest_main() is the
 * same as GUEST_DONE().
 *
 * Reporting to the host goes through the ucall channel of hv_abi.h: GUEST_SYNC, GUEST_PRINTF,
 * GUEST_ASSERT*, GUEST_DONE. A failed assertion and GUEST_DONE never return: the vCPU halts.
 *
 * README.md beside this file gives the boot sequence, the memory map, and the paging rule the
 * simulator relies on (page-table pages identity-mapped; invlpg / CR3 reload / TLBI after a
 * change).
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_abi.h"

#if !defined(__x86_64__) && !defined(__aarch64__) && !defined(__arm__)
#error "the guest library supports x86_64, aarch64 and arm"
#endif

#define GUEST_MAX_VCPUS   64
#define GUEST_PAGE_SIZE   4096ULL
#define GUEST_STACK_SIZE  16384ULL

/*
 * The per-vCPU private window: at boot every vCPU maps this one 4 KiB page to its own private
 * page, guest_priv_page_gpa(id), so the same address reaches a different guest-physical page
 * on each vCPU. The private pages are also reachable, all of them, through the identity map.
 * arm has 32-bit addresses: the window is the first page of the last MiB, which is therefore
 * not identity-mapped there.
 */
#if defined(__arm__)
#define GUEST_PRIV_VA 0xfff00000ULL
#else
#define GUEST_PRIV_VA 0x4000000000ULL
#endif

/* ---- identity ------------------------------------------------------------------------- */

/* The calling vCPU's id, 0 .. guest_nr_vcpus()-1. */
unsigned guest_vcpu_id(void);
unsigned guest_nr_vcpus(void);
#if defined(__aarch64__)
/* The entry point to give PSCI CPU_ON (context id = the vCPU id): boots like the others. */
void guest_psci_entry(void);
#endif
/* Guest-physical (== identity-mapped virtual) address of vCPU id's private page. */
uint64_t guest_priv_page_gpa(unsigned id);

/* The program's entry, called on every vCPU. Defined by the guest program. */
void guest_main(void);

/* ---- ucall ---------------------------------------------------------------------------- */

void guest_ucall_sync(uint64_t n);
void guest_ucall_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void guest_ucall_assert(const char *file, unsigned line, const char *expr,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
_Noreturn void guest_ucall_assert_eq(const char *file, unsigned line, const char *a_text,
                                     const char *b_text, uint64_t a, uint64_t b);
_Noreturn void guest_ucall_done(void);
/* Stops this vCPU for good (x86 hlt, Arm wfi, in a loop). */
_Noreturn void guest_halt(void);

/*
 * For code that cannot call the library (x86 real or compatibility mode): fills this vCPU's
 * prepared sync struct with n (one per vCPU, apart from the others' structs) and returns its
 * address, which that code hands hvsim itself with the access of hv_abi.h.
 */
uint32_t guest_ucall_sync_prepare(uint64_t n);

#define GUEST_SYNC(n) guest_ucall_sync((uint64_t)(n))
#define GUEST_PRINTF(...) guest_ucall_printf(__VA_ARGS__)
#define GUEST_DONE() guest_ucall_done()

#define GUEST_ASSERT(cond)                                                           \
    do {                                                                             \
        if (!(cond))                                                                 \
            guest_ucall_assert(__FILE__, __LINE__, #cond, "%s", "");                 \
    } while (0)

/* Like GUEST_ASSERT, with a printf-style message. */
#define GUEST_ASSERT_MSG(cond, ...)                                                  \
    do {                                                                             \
        if (!(cond))                                                                 \
            guest_ucall_assert(__FILE__, __LINE__, #cond, __VA_ARGS__);              \
    } while (0)

/* Compares two integers (each evaluated once, as uint64_t); the message shows both values. */
#define GUEST_ASSERT_EQ(a, b)                                                        \
    do {                                                                             \
        uint64_t guest_a_ = (uint64_t)(a), guest_b_ = (uint64_t)(b);                 \
        if (guest_a_ != guest_b_)                                                    \
            guest_ucall_assert_eq(__FILE__, __LINE__, #a, #b, guest_a_, guest_b_);   \
    } while (0)

/* ---- formatting and memory (the library's own: no libc exists for these targets) ------- */

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ---- synchronisation ------------------------------------------------------------------ */

static inline void guest_cpu_relax(void)
{
#if defined(__x86_64__)
    __asm__ volatile("pause" ::: "memory");
#else
    __asm__ volatile("yield" ::: "memory");
#endif
}

/* A test-and-test-and-set lock on a u32 (0 = free). On aarch64: ldaxr/stlxr and stlr; on
 * arm: ldrex/strex between dmb barriers. */
static inline void guest_spin_lock(uint32_t *lock)
{
    while (__atomic_exchange_n(lock, 1u, __ATOMIC_ACQ_REL) != 0) {
        while (__atomic_load_n(lock, __ATOMIC_RELAXED) != 0)
            guest_cpu_relax();
    }
}

static inline void guest_spin_unlock(uint32_t *lock)
{
    __atomic_store_n(lock, 0u, __ATOMIC_RELEASE);
}

/* Waits until every vCPU has called it (reusable: the n-th call waits for the n-th round). */
void guest_barrier(void);

/* ---- paging --------------------------------------------------------------------------- */

#define GUEST_MAP_WRITE  (1u << 0)  /* writable (else read-only) */
#define GUEST_MAP_DEVICE (1u << 1)  /* aarch64: Device-nGnRnE; arm: Device, XN; x86_64: PCD|PWT */

/*
 * Maps the 4 KiB page at va to gpa in the CALLING vCPU's page tables (other vCPUs are not
 * affected), splitting a large mapping that covers va if needed, then flushes this vCPU's TLB
 * entry for va (x86_64: invlpg; aarch64: dsb ishst; tlbi vaae1; dsb ish; isb; arm: dsb;
 * TLBIMVA; dsb; isb, TLBIALL after a split). Table pages come
 * from the vCPU's own pool; running out, or a va outside the translatable range, fails with a
 * guest assertion. va and gpa must be page aligned.
 */
void guest_map(uint64_t va, uint64_t gpa, unsigned flags);
/* Removes the 4 KiB mapping at va (splitting a large one), then flushes as guest_map does. */
void guest_unmap(uint64_t va);

/* ---- exceptions ----------------------------------------------------------------------- */

#if defined(__x86_64__)
/* Saved by the common stub; the fields from vector on are the hardware frame. */
struct guest_regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error_code;   /* 0 for vectors without one */
    uint64_t pc;           /* rip; the handler may change it (iretq returns there) */
    uint64_t cs, rflags, rsp, ss;
};

/* x86_64: `vector` is the IDT vector, 0..255. */
#define GUEST_NR_VECTORS 256
#define GUEST_VEC_DE 0
#define GUEST_VEC_DB 1
#define GUEST_VEC_BP 3
#define GUEST_VEC_UD 6
#define GUEST_VEC_DF 8
#define GUEST_VEC_GP 13
#define GUEST_VEC_PF 14

/* The instruction guest_ud() executes (ud2) and its length. */
#define GUEST_UD_LEN 2
static inline void guest_ud(void)
{
    __asm__ volatile("ud2" ::: "memory");
}

/* ---- x86_64: CPL 3, compatibility mode, real mode (README.md) --------------------------- */

/* GDT selectors: 64-bit and 32-bit code at CPL 0; 64-bit code and data at CPL 3 (RPL 3). */
#define GUEST_SEL_CODE64      0x08
#define GUEST_SEL_CODE32      0x18
#define GUEST_SEL_USER_CODE64 0x43
#define GUEST_SEL_USER_DATA   0x3b
/* The vector (gate DPL 3) a guest_call_user() function returns through. */
#define GUEST_VEC_USER_RET    0x81

/*
 * Runs fn(arg) at CPL 3 in 64-bit mode and returns its result: CS = GUEST_SEL_USER_CODE64,
 * SS = GUEST_SEL_USER_DATA, RFLAGS.IOPL = 3 (so in/out, and with them the ucalls, still work),
 * on this vCPU's stack 6 KiB below the kernel stack the TSS gives exceptions from CPL 3 (TSS
 * RSP0). The first call makes this vCPU's page tables user-accessible (U = 1 in every entry,
 * then and from then on). fn comes back through `int $GUEST_VEC_USER_RET`.
 */
uint64_t guest_call_user(uint64_t (*fn)(uint64_t), uint64_t arg);

/* Registers in and out of guest_call_compat() and guest_call_real(). */
struct guest_call_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi;
};

/*
 * Far-calls 32-bit code at code32 (below 4 GiB) in compatibility mode (CS = GUEST_SEL_CODE32,
 * L = 0, D = 1; DS = ES = SS = the flat data segment, on this stack), with rax..rdi loaded
 * from r in 64-bit mode, so their upper halves stay as r gives them until the code writes the
 * register. The code returns with a 32-bit far return (lret); r gets the six registers then.
 */
void guest_call_compat(const void *code32, struct guest_call_regs *r);

/*
 * Runs 16-bit code in real mode: copies len bytes (at most GUEST_REAL_CODE_MAX) to this
 * vCPU's slot at GUEST_REAL_BASE + id * GUEST_REAL_SLOT and far-calls it at offset 0 with
 * CS = DS = ES = SS = guest_real_segment(id), SP below the slot's register area, IDTR = the IVT
 * at linear 0 (limit 0x3ff), paging and IA-32e mode off, eax..edi from r's low halves. The
 * code returns with a 16-bit far return (lret); r gets eax..edi (zero-extended) then. Below
 * 1 MiB, so the RAM must start at GPA 0.
 */
void guest_call_real(const void *code16, size_t len, struct guest_call_regs *r);
#define GUEST_REAL_BASE     0x9000
#define GUEST_REAL_SLOT     0x1000
#define GUEST_REAL_CODE_MAX 0xe00
/* The real-mode segment of vCPU id's slot: its code runs at guest_real_segment(id):0. */
uint16_t guest_real_segment(unsigned id);
#elif defined(__arm__)
/*
 * Saved by the vector entry (in SVC mode, on the interrupted code's stack); the handler may
 * change r[], lr, pc and cpsr. pc is the faulting instruction for UNDEF and aborts, the one
 * after it for SVC; rfe returns to pc with CPSR = cpsr (the saved SPSR).
 */
struct guest_regs {
    uint32_t r[13];        /* r0..r12 */
    uint32_t sp;           /* SVC sp at the exception (informational) */
    uint32_t lr;           /* SVC lr at the exception */
    uint32_t vector;       /* GUEST_VEC_*: the vector-table entry, 0..7 */
    uint32_t fsr;          /* aborts: DFSR or IFSR; else 0 */
    uint32_t far;          /* aborts: DFAR or IFAR; else 0 */
    uint32_t pc;
    uint32_t cpsr;
};

/* arm: `vector` is the vector-table entry (offset / 4). */
#define GUEST_NR_VECTORS  8
#define GUEST_VEC_UNDEF   1
#define GUEST_VEC_SVC     2
#define GUEST_VEC_PABT    3
#define GUEST_VEC_DABT    4
#define GUEST_VEC_IRQ     6
#define GUEST_VEC_FIQ     7
#define GUEST_VEC_UD      GUEST_VEC_UNDEF

/* The instruction guest_ud() executes (udf #0, A32) and its length. */
#define GUEST_UD_LEN 4
static inline void guest_ud(void)
{
    __asm__ volatile("udf #0" ::: "memory");
}
#else
/* Saved by the vector entry; the handler may change x[], pc (ELR_EL1) and pstate (SPSR_EL1). */
struct guest_regs {
    uint64_t x[31];
    uint64_t sp;           /* SP at the exception (informational) */
    uint64_t pc;           /* ELR_EL1: eret returns there */
    uint64_t pstate;       /* SPSR_EL1 */
    uint64_t esr;          /* ESR_EL1 */
    uint64_t far;          /* FAR_EL1 */
    uint64_t vector;       /* vector-table entry, 0..15 (4 = synchronous, current EL, SPx) */
    uint64_t pad;
};

/*
 * aarch64: `vector` is the exception class (ESR_EL1.EC, 0..63) of a synchronous exception
 * taken from EL1 with SP_EL1, or one of GUEST_VEC_IRQ/FIQ/SERROR for the asynchronous ones.
 */
#define GUEST_NR_VECTORS 67
#define GUEST_EC_UNKNOWN   0x00   /* includes UNDEFINED instructions (udf) */
#define GUEST_EC_SVC64     0x15
#define GUEST_EC_HVC64     0x16
#define GUEST_EC_SMC64     0x17
#define GUEST_EC_SYS64     0x18
#define GUEST_EC_IABT_CUR  0x21
#define GUEST_EC_PC_ALIGN  0x22
#define GUEST_EC_DABT_CUR  0x25
#define GUEST_EC_SP_ALIGN  0x26
#define GUEST_EC_BRK64     0x3c
#define GUEST_VEC_IRQ      64
#define GUEST_VEC_FIQ      65
#define GUEST_VEC_SERROR   66
#define GUEST_VEC_UD       GUEST_EC_UNKNOWN

/* The instruction guest_ud() executes (udf #0) and its length. */
#define GUEST_UD_LEN 4
static inline void guest_ud(void)
{
    __asm__ volatile("udf #0" ::: "memory");
}
#endif

typedef void (*guest_handler_fn)(struct guest_regs *regs);

/*
 * Installs fn for `vector` on every vCPU (NULL removes it). An exception with no handler ends
 * the run with an assertion ucall naming the vector and the pc.
 */
void guest_set_handler(unsigned vector, guest_handler_fn fn);

#endif
