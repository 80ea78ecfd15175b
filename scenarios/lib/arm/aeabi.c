/*
 * aeabi.c - the run-time helpers the ARM EABI (RTABI, ARM IHI 0043) has compilers call.
 *
 * ARMv7-A has no divide instruction in A32 (the Virtualization Extensions add one, but the
 * library is built for plain -march=armv7-a), so clang calls __aeabi_uidiv and friends for
 * every division, and __aeabi_memcpy and friends for struct copies and large initialisers.
 * Debian ships no libgcc or compiler-rt builtins for armv7a-none-eabi, so the library has its
 * own: shift-and-subtract division (every quotient bit costs a few instructions: fine for
 * printf's digits) and the memory functions of string.c.
 *
 * The *divmod functions return two values in r0..r3: a 64-bit (or 128-bit for uldivmod)
 * result under the AAPCS has exactly that layout, which is how they are written in C here;
 * __aeabi_uldivmod / __aeabi_ldivmod need the remainder in r2:r3, so they are assembly around
 * a C core.
 */
#include "guest.h"

static uint64_t udivmod64(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t q = 0, r = 0;
    if (d == 0) {            /* RTABI leaves it to __aeabi_ldiv0; return 0, remainder n */
        *rem = n;
        return 0;
    }
    for (int i = 63; i >= 0; i--) {
        bool carry = r >> 63;   /* r << 1 would lose it when d > 2^63 */
        r = (r << 1) | ((n >> i) & 1);
        if (carry || r >= d) {
            r -= d;
            q |= 1ULL << i;
        }
    }
    *rem = r;
    return q;
}

static uint32_t udivmod32(uint32_t n, uint32_t d, uint32_t *rem)
{
    uint32_t q = 0, r = 0;
    if (d == 0) {
        *rem = n;
        return 0;
    }
    for (int i = 31; i >= 0; i--) {
        bool carry = r >> 31;
        r = (r << 1) | ((n >> i) & 1);
        if (carry || r >= d) {
            r -= d;
            q |= 1u << i;
        }
    }
    *rem = r;
    return q;
}

uint32_t __aeabi_uidiv(uint32_t n, uint32_t d);
uint64_t __aeabi_uidivmod(uint32_t n, uint32_t d);
int32_t __aeabi_idiv(int32_t n, int32_t d);
uint64_t __aeabi_idivmod(int32_t n, int32_t d);
uint64_t arm_uldivmod(uint64_t n, uint64_t d, uint64_t *rem);
int64_t arm_ldivmod(int64_t n, int64_t d, int64_t *rem);

uint32_t __aeabi_uidiv(uint32_t n, uint32_t d)
{
    uint32_t r;
    return udivmod32(n, d, &r);
}

/* quotient in r0, remainder in r1 */
uint64_t __aeabi_uidivmod(uint32_t n, uint32_t d)
{
    uint32_t r;
    uint32_t q = udivmod32(n, d, &r);
    return (uint64_t)q | ((uint64_t)r << 32);
}

static int32_t sdivmod32(int32_t n, int32_t d, int32_t *rem)
{
    uint32_t un = n < 0 ? 0u - (uint32_t)n : (uint32_t)n;
    uint32_t ud = d < 0 ? 0u - (uint32_t)d : (uint32_t)d;
    uint32_t ur;
    uint32_t uq = udivmod32(un, ud, &ur);
    *rem = (int32_t)(n < 0 ? 0u - ur : ur);                 /* the sign of the dividend */
    return (int32_t)((n < 0) != (d < 0) ? 0u - uq : uq);    /* truncated toward zero */
}

int32_t __aeabi_idiv(int32_t n, int32_t d)
{
    int32_t r;
    return sdivmod32(n, d, &r);
}

uint64_t __aeabi_idivmod(int32_t n, int32_t d)
{
    int32_t r;
    int32_t q = sdivmod32(n, d, &r);
    return (uint64_t)(uint32_t)q | ((uint64_t)(uint32_t)r << 32);
}

uint64_t arm_uldivmod(uint64_t n, uint64_t d, uint64_t *rem)
{
    return udivmod64(n, d, rem);
}

int64_t arm_ldivmod(int64_t n, int64_t d, int64_t *rem)
{
    uint64_t un = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    uint64_t ud = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
    uint64_t ur;
    uint64_t uq = udivmod64(un, ud, &ur);
    *rem = (int64_t)(n < 0 ? 0 - ur : ur);
    return (int64_t)((n < 0) != (d < 0) ? 0 - uq : uq);
}

/* (n in r0:r1, d in r2:r3) -> quotient in r0:r1, remainder in r2:r3 */
#define DIVMOD64_(name, core)                                                              \
    __asm__(".text\n"                                                                      \
            ".globl " #name "\n"                                                           \
            ".type " #name ", %function\n"                                                 \
            #name ":\n"                                                                    \
            "    push  {r4, lr}\n"                                                         \
            "    sub   sp, sp, #16\n"                                                      \
            "    add   r12, sp, #8\n"                                                      \
            "    str   r12, [sp]\n"                                                        \
            "    bl    " #core "\n"                                                        \
            "    ldr   r2, [sp, #8]\n"                                                     \
            "    ldr   r3, [sp, #12]\n"                                                    \
            "    add   sp, sp, #16\n"                                                      \
            "    pop   {r4, pc}\n"                                                         \
            ".size " #name ", . - " #name "\n")

DIVMOD64_(__aeabi_uldivmod, arm_uldivmod);
DIVMOD64_(__aeabi_ldivmod, arm_ldivmod);

/* The memory functions, RTABI names (note memset's argument order). */
void __aeabi_memcpy(void *dst, const void *src, size_t n);
void __aeabi_memcpy4(void *dst, const void *src, size_t n);
void __aeabi_memcpy8(void *dst, const void *src, size_t n);
void __aeabi_memmove(void *dst, const void *src, size_t n);
void __aeabi_memmove4(void *dst, const void *src, size_t n);
void __aeabi_memmove8(void *dst, const void *src, size_t n);
void __aeabi_memset(void *dst, size_t n, int c);
void __aeabi_memset4(void *dst, size_t n, int c);
void __aeabi_memset8(void *dst, size_t n, int c);
void __aeabi_memclr(void *dst, size_t n);
void __aeabi_memclr4(void *dst, size_t n);
void __aeabi_memclr8(void *dst, size_t n);

void __aeabi_memcpy(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memcpy4(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memcpy8(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memmove(void *dst, const void *src, size_t n) { memmove(dst, src, n); }
void __aeabi_memmove4(void *dst, const void *src, size_t n) { memmove(dst, src, n); }
void __aeabi_memmove8(void *dst, const void *src, size_t n) { memmove(dst, src, n); }
void __aeabi_memset(void *dst, size_t n, int c) { memset(dst, c, n); }
void __aeabi_memset4(void *dst, size_t n, int c) { memset(dst, c, n); }
void __aeabi_memset8(void *dst, size_t n, int c) { memset(dst, c, n); }
void __aeabi_memclr(void *dst, size_t n) { memset(dst, 0, n); }
void __aeabi_memclr4(void *dst, size_t n) { memset(dst, 0, n); }
void __aeabi_memclr8(void *dst, size_t n) { memset(dst, 0, n); }
