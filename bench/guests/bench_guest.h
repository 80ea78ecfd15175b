/* bench_guest.h - guest side of bench_abi.h. */
#ifndef BENCH_GUEST_H
#define BENCH_GUEST_H

#include "guest.h"
#include "bench_abi.h"

#if defined(__x86_64__)
#define BENCH_RAM_BASE HV_RAM_BASE_X86_64
#else
#define BENCH_RAM_BASE HV_RAM_BASE_AARCH64
#endif

/* Publishes this vCPU's result; no ucall, so bare Unicorn needs no hook to run the guest. */
static inline void bench_report(uint64_t value, uint64_t count)
{
    unsigned id = guest_vcpu_id();
    if (id >= BENCH_MAX_VCPUS)
        guest_halt();
    volatile struct bench_result *r =
        (volatile struct bench_result *)(uintptr_t)(BENCH_RAM_BASE + BENCH_RESULT_OFFSET) + id;
    r->value = value;
    r->count = count;
    r->magic = BENCH_MAGIC;
}

#endif
