/*
 * alu.c - the worst case for a per-block hook: a tight register-only loop (xorshift64 and an
 * add), a few instructions per translation block, no loads or stores. No ucall until
 * guest_main returns; the result goes to bench_abi.h's slot.
 */
#include "bench_guest.h"

#define ITERATIONS 40000000ULL

void guest_main(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL, acc = 0;
#pragma clang loop unroll(disable)
    for (uint64_t i = 0; i < ITERATIONS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc += x;
    }
    bench_report(acc, ITERATIONS);
}
